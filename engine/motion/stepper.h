/* One stepper motor: its MCU object, its position, and the generation of its
 * steps as compressed queue_step commands.
 *
 * The planner hands each stepper trapezoidal moves along a straight line;
 * for cartesian and corexy kinematics (and the extruder) a stepper's own
 * coordinate moves by `ratio` times the distance travelled along the line,
 * so one description serves every kinematics. Steps are taken where the
 * commanded position crosses the middle between two step positions; their
 * times are compressed into queue_step (interval, count, add) runs whose
 * every step lies within max_error of its ideal time.
 *
 * The MCU holds at most move_count queued commands across all its steppers;
 * a stepsync per MCU gives each command a min_clock at which a slot is sure
 * to be free, so the firmware's move queue never overflows. */
#ifndef FS_STEPPER_H
#define FS_STEPPER_H

#include <stdint.h> /* int64_t */

#include "config/config.h" /* struct fs_pin_desc */

struct fs_error;
struct fs_mcu;
struct fs_reactor;
struct fs_stepper;
struct fs_stepsync;

/* A move: accelerate from start_v for accel_t, cruise at cruise_v for
 * cruise_t, decelerate for decel_t (by the same accel). Distances in mm,
 * times in seconds from print_time. */
struct fs_trapezoid {
    double print_time;
    double accel_t, cruise_t, decel_t;
    double start_v, cruise_v, accel;
};
/* Distance along the move at time t (0 <= t <= total) */
double fs_trapezoid_distance(const struct fs_trapezoid *m, double t);
double fs_trapezoid_duration(const struct fs_trapezoid *m);
/* Speed along the move at time t (start_v before 0, the end speed after). */
double fs_trapezoid_velocity(const struct fs_trapezoid *m, double t);

struct fs_stepper_params {
    const char *name;               /* "stepper_x" */
    const char *where;              /* "printer.cfg:58: [stepper_x]" or NULL */
    struct fs_mcu *mcu;
    struct fs_stepsync *sync;       /* the MCU's stepsync */
    struct fs_pin_desc step_pin, dir_pin;
    int has_enable;
    struct fs_pin_desc enable_pin;
    double step_dist;               /* mm per microstep */
    double step_pulse_s;            /* 0: the default (2 us) */
    double max_error_s;             /* 0: the default (25 us) */
};

/* One per MCU that drives steppers; created before its steppers. */
struct fs_stepsync *fs_stepsync_new(struct fs_mcu *mcu, struct fs_error *err);
void fs_stepsync_free(struct fs_stepsync *s);
/* The host clock the stepsync reads "now" from, to refuse steps that could
 * no longer reach the MCU in time. Without it the time of the MCU's last
 * message stands in for now, which only catches steps that are very late. */
void fs_stepsync_set_reactor(struct fs_stepsync *s, struct fs_reactor *reactor);
/* Move-queue slots other objects of this MCU use (queue_digital_out and
 * queue_pwm_out take one each while queued); steppers keep off them. Call
 * before the MCU is configured. */
int fs_stepsync_reserve_slots(struct fs_stepsync *s, int count, struct fs_error *err);

/* Registers the stepper's config commands with its MCU (they are built when
 * the MCU is configured). */
struct fs_stepper *fs_stepper_new(const struct fs_stepper_params *p, struct fs_error *err);
void fs_stepper_free(struct fs_stepper *s);
const char *fs_stepper_name(const struct fs_stepper *s);
int fs_stepper_oid(const struct fs_stepper *s);
struct fs_mcu *fs_stepper_mcu(const struct fs_stepper *s);
struct fs_stepsync *fs_stepper_stepsync(const struct fs_stepper *s);

/* The commanded position (mm in the stepper's coordinate). Setting it moves
 * nothing (SET_KINEMATIC_POSITION, homing). */
void fs_stepper_set_position(struct fs_stepper *s, double pos);
double fs_stepper_get_position(const struct fs_stepper *s);
/* Print time the last generated move ends; 0 after a stop or a dropped
 * move (nothing planned is still to run). */
double fs_stepper_motion_end(const struct fs_stepper *s);
/* Steps generated so far, counting direction (what the MCU will report once
 * they have run, plus the offset of the MCU's own count). */
int64_t fs_stepper_step_count(const struct fs_stepper *s);
/* Its enable pin is on as far as the MCU knows (always 1 without one); 0
 * again after its MCU was configured afresh (MCU_RECONNECT). */
int fs_stepper_is_enabled(const struct fs_stepper *s);

/* Generates this stepper's steps for one move: its coordinate goes from
 * start_pos to start_pos + ratio * distance(t). pressure_advance (s) adds
 * pa * ratio * velocity(t) to the position (extruder only; 0 otherwise). */
int fs_stepper_add_move(struct fs_stepper *s, const struct fs_trapezoid *m, double start_pos,
                        double ratio, double pressure_advance, struct fs_error *err);
/* Sends every generated step before print_time to the MCU. */
int fs_stepper_flush(struct fs_stepper *s, double print_time, struct fs_error *err);

/* Enable/disable the driver at a print time (M17/M84). */
int fs_stepper_set_enable(struct fs_stepper *s, double print_time, int enable,
                          struct fs_error *err);

/* After the MCU stopped the stepper (homing trigger): read its position
 * back, drop unsent steps (also those waiting in the link), give its
 * move-queue slots back to the stepsync, and make the next move start with
 * reset_step_clock. *steps receives the MCU's position. */
int fs_stepper_sync_after_stop(struct fs_stepper *s, int64_t *steps, struct fs_error *err);

/* A halt: the stepper's commands not yet sent are forgotten at once (the
 * MCU is told to stop it; see halt.h). Any context. */
void fs_stepper_drop_queued(struct fs_stepper *s);
/* After a stop whose position could not be read back (the MCU does not
 * answer): as fs_stepper_sync_after_stop, taking every sent step as run. */
void fs_stepper_forget_unsent(struct fs_stepper *s);

/* What went to the MCU so far (status, tests, benchmarks). */
struct fs_stepper_stats {
    uint64_t steps_sent;       /* steps in queue_step commands handed to the link */
    uint64_t queue_steps_sent; /* queue_step commands */
    uint64_t time_bases_sent;  /* reset_step_clock commands */
};
void fs_stepper_get_stats(const struct fs_stepper *s, struct fs_stepper_stats *out);

#endif
