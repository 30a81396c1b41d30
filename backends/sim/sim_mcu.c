/* One simulated MCU: the sim firmware instance, its clock, the two
 * directions of its wire, its power, and the host's transport to it.
 *
 * After every call into the firmware the MCU asks for its next timer and
 * keeps exactly one live wake event for it; superseded wake events carry an
 * old generation and are ignored when they come up. A timer that is already
 * due runs at the current instant. */
#include "sim_world_impl.h"

#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#define DELIVERY_CHUNK 256

void sim_mcu_options_default(struct sim_mcu_options *o)
{
    o->clock_error_ppb = 0;
    o->power_on_ns = 0;
    o->baud = SIM_WIRE_DEFAULT_BAUD;
    o->pwm_max = 255;
}

int64_t sim_mcu_time_of_clock(const struct sim_mcu *m, uint64_t clock)
{
    int64_t t = sim_clock_time_of(&m->clock, clock);
    return t < m->world->now_ns ? t : m->world->now_ns;
}

static uint64_t clock_now(const struct sim_mcu *m)
{
    return sim_clock_at(&m->clock, m->world->now_ns);
}

/* earliest_clock: after running timers at clock c, a timer reported at or
 * before c would make the loop spin at one instant; it is pushed to c + 1. */
static void reschedule_wake(struct sim_mcu *m, uint64_t earliest_clock)
{
    struct sim_world *w = m->world;
    uint64_t clock;
    if (!m->powered || !fw_sim_mcu_next_wake(m->fw, &clock)) {
        m->wake_gen++;
        m->wake_ns = -1;
        return;
    }
    if (clock < earliest_clock)
        clock = earliest_clock;
    int64_t t = sim_clock_time_of(&m->clock, clock);
    if (t < w->now_ns)
        t = w->now_ns;
    if (t == m->wake_ns)
        return;
    m->wake_gen++;
    m->wake_ns = t;
    sim_world_schedule(w, t, SIM_EV_MCU_WAKE, m, m->wake_gen);
}

static void trace_bytes(struct sim_mcu *m, const char *arrow, const uint8_t *data,
                        size_t len)
{
    struct sim_world *w = m->world;
    if (!w->trace.enabled)
        return;
    /* 32 bytes per line keeps every line far below the trace line bound. */
    for (size_t off = 0; off < len; off += 32) {
        char hex[32 * 3 + 1];
        size_t n = len - off < 32 ? len - off : 32, pos = 0;
        for (size_t i = 0; i < n; i++)
            pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, i ? " %02x" : "%02x",
                                    data[off + i]);
        sim_trace_line(&w->trace, w->now_ns, "%s %s %s", m->name, arrow, hex);
    }
}

static void wire_send(struct sim_mcu *m, enum sim_wire_direction dir,
                      const uint8_t *data, size_t len)
{
    struct sim_world *w = m->world;
    int64_t finish;
    size_t queued = sim_wire_send(&m->wire[dir], w->now_ns, data, len, &finish);
    if (!queued)
        return;
    enum sim_event_kind kind =
        dir == SIM_WIRE_TO_MCU ? SIM_EV_WIRE_TO_MCU : SIM_EV_WIRE_TO_HOST;
    sim_world_schedule(w, finish, kind, m, queued);
}

/* ---- firmware wiring ---- */

static void fw_output_changed(void *ctx, uint32_t pin, uint32_t value, uint64_t clock)
{
    struct sim_mcu *m = ctx;
    sim_pins_output(m, pin, value ? 1 : 0, value ? 1.0 : 0.0,
                    sim_mcu_time_of_clock(m, clock));
}

static void fw_pwm_changed(void *ctx, uint32_t pin, uint32_t value, uint64_t clock)
{
    struct sim_mcu *m = ctx;
    uint32_t max = m->options.pwm_max ? m->options.pwm_max : 1;
    double duty = value >= max ? 1.0 : (double)value / max;
    sim_pins_output(m, pin, value ? 1 : 0, duty, sim_mcu_time_of_clock(m, clock));
}

static uint8_t fw_read_input(void *ctx, uint32_t pin, uint64_t clock)
{
    (void)clock;
    return sim_pins_read_input(ctx, pin);
}

static uint16_t fw_read_adc(void *ctx, uint32_t pin, uint64_t clock)
{
    struct sim_mcu *m = ctx;
    return sim_pins_read_adc(m, pin, sim_mcu_time_of_clock(m, clock));
}

static void fw_console_send(void *ctx, const uint8_t *block, uint32_t len, uint64_t clock)
{
    (void)clock;
    struct sim_mcu *m = ctx;
    if (m->powered)
        wire_send(m, SIM_WIRE_TO_HOST, block, len);
}

