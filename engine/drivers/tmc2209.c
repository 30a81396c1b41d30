/* TMC2209 drivers on their UART: configuration, register set-up, the
 * periodic status check and its faults (see tmc2209.h).
 *
 * Transfers on one wire are strictly one at a time (the MCU drops a
 * request that arrives while it is busy), so each wire keeps a queue of
 * the drivers waiting to send. A driver runs a short script (set-up, a
 * status poll, a dump, a clear) of register reads and writes, one transfer
 * in flight; a write counts only once a read of IFCNT shows the chip took
 * it. A reply that is missing or damaged is retried; a driver that fails
 * five times in a row is reported, unless its MCU is down (that fault is
 * the MCU's). */
#include "drivers/tmc2209.h"

#include <math.h>    /* sqrt, lround */
#include <stdio.h>   /* snprintf */
#include <stdlib.h>  /* calloc, free */
#include <string.h>  /* strcmp, strncmp, memset */

#include <cjson/cJSON.h> /* cJSON_AddStringToObject */

#include "config/config.h"    /* fs_config_* */
#include "core/error.h"       /* fs_error_set */
#include "core/log.h"         /* fs_log */
#include "core/reactor.h"     /* fs_timer, fs_reactor_* */
#include "drivers/tmc_uart.h" /* fs_tmc_uart_* */
#include "fault/fault.h"      /* fs_faults_add_source, fs_fault_raise */
#include "gcode/gcode.h"      /* fs_gcode_register */
#include "mcu/link.h"         /* fs_link_get_stats */
#include "mcu/mcu.h"          /* fs_mcu_* */
#include "printer/printer.h"  /* struct fs_printer */

/* Registers. */
enum {
    REG_GCONF = 0x00,
    REG_GSTAT = 0x01,
    REG_IFCNT = 0x02,
    REG_IOIN = 0x06,
    REG_IHOLD_IRUN = 0x10,
    REG_TPOWERDOWN = 0x11,
    REG_TPWMTHRS = 0x13,
    REG_SGTHRS = 0x40,
    REG_CHOPCONF = 0x6c,
    REG_DRV_STATUS = 0x6f,
    REG_PWMCONF = 0x70,
};

#define TMC_BAUD 40000.0
#define TMC_CLOCK_HZ 12e6 /* the chip's internal clock: TSTEP's unit */
#define POLL_INTERVAL_S 1.0
#define TRANSFER_TIMEOUT_S 0.25
/* While the link may still hold the request, a timeout only re-checks. */
#define TRANSFER_RECHECK_S 0.05
#define MAX_TRIES 5
#define SCRIPT_MAX 16
#define WIRES_MAX 16
#define WIRE_DRIVERS_MAX 4
#define MAX_CURRENT_A 2.0
#define STST 0x80000000u

/* ---- status bits ----------------------------------------------------- */

struct status_bit {
    const char *name;
    uint8_t reg;
    uint32_t mask;
    enum fs_fault_kind kind;
    const char *meaning;
};

static const struct status_bit status_bits[] = {
    {"ot", REG_DRV_STATUS, 0x2, FS_FAULT_DRIVER_ERROR, "over-temperature: outputs off"},
    {"s2ga", REG_DRV_STATUS, 0x4, FS_FAULT_DRIVER_ERROR, "short to ground on coil A"},
    {"s2gb", REG_DRV_STATUS, 0x8, FS_FAULT_DRIVER_ERROR, "short to ground on coil B"},
    {"s2vsa", REG_DRV_STATUS, 0x10, FS_FAULT_DRIVER_ERROR, "short to supply on coil A"},
    {"s2vsb", REG_DRV_STATUS, 0x20, FS_FAULT_DRIVER_ERROR, "short to supply on coil B"},
    {"drv_err", REG_GSTAT, 0x2, FS_FAULT_DRIVER_ERROR, "outputs switched off by a fault"},
    {"uv_cp", REG_GSTAT, 0x4, FS_FAULT_DRIVER_ERROR, "charge pump under-voltage (motor supply)"},
    {"reset", REG_GSTAT, 0x1, FS_FAULT_DRIVER_ERROR,
     "the driver restarted: its settings are back at their defaults"},
    {"otpw", REG_DRV_STATUS, 0x1, FS_FAULT_DRIVER_WARNING, "over-temperature pre-warning"},
    {"ola", REG_DRV_STATUS, 0x40, FS_FAULT_DRIVER_WARNING,
     "open load on coil A (not judged at standstill; may be false at high speed)"},
    {"olb", REG_DRV_STATUS, 0x80, FS_FAULT_DRIVER_WARNING,
     "open load on coil B (not judged at standstill; may be false at high speed)"},
};
#define STATUS_BIT_COUNT ((int)(sizeof(status_bits) / sizeof(status_bits[0])))
#define NO_ANSWER_BIT (1u << STATUS_BIT_COUNT) /* not a register bit: silence */

/* ---- register fields the configuration may set ------------------------ */

struct field {
    const char *option; /* "driver_toff" (lower case, as the config keeps names) */
    uint8_t reg;
    uint8_t shift, bits;
    int dflt;
};

static const struct field fields[] = {
    {"driver_toff", REG_CHOPCONF, 0, 4, 3},
    {"driver_hstrt", REG_CHOPCONF, 4, 3, 5},
    {"driver_hend", REG_CHOPCONF, 7, 4, 0},
    {"driver_tbl", REG_CHOPCONF, 15, 2, 2},
    {"driver_iholddelay", REG_IHOLD_IRUN, 16, 4, 8},
    {"driver_tpowerdown", REG_TPOWERDOWN, 0, 8, 20},
    {"driver_multistep_filt", REG_GCONF, 8, 1, 1},
    {"driver_pwm_ofs", REG_PWMCONF, 0, 8, 36},
    {"driver_pwm_grad", REG_PWMCONF, 8, 8, 14},
    {"driver_pwm_freq", REG_PWMCONF, 16, 2, 1},
    {"driver_pwm_autoscale", REG_PWMCONF, 18, 1, 1},
    {"driver_pwm_autograd", REG_PWMCONF, 19, 1, 1},
    {"driver_pwm_reg", REG_PWMCONF, 24, 4, 8},
    {"driver_pwm_lim", REG_PWMCONF, 28, 4, 12},
    {"driver_sgthrs", REG_SGTHRS, 0, 8, 0},
};
#define FIELD_COUNT ((int)(sizeof(fields) / sizeof(fields[0])))

