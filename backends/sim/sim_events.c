/* Binary min-heap of events keyed by (time, sequence). */
#include "sim_events.h"

#include <stdlib.h> /* realloc, free */

void sim_events_init(struct sim_events *q)
{
    q->heap = NULL;
    q->count = q->capacity = 0;
    q->next_seq = 0;
}

void sim_events_free(struct sim_events *q)
{
    free(q->heap);
    sim_events_init(q);
}

static int event_before(const struct sim_event *a, const struct sim_event *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns;
    return a->seq < b->seq;
}

static int grow(struct sim_events *q)
{
    if (q->capacity >= SIM_EVENTS_MAX)
        return -1;
    size_t cap = q->capacity ? q->capacity * 2 : 64;
    if (cap > SIM_EVENTS_MAX)
        cap = SIM_EVENTS_MAX;
    struct sim_event *heap = realloc(q->heap, cap * sizeof(*heap));
    if (!heap)
        return -1;
    q->heap = heap;
    q->capacity = cap;
    return 0;
}

int sim_events_push(struct sim_events *q, int64_t time_ns, uint32_t kind, void *target,
                    uint64_t arg)
{
    if (q->count == q->capacity && grow(q) < 0)
        return -1;
    struct sim_event ev = {time_ns, q->next_seq++, kind, arg, target};
    size_t i = q->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&ev, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = ev;
    return 0;
}

const struct sim_event *sim_events_peek(const struct sim_events *q)
{
    return q->count ? &q->heap[0] : NULL;
}

int sim_events_pop(struct sim_events *q, struct sim_event *out)
{
    if (!q->count)
        return -1;
    *out = q->heap[0];
    struct sim_event last = q->heap[--q->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->count)
            break;
        if (child + 1 < q->count && event_before(&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!event_before(&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (q->count)
        q->heap[i] = last;
    return 0;
}
