/* Homing through the MCU's trigger synchronisation; see homing.h.
 *
 * Design. The host cannot stop a motor in time by itself: steps are queued
 * on the MCU well ahead. So the MCU is told, before the move starts, to
 * watch the endstop (endstop_home) and to stop the axis' steppers the
 * moment it triggers (a trsync object that stepper_stop_on_trigger ties the
 * steppers to). The host then plans an ordinary move far beyond the axis
 * (1.5 times its travel) and waits for the trsync to report that it fired.
 * A trsync whose timeout (set just after the move's end) expires first
 * means the switch never closed: "No trigger on x after full movement".
 * That timeout is renewed on each trsync report rather than set once: see
 * renew_timeout().
 *
 * Where the axis stopped is read back from the MCU: the step count before
 * and after the pass gives the distance actually travelled by each motor,
 * and the kinematics turn motor positions back into X Y Z (a corexy X pass
 * moves both A and B). On one MCU the stop position is taken as the switch
 * position: the MCU confirms the switch within a few samples, less than
 * one step at homing speeds, which is what the second, slower pass is for.
 *
 * A switch on another MCU than the motors (a toolboard) gets a trsync on
 * each MCU; the first to fire is relayed by the host to the others. The
 * motors then run on for the host's reaction time, so the position counts
 * from the moment the switch closed (read back from the endstop) along the
 * planned move, rather than from where the motors stopped. */
#include "motion/homing.h"

#include <math.h>   /* NAN, isnan, round, sqrt */
#include <stdarg.h> /* va_list */
#include <stdint.h> /* int64_t, uint32_t */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */

#include "core/error.h"        /* fs_error_set */
#include "core/reactor.h"      /* fs_reactor_wait_for */
#include "fault/fault.h"       /* fs_fault_raise */
#include "gcode/gcode.h"       /* fs_gcode_register */
#include "mcu/mcu.h"           /* fs_mcu_* */
#include "motion/halt.h"       /* fs_toolhead_on_halt, fs_toolhead_halt_error */
#include "motion/kinematics.h" /* fs_kinematics_* */
#include "motion/lookahead.h"  /* FS_AXIS_* */
#include "motion/rail.h"       /* struct fs_rail_config */
#include "motion/stepper.h"    /* fs_stepper_* */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* struct fs_printer */

/* trsync trigger reasons (chosen by the host, reported back). */
#define REASON_ENDSTOP_HIT 1
#define REASON_HOST_REQUEST 3
#define REASON_PAST_END_TIME 4

#define SAMPLE_TIME_S 0.000015
#define SAMPLE_COUNT 4
#define REST_TIME_MAX_S 0.0001
#define REPORT_TIME_S 0.1
#define TIMEOUT_AFTER_MOVE_S 0.1
#define TIMEOUT_WINDOW_S 1.0
#define QUERY_TIMEOUT_S 1.0
#define WAIT_MARGIN_S 2.0
#define TRAVEL_FACTOR 1.5

/* One trsync: on the endstop's MCU, or on an MCU that drives some of the
 * axis' steppers while the switch is elsewhere. */
struct trsync {
    struct endstop *es;
    struct fs_mcu *mcu;
    int oid; /* -1 until the MCU is configured */
    int triggered, reason;
    int armed; /* started and not yet fired: its timeout is renewed */
};

struct endstop {
    struct fs_homing *homing;
    int axis;
    struct fs_mcu *mcu;
    struct fs_pin_desc pin;
    int endstop_oid; /* -1 until the MCU is configured */
    double final_timeout;
    /* [0] on the endstop's MCU, then one per other MCU with steppers of
     * the axis. */
    int trsync_count;
    struct trsync trsyncs[FS_PRINTER_MAX_MCUS];
};

struct fs_homing {
    struct fs_toolhead *th;
    struct fs_printer *printer;
    struct endstop endstops[3];
    struct endstop *active; /* the pass under way, or NULL */
};

