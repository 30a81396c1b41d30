/* Stepper drivers with a UART ([tmc2209 stepper_x]) in the simulated
 * printer: the driver model on the UART pin of the MCU the config names. */
#ifndef SIM_PRINTER_DRIVERS_H
#define SIM_PRINTER_DRIVERS_H

struct fs_config;
struct fs_error;
struct sim_host;
struct sim_printer;

/* Called by sim_printer_build once the motors exist. */
int sim_printer_add_drivers(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err);

#endif
