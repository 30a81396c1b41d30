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
 * moves both A and B). The stop position is taken as the switch position:
 * the MCU confirms the switch within a few samples, less than one step at
 * homing speeds, which is what the second, slower pass is for.
 *
 * Endstops on another MCU than the axis' steppers need trsyncs on both MCUs
 * coordinated by the host; that is not implemented yet and is refused with
 * a clear message at G28. */
#include "motion/homing.h"

#include <stdarg.h> /* va_list */
#include <stdint.h> /* int64_t, uint32_t */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */

#include "core/error.h"        /* fs_error_set */
#include "core/reactor.h"      /* fs_reactor_wait_for */
#include "gcode/gcode.h"       /* fs_gcode_register */
#include "mcu/mcu.h"           /* fs_mcu_* */
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

struct endstop {
    struct fs_homing *homing;
    int axis;
    struct fs_mcu *mcu;
    struct fs_pin_desc pin;
    int endstop_oid, trsync_oid; /* -1 until the MCU is configured */
    int triggered, trigger_reason;
    /* While a pass runs: the timeout is renewed on every report, up to
     * the end of the move. */
    int renewing;
    double final_timeout;
};

struct fs_homing {
    struct fs_toolhead *th;
    struct fs_printer *printer;
    struct endstop endstops[3];
};

static uint32_t clock32(struct fs_mcu *m, double print_time)
{
    return (uint32_t)fs_mcu_print_time_to_clock(m, print_time);
}

/* The timeout always lies at most TIMEOUT_WINDOW_S after the latest
 * report: far-away timeouts would not fit the MCU's 32-bit timer (a long
 * Z homing lasts longer than half its wrap), and a host that stops talking
 * gets the axis stopped within that window. */
static void renew_timeout(struct endstop *es, const struct fs_msg *msg)
{
    uint64_t clock = fs_mcu_clock32_to_64(es->mcu, (uint32_t)fs_msg_get(msg, "clock", 0));
    double report = fs_mcu_clock_to_print_time(es->mcu, clock);
    double timeout = report + TIMEOUT_WINDOW_S;
    if (timeout > es->final_timeout)
        timeout = es->final_timeout;
    char text[96];
    struct fs_error err;
    snprintf(text, sizeof(text), "trsync_set_timeout oid=%d clock=%u", es->trsync_oid,
             clock32(es->mcu, timeout));
    if (fs_mcu_send_text(es->mcu, text, &err) < 0)
        es->renewing = 0; /* the timeout then ends the pass: reported as such */
}

static void on_trsync_state(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct endstop *es = arg;
    if (fs_msg_get(msg, "can_trigger", 1)) {
        if (es->renewing)
            renew_timeout(es, msg);
        return;
    }
    es->renewing = 0;
    if (!es->triggered) {
        es->triggered = 1;
        es->trigger_reason = (int)fs_msg_get(msg, "trigger_reason", 0);
    }
}

static int build_endstop(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct endstop *es = arg;
    es->endstop_oid = fs_mcu_create_oid(m);
    es->trsync_oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_endstop oid=%d pin=%s pull_up=%d",
                              es->endstop_oid, es->pin.pin, es->pin.pull_up == 1) < 0 ||
        fs_mcu_add_config_cmd(m, err, "config_trsync oid=%d", es->trsync_oid) < 0)
        return -1;
    return fs_mcu_register_response(
        m, "trsync_state oid=%c can_trigger=%c trigger_reason=%c clock=%u", es->trsync_oid,
        on_trsync_state, es, err);
}

