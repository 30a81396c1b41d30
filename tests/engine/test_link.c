/* The reliable link against a fake MCU over a virtual-time wire: delivery
 * exactly once and in order through corruption, loss and silence; flow
 * control; min_clock and req_clock scheduling; sequence adoption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memcpy, strstr */

#include "core/error.h"     /* fs_error */
#include "core/reactor.h"   /* fs_reactor */
#include "core/transport.h" /* fs_transport */
#include "mcu/frame.h"      /* fs_frame_encode, fs_frame_reader */
#include "mcu/link.h"       /* the unit under test */
#include "mcu/vlq.h"        /* fs_vlq_encode, fs_vlq_decode */

/* Test messages: "data value" is counted on delivery, "ping value" is
 * answered with "pong value". */
enum { MSG_DATA = 10, MSG_PING = 11, MSG_PONG = 12 };
#define MAX_VALUES 4096
#define PIPE_SLOTS 1024

struct chunk {
    double arrival;
    size_t len;
    uint8_t data[FS_FRAME_MAX];
};

/* One direction of a serial line: bytes leave one at a time, then travel. */
struct pipe {
    struct chunk slots[PIPE_SLOTS];
    size_t head, count;
    double free_time;
};

struct fake_mcu {
    struct fs_frame_reader reader;
    uint64_t invalid_seen;
    uint8_t expected;
    int deaf; /* takes nothing in, answers nothing */
    int deliveries[MAX_VALUES];
    double delivery_time[MAX_VALUES];
    int order[MAX_VALUES];
    int delivered;
};

/* Watches the host's blocks on the wire (before any injected fault) and
 * the acks as they reach the host: what is really in flight. */
struct observer {
    int flight_len[16]; /* wire length of an outstanding data block, or 0 */
    int max_blocks, max_bytes;
    int resends;
    double first_send[16], first_resend[16];
    double resend_times[64];
};

struct world {
    double now;
    struct fs_reactor reactor;
    struct fs_transport transport;
    double delay, byte_time;
    struct pipe to_mcu, to_host;
    struct fake_mcu mcu;
    struct observer obs;
    int host_blocks;  /* blocks the host has sent so far */
    int corrupt_block, drop_block; /* 1-based block numbers, 0 = none */
    int corrupt_seq, drop_seq;     /* seq nibble of the faulted block */
    int broken;                    /* the transport refuses to send */
    uint32_t window;
    int pongs[MAX_VALUES], pong_count;
    struct fs_link *link;
};

/* ---- the wire ---- */

static void pipe_push(struct pipe *p, double now, double delay, double byte_time,
                      const uint8_t *data, size_t len)
{
    assert_true(p->count < PIPE_SLOTS);
    double start = p->free_time > now ? p->free_time : now;
    p->free_time = start + (double)len * byte_time;
    struct chunk *c = &p->slots[(p->head + p->count++) % PIPE_SLOTS];
    c->arrival = p->free_time + delay;
    c->len = len;
    memcpy(c->data, data, len);
}

static struct chunk *pipe_front(struct pipe *p)
{
    return p->count ? &p->slots[p->head] : NULL;
}

static void pipe_pop(struct pipe *p)
{
    p->head = (p->head + 1) % PIPE_SLOTS;
    p->count--;
}

static void observe_host_block(struct world *w, const uint8_t *data, size_t len)
{
    struct observer *o = &w->obs;
    int seq = data[1] & FS_FRAME_SEQ_MASK;
    if (len == FS_FRAME_MIN)
        return; /* the probe carries no command */
    if (o->flight_len[seq]) {
        if (o->resends < 64)
            o->resend_times[o->resends] = w->now;
        o->resends++;
        if (o->first_resend[seq] == 0)
            o->first_resend[seq] = w->now;
        return;
    }
    o->flight_len[seq] = (int)len;
    o->first_send[seq] = w->now;
    o->first_resend[seq] = 0;
    int blocks = 0, bytes = 0;
    for (int i = 0; i < 16; i++) {
        blocks += o->flight_len[i] != 0;
        bytes += o->flight_len[i];
    }
    if (blocks > o->max_blocks)
        o->max_blocks = blocks;
    if (bytes > o->max_bytes)
        o->max_bytes = bytes;
}

