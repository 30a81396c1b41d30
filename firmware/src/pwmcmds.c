/* Hardware PWM outputs: duty values (0..PWM_MAX) changed at host-given
 * clocks, with the same max_duration safety window as digital outputs.
 *
 * `queue_pwm_out` queues a new duty for a clock; changes take effect in
 * clock order from a queue of move records. While the duty is away from
 * default_value and max_duration is nonzero, the next change must take
 * effect within max_duration ticks of the previous one, else the MCU shuts
 * down ("Missed scheduling of next hard pwm event", the reference
 * firmware's wording) and every PWM output returns to its default. */
#include <stddef.h> /* NULL */
#include <stdint.h> /* uint32_t, uint16_t, uint8_t */

#include "basecmd.h" /* fw_oid_alloc, fw_move_alloc, fw_move_request_size */
#include "command.h" /* FW_DECL_COMMAND */
#include "hal.h"     /* hal_gpio_pwm_setup, hal_gpio_pwm_write */
#include "heater_guard.h" /* FW_HEATER_GUARD, fw_pwm_out_find, fw_pwm_out_hold */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_INIT, FW_DECL_SHUTDOWN */

struct pwm_move {
    struct pwm_move *next;
    uint32_t clock;
    uint16_t value;
};

struct pwm_out {
    struct fw_timer timer; /* first: the timer callback casts back */
    struct hal_gpio_pwm pin;
    uint32_t max_duration;
    uint32_t end_time;
    struct pwm_move *queue_head, *queue_tail;
    uint16_t default_value;
    uint8_t check_end; /* end_time is a deadline for the next change */
    uint8_t held;      /* a heater guard holds the output at its default */
};

static void command_config_pwm_out(const struct fw_args *args);
#define PWM_OUT_TYPE ((const void *)command_config_pwm_out)

static void pwm_out_request_moves(void)
{
    fw_move_request_size(sizeof(struct pwm_move));
}
FW_DECL_INIT(pwm_out_request_moves);

/* The earliest thing the timer must do, or 0 if nothing. */
static int pwm_out_next_wake(const struct pwm_out *p, uint32_t *wake)
{
    if (p->queue_head && (!p->check_end || !fw_timer_is_before(p->end_time, p->queue_head->clock))) {
        *wake = p->queue_head->clock;
        return 1;
    }
    if (p->check_end) {
        *wake = p->end_time;
        return 1;
    }
    return 0;
}

static uint_fast8_t pwm_out_event(struct fw_timer *t)
{
    struct pwm_out *p = (struct pwm_out *)t;
    uint32_t now = t->waketime;
    struct pwm_move *m = p->queue_head;
    if (!m || fw_timer_is_before(now, m->clock)) {
        /* No deadline now (a hold cleared it, and a release does not bring
         * it back): this wake was planned before the hold. */
        if (!p->check_end)
            return pwm_out_next_wake(p, &t->waketime) ? FW_SF_RESCHEDULE : FW_SF_DONE;
        fw_shutdown("Missed scheduling of next hard pwm event");
    }
    p->queue_head = m->next;
    if (!p->queue_head)
        p->queue_tail = NULL;
    uint16_t value = p->held ? p->default_value : m->value;
    fw_move_free(m);
    hal_gpio_pwm_write(p->pin, value);
    p->check_end = value != p->default_value && p->max_duration;
    p->end_time = now + p->max_duration;
    return pwm_out_next_wake(p, &t->waketime) ? FW_SF_RESCHEDULE : FW_SF_DONE;
}

static void command_config_pwm_out(const struct fw_args *args)
{
    struct hal_gpio_pwm pin = hal_gpio_pwm_setup(args->v[1], args->v[2], args->v[3]);
    struct pwm_out *p = fw_oid_alloc(args->v[0], PWM_OUT_TYPE, sizeof(*p));
    p->pin = pin;
    p->default_value = args->v[4];
    p->max_duration = args->v[5];
    p->timer.func = pwm_out_event;
}
FW_DECL_COMMAND(command_config_pwm_out,
                "config_pwm_out oid=%c pin=%u cycle_ticks=%u value=%hu default_value=%hu"
                " max_duration=%u");

#if FW_HEATER_GUARD
void *fw_pwm_out_find(uint8_t oid)
{
    return fw_oid_find(oid, PWM_OUT_TYPE);
}

void fw_pwm_out_hold(void *out, uint8_t hold)
{
    struct pwm_out *p = out;
    p->held = hold;
    if (!hold)
        return;
    hal_gpio_pwm_write(p->pin, p->default_value);
    p->check_end = 0;
}
#endif

static void command_queue_pwm_out(const struct fw_args *args)
{
    struct pwm_out *p = fw_oid_lookup(args->v[0], PWM_OUT_TYPE);
    struct pwm_move *m = fw_move_alloc();
    m->next = NULL;
    m->clock = args->v[1];
    m->value = args->v[2];
    if (p->queue_tail)
        p->queue_tail->next = m;
    else
        p->queue_head = m;
    p->queue_tail = m;
    if (p->queue_head != m)
        return;
    fw_sched_del_timer(&p->timer);
    if (pwm_out_next_wake(p, &p->timer.waketime))
        fw_sched_add_timer(&p->timer);
}
FW_DECL_COMMAND(command_queue_pwm_out, "queue_pwm_out oid=%c clock=%u value=%hu");

static void pwm_out_shutdown(void)
{
    int oid;
    struct pwm_out *p;
    fw_foreach_oid(oid, p, PWM_OUT_TYPE) {
        fw_sched_del_timer(&p->timer);
        hal_gpio_pwm_write(p->pin, p->default_value);
        p->check_end = 0;
        while (p->queue_head) {
            struct pwm_move *m = p->queue_head;
            p->queue_head = m->next;
            fw_move_free(m);
        }
        p->queue_tail = NULL;
    }
}
FW_DECL_SHUTDOWN(pwm_out_shutdown);
