/* The reliable link to one MCU: sequence numbers, acks and naks,
 * retransmission, flow control and command scheduling (see link.h).
 *
 * Design. Sequence numbers are kept as full 32-bit counters; the wire
 * carries their low 4 bits. Unacknowledged blocks [receive_seq, send_seq)
 * live in a 16-slot table indexed by seq & 15, which never aliases because
 * at most 12 are outstanding. Every block from the MCU names the sequence
 * it expects next, so each one is an ack; a name 1..pending ahead of
 * receive_seq acknowledges that many blocks, the same name again on an
 * empty block with blocks outstanding is a nak, and anything else cannot be
 * an answer to what we sent and is ignored.
 *
 * First contact. A host that restarted cannot know what the MCU expects,
 * and an ack naming seq N is ambiguous if data blocks are in flight: "I took
 * your blocks up to N-1" or "I already expected N and dropped them". To keep
 * exactly-once delivery the link sends only an empty probe block until the
 * MCU is heard; the probe carries no command, so whether the MCU took it or
 * not is harmless. The first block from the MCU names N; if it acks the
 * probe the link is in sync, otherwise unacknowledged blocks (the probe)
 * are renumbered from N and sent again until one is acked; then commands
 * follow.
 *
 * Timing. All sending happens in the send timer, armed "now" by whoever
 * makes sending possible (a new message, an ack, a reset), so callers can
 * queue messages from receive callbacks or other timers without re-entering
 * the link, and messages queued back to back share blocks. The same timer
 * sleeps until the earliest held-back message's min_clock is due. The
 * retransmit timer runs while blocks are outstanding. */
#include "mcu/link.h"

#include <stdlib.h> /* calloc, free */
#include <string.h> /* memcpy, strlen */

#include "core/error.h"     /* fs_error_set */
#include "core/reactor.h"   /* fs_timer, fs_reactor_timer_set */
#include "core/transport.h" /* fs_transport_send, fs_transport_set_receiver */
#include "mcu/frame.h"      /* fs_frame_encode, fs_frame_reader */

#define LINK_SEQ_SLOTS 16
#define LINK_NO_MSG UINT32_MAX

/* RFC 6298: initial RTO 1 s, alpha 1/8, beta 1/4, K 4. */
#define LINK_RTO_INITIAL_S 1.0
#define LINK_RTO_MIN_S 0.025
#define LINK_RTO_MAX_S 5.0
#define LINK_RTT_K 4.0
/* An unanswered probe tries the next sequence number this often: all 16
 * within 1.6 s. */
#define LINK_PROBE_RETRY_S 0.1

struct link_msg {
    uint64_t min_clock, req_clock;
    uint64_t order; /* enqueue order: tie-break among equal req_clock */
    uint32_t next;  /* next message of the same queue, or the free list */
    uint8_t len;
    uint8_t data[FS_FRAME_CONTENT_MAX];
};

struct fs_link_queue {
    struct fs_link_queue *next_queue;
    uint32_t head, tail;
};

struct sent_block {
    double send_time;  /* when its last transmission left the wire */
    int retransmitted; /* Karn: no RTT sample from a resent block */
    uint8_t len;
    uint8_t content[FS_FRAME_CONTENT_MAX];
};

struct fs_link {
    struct fs_reactor *reactor;
    struct fs_transport *transport;
    char name[FS_LINK_NAME_MAX + 1];

    fs_link_receive_fn receive_fn;
    void *receive_arg;
    fs_link_clock_fn clock_fn;
    void *clock_arg;
    fs_link_host_time_fn host_time_fn;
    void *host_time_arg;
    uint32_t receive_window;
    double wire_rate;      /* bytes per second, 0 when unknown */
    double wire_idle_time; /* when bytes handed to the transport are out */

    /* Command queues; the default queue is first. */
    struct fs_link_queue default_queue;
    struct fs_link_queue *last_queue;
    struct link_msg *pool;
    uint32_t free_msg;
    uint32_t queued_count;
    uint64_t next_order;

    /* Unacknowledged blocks [receive_seq, send_seq). */
    struct sent_block sent[LINK_SEQ_SLOTS];
    uint32_t send_seq, receive_seq;
    uint32_t bytes_in_flight;
    int heard;  /* a valid block arrived since creation or reset */
    int synced; /* the MCU acked our probe: its sequence is known */
    int nak_answered; /* this nak episode has had its retransmission */