static void observe_ack(struct world *w, const uint8_t *data)
{
    /* Acked blocks are the contiguous run just below the named seq. */
    int seq = (data[1] - 1) & FS_FRAME_SEQ_MASK;
    while (w->obs.flight_len[seq]) {
        w->obs.flight_len[seq] = 0;
        seq = (seq - 1) & FS_FRAME_SEQ_MASK;
    }
}

static int host_send(struct fs_transport *t, const uint8_t *data, size_t len,
                     struct fs_error *err)
{
    struct world *w = t->impl;
    if (w->broken)
        return fs_error_set(err, "serial port gone");
    observe_host_block(w, data, len);
    w->host_blocks++;
    uint8_t copy[FS_FRAME_MAX];
    memcpy(copy, data, len);
    if (w->host_blocks == w->drop_block) {
        w->drop_seq = data[1] & FS_FRAME_SEQ_MASK;
        return 0;
    }
    if (w->host_blocks == w->corrupt_block) {
        w->corrupt_seq = data[1] & FS_FRAME_SEQ_MASK;
        copy[2] ^= 0x55;
    }
    pipe_push(&w->to_mcu, w->now, w->delay, w->byte_time, copy, len);
    return 0;
}

/* ---- the fake MCU ---- */

static void mcu_send(struct world *w, const uint8_t *content, size_t len)
{
    uint8_t block[FS_FRAME_MAX];
    size_t n = fs_frame_encode(block, w->mcu.expected, content, len);
    pipe_push(&w->to_host, w->now, w->delay, w->byte_time, block, n);
}

static void mcu_run_commands(struct world *w, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint32_t id, value;
        assert_int_equal(fs_vlq_decode(&p, end, &id), 0);
        assert_int_equal(fs_vlq_decode(&p, end, &value), 0);
        assert_true(value < MAX_VALUES);
        struct fake_mcu *m = &w->mcu;
        if (id == MSG_DATA) {
            m->deliveries[value]++;
            m->delivery_time[value] = w->now;
            m->order[m->delivered++] = (int)value;
        } else if (id == MSG_PING) {
            uint8_t pong[2 * FS_VLQ_MAX_BYTES];
            size_t n = fs_vlq_encode(pong, MSG_PONG);
            n += fs_vlq_encode(pong + n, (int32_t)value);
            mcu_send(w, pong, n);
        } else {
            fail_msg("unknown message id %u", id);
        }
    }
}

static void mcu_receive(struct world *w, const uint8_t *data, size_t len)
{
    struct fake_mcu *m = &w->mcu;
    if (m->deaf)
        return;
    struct fs_frame frame;
    while (fs_frame_reader_next(&m->reader, &data, &len, &frame)) {
        if (frame.seq != m->expected) {
            mcu_send(w, NULL, 0); /* nak */
            continue;
        }
        m->expected = (m->expected + 1) & FS_FRAME_SEQ_MASK;
        mcu_send(w, NULL, 0); /* ack before running, as firmware does */
        mcu_run_commands(w, frame.content, frame.len);
    }
    if (m->reader.bytes_invalid != m->invalid_seen) {
        m->invalid_seen = m->reader.bytes_invalid;
        mcu_send(w, NULL, 0); /* a corrupt block is nak'ed too */
    }
}

/* ---- the backend ---- */

static double world_now(void *ctx) { return ((struct world *)ctx)->now; }

static double world_next_event(struct world *w)
{
    double next = fs_reactor_next_wake(&w->reactor);
    struct chunk *a = pipe_front(&w->to_mcu), *b = pipe_front(&w->to_host);
    if (a && a->arrival < next)
        next = a->arrival;
    if (b && b->arrival < next)
        next = b->arrival;
    return next;
}

static void world_wait(void *ctx, double until)
{
    struct world *w = ctx;
    double next = world_next_event(w);
    if (next > until) {
        w->now = until;
        return;
    }
    if (next > w->now)
        w->now = next;
    for (;;) {
        struct chunk *a = pipe_front(&w->to_mcu), *b = pipe_front(&w->to_host);
        if (a && a->arrival <= w->now && (!b || a->arrival <= b->arrival)) {
            struct chunk c = *a;
            pipe_pop(&w->to_mcu);
            mcu_receive(w, c.data, c.len);
        } else if (b && b->arrival <= w->now) {
            struct chunk c = *b;
            pipe_pop(&w->to_host);
            if (c.len >= FS_FRAME_MIN)
                observe_ack(w, c.data);
            fs_transport_deliver(&w->transport, c.data, c.len, w->now);
        } else {
            break;
        }
    }
    fs_reactor_run_due(&w->reactor, w->now);
}

