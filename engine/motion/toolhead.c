/* The toolhead: configuration, the move queue and print time; see
 * toolhead.h.
 *
 * Time. Print time is the planner's timeline on the main MCU's clock. The
 * toolhead keeps `print_time`: the moment the last committed move ends.
 * A move is committed (its steps generated and sent) only when it is due
 * soon: a reactor timer commits queued moves once the committed motion
 * would run out within FS_TOOLHEAD_LOOKAHEAD_S, so the planner sees as many
 * following moves as possible without letting the steppers starve. Every
 * commit first makes sure that print_time lies at least
 * FS_TOOLHEAD_MIN_LEAD_S ahead of the MCUs' estimated print time: after an
 * idle spell motion restarts a quarter second from now, and no step is ever
 * scheduled in the past (which the MCU would answer with a shutdown). If
 * that correction is needed while the machine was in motion, the queue ran
 * dry: counted as a stall.
 *
 * Steps of committed moves are sent FS_TOOLHEAD_STEP_FLUSH_S ahead of
 * their time by the same timer (the stepsync holds each command back until
 * the MCU has room for it). Not sending further keeps the commands in
 * flight few, so a halt that discards them loses little. When the MCU
 * stops steppers on an endstop, their slots are given back
 * (fs_stepper_sync_after_stop) and motion restarts right away, unless a
 * stepper that was not stopped still has motion to run.
 *
 * G-code can arrive much faster than the machine moves, so
 * fs_toolhead_move lets the world run while the committed motion reaches
 * further than FS_TOOLHEAD_MAX_LEAD_S ahead: memory stays bounded and a
 * pause or a fault acts within seconds.
 *
 * Errors from a commit that happens in the timer (a stepper refusing a
 * move) cannot be returned to anyone there; they are kept and returned by
 * the next fs_toolhead_move or flush.
 *
 * A halt (halt.h, halt.c) sets `halted`: nothing is committed or sent
 * from then on, every wait here ends, and moves answer "halted: ..."
 * until fs_toolhead_halt_finish has read the motors back. */
#include "motion/toolhead.h"

#include <limits.h> /* LLONG_MAX */
#include <math.h>   /* isnan, fabs, INFINITY, NAN */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memcpy, strcmp */

#include <cjson/cJSON.h> /* the fault capsule's state */

#include "core/error.h"        /* fs_error_set */
#include "core/log.h"          /* fs_log */
#include "core/reactor.h"      /* fs_reactor_*, struct fs_timer */
#include "fault/fault.h"       /* fs_faults_add_source, fs_fault_raise */
#include "gcode/gcode.h"       /* struct fs_gcode */
#include "mcu/mcu.h"           /* fs_mcu_estimated_print_time */
#include "motion/extruder.h"   /* fs_extruder_* */
#include "motion/halt.h"       /* fs_halt_*, fs_toolhead_motion_check_fn */
#include "motion/kinematics.h" /* struct fs_kinematics */
#include "motion/lookahead.h"  /* struct fs_lookahead */
#include "motion/rail.h"       /* struct fs_rail_config */
#include "motion/stepper.h"    /* fs_stepper_* */
#include "motion/stepsync.h"   /* fs_stepsync_set_fault_source */
#include "printer/printer.h"   /* struct fs_printer */

#define IDLE_START_DELAY_S 0.1 /* gather a few moves before starting from rest */
#define TIMER_MIN_STEP_S 0.01
#define STEPPER_ENABLE_LEAD_S 0.001
#define WAIT_MARGIN_S 10.0
#define STOP_RESTART_MARGIN_S 0.05
#define HALT_REASON_MAX 200

static const char *const rail_names[3] = {"stepper_x", "stepper_y", "stepper_z"};

