/* Sensors that watch the print rather than a temperature: filament runout
 * switches ([filament_switch_sensor NAME]), filament motion sensors
 * ([filament_motion_sensor NAME]) and the tachometers of fans
 * (tachometer_pin in [fan] and [heater_fan NAME]). Each one reports what it
 * detects as a fault (runout, jam, fan_stalled) through the fault module;
 * none of them pauses or stops anything by itself.
 *
 * Options of both filament sensors:
 *   switch_pin (required; '^' pull-up, '!' invert), pause_on_runout (True),
 *   runout_gcode, insert_gcode, event_delay (3 s: events closer together
 *   are ignored), pause_delay (0.5 s: runout_gcode runs this long after
 *   the runout, when the pause has been carried out);
 * motion sensor only: detection_length (7 mm: extruder travel without a
 *   toggle of the sensor that means a jam), extruder (extruder).
 * Besides them the fault module reads on_fault, on_runout, on_jam and
 * on_fault_gcode in the same section.
 *
 * Runout and jam are raised only while a job is printing; insert_gcode
 * runs when filament is inserted while no job is printing (idle or
 * paused). pause_on_runout: False raises no fault: the runout is announced
 * on the console and runout_gcode runs, the job goes on (the user's macro
 * decides, as on the common host; a fault with a `warn` policy would latch
 * and need a FAULT_CLEAR nobody expects). A latched runout or jam clears
 * (FAULT_CLEAR) only once the sensor detects filament again (for a motion
 * sensor: it toggled since). `SET_FILAMENT_SENSOR ENABLE=0` stops
 * detection (events are ignored) but keeps the state up to date.
 *
 * Tachometer options ([fan], [heater_fan NAME]):
 *   tachometer_pin, tachometer_ppr (2), tachometer_poll_interval (0.0015),
 *   tachometer_min_rpm (500), tachometer_min_power (0.3),
 *   tachometer_spinup_time (5 s): see fan.h for the stall rule.
 *
 * G-code: QUERY_FILAMENT_SENSOR SENSOR=NAME, SET_FILAMENT_SENSOR
 * SENSOR=NAME ENABLE=0|1. Status for macros (fs_filament_sensors_status):
 *   printer["filament_switch_sensor NAME"].filament_detected / .enabled,
 *   printer["heater_fan NAME"].rpm / .speed / .power (fans too). */
#ifndef FS_FILAMENT_SENSORS_H
#define FS_FILAMENT_SENSORS_H

struct fs_error;
struct fs_filament_sensors;
struct fs_macro_value;
struct fs_printer;

/* Reads every sensor section and tachometer option, creates their MCU
 * objects and fault sources and registers the G-code commands. Needs the
 * heaters (fans), the toolhead (extruder travel), the job and the fault
 * module already made. Returns an empty collection when nothing is
 * configured (no timers, no MCU objects). */
struct fs_filament_sensors *fs_filament_sensors_new(struct fs_printer *p, struct fs_error *err);
void fs_filament_sensors_free(struct fs_filament_sensors *s);

/* A macro status lookup for one object: object is the section name
 * ("filament_switch_sensor runout", "fan", "heater_fan hotend_fan") or its
 * last word ("runout", "hotend_fan"). Returns 1 when the object is one of
 * these sensors or fans (out filled, or UNDEFINED for an unknown field), 0
 * when it is not, -1 on error. */
int fs_filament_sensors_status(struct fs_filament_sensors *s, const char *object,
                               const char *field, struct fs_macro_value *out,
                               struct fs_error *err);

/* For tests and reports: by full or short name; -1 for an unknown one. */
int fs_filament_sensors_detected(const struct fs_filament_sensors *s, const char *name);

#endif