static uint32_t clock32(struct fs_mcu *m, double print_time)
{
    return (uint32_t)fs_mcu_print_time_to_clock(m, print_time);
}

static int send(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The timeout always lies at most TIMEOUT_WINDOW_S after the latest
 * report: far-away timeouts would not fit the MCU's 32-bit timer (a long
 * Z homing lasts longer than half its wrap), and a host that stops talking
 * gets the axis stopped within that window. */
static void renew_timeout(struct trsync *ts, const struct fs_msg *msg)
{
    uint64_t clock = fs_mcu_clock32_to_64(ts->mcu, (uint32_t)fs_msg_get(msg, "clock", 0));
    double timeout = fs_mcu_clock_to_print_time(ts->mcu, clock) + TIMEOUT_WINDOW_S;
    if (timeout > ts->es->final_timeout)
        timeout = ts->es->final_timeout;
    struct fs_error err;
    if (send(ts->mcu, &err, "trsync_set_timeout oid=%d clock=%u", ts->oid,
             clock32(ts->mcu, timeout)) < 0)
        ts->armed = 0; /* the timeout then ends the pass: reported as such */
}

/* The first trsync to fire stops the others: an endstop hit on a toolboard
 * reaches the main board's steppers through the host. The relay costs the
 * host's reaction time; the position is corrected from the trigger time,
 * not from where the motors stopped. */
static void on_trsync_state(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct trsync *ts = arg;
    if (fs_msg_get(msg, "can_trigger", 1)) {
        if (ts->armed)
            renew_timeout(ts, msg);
        return;
    }
    ts->armed = 0;
    if (ts->triggered)
        return;
    ts->triggered = 1;
    ts->reason = (int)fs_msg_get(msg, "trigger_reason", 0);
    struct endstop *es = ts->es;
    int relay = ts->reason == REASON_ENDSTOP_HIT ? REASON_ENDSTOP_HIT : REASON_HOST_REQUEST;
    for (int i = 0; i < es->trsync_count; i++) {
        struct trsync *other = &es->trsyncs[i];
        struct fs_error err;
        if (other != ts && other->armed) {
            other->armed = 0;
            send(other->mcu, &err, "trsync_trigger oid=%d reason=%d", other->oid, relay);
        }
    }
}

/* A halt during a pass: the steppers hang on this pass' trsyncs, and a
 * stepper can listen to one only; firing them stops the motors at once
 * and frees them for the halt's own trsyncs (the MCU handles the commands
 * in order). The pass then ends with the halt's error. */
static void on_halt_release(struct endstop *es)
{
    for (int i = 0; i < es->trsync_count; i++) {
        struct trsync *ts = &es->trsyncs[i];
        struct fs_error err;
        if (ts->triggered)
            continue;
        ts->armed = 0;
        send(ts->mcu, &err, "trsync_trigger oid=%d reason=%d", ts->oid, REASON_HOST_REQUEST);
    }
}

static void on_halt(void *arg)
{
    struct fs_homing *h = arg;
    if (h->active)
        on_halt_release(h->active);
}

static int build_trsync(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct trsync *ts = arg;
    ts->oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_trsync oid=%d", ts->oid) < 0)
        return -1;
    return fs_mcu_register_response(
        m, "trsync_state oid=%c can_trigger=%c trigger_reason=%c clock=%u", ts->oid,
        on_trsync_state, ts, err);
}

static int build_endstop(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct endstop *es = arg;
    es->endstop_oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_endstop oid=%d pin=%s pull_up=%d",
                              es->endstop_oid, es->pin.pin, es->pin.pull_up == 1) < 0)
        return -1;
    return build_trsync(&es->trsyncs[0], m, err);
}

static int send(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return fs_mcu_send_text(m, text, err);
}

/* The MCU's step count in the stepper's own direction (the host flips the
 * dir signal of an inverted dir pin, so the MCU counts the other way). */
