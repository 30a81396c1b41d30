/* A TMC2209 on its UART, with injectable faults (see plant_tmc2209.h). */
#include "plant_tmc2209.h"

#include <string.h> /* memset */

#define DRV_ERR_CONDS (PLANT_TMC_SHUTDOWN_CONDS & ~PLANT_TMC_COND_UV_CP)
#define IOIN_VERSION 0x21000000u
/* A line that never completes a sync nibble within this time is noise
 * (at 9000 baud, the slowest in use, the nibble takes 0.45 ms). */
#define SYNC_TIMEOUT_NS 2000000

/* The chip's own CRC8 (x^8 + x^2 + x + 1, bytes LSB first): written here
 * rather than shared with the host so that the model checks the host's
 * encoding instead of agreeing with it by construction. */
static uint8_t crc8(const uint8_t *data, int len)
{
    uint8_t crc = 0;
    for (int i = 0; i < len; i++) {
        uint8_t byte = data[i];
        for (int b = 0; b < 8; b++) {
            uint8_t mix = (uint8_t)(((crc >> 7) ^ byte) & 1);
            crc = (uint8_t)((crc << 1) ^ (mix ? 0x07 : 0));
            byte >>= 1;
        }
    }
    return crc;
}

int plant_tmc2209_outputs_enabled(const struct plant_tmc2209 *c)
{
    return !c->outputs_off && !(c->conditions & PLANT_TMC_COND_UV_CP);
}

static void notify_outputs(struct plant_tmc2209 *c, int was_enabled)
{
    int now = plant_tmc2209_outputs_enabled(c);
    if (now != was_enabled && c->outputs_changed)
        c->outputs_changed(c->outputs_arg, now);
}

/* A shutdown condition present now trips the driver again. */
static void apply_conditions(struct plant_tmc2209 *c)
{
    if (c->conditions & DRV_ERR_CONDS) {
        c->gstat |= PLANT_TMC_GSTAT_DRV_ERR;
        c->outputs_off = 1;
    }
}

void plant_tmc2209_reset(struct plant_tmc2209 *c)
{
    int was = plant_tmc2209_outputs_enabled(c);
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[PLANT_TMC_GCONF] = 0x00000101;      /* i_scale_analog, multistep_filt */
    c->regs[PLANT_TMC_IHOLD_IRUN] = 0x00011f10; /* IHOLD 16, IRUN 31, IHOLDDELAY 1 */
    c->regs[PLANT_TMC_TPOWERDOWN] = 20;
    c->regs[PLANT_TMC_CHOPCONF] = 0x10000053;
    c->regs[PLANT_TMC_PWMCONF] = 0xc10d0024;
    c->gstat = PLANT_TMC_GSTAT_RESET;
    c->outputs_off = 0;
    apply_conditions(c);
    c->rx_active = 0;
    c->replying = 0;
    notify_outputs(c, was);
}

void plant_tmc2209_init(struct plant_tmc2209 *c, uint8_t address)
{
    memset(c, 0, sizeof(*c));
    c->address = address & 3;
    c->line = 1;
    plant_tmc2209_reset(c);
}

uint8_t plant_tmc2209_ifcnt(const struct plant_tmc2209 *c)
{
    return (uint8_t)c->regs[PLANT_TMC_IFCNT];
}

uint32_t plant_tmc2209_read(const struct plant_tmc2209 *c, uint8_t reg)
{
    switch (reg & 0x7f) {
    case PLANT_TMC_GSTAT:
        return c->gstat | ((c->conditions & PLANT_TMC_COND_UV_CP) ? PLANT_TMC_GSTAT_UV_CP : 0);
    case PLANT_TMC_IFCNT:
        return c->regs[PLANT_TMC_IFCNT] & 0xff;
    case PLANT_TMC_IOIN:
        return IOIN_VERSION | 0x40; /* version 0x21, PDN_UART high */
    case PLANT_TMC_DRV_STATUS: {
        /* At standstill the coil current is the hold current. */
        uint32_t ihold = c->regs[PLANT_TMC_IHOLD_IRUN] & 0x1f;
        return PLANT_TMC_STST | ihold << 16 | (c->conditions & 0xfffu);
    }
    case PLANT_TMC_GCONF:
    case PLANT_TMC_CHOPCONF:
    case PLANT_TMC_PWMCONF:
        return c->regs[reg & 0x7f];
    default:
        return 0; /* write-only or unmodelled: the chip reads them as 0 */
    }
}

