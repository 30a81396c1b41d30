/* One heater (or a bare temperature sensor): a sensor read through an MCU
 * analog input, an output driven through an MCU PWM pin, the control law
 * that links them, and the host-side detection of every fault of that part,
 * raised through the fault module (engine/fault/fault.h).
 *
 * Control runs on every sensor reading (every report_time, 0.3 s):
 *   - pid: output = Kp e + Ki integral(e) - Kd d(T_smoothed)/dt, with the
 *     integral held to what max_power can use (no wind-up while the output
 *     saturates) and the derivative taken on a temperature smoothed over
 *     smooth_time, so one noisy reading does not kick the output. Gains are
 *     in the printer.cfg convention (pid_Kp: 22.2 means 22.2/255 of full
 *     power per degree), so existing tuned values carry over.
 *   - watermark: full max_power below target - max_delta, off above
 *     target + max_delta, unchanged in between.
 *
 * The output is scheduled FS_HEATER_OUTPUT_DELAY_S ahead of the MCU's
 * clock. Refreshes ride on the readings: a power that did not change is
 * re-sent once FS_HEATER_REFRESH_S has passed, so the gap between two
 * commands is at most 1 s plus one report interval (1.3 s), well inside the
 * MCU's max_duration window (FS_HEATER_MAX_DURATION_S, 5 s) even with a
 * lost report or a retransmission. If the host stops, or the readings stop,
 * the MCU turns the heater off by itself within those 5 s.
 *
 * Faults (the fault source is the section's name: "extruder",
 * "heater_bed", "heater_generic chamber", "temperature_sensor board"; class
 * heater, or sensor for a temperature_sensor). Options of the heater's own
 * section that tune them: min_temp, max_temp, uncommanded_heating_rise,
 * uncommanded_heating_time, [verify_heater NAME]; fault_tolerance is read
 * by the fault module (fs_fault_source_tolerance, default 1 s).
 *   - sensor_open / sensor_short: the reading is past the sensor's open or
 *     short limit. With the sensor at the bottom of a pull-up divider, an
 *     open circuit reads full scale and a short reads zero whatever the
 *     sensor model, so the limits are readings: the temperatures
 *     FS_HEATER_COLD_LIMIT_C (-40 C, or min_temp - 10 C when min_temp is
 *     lower, not below -200 C) and FS_HEATER_HOT_LIMIT_C above max_temp
 *     (+50 C, at most 600 C) turned into readings through the sensor model;
 *     past the one nearer full scale is open (an NTC reading colder than
 *     -40 C, a PT1000 hotter than the hot limit), past the one nearer zero
 *     is short.
 *   - over_temperature / under_temperature: above max_temp (below the short
 *     or open limit), below min_temp.
 *   All four share one LEAKY counter: a bad reading adds its interval, a
 *   good one takes away an eighth of its interval (floor 0), so one good
 *   reading does not wipe out a run of bad ones; when the counter exceeds
 *   fault_tolerance the kind of the reading that crossed it is raised. From
 *   the first bad reading the host sets the power to 0 (an open NTC reads
 *   cold: the PID would drive full power) until the readings are sane.
 *   - sensor_glitch: a run of bad readings that ended before the counter
 *     reached the tolerance, recorded once with its length and worst
 *     reading. Repeated glitches add up in the counter to a fault.
 *   - not_heating, runaway: the verify_heater checks (max_error,
 *     check_gain_time, hysteresis, heating_gain).
 *   - uncommanded_heating: the output is off (target 0, power 0, or the
 *     guard tripped) and the reading rose by more than
 *     uncommanded_heating_rise (15 C) within uncommanded_heating_time
 *     (60 s, at most 120 s): the median of the latest 5 sane readings
 *     against the lowest such median in that window. A hotend coasts up by
 *     a few degrees after switch-off and then cools; a welded switch on a
 *     fan-cooled hotend at 210 C climbs about 0.7 C/s, 15 C in about 20 s,
 *     which the window must hold (a 20 s window would miss it); a chamber
 *     warming the parts around it does not gain 15 C in a minute.
 *
 * Every heater fault turns that heater off at once and latches it off
 * (FAULTS.md's floor for heaters: disable), whatever the policy, before the
 * fault module decides the rest; a glitch does not. FAULT_CLEAR (the
 * source's clear op) is refused while the latest reading is out of range,
 * stale, or the firmware guard tripped after it.
 *
 * The firmware guard (mcu_heater_guard.h) is used when the MCU offers it:
 * its range is min_temp..max_temp as readings; a trip cuts the pin at the
 * sample, sets the host's power to 0 at once, and the readings then decide
 * glitch or fault exactly as above; when the readings are sane again and
 * no fault is latched the host re-arms it. Without the guard (the reference
 * firmware) the MCU's range check stays as the last line of defence, with
 * range_check_count = ceil(fault_tolerance / report_time) +
 * FS_HEATER_RANGE_CHECK_MARGIN readings, so the host has cut the power and
 * raised the fault before the MCU shuts down. */