static int read_mcu_steps(struct fs_stepper *s, int dir_inverted, int64_t *out,
                          struct fs_error *err)
{
    char text[64];
    struct fs_mcu_reply reply;
    int oid = fs_stepper_oid(s);
    snprintf(text, sizeof(text), "stepper_get_position oid=%d", oid);
    if (fs_mcu_query(fs_stepper_mcu(s), text, "stepper_position oid=%c pos=%i", oid, &reply,
                     QUERY_TIMEOUT_S, err) < 0)
        return -1;
    int64_t pos = (int32_t)fs_msg_get(&reply.msg, "pos", 0);
    *out = dir_inverted ? -pos : pos;
    return 0;
}

static int endstop_is_pressed(struct endstop *es, int *pressed, struct fs_error *err)
{
    char text[64];
    struct fs_mcu_reply reply;
    snprintf(text, sizeof(text), "endstop_query_state oid=%d", es->endstop_oid);
    if (fs_mcu_query(es->mcu, text, "endstop_state oid=%c homing=%c next_clock=%u pin_value=%c",
                     es->endstop_oid, &reply, QUERY_TIMEOUT_S, err) < 0)
        return -1;
    int level = (int)fs_msg_get(&reply.msg, "pin_value", 0);
    *pressed = level != es->pin.invert;
    return 0;
}

static int all_fired(void *arg)
{
    const struct endstop *es = arg;
    for (int i = 0; i < es->trsync_count; i++)
        if (!es->trsyncs[i].triggered)
            return 0;
    return 1;
}

static struct trsync *trsync_of(struct endstop *es, const struct fs_mcu *m)
{
    for (int i = 0; i < es->trsync_count; i++)
        if (es->trsyncs[i].mcu == m)
            return &es->trsyncs[i];
    return NULL;
}

/* When the switch first read pressed: after that sample the endstop keeps
 * its next slow-sampling slot, one rest period later, as next_clock. */
static int read_trigger_time(struct endstop *es, uint32_t rest_ticks, double *print_time,
                             struct fs_error *err)
{
    char text[64];
    struct fs_mcu_reply reply;
    snprintf(text, sizeof(text), "endstop_query_state oid=%d", es->endstop_oid);
    if (fs_mcu_query(es->mcu, text, "endstop_state oid=%c homing=%c next_clock=%u pin_value=%c",
                     es->endstop_oid, &reply, QUERY_TIMEOUT_S, err) < 0)
        return -1;
    uint64_t next = fs_mcu_clock32_to_64(es->mcu, (uint32_t)fs_msg_get(&reply.msg, "next_clock", 0));
    *print_time = fs_mcu_clock_to_print_time(es->mcu, next - rest_ticks);
    return 0;
}

/* Arms every trsync, runs the move and waits until all of them fired.
 * *trigger_t receives when the switch closed (print time), or NAN. */