static void fw_restarted(void *ctx, uint64_t clock)
{
    struct sim_mcu *m = ctx;
    sim_trace_line(&m->world->trace, m->world->now_ns, "%s restarted", m->name);
    sim_pins_reset_outputs(m, sim_mcu_time_of_clock(m, clock));
}

/* ---- the host's transport ---- */

static int transport_send(struct fs_transport *t, const uint8_t *data, size_t len,
                          struct fs_error *err)
{
    (void)err;
    /* A cut cable does not make a serial write fail: bytes just vanish. */
    wire_send(t->impl, SIM_WIRE_TO_MCU, data, len);
    return 0;
}

/* ---- lifecycle ---- */

struct sim_mcu *sim_mcu_new(struct sim_world *w, int index, const char *name,
                            const struct sim_mcu_options *opt, struct fs_error *err)
{
    if (strlen(name) >= SIM_MCU_NAME_MAX) {
        fs_error_set(err, "sim: mcu name '%s' longer than %d characters", name,
                     SIM_MCU_NAME_MAX - 1);
        return NULL;
    }
    /* Beyond this the clock would crawl or run backwards; no crystal is
     * that far off. */
    if (opt->clock_error_ppb <= -100000000 || opt->clock_error_ppb >= 100000000) {
        fs_error_set(err, "sim: mcu '%s': clock error %lld ppb is not a crystal's", name,
                     (long long)opt->clock_error_ppb);
        return NULL;
    }
    struct sim_mcu *m = calloc(1, sizeof(*m));
    if (!m) {
        fs_error_set(err, "sim: out of memory for mcu '%s'", name);
        return NULL;
    }
    m->world = w;
    m->index = index;
    memcpy(m->name, name, strlen(name) + 1);
    m->options = *opt;
    m->wake_ns = -1;
    struct fw_sim_wiring wiring = {
        .ctx = m,
        .output_changed = fw_output_changed,
        .pwm_changed = fw_pwm_changed,
        .read_input = fw_read_input,
        .read_adc = fw_read_adc,
        .console_send = fw_console_send,
        .restarted = fw_restarted,
    };
    m->fw = fw_sim_mcu_new(&wiring);
    if (!m->fw) {
        free(m);
        fs_error_set(err, "sim: mcu '%s': the firmware instance could not be made", name);
        return NULL;
    }
    /* Each direction draws from its own generator, derived from the world
     * seed and the MCU's position, so runs with one seed match. */
    struct sim_rng derive;
    sim_rng_seed(&derive, w->seed ^ ((uint64_t)index << 32));
    sim_wire_init(&m->wire[SIM_WIRE_TO_MCU], opt->baud, sim_rng_next(&derive));
    sim_wire_init(&m->wire[SIM_WIRE_TO_HOST], opt->baud, sim_rng_next(&derive));
    m->transport = (struct fs_transport){.send = transport_send, .impl = m};
    int64_t delay = opt->power_on_ns > 0 ? opt->power_on_ns : 0;
    sim_world_schedule(w, w->now_ns + delay, SIM_EV_POWER_ON, m, m->power_gen);
    return m;
}

void sim_mcu_free(struct sim_mcu *m)
{
    if (!m)
        return;
    fw_sim_mcu_free(m->fw);
    free(m);
}

/* The firmware from its first instruction, clock at 0. */
static void start_firmware(struct sim_mcu *m)
{
    struct sim_world *w = m->world;
    sim_clock_init(&m->clock, fw_sim_clock_freq(), m->options.clock_error_ppb, w->now_ns);
    sim_pins_reset_outputs(m, w->now_ns);
    fw_sim_mcu_power_on(m->fw, 0);
    reschedule_wake(m, 0);
}

void sim_mcu_power_on(struct sim_mcu *m)
{
    struct sim_world *w = m->world;
    m->power_gen++;
    m->powered = 1;
    sim_trace_line(&w->trace, w->now_ns, "%s power on", m->name);
    start_firmware(m);
}

void sim_mcu_reset(struct sim_mcu *m)
{
    struct sim_world *w = m->world;
    if (!m->powered)
        return; /* nothing runs that could restart */
    sim_trace_line(&w->trace, w->now_ns, "%s reset", m->name);
    start_firmware(m);
}

void sim_mcu_power_off(struct sim_mcu *m)
{
    struct sim_world *w = m->world;
    m->power_gen++;
    m->powered = 0;
    sim_trace_line(&w->trace, w->now_ns, "%s power off", m->name);
    sim_pins_reset_outputs(m, w->now_ns);
    reschedule_wake(m, 0);
}

/* ---- events ---- */

