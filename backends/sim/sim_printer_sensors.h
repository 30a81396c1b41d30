/* Filament sensors and fan tachometers in the simulated printer: the
 * models behind [filament_switch_sensor X], [filament_motion_sensor X] and
 * a fan's tachometer_pin, on the pins the config names. */
#ifndef SIM_PRINTER_SENSORS_H
#define SIM_PRINTER_SENSORS_H

struct fs_config;
struct fs_error;
struct sim_host;
struct sim_printer;

/* Called by sim_printer_build once the motors and heaters exist. */
int sim_printer_add_sensors(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err);

#endif