struct fs_toolhead {
    struct fs_printer *printer;
    struct fs_reactor *reactor;
    struct fs_mcu *primary;
    struct fs_kinematics kin;
    struct fs_rail_config rails[3];
    struct fs_stepper *rail_steppers[3];
    struct fs_extruder *extruder;
    int enabled[4]; /* per rail, then the extruder */
    int e_pa_offset_left;
    unsigned homing_count[3];
    struct fs_trapezoid last_trap;
    /* Moves queued and committed since start; callbacks wait for a count. */
    long long queued_seq;
    struct {
        long long seq;
        fs_toolhead_time_fn fn;
        void *arg;
    } callbacks[FS_TOOLHEAD_CALLBACKS];
    int callback_count; /* the last extruder move ended ahead by pressure advance */
    struct fs_planner_limits limits;
    struct fs_lookahead la;
    double position[4]; /* commanded: the end of the last queued move */
    double print_time;
    double flushed_time; /* steps before this are sent */
    int moving;
    int stalls;
    long long moves;
    struct fs_timer timer;
    int timer_armed;
    int pending_error;
    struct fs_error pending;
    /* Halt (halt.c): the MCU side, whether motion is stopped, why, and
     * the gate for new motion. */
    struct fs_halt *halt;
    int halted;
    int planning; /* inside the look-ahead's commit loop */
    char halt_reason[HALT_REASON_MAX];
    fs_toolhead_motion_check_fn motion_check;
    void *motion_check_arg;
    struct {
        fs_toolhead_halt_fn fn;
        void *arg;
    } halt_listeners[FS_TOOLHEAD_HALT_LISTENERS];
    int halt_listener_count;
    /* "toolhead" in the fault module: range, homing, timing, cold
     * extrusion (NULL without a fault module). */
    struct fs_fault_source *fault_src;
};

/* ---- time ---- */

double fs_toolhead_estimated_print_time(const struct fs_toolhead *th)
{
    if (!th->primary || !fs_mcu_is_connected(th->primary))
        return 0.0;
    return fs_mcu_estimated_print_time(th->primary, fs_reactor_now(th->reactor));
}

static void ensure_lead(struct fs_toolhead *th)
{
    double min_start = fs_toolhead_estimated_print_time(th) + FS_TOOLHEAD_MIN_LEAD_S;
    if (th->print_time >= min_start)
        return;
    if (th->moving && th->la.count > 0)
        th->stalls++;
    th->print_time = min_start;
}

static struct fs_stepper *stepper_at(struct fs_toolhead *th, int i)
{
    if (i < 3)
        return th->rail_steppers[i];
    return th->extruder ? fs_extruder_stepper(th->extruder) : NULL;
}

struct fs_stepper *fs_toolhead_stepper_at(struct fs_toolhead *th, int i)
{
    return stepper_at(th, i);
}

/* Calls the callbacks waiting for moves up to `seq` (in order). */
static void run_callbacks(struct fs_toolhead *th, long long seq);

/* ---- halt (the MCU side and the sequence are in halt.c) ---- */

int fs_toolhead_is_halted(const struct fs_toolhead *th) { return th->halted; }

int fs_toolhead_halt_error(const struct fs_toolhead *th, struct fs_error *err)
{
    if (!th->halted)
        return 0;
    if (th->halt_reason[0])
        return fs_error_set(err, "halted: %s", th->halt_reason);
    struct fs_error why;
    if (th->motion_check && th->motion_check(th->motion_check_arg, &why) < 0)
        return fs_error_set(err, "halted: %s", why.msg);
    return fs_error_set(err, "halted: motion stopped by a fault");
}

void fs_toolhead_set_motion_check(struct fs_toolhead *th, fs_toolhead_motion_check_fn fn,
                                  void *arg)
{
    th->motion_check = fn;
    th->motion_check_arg = arg;
}

int fs_toolhead_check_motion(const struct fs_toolhead *th, struct fs_error *err)
{
    if (fs_toolhead_halt_error(th, err) < 0)
        return -1;
    if (th->motion_check && th->motion_check(th->motion_check_arg, err) < 0)
        return -1;
    return 0;
}

int fs_toolhead_on_halt(struct fs_toolhead *th, fs_toolhead_halt_fn fn, void *arg,
                        struct fs_error *err)
{
    if (th->halt_listener_count == FS_TOOLHEAD_HALT_LISTENERS)
        return fs_error_set(err, "toolhead: more than %d halt listeners",
                            FS_TOOLHEAD_HALT_LISTENERS);
    th->halt_listeners[th->halt_listener_count].fn = fn;
    th->halt_listeners[th->halt_listener_count].arg = arg;
    th->halt_listener_count++;
    return 0;
}

struct fs_halt *fs_toolhead_halt_obj(struct fs_toolhead *th) { return th->halt; }

/* From here on nothing is committed or sent: commit_move, the flushes and
 * the timer look at `halted` first, and the waits below end. The queued
 * moves are dropped here unless the halt comes from inside the
 * look-ahead's commit loop (a fault raised while steps are made): there
 * the next commit_move fails, which makes the look-ahead drop them. */