static void on_response(void *arg, const uint8_t *content, size_t len, double t)
{
    struct world *w = arg;
    const uint8_t *p = content, *end = content + len;
    uint32_t id, value;
    assert_int_equal(fs_vlq_decode(&p, end, &id), 0);
    assert_int_equal(fs_vlq_decode(&p, end, &value), 0);
    assert_int_equal(id, MSG_PONG);
    w->pongs[w->pong_count++] = (int)value;
}

static struct world *world_new(double delay, double byte_time)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->delay = delay;
    w->byte_time = byte_time;
    struct fs_reactor_backend be = {w, world_now, world_wait};
    fs_reactor_init(&w->reactor, &be);
    w->transport.send = host_send;
    w->transport.impl = w;
    fs_frame_reader_init(&w->mcu.reader);
    struct fs_error err;
    struct fs_link *l = fs_link_new(&w->reactor, &w->transport, "test", &err);
    assert_non_null(l);
    fs_link_set_receiver(l, on_response, w);
    fs_link_set_wire_rate(l, 1.0 / byte_time);
    w->link = l;
    return w;
}

static void world_free(struct world *w)
{
    fs_link_free(w->link);
    fs_reactor_free(&w->reactor);
    free(w);
}

static void send_msg(struct fs_link *l, struct fs_link_queue *q, int id, int value,
                     uint64_t min_clock, uint64_t req_clock)
{
    uint8_t buf[2 * FS_VLQ_MAX_BYTES];
    size_t n = fs_vlq_encode(buf, id);
    n += fs_vlq_encode(buf + n, value);
    struct fs_error err;
    assert_int_equal(fs_link_send(l, q ? q : fs_link_default_queue(l), buf, n,
                                  min_clock, req_clock, &err),
                     0);
}

static int link_idle(void *arg) { return fs_link_is_idle(arg); }

static void run_until_idle(struct world *w, struct fs_link *l, double timeout)
{
    assert_int_equal(fs_reactor_wait_for(&w->reactor, link_idle, l, w->now + timeout),
                     0);
}

static void assert_delivered_once_in_order(const struct world *w, int count)
{
    assert_int_equal(w->mcu.delivered, count);
    for (int i = 0; i < count; i++) {
        assert_int_equal(w->mcu.deliveries[i], 1);
        assert_int_equal(w->mcu.order[i], i);
    }
}

/* A few messages so that the link has contact and an RTT estimate. */
static void warm_up(struct world *w, struct fs_link *l, int *next_value)
{
    for (int i = 0; i < 20; i++) {
        send_msg(l, NULL, MSG_DATA, (*next_value)++, 0, 0);
        fs_reactor_pause(&w->reactor, w->now + 0.01);
    }
    run_until_idle(w, l, 5.0);
}

/* ---- tests ---- */

static void test_link_delivers_many_messages_in_order_exactly_once(void **state)
{
    (void)state;
    struct world *w = world_new(0.001, 40e-6);
    struct fs_link *l = w->link; /* 250000 baud */
    for (int i = 0; i < 2000; i++) {
        send_msg(l, NULL, MSG_DATA, i, 0, 0);
        if (i % 50 == 49)
            fs_reactor_pause(&w->reactor, w->now + 0.005);
    }
    run_until_idle(w, l, 30.0);
    assert_delivered_once_in_order(w, 2000);
    struct fs_link_stats st;
    fs_link_get_stats(l, &st);
    /* Messages of 3 bytes share blocks rather than one block each. */
    assert_true(st.blocks_sent < 2000 / 8);
    assert_int_equal(st.blocks_retransmitted, 0);
    assert_int_equal(w->obs.resends, 0);
    world_free(w);
}

