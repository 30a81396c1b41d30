/* The printer's own G-code commands: M115 and STATUS (what is running and
 * whether it is usable), RESTART and FIRMWARE_RESTART (the way back from a
 * shutdown or to a changed configuration), and the console gate that keeps
 * a printer that is not ready from being asked to move or heat.
 *
 * RESTART and FIRMWARE_RESTART only record the request on the printer
 * (p->restart_request) and stop the job: their handler belongs to the
 * printer that is about to be torn down, so the program loop that owns the
 * printer carries the request out with fs_printer_restart (restart.h). */
#ifndef FS_PRINTER_GCODE_H
#define FS_PRINTER_GCODE_H

struct fs_error;
struct fs_printer;

int fs_printer_gcode_register(struct fs_printer *p, struct fs_error *err);

/* A console line for p. While the printer is not ready (a restart failed)
 * or shut down, only the commands that report or recover run (STATUS, M115,
 * HELP, RESTART, FIRMWARE_RESTART); anything else is refused with the
 * reason and the way out. A printer whose configuration could not even be
 * loaded (p->gcode NULL) still takes RESTART and FIRMWARE_RESTART. */
int fs_printer_run_console_line(struct fs_printer *p, const char *line, const char *source,
                                struct fs_error *err);

/* Whether every connected MCU can be restarted from here (its firmware has
 * `reset`, or [mcu] restart_method: command); otherwise -1 with an error
 * naming the MCU and asking for a manual reset. */
int fs_printer_check_firmware_reset(const struct fs_printer *p, struct fs_error *err);

#endif