/* GCONF and CHOPCONF bits set from other options. */
#define GCONF_EN_SPREADCYCLE (1u << 2)
#define GCONF_PDN_DISABLE (1u << 6)
#define GCONF_MSTEP_REG_SELECT (1u << 7)
#define CHOPCONF_VSENSE (1u << 17)
#define CHOPCONF_INTPOL (1u << 28)

/* ---- objects ---------------------------------------------------------- */

enum script_kind { SCRIPT_NONE, SCRIPT_INIT, SCRIPT_CLEAR, SCRIPT_CURRENT, SCRIPT_DUMP, SCRIPT_POLL };

struct step {
    uint8_t write;
    uint8_t reg;
    uint32_t value;
};

struct tmc_wire;

struct fs_tmc2209 {
    struct fs_tmc_drivers *owner;
    struct tmc_wire *wire;
    char stepper[FS_FAULT_NAME_MAX];
    char source[FS_FAULT_NAME_MAX]; /* "tmc2209 stepper_x" */
    uint8_t address;
    unsigned axes;                  /* FS_FAULT_AXIS_* its motor moves */
    struct fs_fault_source *src;

    uint32_t wanted[128];  /* registers as configured, before any write */
    uint32_t written[128]; /* confirmed by IFCNT */
    uint32_t read_value[128];
    uint8_t was_read[128];
    uint8_t ifcnt;
    unsigned long transfers;

    /* Script under way, and what is waiting. */
    enum script_kind running;
    struct step script[SCRIPT_MAX];
    int script_len, script_pos;
    int verifying; /* the write is out; reading IFCNT */
    int tries;
    int pending_init, pending_clear, pending_current, pending_dump;
    int init_done, clear_done, current_done, dump_done, script_failed;
    double rsense; /* ohm */
    int vsense;    /* the sense range chosen for run_current */

    int ready, unavailable, needs_init;
    uint32_t raised;  /* status bits (and NO_ANSWER_BIT) already reported */
    struct fs_timer poll_timer;
};

/* One UART wire: a tmcuart object on an MCU, shared by up to 4 drivers. */
struct tmc_wire {
    struct fs_tmc_drivers *owner;
    struct fs_mcu *mcu;
    int mcu_index;
    char where[FS_PRINTER_WHERE_MAX];
    char rx_pin[32], tx_pin[32];
    int pull_up;
    int oid;
    struct fs_tmc2209 *drivers[WIRE_DRIVERS_MAX];
    int driver_count;
    struct fs_tmc2209 *waiting[WIRE_DRIVERS_MAX]; /* FIFO of drivers with a transfer to send */
    int waiting_count;
    struct fs_tmc2209 *in_flight;
    struct fs_timer timeout_timer;
    /* After a timeout: the link sequence the request was in by then
     * (valid when fence_set) and whether the MCU has acknowledged it. */
    uint32_t fence_seq;
    int fence_set, fence_acked;
};

struct fs_tmc_drivers {
    struct fs_printer *p;
    struct fs_tmc2209 *drivers[FS_FAULT_SOURCES_MAX];
    int count;
    struct tmc_wire wires[WIRES_MAX];
    int wire_count;
};

static void script_next(struct fs_tmc2209 *t);
static void wire_kick(struct tmc_wire *w);

static struct fs_reactor *reactor_of(const struct fs_tmc2209 *t)
{
    return t->owner->p->reactor;
}

/* ---- the wire --------------------------------------------------------- */

static void wire_enqueue(struct tmc_wire *w, struct fs_tmc2209 *t)
{
    for (int i = 0; i < w->waiting_count; i++)
        if (w->waiting[i] == t)
            return;
    if (w->waiting_count < WIRE_DRIVERS_MAX)
        w->waiting[w->waiting_count++] = t;
    wire_kick(w);
}

static const struct step *current_step(const struct fs_tmc2209 *t)
{
    return &t->script[t->script_pos];
}

/* What the driver sends next: the step, or the IFCNT read confirming it. */
static int encode_transfer(const struct fs_tmc2209 *t, uint8_t *bits, int *read)
{
    const struct step *s = current_step(t);
    if (s->write && !t->verifying) {
        *read = 0;
        return (int)fs_tmc_uart_encode_write(t->address, s->reg, s->value, bits);
    }
    *read = FS_TMC_UART_REPLY_BYTES;
    return (int)fs_tmc_uart_encode_read(t->address, t->verifying ? REG_IFCNT : s->reg, bits);
}

static void wire_kick(struct tmc_wire *w)
{
    if (w->in_flight || !w->waiting_count || w->oid < 0)
        return;
    struct fs_tmc2209 *t = w->waiting[0];
    memmove(w->waiting, w->waiting + 1, (size_t)(w->waiting_count - 1) * sizeof(w->waiting[0]));
    w->waiting_count--;
    uint8_t bits[FS_TMC_UART_WRITE_REQ_BYTES];
    int read;
    int n = encode_transfer(t, bits, &read);
    char text[96];
    int len = snprintf(text, sizeof(text), "tmcuart_send oid=%d write=", w->oid);
    for (int i = 0; i < n; i++)
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%02x", bits[i]);
    snprintf(text + len, sizeof(text) - (size_t)len, " read=%d", read);
    struct fs_error err = {{0}};
    w->in_flight = t;
    w->fence_set = w->fence_acked = 0;
    t->transfers++;
    struct fs_reactor *r = reactor_of(t);
    fs_reactor_timer_set(r, &w->timeout_timer, fs_reactor_now(r) + TRANSFER_TIMEOUT_S);
    if (fs_mcu_send_text(w->mcu, text, &err) < 0)
        fs_log(w->owner->p->log, FS_LOG_WARN, "tmc2209 %s: %s", t->stepper, err.msg);
}

static void transfer_result(struct fs_tmc2209 *t, int ok, uint32_t value);

