/* Filament sensors and fan tachometers in the simulated printer: the
 * models behind [filament_switch_sensor X], [filament_motion_sensor X] and
 * a fan's tachometer_pin, on the pins the config names.
 *
 * Each extruder with a filament sensor gets one filament path
 * (plant_filament) driven by its motor: a switch sensor reads "pressed"
 * (its pin's active level, '!' honoured) while filament is present; a
 * motion sensor toggles every detection_length / 2.5 mm of filament
 * movement. A fan with a tachometer gets a plant_fan whose drive is its
 * pin's level, sampled whenever the tachometer is read (software PWM is
 * averaged by the fan's lag; a hardware-PWM fan counts as full drive at
 * any duty above 0). Both are read by the firmware through the world's pin
 * devices, so pulses and toggles cost no events. The models belong to the
 * world (attached as "sensors"). */
#ifndef SIM_PRINTER_SENSORS_H
#define SIM_PRINTER_SENSORS_H

struct fs_config;
struct fs_error;
struct plant_fan;
struct plant_filament;
struct sim_host;
struct sim_printer;
struct sim_world;

/* Called by sim_printer_build once the motors and heaters exist. */
int sim_printer_add_sensors(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err);

/* The filament path of an extruder ("extruder") or the fan model of a fan
 * section ("fan", "heater_fan hotend_fan"), or NULL when none. */
struct plant_filament *sim_printer_filament(struct sim_world *w, const char *extruder);
struct plant_fan *sim_printer_fan(struct sim_world *w, const char *fan);

/* Fault injection, now (at the motor's current position). -1 when there is
 * no such model. */
int sim_printer_filament_run_out(struct sim_world *w, const char *extruder, double after_mm);
int sim_printer_filament_jam(struct sim_world *w, const char *extruder, int jammed);
int sim_printer_filament_reload(struct sim_world *w, const char *extruder);
int sim_printer_fan_stall(struct sim_world *w, const char *fan, int stalled);

#endif
