/* Pulse counters: a digital input (a fan's tachometer) polled on a timer,
 * counting its level changes, with the count reported to the host at a
 * steady rate.
 *
 * Wire protocol (formats as in the reference firmware's dictionary, checked
 * against a published Klipper data dictionary, "pulse_counter" entries):
 *   config_counter oid=%c pin=%u pull_up=%c
 *   query_counter oid=%c clock=%u poll_ticks=%u sample_ticks=%u
 *   -> counter_state oid=%c next_clock=%u count=%u count_clock=%u
 *
 * Semantics: from clock on the pin is read every poll_ticks; count is the
 * number of level changes seen (it starts at 0 for a low pin, so its
 * parity is always the last level read), count_clock the poll at which the
 * newest change was seen. A report goes out on the first poll and then on
 * the first poll at least sample_ticks after the previous report;
 * next_clock is the poll after the one the report describes. A pulse
 * shorter than poll_ticks can be missed: the poll rate bounds the highest
 * frequency that counts right (two polls per level). */
#include <stdint.h> /* uint32_t, uint8_t */

#include "basecmd.h" /* fw_oid_alloc, fw_oid_lookup, fw_foreach_oid */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "hal.h"     /* hal_gpio_in_setup, hal_gpio_in_read */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_TASK */

struct counter {
    struct fw_timer timer; /* first: the timer callback casts back */
    struct hal_gpio_in pin;
    uint32_t poll_ticks, sample_ticks;
    uint32_t report_at; /* the first poll that may report again */
    uint32_t count, count_clock;
    /* The report waiting for the task (copied so later polls cannot mix
     * two polls into one report). */
    uint32_t report_next_clock, report_count, report_count_clock;
    uint8_t report_ready;
    struct fw_task_wake wake;
};

static void command_config_counter(const struct fw_args *args);
#define COUNTER_TYPE ((const void *)command_config_counter)

static uint_fast8_t counter_event(struct fw_timer *t)
{
    struct counter *c = (struct counter *)t;
    uint32_t now = t->waketime;
    uint32_t level = hal_gpio_in_read(c->pin) ? 1 : 0;
    if ((c->count & 1) != level) {
        c->count++;
        c->count_clock = now;
    }
    t->waketime += c->poll_ticks;
    if (!fw_timer_is_before(now, c->report_at)) {
        c->report_at = now + c->sample_ticks;
        c->report_next_clock = t->waketime;
        c->report_count = c->count;
        c->report_count_clock = c->count_clock;
        c->report_ready = 1;
        fw_sched_wake_task(&c->wake);
    }
    return FW_SF_RESCHEDULE;
}

static void command_config_counter(const struct fw_args *args)
{
    struct hal_gpio_in pin = hal_gpio_in_setup(args->v[1], (int32_t)args->v[2]);
    struct counter *c = fw_oid_alloc(args->v[0], COUNTER_TYPE, sizeof(*c));
    c->pin = pin;
    c->timer.func = counter_event;
}
FW_DECL_COMMAND(command_config_counter, "config_counter oid=%c pin=%u pull_up=%c");

static void command_query_counter(const struct fw_args *args)
{
    struct counter *c = fw_oid_lookup(args->v[0], COUNTER_TYPE);
    fw_sched_del_timer(&c->timer);
    c->poll_ticks = args->v[2];
    c->sample_ticks = args->v[3];
    c->report_ready = 0;
    if (!c->poll_ticks)
        return;
    c->timer.waketime = args->v[1];
    c->report_at = args->v[1];
    fw_sched_add_timer(&c->timer);
}
FW_DECL_COMMAND(command_query_counter,
                "query_counter oid=%c clock=%u poll_ticks=%u sample_ticks=%u");

static void counter_task(void)
{
    int oid;
    struct counter *c;
    fw_foreach_oid(oid, c, COUNTER_TYPE) {
        if (!fw_sched_check_wake(&c->wake) || !c->report_ready)
            continue;
        c->report_ready = 0;
        fw_sendf("counter_state oid=%c next_clock=%u count=%u count_clock=%u", oid,
                 c->report_next_clock, c->report_count, c->report_count_clock);
    }
}
FW_DECL_TASK(counter_task);
