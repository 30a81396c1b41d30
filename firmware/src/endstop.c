/* Endstops: digital inputs sampled on a timer during homing, which pull a
 * trsync when the switch is confirmed.
 *
 * `endstop_home` starts sampling at a clock, one sample every rest_ticks.
 * When a sample reads pin_value, the endstop switches to checking every
 * sample_ticks: sample_count agreeing samples in a row (the first one
 * included) confirm the hit and trigger the trsync with trigger_reason.
 * A disagreeing sample is treated as noise and the slow sampling resumes
 * where it would have been. Confirming inside timers (rather than reporting
 * to the host) is what lets the steppers stop on the very next step. */
#include <stddef.h> /* NULL */
#include <stdint.h> /* uint32_t, uint8_t */

#include "basecmd.h" /* fw_oid_alloc, fw_oid_lookup */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "hal.h"     /* hal_gpio_in_setup, hal_gpio_in_read */
#include "sched.h"   /* fw_timer, fw_sched_add_timer, fw_sched_del_timer */
#include "trsync.h"  /* trsync_oid_lookup, trsync_do_trigger */

struct endstop {
    struct fw_timer timer; /* first: the timer callbacks cast back */
    struct hal_gpio_in pin;
    uint32_t rest_ticks, sample_ticks;
    uint32_t resume_time; /* the slow-sampling slot after the first match */
    struct trsync *ts;
    uint8_t homing;
    uint8_t pin_value;
    uint8_t sample_count;
    uint8_t samples_left; /* agreeing samples still needed to confirm */
    uint8_t trigger_reason;
};

static void command_config_endstop(const struct fw_args *args);
#define ENDSTOP_TYPE ((const void *)command_config_endstop)

static uint_fast8_t endstop_confirm_event(struct fw_timer *t);

static int endstop_matches(const struct endstop *e)
{
    return !!hal_gpio_in_read(e->pin) == e->pin_value;
}

/* Slow sampling: waiting for the first sample that reads pin_value. */
static uint_fast8_t endstop_sample_event(struct fw_timer *t)
{
    struct endstop *e = (struct endstop *)t;
    e->resume_time = t->waketime + e->rest_ticks;
    if (!endstop_matches(e)) {
        t->waketime = e->resume_time;
        return FW_SF_RESCHEDULE;
    }
    e->samples_left = e->sample_count;
    t->func = endstop_confirm_event;
    return endstop_confirm_event(t);
}

/* Fast sampling: counting agreeing samples. */
static uint_fast8_t endstop_confirm_event(struct fw_timer *t)
{
    struct endstop *e = (struct endstop *)t;
    if (!endstop_matches(e)) {
        t->func = endstop_sample_event;
        t->waketime = e->resume_time;
        return FW_SF_RESCHEDULE;
    }
    if (--e->samples_left) {
        t->waketime += e->sample_ticks;
        return FW_SF_RESCHEDULE;
    }
    e->homing = 0;
    trsync_do_trigger(e->ts, e->trigger_reason);
    return FW_SF_DONE;
}

static void command_config_endstop(const struct fw_args *args)
{
    struct endstop *e = fw_oid_alloc(args->v[0], ENDSTOP_TYPE, sizeof(*e));
    e->pin = hal_gpio_in_setup(args->v[1], (int32_t)args->v[2]);
}
FW_DECL_COMMAND(command_config_endstop, "config_endstop oid=%c pin=%c pull_up=%c");

static void command_endstop_home(const struct fw_args *args)
{
    struct endstop *e = fw_oid_lookup(args->v[0], ENDSTOP_TYPE);
    fw_sched_del_timer(&e->timer);
    e->homing = 0;
    e->ts = NULL;
    e->sample_count = args->v[3];
    if (!e->sample_count)
        return; /* the host's way of cancelling homing */
    e->ts = trsync_oid_lookup(args->v[6]);
    e->timer.waketime = args->v[1];
    e->timer.func = endstop_sample_event;
    e->sample_ticks = args->v[2];
    e->rest_ticks = args->v[4];
    e->pin_value = !!args->v[5];
    e->trigger_reason = args->v[7];
    e->resume_time = e->timer.waketime;
    e->homing = 1;
    fw_sched_add_timer(&e->timer);
}
FW_DECL_COMMAND(command_endstop_home,
                "endstop_home oid=%c clock=%u sample_ticks=%u sample_count=%c rest_ticks=%u"
                " pin_value=%c trsync_oid=%c trigger_reason=%c");

/* next_clock is the next slow-sampling slot: while confirming a hit, the
 * slot sampling would resume at if the hit turns out to be noise. */
static void command_endstop_query_state(const struct fw_args *args)
{
    uint8_t oid = args->v[0];
    struct endstop *e = fw_oid_lookup(oid, ENDSTOP_TYPE);
    uint32_t next_clock = e->timer.func == endstop_sample_event ? e->timer.waketime : e->resume_time;
    fw_sendf("endstop_state oid=%c homing=%c next_clock=%u pin_value=%c", oid, e->homing,
             next_clock, hal_gpio_in_read(e->pin));
}
FW_DECL_COMMAND_FLAGS(command_endstop_query_state, FW_HF_IN_SHUTDOWN, "endstop_query_state oid=%c");

/* The scheduler drops every timer on shutdown; what is left is the flag. */
static void endstop_shutdown(void)
{
    int oid;
    struct endstop *e;
    fw_foreach_oid(oid, e, ENDSTOP_TYPE) {
        e->homing = 0;
        e->ts = NULL;
    }
}
FW_DECL_SHUTDOWN(endstop_shutdown);