static void wire_finish(struct tmc_wire *w, int ok, const uint8_t *data, size_t len)
{
    struct fs_tmc2209 *t = w->in_flight;
    if (!t)
        return;
    w->in_flight = NULL;
    fs_reactor_timer_cancel(reactor_of(t), &w->timeout_timer);
    const struct step *s = current_step(t);
    uint32_t value = 0;
    if (ok && (!s->write || t->verifying)) {
        uint8_t reg = t->verifying ? REG_IFCNT : s->reg;
        ok = fs_tmc_uart_decode_reply(reg, data, len, &value) == 0;
    }
    transfer_result(t, ok, value);
    wire_kick(w);
}

static void on_response(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct tmc_wire *w = arg;
    int idx = fs_msgformat_param_index(msg->format, "read");
    if (idx < 0)
        return;
    wire_finish(w, 1, msg->data[idx], (size_t)msg->values[idx]);
}

/* No answer in time. Replies carry no driver address, so one that is only
 * late would be taken for the next transfer's, possibly another driver's
 * on the same wire (its register, its fault bits). The transfer is given up
 * only once the MCU has acknowledged every block up to the one the request
 * went in and a whole timeout has passed since: by then its answer came or
 * never will (lost on the way back). */
static double on_transfer_timeout(struct fs_timer *timer, double eventtime)
{
    struct tmc_wire *w = timer->arg;
    struct fs_link_stats st;
    fs_link_get_stats(fs_mcu_link(w->mcu), &st);
    if (!w->fence_set) {
        if (st.ready_bytes)
            return eventtime + TRANSFER_RECHECK_S; /* the request may not have left */
        w->fence_seq = st.send_seq;
        w->fence_set = 1;
    }
    if (!w->fence_acked) {
        if ((int32_t)(st.receive_seq - w->fence_seq) < 0)
            return eventtime + TRANSFER_RECHECK_S;
        w->fence_acked = 1;
        return eventtime + TRANSFER_TIMEOUT_S;
    }
    wire_finish(w, 0, NULL, 0);
    return FS_NEVER;
}

/* ---- faults ----------------------------------------------------------- */

static uint32_t current_bits(const struct fs_tmc2209 *t)
{
    uint32_t set = 0;
    for (int i = 0; i < STATUS_BIT_COUNT; i++) {
        const struct status_bit *b = &status_bits[i];
        if (!t->was_read[b->reg] || !(t->read_value[b->reg] & b->mask))
            continue;
        /* Open load cannot be judged with the motor standing still. */
        if (b->kind == FS_FAULT_DRIVER_WARNING && (b->mask & 0xc0) &&
            (t->read_value[REG_DRV_STATUS] & STST))
            continue;
        set |= 1u << i;
    }
    return set;
}

static uint32_t bit_named(const char *name)
{
    for (int i = 0; i < STATUS_BIT_COUNT; i++)
        if (!strcmp(status_bits[i].name, name))
            return 1u << i;
    return 0;
}

static uint32_t kind_mask(enum fs_fault_kind kind)
{
    uint32_t m = 0;
    for (int i = 0; i < STATUS_BIT_COUNT; i++)
        if (status_bits[i].kind == kind)
            m |= 1u << i;
    return kind == FS_FAULT_DRIVER_ERROR ? m | NO_ANSWER_BIT : m;
}

/* "ot drv_err (over-temperature: outputs off)". */
static void describe_bits(uint32_t set, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    const char *first = NULL;
    for (int i = 0; i < STATUS_BIT_COUNT && len < cap; i++) {
        if (!(set & (1u << i)))
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " " : "", status_bits[i].name);
        if (!first)
            first = status_bits[i].meaning;
    }
    if (first && len < cap)
        snprintf(out + len, cap - len, " (%s)", first);
}

/* One literal raise per kind: the raise sites are how the catalogue is
 * checked against the code (tests/fault/check_raise_sites.sh). */
static void raise_bits(struct fs_tmc2209 *t, enum fs_fault_kind kind, uint32_t set)
{
    char names[160];
    describe_bits(set, names, sizeof(names));
    unsigned gstat = (unsigned)t->read_value[REG_GSTAT];
    unsigned drv = (unsigned)t->read_value[REG_DRV_STATUS];
    if (kind == FS_FAULT_DRIVER_WARNING)
        fs_fault_raise(t->src, FS_FAULT_DRIVER_WARNING, "%s; GSTAT=0x%08x DRV_STATUS=0x%08x",
                       names, gstat, drv);
    else
        fs_fault_raise(t->src, FS_FAULT_DRIVER_ERROR, "%s; GSTAT=0x%08x DRV_STATUS=0x%08x",
                       names, gstat, drv);
}

/* A bit is reported when it appears. Errors stay reported until cleared;
 * a warning that goes away may be reported again when it comes back. */
static void check_status(struct fs_tmc2209 *t)
{
    uint32_t set = current_bits(t);
    uint32_t warn = kind_mask(FS_FAULT_DRIVER_WARNING);
    uint32_t errors = kind_mask(FS_FAULT_DRIVER_ERROR);
    t->raised &= ~(warn & ~set);
    uint32_t fresh = set & ~t->raised;
    if (set & bit_named("reset"))
        t->needs_init = 1;
    t->raised |= fresh;
    if (fresh & errors)
        raise_bits(t, FS_FAULT_DRIVER_ERROR, set & errors);
    if (fresh & warn)
        raise_bits(t, FS_FAULT_DRIVER_WARNING, set & warn);
}

/* An MCU that shut down or stopped answering carries no transfers (a shut
 * down one would answer each with is_shutdown). */
static int mcu_down(const struct tmc_wire *w)
{
    const struct fs_mcu_state *st = fs_mcu_state(w->mcu);
    return (st && st->is_shutdown) || (w->owner->p->mcu_lost_mask & (1u << w->mcu_index));
}

/* Five failures in a row: the driver does not answer (or takes no write).
 * Not reported while its MCU is down: that is the MCU's fault. */
static void report_silence(struct fs_tmc2209 *t, const struct step *s)
{
    if (mcu_down(t->wire))
        return;
    if (t->raised & NO_ANSWER_BIT)
        return;
    t->raised |= NO_ANSWER_BIT;
    fs_fault_raise(t->src, FS_FAULT_DRIVER_ERROR,
                   "no answer from the driver: %d tries to %s register 0x%02x (uart_pin %s:%s,"
                   " uart_address %d)",
                   MAX_TRIES, s->write ? "write" : "read", s->reg, fs_mcu_name(t->wire->mcu),
                   t->wire->rx_pin, t->address);
}