static int send(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
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

static int is_triggered(void *arg) { return ((struct endstop *)arg)->triggered; }

/* Arms the MCU, runs the move and waits for the trsync to fire. */
static int run_watched_move(struct fs_homing *h, struct endstop *es, unsigned mask,
                            const double target[4], double speed, struct fs_error *err)
{
    struct fs_toolhead *th = h->th;
    struct fs_mcu *m = es->mcu;
    double t0;
    if (fs_toolhead_next_start_time(th, &t0, err) < 0)
        return -1;
    es->triggered = 0;
    es->trigger_reason = 0;
    uint32_t start = clock32(m, t0);
    /* Sample the switch at least twice per step. */
    double rest_s = fs_toolhead_rail(th, es->axis)->motor.step_dist / speed / 2.0;
    if (rest_s > REST_TIME_MAX_S)
        rest_s = REST_TIME_MAX_S;
    if (send(m, err, "trsync_start oid=%d report_clock=%u report_ticks=%u expire_reason=%d",
             es->trsync_oid, start, fs_mcu_seconds_to_ticks(m, REPORT_TIME_S),
             REASON_PAST_END_TIME) < 0)
        return -1;
    for (int i = 0; i < 3; i++)
        if ((mask & (1u << i)) &&
            send(m, err, "stepper_stop_on_trigger oid=%d trsync_oid=%d",
                 fs_stepper_oid(fs_toolhead_rail_stepper(th, i)), es->trsync_oid) < 0)
            return -1;
    if (send(m, err, "endstop_home oid=%d clock=%u sample_ticks=%u sample_count=%d "
             "rest_ticks=%u pin_value=%d trsync_oid=%d trigger_reason=%d", es->endstop_oid,
             start, fs_mcu_seconds_to_ticks(m, SAMPLE_TIME_S), SAMPLE_COUNT,
             fs_mcu_seconds_to_ticks(m, rest_s), !es->pin.invert, es->trsync_oid,
             REASON_ENDSTOP_HIT) < 0)
        return -1;
    if (fs_toolhead_homing_move(th, target, speed, err) < 0)
        return -1;
    double t_end = fs_toolhead_get_print_time(th);
    es->final_timeout = t_end + TIMEOUT_AFTER_MOVE_S;
    double first = t0 + TIMEOUT_WINDOW_S;
    if (send(m, err, "trsync_set_timeout oid=%d clock=%u", es->trsync_oid,
             clock32(m, first < es->final_timeout ? first : es->final_timeout)) < 0)
        return -1;
    es->renewing = !es->triggered;
    double left = t_end - fs_toolhead_estimated_print_time(th);
    double now = fs_reactor_now(h->printer->reactor);
    if (fs_reactor_wait_for(h->printer->reactor, is_triggered, es,
                            now + left + TIMEOUT_AFTER_MOVE_S + WAIT_MARGIN_S) < 0) {
        /* No report at all: stop it from here and say so. */
        send(m, err, "trsync_trigger oid=%d reason=%d", es->trsync_oid, REASON_HOST_REQUEST);
        now = fs_reactor_now(h->printer->reactor);
        if (fs_reactor_wait_for(h->printer->reactor, is_triggered, es, now + WAIT_MARGIN_S) < 0) {
            es->renewing = 0;
            return fs_error_set(err, "Homing %c: no trsync report from mcu '%s'",
                                "xyz"[es->axis], fs_mcu_name(m));
        }
    }
    return send(m, err, "endstop_home oid=%d clock=0 sample_ticks=0 sample_count=0 "
                "rest_ticks=0 pin_value=0 trsync_oid=0 trigger_reason=0", es->endstop_oid);
}

/* One pass towards the switch; afterwards the toolhead knows where the
 * motors stopped, with the axis declared at its position_endstop. */
static int home_pass(struct fs_homing *h, struct endstop *es, const double target[4],
                     double speed, struct fs_error *err)
{
    struct fs_toolhead *th = h->th;
    struct fs_kinematics *kin = fs_toolhead_kinematics(th);
    unsigned mask = fs_kinematics_axis_steppers(kin, es->axis);
    double pos[4], coords[3];
    int64_t before[3] = {0, 0, 0}, after[3] = {0, 0, 0};
    fs_toolhead_wait_moves(th);
    fs_toolhead_get_position(th, pos);
    fs_kinematics_calc_steppers(kin, pos, coords);
    for (int i = 0; i < 3; i++)
        if ((mask & (1u << i)) &&
            read_mcu_steps(fs_toolhead_rail_stepper(th, i),
                           fs_toolhead_rail(th, i)->motor.dir_pin.invert, &before[i], err) < 0)
            return -1;
    int rc = run_watched_move(h, es, mask, target, speed, err);
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
    for (int i = 0; i < 3; i++) {
        if (!(mask & (1u << i)))
            continue;
        const struct fs_rail_config *rail = fs_toolhead_rail(th, i);
        if (read_mcu_steps(fs_toolhead_rail_stepper(th, i), rail->motor.dir_pin.invert,
                           &after[i], err) < 0)
            return -1;
        coords[i] += (double)(after[i] - before[i]) * rail->motor.step_dist;
    }
    double stopped[4];
    fs_kinematics_calc_position(kin, coords, stopped);
    stopped[FS_AXIS_E] = pos[FS_AXIS_E];
    stopped[es->axis] = fs_toolhead_rail(th, es->axis)->position_endstop;
    if (fs_toolhead_set_position(th, stopped, 0, err) < 0)
        return -1;
    if (es->trigger_reason != REASON_ENDSTOP_HIT)
        return fs_error_set(err, "No trigger on %c after full movement", "xyz"[es->axis]);
    return 0;
}

static int check_same_mcu(struct fs_homing *h, struct endstop *es, struct fs_error *err)
{
    unsigned mask = fs_kinematics_axis_steppers(fs_toolhead_kinematics(h->th), es->axis);
    for (int i = 0; i < 3; i++) {
        if (!(mask & (1u << i)))
            continue;
        struct fs_mcu *sm = fs_stepper_mcu(fs_toolhead_rail_stepper(h->th, i));
        if (sm != es->mcu)
            return fs_error_set(err, "Homing %c: endstop on mcu '%s' but %s on mcu '%s': "
                                "homing across MCUs is not supported yet", "xyz"[es->axis],
                                fs_mcu_name(es->mcu), fs_toolhead_rail(h->th, i)->name,
                                fs_mcu_name(sm));
    }
    if (es->endstop_oid < 0)
        return fs_error_set(err, "Homing %c: mcu '%s' is not configured yet", "xyz"[es->axis],
                            fs_mcu_name(es->mcu));
    return 0;
}

static int home_axis(struct fs_homing *h, int axis, struct fs_error *err)
{
    struct fs_toolhead *th = h->th;
    struct endstop *es = &h->endstops[axis];
    const struct fs_rail_config *rail = fs_toolhead_rail(th, axis);
    if (check_same_mcu(h, es, err) < 0)
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
        if (pressed)
            return fs_error_set(err, "Endstop %c still triggered after retract", "xyz"[axis]);
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

struct fs_homing *fs_homing_new(struct fs_toolhead *th, struct fs_error *err)
{
    struct fs_homing *h = calloc(1, sizeof(*h));
    if (!h) {
        fs_error_set(err, "homing: out of memory");
        return NULL;
    }
    h->th = th;
    h->printer = fs_toolhead_printer(th);
    for (int axis = 0; axis < 3; axis++) {
        struct endstop *es = &h->endstops[axis];
        const struct fs_rail_config *rail = fs_toolhead_rail(th, axis);
        es->homing = h;
        es->axis = axis;
        es->pin = rail->endstop_pin;
        es->endstop_oid = es->trsync_oid = -1;
        es->mcu = fs_printer_mcu(h->printer, es->pin.mcu);
        if (!es->mcu) {
            fs_error_set(err, "[%s] endstop_pin: no [mcu %s] section", rail->name, es->pin.mcu);
            goto fail;
        }
        if (fs_mcu_on_build_config(es->mcu, build_endstop, es, err) < 0)
            goto fail;
    }
    if (fs_gcode_register(h->printer->gcode, "G28", cmd_g28, h,
                          "Home axes: G28 [X] [Y] [Z] (none: all)", err) < 0)
        goto fail;
    return h;
fail:
    free(h);
    return NULL;
}

void fs_homing_free(struct fs_homing *h) { free(h); }
