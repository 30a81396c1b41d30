/* The link across a reconnect: while an MCU's wire is cut the link keeps
 * retransmitting what it sent; fs_link_reset must forget those blocks and
 * the messages still queued, so that nothing from before the reconnect
 * reaches the MCU (it would name oids a freshly configured MCU does not
 * have), and adopt the MCU's sequence again before any new command goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h> /* calloc, free */
#include <string.h> /* memcpy, memcmp */

#include "core/error.h"     /* fs_error */
#include "core/reactor.h"   /* fs_reactor */
#include "core/transport.h" /* fs_transport */
#include "mcu/frame.h"      /* fs_frame_encode, fs_frame_reader */
#include "mcu/link.h"       /* the unit under test */

#define MAX_FRAMES 512

/* Every frame the host put on the wire, decoded; the wire itself is in the
 * test's hands: it delivers the MCU's blocks when it chooses. */
struct sent {
    uint8_t seq;
    size_t len;
    uint8_t content[FS_FRAME_CONTENT_MAX];
    double time;
};

struct rig {
    double now;
    struct fs_reactor reactor;
    struct fs_transport transport;
    struct fs_frame_reader reader;
    struct sent frames[MAX_FRAMES];
    int count;
    struct fs_link *link;
};

static double rig_now(void *ctx) { return ((struct rig *)ctx)->now; }

static void rig_wait(void *ctx, double until)
{
    struct rig *r = ctx;
    double next = fs_reactor_next_wake(&r->reactor);
    r->now = next < until ? (next > r->now ? next : r->now) : until;
    fs_reactor_run_due(&r->reactor, r->now);
}

static int rig_send(struct fs_transport *t, const uint8_t *data, size_t len,
                    struct fs_error *err)
{
    (void)err;
    struct rig *r = t->impl;
    struct fs_frame f;
    while (fs_frame_reader_next(&r->reader, &data, &len, &f)) {
        assert_true(r->count < MAX_FRAMES);
        struct sent *s = &r->frames[r->count++];
        s->seq = f.seq;
        s->len = f.len;
        memcpy(s->content, f.content, f.len);
        s->time = r->now;
    }
    return 0;
}

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    struct fs_reactor_backend be = {r, rig_now, rig_wait};
    fs_reactor_init(&r->reactor, &be);
    r->transport.send = rig_send;
    r->transport.impl = r;
    fs_frame_reader_init(&r->reader);
    struct fs_error err;
    r->link = fs_link_new(&r->reactor, &r->transport, "toolboard", &err);
    assert_non_null(r->link);
    return r;
}

static void rig_free(struct rig *r)
{
    fs_link_free(r->link);
    fs_reactor_free(&r->reactor);
    free(r);
}

static void run_for(struct rig *r, double seconds)
{
    fs_reactor_pause(&r->reactor, r->now + seconds);
}

/* An empty block from the MCU naming the sequence it expects next. */
static void mcu_ack(struct rig *r, uint8_t expects)
{
    uint8_t block[FS_FRAME_MAX];
    size_t n = fs_frame_encode(block, expects & FS_FRAME_SEQ_MASK, NULL, 0);
    fs_transport_deliver(&r->transport, block, n, r->now);
    run_for(r, 0.001);
}

static void queue_byte(struct rig *r, uint8_t value)
{
    struct fs_error err;
    assert_int_equal(fs_link_send(r->link, fs_link_default_queue(r->link), &value, 1, 0, 0,
                                  &err), 0);
}

static int frames_carrying(const struct rig *r, int from, uint8_t value)
{
    int n = 0;
    for (int i = from; i < r->count; i++)
        for (size_t k = 0; k < r->frames[i].len; k++)
            n += r->frames[i].content[k] == value;
    return n;
}

static const struct sent *last_frame(const struct rig *r)
{
    assert_true(r->count > 0);
    return &r->frames[r->count - 1];
}

