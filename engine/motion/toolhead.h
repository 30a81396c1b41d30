/* The toolhead: the head's position, the look-ahead queue of moves, and
 * the print time at which each move runs on the MCUs.
 *
 * It reads [printer] (kinematics, max_velocity, max_accel,
 * minimum_cruise_ratio, square_corner_velocity, max_z_velocity,
 * max_z_accel), the rails [stepper_x|y|z] and [extruder], and creates
 * their steppers (before the MCUs are configured). The G-code layer
 * (gcode_move.h) and homing (homing.h) are separate modules on top of it.
 * Positions are arrays of four: X Y Z E (mm). */
#ifndef FS_TOOLHEAD_H
#define FS_TOOLHEAD_H

#include <stdint.h> /* int64_t */

struct fs_error;
struct fs_printer;
struct fs_stepper;
struct fs_toolhead;
struct fs_kinematics;
struct fs_rail_config;
struct fs_extruder;
struct fs_trapezoid;

/* Print time is kept at least this far ahead of the MCUs' clocks when a
 * move is handed to the steppers, so no step is ever due in the past. */
#define FS_TOOLHEAD_MIN_LEAD_S 0.25
/* Queued moves are committed once the committed motion runs out within
 * this time. */
#define FS_TOOLHEAD_LOOKAHEAD_S 0.5
/* Steps are sent to the MCUs this far ahead of their time, by a timer
 * running this often. Sending no further keeps few commands in flight when
 * a halt discards them. */
#define FS_TOOLHEAD_STEP_FLUSH_S 0.5
#define FS_TOOLHEAD_STEP_FLUSH_PERIOD_S 0.1
/* fs_toolhead_move lets the world run while motion is planned further
 * ahead than this (keeps memory and latency bounded). */
#define FS_TOOLHEAD_MAX_LEAD_S 2.0

struct fs_toolhead *fs_toolhead_new(struct fs_printer *printer, struct fs_error *err);
void fs_toolhead_free(struct fs_toolhead *th);

/* Queues a straight move to pos at speed (mm/s). Refused with the position
 * in the message when an axis is not homed or out of range, when extruding
 * cold, or when an extrude-only move is too long. */
int fs_toolhead_move(struct fs_toolhead *th, const double pos[4], double speed,
                     struct fs_error *err);
void fs_toolhead_get_position(const struct fs_toolhead *th, double pos[4]);
/* Declares the current position (G92 on E, SET_KINEMATIC_POSITION, the end
 * of homing) after the queue is flushed; homed_axes (bit per X Y Z) are
 * added to the homed set. Nothing moves. */
int fs_toolhead_set_position(struct fs_toolhead *th, const double pos[4], unsigned homed_axes,
                             struct fs_error *err);
unsigned fs_toolhead_homed_axes(const struct fs_toolhead *th);
/* How many times the axis was homed (G28), so that the G-code layer can
 * drop a G92 offset on an axis once it is homed again. */
unsigned fs_toolhead_homing_count(const struct fs_toolhead *th, int axis);
void fs_toolhead_count_homing(struct fs_toolhead *th, int axis);
void fs_toolhead_clear_homed(struct fs_toolhead *th, unsigned axes);

/* G4: nothing moves for this long after the queued moves. */
int fs_toolhead_dwell(struct fs_toolhead *th, double seconds, struct fs_error *err);
/* M400: lets the world run until every queued step has run. An error while
 * committing is kept and reported by the next move. */
void fs_toolhead_wait_moves(struct fs_toolhead *th);
/* Commits every queued move and sends their steps; returns 0 or -1. */
int fs_toolhead_flush(struct fs_toolhead *th, struct fs_error *err);

/* SET_VELOCITY_LIMIT / M204; NAN leaves a value unchanged. */
void fs_toolhead_set_limits(struct fs_toolhead *th, double velocity, double accel,
                            double min_cruise_ratio, double square_corner_velocity);
/* Print time at the end of everything queued (commits the queue: the head
 * stops there). */