void fs_toolhead_enter_halt(struct fs_toolhead *th, const char *reason)
{
    if (!th->halted)
        snprintf(th->halt_reason, sizeof(th->halt_reason), "%s", reason ? reason : "");
    th->halted = 1;
    th->moving = 0;
    if (!th->planning)
        fs_lookahead_reset(&th->la);
    for (int i = 0; i < th->halt_listener_count; i++)
        th->halt_listeners[i].fn(th->halt_listeners[i].arg);
}

void fs_toolhead_leave_halt(struct fs_toolhead *th, const double pos[4])
{
    th->halted = 0;
    th->halt_reason[0] = '\0';
    th->pending_error = 0;
    fs_toolhead_note_stopped(th);
    /* Commands that waited for the dropped moves (M106 between two
     * extrusions) act now, at a time the MCUs can still meet. */
    ensure_lead(th);
    run_callbacks(th, LLONG_MAX);
    struct fs_error err;
    if (fs_toolhead_set_position(th, pos, 0, &err) < 0)
        fs_log(th->printer->log, FS_LOG_ERROR, "toolhead: after a halt: %s", err.msg);
}

static int enable_if_needed(struct fs_toolhead *th, int i, double print_time,
                            struct fs_error *err)
{
    /* The stepper's own flag drops when its MCU is configured again
     * (MCU_RECONNECT): the pin is back at its default, off. */
    if (th->enabled[i] && fs_stepper_is_enabled(stepper_at(th, i)))
        return 0;
    th->enabled[i] = 1;
    return fs_stepper_set_enable(stepper_at(th, i), print_time - STEPPER_ENABLE_LEAD_S, 1, err);
}


/* After a failed commit the planner dropped what was queued: nothing is
 * left to wait for. */
static void drop_queue(struct fs_toolhead *th)
{
    th->queued_seq = th->moves;
    run_callbacks(th, th->moves);
}

static void run_callbacks(struct fs_toolhead *th, long long seq)
{
    int kept = 0;
    for (int i = 0; i < th->callback_count; i++) {
        if (th->callbacks[i].seq <= seq)
            th->callbacks[i].fn(th->callbacks[i].arg, th->print_time);
        else
            th->callbacks[kept++] = th->callbacks[i];
    }
    th->callback_count = kept;
}

int fs_toolhead_at_queue_end(struct fs_toolhead *th, fs_toolhead_time_fn fn, void *arg,
                             struct fs_error *err)
{
    if (th->queued_seq == th->moves) {
        ensure_lead(th);
        fn(arg, th->print_time);
        return 0;
    }
    if (th->callback_count == FS_TOOLHEAD_CALLBACKS)
        return fs_error_set(err, "toolhead: more than %d commands wait for queued moves",
                            FS_TOOLHEAD_CALLBACKS);
    th->callbacks[th->callback_count].seq = th->queued_seq;
    th->callbacks[th->callback_count].fn = fn;
    th->callbacks[th->callback_count].arg = arg;
    th->callback_count++;
    return 0;
}

/* Hands one planned move to the steppers. */
static int commit_move(void *arg, const struct fs_move *m, struct fs_error *err)
{
    struct fs_toolhead *th = arg;
    if (fs_toolhead_halt_error(th, err) < 0)
        return -1;
    ensure_lead(th);
    struct fs_trapezoid trap = {
        .print_time = th->print_time,
        .accel_t = m->accel_t,
        .cruise_t = m->cruise_t,
        .decel_t = m->decel_t,
        .start_v = m->start_v,
        .cruise_v = m->cruise_v,
        .accel = m->accel,
    };
    if (m->is_kinematic) {
        double start[3], ratios[3];
        fs_kinematics_calc_steppers(&th->kin, m->start, start);
        fs_kinematics_calc_ratios(&th->kin, m->axes_r, ratios);
        for (int i = 0; i < 3; i++) {
            if (fabs(ratios[i]) < 1e-15)
                continue;
            if (enable_if_needed(th, i, trap.print_time, err) < 0 ||
                fs_stepper_add_move(th->rail_steppers[i], &trap, start[i], ratios[i], 0.0,
                                    err) < 0)
                return -1;
        }
    }
    if (th->extruder && (m->axes_r[FS_AXIS_E] != 0.0 || th->e_pa_offset_left)) {
        /* A printing move that ends at speed leaves the filament ahead by
         * pressure advance; a following move without extrusion (travel)
         * takes the extruder back to its nominal position. */
        double pa = fs_extruder_move_pressure_advance(th->extruder, m);
        if (enable_if_needed(th, 3, trap.print_time, err) < 0 ||
            fs_stepper_add_move(fs_extruder_stepper(th->extruder), &trap, m->start[FS_AXIS_E],
                                m->axes_r[FS_AXIS_E], pa, err) < 0)
            return -1;
        th->e_pa_offset_left = pa != 0.0 && m->end_v > 0.0;
    }
    th->last_trap = trap;
    th->print_time += fs_move_duration(m);
    th->moving = 1;
    th->moves++;
    run_callbacks(th, th->moves);
    return 0;
}

