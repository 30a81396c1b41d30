/* Digital outputs (heaters, fans, enables...): scheduled on/off changes,
 * software PWM, and the max_duration safety window.
 *
 * `queue_digital_out` queues a change for a clock. on_ticks 0 is off,
 * on_ticks >= cycle_ticks (or any nonzero value when no PWM cycle was set)
 * is on, anything between is software PWM: on for on_ticks at the start of
 * every cycle_ticks. Changes take effect in clock order from a queue of move
 * records, so the host may send them well ahead of time.
 *
 * max_duration guards against a host that stops talking while a heater is
 * on: whenever a change leaves the pin away from its default (or toggling),
 * the next change must take effect within max_duration ticks, else the MCU
 * shuts down ("Missed scheduling of next digital out event") and every
 * output drops to its default.
 *
 * One timer per output serves all three duties; it wakes at the earliest of
 * the next queued change, the next PWM edge and the max_duration deadline.
 * A change due at the same clock as the deadline still counts as in time. */
#include <stddef.h> /* NULL */
#include <stdint.h> /* uint32_t, uint8_t */

#include "basecmd.h" /* fw_oid_alloc, fw_move_alloc, fw_move_request_size */
#include "command.h" /* FW_DECL_COMMAND */
#include "hal.h"     /* hal_gpio_out_* */
#include "heater_guard.h" /* FW_HEATER_GUARD, fw_digital_out_find, fw_digital_out_hold */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_INIT, FW_DECL_SHUTDOWN */

struct digital_move {
    struct digital_move *next;
    uint32_t clock;
    uint32_t on_ticks;
};

enum {
    DF_ON = 1 << 0,        /* level on the pin now */
    DF_TOGGLING = 1 << 1,  /* software PWM running */
    DF_CHECK_END = 1 << 2, /* end_time is a deadline for the next change */
    DF_HELD = 1 << 3,      /* a heater guard holds the pin at its default */
};

struct digital_out {
    struct fw_timer timer; /* first: the timer callback casts back */
    struct hal_gpio_out pin;
    uint32_t cycle_ticks, max_duration;
    uint32_t on_ticks, off_ticks; /* PWM phases while toggling */
    uint32_t toggle_time;         /* next PWM edge while toggling */
    uint32_t end_time;
    struct digital_move *queue_head, *queue_tail;
    uint8_t default_value;
    uint8_t flags;
};

static void command_config_digital_out(const struct fw_args *args);
#define DIGITAL_OUT_TYPE ((const void *)command_config_digital_out)

static void digital_out_request_moves(void)
{
    fw_move_request_size(sizeof(struct digital_move));
}
FW_DECL_INIT(digital_out_request_moves);

static void digital_out_set(struct digital_out *d, uint8_t on)
{
    hal_gpio_out_write(d->pin, on);
    d->flags = on ? d->flags | DF_ON : d->flags & ~DF_ON;
}

/* The earliest thing the timer must do after now, or 0 if nothing. */
static int digital_out_next_wake(const struct digital_out *d, uint32_t *wake)
{
    int have = 0;
    if (d->queue_head) {
        *wake = d->queue_head->clock;
        have = 1;
    }
    if (d->flags & DF_TOGGLING && (!have || fw_timer_is_before(d->toggle_time, *wake))) {
        *wake = d->toggle_time;
        have = 1;
    }
    if (d->flags & DF_CHECK_END && (!have || fw_timer_is_before(d->end_time, *wake))) {
        *wake = d->end_time;
        have = 1;
    }
    return have;
}

/* Applies the first queued change at now. */
static void digital_out_load(struct digital_out *d, uint32_t now)
{
    struct digital_move *m = d->queue_head;
    d->queue_head = m->next;
    if (!d->queue_head)
        d->queue_tail = NULL;
    uint32_t on_ticks = m->on_ticks;
    fw_move_free(m);

    d->flags &= ~(DF_TOGGLING | DF_CHECK_END);
    if (d->flags & DF_HELD) {
        digital_out_set(d, d->default_value);
        return;
    }
    if (on_ticks && d->cycle_ticks && on_ticks < d->cycle_ticks) {
        d->flags |= DF_TOGGLING;
        d->on_ticks = on_ticks;
        d->off_ticks = d->cycle_ticks - on_ticks;
        d->toggle_time = now + on_ticks;
    }
    digital_out_set(d, on_ticks != 0);
    int away = d->flags & DF_TOGGLING || !!(d->flags & DF_ON) != d->default_value;
    if (away && d->max_duration) {
        d->flags |= DF_CHECK_END;
        d->end_time = now + d->max_duration;
    }
}

