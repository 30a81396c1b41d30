/* The thermal subsystem as the rest of the printer sees it: every heater,
 * temperature sensor and fan a configuration declares, looked up by name,
 * with the operations other modules need (targets, waiting, turning all
 * off, can-extrude, status) and the G-code commands that drive them.
 *
 * Two ways in: fs_heaters_new reads [extruder] (heater options only),
 * [heater_bed], [heater_generic NAME], [temperature_sensor NAME],
 * [thermistor NAME], [verify_heater NAME], [fan] and [heater_fan NAME] from
 * the printer's configuration and registers the G-code commands;
 * fs_heaters_create plus fs_heaters_add_* build the same objects from
 * parameter structs (tests, tools).
 *
 * Every heater and sensor is a fault source of the printer's fault module
 * (named as its section: "extruder", "heater_generic chamber"); a heater
 * fault turns that heater off (and keeps it off) and is raised there; what
 * else happens is the fault policy's decision, not this module's. */
#ifndef FS_HEATERS_H
#define FS_HEATERS_H

#include "thermal/fan.h"    /* struct fs_fan, struct fs_fan_params */
#include "thermal/heater.h" /* struct fs_heater, struct fs_heater_params */

struct fs_error;
struct fs_faults;
struct fs_gcode;
struct fs_heaters;
struct fs_logger;
struct fs_printer;
struct fs_reactor;

#define FS_HEATERS_MAX 16
#define FS_FANS_MAX 16
/* M109/M190 and TEMPERATURE_WAIT report temperatures this often. */
#define FS_HEATERS_WAIT_REPORT_S 1.0
/* M109/M190 consider the target reached within this band. */
#define FS_HEATERS_WAIT_TOLERANCE_C 1.0

/* Config path: reads every thermal section and registers G-code commands
 * with p->gcode (when set). MCUs are looked up through fs_printer_pin_mcu. */
struct fs_heaters *fs_heaters_new(struct fs_printer *p, struct fs_error *err);

/* Parameter path. */
struct fs_heaters *fs_heaters_create(struct fs_reactor *reactor, const struct fs_logger *log,
                                     struct fs_error *err);
struct fs_heater *fs_heaters_add_heater(struct fs_heaters *h, const struct fs_heater_params *p,
                                        struct fs_error *err);
struct fs_fan *fs_heaters_add_fan(struct fs_heaters *h, const struct fs_fan_params *p,
                                  struct fs_error *err);
/* Registers M104 M109 M140 M190 M105 M106 M107 SET_HEATER_TEMPERATURE
 * TEMPERATURE_WAIT PID_CALIBRATE. */
int fs_heaters_register_gcode(struct fs_heaters *h, struct fs_gcode *g, struct fs_error *err);
void fs_heaters_free(struct fs_heaters *h);

/* Parameter path: the fault module heaters added from now on register with
 * (unless their params name one); without one, faults are logged and the
 * heater stays off. The config path uses the printer's. */
void fs_heaters_set_faults(struct fs_heaters *h, struct fs_faults *faults);

/* Where M106/M107 take their time from: the source calls done(done_arg,
 * print_time) with the print time at the end of the moves queued so far,
 * once that is known (at once when nothing is queued), without stopping
 * the moves. Without one, fan changes happen as soon as the MCU can take
 * them. The config path sets it to the printer's toolhead
 * (fs_toolhead_at_queue_end). */
typedef void (*fs_heaters_time_done_fn)(void *done_arg, double print_time);
typedef int (*fs_heaters_time_fn)(void *arg, fs_heaters_time_done_fn done, void *done_arg,
                                  struct fs_error *err);
void fs_heaters_set_move_time_source(struct fs_heaters *h, fs_heaters_time_fn fn, void *arg);

/* By name: "extruder", "heater_bed", a heater_generic's or a
 * temperature_sensor's own name ("chamber"); NULL when unknown. */
struct fs_heater *fs_heaters_lookup(const struct fs_heaters *h, const char *name);
struct fs_fan *fs_heaters_lookup_fan(const struct fs_heaters *h, const char *name);
int fs_heaters_count(const struct fs_heaters *h);
struct fs_heater *fs_heaters_at(const struct fs_heaters *h, int i);
struct fs_reactor *fs_heaters_reactor(const struct fs_heaters *h);

/* Lets the world run until the heater reads within [min_c, max_c]
 * (either may be -INFINITY / INFINITY), reporting every
 * FS_HEATERS_WAIT_REPORT_S through report (may be NULL). Fails when the
 * heater faults, its target is dropped to 0 while waiting for heat, or
 * timeout_s passes (INFINITY: no timeout). */
typedef void (*fs_heaters_report_fn)(void *arg, const struct fs_heaters *h);
int fs_heaters_wait(struct fs_heaters *h, struct fs_heater *heater, double min_c, double max_c,
                    double timeout_s, fs_heaters_report_fn report, void *report_arg,
                    struct fs_error *err);
/* Every heater's target to 0 and output off now. */
void fs_heaters_turn_off_all(struct fs_heaters *h);

/* "T:210.0 /210.0 B:60.0 /60.0 chamber:35.0 /0.0" (M105's form; the
 * caller adds "ok "). Returns the length like snprintf. */
int fs_heaters_format_temps(const struct fs_heaters *h, char *out, int cap);

/* Status for the API's JSON. */
struct fs_heater_status {
    const char *name;
    double temperature_c; /* NAN before the first reading */
    double target_c;
    double power;         /* 0..1; 0 for a sensor */
    int is_heater;
    enum fs_heater_fault fault;
};
int fs_heaters_status(const struct fs_heaters *h, int i, struct fs_heater_status *out);

#endif