static void test_link_corrupted_block_is_resynced_resent_and_delivered_once(void **state)
{
    (void)state;
    struct world *w = world_new(0.005, 40e-6);
    struct fs_link *l = w->link;
    int v = 0;
    warm_up(w, l, &v);
    w->corrupt_block = w->host_blocks + 3;
    for (int i = 0; i < 300; i++)
        send_msg(l, NULL, MSG_DATA, v++, 0, 0);
    run_until_idle(w, l, 10.0);
    assert_delivered_once_in_order(w, v);
    assert_true(w->mcu.reader.bytes_invalid > 0);
    struct fs_link_stats st;
    fs_link_get_stats(l, &st);
    assert_true(st.naks_received >= 1);
    /* The nak brought the resend well before any timeout would. */
    double gap = w->obs.first_resend[w->corrupt_seq] - w->obs.first_send[w->corrupt_seq];
    assert_true(gap > 0 && gap < 0.025);
    /* One resend of what was outstanding, not one per duplicate nak. */
    assert_true(w->obs.resends <= FS_LINK_MAX_PENDING_BLOCKS);
    world_free(w);
}

static void test_link_dropped_block_is_resent_after_rto(void **state)
{
    (void)state;
    struct world *w = world_new(0.002, 40e-6);
    struct fs_link *l = w->link;
    int v = 0;
    warm_up(w, l, &v);
    struct fs_link_stats st;
    fs_link_get_stats(l, &st);
    double rto = st.rto;
    assert_true(rto >= 0.025 && rto < 0.1);
    w->drop_block = w->host_blocks + 1;
    send_msg(l, NULL, MSG_DATA, v++, 0, 0);
    run_until_idle(w, l, 10.0);
    assert_delivered_once_in_order(w, v);
    double gap = w->obs.first_resend[w->drop_seq] - w->obs.first_send[w->drop_seq];
    assert_true(gap >= rto - 1e-9 && gap < rto + 0.001);
    world_free(w);
}

static void test_link_never_has_more_than_12_blocks_in_flight(void **state)
{
    (void)state;
    struct world *w = world_new(0.050, 1e-6);
    struct fs_link *l = w->link;
    for (int i = 0; i < 1000; i++)
        send_msg(l, NULL, MSG_DATA, i, 0, 0);
    run_until_idle(w, l, 60.0);
    assert_delivered_once_in_order(w, 1000);
    assert_int_equal(w->obs.max_blocks, FS_LINK_MAX_PENDING_BLOCKS);
    world_free(w);
}

static void test_link_respects_receive_window(void **state)
{
    (void)state;
    struct world *w = world_new(0.050, 1e-6);
    struct fs_link *l = w->link;
    fs_link_set_receive_window(l, 192);
    for (int i = 0; i < 1000; i++)
        send_msg(l, NULL, MSG_DATA, i, 0, 0);
    run_until_idle(w, l, 60.0);
    assert_delivered_once_in_order(w, 1000);
    assert_true(w->obs.max_bytes <= 192);
    assert_true(w->obs.max_bytes > 192 - FS_FRAME_MAX); /* the window is used */
    world_free(w);
}

/* A 1 MHz MCU clock that started with host time 0. */
static uint64_t clock_at(void *arg, double t) { return t > 0 ? (uint64_t)(t * 1e6) : 0; }
static double time_of(void *arg, uint64_t clock) { return (double)clock / 1e6; }

static void test_link_holds_message_until_min_clock(void **state)
{
    (void)state;
    /* With the inverse estimator the link sleeps until the clock is due;
     * without it, it re-checks every FS_LINK_RECHECK_S. */
    for (int with_inverse = 1; with_inverse >= 0; with_inverse--) {
        struct world *w = world_new(0.001, 40e-6);
        struct fs_link *l = w->link;
        fs_link_set_clock_estimator(l, clock_at, NULL);
        if (with_inverse)
            fs_link_set_host_time_estimator(l, time_of, NULL);
        send_msg(l, NULL, MSG_DATA, 0, 0, 0);
        struct fs_link_queue *q = fs_link_queue_new(l);
        send_msg(l, q, MSG_DATA, 1, 500000, 500000); /* not before 0.5 s */
        send_msg(l, NULL, MSG_DATA, 2, 0, 0);
        fs_reactor_pause(&w->reactor, 0.2);
        assert_int_equal(w->mcu.deliveries[0], 1);
        assert_int_equal(w->mcu.deliveries[2], 1);
        assert_int_equal(w->mcu.deliveries[1], 0);
        struct fs_link_stats st;
        fs_link_get_stats(l, &st);
        assert_true(st.upcoming_bytes > 0);
        run_until_idle(w, l, 2.0);
        assert_int_equal(w->mcu.deliveries[1], 1);
        double late = with_inverse ? 0.002 : FS_LINK_RECHECK_S + 0.002;
        assert_true(w->mcu.delivery_time[1] >= 0.5 + w->delay);
        assert_true(w->mcu.delivery_time[1] < 0.5 + w->delay + late);
        world_free(w);
    }
}

