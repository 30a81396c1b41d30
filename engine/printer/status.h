/* The printer's state as macros see it: `printer.toolhead.position.x`,
 * `printer.extruder.temperature`, `printer.print_stats.state`, ... */
#ifndef FS_PRINTER_STATUS_H
#define FS_PRINTER_STATUS_H

struct fs_error;
struct fs_macro_value;

/* An fs_macro_lookup_fn over a struct fs_printer (arg). path is
 * "object.field[.subfield]"; an unknown object or field is UNDEFINED (so
 * `|default` works), never an error. */
int fs_printer_status_lookup(void *arg, const char *path, struct fs_macro_value *out,
                             struct fs_error *err);

#endif