/* ---- scripts ---------------------------------------------------------- */

static void add_step(struct fs_tmc2209 *t, int write, uint8_t reg, uint32_t value)
{
    if (t->script_len < SCRIPT_MAX)
        t->script[t->script_len++] = (struct step){(uint8_t)write, reg, value};
}

static const uint8_t setup_regs[] = {REG_GCONF,      REG_CHOPCONF, REG_IHOLD_IRUN,
                                     REG_TPOWERDOWN, REG_TPWMTHRS, REG_PWMCONF};

static void build_script(struct fs_tmc2209 *t, enum script_kind kind)
{
    t->script_len = t->script_pos = 0;
    t->verifying = 0;
    t->tries = 0;
    t->running = kind;
    switch (kind) {
    case SCRIPT_INIT:
    case SCRIPT_CLEAR:
        /* IFCNT first: the count each write is checked against. */
        add_step(t, 0, REG_IFCNT, 0);
        add_step(t, 1, REG_GSTAT, 0x7); /* writing 1s clears the flags */
        if (kind == SCRIPT_INIT || t->needs_init) {
            for (size_t i = 0; i < sizeof(setup_regs); i++)
                add_step(t, 1, setup_regs[i], t->wanted[setup_regs[i]]);
            if (t->wanted[REG_SGTHRS])
                add_step(t, 1, REG_SGTHRS, t->wanted[REG_SGTHRS]);
        }
        add_step(t, 0, REG_GSTAT, 0);
        add_step(t, 0, REG_DRV_STATUS, 0);
        break;
    case SCRIPT_CURRENT:
        add_step(t, 0, REG_IFCNT, 0);
        add_step(t, 1, REG_IHOLD_IRUN, t->wanted[REG_IHOLD_IRUN]);
        break;
    case SCRIPT_DUMP: {
        static const uint8_t regs[] = {REG_GCONF, REG_GSTAT,    REG_IFCNT,     REG_IOIN,
                                       REG_CHOPCONF, REG_DRV_STATUS, REG_PWMCONF};
        for (size_t i = 0; i < sizeof(regs); i++)
            add_step(t, 0, regs[i], 0);
        break;
    }
    case SCRIPT_POLL:
        add_step(t, 0, REG_GSTAT, 0);
        add_step(t, 0, REG_DRV_STATUS, 0);
        break;
    case SCRIPT_NONE:
        break;
    }
}

/* Picks the most urgent waiting script when idle. */
static void script_start_pending(struct fs_tmc2209 *t)
{
    if (t->running != SCRIPT_NONE)
        return;
    enum script_kind next = SCRIPT_NONE;
    if (t->pending_init) {
        t->pending_init = 0;
        next = SCRIPT_INIT;
    } else if (t->pending_clear) {
        t->pending_clear = 0;
        next = SCRIPT_CLEAR;
    } else if (t->pending_current) {
        t->pending_current = 0;
        next = SCRIPT_CURRENT;
    } else if (t->pending_dump) {
        t->pending_dump = 0;
        next = SCRIPT_DUMP;
    }
    if (next == SCRIPT_NONE)
        return;
    build_script(t, next);
    script_next(t);
}

static void script_end(struct fs_tmc2209 *t, int ok)
{
    enum script_kind kind = t->running;
    t->running = SCRIPT_NONE;
    t->script_failed = !ok;
    if (ok)
        t->raised &= ~NO_ANSWER_BIT;
    switch (kind) {
    case SCRIPT_INIT:
        t->init_done = 1;
        t->ready = ok;
        if (!ok)
            t->needs_init = 1;
        if (ok) {
            t->needs_init = 0;
            /* The power-on reset flag was just cleared by us: not news. */
            check_status(t);
        }
        break;
    case SCRIPT_CLEAR:
        if (ok)
            t->needs_init = 0; /* the clear wrote every setting if they were lost */
        t->clear_done = 1;
        break;
    case SCRIPT_DUMP:
        t->dump_done = 1;
        break;
    case SCRIPT_CURRENT:
        t->current_done = 1;
        break;
    case SCRIPT_POLL:
        if (ok)
            check_status(t);
        break;
    case SCRIPT_NONE:
        break;
    }
    script_start_pending(t);
}

static void script_next(struct fs_tmc2209 *t)
{
    if (t->script_pos >= t->script_len) {
        script_end(t, 1);
        return;
    }
    wire_enqueue(t->wire, t);
}

static void retry_or_fail(struct fs_tmc2209 *t)
{
    if (++t->tries < MAX_TRIES) {
        wire_enqueue(t->wire, t);
        return;
    }
    report_silence(t, current_step(t));
    script_end(t, 0);
}

static void transfer_result(struct fs_tmc2209 *t, int ok, uint32_t value)
{
    const struct step *s = current_step(t);
    if (!ok) {
        retry_or_fail(t);
        return;
    }
    if (s->write && !t->verifying) {
        t->verifying = 1; /* the write went out: did the chip count it? */
        wire_enqueue(t->wire, t);
        return;
    }
    if (t->verifying) {
        uint8_t count = (uint8_t)value;
        int taken = count == (uint8_t)(t->ifcnt + 1);
        t->ifcnt = count;
        t->verifying = 0;
        if (!taken) {
            retry_or_fail(t);
            return;
        }
        t->written[s->reg] = s->value;
    } else {
        t->read_value[s->reg] = value;
        t->was_read[s->reg] = 1;
        if (s->reg == REG_IFCNT)
            t->ifcnt = (uint8_t)value;
    }
    t->tries = 0;
    t->script_pos++;
    script_next(t);
}

static double on_poll(struct fs_timer *timer, double eventtime)
{
    struct fs_tmc2209 *t = timer->arg;
    if (t->running != SCRIPT_NONE || mcu_down(t->wire))
        return eventtime + POLL_INTERVAL_S;
    if (!t->ready) {
        /* Not set up yet (it did not answer: its motor supply may come
         * on later, and the chip runs from it): try again. */
        t->pending_init = 1;
        script_start_pending(t);
    } else {
        build_script(t, SCRIPT_POLL);
        script_next(t);
    }
    return eventtime + POLL_INTERVAL_S;
}

