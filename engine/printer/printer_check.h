/* Checking a configuration without any hardware: the printer's parse phase
 * (every module reads and validates its sections, unknown options and
 * sections are reported) on MCUs that are never contacted. Used by
 * `failsoft check` and by RESTART, which must refuse a broken file before
 * tearing down the running printer. */
#ifndef FS_PRINTER_CHECK_H
#define FS_PRINTER_CHECK_H

struct fs_config;
struct fs_error;
struct fs_printer;

/* Returns 0 when the configuration is valid (*mcu_count, if not NULL, is
 * the number of [mcu] sections), or -1 with every problem in err. */
int fs_printer_check(struct fs_config *cfg, int *mcu_count, struct fs_error *err);
/* The same, and when the configuration is valid inspect(arg, printer) is
 * called before the trial printer is freed (`failsoft faults -c` reads its
 * fault sources). inspect may be NULL. */
int fs_printer_check_inspect(struct fs_config *cfg, int *mcu_count,
                             void (*inspect)(void *arg, struct fs_printer *p), void *arg,
                             struct fs_error *err);

#endif