static int watched_move(struct fs_homing *h, struct endstop *es, unsigned mask,
                            const double target[4], double speed, double *trigger_t,
                            struct fs_error *err)
{
    struct fs_toolhead *th = h->th;
    struct fs_mcu *m = es->mcu;
    double t0;
    *trigger_t = NAN;
    if (fs_toolhead_next_start_time(th, &t0, err) < 0)
        return -1;
    for (int i = 0; i < es->trsync_count; i++) {
        struct trsync *ts = &es->trsyncs[i];
        ts->triggered = ts->reason = ts->armed = 0;
        if (send(ts->mcu, err, "trsync_start oid=%d report_clock=%u report_ticks=%u "
                 "expire_reason=%d", ts->oid, clock32(ts->mcu, t0),
                 fs_mcu_seconds_to_ticks(ts->mcu, REPORT_TIME_S), REASON_PAST_END_TIME) < 0)
            return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (!(mask & (1u << i)))
            continue;
        struct fs_stepper *s = fs_toolhead_rail_stepper(th, i);
        if (send(fs_stepper_mcu(s), err, "stepper_stop_on_trigger oid=%d trsync_oid=%d",
                 fs_stepper_oid(s), trsync_of(es, fs_stepper_mcu(s))->oid) < 0)
            return -1;
    }
    /* Sample the switch at least twice per step. */
    double rest_s = fs_toolhead_rail(th, es->axis)->motor.step_dist / speed / 2.0;
    if (rest_s > REST_TIME_MAX_S)
        rest_s = REST_TIME_MAX_S;
    uint32_t rest_ticks = fs_mcu_seconds_to_ticks(m, rest_s);
    if (send(m, err, "endstop_home oid=%d clock=%u sample_ticks=%u sample_count=%d "
             "rest_ticks=%u pin_value=%d trsync_oid=%d trigger_reason=%d", es->endstop_oid,
             clock32(m, t0), fs_mcu_seconds_to_ticks(m, SAMPLE_TIME_S), SAMPLE_COUNT,
             rest_ticks, !es->pin.invert, es->trsyncs[0].oid, REASON_ENDSTOP_HIT) < 0)
        return -1;
    if (fs_toolhead_homing_move(th, target, speed, err) < 0)
        return -1;
    double t_end = fs_toolhead_get_print_time(th);
    es->final_timeout = t_end + TIMEOUT_AFTER_MOVE_S;
    double first = t0 + TIMEOUT_WINDOW_S < es->final_timeout ? t0 + TIMEOUT_WINDOW_S
                                                               : es->final_timeout;
    for (int i = 0; i < es->trsync_count; i++) {
        struct trsync *ts = &es->trsyncs[i];
        if (send(ts->mcu, err, "trsync_set_timeout oid=%d clock=%u", ts->oid,
                 clock32(ts->mcu, first)) < 0)
            return -1;
        ts->armed = !ts->triggered;
    }
    struct fs_reactor *r = h->printer->reactor;
    double left = t_end - fs_toolhead_estimated_print_time(th);
    double now = fs_reactor_now(r);
    if (fs_reactor_wait_for(r, all_fired, es, now + left + TIMEOUT_AFTER_MOVE_S + WAIT_MARGIN_S) <
        0) {
        /* Reports stopped coming: stop everything from here and say so. */
        for (int i = 0; i < es->trsync_count; i++) {
            struct trsync *ts = &es->trsyncs[i];
            ts->armed = 0;
            if (!ts->triggered)
                send(ts->mcu, err, "trsync_trigger oid=%d reason=%d", ts->oid,
                     REASON_HOST_REQUEST);
        }
        if (fs_reactor_wait_for(r, all_fired, es, fs_reactor_now(r) + WAIT_MARGIN_S) < 0) {
            fs_fault_raise(fs_toolhead_fault_source(th), FS_FAULT_HOMING_FAILED,
                           "homing %c: no trsync report from mcu '%s' within %.1f s of the "
                           "move's end", "xyz"[es->axis], fs_mcu_name(m),
                           TIMEOUT_AFTER_MOVE_S + 2 * WAIT_MARGIN_S);
            return fs_error_set(err, "Homing %c: no trsync report from mcu '%s'",
                                "xyz"[es->axis], fs_mcu_name(m));
        }
    }
    if (es->trsyncs[0].reason == REASON_ENDSTOP_HIT &&
        read_trigger_time(es, rest_ticks, trigger_t, err) < 0)
        return -1;
    return send(m, err, "endstop_home oid=%d clock=0 sample_ticks=0 sample_count=0 "
                "rest_ticks=0 pin_value=0 trsync_oid=0 trigger_reason=0", es->endstop_oid);
}

/* A pass that ends early (a halt, a refused move) must not leave steppers
 * hung on its trsyncs or the endstop sampling: the next
 * stepper_stop_on_trigger would shut the MCU down. */
