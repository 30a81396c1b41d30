/* Bit-banged UART for TMC stepper drivers (TMC2208/TMC2209 PDN_UART).
 *
 * The host does all the protocol work: it sends the exact bit stream to
 * put on the line (start, data and stop bits, packed LSB first) and gets
 * back the raw bits sampled from the reply, so this file knows nothing of
 * datagrams or CRCs. One transfer at a time per object; a request that
 * arrives while one is under way is dropped, and the host retries.
 *
 * Timing on the wire:
 *  - transmission starts 200 us after the command arrives; each bit lasts
 *    bit_time ticks and only level changes wake a timer;
 *  - with rx_pin == tx_pin (one wire through a resistor to the driver) the
 *    pin turns into an input with the configured pull-up once the last bit
 *    has been held for its full time, and back into an output driven high
 *    when the transfer ends;
 *  - the reply is looked for from 4 bit times after the request: the line
 *    is polled once per bit_time, must be seen high, and the first low
 *    poll after that is taken as the start bit and stored as bit 0; each
 *    following bit_time stores the next bit until read * 8 bits are in;
 *  - 64 polls without a start bit give up: the response then carries no
 *    bytes.
 * Unlike some bit-banged UARTs this one does not re-measure its bit time
 * from the sync nibble: the port's timers fire at their exact clock, so
 * the configured bit_time is what goes on the wire. */
#include <stdint.h> /* uint8_t, uint32_t */
#include <string.h> /* memcpy, memset */

#include "basecmd.h" /* fw_oid_alloc, fw_oid_lookup, fw_foreach_oid */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "hal.h"     /* hal_gpio_out_setup, hal_gpio_in_setup, ... */
#include "sched.h"   /* fw_timer, fw_sched_add_timer, fw_shutdown */

#define TMCUART_DATA_MAX 10
#define TMCUART_SYNC_POLLS 64
#define TMCUART_REPLY_WAIT_BITS 4

struct tmcuart {
    struct fw_timer timer; /* first: the timer callbacks cast back */
    struct hal_gpio_out tx;
    struct hal_gpio_in rx;
    uint32_t rx_pin, tx_pin;
    uint32_t bit_time;
    uint32_t start_time; /* when bit 0 of the current phase began */
    uint8_t pull_up, single_wire;
    uint8_t busy, report, seen_high;
    uint8_t pos, write_bits, read_bits;
    uint8_t data[TMCUART_DATA_MAX];
    struct fw_task_wake wake;
};

static void command_config_tmcuart(const struct fw_args *args);
#define TMCUART_TYPE ((const void *)command_config_tmcuart)

static int tx_bit(const struct tmcuart *t, uint8_t pos)
{
    return (t->data[pos >> 3] >> (pos & 7)) & 1;
}

/* Idle: the line driven high (a one-wire pin is an output again). */
static void tmcuart_idle_line(struct tmcuart *t)
{
    if (t->single_wire)
        t->tx = hal_gpio_out_setup(t->tx_pin, 1);
    else
        hal_gpio_out_write(t->tx, 1);
}

static uint_fast8_t tmcuart_done(struct tmcuart *t)
{
    tmcuart_idle_line(t);
    t->busy = 0;
    t->report = 1;
    fw_sched_wake_task(&t->wake);
    return FW_SF_DONE;
}

static uint_fast8_t tmcuart_read_bit_event(struct fw_timer *timer)
{
    struct tmcuart *t = (struct tmcuart *)timer;
    uint8_t mask = (uint8_t)(1u << (t->pos & 7));
    if (hal_gpio_in_read(t->rx))
        t->data[t->pos >> 3] |= mask;
    else
        t->data[t->pos >> 3] &= (uint8_t)~mask;
    if (++t->pos >= t->read_bits)
        return tmcuart_done(t);
    timer->waketime += t->bit_time;
    return FW_SF_RESCHEDULE;
}

/* Polling for the reply's start bit: a low level counts only after the
 * line was seen high, so the tail of our own request is never mistaken
 * for it. */
static uint_fast8_t tmcuart_wait_reply_event(struct fw_timer *timer)
{
    struct tmcuart *t = (struct tmcuart *)timer;
    if (hal_gpio_in_read(t->rx)) {
        t->seen_high = 1;
    } else if (t->seen_high) {
        t->pos = 0;
        timer->func = tmcuart_read_bit_event;
        return tmcuart_read_bit_event(timer);
    }
    if (++t->pos >= TMCUART_SYNC_POLLS) {
        t->read_bits = 0;
        return tmcuart_done(t);
    }
    timer->waketime += t->bit_time;
    return FW_SF_RESCHEDULE;
}

