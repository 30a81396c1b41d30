/* Stepper motors: step pulses at host-given times, from a queue of
 * `queue_step` moves (count steps, intervals growing by add).
 *
 * Design. Each stepper owns one timer that fires once per step. The step
 * pin goes active at the step's clock; when step_pulse_ticks is 0 it goes
 * back in the same event, otherwise it stays active and is lowered at the
 * start of the next step's event, so a pulse lasts at least step_pulse_ticks
 * (the host never asks for steps closer than that) without a second timer
 * event per step. Only when nothing follows with the same direction - the
 * queue is empty, or the next move turns the motor round - does the timer
 * wake once more, step_pulse_ticks after the last step, to end the pulse;
 * a new direction is written then, with the step pin idle, so a driver never
 * sees the direction change under an active step pulse.
 *
 * The position is kept as if the whole loaded move had been taken, and the
 * steps still to come are subtracted when asked; so the per-step path does
 * no position arithmetic at all.
 *
 * Time base: a move's first step is `interval` after the previous step (or
 * after the clock of `reset_step_clock`). A first step already in the past
 * when the move is loaded means the host fell behind; the MCU shuts down
 * ("Stepper too far in past") rather than rush steps out late. After a
 * stop (trigger or shutdown) a stepper ignores moves until reset_step_clock,
 * because its time base is gone. */
#include <stddef.h> /* offsetof, NULL */
#include <stdint.h> /* uint32_t, int32_t */

#include "basecmd.h" /* fw_oid_alloc, fw_move_alloc, fw_move_request_size */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "hal.h"     /* hal_gpio_out_* */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_INIT, FW_DECL_SHUTDOWN */
#include "trsync.h"  /* trsync_add_signal, trsync_oid_lookup */

struct stepper_move {
    struct stepper_move *next;
    uint32_t interval;
    int16_t add;
    uint16_t count;
    uint8_t dir;
};

enum {
    SF_INVERT_STEP = 1 << 0, /* idle level of the step pin is high */
    SF_DIR = 1 << 1,         /* level on the dir pin now */
    SF_NEXT_DIR = 1 << 2,    /* direction for moves queued from now on */
    SF_STEP_ACTIVE = 1 << 3, /* a pulse is waiting to be ended */
    SF_RUNNING = 1 << 4,     /* the timer is armed */
    SF_NEED_RESET = 1 << 5,  /* stopped: moves are dropped until reset_step_clock */
};

struct stepper {
    struct fw_timer timer; /* first: the timer callback casts back */
    uint32_t interval;     /* between the last step and the next */
    int16_t add;
    uint32_t count;        /* steps of the loaded move not yet taken */
    uint32_t last_step_time;
    uint32_t step_pulse_ticks;
    int32_t position;      /* steps, as if the loaded move were complete */
    struct hal_gpio_out step_pin, dir_pin;
    struct stepper_move *queue_head, *queue_tail;
    struct trsync_signal stop_signal;
    uint8_t flags;
};

static void command_config_stepper(const struct fw_args *args);
#define STEPPER_TYPE ((const void *)command_config_stepper)

static void stepper_request_moves(void)
{
    fw_move_request_size(sizeof(struct stepper_move));
}
FW_DECL_INIT(stepper_request_moves);

static inline uint32_t stepper_idle_level(const struct stepper *s)
{
    return s->flags & SF_INVERT_STEP ? 1 : 0;
}

static inline int32_t stepper_signed_steps(const struct stepper *s, uint32_t steps)
{
    return s->flags & SF_DIR ? (int32_t)steps : -(int32_t)steps;
}

/* Loads the first queued move and aims the timer at its first step. now is
 * the current clock. Returns FW_SF_RESCHEDULE, or FW_SF_DONE when the queue
 * is empty (the stepper goes idle). */
static uint_fast8_t stepper_load_next(struct stepper *s, uint32_t now)
{
    struct stepper_move *m = s->queue_head;
    if (!m) {
        s->flags &= ~SF_RUNNING;
        return FW_SF_DONE;
    }
    uint32_t first_step = s->last_step_time + m->interval;
    /* Checked before the move leaves the queue, so that the shutdown hook
     * still finds it and returns it to the pool. */
    if (fw_timer_is_before(first_step, now))
        fw_shutdown("Stepper too far in past");
    s->queue_head = m->next;
    if (!s->queue_head)
        s->queue_tail = NULL;
    if (!!(s->flags & SF_DIR) != m->dir) {
        s->flags ^= SF_DIR;
        hal_gpio_out_write(s->dir_pin, m->dir);
    }
    s->count = m->count;
    s->interval = m->interval;
    s->add = m->add;
    s->position += stepper_signed_steps(s, m->count);
    s->timer.waketime = first_step;
    s->flags |= SF_RUNNING;
    fw_move_free(m);
    return FW_SF_RESCHEDULE;
}

/* One step (or the end of the last pulse of a run). Keep this lean: the
 * simulator's benchmarks push millions of steps through it. */
static uint_fast8_t stepper_event(struct fw_timer *t)
{
    struct stepper *s = (struct stepper *)t;
    uint32_t idle = stepper_idle_level(s);
    if (s->flags & SF_STEP_ACTIVE) {
        hal_gpio_out_write(s->step_pin, idle);
        s->flags &= ~SF_STEP_ACTIVE;
    }
    if (!s->count)
        return stepper_load_next(s, t->waketime);

    hal_gpio_out_write(s->step_pin, !idle);
    if (s->step_pulse_ticks)
        s->flags |= SF_STEP_ACTIVE;
    else
        hal_gpio_out_write(s->step_pin, idle);
    s->last_step_time = t->waketime;
    if (--s->count) {
        s->interval += s->add;
        t->waketime += s->interval;
        return FW_SF_RESCHEDULE;
    }
    /* Move complete. Chain straight into the next one unless the pulse
     * must end first: before going idle or turning round. */
    const struct stepper_move *next = s->queue_head;
    if (!(s->flags & SF_STEP_ACTIVE) || (next && next->dir == !!(s->flags & SF_DIR)))
        return stepper_load_next(s, t->waketime);
    t->waketime += s->step_pulse_ticks;
    return FW_SF_RESCHEDULE;
}