static int run_watched_move(struct fs_homing *h, struct endstop *es, unsigned mask,
                            const double target[4], double speed, double *trigger_t,
                            struct fs_error *err)
{
    h->active = es;
    int rc = watched_move(h, es, mask, target, speed, trigger_t, err);
    h->active = NULL;
    if (rc == 0)
        return 0;
    struct fs_error ignored;
    on_halt_release(es);
    send(es->mcu, &ignored, "endstop_home oid=%d clock=0 sample_ticks=0 sample_count=0 "
         "rest_ticks=0 pin_value=0 trsync_oid=0 trigger_reason=0", es->endstop_oid);
    /* A halt says so rather than whatever the pass ran into. */
    fs_toolhead_halt_error(h->th, err);
    return -1;
}

/* Where the commanded move was at print time t: the motors follow it, so
 * this is where the axis was when the switch closed. */
static void position_at(struct fs_toolhead *th, const double from[4], const double to[4],
                        double t, double out[3])
{
    struct fs_trapezoid trap;
    fs_toolhead_last_move(th, &trap);
    double dt = t - trap.print_time, total = fs_trapezoid_duration(&trap);
    dt = dt < 0.0 ? 0.0 : dt > total ? total : dt;
    double d = fs_trapezoid_distance(&trap, dt);
    double len = sqrt((to[0] - from[0]) * (to[0] - from[0]) + (to[1] - from[1]) * (to[1] - from[1]) +
                      (to[2] - from[2]) * (to[2] - from[2]));
    for (int i = 0; i < 3; i++)
        out[i] = from[i] + (len > 0.0 ? (to[i] - from[i]) / len * d : 0.0);
}

/* One pass towards the switch; afterwards the toolhead knows where the
 * motors stopped, the axis counted from the switch at position_endstop. */
static int home_pass(struct fs_homing *h, struct endstop *es, const double target[4],
                     double speed, struct fs_error *err)
{
    struct fs_toolhead *th = h->th;
    struct fs_kinematics *kin = fs_toolhead_kinematics(th);
    unsigned mask = fs_kinematics_axis_steppers(kin, es->axis);
    double pos[4], coords[3], trigger_t;
    int64_t before[3] = {0, 0, 0}, after[3] = {0, 0, 0};
    fs_toolhead_wait_moves(th);
    fs_toolhead_get_position(th, pos);
    fs_kinematics_calc_steppers(kin, pos, coords);
    for (int i = 0; i < 3; i++)
        if ((mask & (1u << i)) &&
            read_mcu_steps(fs_toolhead_rail_stepper(th, i),
                           fs_toolhead_rail(th, i)->motor.dir_pin.invert, &before[i], err) < 0)
            return -1;
    int rc = run_watched_move(h, es, mask, target, speed, &trigger_t, err);
    for (int i = 0; i < 3; i++) {
        int64_t ignored;
        struct fs_error sync_err;
        if ((mask & (1u << i)) &&
            fs_stepper_sync_after_stop(fs_toolhead_rail_stepper(th, i), &ignored,
                                       rc < 0 ? &sync_err : err) < 0 && rc == 0)
            rc = -1;
    }
    fs_toolhead_note_stopped(th);
    if (rc < 0)
        return -1;
    if (fs_toolhead_halt_error(th, err) < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (!(mask & (1u << i)))
            continue;
        const struct fs_rail_config *rail = fs_toolhead_rail(th, i);
        if (read_mcu_steps(fs_toolhead_rail_stepper(th, i), rail->motor.dir_pin.invert,
                           &after[i], err) < 0)
            return -1;
        coords[i] += (double)(after[i] - before[i]) * rail->motor.step_dist;
    }
    double stopped[4], at_trigger[3];
    fs_kinematics_calc_position(kin, coords, stopped);
    stopped[FS_AXIS_E] = pos[FS_AXIS_E];
    /* With the switch on another MCU the motors run on while the host
     * relays the trigger (milliseconds): count from where the switch
     * closed, not from where they stopped. On one MCU they stop within the
     * confirmation samples, less than a step, and the axis is declared at
     * position_endstop exactly. */
    double overrun = 0.0;
    if (!isnan(trigger_t) && es->trsync_count > 1) {
        position_at(th, pos, target, trigger_t, at_trigger);
        /* The commanded path leads the motor by up to half a step (a step
         * is taken when the path crosses the middle): whole steps only. */
        double step = fs_toolhead_rail(th, es->axis)->motor.step_dist;
        overrun = step * round((stopped[es->axis] - at_trigger[es->axis]) / step);
    }
    stopped[es->axis] = fs_toolhead_rail(th, es->axis)->position_endstop + overrun;
    if (fs_toolhead_set_position(th, stopped, 0, err) < 0)
        return -1;
    if (es->trsyncs[0].reason != REASON_ENDSTOP_HIT) {
        double travel = 0.0;
        for (int i = 0; i < 3; i++)
            travel += (target[i] - pos[i]) * (target[i] - pos[i]);
        fs_fault_raise(fs_toolhead_fault_source(th), FS_FAULT_HOMING_FAILED,
                       "homing %c: endstop %s%s on mcu '%s' did not trigger within %.1f mm "
                       "at %.1f mm/s", "xyz"[es->axis], es->pin.invert ? "!" : "", es->pin.pin,
                       fs_mcu_name(es->mcu), sqrt(travel), speed);
        return fs_error_set(err, "No trigger on %c after full movement", "xyz"[es->axis]);
    }
    return 0;
}