/* The last bit has been on the line for its full time. */
static uint_fast8_t tmcuart_sent_event(struct fw_timer *timer)
{
    struct tmcuart *t = (struct tmcuart *)timer;
    if (!t->read_bits)
        return tmcuart_done(t);
    if (t->single_wire)
        t->rx = hal_gpio_in_setup(t->rx_pin, t->pull_up);
    t->pos = 0;
    t->seen_high = 0;
    memset(t->data, 0, sizeof(t->data));
    timer->func = tmcuart_wait_reply_event;
    timer->waketime += TMCUART_REPLY_WAIT_BITS * t->bit_time;
    return FW_SF_RESCHEDULE;
}

/* Drives bit pos, then sleeps until the next bit that changes the level
 * (times are counted from the first bit, so they never drift). */
static uint_fast8_t tmcuart_send_event(struct fw_timer *timer)
{
    struct tmcuart *t = (struct tmcuart *)timer;
    int level = tx_bit(t, t->pos);
    hal_gpio_out_write(t->tx, (uint32_t)level);
    uint8_t pos = t->pos;
    while (++pos < t->write_bits && tx_bit(t, pos) == level)
        ;
    t->pos = pos;
    timer->waketime = t->start_time + pos * t->bit_time;
    if (pos >= t->write_bits)
        timer->func = tmcuart_sent_event;
    return FW_SF_RESCHEDULE;
}

static void command_config_tmcuart(const struct fw_args *args)
{
    struct tmcuart *t = fw_oid_alloc(args->v[0], TMCUART_TYPE, sizeof(*t));
    t->rx_pin = args->v[1];
    t->pull_up = args->v[2] ? 1 : 0;
    t->tx_pin = args->v[3];
    t->bit_time = args->v[4];
    t->single_wire = t->rx_pin == t->tx_pin;
    t->rx = hal_gpio_in_setup(t->rx_pin, t->pull_up);
    /* Set up last, so a one-wire pin ends up an output idling high. */
    t->tx = hal_gpio_out_setup(t->tx_pin, 1);
}
FW_DECL_COMMAND(command_config_tmcuart,
                "config_tmcuart oid=%c rx_pin=%u pull_up=%c tx_pin=%u bit_time=%u");

static void command_tmcuart_send(const struct fw_args *args)
{
    struct tmcuart *t = fw_oid_lookup(args->v[0], TMCUART_TYPE);
    if (t->busy)
        return; /* the host sees no response and sends it again */
    uint32_t write_len = args->v[1], read_len = args->v[2];
    if (write_len > TMCUART_DATA_MAX || read_len > TMCUART_DATA_MAX)
        fw_shutdown("tmcuart data too large");
    memcpy(t->data, args->data[1], write_len);
    t->write_bits = (uint8_t)(write_len * 8);
    t->read_bits = (uint8_t)(read_len * 8);
    t->pos = 0;
    t->busy = 1;
    t->report = 0;
    t->start_time = fw_timer_read_time() + fw_timer_from_us(200);
    t->timer.waketime = t->start_time;
    t->timer.func = t->write_bits ? tmcuart_send_event : tmcuart_sent_event;
    fw_sched_add_timer(&t->timer);
}
FW_DECL_COMMAND(command_tmcuart_send, "tmcuart_send oid=%c write=%*s read=%c");

static void tmcuart_task(void)
{
    int oid;
    struct tmcuart *t;
    fw_foreach_oid(oid, t, TMCUART_TYPE) {
        if (!fw_sched_check_wake(&t->wake) || !t->report)
            continue;
        t->report = 0;
        fw_sendf("tmcuart_response oid=%c read=%*s", oid, (int)(t->read_bits / 8), t->data);
    }
}
FW_DECL_TASK(tmcuart_task);

/* The scheduler drops every timer on shutdown; the lines go back to idle. */
static void tmcuart_shutdown(void)
{
    int oid;
    struct tmcuart *t;
    fw_foreach_oid(oid, t, TMCUART_TYPE) {
        if (t->busy)
            tmcuart_idle_line(t);
        t->busy = 0;
        t->report = 0;
    }
}
FW_DECL_SHUTDOWN(tmcuart_shutdown);
