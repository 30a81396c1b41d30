/* Halting motion at once; see halt.h.
 *
 * Design. Steps are queued on the MCUs up to FS_TOOLHEAD_STEP_FLUSH_S
 * ahead, so the host cannot stop the motors by sending nothing more: the
 * MCU must drop what it holds. Klipper's firmware has one way to do that
 * without a shutdown (which would lose homing and every output): a
 * stepper hung on a trsync stops, with its queue discarded, the moment the
 * trsync fires. So each MCU with steppers gets a trsync reserved for halts
 * when it is configured, and a halt sends, on each MCU and ahead of every
 * queued step (the link sends clockless commands first): trsync_start,
 * stepper_stop_on_trigger for each of its steppers, trsync_trigger. The
 * steppers' commands still waiting in the link are dropped at the same
 * time: after the stop the firmware refuses queue_step until a new
 * reset_step_clock, and a reset_step_clock arriving later would make the
 * rest of the old plan run.
 *
 * The MCU answers trsync_trigger with a trsync_state report; that is how
 * the halt learns the stop happened (and when). Reading the positions back
 * needs no such wait: stepper_get_position is sent after the stop on the
 * same queue and the MCU handles commands in order.
 *
 * A stepper listens to one trsync at a time (a second
 * stepper_stop_on_trigger shuts the firmware down), so a module holding
 * steppers on a trsync of its own (homing) releases them first, through
 * fs_toolhead_on_halt. */
#include "motion/halt.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* snprintf, vsnprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strlen, memset */

#include "core/error.h"        /* fs_error_set */
#include "core/log.h"          /* fs_log */
#include "core/reactor.h"      /* fs_reactor_now, fs_reactor_wait_for */
#include "mcu/link.h"          /* fs_link_queue_drop */
#include "mcu/mcu.h"           /* fs_mcu_* */
#include "motion/kinematics.h" /* fs_kinematics_* */
#include "motion/stepper.h"    /* fs_stepper_* */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* struct fs_printer */

/* The trigger reason the trsync reports; any value the host picks. */
#define HALT_REASON 5
#define HALT_REPORT_TIMEOUT_S 1.0

struct halt_mcu {
    struct fs_halt *halt;
    struct fs_mcu *mcu;
    int oid; /* -1 until the MCU is configured */
    struct fs_stepper *steppers[FS_TOOLHEAD_STEPPERS_MAX];
    int stepper_count;
    struct fs_halt_report report;
};

struct fs_halt {
    struct fs_printer *printer;
    struct halt_mcu mcus[FS_PRINTER_MAX_MCUS];
    int mcu_count;
};

static void on_trsync_state(void *arg, const struct fs_msg *msg, double receive_time)
{
    struct halt_mcu *hm = arg;
    if (fs_msg_get(msg, "can_trigger", 1) || hm->report.fired || !hm->report.sent)
        return;
    hm->report.fired = 1;
    hm->report.fired_time = receive_time;
}

static int build_trsync(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct halt_mcu *hm = arg;
    hm->oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_trsync oid=%d", hm->oid) < 0)
        return -1;
    return fs_mcu_register_response(
        m, "trsync_state oid=%c can_trigger=%c trigger_reason=%c clock=%u", hm->oid,
        on_trsync_state, hm, err);
}

struct fs_halt *fs_halt_new(struct fs_printer *p, struct fs_stepper *const *steppers, int count,
                            struct fs_error *err)
{
    struct fs_halt *h = calloc(1, sizeof(*h));
    if (!h) {
        fs_error_set(err, "halt: out of memory");
        return NULL;
    }
    h->printer = p;
    for (int i = 0; i < count; i++) {
        struct fs_mcu *m = fs_stepper_mcu(steppers[i]);
        struct halt_mcu *hm = NULL;
        for (int j = 0; j < h->mcu_count && !hm; j++)
            if (h->mcus[j].mcu == m)
                hm = &h->mcus[j];
        if (!hm) {
            hm = &h->mcus[h->mcu_count++];
            *hm = (struct halt_mcu){.halt = h, .mcu = m, .oid = -1};
            hm->report.mcu = fs_mcu_name(m);
            if (fs_mcu_on_build_config(m, build_trsync, hm, err) < 0) {
                free(h);
                return NULL;
            }
        }
        hm->steppers[hm->stepper_count++] = steppers[i];
        hm->report.steppers = hm->stepper_count;
    }
    return h;
}