/* Sends the steps due before `until` (never beyond the committed motion). */
static int flush_steps_until(struct fs_toolhead *th, double until, struct fs_error *err)
{
    if (fs_toolhead_halt_error(th, err) < 0)
        return -1;
    if (until > th->print_time)
        until = th->print_time;
    if (until <= th->flushed_time)
        return 0;
    for (int i = 0; i < 4; i++) {
        struct fs_stepper *s = stepper_at(th, i);
        if (s && fs_stepper_flush(s, until, err) < 0)
            return -1;
    }
    th->flushed_time = until;
    return 0;
}

static int flush_due_steps(struct fs_toolhead *th, struct fs_error *err)
{
    return flush_steps_until(th, fs_toolhead_estimated_print_time(th) + FS_TOOLHEAD_STEP_FLUSH_S,
                             err);
}

static int commit_all(struct fs_toolhead *th, struct fs_error *err)
{
    if (fs_toolhead_halt_error(th, err) < 0)
        return -1;
    th->planning++;
    int rc = fs_lookahead_flush(&th->la, commit_move, th, err);
    th->planning--;
    if (rc < 0) {
        drop_queue(th);
        return -1;
    }
    return flush_due_steps(th, err);
}

static void keep_error(struct fs_toolhead *th)
{
    th->pending_error = 1;
    fs_log(th->printer->log, FS_LOG_ERROR, "toolhead: %s", th->pending.msg);
}

static double toolhead_timer(struct fs_timer *t, double eventtime)
{
    struct fs_toolhead *th = t->arg;
    if (th->halted) {
        th->timer_armed = 0;
        return FS_NEVER;
    }
    double est = fs_toolhead_estimated_print_time(th);
    if (th->la.count > 0 && th->print_time - est <= FS_TOOLHEAD_LOOKAHEAD_S) {
        th->planning++;
        int rc = fs_lookahead_flush(&th->la, commit_move, th, &th->pending);
        th->planning--;
        if (rc < 0) {
            drop_queue(th);
            keep_error(th);
        }
    }
    if (flush_due_steps(th, &th->pending) < 0)
        keep_error(th);
    double left = th->print_time - est;
    if (th->flushed_time < th->print_time)
        return eventtime + FS_TOOLHEAD_STEP_FLUSH_PERIOD_S;
    if (th->la.count > 0) {
        double wait = left - FS_TOOLHEAD_LOOKAHEAD_S;
        return eventtime + (wait > TIMER_MIN_STEP_S ? wait : TIMER_MIN_STEP_S);
    }
    if (left < 0.0) {
        th->moving = 0;
        th->timer_armed = 0;
        return FS_NEVER;
    }
    return eventtime + (left > TIMER_MIN_STEP_S ? left : TIMER_MIN_STEP_S);
}

static void arm_timer(struct fs_toolhead *th)
{
    if (th->timer_armed || th->halted)
        return;
    th->timer_armed = 1;
    double delay = th->moving ? 0.0 : IDLE_START_DELAY_S;
    fs_reactor_timer_set(th->reactor, &th->timer, fs_reactor_now(th->reactor) + delay);
}

static int take_pending_error(struct fs_toolhead *th, struct fs_error *err)
{
    if (!th->pending_error)
        return 0;
    th->pending_error = 0;
    return fs_error_set(err, "%s", th->pending.msg);
}

/* Lets the world run while motion is planned too far ahead. Not from a
 * timer: there the world cannot run. */
static int done_catching_up(void *arg)
{
    struct fs_toolhead *th = arg;
    return th->halted || th->print_time - fs_toolhead_estimated_print_time(th) <
           FS_TOOLHEAD_MAX_LEAD_S - FS_TOOLHEAD_LOOKAHEAD_S;
}