static void write_register(struct plant_tmc2209 *c, uint8_t reg, uint32_t value)
{
    int was = plant_tmc2209_outputs_enabled(c);
    c->stats.writes++;
    c->regs[PLANT_TMC_IFCNT] = (c->regs[PLANT_TMC_IFCNT] + 1) & 0xff;
    switch (reg) {
    case PLANT_TMC_GSTAT:
        /* Write 1 to clear; drv_err only once its cause is gone, and
         * clearing it is what lets the outputs back on. */
        if (value & PLANT_TMC_GSTAT_RESET)
            c->gstat &= ~PLANT_TMC_GSTAT_RESET;
        if ((value & PLANT_TMC_GSTAT_DRV_ERR) && !(c->conditions & DRV_ERR_CONDS)) {
            c->gstat &= ~PLANT_TMC_GSTAT_DRV_ERR;
            c->outputs_off = 0;
        }
        break;
    case PLANT_TMC_IFCNT:
    case PLANT_TMC_IOIN:
    case PLANT_TMC_DRV_STATUS:
        break; /* read-only */
    default:
        c->regs[reg & 0x7f] = value;
        break;
    }
    notify_outputs(c, was);
}

/* The level the MCU drove at time t, from the edges of this datagram. */
static int level_at(const struct plant_tmc2209 *c, double t)
{
    int level = 1;
    for (int i = 0; i < c->edge_count && (double)c->edge_ns[i] <= t; i++)
        level = c->edge_level[i];
    return level;
}

/* Byte i of the datagram, sampled mid-bit; -1 on a framing error. */
static int sample_byte(const struct plant_tmc2209 *c, double bit, int i)
{
    double t0 = (double)c->edge_ns[0] + 10.0 * i * bit;
    if (level_at(c, t0 + 0.5 * bit) != 0 || level_at(c, t0 + 9.5 * bit) != 1)
        return -1;
    int v = 0;
    for (int b = 0; b < 8; b++)
        v |= level_at(c, t0 + (1.5 + b) * bit) << b;
    return v;
}

/* SENDDELAY: 0 and 1 mean 8 bit times, then 3 * 8, 5 * 8, ... 15 * 8. */
static int send_delay_bits(const struct plant_tmc2209 *c)
{
    uint32_t sd = (c->regs[PLANT_TMC_SLAVECONF] >> 8) & 0xf;
    return 8 * (int)(2 * (sd / 2) + 1);
}

static void start_reply(struct plant_tmc2209 *c, uint8_t reg, double request_end, double bit)
{
    uint32_t v = plant_tmc2209_read(c, reg);
    uint8_t dg[8] = {0x05, 0xff, reg, (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 8), (uint8_t)v, 0};
    dg[7] = crc8(dg, 7);
    memset(c->reply_bits, 0, sizeof(c->reply_bits));
    for (int i = 0; i < 8; i++) {
        int pos = 10 * i;
        uint16_t frame = (uint16_t)(dg[i] << 1 | 0x200); /* start 0, data, stop 1 */
        for (int b = 0; b < 10; b++, pos++)
            if ((frame >> b) & 1)
                c->reply_bits[pos >> 3] |= (uint8_t)(1u << (pos & 7));
    }
    c->reply_bit_ns = bit;
    c->reply_start_ns = request_end + (send_delay_bits(c) + 0.5) * bit;
    c->replying = 1;
    c->stats.reads++;
}