void fs_halt_free(struct fs_halt *h) { free(h); }

static int send(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int send(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
{
    char text[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return fs_mcu_send_text(m, text, err);
}

static int stop_mcu(struct halt_mcu *hm, struct fs_error *err)
{
    if (hm->oid < 0 || !fs_mcu_is_connected(hm->mcu))
        return fs_error_set(err, "halt: mcu '%s' is not configured or not connected",
                            fs_mcu_name(hm->mcu));
    /* Steps not yet on the wire must never arrive: see the top. */
    for (int i = 0; i < hm->stepper_count; i++)
        fs_stepper_drop_queued(hm->steppers[i]);
    if (send(hm->mcu, err, "trsync_start oid=%d report_clock=0 report_ticks=0 expire_reason=%d",
             hm->oid, HALT_REASON) < 0)
        return -1;
    for (int i = 0; i < hm->stepper_count; i++) {
        struct fs_stepper *s = hm->steppers[i];
        if (send(hm->mcu, err, "stepper_stop_on_trigger oid=%d trsync_oid=%d",
                 fs_stepper_oid(s), hm->oid) < 0)
            return -1;
    }
    return send(hm->mcu, err, "trsync_trigger oid=%d reason=%d", hm->oid, HALT_REASON);
}

int fs_halt_trigger(struct fs_halt *h, double now, struct fs_error *err)
{
    int rc = 0;
    for (int i = 0; i < h->mcu_count; i++) {
        struct halt_mcu *hm = &h->mcus[i];
        struct fs_error one;
        hm->report.fired = 0;
        hm->report.fired_time = 0.0;
        hm->report.sent_time = now;
        hm->report.sent = stop_mcu(hm, &one) == 0;
        if (!hm->report.sent && rc == 0)
            rc = fs_error_set(err, "%s", one.msg);
    }
    return rc;
}

static int all_reported(void *arg)
{
    const struct fs_halt *h = arg;
    for (int i = 0; i < h->mcu_count; i++)
        if (h->mcus[i].report.sent && !h->mcus[i].report.fired)
            return 0;
    return 1;
}

int fs_halt_wait_reports(struct fs_halt *h, double timeout_s, struct fs_error *err)
{
    struct fs_reactor *r = h->printer->reactor;
    if (!all_reported(h) && !r->running_timers)
        fs_reactor_wait_for(r, all_reported, h, fs_reactor_now(r) + timeout_s);
    for (int i = 0; i < h->mcu_count; i++)
        if (h->mcus[i].report.sent && !h->mcus[i].report.fired)
            return fs_error_set(err, "halt: mcu '%s' did not confirm the stop within %.1f s",
                                fs_mcu_name(h->mcus[i].mcu), timeout_s);
    return 0;
}

int fs_halt_mcu_count(const struct fs_halt *h) { return h->mcu_count; }

void fs_halt_get_report(const struct fs_halt *h, int i, struct fs_halt_report *out)
{
    *out = h->mcus[i].report;
}

/* ---- the toolhead's side -------------------------------------------------- */

void fs_toolhead_halt_now(struct fs_toolhead *th) { fs_toolhead_halt_now_for(th, NULL); }

void fs_toolhead_halt_now_for(struct fs_toolhead *th, const char *reason)
{
    struct fs_printer *p = fs_toolhead_printer(th);
    /* The toolhead first: nothing it does from here on sends a step. */
    fs_toolhead_enter_halt(th, reason);
    struct fs_error err;
    if (fs_halt_trigger(fs_toolhead_halt_obj(th), fs_reactor_now(p->reactor), &err) < 0)
        fs_log(p->log, FS_LOG_ERROR, "%s", err.msg);
}

/* The axes whose position depends on rail stepper `rail`. */
static unsigned axes_of_rail(struct fs_kinematics *kin, int rail)
{
    unsigned axes = 0;
    for (int axis = 0; axis < 3; axis++)
        if (fs_kinematics_axis_steppers(kin, axis) & (1u << rail))
            axes |= 1u << axis;
    return axes;
}

static void note_unread(struct fs_toolhead_readback *out, const char *name, const char *why)
{
    size_t n = strlen(out->unread);
    if (n + 1 < sizeof(out->unread))
        snprintf(out->unread + n, sizeof(out->unread) - n, "%s%.100s (%.200s)", n ? "; " : "",
                 name, why);
    out->unread_count++;
}

int fs_toolhead_read_back(struct fs_toolhead *th, struct fs_toolhead_readback *out,
                          struct fs_error *err)
{
    struct fs_kinematics *kin = fs_toolhead_kinematics(th);
    int rc = 0;
    memset(out, 0, sizeof(*out));
    /* MCUs that did not answer once: asking them again for their other
     * steppers would only wait for the timeout again. */
    struct fs_mcu *silent[FS_TOOLHEAD_STEPPERS_MAX];
    int silent_count = 0;
    for (int i = 0; i < fs_toolhead_stepper_count(th); i++) {
        struct fs_stepper *s = fs_toolhead_stepper_at(th, i);
        struct fs_mcu *m = fs_stepper_mcu(s);
        int64_t steps;
        struct fs_error one;
        int asked_before = 0;
        for (int k = 0; k < silent_count; k++)
            asked_before |= silent[k] == m;
        if (fs_mcu_is_lost(m)) {
            fs_error_set(&one, "mcu '%s' is lost", fs_mcu_name(m));
        } else if (asked_before) {
            fs_error_set(&one, "mcu '%s' did not answer", fs_mcu_name(m));
        } else if (fs_stepper_sync_after_stop(s, &steps, &one) == 0) {
            continue;
        } else if (silent_count < FS_TOOLHEAD_STEPPERS_MAX) {
            silent[silent_count++] = m;
        }
        /* Nothing to read it from: keep the plan's idea of it, but do not
         * trust the axes it drives. */
        fs_stepper_forget_unsent(s);
        if (i < 3)
            out->lost_axes |= axes_of_rail(kin, i);
        else
            out->e_lost = 1;
        note_unread(out, fs_stepper_name(s), one.msg);
        if (rc == 0)
            rc = fs_error_set(err, "position of %s not read back (%s)", fs_stepper_name(s),
                              one.msg);
    }
    double coords[3], planned[4];
    for (int i = 0; i < 3; i++)
        coords[i] = fs_stepper_get_position(fs_toolhead_rail_stepper(th, i));
    fs_kinematics_calc_position(kin, coords, out->pos);
    fs_toolhead_get_position(th, planned);
    out->pos[3] = fs_toolhead_stepper_count(th) > 3
                      ? fs_stepper_get_position(fs_toolhead_stepper_at(th, 3))
                      : planned[3];
    return rc;
}

int fs_toolhead_halt_finish(struct fs_toolhead *th, unsigned untrusted_axes,
                            struct fs_error *err)
{
    if (!fs_toolhead_is_halted(th)) {
        fs_toolhead_clear_homed(th, untrusted_axes & 0x7u);
        return 0;
    }
    struct fs_printer *p = fs_toolhead_printer(th);
    struct fs_error wait_err;
    if (fs_halt_wait_reports(fs_toolhead_halt_obj(th), HALT_REPORT_TIMEOUT_S, &wait_err) < 0)
        fs_log(p->log, FS_LOG_WARN, "%s", wait_err.msg);
    struct fs_toolhead_readback rb;
    int rc = fs_toolhead_read_back(th, &rb, err);
    if (rc < 0)
        fs_error_prefix(err, "halt: ");
    fs_toolhead_leave_halt(th, rb.pos);
    fs_toolhead_clear_homed(th, (untrusted_axes | rb.lost_axes) & 0x7u);
    return rc;
}

int fs_toolhead_shutdown_read_back(struct fs_toolhead *th, struct fs_toolhead_readback *out,
                                   struct fs_error *err)
{
    /* emergency_stop already discarded what the MCUs held; the host drops
     * its plan too, so nothing more goes out to a shut-down MCU. No trsync:
     * a shut-down MCU refuses them and its steppers are stopped anyway. */
    fs_toolhead_enter_halt(th, "shut down");
    for (int i = 0; i < fs_toolhead_stepper_count(th); i++)
        fs_stepper_drop_queued(fs_toolhead_stepper_at(th, i));
    int rc = fs_toolhead_read_back(th, out, err);
    if (rc < 0)
        fs_error_prefix(err, "after the shutdown: ");
    /* The toolhead reports where the head is; the motion check keeps
     * refusing moves until a restart. */
    fs_toolhead_leave_halt(th, out->pos);
    fs_toolhead_clear_homed(th, out->lost_axes & 0x7u);
    return rc;
}