static void limit_lead(struct fs_toolhead *th)
{
    if (th->reactor->running_timers || done_catching_up(th) ||
        fs_toolhead_estimated_print_time(th) <= 0.0)
        return;
    double deadline = fs_reactor_now(th->reactor) + FS_TOOLHEAD_MAX_LEAD_S + WAIT_MARGIN_S +
                      (th->print_time - fs_toolhead_estimated_print_time(th));
    fs_reactor_wait_for(th->reactor, done_catching_up, th, deadline);
}

/* ---- moves ---- */

/* In addition to the refusal the G-code sender sees. */
static void raise_out_of_range(struct fs_toolhead *th, const double pos[4])
{
    int axis = fs_kinematics_out_of_range_axis(&th->kin, th->position, pos);
    if (axis < 0)
        return;
    fs_fault_raise(th->fault_src, FS_FAULT_MOVE_OUT_OF_RANGE,
                   "%c=%.3f outside [%.3f, %.3f]: move from %.3f %.3f %.3f to %.3f %.3f %.3f "
                   "refused", "XYZ"[axis], pos[axis], th->kin.position_min[axis],
                   th->kin.position_max[axis], th->position[0], th->position[1],
                   th->position[2], pos[0], pos[1], pos[2]);
}

static int queue_move(struct fs_toolhead *th, const double pos[4], double speed, int checked,
                      struct fs_error *err)
{
    if (fs_toolhead_check_motion(th, err) < 0 || take_pending_error(th, err) < 0)
        return -1;
    if (!(speed > 0.0))
        return fs_error_set(err, "Invalid speed %.3f mm/s: must be above 0", speed);
    struct fs_move m;
    if (fs_move_init(&m, th->position, pos, speed, &th->limits))
        return 0;
    if (checked) {
        if (m.is_kinematic && fs_kinematics_check_move(&th->kin, th->position, pos, err) < 0) {
            raise_out_of_range(th, pos);
            return -1;
        }
        if (m.axes_d[FS_AXIS_E] != 0.0) {
            if (!th->extruder)
                return fs_error_set(err, "Extrude when no extruder present: add an [extruder] "
                                         "section");
            if (fs_extruder_check_move(th->extruder, &m, err) < 0)
                return -1;
        }
    }
    long long committed = th->moves;
    th->planning++;
    int rc = fs_lookahead_add(&th->la, &m, commit_move, th, err);
    th->planning--;
    if (rc < 0) {
        drop_queue(th);
        return -1;
    }
    th->queued_seq++;
    memcpy(th->position, pos, sizeof(th->position));
    /* A full queue commits its older half: send what is due of it now. */
    if (th->moves != committed && flush_due_steps(th, err) < 0)
        return -1;
    arm_timer(th);
    limit_lead(th);
    if (fs_toolhead_halt_error(th, err) < 0)
        return -1;
    return take_pending_error(th, err);
}

int fs_toolhead_move(struct fs_toolhead *th, const double pos[4], double speed,
                     struct fs_error *err)
{
    return queue_move(th, pos, speed, 1, err);
}

int fs_toolhead_homing_move(struct fs_toolhead *th, const double pos[4], double speed,
                            struct fs_error *err)
{
    if (queue_move(th, pos, speed, 0, err) < 0)
        return -1;
    return fs_toolhead_flush(th, err);
}

int fs_toolhead_flush(struct fs_toolhead *th, struct fs_error *err)
{
    if (fs_toolhead_halt_error(th, err) < 0 || take_pending_error(th, err) < 0)
        return -1;
    if (commit_all(th, err) < 0)
        return -1;
    if (th->moving)
        arm_timer(th);
    return 0;
}

void fs_toolhead_get_position(const struct fs_toolhead *th, double pos[4])
{
    memcpy(pos, th->position, sizeof(th->position));
}

int fs_toolhead_set_position(struct fs_toolhead *th, const double pos[4], unsigned homed_axes,
                             struct fs_error *err)
{
    if (fs_toolhead_flush(th, err) < 0)
        return -1;
    memcpy(th->position, pos, sizeof(th->position));
    double steppers[3];
    fs_kinematics_calc_steppers(&th->kin, pos, steppers);
    for (int i = 0; i < 3; i++)
        fs_stepper_set_position(th->rail_steppers[i], steppers[i]);
    if (th->extruder)
        fs_stepper_set_position(fs_extruder_stepper(th->extruder), pos[FS_AXIS_E]);
    th->kin.homed_axes |= homed_axes & 0x7u;
    /* The new position starts from rest: no junction with the old path. */
    fs_lookahead_reset(&th->la);
    drop_queue(th);
    return 0;
}