    double srtt, rttvar, rto;
    int have_rtt;
    double last_receive_time;

    struct fs_timer send_timer, retransmit_timer;
    struct fs_frame_reader reader;
    struct fs_link_stats stats;

    int transport_failed;
    struct fs_error transport_error;
};

static uint32_t link_pending(const struct fs_link *l)
{
    return l->send_seq - l->receive_seq;
}

static struct sent_block *link_slot(struct fs_link *l, uint32_t seq)
{
    return &l->sent[seq & (LINK_SEQ_SLOTS - 1)];
}

/* ---- sending ---- */

/* Hands a block to the transport and notes when it will have left the
 * wire: on a slow serial line a burst of blocks takes tens of ms to go out,
 * and that queueing is ours, not the MCU's round trip. */
static void link_transmit(struct fs_link *l, uint32_t seq, struct sent_block *b,
                          double now)
{
    uint8_t wire[FS_FRAME_MAX];
    size_t n = fs_frame_encode(wire, (uint8_t)(seq & FS_FRAME_SEQ_MASK), b->content,
                               b->len);
    l->stats.bytes_write += n;
    if (fs_transport_send(l->transport, wire, n, &l->transport_error) < 0)
        l->transport_failed = 1;
    double start = l->wire_idle_time > now ? l->wire_idle_time : now;
    l->wire_idle_time = l->wire_rate > 0 ? start + (double)n / l->wire_rate : now;
    b->send_time = l->wire_idle_time;
}

/* The oldest outstanding block is the one whose ack is awaited. */
static void link_arm_retransmit(struct fs_link *l, double now)
{
    double sent = link_slot(l, l->receive_seq)->send_time;
    double from = sent > now ? sent : now;
    fs_reactor_timer_set(l->reactor, &l->retransmit_timer, from + l->rto);
}

static void link_send_block(struct fs_link *l, const uint8_t *content, size_t len,
                            double now)
{
    uint32_t seq = l->send_seq++;
    struct sent_block *b = link_slot(l, seq);
    b->retransmitted = 0;
    b->len = (uint8_t)len;
    if (len)
        memcpy(b->content, content, len);
    l->bytes_in_flight += (uint32_t)(len + FS_FRAME_MIN);
    l->stats.blocks_sent++;
    link_transmit(l, seq, b, now);
    if (l->retransmit_timer.waketime >= FS_NEVER)
        link_arm_retransmit(l, now);
}

static void link_resend_all(struct fs_link *l, double now)
{
    for (uint32_t seq = l->receive_seq; seq != l->send_seq; seq++) {
        struct sent_block *b = link_slot(l, seq);
        b->retransmitted = 1;
        l->stats.blocks_retransmitted++;
        l->stats.bytes_retransmit += b->len + FS_FRAME_MIN;
        link_transmit(l, seq, b, now);
    }
}

static uint64_t link_clock_now(const struct fs_link *l, double now)
{
    return l->clock_fn ? l->clock_fn(l->clock_arg, now) : UINT64_MAX;
}

static int msg_is_ready(const struct link_msg *m, uint64_t clock_now)
{
    return m->min_clock <= clock_now;
}

/* The ready queue head that goes first: lowest req_clock, then oldest. */
static struct fs_link_queue *link_pick_queue(struct fs_link *l, uint64_t clock_now)
{
    struct fs_link_queue *best = NULL;
    const struct link_msg *best_msg = NULL;
    for (struct fs_link_queue *q = &l->default_queue; q; q = q->next_queue) {
        if (q->head == LINK_NO_MSG)
            continue;
        const struct link_msg *m = &l->pool[q->head];
        if (!msg_is_ready(m, clock_now))
            continue;
        if (best_msg && (m->req_clock > best_msg->req_clock ||
                         (m->req_clock == best_msg->req_clock &&
                          m->order > best_msg->order)))
            continue;
        best = q;
        best_msg = m;
    }
    return best;
}