#ifndef FS_HEATER_H
#define FS_HEATER_H

#include "thermal/sensor.h" /* struct fs_sensor */

struct fs_config_section;
struct fs_error;
struct fs_faults;
struct fs_fault_source;
struct fs_heater;
struct fs_logger;
struct fs_mcu;
struct fs_mcu_heater_guard;
struct fs_reactor;

#define FS_HEATER_MAX_DURATION_S 5.0
#define FS_HEATER_REFRESH_S 1.0
#define FS_HEATER_OUTPUT_DELAY_S 0.1
#define FS_HEATER_NAME_MAX 64
/* printer.cfg's PID gains are per 1/255 of full power. */
#define FS_HEATER_PID_PARAM_BASE 255.0
/* The sensor's plausibility limits (see above). */
#define FS_HEATER_COLD_LIMIT_C (-40.0)
#define FS_HEATER_COLD_LIMIT_MIN_C (-200.0)
#define FS_HEATER_HOT_MARGIN_C 50.0
#define FS_HEATER_HOT_LIMIT_MAX_C 600.0
/* A good reading takes away this share of its interval from the counter.
 * An eighth, not more: a wire that opens for 0.3 s at a time is caught by
 * about every other 0.3 s report (a sum that straddles the open reads
 * plausible), so a sensor that glitches every second or two must still add
 * up to a fault; a single spike every 3 s or more never does. */
#define FS_HEATER_LEAK_FRACTION 0.125
/* Readings beyond the host's tolerance before the reference firmware's
 * range check shuts the MCU down: one for the reading the host decides on
 * arriving late, one for a lost report, one for rounding. */
#define FS_HEATER_RANGE_CHECK_MARGIN 3
/* A reading older than this (print time) is stale for FAULT_CLEAR. */
#define FS_HEATER_STALE_S 2.0
#define FS_HEATER_UNCOMMANDED_RISE_C 15.0
#define FS_HEATER_UNCOMMANDED_TIME_S 60.0
#define FS_HEATER_UNCOMMANDED_TIME_MAX_S 120.0

enum fs_heater_control {
    FS_HEATER_CONTROL_PID,
    FS_HEATER_CONTROL_WATERMARK,
};

/* The latched fault, for status displays (the fault module's records are
 * the full story). */
enum fs_heater_fault {
    FS_HEATER_FAULT_NONE = 0,
    FS_HEATER_FAULT_NOT_HEATING,  /* did not rise as expected towards a target */
    FS_HEATER_FAULT_RUNAWAY,      /* fell away from a target it had reached */
    FS_HEATER_FAULT_OUT_OF_RANGE, /* over or under temperature */
    FS_HEATER_FAULT_SENSOR,       /* sensor open or short */
    FS_HEATER_FAULT_UNCOMMANDED,  /* heating with the output off */
    FS_HEATER_FAULT_OTHER,        /* disabled by the fault module for another kind */
};

struct fs_heater_verify {
    int enabled;
    double max_error;         /* C * s accumulated below target - hysteresis */
    double check_gain_time_s; /* while approaching: time to gain heating_gain_c */
    double hysteresis_c;
    double heating_gain_c;
};

