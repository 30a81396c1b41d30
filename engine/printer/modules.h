/* The printer's modules in load order: the one place that knows which
 * modules a printer is made of. Each module reads its own sections and
 * registers its own G-code commands. */
#ifndef FS_PRINTER_MODULES_H
#define FS_PRINTER_MODULES_H

struct fs_error;
struct fs_printer;

int fs_printer_modules_init(struct fs_printer *p, struct fs_error *err);
/* After every MCU is configured. */
int fs_printer_modules_ready(struct fs_printer *p, struct fs_error *err);
void fs_printer_modules_free(struct fs_printer *p);
/* The printer shut down: heaters off, the job in its error state. */
void fs_printer_modules_shutdown(struct fs_printer *p, const char *reason);

#endif