unsigned fs_toolhead_homed_axes(const struct fs_toolhead *th) { return th->kin.homed_axes; }

unsigned fs_toolhead_homing_count(const struct fs_toolhead *th, int axis)
{
    return th->homing_count[axis];
}

void fs_toolhead_count_homing(struct fs_toolhead *th, int axis) { th->homing_count[axis]++; }

void fs_toolhead_clear_homed(struct fs_toolhead *th, unsigned axes)
{
    th->kin.homed_axes &= ~axes;
}

int fs_toolhead_next_start_time(struct fs_toolhead *th, double *print_time,
                                struct fs_error *err)
{
    if (fs_toolhead_flush(th, err) < 0)
        return -1;
    ensure_lead(th);
    *print_time = th->print_time;
    return 0;
}

void fs_toolhead_last_move(const struct fs_toolhead *th, struct fs_trapezoid *trap)
{
    *trap = th->last_trap;
}

void fs_toolhead_note_stopped(struct fs_toolhead *th)
{
    fs_lookahead_reset(&th->la);
    drop_queue(th);
    /* The stopped steppers gave back their move-queue slots and forgot
     * their planned motion, so new motion may start at once. A stepper
     * the MCU did not stop still runs what it was sent: nothing restarts
     * before that ends (the safety net should homing ever move a stepper
     * it does not watch). */
    double restart = fs_toolhead_estimated_print_time(th);
    for (int i = 0; i < 4; i++) {
        struct fs_stepper *s = stepper_at(th, i);
        double end = s ? fs_stepper_motion_end(s) : 0.0;
        if (end > 0.0 && end + STOP_RESTART_MARGIN_S > restart)
            restart = end + STOP_RESTART_MARGIN_S;
    }
    th->print_time = restart;
    th->flushed_time = th->print_time;
    th->moving = 0;
}

int fs_toolhead_dwell(struct fs_toolhead *th, double seconds, struct fs_error *err)
{
    if (!(seconds >= 0.0))
        return fs_error_set(err, "Invalid dwell %.3f s: must not be negative", seconds);
    if (fs_toolhead_flush(th, err) < 0)
        return -1;
    ensure_lead(th);
    th->print_time += seconds;
    th->moving = 1;
    arm_timer(th);
    limit_lead(th);
    return 0;
}

static int moves_done(void *arg)
{
    struct fs_toolhead *th = arg;
    return th->halted || fs_toolhead_estimated_print_time(th) >= th->print_time;
}

void fs_toolhead_wait_moves(struct fs_toolhead *th)
{
    /* The timer sends the steps as they come due while the world runs. */
    if (commit_all(th, &th->pending) < 0)
        th->pending_error = 1;
    if (th->moving)
        arm_timer(th);
    if (th->reactor->running_timers || !th->moving)
        return;
    double deadline = fs_reactor_now(th->reactor) + WAIT_MARGIN_S +
                      (th->print_time - fs_toolhead_estimated_print_time(th));
    if (fs_reactor_wait_for(th->reactor, moves_done, th, deadline) == 0 || th->halted)
        th->moving = 0;
}

double fs_toolhead_get_print_time(struct fs_toolhead *th)
{
    if (commit_all(th, &th->pending) < 0)
        th->pending_error = 1;
    return th->print_time;
}

void fs_toolhead_set_limits(struct fs_toolhead *th, double velocity, double accel,
                            double min_cruise_ratio, double square_corner_velocity)
{
    /* Queued moves were sized with the old limits: commit them first. */
    if (commit_all(th, &th->pending) < 0)
        th->pending_error = 1;
    struct fs_planner_limits *l = &th->limits;
    if (!isnan(velocity) && velocity > 0.0)
        l->max_velocity = velocity;
    if (!isnan(accel) && accel > 0.0)
        l->max_accel = accel;
    if (!isnan(min_cruise_ratio) && min_cruise_ratio >= 0.0 && min_cruise_ratio < 1.0)
        l->min_cruise_ratio = min_cruise_ratio;
    if (!isnan(square_corner_velocity) && square_corner_velocity >= 0.0)
        l->square_corner_velocity = square_corner_velocity;
    fs_lookahead_set_limits(&th->la, l);
}