struct fs_heater_params {
    const char *name;        /* "extruder", "heater_bed", "chamber" */
    const char *where;       /* "printer.cfg:80: [extruder]" for MCU errors, or NULL */
    struct fs_sensor sensor; /* model and divider */
    struct fs_mcu *sensor_mcu;
    const char *sensor_pin;
    /* NULL heater_mcu: a temperature sensor only. */
    struct fs_mcu *heater_mcu;
    const char *heater_pin;
    int heater_invert;
    double min_temp_c, max_temp_c;
    double min_extrude_temp_c;
    double max_power;          /* 0..1 */
    double pwm_cycle_time_s;
    enum fs_heater_control control;
    double pid_kp, pid_ki, pid_kd; /* printer.cfg units (see above) */
    double max_delta_c;            /* watermark */
    double smooth_time_s;          /* derivative smoothing */
    struct fs_heater_verify verify;
    /* Faults: the module to register with (NULL: faults are only logged,
     * the heater still switches itself off), the source's name (NULL: the
     * heater's name) and its config section (NULL: profile defaults). */
    struct fs_faults *faults;
    const char *fault_source;
    struct fs_config_section *section;
    double fault_tolerance_s;      /* without a fault module: 1 s */
    double uncommanded_rise_c, uncommanded_time_s;
    int use_guard;                 /* the firmware's guard when offered (1) */
};

/* PID with the usual hotend gains, 0..300 C, max_power 1, 0.1 s cycle,
 * verify on (extruder timings: check_gain_time 20 s). name, sensor and the
 * pins must be filled in by the caller. */
void fs_heater_params_default(struct fs_heater_params *p);
void fs_heater_verify_default(struct fs_heater_verify *v, int is_extruder);

/* Creates the MCU objects (nothing is sent before the MCUs configure). */
struct fs_heater *fs_heater_new(struct fs_reactor *reactor, const struct fs_logger *log,
                                const struct fs_heater_params *p, struct fs_error *err);
void fs_heater_free(struct fs_heater *h);
/* The fault source (NULL without a fault module) and the firmware guard
 * (NULL for a sensor). */
struct fs_fault_source *fs_heater_fault_source(const struct fs_heater *h);
struct fs_mcu_heater_guard *fs_heater_guard(const struct fs_heater *h);

const char *fs_heater_name(const struct fs_heater *h);
int fs_heater_has_output(const struct fs_heater *h);
/* Latest reading (NAN before the first) and the target (0: off). */
void fs_heater_get_temp(const struct fs_heater *h, double *temp_c, double *target_c);
/* The output's power 0..1 as last decided. */
double fs_heater_get_power(const struct fs_heater *h);
/* Print time of the latest reading (0 before the first). */
double fs_heater_last_reading_time(const struct fs_heater *h);
/* Refused above max_temp, below 0, on a sensor-only object and while the
 * heater is faulted. 0 turns it off. */
int fs_heater_set_target(struct fs_heater *h, double target_c, struct fs_error *err);
int fs_heater_can_extrude(const struct fs_heater *h);
double fs_heater_min_extrude_temp(const struct fs_heater *h);

/* Faults latch until cleared; clearing a cause that persists re-raises it
 * at the next reading. fs_heater_clear_fault is the source's clear op:
 * -1 (err says what it reads) while the cause is still visible. */
enum fs_heater_fault fs_heater_fault(const struct fs_heater *h, const char **reason);
int fs_heater_clear_fault(struct fs_heater *h, struct fs_error *err);

/* PID gains in printer.cfg units (PID_CALIBRATE applies its result here);
 * switches the heater to pid control. */
void fs_heater_set_pid(struct fs_heater *h, double kp, double ki, double kd);
void fs_heater_get_pid(const struct fs_heater *h, double *kp, double *ki, double *kd);

/* A control law that replaces the configured one (PID_CALIBRATE's relay):
 * called on each reading, returns the power 0..max_power. NULL restores
 * the configured law. Faults still apply. */
typedef double (*fs_heater_control_fn)(void *arg, double print_time, double temp_c,
                                       double target_c);
void fs_heater_set_control_override(struct fs_heater *h, fs_heater_control_fn fn, void *arg);
double fs_heater_max_power(const struct fs_heater *h);

#endif
