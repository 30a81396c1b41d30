/* A pulse counter on an MCU input: configuration, the counting query and
 * dated reports. See mcu_counter.h. */
#include "mcu/mcu_counter.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy, memset */

#include "core/error.h"   /* fs_error_set */
#include "core/reactor.h" /* fs_reactor_now */
#include "mcu/mcu.h"      /* fs_mcu_* */

#define COUNTER_STATE_FORMAT "counter_state oid=%c next_clock=%u count=%u count_clock=%u"
#define COUNTER_START_DELAY_S 0.2
#define COUNTER_PIN_MAX 32

struct fs_mcu_counter {
    struct fs_mcu *mcu;
    struct fs_reactor *reactor;
    char pin[COUNTER_PIN_MAX];
    struct fs_mcu_counter_params p;
    fs_mcu_counter_fn fn;
    void *arg;
    int oid;
    uint32_t poll_ticks;
    int restarted;
    uint32_t last_raw;
    uint64_t count;
};

void fs_mcu_counter_params_default(struct fs_mcu_counter_params *p)
{
    memset(p, 0, sizeof(*p));
    p->poll_time_s = 0.0015;
    p->sample_time_s = 1.0;
}

static void on_state(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct fs_mcu_counter *c = arg;
    uint32_t raw = (uint32_t)fs_msg_get(msg, "count", 0);
    if (c->restarted)
        c->count = raw;
    else
        c->count += (uint32_t)(raw - c->last_raw);
    c->last_raw = raw;
    /* next_clock is the poll after the one described. */
    uint64_t next = fs_mcu_clock32_to_64(c->mcu, (uint32_t)fs_msg_get(msg, "next_clock", 0));
    uint64_t at = next > c->poll_ticks ? next - c->poll_ticks : 0;
    uint64_t count_clock =
        fs_mcu_clock32_to_64(c->mcu, (uint32_t)fs_msg_get(msg, "count_clock", 0));
    struct fs_mcu_counter_report r = {
        .time = fs_mcu_clock_to_print_time(c->mcu, at),
        .count = c->count,
        .count_time = fs_mcu_clock_to_print_time(c->mcu, count_clock),
        .restarted = c->restarted,
    };
    c->restarted = 0;
    c->fn(c->arg, &r);
}

static int build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_counter *c = arg;
    c->oid = fs_mcu_create_oid(m);
    c->poll_ticks = fs_mcu_seconds_to_ticks(m, c->p.poll_time_s);
    if (fs_mcu_add_config_cmd(m, err, "config_counter oid=%d pin=%s pull_up=%d", c->oid, c->pin,
                              c->p.pull_up > 0 ? 1 : 0) < 0)
        return -1;
    return fs_mcu_register_response(m, COUNTER_STATE_FORMAT, c->oid, on_state, c, err);
}

static int start_counting(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_counter *c = arg;
    double start = fs_mcu_estimated_print_time(m, fs_reactor_now(c->reactor)) +
                   COUNTER_START_DELAY_S;
    uint32_t clock = (uint32_t)fs_mcu_print_time_to_clock(m, start);
    c->restarted = 1;
    char text[160];
    snprintf(text, sizeof(text), "query_counter oid=%d clock=%u poll_ticks=%u sample_ticks=%u",
             c->oid, clock, c->poll_ticks, fs_mcu_seconds_to_ticks(m, c->p.sample_time_s));
    return fs_mcu_send_text(m, text, err);
}

struct fs_mcu_counter *fs_mcu_counter_new(struct fs_mcu *m, struct fs_reactor *reactor,
                                          const struct fs_mcu_counter_params *p,
                                          fs_mcu_counter_fn fn, void *arg, struct fs_error *err)
{
    if (!p->pin || strlen(p->pin) >= COUNTER_PIN_MAX) {
        fs_error_set(err, "mcu '%s': a counter needs a pin name under %d characters",
                     fs_mcu_name(m), COUNTER_PIN_MAX);
        return NULL;
    }
    if (!(p->poll_time_s > 0.0) || !(p->sample_time_s >= p->poll_time_s)) {
        fs_error_set(err, "mcu '%s': counter %s: bad polling parameters", fs_mcu_name(m),
                     p->pin);
        return NULL;
    }
    struct fs_mcu_counter *c = calloc(1, sizeof(*c));
    if (!c) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    c->mcu = m;
    c->reactor = reactor;
    c->p = *p;
    memcpy(c->pin, p->pin, strlen(p->pin) + 1);
    c->p.pin = c->pin;
    c->fn = fn;
    c->arg = arg;
    c->oid = -1;
    c->restarted = 1;
    if (fs_mcu_on_build_config_at(m, p->where, build_config, c, err) < 0 ||
        fs_mcu_on_configured(m, start_counting, c, err) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

void fs_mcu_counter_free(struct fs_mcu_counter *c) { free(c); }
