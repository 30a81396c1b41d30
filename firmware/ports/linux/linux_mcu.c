/* The linux port's MCU: its clock, console and reset, and running the core
 * at a clock the program has read from the host's monotonic clock.
 *
 * Real time on a shared host is not an MCU's time: the process can be
 * descheduled for tens of milliseconds, which a real MCU never is. So due
 * timers are replayed one waketime after another, with the clock the core
 * reads set to each timer's own waketime (as on an MCU whose timer
 * interrupt fired on time), and only then does the clock jump to the
 * present for commands and tasks. Steps and heater edges therefore happen
 * at their exact ticks, and the core's "rescheduled timer in the past"
 * check is not tripped by the host's scheduler; a command that is late when
 * it arrives is still late ("Timer too close"), as it would be on a board.
 *
 * There is one MCU per process, and `mcu` is the port's only global; the
 * shared pins (ports/simpins) find theirs through it. */
#include <setjmp.h> /* jmp_buf, setjmp, longjmp: for `reset` */
#include <stdlib.h> /* calloc, free */

#include "fw_linux.h"      /* the API implemented here */
#include "fw_linux_port.h" /* struct fw_linux_mcu */
#include "fw_simpins.h"    /* fw_simpins_*, the pins' side of the port */
#include "hal.h"           /* the HAL implemented here */
#include "instance.h"      /* fw_instance_init */
#include "sched.h"         /* fw_sched_* entry points */

static struct fw_linux_mcu *mcu;

struct fw_simpins *fw_simpins_current(void)
{
    return &mcu->pins;
}

/* ---- HAL: instance, time, console, reset ---- */

struct fw_instance *hal_instance(void)
{
    return &mcu->inst;
}

uint32_t hal_timer_read_time(void)
{
    return (uint32_t)mcu->clock;
}

void hal_timer_kick(void)
{
    /* The program asks for the next wake after every call into the port. */
}

uint32_t fw_timer_from_us(uint32_t us)
{
    return us * (FW_LINUX_CLOCK_FREQ / 1000000u);
}

void hal_console_send(const uint8_t *block, uint32_t len)
{
    if (mcu->wiring.console_send)
        mcu->wiring.console_send(mcu->wiring.console_ctx, block, len);
}

void hal_reset(void)
{
    /* The rest of the block that held `reset` must not run: unwind to the
     * entry point, and power-cycle once out of the core. */
    mcu->reset_pending = 1;
    if (mcu->inst.unwind)
        longjmp(*mcu->inst.unwind, 2);
}

/* ---- lifecycle ---- */

struct fw_linux_mcu *fw_linux_mcu_new(const struct fw_linux_wiring *wiring)
{
    if (mcu)
        return NULL;
    mcu = calloc(1, sizeof(*mcu));
    if (!mcu)
        return NULL;
    if (wiring)
        mcu->wiring = *wiring;
    fw_simpins_init(&mcu->pins, wiring ? &wiring->pins : NULL, &mcu->clock);
    return mcu;
}

void fw_linux_mcu_free(struct fw_linux_mcu *m)
{
    if (m && m == mcu)
        mcu = NULL;
    free(m);
}

/* The core counts clock wraps only when it runs; the port knows the 64-bit
 * clock, so uptime stays right however long the MCU sat idle. */
static void set_clock(struct fw_linux_mcu *m, uint64_t clock)
{
    if (clock > m->clock)
        m->clock = clock;
    m->inst.uptime_high = (uint32_t)(m->clock >> 32);
    m->inst.uptime_last = (uint32_t)m->clock;
}

static void power_on(struct fw_linux_mcu *m, uint64_t clock)
{
    m->reset_pending = 0;
    fw_instance_init(&m->inst);
    set_clock(m, clock);
    fw_simpins_power_on(&m->pins);
    fw_sched_main_init();
    set_clock(m, clock);
    m->powered = 1;
}

void fw_linux_mcu_power_on(struct fw_linux_mcu *m, uint64_t clock)
{
    power_on(m, clock);
}

/* After an entry point: carry out a `reset` that asked to restart. */
static int finish_reset(struct fw_linux_mcu *m)
{
    if (!m->reset_pending)
        return 0;
    m->restarts++;
    power_on(m, m->clock);
    return 1;
}

void fw_linux_mcu_receive(struct fw_linux_mcu *m, uint64_t clock, const uint8_t *data,
                          uint32_t len)
{
    if (!m->powered)
        return;
    set_clock(m, clock);
    /* At most one block's worth at a time, each processed before the next,
     * so a burst longer than the receive buffer is not dropped: a UART
     * interleaves reception with the command task in the same way. */
    while (len > 0) {
        uint32_t n = len < 64 ? len : 64;
        fw_console_receive(data, n);
        fw_sched_run_tasks();
        if (finish_reset(m))
            return;
        data += n;
        len -= n;
    }
}

static int next_wake(const struct fw_linux_mcu *m, uint64_t *wake)
{
    if (!fw_sched_has_timers())
        return 0;
    int32_t ahead = (int32_t)(fw_sched_next_waketime() - (uint32_t)m->clock);
    *wake = ahead > 0 ? m->clock + (uint64_t)ahead : m->clock;
    return 1;
}

void fw_linux_mcu_run(struct fw_linux_mcu *m, uint64_t clock)
{
    if (!m->powered)
        return;
    uint64_t wake;
    while (next_wake(m, &wake) && wake <= clock) {
        set_clock(m, wake);
        fw_sched_run_timers();
        if (finish_reset(m))
            break;
    }
    set_clock(m, clock);
    fw_sched_run_tasks();
    finish_reset(m);
}

int fw_linux_mcu_next_wake(const struct fw_linux_mcu *m, uint64_t *clock)
{
    return m->powered && next_wake(m, clock);
}

uint64_t fw_linux_mcu_clock(const struct fw_linux_mcu *m)
{
    return m->clock;
}

int fw_linux_mcu_is_shutdown(const struct fw_linux_mcu *m)
{
    return m->inst.is_shutdown;
}

uint32_t fw_linux_mcu_restarts(const struct fw_linux_mcu *m)
{
    return m->restarts;
}