/* ---- MCU phases ------------------------------------------------------- */

static int wire_build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct tmc_wire *w = arg;
    w->oid = fs_mcu_create_oid(m);
    uint32_t bit_ticks = fs_mcu_seconds_to_ticks(m, 1.0 / TMC_BAUD);
    if (fs_mcu_add_config_cmd(m, err,
                              "config_tmcuart oid=%d rx_pin=%s pull_up=%d tx_pin=%s bit_time=%u",
                              w->oid, w->rx_pin, w->pull_up > 0, w->tx_pin[0] ? w->tx_pin : w->rx_pin,
                              (unsigned)bit_ticks) < 0)
        return -1;
    return fs_mcu_register_response(m, "tmcuart_response oid=%c read=%*s", w->oid, on_response, w,
                                    err);
}

/* After every configure the chips are set up again: an MCU restart may
 * have come with a power cycle of the drivers. */
static int wire_configured(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    (void)m;
    (void)err;
    struct tmc_wire *w = arg;
    w->waiting_count = 0;
    w->in_flight = NULL;
    struct fs_reactor *r = w->owner->p->reactor;
    fs_reactor_timer_cancel(r, &w->timeout_timer);
    for (int i = 0; i < w->driver_count; i++) {
        struct fs_tmc2209 *t = w->drivers[i];
        t->running = SCRIPT_NONE;
        t->ready = 0;
        t->pending_init = 1;
        script_start_pending(t);
        fs_reactor_timer_set(r, &t->poll_timer, fs_reactor_now(r) + POLL_INTERVAL_S);
    }
    return 0;
}

/* ---- fault operations ------------------------------------------------- */

static void op_disable(void *arg, enum fs_fault_kind kind)
{
    (void)kind;
    struct fs_tmc2209 *t = arg;
    t->unavailable = 1;
}

static unsigned op_untrusted_axes(void *arg, enum fs_fault_kind kind)
{
    struct fs_tmc2209 *t = arg;
    return kind == FS_FAULT_DRIVER_ERROR ? t->axes : 0;
}

static void op_describe(void *arg, struct cJSON *obj)
{
    struct fs_tmc2209 *t = arg;
    char buf[16];
    snprintf(buf, sizeof(buf), "0x%08x", (unsigned)t->read_value[REG_GSTAT]);
    cJSON_AddStringToObject(obj, "gstat", buf);
    snprintf(buf, sizeof(buf), "0x%08x", (unsigned)t->read_value[REG_DRV_STATUS]);
    cJSON_AddStringToObject(obj, "drv_status", buf);
    cJSON_AddBoolToObject(obj, "ready", t->ready);
}

static int script_flag_set(void *arg)
{
    return *(const int *)arg;
}

/* Runs a script and waits for it (G-code context); -1 when it cannot wait
 * (inside a timer) or the driver did not answer. */
static int run_and_wait(struct fs_tmc2209 *t, int *pending, int *done, struct fs_error *err)
{
    struct fs_reactor *r = reactor_of(t);
    if (r->running_timers)
        return fs_error_set(err, "%s: cannot read the driver from a timer", t->source);
    *done = 0;
    *pending = 1;
    script_start_pending(t);
    if (fs_reactor_wait_for(r, script_flag_set, done, fs_reactor_now(r) + 5.0) < 0)
        return fs_error_set(err, "%s: the driver's UART did not finish in 5 s", t->source);
    if (t->script_failed)
        return fs_error_set(err, "%s: no answer from the driver", t->source);
    return 0;
}

static int op_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    struct fs_tmc2209 *t = arg;
    if (run_and_wait(t, &t->pending_clear, &t->clear_done, err) < 0)
        return -1;
    uint32_t still = current_bits(t) & kind_mask(kind);
    if (still) {
        char names[160];
        describe_bits(still, names, sizeof(names));
        return fs_error_set(err, "%s still reports %s; GSTAT=0x%08x DRV_STATUS=0x%08x", t->source,
                            names, (unsigned)t->read_value[REG_GSTAT],
                            (unsigned)t->read_value[REG_DRV_STATUS]);
    }
    t->raised &= ~kind_mask(kind);
    t->unavailable = 0;
    t->ready = 1;
    return 0;
}

static const struct fs_fault_source_ops tmc_fault_ops = {
    .disable = op_disable,
    .clear = op_clear,
    .untrusted_axes = op_untrusted_axes,
    .describe = op_describe,
};

/* ---- configuration ---------------------------------------------------- */

static int read_microsteps(struct fs_config *cfg, struct fs_config_section *s, const char *stepper,
                           int *mres, double *step_dist_mm, struct fs_error *err)
{
    struct fs_config_section *st = fs_config_get_section(cfg, stepper);
    if (!st)
        return fs_config_error(s, NULL, err, "no [%s] section for this driver", stepper);
    int microsteps;
    double rotation, full_steps;
    if (fs_config_get_int(st, "microsteps", FS_CFG_REQUIRED, 1, 256, &microsteps, err) < 0 ||
        fs_config_get_float_above(st, "rotation_distance", NAN, 0.0, &rotation, err) < 0 ||
        fs_config_get_float_above(st, "full_steps_per_rotation", 200, 0.0, &full_steps, err) < 0)
        return -1;
    *mres = -1;
    for (int m = 0; m <= 8; m++)
        if (256 >> m == microsteps)
            *mres = m;
    if (*mres < 0)
        return fs_config_error(st, "microsteps", err,
                               "the TMC2209 takes 1, 2, 4, ... 256 microsteps, not %d", microsteps);
    *step_dist_mm = rotation / (full_steps * microsteps);
    return 0;
}

/* Current scale for a current (A rms): CS 0..31 with the sense range
 * (vsense 1: 0.18 V full scale, used when the fine range is enough). */
static int current_scale(double amps, double rsense, int vsense)
{
    double vfs = vsense ? 0.180 : 0.325;
    long cs = lround(32.0 * sqrt(2.0) * amps * (rsense + 0.020) / vfs) - 1;
    return cs < 0 ? 0 : cs > 31 ? 31 : (int)cs;
}

static uint32_t put_field(uint32_t reg, unsigned shift, unsigned bits, uint32_t v)
{
    uint32_t mask = ((bits >= 32 ? 0u : 1u << bits) - 1u) << shift;
    return (reg & ~mask) | ((v << shift) & mask);
}