static uint_fast8_t digital_out_event(struct fw_timer *t)
{
    struct digital_out *d = (struct digital_out *)t;
    uint32_t now = t->waketime;
    if (d->queue_head && !fw_timer_is_before(now, d->queue_head->clock)) {
        digital_out_load(d, now);
    } else if (d->flags & DF_CHECK_END && !fw_timer_is_before(now, d->end_time)) {
        fw_shutdown("Missed scheduling of next digital out event");
    } else if (d->flags & DF_TOGGLING && !fw_timer_is_before(now, d->toggle_time)) {
        digital_out_set(d, !(d->flags & DF_ON));
        d->toggle_time = now + (d->flags & DF_ON ? d->on_ticks : d->off_ticks);
    }
    return digital_out_next_wake(d, &t->waketime) ? FW_SF_RESCHEDULE : FW_SF_DONE;
}

/* Re-aims the timer after the queue changed. */
static void digital_out_rearm(struct digital_out *d)
{
    fw_sched_del_timer(&d->timer);
    if (digital_out_next_wake(d, &d->timer.waketime))
        fw_sched_add_timer(&d->timer);
}

static void command_config_digital_out(const struct fw_args *args)
{
    struct hal_gpio_out pin = hal_gpio_out_setup(args->v[1], !!args->v[2]);
    struct digital_out *d = fw_oid_alloc(args->v[0], DIGITAL_OUT_TYPE, sizeof(*d));
    d->pin = pin;
    d->flags = args->v[2] ? DF_ON : 0;
    d->default_value = !!args->v[3];
    d->max_duration = args->v[4];
    d->timer.func = digital_out_event;
}
FW_DECL_COMMAND(command_config_digital_out,
                "config_digital_out oid=%c pin=%u value=%c default_value=%c max_duration=%u");

static struct digital_out *digital_out_oid_lookup(uint8_t oid)
{
    return fw_oid_lookup(oid, DIGITAL_OUT_TYPE);
}

#if FW_HEATER_GUARD
void *fw_digital_out_find(uint8_t oid)
{
    return fw_oid_find(oid, DIGITAL_OUT_TYPE);
}

/* The timer is left alone: a wake it had planned for a PWM edge or the
 * max_duration deadline finds both cleared and does nothing. */
void fw_digital_out_hold(void *out, uint8_t hold)
{
    struct digital_out *d = out;
    if (!hold) {
        d->flags &= ~DF_HELD;
        return;
    }
    d->flags = (d->flags | DF_HELD) & ~(DF_TOGGLING | DF_CHECK_END);
    digital_out_set(d, d->default_value);
}
#endif

static void command_set_digital_out_pwm_cycle(const struct fw_args *args)
{
    struct digital_out *d = digital_out_oid_lookup(args->v[0]);
    d->cycle_ticks = args->v[1];
}
FW_DECL_COMMAND(command_set_digital_out_pwm_cycle, "set_digital_out_pwm_cycle oid=%c cycle_ticks=%u");

static void command_queue_digital_out(const struct fw_args *args)
{
    struct digital_out *d = digital_out_oid_lookup(args->v[0]);
    struct digital_move *m = fw_move_alloc();
    m->next = NULL;
    m->clock = args->v[1];
    m->on_ticks = args->v[2];
    if (d->queue_tail)
        d->queue_tail->next = m;
    else
        d->queue_head = m;
    d->queue_tail = m;
    if (d->queue_head == m)
        digital_out_rearm(d);
}
FW_DECL_COMMAND(command_queue_digital_out, "queue_digital_out oid=%c clock=%u on_ticks=%u");

/* Immediate change, used by the host at configuration time. It ends any
 * software PWM and starts a max_duration window like a queued change. */
static void command_update_digital_out(const struct fw_args *args)
{
    struct digital_out *d = digital_out_oid_lookup(args->v[0]);
    uint8_t on = d->flags & DF_HELD ? d->default_value : !!args->v[1];
    d->flags &= ~(DF_TOGGLING | DF_CHECK_END);
    digital_out_set(d, on);
    if (on != d->default_value && d->max_duration) {
        d->flags |= DF_CHECK_END;
        d->end_time = fw_timer_read_time() + d->max_duration;
    }
    digital_out_rearm(d);
}
FW_DECL_COMMAND(command_update_digital_out, "update_digital_out oid=%c value=%c");

static void command_set_digital_out(const struct fw_args *args)
{
    hal_gpio_out_setup(args->v[0], !!args->v[1]);
}
FW_DECL_COMMAND(command_set_digital_out, "set_digital_out pin=%u value=%c");

static void digital_out_shutdown(void)
{
    int oid;
    struct digital_out *d;
    fw_foreach_oid(oid, d, DIGITAL_OUT_TYPE) {
        fw_sched_del_timer(&d->timer);
        d->flags = 0;
        digital_out_set(d, d->default_value);
        while (d->queue_head) {
            struct digital_move *m = d->queue_head;
            d->queue_head = m->next;
            fw_move_free(m);
        }
        d->queue_tail = NULL;
    }
}
FW_DECL_SHUTDOWN(digital_out_shutdown);