static void test_reset_drops_blocks_a_cut_link_keeps_resending(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    /* Contact: the probe goes out alone and is acked. */
    queue_byte(r, 0x41);
    run_for(r, 0.001);
    assert_int_equal(r->count, 1);
    assert_int_equal(last_frame(r)->len, 0);
    mcu_ack(r, (uint8_t)(r->frames[0].seq + 1));
    assert_int_equal(frames_carrying(r, 0, 0x41), 1);
    uint8_t data_seq = last_frame(r)->seq;

    /* The wire is cut: the block is never acked and goes out again and
     * again, while more commands queue up behind the flow limit. */
    for (int i = 0; i < 40; i++)
        queue_byte(r, 0x42);
    run_for(r, 6.0);
    assert_true(frames_carrying(r, 0, 0x41) >= 3);
    struct fs_link_stats st;
    fs_link_get_stats(r->link, &st);
    assert_true(st.pending_blocks > 0);

    fs_link_reset(r->link);
    assert_true(fs_link_is_idle(r->link));
    assert_false(fs_link_has_contact(r->link));
    int mark = r->count;
    run_for(r, 12.0);
    /* Nothing from before the reset goes out any more. */
    assert_int_equal(frames_carrying(r, mark, 0x41), 0);
    assert_int_equal(frames_carrying(r, mark, 0x42), 0);
    assert_int_equal(r->count, mark);

    /* The reconnect's first command: only a probe until the MCU is heard.
     * The MCU never got the lost block, so it still expects its seq. */
    queue_byte(r, 0x43);
    run_for(r, 0.001);
    assert_int_equal(r->count, mark + 1);
    assert_int_equal(last_frame(r)->len, 0);
    mcu_ack(r, data_seq);
    /* The probe is renumbered to what the MCU expects; its ack syncs. */
    assert_int_equal(last_frame(r)->seq, data_seq);
    assert_int_equal(last_frame(r)->len, 0);
    assert_int_equal(frames_carrying(r, mark, 0x43), 0);
    mcu_ack(r, (uint8_t)(data_seq + 1));
    assert_int_equal(frames_carrying(r, mark, 0x43), 1);
    assert_int_equal(last_frame(r)->seq, (uint8_t)((data_seq + 1) & FS_FRAME_SEQ_MASK));
    mcu_ack(r, (uint8_t)(data_seq + 2));
    assert_true(fs_link_is_idle(r->link));
    assert_int_equal(frames_carrying(r, mark, 0x41), 0);
    assert_int_equal(frames_carrying(r, mark, 0x42), 0);
    rig_free(r);
}

/* A late ack from before the reset names a sequence the MCU may no longer
 * expect: it must not sync the link or carry a command. */
static void test_reset_ignores_a_stale_ack_for_commands(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    queue_byte(r, 0x51);
    run_for(r, 0.001);
    mcu_ack(r, (uint8_t)(r->frames[0].seq + 1));
    mcu_ack(r, (uint8_t)(r->frames[0].seq + 2));
    assert_true(fs_link_is_idle(r->link));

    fs_link_reset(r->link);
    int mark = r->count;
    queue_byte(r, 0x52);
    run_for(r, 0.001);
    /* The MCU restarted and expects 0, but the stale ack names 5 first. */
    mcu_ack(r, 5);
    assert_int_equal(frames_carrying(r, mark, 0x52), 0);
    assert_int_equal(last_frame(r)->seq, 5);
    mcu_ack(r, 0);
    assert_int_equal(frames_carrying(r, mark, 0x52), 0);
    assert_int_equal(last_frame(r)->seq, 0);
    assert_int_equal(last_frame(r)->len, 0);
    mcu_ack(r, 1);
    assert_int_equal(frames_carrying(r, mark, 0x52), 1);
    assert_int_equal(last_frame(r)->seq, 1);
    rig_free(r);
}

/* An MCU that restarted expects sequence 0 and, having naked the old
 * link's blocks once, answers nothing else until a block carries 0: the
 * probe must find that number by itself. */
static void test_probe_finds_a_silent_mcu_sequence(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    queue_byte(r, 0x61);
    run_for(r, 0.001);
    mcu_ack(r, (uint8_t)(r->frames[0].seq + 1));
    for (int i = 0; i < 6; i++) {
        mcu_ack(r, (uint8_t)(last_frame(r)->seq + 1));
        queue_byte(r, 0x62);
        run_for(r, 0.001);
    }
    mcu_ack(r, (uint8_t)(last_frame(r)->seq + 1));
    assert_true(fs_link_is_idle(r->link));
    assert_true(last_frame(r)->seq != 0);

    fs_link_reset(r->link);
    int mark = r->count;
    queue_byte(r, 0x63);
    double start = r->now;
    int synced = 0;
    while (r->now < start + 3.0 && !synced) {
        run_for(r, 0.01);
        const struct sent *f = last_frame(r);
        if (r->count > mark && f->len == 0 && f->seq == 0) {
            mcu_ack(r, 1);
            synced = 1;
        }
    }
    assert_true(synced);
    /* All 16 numbers are tried within 1.6 s after the first timeout. */
    assert_true(r->now - start < 1.0 + 1.7);
    assert_int_equal(frames_carrying(r, mark, 0x63), 1);
    assert_int_equal(last_frame(r)->seq, 1);
    /* Nothing but empty probes went before it. */
    for (int i = mark; i < r->count - 1; i++)
        assert_int_equal(r->frames[i].len, 0);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_drops_blocks_a_cut_link_keeps_resending),
        cmocka_unit_test(test_reset_ignores_a_stale_ack_for_commands),
        cmocka_unit_test(test_probe_finds_a_silent_mcu_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