static void link_pop_head(struct fs_link *l, struct fs_link_queue *q)
{
    uint32_t idx = q->head;
    struct link_msg *m = &l->pool[idx];
    q->head = m->next;
    if (q->head == LINK_NO_MSG)
        q->tail = LINK_NO_MSG;
    m->next = l->free_msg;
    l->free_msg = idx;
    l->queued_count--;
}

/* Fills content with ready messages, most urgent first, up to limit bytes;
 * stops at the first message that does not fit so urgency order holds. */
static size_t link_pack(struct fs_link *l, uint8_t *content, size_t limit,
                        uint64_t clock_now)
{
    size_t used = 0;
    for (;;) {
        struct fs_link_queue *q = link_pick_queue(l, clock_now);
        if (!q)
            break;
        const struct link_msg *m = &l->pool[q->head];
        if (used + m->len > limit)
            break;
        memcpy(content + used, m->data, m->len);
        used += m->len;
        link_pop_head(l, q);
    }
    return used;
}

/* Content bytes the next block may carry, or 0 if flow control says wait. */
static size_t link_block_room(const struct fs_link *l)
{
    uint32_t pending = link_pending(l);
    if (pending >= FS_LINK_MAX_PENDING_BLOCKS)
        return 0;
    if (!l->receive_window || !pending)
        return FS_FRAME_CONTENT_MAX; /* a lone block always goes, or we'd stall */
    uint32_t need = l->bytes_in_flight + FS_FRAME_MIN + 1;
    if (need > l->receive_window)
        return 0;
    size_t room = l->receive_window - l->bytes_in_flight - FS_FRAME_MIN;
    return room < FS_FRAME_CONTENT_MAX ? room : FS_FRAME_CONTENT_MAX;
}

/* When the earliest held-back queue head becomes ready, or FS_NEVER. */
static double link_next_ready_time(struct fs_link *l, double now, uint64_t clock_now)
{
    if (!l->clock_fn)
        return FS_NEVER;
    uint64_t earliest = UINT64_MAX;
    for (struct fs_link_queue *q = &l->default_queue; q; q = q->next_queue) {
        if (q->head == LINK_NO_MSG)
            continue;
        const struct link_msg *m = &l->pool[q->head];
        if (!msg_is_ready(m, clock_now) && m->min_clock < earliest)
            earliest = m->min_clock;
    }
    if (earliest == UINT64_MAX)
        return FS_NEVER;
    if (!l->host_time_fn)
        return now + FS_LINK_RECHECK_S;
    double when = l->host_time_fn(l->host_time_arg, earliest);
    /* Rounding between the two estimators must not make us spin. */
    return when > now ? when : now + 1e-6;
}

static double link_send_timer_fired(struct fs_timer *t, double now)
{
    struct fs_link *l = t->arg;
    if (!l->synced) {
        if (l->queued_count && !link_pending(l))
            link_send_block(l, NULL, 0, now); /* the probe */
        return FS_NEVER;
    }
    uint64_t clock_now = link_clock_now(l, now);
    for (;;) {
        size_t room = link_block_room(l);
        if (!room)
            break;
        uint8_t content[FS_FRAME_CONTENT_MAX];
        size_t len = link_pack(l, content, room, clock_now);
        if (!len)
            break;
        link_send_block(l, content, len, now);
    }
    return link_next_ready_time(l, now, clock_now);
}

static void link_kick(struct fs_link *l)
{
    double now = fs_reactor_now(l->reactor);
    if (l->send_timer.waketime > now)
        fs_reactor_timer_set(l->reactor, &l->send_timer, now);
}

/* ---- acks, naks and the retransmission timeout ---- */

static void link_rtt_sample(struct fs_link *l, double rtt)
{
    if (rtt < 0)
        rtt = 0;
    if (!l->have_rtt) {
        l->srtt = rtt;
        l->rttvar = rtt / 2;
        l->have_rtt = 1;
    } else {
        double diff = l->srtt > rtt ? l->srtt - rtt : rtt - l->srtt;
        l->rttvar = 0.75 * l->rttvar + 0.25 * diff;
        l->srtt = 0.875 * l->srtt + 0.125 * rtt;
    }
    double rto = l->srtt + LINK_RTT_K * l->rttvar;
    if (rto < LINK_RTO_MIN_S)
        rto = LINK_RTO_MIN_S;
    if (rto > LINK_RTO_MAX_S)
        rto = LINK_RTO_MAX_S;
    l->rto = rto;
}