static void test_link_sends_lowest_req_clock_first_among_queues(void **state)
{
    (void)state;
    struct world *w = world_new(0.001, 40e-6);
    struct fs_link *l = w->link;
    int v = 0;
    warm_up(w, l, &v);
    struct fs_link_queue *q1 = fs_link_queue_new(l);
    struct fs_link_queue *q2 = fs_link_queue_new(l);
    struct fs_link_queue *q3 = fs_link_queue_new(l);
    int base = v;
    /* Queued together; a queue stays FIFO even when its second message is
     * more urgent than other queues' heads. */
    send_msg(l, q1, MSG_DATA, base + 4, 0, 300);
    send_msg(l, q2, MSG_DATA, base + 1, 0, 100);
    send_msg(l, q2, MSG_DATA, base + 2, 0, 50);
    send_msg(l, q3, MSG_DATA, base + 3, 0, 200);
    send_msg(l, NULL, MSG_DATA, base + 0, 0, 0);
    run_until_idle(w, l, 2.0);
    assert_delivered_once_in_order(w, base + 5);
    world_free(w);
}

static void test_link_adopts_mcu_sequence_at_first_contact(void **state)
{
    (void)state;
    /* An MCU that kept running while the host restarted expects any seq;
     * 7 is the brief's case, 0 and 1 are where a guess would be taken for
     * an ack of the host's first block. */
    for (int start = 0; start < 16; start++) {
        struct world *w = world_new(0.002, 40e-6);
        struct fs_link *l = w->link;
        w->mcu.expected = (uint8_t)start;
        for (int i = 0; i < 100; i++)
            send_msg(l, NULL, MSG_DATA, i, 0, 0);
        run_until_idle(w, l, 10.0);
        assert_true(fs_link_has_contact(l));
        assert_delivered_once_in_order(w, 100);
        struct fs_link_stats st;
        fs_link_get_stats(l, &st);
        assert_int_equal(st.receive_seq & FS_FRAME_SEQ_MASK, w->mcu.expected);
        world_free(w);
    }
}

static void test_link_rto_backs_off_while_mcu_silent_and_settles_after(void **state)
{
    (void)state;
    struct world *w = world_new(0.002, 40e-6);
    struct fs_link *l = w->link;
    int v = 0;
    warm_up(w, l, &v);
    struct fs_link_stats st;
    fs_link_get_stats(l, &st);
    double settled = st.rto;
    w->mcu.deaf = 1;
    send_msg(l, NULL, MSG_DATA, v++, 0, 0);
    fs_reactor_pause(&w->reactor, w->now + 30.0);
    fs_link_get_stats(l, &st);
    assert_true(st.rto == 5.0);
    assert_int_equal(st.pending_blocks, 1);
    /* On the wire: each resend waits twice as long as the one before, up
     * to 5 s. */
    assert_true(w->obs.resends >= 8);
    for (int i = 2; i < w->obs.resends; i++) {
        double gap = w->obs.resend_times[i] - w->obs.resend_times[i - 1];
        double before = w->obs.resend_times[i - 1] - w->obs.resend_times[i - 2];
        double expect = 2 * before < 5.0 ? 2 * before : 5.0;
        assert_true(fabs(gap - expect) < 1e-3);
    }
    w->mcu.deaf = 0;
    run_until_idle(w, l, 10.0);
    for (int i = 0; i < 20; i++) {
        send_msg(l, NULL, MSG_DATA, v++, 0, 0);
        fs_reactor_pause(&w->reactor, w->now + 0.01);
    }
    run_until_idle(w, l, 10.0);
    assert_delivered_once_in_order(w, v);
    fs_link_get_stats(l, &st);
    assert_true(st.rto < 2 * settled);
    world_free(w);
}

