/* The simulator's event queue: a binary min-heap ordered by (time, insertion
 * sequence). Two events at the same nanosecond run in the order they were
 * queued, so a run never depends on heap layout and the same inputs give the
 * same order every time.
 *
 * Events are plain values (a kind, a target and a number); the world decides
 * what they mean. Stale events are not removed: their owner keeps a
 * generation number and ignores events that carry an old one. The heap has a
 * hard bound so a runaway producer is reported instead of eating memory. */
#ifndef SIM_EVENTS_H
#define SIM_EVENTS_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint64_t */

#define SIM_EVENTS_MAX (1u << 20)

struct sim_event {
    int64_t time_ns;
    uint64_t seq;
    uint32_t kind;
    uint64_t arg;
    void *target;
};

struct sim_events {
    struct sim_event *heap;
    size_t count, capacity;
    uint64_t next_seq;
};

void sim_events_init(struct sim_events *q);
void sim_events_free(struct sim_events *q);

/* Returns 0, or -1 when the queue is at SIM_EVENTS_MAX or memory ran out. */
int sim_events_push(struct sim_events *q, int64_t time_ns, uint32_t kind, void *target,
                    uint64_t arg);
/* The earliest event, or NULL when empty. */
const struct sim_event *sim_events_peek(const struct sim_events *q);
/* Removes the earliest event into *out; returns 0, or -1 when empty. */
int sim_events_pop(struct sim_events *q, struct sim_event *out);

#endif
