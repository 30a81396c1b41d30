/* Trigger synchronisation objects (trsync): one armed "stop now" line that
 * endstops, probes and a timeout can pull, and that steppers listen to.
 *
 * The host arms a trsync with `trsync_start`, hangs steppers on it with
 * `stepper_stop_on_trigger`, starts an endstop with `endstop_home`, and may
 * set a deadline with `trsync_set_timeout`. Whichever comes first wins: the
 * endstop, the deadline (reason = expire_reason) or the host itself
 * (`trsync_trigger`). While armed, the trsync reports its state every
 * report_ticks so the host learns it is alive; a trigger queues one more
 * report at once. Reports are sent from a task, not from the timers, because
 * the trigger usually happens inside a timer that must stay short. */
#include <stddef.h> /* offsetof, NULL */

#include "basecmd.h" /* fw_oid_alloc, fw_oid_lookup, fw_foreach_oid */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_TASK, FW_DECL_SHUTDOWN */
#include "trsync.h"  /* the interface implemented here */

struct trsync {
    struct fw_timer report_timer;
    struct fw_timer expire_timer;
    uint32_t report_ticks;
    struct trsync_signal *signals;
    struct fw_task_wake report_wake;
    uint8_t can_trigger;
    uint8_t trigger_reason;
    uint8_t expire_reason;
};

#define TRSYNC_OF(ptr, member) ((struct trsync *)((char *)(ptr)-offsetof(struct trsync, member)))

static void command_config_trsync(const struct fw_args *args);
#define TRSYNC_TYPE ((const void *)command_config_trsync)

struct trsync *trsync_oid_lookup(uint8_t oid)
{
    return fw_oid_lookup(oid, TRSYNC_TYPE);
}

void trsync_add_signal(struct trsync *ts, struct trsync_signal *sig, trsync_callback_fn func)
{
    /* A signal on two lists would link them together and corrupt both. */
    if (sig->func || !func)
        fw_shutdown("Can't add signal that is already active");
    sig->func = func;
    sig->next = ts->signals;
    ts->signals = sig;
}

/* Unhooks every waiting signal without running it. */
static void trsync_drop_signals(struct trsync *ts)
{
    struct trsync_signal *sig = ts->signals;
    while (sig) {
        struct trsync_signal *next = sig->next;
        sig->next = NULL;
        sig->func = NULL;
        sig = next;
    }
    ts->signals = NULL;
}

void trsync_do_trigger(struct trsync *ts, uint8_t reason)
{
    if (!ts->can_trigger)
        return;
    ts->can_trigger = 0;
    ts->trigger_reason = reason;
    fw_sched_del_timer(&ts->expire_timer);
    /* Unhook each signal before calling it, so a callback may re-add it. */
    while (ts->signals) {
        struct trsync_signal *sig = ts->signals;
        trsync_callback_fn func = sig->func;
        ts->signals = sig->next;
        sig->next = NULL;
        sig->func = NULL;
        func(sig, reason);
    }
    fw_sched_wake_task(&ts->report_wake);
}

static uint_fast8_t trsync_expire_event(struct fw_timer *t)
{
    struct trsync *ts = TRSYNC_OF(t, expire_timer);
    trsync_do_trigger(ts, ts->expire_reason);
    return FW_SF_DONE;
}

static uint_fast8_t trsync_report_event(struct fw_timer *t)
{
    struct trsync *ts = TRSYNC_OF(t, report_timer);
    fw_sched_wake_task(&ts->report_wake);
    t->waketime += ts->report_ticks;
    return FW_SF_RESCHEDULE;
}

static void command_config_trsync(const struct fw_args *args)
{
    struct trsync *ts = fw_oid_alloc(args->v[0], TRSYNC_TYPE, sizeof(*ts));
    ts->report_timer.func = trsync_report_event;
    ts->expire_timer.func = trsync_expire_event;
}
FW_DECL_COMMAND(command_config_trsync, "config_trsync oid=%c");

/* Disarms: no timers, no signals, nothing to report. */
static void trsync_clear(struct trsync *ts)
{
    fw_sched_del_timer(&ts->report_timer);
    fw_sched_del_timer(&ts->expire_timer);
    trsync_drop_signals(ts);
    ts->can_trigger = 0;
    ts->trigger_reason = 0;
    ts->expire_reason = 0;
    fw_sched_check_wake(&ts->report_wake);
}

static void command_trsync_start(const struct fw_args *args)
{
    struct trsync *ts = trsync_oid_lookup(args->v[0]);
    trsync_clear(ts);
    ts->can_trigger = 1;
    ts->report_ticks = args->v[2];
    ts->expire_reason = args->v[3];
    if (ts->report_ticks) {
        ts->report_timer.waketime = args->v[1];
        fw_sched_add_timer(&ts->report_timer);
    }
}
FW_DECL_COMMAND(command_trsync_start,
                "trsync_start oid=%c report_clock=%u report_ticks=%u expire_reason=%c");

static void command_trsync_set_timeout(const struct fw_args *args)
{
    struct trsync *ts = trsync_oid_lookup(args->v[0]);
    /* A deadline for a trsync that already fired would fire it twice. */
    if (!ts->can_trigger)
        return;
    fw_sched_del_timer(&ts->expire_timer);
    ts->expire_timer.waketime = args->v[1];
    fw_sched_add_timer(&ts->expire_timer);
}
FW_DECL_COMMAND(command_trsync_set_timeout, "trsync_set_timeout oid=%c clock=%u");

static void trsync_report(uint8_t oid, const struct trsync *ts)
{
    fw_sendf("trsync_state oid=%c can_trigger=%c trigger_reason=%c clock=%u", oid,
             ts->can_trigger, ts->trigger_reason, fw_timer_read_time());
}

/* The host ends homing with this (e.g. the move finished without a hit):
 * listeners still run, and the answer comes back at once rather than with
 * the next periodic report, which stops here. */
static void command_trsync_trigger(const struct fw_args *args)
{
    uint8_t oid = args->v[0];
    struct trsync *ts = trsync_oid_lookup(oid);
    trsync_do_trigger(ts, args->v[1]);
    fw_sched_del_timer(&ts->report_timer);
    fw_sched_check_wake(&ts->report_wake);
    trsync_report(oid, ts);
}
FW_DECL_COMMAND(command_trsync_trigger, "trsync_trigger oid=%c reason=%c");

static void trsync_task(void)
{
    int oid;
    struct trsync *ts;
    fw_foreach_oid(oid, ts, TRSYNC_TYPE) {
        if (fw_sched_check_wake(&ts->report_wake))
            trsync_report(oid, ts);
    }
}
FW_DECL_TASK(trsync_task);

static void trsync_shutdown(void)
{
    int oid;
    struct trsync *ts;
    fw_foreach_oid(oid, ts, TRSYNC_TYPE) {
        trsync_clear(ts);
    }
}
FW_DECL_SHUTDOWN(trsync_shutdown);