static void link_ack(struct fs_link *l, uint32_t count, double now)
{
    /* The ack was sent when the newest of these blocks arrived. */
    const struct sent_block *newest = link_slot(l, l->receive_seq + count - 1);
    if (!newest->retransmitted)
        link_rtt_sample(l, now - newest->send_time);
    for (uint32_t i = 0; i < count; i++)
        l->bytes_in_flight -= link_slot(l, l->receive_seq + i)->len + FS_FRAME_MIN;
    l->receive_seq += count;
    l->nak_answered = 0;
    if (link_pending(l))
        link_arm_retransmit(l, now);
    else
        fs_reactor_timer_cancel(l->reactor, &l->retransmit_timer);
    link_kick(l);
}

static void link_nak(struct fs_link *l, double now)
{
    l->stats.naks_received++;
    /* Every block that followed a lost one draws its own nak; one resend
     * answers them all. */
    if (l->nak_answered)
        return;
    l->nak_answered = 1;
    link_resend_all(l, now);
    link_arm_retransmit(l, now);
}

/* Before sync only the empty probe can be outstanding. Every block from the
 * MCU names the seq it expects: if that acks the probe the sequence is
 * known for sure; otherwise the probe is renumbered to that seq and sent
 * again. Confirming through the probe rather than trusting the first block
 * heard also survives a stale ack from before a reset, or a block from an
 * MCU that restarted meanwhile: a wrong guess costs one more probe. */
static void link_sync(struct fs_link *l, uint32_t seq_nibble, double now)
{
    uint32_t pending = link_pending(l);
    uint32_t ahead = (seq_nibble - l->receive_seq) & FS_FRAME_SEQ_MASK;
    if (pending && ahead == pending) {
        l->synced = 1;
        link_ack(l, ahead, now);
        return;
    }
    uint32_t new_receive = l->receive_seq + ahead;
    struct sent_block moved[LINK_SEQ_SLOTS];
    for (uint32_t i = 0; i < pending; i++)
        moved[i] = *link_slot(l, l->receive_seq + i);
    l->receive_seq = new_receive;
    l->send_seq = new_receive + pending;
    for (uint32_t i = 0; i < pending; i++) {
        struct sent_block *b = link_slot(l, new_receive + i);
        *b = moved[i];
        /* Under a new number the ack can only answer this copy (Karn). */
        b->retransmitted = ahead == 0;
        l->stats.blocks_retransmitted++;
        l->stats.bytes_retransmit += b->len + FS_FRAME_MIN;
        link_transmit(l, new_receive + i, b, now);
    }
    if (pending)
        link_arm_retransmit(l, now);
    link_kick(l);
}

static void link_handle_seq(struct fs_link *l, uint32_t seq_nibble, int empty,
                            double now)
{
    l->heard = 1;
    if (!l->synced) {
        link_sync(l, seq_nibble, now);
        return;
    }
    uint32_t ahead = (seq_nibble - l->receive_seq) & FS_FRAME_SEQ_MASK;
    uint32_t pending = link_pending(l);
    if (ahead > pending) {
        l->stats.acks_out_of_range++;
        return;
    }
    if (ahead)
        link_ack(l, ahead, now);
    else if (empty && pending)
        link_nak(l, now);
}

static void link_on_bytes(void *arg, const uint8_t *data, size_t len, double now)
{
    struct fs_link *l = arg;
    l->stats.bytes_read += len;
    struct fs_frame frame;
    while (fs_frame_reader_next(&l->reader, &data, &len, &frame)) {
        l->last_receive_time = now;
        link_handle_seq(l, frame.seq, frame.len == 0, now);
        /* Responses are valid whatever their ack says: an MCU that
         * restarted announces it in a block whose seq we never sent. */
        if (frame.len && l->receive_fn)
            l->receive_fn(l->receive_arg, frame.content, frame.len, now);
    }
}

/* An unanswered probe takes the next sequence number before it goes
 * again. A firmware naks a block with the wrong sequence only once per
 * episode and then stays silent until one arrives with the sequence it
 * expects; an MCU that restarted, or whose one nak was lost, would never
 * be heard again by a probe that kept its number. Sweeping the 16 numbers
 * finds it; a probe carries no command, so a wrong guess costs nothing. */