static void deliver_to_mcu(struct sim_mcu *m, uint64_t count)
{
    uint8_t buf[DELIVERY_CHUNK];
    while (count) {
        size_t n = sim_wire_take(&m->wire[SIM_WIRE_TO_MCU], buf,
                                 count < sizeof(buf) ? count : sizeof(buf));
        if (!n)
            break;
        count -= n;
        trace_bytes(m, "host>mcu", buf, n);
        /* A powered-off MCU hears nothing. */
        if (m->powered)
            fw_sim_mcu_receive(m->fw, clock_now(m), buf, (uint32_t)n);
    }
    reschedule_wake(m, 0);
}

static void deliver_to_host(struct sim_mcu *m, uint64_t count)
{
    uint8_t buf[DELIVERY_CHUNK];
    double t_s = (double)m->world->now_ns / 1e9;
    while (count) {
        size_t n = sim_wire_take(&m->wire[SIM_WIRE_TO_HOST], buf,
                                 count < sizeof(buf) ? count : sizeof(buf));
        if (!n)
            break;
        count -= n;
        trace_bytes(m, "mcu>host", buf, n);
        fs_transport_deliver(&m->transport, buf, n, t_s);
    }
}

static void handle_wake(struct sim_mcu *m, const struct sim_event *ev)
{
    if (ev->arg != m->wake_gen || !m->powered)
        return;
    m->wake_ns = -1;
    m->world->stats.mcu_wakes++;
    uint64_t clock = clock_now(m);
    fw_sim_mcu_run(m->fw, clock);
    reschedule_wake(m, clock + 1);
}

void sim_mcu_handle_event(struct sim_mcu *m, const struct sim_event *ev)
{
    switch (ev->kind) {
    case SIM_EV_POWER_ON:
        if (ev->arg == m->power_gen && !m->powered)
            sim_mcu_power_on(m);
        break;
    case SIM_EV_MCU_WAKE:
        handle_wake(m, ev);
        break;
    case SIM_EV_WIRE_TO_MCU:
        m->world->stats.wire_deliveries++;
        deliver_to_mcu(m, ev->arg);
        break;
    case SIM_EV_WIRE_TO_HOST:
        m->world->stats.wire_deliveries++;
        deliver_to_host(m, ev->arg);
        break;
    default:
        break;
    }
}

/* ---- public per-MCU functions ---- */

uint64_t sim_world_mcu_clock(struct sim_world *w, const char *mcu)
{
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    return m && m->powered ? clock_now(m) : 0;
}

int sim_world_mcu_is_shutdown(struct sim_world *w, const char *mcu)
{
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    return m && m->powered ? fw_sim_mcu_is_shutdown(m->fw) : 0;
}

int sim_world_mcu_power_off(struct sim_world *w, const char *mcu, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (m->powered)
        sim_mcu_power_off(m);
    else
        m->power_gen++; /* cancels a power-on still pending */
    return 0;
}

int sim_world_mcu_power_on(struct sim_world *w, const char *mcu, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (!m->powered)
        sim_mcu_power_on(m);
    return 0;
}

int sim_world_mcu_power_cycle(struct sim_world *w, const char *mcu, int64_t off_ns,
                              struct fs_error *err)
{
    if (sim_world_mcu_power_off(w, mcu, err) < 0)
        return -1;
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    sim_world_schedule(w, w->now_ns + (off_ns > 0 ? off_ns : 0), SIM_EV_POWER_ON, m,
                       m->power_gen);
    return 0;
}

static struct sim_wire *find_wire(struct sim_world *w, const char *mcu,
                                  enum sim_wire_direction dir)
{
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    if (!m || (dir != SIM_WIRE_TO_MCU && dir != SIM_WIRE_TO_HOST))
        return NULL;
    return &m->wire[dir];
}

int sim_world_wire_set_cut(struct sim_world *w, const char *mcu,
                           enum sim_wire_direction dir, int cut)
{
    struct sim_wire *wire = find_wire(w, mcu, dir);
    if (!wire)
        return -1;
    sim_wire_set_cut(wire, cut);
    return 0;
}

int sim_world_wire_set_drop(struct sim_world *w, const char *mcu,
                            enum sim_wire_direction dir, double probability)
{
    struct sim_wire *wire = find_wire(w, mcu, dir);
    if (!wire)
        return -1;
    sim_wire_set_drop(wire, probability);
    return 0;
}

int sim_world_wire_set_corrupt(struct sim_world *w, const char *mcu,
                               enum sim_wire_direction dir, double probability)
{
    struct sim_wire *wire = find_wire(w, mcu, dir);
    if (!wire)
        return -1;
    sim_wire_set_corrupt(wire, probability);
    return 0;
}

const struct sim_wire_stats *sim_world_wire_stats(struct sim_world *w, const char *mcu,
                                                  enum sim_wire_direction dir)
{
    struct sim_wire *wire = find_wire(w, mcu, dir);
    return wire ? &wire->stats : NULL;
}