double fs_toolhead_get_print_time(struct fs_toolhead *th);
/* Without stopping the head: fn(arg, print_time) is called once the moves
 * queued so far have their times, with the time the last of them ends (at
 * once when nothing is queued). For commands that act in step with the
 * moves (M106 between two extrusions). fn runs from the toolhead's timer
 * or inside a move call: it must not wait. At most FS_TOOLHEAD_CALLBACKS
 * can wait at a time. */
#define FS_TOOLHEAD_CALLBACKS 32
typedef void (*fs_toolhead_time_fn)(void *arg, double print_time);
int fs_toolhead_at_queue_end(struct fs_toolhead *th, fs_toolhead_time_fn fn, void *arg,
                             struct fs_error *err);

struct fs_toolhead_status {
    double position[4];
    unsigned homed_axes;
    char homed[4]; /* "xyz" */
    double max_velocity, max_accel, min_cruise_ratio, square_corner_velocity;
    double print_time, estimated_print_time;
    int queued_moves;
    int stalls; /* times the committed motion ran out while moves waited */
    long long moves; /* moves committed since start */
    int halted; /* between fs_toolhead_halt_now and fs_toolhead_halt_finish (halt.h) */
};
void fs_toolhead_get_status(struct fs_toolhead *th, struct fs_toolhead_status *st);

/* Steppers for reports ("stepper_x" -> steps generated). */
int fs_toolhead_stepper_count(const struct fs_toolhead *th);
const char *fs_toolhead_stepper_name(const struct fs_toolhead *th, int i);
int64_t fs_toolhead_stepper_steps(const struct fs_toolhead *th, int i);

/* M17 / M84: every motor on or off after the queued moves; off forgets
 * homing. */
int fs_toolhead_motors_enable(struct fs_toolhead *th, int on, struct fs_error *err);

/* For homing (same folder). The rail stepper i (X Y Z order), its config,
 * the kinematics and the extruder (NULL when none). */
struct fs_stepper *fs_toolhead_rail_stepper(struct fs_toolhead *th, int rail);
const struct fs_rail_config *fs_toolhead_rail(const struct fs_toolhead *th, int rail);
struct fs_kinematics *fs_toolhead_kinematics(struct fs_toolhead *th);
struct fs_printer *fs_toolhead_printer(struct fs_toolhead *th);
/* Commits the queue and returns the print time at which the next move
 * will start (at least FS_TOOLHEAD_MIN_LEAD_S from now). */
int fs_toolhead_next_start_time(struct fs_toolhead *th, double *print_time,
                                struct fs_error *err);
/* A move without the homed/range checks (homing travels beyond the axis),
 * committed at once. */
int fs_toolhead_homing_move(struct fs_toolhead *th, const double pos[4], double speed,
                            struct fs_error *err);
/* The timing of the last move handed to the steppers (homing: where the
 * axis was when the switch closed). */
void fs_toolhead_last_move(const struct fs_toolhead *th, struct fs_trapezoid *trap);
/* After steppers were stopped by the MCU (and re-synced): the position is
 * recomputed from the stepper positions, and print time restarts from now. */
void fs_toolhead_note_stopped(struct fs_toolhead *th);
/* The "toolhead" fault source (NULL without a fault module): homing
 * raises on it. */
struct fs_fault_source;
struct fs_fault_source *fs_toolhead_fault_source(const struct fs_toolhead *th);
/* The MCUs' print time now. */
double fs_toolhead_estimated_print_time(const struct fs_toolhead *th);

/* For halt.c (same folder). Stepper i: the rails X Y Z, then the
 * extruder (fs_toolhead_stepper_count of them). */
#define FS_TOOLHEAD_STEPPERS_MAX 4
struct fs_halt;
struct fs_stepper *fs_toolhead_stepper_at(struct fs_toolhead *th, int i);
struct fs_halt *fs_toolhead_halt_obj(struct fs_toolhead *th);
/* Stops committing and sending at once; reason NULL or "" for the
 * default message. */
void fs_toolhead_enter_halt(struct fs_toolhead *th, const char *reason);
/* The plan is dropped, print time restarts from now and the head is at
 * pos (the steppers were re-synced). */
void fs_toolhead_leave_halt(struct fs_toolhead *th, const double pos[4]);

#endif
