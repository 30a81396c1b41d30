/* The reliable link to one MCU: blocks with sequence numbers, acks and
 * naks, retransmission, flow control and command scheduling.
 *
 * Messages wait in command queues. A message is released once the MCU's
 * clock (as the clock estimator predicts it) has reached its min_clock, and
 * released messages are packed into blocks in req_clock order (most urgent
 * first). At most 12 blocks are unacknowledged at once, and no more bytes
 * than the MCU's receive window. Every unacknowledged block is sent again
 * after the retransmission timeout (RFC 6298-style estimate from measured
 * round trips, clamped to 25 ms .. 5 s, doubled on each expiry) or at once
 * on a nak. On first contact the link adopts the MCU's sequence number:
 * until the MCU has acknowledged an empty probe block, nothing else is sent;
 * each block heard from the MCU names the sequence it expects, the probe is
 * renumbered to it and sent again, so no command ever rides on a guess. A
 * probe nobody answers takes the next sequence number every 0.1 s: a
 * firmware naks a wrong sequence only once and then waits in silence for
 * the one it expects (an MCU that restarted expects 0).
 * Received blocks go, in order, to the receiver; the MCU never retransmits,
 * so queries that need an answer are retried by their senders. */
#ifndef FS_LINK_H
#define FS_LINK_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

struct fs_error;
struct fs_reactor;
struct fs_transport;

#define FS_LINK_MAX_PENDING_BLOCKS 12
/* Messages waiting in all queues of one link together; fs_link_send fails
 * beyond this rather than letting a runaway producer eat memory. */
#define FS_LINK_MAX_QUEUED_MESSAGES 4096
/* Names longer than this are rejected by fs_link_new. */
#define FS_LINK_NAME_MAX 31

struct fs_link;
struct fs_link_queue;

/* Content of one valid block from the MCU (one message, possibly more). */
typedef void (*fs_link_receive_fn)(void *arg, const uint8_t *content, size_t len,
                                   double receive_time);
/* The MCU clock (64-bit) expected at a host time. */
typedef uint64_t (*fs_link_clock_fn)(void *arg, double host_time);
/* The inverse: host time at which the MCU is expected to reach a clock. */
typedef double (*fs_link_host_time_fn)(void *arg, uint64_t clock);

struct fs_link_stats {
    uint64_t bytes_write, bytes_read, bytes_retransmit, bytes_invalid;
    uint64_t blocks_sent, blocks_retransmitted, naks_received;
    uint32_t send_seq, receive_seq; /* full counters; wire uses low 4 bits */
    double srtt, rttvar, rto;       /* seconds */
    uint32_t ready_bytes, upcoming_bytes, pending_blocks;
    /* Counts of first transmissions (blocks_sent) and of resends
     * (blocks_retransmitted, which includes blocks renumbered when the
     * MCU's sequence is adopted). */
    uint64_t acks_out_of_range; /* acks naming a block never sent: ignored */
    uint32_t bytes_in_flight;   /* wire bytes of unacknowledged blocks */
};

struct fs_link *fs_link_new(struct fs_reactor *reactor, struct fs_transport *transport,
                            const char *name, struct fs_error *err);
void fs_link_free(struct fs_link *l);

/* The receiver may queue messages and reset the link, but not free it. */
void fs_link_set_receiver(struct fs_link *l, fs_link_receive_fn fn, void *arg);
/* Until set, min_clock is ignored and every message is ready at once. */
void fs_link_set_clock_estimator(struct fs_link *l, fs_link_clock_fn fn, void *arg);
/* Lets the link sleep until a held-back message's min_clock is due. Without
 * it (but with a clock estimator) held-back messages are re-checked every
 * FS_LINK_RECHECK_S. fs_clocksync_link_host_time fits here. */
void fs_link_set_host_time_estimator(struct fs_link *l, fs_link_host_time_fn fn,
                                     void *arg);
#define FS_LINK_RECHECK_S 0.005
/* Bytes per second the line carries (a UART: baud / 10), or 0 when unknown
 * or fast (USB, CAN). With it, round trips and retransmission timeouts are
 * measured from when a block has actually left the wire rather than from
 * when it was queued behind a burst, which keeps a slow line from
 * retransmitting what is merely still on its way. */
void fs_link_set_wire_rate(struct fs_link *l, double bytes_per_s);
/* From the dictionary's RECEIVE_WINDOW; 0 means no byte limit. */
void fs_link_set_receive_window(struct fs_link *l, uint32_t bytes);

/* The default queue exists from the start; more can be made for objects
 * whose commands must stay in order among themselves (one per stepper). */
struct fs_link_queue *fs_link_default_queue(struct fs_link *l);
struct fs_link_queue *fs_link_queue_new(struct fs_link *l);
/* Forgets the messages of q not yet sent (a stopped stepper's steps, which
 * the MCU would discard anyway); those already sent are unaffected. */
void fs_link_queue_drop(struct fs_link *l, struct fs_link_queue *q);

/* Queues one encoded message (id and parameters, at most 59 bytes).
 * min_clock 0 means ready at once; req_clock 0 means most urgent. */
int fs_link_send(struct fs_link *l, struct fs_link_queue *q, const uint8_t *msg,
                 size_t len, uint64_t min_clock, uint64_t req_clock,
                 struct fs_error *err);

void fs_link_get_stats(const struct fs_link *l, struct fs_link_stats *out);
/* Nothing queued and nothing unacknowledged. */
int fs_link_is_idle(const struct fs_link *l);
/* At least one valid block has arrived since creation or the last reset. */
int fs_link_has_contact(const struct fs_link *l);
/* Host time a valid block last arrived, or -1. */
double fs_link_last_receive_time(const struct fs_link *l);
/* Returns 0 if every transport send succeeded so far; otherwise -1 with the
 * last transport failure in err (blocks that failed to go out stay
 * unacknowledged and are retried by the retransmission timer). */
int fs_link_get_transport_error(const struct fs_link *l, struct fs_error *err);
/* Forgets queued messages and sequence state; the next contact is adopted
 * again (an MCU that restarted or is being reconnected). */
void fs_link_reset(struct fs_link *l);

#endif