static double link_probe_again(struct fs_link *l, double now)
{
    struct sent_block probe = *link_slot(l, l->receive_seq);
    l->receive_seq++;
    l->send_seq++;
    struct sent_block *b = link_slot(l, l->receive_seq);
    *b = probe;
    b->retransmitted = 1;
    l->stats.blocks_retransmitted++;
    l->stats.bytes_retransmit += FS_FRAME_MIN;
    link_transmit(l, l->receive_seq, b, now);
    return now + LINK_PROBE_RETRY_S;
}

static double link_retransmit_timer_fired(struct fs_timer *t, double now)
{
    struct fs_link *l = t->arg;
    if (!link_pending(l))
        return FS_NEVER;
    if (!l->synced)
        return link_probe_again(l, now);
    l->rto *= 2;
    if (l->rto > LINK_RTO_MAX_S)
        l->rto = LINK_RTO_MAX_S;
    l->nak_answered = 0;
    link_resend_all(l, now);
    double sent = link_slot(l, l->receive_seq)->send_time;
    return (sent > now ? sent : now) + l->rto;
}

/* ---- life cycle and configuration ---- */

static void link_reset_state(struct fs_link *l)
{
    l->receive_seq = l->send_seq;
    l->bytes_in_flight = 0;
    l->heard = 0;
    l->synced = 0;
    l->nak_answered = 0;
    l->have_rtt = 0;
    l->srtt = l->rttvar = 0;
    l->rto = LINK_RTO_INITIAL_S;
    l->last_receive_time = -1;
}

struct fs_link *fs_link_new(struct fs_reactor *reactor, struct fs_transport *transport,
                            const char *name, struct fs_error *err)
{
    if (strlen(name) > FS_LINK_NAME_MAX) {
        fs_error_set(err, "mcu '%s': name longer than %d characters", name,
                     FS_LINK_NAME_MAX);
        return NULL;
    }
    struct fs_link *l = calloc(1, sizeof(*l));
    struct link_msg *pool = calloc(FS_LINK_MAX_QUEUED_MESSAGES, sizeof(*pool));
    if (!l || !pool) {
        free(l);
        free(pool);
        fs_error_set(err, "mcu '%s': out of memory for the link", name);
        return NULL;
    }
    l->reactor = reactor;
    l->transport = transport;
    memcpy(l->name, name, strlen(name) + 1);
    l->pool = pool;
    for (uint32_t i = 0; i < FS_LINK_MAX_QUEUED_MESSAGES; i++)
        pool[i].next = i + 1 < FS_LINK_MAX_QUEUED_MESSAGES ? i + 1 : LINK_NO_MSG;
    l->free_msg = 0;
    l->default_queue.head = l->default_queue.tail = LINK_NO_MSG;
    l->last_queue = &l->default_queue;
    fs_timer_init(&l->send_timer, link_send_timer_fired, l);
    fs_timer_init(&l->retransmit_timer, link_retransmit_timer_fired, l);
    fs_frame_reader_init(&l->reader);
    link_reset_state(l);
    fs_transport_set_receiver(transport, link_on_bytes, l);
    return l;
}

void fs_link_free(struct fs_link *l)
{
    if (!l)
        return;
    fs_reactor_timer_cancel(l->reactor, &l->send_timer);
    fs_reactor_timer_cancel(l->reactor, &l->retransmit_timer);
    fs_transport_set_receiver(l->transport, NULL, NULL);
    struct fs_link_queue *q = l->default_queue.next_queue;
    while (q) {
        struct fs_link_queue *next = q->next_queue;
        free(q);
        q = next;
    }
    free(l->pool);
    free(l);
}

void fs_link_set_receiver(struct fs_link *l, fs_link_receive_fn fn, void *arg)
{
    l->receive_fn = fn;
    l->receive_arg = arg;
}

void fs_link_set_clock_estimator(struct fs_link *l, fs_link_clock_fn fn, void *arg)
{
    l->clock_fn = fn;
    l->clock_arg = arg;
    link_kick(l);
}

void fs_link_set_host_time_estimator(struct fs_link *l, fs_link_host_time_fn fn,
                                     void *arg)
{
    l->host_time_fn = fn;
    l->host_time_arg = arg;
    link_kick(l);
}