static int refuse_unsupported(struct fs_config_section *s, struct fs_error *err)
{
    for (int i = 0; i < fs_config_option_count(s); i++) {
        const char *name = fs_config_option_name(s, i);
        if (!strcmp(name, "select_pins") || !strcmp(name, "diag_pin"))
            return fs_config_error(s, name, err,
                                   "not supported by failsoft's TMC2209 module (no analog mux, "
                                   "no sensorless homing)");
        if (strncmp(name, "driver_", 7))
            continue;
        int known = 0;
        for (int f = 0; f < FIELD_COUNT; f++)
            known |= !strcmp(name, fields[f].option);
        if (!known)
            return fs_config_error(s, name, err,
                                   "register override not supported; failsoft takes driver_TOFF,"
                                   " driver_HSTRT, driver_HEND, driver_TBL, driver_IHOLDDELAY,"
                                   " driver_TPOWERDOWN, driver_MULTISTEP_FILT, driver_PWM_OFS,"
                                   " driver_PWM_GRAD, driver_PWM_FREQ, driver_PWM_AUTOSCALE,"
                                   " driver_PWM_AUTOGRAD, driver_PWM_REG, driver_PWM_LIM,"
                                   " driver_SGTHRS");
    }
    return 0;
}

static int read_registers(struct fs_tmc_drivers *d, struct fs_config_section *s,
                          struct fs_tmc2209 *t, struct fs_error *err)
{
    double run, hold, rsense, threshold;
    int interpolate, mres = 0;
    double step_dist = 0.0;
    if (fs_config_get_float(s, "run_current", NAN, 0.0, MAX_CURRENT_A, &run, err) < 0 ||
        fs_config_get_float(s, "hold_current", run, 0.0, MAX_CURRENT_A, &hold, err) < 0 ||
        fs_config_get_float_above(s, "sense_resistor", 0.110, 0.0, &rsense, err) < 0 ||
        fs_config_get_float(s, "stealthchop_threshold", 0.0, 0.0, INFINITY, &threshold, err) < 0 ||
        fs_config_get_bool(s, "interpolate", 1, &interpolate, err) < 0 ||
        read_microsteps(d->p->config, s, t->stepper, &mres, &step_dist, err) < 0)
        return -1;
    if (run <= 0.0)
        return fs_config_error(s, "run_current", err, "must be above 0");
    uint32_t *w = t->wanted;
    for (int f = 0; f < FIELD_COUNT; f++) {
        int v;
        const struct field *fd = &fields[f];
        if (fs_config_get_int(s, fd->option, fd->dflt, 0, (1 << fd->bits) - 1, &v, err) < 0)
            return -1;
        w[fd->reg] = put_field(w[fd->reg], fd->shift, fd->bits, (uint32_t)v);
    }
    /* The fine sense range when the run current fits it: more resolution. */
    int vsense = current_scale(run, rsense, 0) < 16;
    t->rsense = rsense;
    t->vsense = vsense;
    int irun = current_scale(run, rsense, vsense);
    int ihold = current_scale(hold, rsense, vsense);
    if (ihold > irun)
        ihold = irun;
    w[REG_IHOLD_IRUN] = put_field(w[REG_IHOLD_IRUN], 0, 5, (uint32_t)ihold);
    w[REG_IHOLD_IRUN] = put_field(w[REG_IHOLD_IRUN], 8, 5, (uint32_t)irun);
    w[REG_CHOPCONF] = put_field(w[REG_CHOPCONF], 24, 4, (uint32_t)mres);
    if (vsense)
        w[REG_CHOPCONF] |= CHOPCONF_VSENSE;
    if (interpolate)
        w[REG_CHOPCONF] |= CHOPCONF_INTPOL;
    w[REG_GCONF] |= GCONF_PDN_DISABLE | GCONF_MSTEP_REG_SELECT;
    if (threshold > 0.0) {
        /* TSTEP at that speed: chip clocks between 1/256 microsteps. */
        double tstep = TMC_CLOCK_HZ * step_dist * (256 >> mres) / (256.0 * threshold);
        w[REG_TPWMTHRS] = tstep > 0xfffff ? 0xfffff : (uint32_t)tstep;
    } else {
        w[REG_GCONF] |= GCONF_EN_SPREADCYCLE;
        w[REG_TPWMTHRS] = 0;
    }
    return 0;
}

static unsigned stepper_axes(struct fs_config *cfg, const char *stepper)
{
    int corexy = 0;
    struct fs_config_section *ps = fs_config_get_section(cfg, "printer");
    const char *kin = NULL;
    if (ps && fs_config_get_str(ps, "kinematics", "", &kin, NULL) == 0)
        corexy = !strcmp(kin, "corexy");
    if (!strcmp(stepper, "stepper_x") || !strcmp(stepper, "stepper_y"))
        return corexy ? FS_FAULT_AXIS_X | FS_FAULT_AXIS_Y
                      : !strcmp(stepper, "stepper_x") ? FS_FAULT_AXIS_X : FS_FAULT_AXIS_Y;
    if (!strncmp(stepper, "stepper_z", 9))
        return FS_FAULT_AXIS_Z;
    return 0;
}

static unsigned source_flags(unsigned axes)
{
    return (axes & FS_FAULT_AXIS_X ? FS_FAULT_SOURCE_AXIS_X : 0) |
           (axes & FS_FAULT_AXIS_Y ? FS_FAULT_SOURCE_AXIS_Y : 0) |
           (axes & FS_FAULT_AXIS_Z ? FS_FAULT_SOURCE_AXIS_Z : 0);
}

static int mcu_index(const struct fs_printer *p, const struct fs_mcu *m)
{
    for (int i = 0; i < p->mcu_count; i++)
        if (p->mcus[i] == m)
            return i;
    return 0;
}

