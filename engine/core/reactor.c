/* Engine timers in a binary min-heap ordered by (waketime, arming order), and
 * the pause/wait primitives that hand control to the backend. */
#include "reactor.h"

#include <assert.h> /* assert */
#include <stdint.h> /* SIZE_MAX */
#include <stdlib.h> /* realloc, free */

static int timer_before(const struct fs_timer *a, const struct fs_timer *b)
{
    if (a->waketime != b->waketime)
        return a->waketime < b->waketime;
    return a->order < b->order;
}

static void heap_place(struct fs_reactor *r, size_t i, struct fs_timer *t)
{
    r->heap[i] = t;
    t->heap_index = i;
}

static void heap_sift_up(struct fs_reactor *r, size_t i)
{
    struct fs_timer *t = r->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, r->heap[parent]))
            break;
        heap_place(r, i, r->heap[parent]);
        i = parent;
    }
    heap_place(r, i, t);
}

static void heap_sift_down(struct fs_reactor *r, size_t i)
{
    struct fs_timer *t = r->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= r->count)
            break;
        if (child + 1 < r->count && timer_before(r->heap[child + 1], r->heap[child]))
            child++;
        if (!timer_before(r->heap[child], t))
            break;
        heap_place(r, i, r->heap[child]);
        i = child;
    }
    heap_place(r, i, t);
}

static void heap_remove(struct fs_reactor *r, struct fs_timer *t)
{
    size_t i = t->heap_index;
    t->heap_index = SIZE_MAX;
    r->count--;
    if (i == r->count)
        return;
    struct fs_timer *moved = r->heap[r->count];
    heap_place(r, i, moved);
    heap_sift_down(r, i);
    heap_sift_up(r, moved->heap_index);
}

void fs_reactor_init(struct fs_reactor *r, const struct fs_reactor_backend *be)
{
    r->backend = *be;
    r->heap = NULL;
    r->count = r->capacity = 0;
    r->next_order = 0;
    r->running_timers = 0;
}

void fs_reactor_free(struct fs_reactor *r)
{
    for (size_t i = 0; i < r->count; i++)
        r->heap[i]->heap_index = SIZE_MAX;
    free(r->heap);
    r->heap = NULL;
    r->count = r->capacity = 0;
}

void fs_timer_init(struct fs_timer *t, fs_timer_fn fn, void *arg)
{
    t->fn = fn;
    t->arg = arg;
    t->waketime = FS_NEVER;
    t->order = 0;
    t->heap_index = SIZE_MAX;
}

void fs_reactor_timer_cancel(struct fs_reactor *r, struct fs_timer *t)
{
    if (t->heap_index != SIZE_MAX)
        heap_remove(r, t);
    t->waketime = FS_NEVER;
}

int fs_reactor_timer_set(struct fs_reactor *r, struct fs_timer *t, double waketime)
{
    fs_reactor_timer_cancel(r, t);
    if (waketime >= FS_NEVER)
        return 0;
    if (r->count == r->capacity) {
        size_t cap = r->capacity ? r->capacity * 2 : 16;
        struct fs_timer **heap = realloc(r->heap, cap * sizeof(*heap));
        if (!heap)
            return -1;
        r->heap = heap;
        r->capacity = cap;
    }
    t->waketime = waketime;
    t->order = r->next_order++;
    heap_place(r, r->count++, t);
    heap_sift_up(r, t->heap_index);
    return 0;
}

double fs_reactor_now(const struct fs_reactor *r)
{
    return r->backend.now(r->backend.ctx);
}

double fs_reactor_next_wake(const struct fs_reactor *r)
{
    return r->count ? r->heap[0]->waketime : FS_NEVER;
}

void fs_reactor_run_due(struct fs_reactor *r, double now)
{
    r->running_timers++;
    while (r->count && r->heap[0]->waketime <= now) {
        struct fs_timer *t = r->heap[0];
        heap_remove(r, t);
        t->waketime = FS_NEVER;
        double next = t->fn(t, now);
        /* The callback may have re-armed the timer itself. */
        if (next < FS_NEVER && t->heap_index == SIZE_MAX)
            fs_reactor_timer_set(r, t, next);
    }
    r->running_timers--;
}

void fs_reactor_pause(struct fs_reactor *r, double until)
{
    assert(!r->running_timers && "fs_reactor_pause inside a timer callback");
    while (fs_reactor_now(r) < until)
        r->backend.wait(r->backend.ctx, until);
}

int fs_reactor_wait_for(struct fs_reactor *r, int (*done)(void *arg), void *arg,
                        double deadline)
{
    assert(!r->running_timers && "fs_reactor_wait_for inside a timer callback");
    for (;;) {
        if (done(arg))
            return 0;
        if (fs_reactor_now(r) >= deadline)
            return -1;
        r->backend.wait(r->backend.ctx, deadline);
    }
}
