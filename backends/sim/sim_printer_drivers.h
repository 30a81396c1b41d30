/* Stepper drivers with a UART ([tmc2209 stepper_x]) in the simulated
 * printer: a TMC2209 model (plant_tmc2209) on the UART pin of the MCU the
 * config names, answering at uart_address; several drivers on one pin
 * share the wire as on a real board. The driver gates its motor: when the
 * chip switches its outputs off (over-temperature, a short, under-voltage)
 * the plant axis is disabled and ignores steps; when it switches them back
 * on the axis follows the MCU's enable pin again. (The MCU writing the
 * enable pin meanwhile re-enables the axis, as toggling ENN resets a real
 * TMC2209's short protection.) */
#ifndef SIM_PRINTER_DRIVERS_H
#define SIM_PRINTER_DRIVERS_H

struct fs_config;
struct fs_error;
struct plant_tmc2209;
struct sim_host;
struct sim_printer;

/* Called by sim_printer_build once the motors exist. */
int sim_printer_add_drivers(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err);

/* The simulated TMC2209 of a stepper ("stepper_x") of printer p, for fault
 * injection and checks, or NULL when it has none. Valid while the printer's
 * world lives. */
struct plant_tmc2209 *sim_printer_driver(const struct sim_printer *p, const char *stepper);

#endif