static int check_configured(const struct endstop *es, struct fs_error *err)
{
    for (int i = 0; i < es->trsync_count; i++)
        if (es->endstop_oid < 0 || es->trsyncs[i].oid < 0)
            return fs_error_set(err, "Homing %c: mcu '%s' is not configured yet",
                                "xyz"[es->axis], fs_mcu_name(es->trsyncs[i].mcu));
    return 0;
}

static int home_axis(struct fs_homing *h, int axis, struct fs_error *err)
{
    struct fs_toolhead *th = h->th;
    struct endstop *es = &h->endstops[axis];
    const struct fs_rail_config *rail = fs_toolhead_rail(th, axis);
    if (check_configured(es, err) < 0)
        return -1;
    fs_toolhead_clear_homed(th, 1u << axis);
    double dir = rail->homing_positive_dir ? 1.0 : -1.0;
    double travel = TRAVEL_FACTOR * (rail->position_max - rail->position_min);
    double endstop = rail->position_endstop;
    double pos[4], target[4];
    fs_toolhead_get_position(th, pos);
    /* Wherever the axis is, a move from "travel before the switch" to the
     * switch crosses it. */
    pos[axis] = endstop - dir * travel;
    if (fs_toolhead_set_position(th, pos, 0, err) < 0)
        return -1;
    for (int i = 0; i < 4; i++)
        target[i] = pos[i];
    target[axis] = endstop;
    if (home_pass(h, es, target, rail->homing_speed, err) < 0)
        return -1;
    if (rail->homing_retract_dist > 0.0) {
        fs_toolhead_get_position(th, pos);
        pos[axis] = endstop - dir * rail->homing_retract_dist;
        if (fs_toolhead_homing_move(th, pos, rail->homing_speed, err) < 0)
            return -1;
        fs_toolhead_wait_moves(th);
        int pressed;
        if (endstop_is_pressed(es, &pressed, err) < 0)
            return -1;
        if (pressed) {
            fs_fault_raise(fs_toolhead_fault_source(th), FS_FAULT_HOMING_FAILED,
                           "homing %c: endstop %s%s on mcu '%s' still pressed after a %.1f mm "
                           "retract", "xyz"[axis], es->pin.invert ? "!" : "", es->pin.pin,
                           fs_mcu_name(es->mcu), rail->homing_retract_dist);
            return fs_error_set(err, "Endstop %c still triggered after retract", "xyz"[axis]);
        }
        for (int i = 0; i < 4; i++)
            target[i] = pos[i];
        target[axis] = endstop + dir * rail->homing_retract_dist;
        if (home_pass(h, es, target, rail->second_homing_speed, err) < 0)
            return -1;
    }
    fs_toolhead_get_position(th, pos);
    if (fs_toolhead_set_position(th, pos, 1u << axis, err) < 0)
        return -1;
    fs_toolhead_count_homing(th, axis);
    return 0;
}