void fs_toolhead_get_status(struct fs_toolhead *th, struct fs_toolhead_status *st)
{
    memcpy(st->position, th->position, sizeof(st->position));
    st->homed_axes = th->kin.homed_axes;
    fs_kinematics_homed_string(th->kin.homed_axes, st->homed);
    st->max_velocity = th->limits.max_velocity;
    st->max_accel = th->limits.max_accel;
    st->min_cruise_ratio = th->limits.min_cruise_ratio;
    st->square_corner_velocity = th->limits.square_corner_velocity;
    st->print_time = th->print_time;
    st->estimated_print_time = fs_toolhead_estimated_print_time(th);
    st->queued_moves = th->la.count;
    st->stalls = th->stalls;
    st->moves = th->moves;
    st->halted = th->halted;
}

int fs_toolhead_stepper_count(const struct fs_toolhead *th) { return th->extruder ? 4 : 3; }

const char *fs_toolhead_stepper_name(const struct fs_toolhead *th, int i)
{
    return i < 3 ? th->rails[i].name : "extruder";
}

int64_t fs_toolhead_stepper_steps(const struct fs_toolhead *th, int i)
{
    struct fs_stepper *s = stepper_at((struct fs_toolhead *)th, i);
    return s ? fs_stepper_step_count(s) : 0;
}

int fs_toolhead_motors_enable(struct fs_toolhead *th, int on, struct fs_error *err)
{
    double t;
    if (fs_toolhead_next_start_time(th, &t, err) < 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        struct fs_stepper *s = stepper_at(th, i);
        if (!s)
            continue;
        if (fs_stepper_set_enable(s, t, on, err) < 0)
            return -1;
        th->enabled[i] = on;
    }
    if (!on)
        th->kin.homed_axes = 0;
    return 0;
}

struct fs_stepper *fs_toolhead_rail_stepper(struct fs_toolhead *th, int rail)
{
    return th->rail_steppers[rail];
}

const struct fs_rail_config *fs_toolhead_rail(const struct fs_toolhead *th, int rail)
{
    return &th->rails[rail];
}

struct fs_kinematics *fs_toolhead_kinematics(struct fs_toolhead *th) { return &th->kin; }
struct fs_printer *fs_toolhead_printer(struct fs_toolhead *th) { return th->printer; }

/* ---- configuration ---- */

static int read_printer_section(struct fs_toolhead *th, struct fs_config_section *s,
                                int *kin_type, struct fs_error *err)
{
    struct fs_planner_limits *l = &th->limits;
    if (fs_config_get_choice(s, "kinematics", fs_kinematics_names, NULL, kin_type, err) < 0 ||
        fs_config_get_float_above(s, "max_velocity", NAN, 0.0, &l->max_velocity, err) < 0 ||
        fs_config_get_float_above(s, "max_accel", NAN, 0.0, &l->max_accel, err) < 0 ||
        fs_config_get_float(s, "minimum_cruise_ratio", 0.5, 0.0, 0.99, &l->min_cruise_ratio,
                            err) < 0 ||
        fs_config_get_float(s, "square_corner_velocity", 5.0, 0.0, INFINITY,
                            &l->square_corner_velocity, err) < 0 ||
        fs_config_get_float_above(s, "max_z_velocity", l->max_velocity, 0.0,
                                  &l->max_z_velocity, err) < 0 ||
        fs_config_get_float_above(s, "max_z_accel", l->max_accel, 0.0, &l->max_z_accel,
                                  err) < 0)
        return -1;
    return 0;
}

static int read_rails(struct fs_toolhead *th, struct fs_error *err)
{
    struct fs_config *cfg = th->printer->config;
    for (int i = 0; i < 3; i++) {
        struct fs_config_section *s = fs_config_get_section(cfg, rail_names[i]);
        if (!s)
            return fs_error_set(err, "the configuration has no [%s] section (every axis "
                                     "needs its rail)", rail_names[i]);
        if (fs_rail_config_read(s, th->limits.max_velocity, &th->rails[i], err) < 0)
            return -1;
        th->rail_steppers[i] = fs_rail_motor_stepper_new(th->printer, s, rail_names[i],
                                                         &th->rails[i].motor, err);
        if (!th->rail_steppers[i])
            return -1;
    }
    return 0;
}

static int read_extruder(struct fs_toolhead *th, struct fs_error *err)
{
    struct fs_config_section *s = fs_config_get_section(th->printer->config, "extruder");
    if (!s) {
        /* Extrude-only limits still need values for the planner. */
        th->limits.max_e_only_velocity = th->limits.max_velocity;
        th->limits.max_e_only_accel = th->limits.max_accel;
        th->limits.instant_corner_velocity = 1.0;
        return 0;
    }
    th->extruder = fs_extruder_new(th->printer, s, th->limits.max_velocity,
                                   th->limits.max_accel, err);
    if (!th->extruder)
        return -1;
    const struct fs_extruder_config *ec = fs_extruder_get_config(th->extruder);
    th->limits.max_e_only_velocity = ec->max_extrude_only_velocity;
    th->limits.max_e_only_accel = ec->max_extrude_only_accel;
    th->limits.instant_corner_velocity = ec->instantaneous_corner_velocity;
    return 0;
}