static void process_datagram(struct plant_tmc2209 *c, const uint8_t *dg, int n, double bit)
{
    if ((dg[0] & 0x0f) != 0x05) {
        c->stats.garbled++;
        return;
    }
    if (crc8(dg, n - 1) != dg[n - 1]) {
        c->stats.crc_errors++;
        return;
    }
    if (dg[1] != c->address) {
        c->stats.foreign++;
        return;
    }
    uint8_t reg = dg[2] & 0x7f;
    if (dg[2] & 0x80) {
        uint32_t v = (uint32_t)dg[3] << 24 | (uint32_t)dg[4] << 16 | (uint32_t)dg[5] << 8 | dg[6];
        write_register(c, reg, v);
    } else {
        start_reply(c, reg, (double)c->edge_ns[0] + 40.0 * bit, bit);
    }
}

/* The bit time from the sync nibble: falling edges at bits 0, 2 and 4.
 * 0 while not all of them are in, -1 when the line is no sync. */
static double sync_bit_time(const struct plant_tmc2209 *c)
{
    int64_t falls[3];
    int n = 0;
    for (int i = 0; i < c->edge_count && n < 3; i++)
        if (c->edge_level[i] == 0)
            falls[n++] = c->edge_ns[i];
    if (n < 3)
        return 0;
    double bit = (double)(falls[2] - falls[0]) / 4.0;
    double mid = (double)(falls[1] - falls[0]);
    if (bit <= 0 || mid < 1.75 * bit || mid > 2.25 * bit)
        return -1;
    return bit;
}

void plant_tmc2209_settle(struct plant_tmc2209 *c, int64_t t_ns)
{
    if (!c->rx_active)
        return;
    double t0 = (double)c->edge_ns[0], t = (double)t_ns;
    double bit = sync_bit_time(c);
    if (bit < 0 || (bit == 0 && t - t0 > SYNC_TIMEOUT_NS)) {
        c->stats.garbled++;
        c->rx_active = 0;
        return;
    }
    if (bit == 0 || t < t0 + 29.5 * bit)
        return; /* the register byte (and so the length) is not in yet */
    int reg = sample_byte(c, bit, 2);
    int n = reg >= 0 && (reg & 0x80) ? 8 : 4;
    if (t < t0 + (10.0 * n - 0.5) * bit)
        return;
    c->rx_active = 0;
    uint8_t dg[8];
    for (int i = 0; i < n; i++) {
        int v = sample_byte(c, bit, i);
        if (v < 0) {
            c->stats.garbled++;
            return;
        }
        dg[i] = (uint8_t)v;
    }
    process_datagram(c, dg, n, bit);
}

void plant_tmc2209_line(struct plant_tmc2209 *c, uint8_t level, int64_t t_ns)
{
    level = level ? 1 : 0;
    plant_tmc2209_settle(c, t_ns);
    if (level == c->line)
        return;
    c->line = level;
    if (!c->rx_active) {
        if (level)
            return;
        /* A start bit on an idle line: a new datagram (and the end of any
         * reply: the bus is the host's again). */
        c->rx_active = 1;
        c->edge_count = 0;
        c->replying = 0;
    }
    if (c->edge_count >= PLANT_TMC_EDGES_MAX) {
        c->stats.garbled++;
        c->rx_active = 0;
        return;
    }
    c->edge_ns[c->edge_count] = t_ns;
    c->edge_level[c->edge_count] = level;
    c->edge_count++;
}

uint8_t plant_tmc2209_reply_level(struct plant_tmc2209 *c, int64_t t_ns)
{
    plant_tmc2209_settle(c, t_ns);
    if (!c->replying)
        return 1;
    double k = ((double)t_ns - c->reply_start_ns) / c->reply_bit_ns;
    if (k < 0 || k >= 80)
        return 1;
    int pos = (int)k;
    return (c->reply_bits[pos >> 3] >> (pos & 7)) & 1;
}

void plant_tmc2209_set_conditions(struct plant_tmc2209 *c, uint32_t conditions)
{
    int was = plant_tmc2209_outputs_enabled(c);
    c->conditions = conditions;
    apply_conditions(c);
    notify_outputs(c, was);
}
