/* The engine's sense of time: timers on host time (seconds) and a way to let
 * the world run while the engine waits.
 *
 * The engine never sleeps or polls by itself. A backend supplies "now" and
 * "wait": the simulator's wait advances virtual time through its event queue,
 * the hardware backend's wait is poll() on its file descriptors. Either way
 * the backend calls fs_reactor_run_due() when an engine timer is due and
 * pushes received bytes into the engine, so one engine source runs unchanged
 * in both worlds.
 *
 * Timers fire in (waketime, arming order), which keeps simulations
 * deterministic. A timer callback must not call fs_reactor_pause or
 * fs_reactor_wait_for: it runs inside the backend's wait. */
#ifndef FS_REACTOR_H
#define FS_REACTOR_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#define FS_NEVER 1e300

struct fs_timer;

/* Returns the next waketime, or FS_NEVER to stay idle until re-armed. */
typedef double (*fs_timer_fn)(struct fs_timer *timer, double eventtime);

struct fs_timer {
    fs_timer_fn fn;
    void *arg;
    double waketime;
    uint64_t order;      /* tie-break among equal waketimes */
    size_t heap_index;   /* position in the reactor's heap, or SIZE_MAX */
};

struct fs_reactor_backend {
    void *ctx;
    double (*now)(void *ctx);
    /* Run the world forward to at most `until`: deliver due bytes, call
     * fs_reactor_run_due() for due engine timers. It may return after the
     * first batch of events so the caller can re-check its condition; it
     * must make progress (never return without time or events advancing). */
    void (*wait)(void *ctx, double until);
};

struct fs_reactor {
    struct fs_reactor_backend backend;
    struct fs_timer **heap;
    size_t count, capacity;
    uint64_t next_order;
    int running_timers; /* guards against pausing inside a timer callback */
};

void fs_reactor_init(struct fs_reactor *r, const struct fs_reactor_backend *be);
void fs_reactor_free(struct fs_reactor *r);

void fs_timer_init(struct fs_timer *t, fs_timer_fn fn, void *arg);
/* Arms (or re-arms) a timer. FS_NEVER disarms it. Returns -1 only if the
 * heap could not grow. */
int fs_reactor_timer_set(struct fs_reactor *r, struct fs_timer *t, double waketime);
void fs_reactor_timer_cancel(struct fs_reactor *r, struct fs_timer *t);

double fs_reactor_now(const struct fs_reactor *r);
/* Earliest armed waketime, FS_NEVER when none: the backend sleeps until
 * then at most. */
double fs_reactor_next_wake(const struct fs_reactor *r);
/* Fires every timer whose waketime is <= now, in order. Backend only. */
void fs_reactor_run_due(struct fs_reactor *r, double now);

/* Lets the world run until host time reaches `until`. */
void fs_reactor_pause(struct fs_reactor *r, double until);
/* Lets the world run until done(arg) is true (returns 0) or host time passes
 * `deadline` (returns -1). */
int fs_reactor_wait_for(struct fs_reactor *r, int (*done)(void *arg), void *arg,
                        double deadline);

#endif
