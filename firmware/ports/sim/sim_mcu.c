/* The sim port's MCUs: creating them, powering them on, and running the
 * core on one of them at a given clock.
 *
 * The core reaches its state through hal_instance(), so before every call
 * into the core the port points `current` at the MCU being run (and puts
 * the previous one back after, in case the simulator calls in from inside a
 * wiring callback). That pointer is the only global of the firmware in the
 * simulator; the shared pins (ports/simpins) find theirs through it too.
 * Timers are run one due time after another, with the clock set to each
 * timer's own waketime, so outputs change at exact ticks even when the
 * simulator calls with a later clock. */
#include <setjmp.h> /* longjmp, for `reset` */
#include <stdlib.h> /* calloc, free */

#include "fw_sim.h"      /* the API implemented here */
#include "fw_sim_port.h" /* struct fw_sim_mcu */
#include "fw_sim_test.h" /* fw_sim_mcu_call */
#include "fw_simpins.h"  /* fw_simpins_*, the pins' side of the port */
#include "hal.h"         /* the HAL implemented here */
#include "instance.h"    /* struct fw_instance, fw_instance_init */
#include "sched.h"       /* fw_sched_* entry points */

static struct fw_sim_mcu *current;

struct fw_simpins *fw_simpins_current(void)
{
    return &current->pins;
}

static struct fw_sim_mcu *enter(struct fw_sim_mcu *m)
{
    struct fw_sim_mcu *prev = current;
    current = m;
    return prev;
}

static void leave(struct fw_sim_mcu *prev)
{
    current = prev;
}

/* ---- HAL: instance, time, console, reset ---- */

struct fw_instance *hal_instance(void)
{
    return &current->inst;
}

uint32_t hal_timer_read_time(void)
{
    return (uint32_t)current->clock;
}

void hal_timer_kick(void)
{
    /* Nothing to arm: the simulator asks fw_sim_mcu_next_wake after every
     * call into the port. */
}

uint32_t fw_timer_from_us(uint32_t us)
{
    return us * (FW_SIM_CLOCK_FREQ / 1000000u);
}

void hal_console_send(const uint8_t *block, uint32_t len)
{
    struct fw_sim_mcu *m = current;
    if (m->wiring.console_send)
        m->wiring.console_send(m->wiring.ctx, block, len, m->clock);
}

void hal_reset(void)
{
    /* A real MCU never comes back from a reset. Here the rest of the
     * current command block must not run either, so unwind to the entry
     * point; the port power-cycles the MCU once it is out of the core. */
    struct fw_sim_mcu *m = current;
    m->reset_pending = 1;
    if (m->inst.unwind)
        longjmp(*m->inst.unwind, 2);
}

/* ---- lifecycle ---- */

/* The simulator's wiring has no "undriven" answer: a wired input reads as
 * the wiring says, whatever its pull-up. */
static int read_input_driven(void *ctx, uint32_t pin, uint64_t clock)
{
    return current->wiring.read_input(ctx, pin, clock);
}

struct fw_sim_mcu *fw_sim_mcu_new(const struct fw_sim_wiring *wiring)
{
    struct fw_sim_mcu *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (wiring)
        m->wiring = *wiring;
    struct fw_simpins_wiring pins = {
        .ctx = m->wiring.ctx,
        .output_changed = m->wiring.output_changed,
        .pwm_changed = m->wiring.pwm_changed,
        .read_input = m->wiring.read_input ? read_input_driven : NULL,
        .read_adc = m->wiring.read_adc,
    };
    fw_simpins_init(&m->pins, &pins, &m->clock);
    return m;
}

void fw_sim_mcu_free(struct fw_sim_mcu *m)
{
    free(m);
}

static void power_on(struct fw_sim_mcu *m, uint64_t clock)
{
    m->clock = clock;
    m->reset_pending = 0;
    fw_instance_init(&m->inst);
    fw_simpins_power_on(&m->pins);
    fw_sched_main_init();
    m->inst.uptime_high = (uint32_t)(clock >> 32);
    m->inst.uptime_last = (uint32_t)clock;
    m->powered = 1;
}

/* After an entry point: carry out a `reset` that asked to restart. */
static int finish_reset(struct fw_sim_mcu *m)
{
    if (!m->reset_pending)
        return 0;
    power_on(m, m->clock);
    if (m->wiring.restarted)
        m->wiring.restarted(m->wiring.ctx, m->clock);
    return 1;
}

void fw_sim_mcu_power_on(struct fw_sim_mcu *m, uint64_t clock)
{
    struct fw_sim_mcu *prev = enter(m);
    power_on(m, clock);
    leave(prev);
}

static void advance(struct fw_sim_mcu *m, uint64_t clock)
{
    if (clock > m->clock)
        m->clock = clock;
    /* The core counts clock wraps only when it runs; the port knows the
     * 64-bit clock, so an MCU left idle for minutes still reports the right
     * uptime. */
    m->inst.uptime_high = (uint32_t)(m->clock >> 32);
    m->inst.uptime_last = (uint32_t)m->clock;
}

void fw_sim_mcu_receive(struct fw_sim_mcu *m, uint64_t clock, const uint8_t *data,
                        uint32_t len)
{
    if (!m->powered)
        return;
    struct fw_sim_mcu *prev = enter(m);
    advance(m, clock);
    /* Feed at most one block's worth at a time and process it, so that a
     * burst longer than the receive buffer is not dropped: a real UART
     * interleaves reception with the command task in the same way. */
    while (len > 0) {
        uint32_t n = len < 64 ? len : 64;
        fw_console_receive(data, n);
        fw_sched_run_tasks();
        if (finish_reset(m))
            break;
        data += n;
        len -= n;
    }
    leave(prev);
}

/* The next timer as a 64-bit clock; 0 when none is armed. */
static int next_wake(const struct fw_sim_mcu *m, uint64_t *wake)
{
    if (!fw_sched_has_timers())
        return 0;
    int32_t ahead = (int32_t)(fw_sched_next_waketime() - (uint32_t)m->clock);
    *wake = ahead > 0 ? m->clock + (uint64_t)ahead : m->clock;
    return 1;
}

void fw_sim_mcu_run(struct fw_sim_mcu *m, uint64_t clock)
{
    if (!m->powered)
        return;
    struct fw_sim_mcu *prev = enter(m);
    uint64_t wake;
    while (next_wake(m, &wake) && wake <= clock) {
        advance(m, wake);
        fw_sched_run_timers();
        if (finish_reset(m))
            break;
    }
    advance(m, clock);
    fw_sched_run_tasks();
    finish_reset(m);
    leave(prev);
}

int fw_sim_mcu_next_wake(const struct fw_sim_mcu *m, uint64_t *clock)
{
    if (!m->powered)
        return 0;
    struct fw_sim_mcu *prev = enter((struct fw_sim_mcu *)m);
    int armed = next_wake(m, clock);
    leave(prev);
    return armed;
}

void fw_sim_mcu_call(struct fw_sim_mcu *m, void (*fn)(void *ctx), void *ctx)
{
    if (!m->powered)
        return;
    struct fw_sim_mcu *prev = enter(m);
    jmp_buf env;
    jmp_buf *saved = m->inst.unwind;
    m->inst.unwind = &env;
    if (setjmp(env) == 0)
        fn(ctx);
    m->inst.unwind = saved;
    finish_reset(m);
    leave(prev);
}

int fw_sim_mcu_is_shutdown(const struct fw_sim_mcu *m)
{
    return m->inst.is_shutdown;
}