int fs_homing_home_axes(struct fs_homing *h, unsigned axes, struct fs_error *err)
{
    /* Refused homing must not cost the axes their homing. */
    if (fs_toolhead_check_motion(h->th, err) < 0)
        return -1;
    for (int axis = 0; axis < 3; axis++)
        if ((axes & (1u << axis)) && home_axis(h, axis, err) < 0)
            return -1;
    return 0;
}

static int cmd_g28(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    (void)g;
    unsigned axes = 0;
    for (int i = 0; i < 3; i++)
        if (fs_gcode_has(cmd, (const char[]){"XYZ"[i], '\0'}))
            axes |= 1u << i;
    return fs_homing_home_axes(arg, axes ? axes : 0x7u, err);
}

/* The endstop and a trsync on every MCU that drives a motor of the axis,
 * each made when its MCU is configured. */
static int setup_endstop(struct fs_homing *h, int axis, struct fs_error *err)
{
    struct endstop *es = &h->endstops[axis];
    const struct fs_rail_config *rail = fs_toolhead_rail(h->th, axis);
    es->homing = h;
    es->axis = axis;
    es->pin = rail->endstop_pin;
    es->endstop_oid = -1;
    es->mcu = fs_printer_mcu(h->printer, es->pin.mcu);
    if (!es->mcu)
        return fs_error_set(err, "[%s] endstop_pin: no [mcu %s] section", rail->name,
                            es->pin.mcu);
    es->trsyncs[0] = (struct trsync){.es = es, .mcu = es->mcu, .oid = -1};
    es->trsync_count = 1;
    char where[FS_PRINTER_WHERE_MAX] = "";
    const struct fs_config_section *s = fs_config_get_section(h->printer->config, rail->name);
    if (s)
        fs_printer_section_context(s, where, sizeof(where));
    if (fs_mcu_on_build_config_at(es->mcu, s ? where : NULL, build_endstop, es, err) < 0)
        return -1;
    unsigned mask = fs_kinematics_axis_steppers(fs_toolhead_kinematics(h->th), axis);
    for (int i = 0; i < 3; i++) {
        struct fs_mcu *m = fs_stepper_mcu(fs_toolhead_rail_stepper(h->th, i));
        if (!(mask & (1u << i)) || trsync_of(es, m))
            continue;
        struct trsync *ts = &es->trsyncs[es->trsync_count++];
        *ts = (struct trsync){.es = es, .mcu = m, .oid = -1};
        if (fs_mcu_on_build_config_at(m, s ? where : NULL, build_trsync, ts, err) < 0)
            return -1;
    }
    return 0;
}

struct fs_homing *fs_homing_new(struct fs_toolhead *th, struct fs_error *err)
{
    struct fs_homing *h = calloc(1, sizeof(*h));
    if (!h) {
        fs_error_set(err, "homing: out of memory");
        return NULL;
    }
    h->th = th;
    h->printer = fs_toolhead_printer(th);
    for (int axis = 0; axis < 3; axis++)
        if (setup_endstop(h, axis, err) < 0)
            goto fail;
    if (fs_toolhead_on_halt(th, on_halt, h, err) < 0)
        goto fail;
    if (fs_gcode_register(h->printer->gcode, "G28", cmd_g28, h,
                          "Home axes: G28 [X] [Y] [Z] (none: all)", err) < 0)
        goto fail;
    return h;
fail:
    free(h);
    return NULL;
}

void fs_homing_free(struct fs_homing *h) { free(h); }
