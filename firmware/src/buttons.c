/* Buttons: up to eight digital inputs of one group (filament switches,
 * front-panel keys), polled on a timer, debounced, and reported to the host
 * as a queue of states that the host acknowledges.
 *
 * Wire protocol (formats as in the reference firmware's dictionary, checked
 * against a published Klipper data dictionary, "buttons_*" entries):
 *   config_buttons oid=%c button_count=%c
 *   buttons_add oid=%c pos=%c pin=%u pull_up=%c
 *   buttons_query oid=%c clock=%u rest_ticks=%u retransmit_count=%c invert=%c
 *   buttons_ack oid=%c count=%c
 *   -> buttons_state oid=%c ack_count=%c state=%*s
 *
 * Semantics: from clock on, every pin is read each rest_ticks into a bit
 * mask (bit pos = pin pos, raw levels). A pin counts as changed once two
 * polls in a row read it different from the last reported state; each such
 * change queues the whole new mask (at most eight unacknowledged). The
 * queue goes to the host in one buttons_state whose ack_count is how many
 * states the host has acknowledged so far (mod 256), so the host can tell
 * new states from repeats. Until the host acknowledges with buttons_ack,
 * the queue is sent again every retransmit_count + 1 polls: a lost report
 * costs a few polls, never a button press. `invert` is the state the host
 * considers "nothing pressed": the first report is sent only once a pin
 * differs from it. retransmit_count >= 128 is refused, rest_ticks 0 stops
 * polling. */
#include <stdint.h> /* uint32_t, uint8_t */

#include "basecmd.h" /* fw_oid_alloc, fw_oid_lookup, fw_foreach_oid */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "hal.h"     /* hal_gpio_in_setup, hal_gpio_in_read */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_TASK */

#define BUTTONS_MAX 8
#define BUTTONS_QUEUE 8
#define BUTTONS_RETRANSMIT_LIMIT 128

struct buttons {
    struct fw_timer timer; /* first: the timer callback casts back */
    uint32_t rest_ticks;
    struct hal_gpio_in pins[BUTTONS_MAX];
    uint8_t pin_set; /* bit per pos that buttons_add configured */
    uint8_t count;
    uint8_t reported; /* the newest state queued (or invert at start) */
    uint8_t previous; /* the raw state of the previous poll */
    uint8_t queue[BUTTONS_QUEUE];
    uint8_t queued;
    uint8_t ack_count;
    uint8_t retransmit_count;
    uint8_t awaiting_ack; /* sent, counting polls towards a resend */
    uint8_t polls_left;
    uint8_t send_due;
    struct fw_task_wake wake;
};

static void command_config_buttons(const struct fw_args *args);
#define BUTTONS_TYPE ((const void *)command_config_buttons)

static uint8_t buttons_read(const struct buttons *b)
{
    uint8_t state = 0;
    for (uint8_t i = 0; i < b->count; i++)
        if ((b->pin_set & (1u << i)) && hal_gpio_in_read(b->pins[i]))
            state |= (uint8_t)(1u << i);
    return state;
}

static void buttons_want_send(struct buttons *b)
{
    b->send_due = 1;
    b->awaiting_ack = 0;
    fw_sched_wake_task(&b->wake);
}

static uint_fast8_t buttons_event(struct fw_timer *t)
{
    struct buttons *b = (struct buttons *)t;
    uint8_t now = buttons_read(b);
    /* A bit is stable when this poll and the previous one agree on it. */
    uint8_t stable = (uint8_t)~(now ^ b->previous);
    uint8_t changed = (uint8_t)((now ^ b->reported) & stable);
    b->previous = now;
    if (changed && b->queued < BUTTONS_QUEUE) {
        b->reported = (uint8_t)((b->reported & ~changed) | (now & changed));
        b->queue[b->queued++] = b->reported;
        buttons_want_send(b);
    } else if (b->awaiting_ack) {
        if (b->polls_left)
            b->polls_left--;
        else
            buttons_want_send(b);
    }
    t->waketime += b->rest_ticks;
    return FW_SF_RESCHEDULE;
}

static void command_config_buttons(const struct fw_args *args)
{
    if (args->v[1] > BUTTONS_MAX)
        fw_shutdown("Max of 8 buttons");
    struct buttons *b = fw_oid_alloc(args->v[0], BUTTONS_TYPE, sizeof(*b));
    b->count = (uint8_t)args->v[1];
    b->timer.func = buttons_event;
}
FW_DECL_COMMAND(command_config_buttons, "config_buttons oid=%c button_count=%c");

static void command_buttons_add(const struct fw_args *args)
{
    struct buttons *b = fw_oid_lookup(args->v[0], BUTTONS_TYPE);
    uint32_t pos = args->v[1];
    if (pos >= b->count)
        fw_shutdown("Set button past maximum button count");
    b->pins[pos] = hal_gpio_in_setup(args->v[2], (int32_t)args->v[3]);
    b->pin_set |= (uint8_t)(1u << pos);
}
FW_DECL_COMMAND(command_buttons_add, "buttons_add oid=%c pos=%c pin=%u pull_up=%c");

static void command_buttons_query(const struct fw_args *args)
{
    struct buttons *b = fw_oid_lookup(args->v[0], BUTTONS_TYPE);
    if (args->v[3] >= BUTTONS_RETRANSMIT_LIMIT)
        fw_shutdown("Invalid buttons retransmit count");
    fw_sched_del_timer(&b->timer);
    b->rest_ticks = args->v[2];
    b->retransmit_count = (uint8_t)args->v[3];
    b->reported = b->previous = (uint8_t)args->v[4];
    b->queued = 0;
    b->ack_count = 0;
    b->awaiting_ack = 0;
    b->send_due = 0;
    if (!b->rest_ticks)
        return;
    b->timer.waketime = args->v[1];
    fw_sched_add_timer(&b->timer);
}
FW_DECL_COMMAND(command_buttons_query,
                "buttons_query oid=%c clock=%u rest_ticks=%u retransmit_count=%c invert=%c");

static void command_buttons_ack(const struct fw_args *args)
{
    struct buttons *b = fw_oid_lookup(args->v[0], BUTTONS_TYPE);
    uint8_t count = (uint8_t)args->v[1];
    b->ack_count = (uint8_t)(b->ack_count + count);
    if (count >= b->queued) {
        b->queued = 0;
        b->awaiting_ack = 0;
        b->send_due = 0;
        return;
    }
    b->queued = (uint8_t)(b->queued - count);
    for (uint8_t i = 0; i < b->queued; i++)
        b->queue[i] = b->queue[i + count];
}
FW_DECL_COMMAND(command_buttons_ack, "buttons_ack oid=%c count=%c");

static void buttons_task(void)
{
    int oid;
    struct buttons *b;
    fw_foreach_oid(oid, b, BUTTONS_TYPE) {
        if (!fw_sched_check_wake(&b->wake) || !b->send_due)
            continue;
        b->send_due = 0;
        if (!b->queued)
            continue;
        b->awaiting_ack = 1;
        b->polls_left = b->retransmit_count;
        fw_sendf("buttons_state oid=%c ack_count=%c state=%*s", oid, b->ack_count,
                 (int)b->queued, (const uint8_t *)b->queue);
    }
}
FW_DECL_TASK(buttons_task);
