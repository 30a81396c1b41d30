/* One heater (or a bare temperature sensor): a sensor read through an MCU
 * analog input, an output driven through an MCU PWM pin, the control law
 * that links them, and the host-side checks that notice a heater which is
 * not doing what it is told (verify_heater) or reads impossible values.
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
 * A fault (not heating, runaway, reading out of min_temp..max_temp) turns
 * the heater off and keeps it off — the safety floor of FAULTS.md — and is
 * reported to the owner's fault handler, which decides the rest. */
#ifndef FS_HEATER_H
#define FS_HEATER_H

#include "thermal/sensor.h" /* struct fs_sensor */

struct fs_error;
struct fs_heater;
struct fs_logger;
struct fs_mcu;
struct fs_reactor;

#define FS_HEATER_MAX_DURATION_S 5.0
#define FS_HEATER_REFRESH_S 1.0
#define FS_HEATER_OUTPUT_DELAY_S 0.1
#define FS_HEATER_NAME_MAX 64
/* printer.cfg's PID gains are per 1/255 of full power. */
#define FS_HEATER_PID_PARAM_BASE 255.0

enum fs_heater_control {
    FS_HEATER_CONTROL_PID,
    FS_HEATER_CONTROL_WATERMARK,
};

enum fs_heater_fault {
    FS_HEATER_FAULT_NONE = 0,
    FS_HEATER_FAULT_NOT_HEATING,  /* did not rise as expected towards a target */
    FS_HEATER_FAULT_RUNAWAY,      /* fell away from a target it had reached */
    FS_HEATER_FAULT_OUT_OF_RANGE, /* reading outside min_temp..max_temp */
};

typedef void (*fs_heater_fault_fn)(void *arg, const char *heater_name,
                                   enum fs_heater_fault kind, const char *reason);

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
void fs_heater_set_fault_handler(struct fs_heater *h, fs_heater_fault_fn fn, void *arg);

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
double fs_heater_max_temp(const struct fs_heater *h);

/* Faults latch until cleared; clearing a cause that persists re-raises it
 * at the next reading. */
enum fs_heater_fault fs_heater_fault(const struct fs_heater *h, const char **reason);
void fs_heater_clear_fault(struct fs_heater *h);

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