static void test_link_hands_mcu_responses_to_receiver(void **state)
{
    (void)state;
    struct world *w = world_new(0.001, 40e-6);
    struct fs_link *l = w->link;
    for (int i = 0; i < 50; i++)
        send_msg(l, NULL, MSG_PING, i, 0, 0);
    run_until_idle(w, l, 10.0);
    fs_reactor_pause(&w->reactor, w->now + 0.1);
    assert_int_equal(w->pong_count, 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(w->pongs[i], i);
    world_free(w);
}

static void test_link_reset_after_mcu_restart_delivers_again(void **state)
{
    (void)state;
    struct world *w = world_new(0.001, 40e-6);
    struct fs_link *l = w->link;
    int v = 0;
    warm_up(w, l, &v);
    /* The MCU restarts: it expects seq 0 again and says so in a block whose
     * ack names a seq the host never sent. Its message still arrives. */
    uint8_t old_expected = w->mcu.expected;
    w->mcu.expected = 0;
    fs_frame_reader_init(&w->mcu.reader);
    w->mcu.invalid_seen = 0;
    uint8_t pong[2 * FS_VLQ_MAX_BYTES];
    size_t n = fs_vlq_encode(pong, MSG_PONG);
    n += fs_vlq_encode(pong + n, 999);
    mcu_send(w, pong, n);
    fs_reactor_pause(&w->reactor, w->now + 0.01);
    assert_int_equal(w->pong_count, 1);
    assert_int_equal(w->pongs[0], 999);
    struct fs_link_stats st;
    fs_link_get_stats(l, &st);
    assert_true(st.acks_out_of_range >= 1);
    /* The host's MCU layer resets the link; the next contact is adopted. */
    fs_link_reset(l);
    assert_false(fs_link_has_contact(l));
    for (int i = 0; i < 30; i++)
        send_msg(l, NULL, MSG_DATA, v++, 0, 0);
    /* A late ack from before the restart must not be taken for the
     * MCU's new sequence. */
    uint8_t stale[FS_FRAME_MAX];
    size_t stale_len = fs_frame_encode(stale, old_expected, NULL, 0);
    pipe_push(&w->to_host, w->now, w->delay, w->byte_time, stale, stale_len);
    run_until_idle(w, l, 5.0);
    assert_true(fs_link_has_contact(l));
    assert_delivered_once_in_order(w, v);
    world_free(w);
}

static void test_link_survives_a_transport_hiccup(void **state)
{
    (void)state;
    struct world *w = world_new(0.001, 40e-6);
    struct fs_link *l = w->link;
    int v = 0;
    warm_up(w, l, &v);
    struct fs_error err;
    assert_int_equal(fs_link_get_transport_error(l, &err), 0);
    w->broken = 1;
    for (int i = 0; i < 5; i++)
        send_msg(l, NULL, MSG_DATA, v++, 0, 0);
    fs_reactor_pause(&w->reactor, w->now + 0.01);
    assert_int_equal(fs_link_get_transport_error(l, &err), -1);
    assert_non_null(strstr(err.msg, "serial port gone"));
    w->broken = 0;
    run_until_idle(w, l, 10.0);
    assert_delivered_once_in_order(w, v);
    world_free(w);
}

static void test_link_rejects_oversized_message(void **state)
{
    (void)state;
    struct world *w = world_new(0.001, 40e-6);
    struct fs_link *l = w->link;
    uint8_t big[FS_FRAME_CONTENT_MAX + 1] = {0};
    struct fs_error err;
    assert_int_equal(fs_link_send(l, fs_link_default_queue(l), big, sizeof(big), 0, 0,
                                  &err),
                     -1);
    assert_non_null(strstr(err.msg, "test"));
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_delivers_many_messages_in_order_exactly_once),
        cmocka_unit_test(test_link_corrupted_block_is_resynced_resent_and_delivered_once),
        cmocka_unit_test(test_link_dropped_block_is_resent_after_rto),
        cmocka_unit_test(test_link_never_has_more_than_12_blocks_in_flight),
        cmocka_unit_test(test_link_respects_receive_window),
        cmocka_unit_test(test_link_holds_message_until_min_clock),
        cmocka_unit_test(test_link_sends_lowest_req_clock_first_among_queues),
        cmocka_unit_test(test_link_adopts_mcu_sequence_at_first_contact),
        cmocka_unit_test(test_link_rto_backs_off_while_mcu_silent_and_settles_after),
        cmocka_unit_test(test_link_hands_mcu_responses_to_receiver),
        cmocka_unit_test(test_link_reset_after_mcu_restart_delivers_again),
        cmocka_unit_test(test_link_survives_a_transport_hiccup),
        cmocka_unit_test(test_link_rejects_oversized_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