void fs_link_set_wire_rate(struct fs_link *l, double bytes_per_s)
{
    l->wire_rate = bytes_per_s > 0 ? bytes_per_s : 0;
}

void fs_link_set_receive_window(struct fs_link *l, uint32_t bytes)
{
    l->receive_window = bytes;
    link_kick(l);
}

struct fs_link_queue *fs_link_default_queue(struct fs_link *l)
{
    return &l->default_queue;
}

struct fs_link_queue *fs_link_queue_new(struct fs_link *l)
{
    struct fs_link_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->head = q->tail = LINK_NO_MSG;
    l->last_queue->next_queue = q;
    l->last_queue = q;
    return q;
}

int fs_link_send(struct fs_link *l, struct fs_link_queue *q, const uint8_t *msg,
                 size_t len, uint64_t min_clock, uint64_t req_clock,
                 struct fs_error *err)
{
    if (len == 0 || len > FS_FRAME_CONTENT_MAX)
        return fs_error_set(err, "mcu '%s': message of %zu bytes (1..%d allowed)",
                            l->name, len, FS_FRAME_CONTENT_MAX);
    if (l->free_msg == LINK_NO_MSG)
        return fs_error_set(err, "mcu '%s': command queues full (%d messages)",
                            l->name, FS_LINK_MAX_QUEUED_MESSAGES);
    uint32_t idx = l->free_msg;
    struct link_msg *m = &l->pool[idx];
    l->free_msg = m->next;
    m->min_clock = min_clock;
    m->req_clock = req_clock;
    m->order = l->next_order++;
    m->next = LINK_NO_MSG;
    m->len = (uint8_t)len;
    memcpy(m->data, msg, len);
    if (q->tail == LINK_NO_MSG)
        q->head = idx;
    else
        l->pool[q->tail].next = idx;
    q->tail = idx;
    l->queued_count++;
    link_kick(l);
    return 0;
}

void fs_link_get_stats(const struct fs_link *l, struct fs_link_stats *out)
{
    *out = l->stats;
    out->bytes_invalid = l->reader.bytes_invalid;
    out->send_seq = l->send_seq;
    out->receive_seq = l->receive_seq;
    out->srtt = l->srtt;
    out->rttvar = l->rttvar;
    out->rto = l->rto;
    out->pending_blocks = link_pending(l);
    out->bytes_in_flight = l->bytes_in_flight;
    out->ready_bytes = out->upcoming_bytes = 0;
    uint64_t clock_now = link_clock_now(l, fs_reactor_now(l->reactor));
    for (const struct fs_link_queue *q = &l->default_queue; q; q = q->next_queue) {
        for (uint32_t i = q->head; i != LINK_NO_MSG; i = l->pool[i].next) {
            const struct link_msg *m = &l->pool[i];
            if (msg_is_ready(m, clock_now))
                out->ready_bytes += m->len;
            else
                out->upcoming_bytes += m->len;
        }
    }
}

int fs_link_is_idle(const struct fs_link *l)
{
    return l->queued_count == 0 && link_pending(l) == 0;
}

int fs_link_has_contact(const struct fs_link *l)
{
    return l->heard;
}

double fs_link_last_receive_time(const struct fs_link *l)
{
    return l->last_receive_time;
}

int fs_link_get_transport_error(const struct fs_link *l, struct fs_error *err)
{
    if (!l->transport_failed)
        return 0;
    if (err)
        *err = l->transport_error;
    return -1;
}

void fs_link_queue_drop(struct fs_link *l, struct fs_link_queue *q)
{
    /* The send timer may still be set for a dropped message's min_clock;
     * waking then finds nothing to send, which costs nothing. */
    while (q->head != LINK_NO_MSG)
        link_pop_head(l, q);
}

void fs_link_reset(struct fs_link *l)
{
    for (struct fs_link_queue *q = &l->default_queue; q; q = q->next_queue)
        while (q->head != LINK_NO_MSG)
            link_pop_head(l, q);
    fs_reactor_timer_cancel(l->reactor, &l->send_timer);
    fs_reactor_timer_cancel(l->reactor, &l->retransmit_timer);
    link_reset_state(l);
}
