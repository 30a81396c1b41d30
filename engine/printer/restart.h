/* Restarting the printer from its program loop: tearing the printer down
 * and building it again from the configuration file as it is now, after
 * resetting every MCU's firmware for FIRMWARE_RESTART.
 *
 * An MCU that still holds a configuration with the same CRC is reused as it
 * is (no reset: steppers, heaters and their state on the MCU stay); one that
 * holds another configuration refuses, and FIRMWARE_RESTART is the way to
 * load the new one. A configuration with errors is found before anything is
 * torn down, so the printer keeps running the old one. */
#ifndef FS_PRINTER_RESTART_H
#define FS_PRINTER_RESTART_H

#include "printer/printer.h" /* struct fs_printer, enum fs_restart_request */

/* Carries out kind (FS_RESTART_HOST or FS_RESTART_FIRMWARE) with new_cfg,
 * freshly loaded by the caller; clears p->restart_request. Afterwards
 * p->config is the configuration in use (new_cfg, or the old one when
 * new_cfg was refused before the teardown): the caller frees the other.
 * On -1 after the teardown the printer exists but is not ready
 * (p->is_ready 0, the reason in p->shutdown_reason and err); only the
 * recovery commands run (fs_printer_run_console_line). The G-code output
 * handler is not carried over: the caller installs it again. */
int fs_printer_restart(struct fs_printer *p, enum fs_restart_request kind,
                       struct fs_config *new_cfg, const struct fs_printer_backend *backend,
                       double timeout_s, struct fs_error *err);

#endif