static void describe_for_fault(void *arg, cJSON *obj)
{
    struct fs_toolhead *th = arg;
    char homed[4];
    fs_kinematics_homed_string(th->kin.homed_axes, homed);
    cJSON_AddItemToObject(obj, "position", cJSON_CreateDoubleArray(th->position, 4));
    cJSON_AddStringToObject(obj, "homed_axes", homed);
    cJSON_AddBoolToObject(obj, "halted", th->halted);
    cJSON_AddNumberToObject(obj, "print_time", th->print_time);
    cJSON_AddNumberToObject(obj, "estimated_print_time", fs_toolhead_estimated_print_time(th));
}

static const struct fs_fault_source_ops toolhead_fault_ops = {
    .describe = describe_for_fault,
};

/* One source for the faults of motion as a whole, configured in
 * [printer]; the steppers' MCUs (timing) and the extruder (cold
 * extrusion) raise on it too. */
static int connect_faults(struct fs_toolhead *th, struct fs_config_section *printer_section,
                          struct fs_error *err)
{
    th->fault_src = fs_faults_add_source(th->printer->faults, "toolhead", FS_FAULT_CLASS_MOTION,
                                         0, printer_section, &toolhead_fault_ops, th, err);
    if (!th->fault_src)
        return -1;
    for (int i = 0; i < fs_toolhead_stepper_count(th); i++)
        fs_stepsync_set_fault_source(fs_stepper_stepsync(stepper_at(th, i)), th->fault_src);
    if (th->extruder)
        fs_extruder_set_fault_source(th->extruder, th->fault_src);
    return 0;
}

struct fs_fault_source *fs_toolhead_fault_source(const struct fs_toolhead *th)
{
    return th->fault_src;
}

struct fs_toolhead *fs_toolhead_new(struct fs_printer *printer, struct fs_error *err)
{
    struct fs_config_section *s = fs_config_get_section(printer->config, "printer");
    if (!s) {
        fs_error_set(err, "the configuration has no [printer] section (kinematics, "
                          "max_velocity, max_accel)");
        return NULL;
    }
    struct fs_toolhead *th = calloc(1, sizeof(*th));
    if (!th) {
        fs_error_set(err, "toolhead: out of memory");
        return NULL;
    }
    th->printer = printer;
    th->reactor = printer->reactor;
    th->primary = fs_printer_mcu(printer, "mcu");
    fs_timer_init(&th->timer, toolhead_timer, th);
    int kin_type;
    if (read_printer_section(th, s, &kin_type, err) < 0 || read_rails(th, err) < 0 ||
        read_extruder(th, err) < 0)
        goto fail;
    double pmin[3], pmax[3];
    for (int i = 0; i < 3; i++) {
        pmin[i] = th->rails[i].position_min;
        pmax[i] = th->rails[i].position_max;
    }
    fs_kinematics_init(&th->kin, (enum fs_kin_type)kin_type, pmin, pmax);
    fs_lookahead_init(&th->la, &th->limits);
    struct fs_stepper *steppers[FS_TOOLHEAD_STEPPERS_MAX];
    int count = fs_toolhead_stepper_count(th);
    for (int i = 0; i < count; i++)
        steppers[i] = stepper_at(th, i);
    if (!(th->halt = fs_halt_new(printer, steppers, count, err)))
        goto fail;
    if (printer->faults && connect_faults(th, s, err) < 0)
        goto fail;
    if (printer->gcode && th->extruder &&
        fs_extruder_register_gcode(th->extruder, printer->gcode, err) < 0)
        goto fail;
    return th;
fail:
    fs_toolhead_free(th);
    return NULL;
}

void fs_toolhead_free(struct fs_toolhead *th)
{
    if (!th)
        return;
    if (th->timer_armed)
        fs_reactor_timer_cancel(th->reactor, &th->timer);
    fs_halt_free(th->halt);
    fs_extruder_free(th->extruder);
    for (int i = 0; i < 3; i++)
        fs_stepper_free(th->rail_steppers[i]);
    free(th);
}