static struct tmc_wire *find_or_add_wire(struct fs_tmc_drivers *d, struct fs_config_section *s,
                                         struct fs_mcu *m, const struct fs_pin_desc *rx,
                                         const struct fs_pin_desc *tx, struct fs_error *err)
{
    for (int i = 0; i < d->wire_count; i++) {
        struct tmc_wire *w = &d->wires[i];
        if (w->mcu != m || strcmp(w->rx_pin, rx->pin))
            continue;
        if (strcmp(w->tx_pin, tx->pin)) {
            fs_config_error(s, "tx_pin", err, "drivers sharing uart_pin %s must share tx_pin",
                            rx->pin);
            return NULL;
        }
        return w;
    }
    if (d->wire_count >= WIRES_MAX) {
        fs_config_error(s, "uart_pin", err, "more than %d TMC UART wires", WIRES_MAX);
        return NULL;
    }
    struct tmc_wire *w = &d->wires[d->wire_count++];
    w->owner = d;
    w->mcu = m;
    w->mcu_index = mcu_index(d->p, m);
    w->oid = -1;
    w->pull_up = rx->pull_up;
    snprintf(w->rx_pin, sizeof(w->rx_pin), "%s", rx->pin);
    snprintf(w->tx_pin, sizeof(w->tx_pin), "%s", tx->pin);
    fs_printer_section_context(s, w->where, sizeof(w->where));
    fs_timer_init(&w->timeout_timer, on_transfer_timeout, w);
    if (fs_mcu_on_build_config_at(m, w->where, wire_build_config, w, err) < 0 ||
        fs_mcu_on_configured(m, wire_configured, w, err) < 0)
        return NULL;
    return w;
}

static struct fs_tmc2209 *driver_new(struct fs_tmc_drivers *d, struct fs_config_section *s,
                                     struct fs_error *err)
{
    struct fs_tmc2209 *t = calloc(1, sizeof(*t));
    if (!t) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    t->owner = d;
    snprintf(t->stepper, sizeof(t->stepper), "%s", fs_config_section_suffix(s));
    snprintf(t->source, sizeof(t->source), "%s", fs_config_section_name(s));
    fs_timer_init(&t->poll_timer, on_poll, t);
    struct fs_pin_desc rx, tx;
    int address;
    struct fs_mcu *m, *tx_mcu;
    if (refuse_unsupported(s, err) < 0 ||
        fs_config_get_pin(s, "uart_pin", 1, 0, 1, &rx, err) < 0 ||
        fs_config_get_pin(s, "tx_pin", 0, 0, 0, &tx, err) < 0 ||
        fs_config_get_int(s, "uart_address", 0, 0, 3, &address, err) < 0 ||
        fs_printer_pin_mcu(d->p, s, "uart_pin", &rx, &m, err) < 0 ||
        (tx.pin[0] && fs_printer_pin_mcu(d->p, s, "tx_pin", &tx, &tx_mcu, err) < 0) ||
        read_registers(d, s, t, err) < 0)
        goto fail;
    if (tx.pin[0] && tx_mcu != m) {
        fs_config_error(s, "tx_pin", err, "uart_pin and tx_pin must be on one mcu");
        goto fail;
    }
    t->address = (uint8_t)address;
    t->axes = stepper_axes(d->p->config, t->stepper);
    struct tmc_wire *w = find_or_add_wire(d, s, m, &rx, &tx, err);
    if (!w)
        goto fail;
    for (int i = 0; i < w->driver_count; i++)
        if (w->drivers[i]->address == t->address) {
            fs_config_error(s, "uart_address", err, "address %d is taken on this wire by [%s]",
                            address, w->drivers[i]->source);
            goto fail;
        }
    if (w->driver_count >= WIRE_DRIVERS_MAX) {
        fs_config_error(s, "uart_pin", err, "at most %d drivers share one wire", WIRE_DRIVERS_MAX);
        goto fail;
    }
    w->drivers[w->driver_count++] = t;
    t->wire = w;
    if (d->p->faults &&
        !(t->src = fs_faults_add_source(d->p->faults, t->source, FS_FAULT_CLASS_DRIVER,
                                        source_flags(t->axes), s, &tmc_fault_ops, t, err)))
        goto fail;
    return t;
fail:
    free(t);
    return NULL;
}

/* ---- G-code ----------------------------------------------------------- */

static struct fs_tmc2209 *stepper_param(struct fs_tmc_drivers *d, const char *cmd_name,
                                        const struct fs_gcode_command *cmd, struct fs_error *err)
{
    const char *name = fs_gcode_get_str(cmd, "STEPPER", NULL);
    if (!name) {
        fs_error_set(err, "%s: STEPPER= is required", cmd_name);
        return NULL;
    }
    struct fs_tmc2209 *t = fs_tmc_drivers_lookup(d, name);
    if (!t)
        fs_error_set(err, "%s: no [tmc2209 %s]", cmd_name, name);
    return t;
}

/* DUMP_TMC's registers; write-only ones are shown as last written. */
static const struct {
    uint8_t reg;
    uint8_t write_only;
    const char *name;
} dump_regs[] = {
    {REG_GCONF, 0, "GCONF"},          {REG_GSTAT, 0, "GSTAT"},
    {REG_IFCNT, 0, "IFCNT"},          {REG_IOIN, 0, "IOIN"},
    {REG_IHOLD_IRUN, 1, "IHOLD_IRUN"}, {REG_TPOWERDOWN, 1, "TPOWERDOWN"},
    {REG_TPWMTHRS, 1, "TPWMTHRS"},    {REG_SGTHRS, 1, "SGTHRS"},
    {REG_CHOPCONF, 0, "CHOPCONF"},    {REG_DRV_STATUS, 0, "DRV_STATUS"},
    {REG_PWMCONF, 0, "PWMCONF"},
};
#define DUMP_REG_COUNT (sizeof(dump_regs) / sizeof(dump_regs[0]))

/* " ot=1 otpw=1": the status bits set in a GSTAT or DRV_STATUS value. */
static void status_names(uint8_t reg, uint32_t value, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (int b = 0; b < STATUS_BIT_COUNT && len < cap; b++)
        if (status_bits[b].reg == reg && (value & status_bits[b].mask))
            len += (size_t)snprintf(out + len, cap - len, " %s=1", status_bits[b].name);
}