static void command_config_stepper(const struct fw_args *args)
{
    struct stepper *s = fw_oid_alloc(args->v[0], STEPPER_TYPE, sizeof(*s));
    int8_t invert_step = (int8_t)args->v[3];
    s->flags = invert_step > 0 ? SF_INVERT_STEP : 0;
    s->step_pin = hal_gpio_out_setup(args->v[1], stepper_idle_level(s));
    s->dir_pin = hal_gpio_out_setup(args->v[2], 0);
    s->step_pulse_ticks = args->v[4];
    s->timer.func = stepper_event;
}
FW_DECL_COMMAND(command_config_stepper,
                "config_stepper oid=%c step_pin=%c dir_pin=%c invert_step=%c step_pulse_ticks=%u");

static struct stepper *stepper_oid_lookup(uint8_t oid)
{
    return fw_oid_lookup(oid, STEPPER_TYPE);
}

static void command_queue_step(const struct fw_args *args)
{
    struct stepper *s = stepper_oid_lookup(args->v[0]);
    uint16_t count = args->v[2];
    if (!count)
        fw_shutdown("Invalid count parameter");
    struct stepper_move *m = fw_move_alloc();
    if (s->flags & SF_NEED_RESET) {
        fw_move_free(m);
        return;
    }
    m->next = NULL;
    m->interval = args->v[1];
    m->count = count;
    m->add = (int16_t)args->v[3];
    m->dir = !!(s->flags & SF_NEXT_DIR);
    if (s->queue_tail)
        s->queue_tail->next = m;
    else
        s->queue_head = m;
    s->queue_tail = m;
    if (s->flags & SF_RUNNING)
        return;
    stepper_load_next(s, fw_timer_read_time());
    fw_sched_add_timer(&s->timer);
}
FW_DECL_COMMAND(command_queue_step, "queue_step oid=%c interval=%u count=%hu add=%hi");

static void command_set_next_step_dir(const struct fw_args *args)
{
    struct stepper *s = stepper_oid_lookup(args->v[0]);
    if (args->v[1])
        s->flags |= SF_NEXT_DIR;
    else
        s->flags &= ~SF_NEXT_DIR;
}
FW_DECL_COMMAND(command_set_next_step_dir, "set_next_step_dir oid=%c dir=%c");

static void command_reset_step_clock(const struct fw_args *args)
{
    struct stepper *s = stepper_oid_lookup(args->v[0]);
    /* A pending end-of-pulse wake is harmless; steps still to come are not:
     * their times would silently shift. */
    if (s->count || s->queue_head)
        fw_shutdown("Can't reset time when stepper active");
    s->last_step_time = args->v[1];
    s->flags &= ~SF_NEED_RESET;
}
FW_DECL_COMMAND(command_reset_step_clock, "reset_step_clock oid=%c clock=%u");

static int32_t stepper_position(const struct stepper *s)
{
    return s->position - stepper_signed_steps(s, s->count);
}

static void command_stepper_get_position(const struct fw_args *args)
{
    uint8_t oid = args->v[0];
    struct stepper *s = stepper_oid_lookup(oid);
    fw_sendf("stepper_position oid=%c pos=%i", oid, stepper_position(s));
}
FW_DECL_COMMAND_FLAGS(command_stepper_get_position, FW_HF_IN_SHUTDOWN,
                      "stepper_get_position oid=%c");

/* Stops at once: no further step, the pulse ended, queued moves returned
 * to the pool, direction back to 0 (the host re-sends it with the next
 * moves), and moves refused until reset_step_clock gives a new time base. */
static void stepper_stop(struct stepper *s)
{
    fw_sched_del_timer(&s->timer);
    s->position = stepper_position(s);
    s->count = 0;
    if (s->flags & SF_STEP_ACTIVE)
        hal_gpio_out_write(s->step_pin, stepper_idle_level(s));
    if (s->flags & SF_DIR)
        hal_gpio_out_write(s->dir_pin, 0);
    s->flags = (s->flags & SF_INVERT_STEP) | SF_NEED_RESET;
    while (s->queue_head) {
        struct stepper_move *m = s->queue_head;
        s->queue_head = m->next;
        fw_move_free(m);
    }
    s->queue_tail = NULL;
}

static void stepper_stop_signal(struct trsync_signal *sig, uint8_t reason)
{
    (void)reason;
    char *p = (char *)sig - offsetof(struct stepper, stop_signal);
    stepper_stop((struct stepper *)p);
}

static void command_stepper_stop_on_trigger(const struct fw_args *args)
{
    struct stepper *s = stepper_oid_lookup(args->v[0]);
    struct trsync *ts = trsync_oid_lookup(args->v[1]);
    trsync_add_signal(ts, &s->stop_signal, stepper_stop_signal);
}
FW_DECL_COMMAND(command_stepper_stop_on_trigger, "stepper_stop_on_trigger oid=%c trsync_oid=%c");

static void stepper_shutdown(void)
{
    int oid;
    struct stepper *s;
    fw_foreach_oid(oid, s, STEPPER_TYPE) {
        stepper_stop(s);
    }
}
FW_DECL_SHUTDOWN(stepper_shutdown);
