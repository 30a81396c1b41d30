/* A switch on an MCU input through the buttons module: configuration, the
 * polling query, and telling new reports from repeats. See mcu_buttons.h. */
#include "mcu/mcu_buttons.h"

#include <stdint.h> /* uint8_t, uint32_t */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#include "core/error.h"   /* fs_error_set */
#include "core/reactor.h" /* fs_reactor_now */
#include "mcu/mcu.h"      /* fs_mcu_* */

#define BUTTONS_STATE_FORMAT "buttons_state oid=%c ack_count=%c state=%*s"
/* Queries are sent this far ahead of the MCU's clock so they never land in
 * its past. */
#define BUTTONS_START_DELAY_S 0.2
#define BUTTONS_PIN_MAX 32

struct fs_mcu_buttons {
    struct fs_mcu *mcu;
    struct fs_reactor *reactor;
    char pin[BUTTONS_PIN_MAX];
    struct fs_mcu_buttons_params p;
    fs_mcu_buttons_fn fn;
    void *arg;
    int oid;
    uint8_t ack_count; /* reports acknowledged, mod 256 as on the wire */
    int pressed;
};

void fs_mcu_buttons_params_default(struct fs_mcu_buttons_params *p)
{
    memset(p, 0, sizeof(*p));
    p->poll_time_s = 0.002;
    p->retransmit_count = 50;
}

static void on_state(void *arg, const struct fs_msg *msg, double receive_time)
{
    struct fs_mcu_buttons *b = arg;
    int i = fs_msgformat_param_index(msg->format, "state");
    if (i < 0)
        return;
    int len = (int)msg->values[i];
    uint8_t mcu_ack = (uint8_t)fs_msg_get(msg, "ack_count", 0);
    /* The report holds the states after the first mcu_ack; those past our
     * own count are new. A report older than our count holds none. */
    int fresh = (uint8_t)(mcu_ack + len - b->ack_count);
    if (fresh <= 0 || fresh > len)
        return;
    b->ack_count = (uint8_t)(b->ack_count + fresh);
    char text[64];
    snprintf(text, sizeof(text), "buttons_ack oid=%d count=%d", b->oid, fresh);
    struct fs_error err;
    /* A lost ack only costs a retransmission, which is recognised above. */
    (void)fs_mcu_send_text(b->mcu, text, &err);
    for (int k = len - fresh; k < len; k++) {
        int pressed = (msg->data[i][k] & 1) ^ (b->p.invert ? 1 : 0);
        if (pressed == b->pressed)
            continue;
        b->pressed = pressed;
        b->fn(b->arg, receive_time, pressed);
    }
}

static int build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_buttons *b = arg;
    b->oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_buttons oid=%d button_count=1", b->oid) < 0 ||
        fs_mcu_add_config_cmd(m, err, "buttons_add oid=%d pos=0 pin=%s pull_up=%d", b->oid,
                              b->pin, b->p.pull_up > 0 ? 1 : 0) < 0)
        return -1;
    return fs_mcu_register_response(m, BUTTONS_STATE_FORMAT, b->oid, on_state, b, err);
}

static int start_polling(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_buttons *b = arg;
    double start = fs_mcu_estimated_print_time(m, fs_reactor_now(b->reactor)) +
                   BUTTONS_START_DELAY_S;
    uint32_t clock = (uint32_t)fs_mcu_print_time_to_clock(m, start);
    /* The MCU starts its count over with every query, and reports only a
     * state that differs from `invert`: naming the level we last heard
     * (not the idle level) makes a switch that changed while the MCU was
     * down or reset show up at once. */
    b->ack_count = 0;
    int baseline = (b->p.invert ? 1 : 0) ^ (b->pressed ? 1 : 0);
    char text[160];
    snprintf(text, sizeof(text),
             "buttons_query oid=%d clock=%u rest_ticks=%u retransmit_count=%d invert=%d", b->oid,
             clock, fs_mcu_seconds_to_ticks(m, b->p.poll_time_s), b->p.retransmit_count,
             baseline);
    return fs_mcu_send_text(m, text, err);
}

struct fs_mcu_buttons *fs_mcu_buttons_new(struct fs_mcu *m, struct fs_reactor *reactor,
                                          const struct fs_mcu_buttons_params *p,
                                          fs_mcu_buttons_fn fn, void *arg, struct fs_error *err)
{
    if (!p->pin || strlen(p->pin) >= BUTTONS_PIN_MAX) {
        fs_error_set(err, "mcu '%s': a switch needs a pin name under %d characters",
                     fs_mcu_name(m), BUTTONS_PIN_MAX);
        return NULL;
    }
    if (!(p->poll_time_s > 0.0) || p->retransmit_count < 0 || p->retransmit_count > 127) {
        fs_error_set(err, "mcu '%s': switch %s: bad polling parameters", fs_mcu_name(m), p->pin);
        return NULL;
    }
    struct fs_mcu_buttons *b = calloc(1, sizeof(*b));
    if (!b) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    b->mcu = m;
    b->reactor = reactor;
    b->p = *p;
    memcpy(b->pin, p->pin, strlen(p->pin) + 1);
    b->p.pin = b->pin;
    b->fn = fn;
    b->arg = arg;
    b->oid = -1;
    if (fs_mcu_on_build_config_at(m, p->where, build_config, b, err) < 0 ||
        fs_mcu_on_configured(m, start_polling, b, err) < 0) {
        free(b);
        return NULL;
    }
    return b;
}

void fs_mcu_buttons_free(struct fs_mcu_buttons *b) { free(b); }