static int cmd_dump_tmc(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                        struct fs_error *err)
{
    struct fs_tmc2209 *t = stepper_param(arg, "DUMP_TMC", cmd, err);
    if (!t)
        return -1;
    if (run_and_wait(t, &t->pending_dump, &t->dump_done, err) < 0)
        return -1;
    fs_gcode_respond_info(g, "========== Write-only registers ==========");
    for (size_t i = 0; i < DUMP_REG_COUNT; i++)
        if (dump_regs[i].write_only)
            fs_gcode_respond_info(g, "%-12s %08x", dump_regs[i].name,
                                  (unsigned)t->written[dump_regs[i].reg]);
    fs_gcode_respond_info(g, "========== Queried registers ==========");
    for (size_t i = 0; i < DUMP_REG_COUNT; i++) {
        uint8_t reg = dump_regs[i].reg;
        if (dump_regs[i].write_only)
            continue;
        char names[160];
        status_names(reg, t->read_value[reg], names, sizeof(names));
        fs_gcode_respond_info(g, "%-12s %08x%s", dump_regs[i].name, (unsigned)t->read_value[reg],
                              names);
    }
    return 0;
}

/* The current a scale gives (A rms), for reports. */
static double scale_current(int cs, double rsense, int vsense)
{
    return (cs + 1) / 32.0 * (vsense ? 0.180 : 0.325) / (rsense + 0.020) / sqrt(2.0);
}

/* SET_TMC_CURRENT STEPPER= [CURRENT=] [HOLDCURRENT=]: the sense range
 * stays the one chosen for run_current (changing it would rewrite
 * CHOPCONF mid-print), so a current beyond it is cut to the range's top. */
static int cmd_set_tmc_current(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                               struct fs_error *err)
{
    struct fs_tmc2209 *t = stepper_param(arg, "SET_TMC_CURRENT", cmd, err);
    if (!t)
        return -1;
    uint32_t reg = t->wanted[REG_IHOLD_IRUN];
    int irun = (int)((reg >> 8) & 0x1f), ihold = (int)(reg & 0x1f);
    double run = scale_current(irun, t->rsense, t->vsense);
    double hold = scale_current(ihold, t->rsense, t->vsense);
    if (fs_gcode_get_float(cmd, "CURRENT", run, 0.0, MAX_CURRENT_A, &run, err) < 0 ||
        fs_gcode_get_float(cmd, "HOLDCURRENT", hold, 0.0, MAX_CURRENT_A, &hold, err) < 0)
        return -1;
    if (fs_gcode_has(cmd, "CURRENT") || fs_gcode_has(cmd, "HOLDCURRENT")) {
        irun = current_scale(run, t->rsense, t->vsense);
        ihold = current_scale(hold, t->rsense, t->vsense);
        if (ihold > irun)
            ihold = irun;
        reg = put_field(reg, 0, 5, (uint32_t)ihold);
        t->wanted[REG_IHOLD_IRUN] = put_field(reg, 8, 5, (uint32_t)irun);
        if (run_and_wait(t, &t->pending_current, &t->current_done, err) < 0)
            return -1;
    }
    fs_gcode_respond_info(g, "%s: run_current: %.2f hold_current: %.2f", t->stepper,
                          scale_current(irun, t->rsense, t->vsense),
                          scale_current(ihold, t->rsense, t->vsense));
    return 0;
}

/* INIT_TMC STEPPER=: write every setting again (after a driver lost its
 * motor supply, say). */
static int cmd_init_tmc(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                        struct fs_error *err)
{
    (void)g;
    struct fs_tmc2209 *t = stepper_param(arg, "INIT_TMC", cmd, err);
    if (!t || run_and_wait(t, &t->pending_init, &t->init_done, err) < 0)
        return -1;
    return 0;
}

/* ---- the set ---------------------------------------------------------- */

struct fs_tmc_drivers *fs_tmc_drivers_new(struct fs_printer *p, struct fs_error *err)
{
    struct fs_tmc_drivers *d = calloc(1, sizeof(*d));
    if (!d) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    d->p = p;
    for (int i = 0; i < fs_config_section_count(p->config); i++) {
        struct fs_config_section *s = fs_config_section_at(p->config, i);
        if (strcmp(fs_config_section_kind(s), "tmc2209"))
            continue;
        if (d->count >= FS_FAULT_SOURCES_MAX) {
            fs_config_error(s, NULL, err, "too many [tmc2209] sections");
            goto fail;
        }
        struct fs_tmc2209 *t = driver_new(d, s, err);
        if (!t)
            goto fail;
        d->drivers[d->count++] = t;
    }
    if (d->count && p->gcode &&
        (fs_gcode_register(p->gcode, "DUMP_TMC", cmd_dump_tmc, d,
                           "Read and print a TMC driver's registers (STEPPER=)", err) < 0 ||
         fs_gcode_register(p->gcode, "SET_TMC_CURRENT", cmd_set_tmc_current, d,
                           "Set a TMC driver's currents (STEPPER= CURRENT= HOLDCURRENT=)",
                           err) < 0 ||
         fs_gcode_register(p->gcode, "INIT_TMC", cmd_init_tmc, d,
                           "Write a TMC driver's settings again (STEPPER=)", err) < 0))
        goto fail;
    return d;
fail:
    fs_tmc_drivers_free(d);
    return NULL;
}

void fs_tmc_drivers_free(struct fs_tmc_drivers *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->count; i++) {
        fs_reactor_timer_cancel(d->p->reactor, &d->drivers[i]->poll_timer);
        free(d->drivers[i]);
    }
    for (int i = 0; i < d->wire_count; i++)
        fs_reactor_timer_cancel(d->p->reactor, &d->wires[i].timeout_timer);
    free(d);
}

struct fs_tmc2209 *fs_tmc_drivers_lookup(const struct fs_tmc_drivers *d, const char *stepper)
{
    for (int i = 0; d && i < d->count; i++)
        if (!strcmp(d->drivers[i]->stepper, stepper))
            return d->drivers[i];
    return NULL;
}

int fs_tmc2209_is_ready(const struct fs_tmc2209 *t) { return t->ready; }
uint32_t fs_tmc2209_written(const struct fs_tmc2209 *t, uint8_t reg) { return t->written[reg & 0x7f]; }
unsigned long fs_tmc2209_transfers(const struct fs_tmc2209 *t) { return t->transfers; }

int fs_tmc2209_last_read(const struct fs_tmc2209 *t, uint8_t reg, uint32_t *value)
{
    if (!t->was_read[reg & 0x7f])
        return -1;
    *value = t->read_value[reg & 0x7f];
    return 0;
}
