/* The world's event loop and the engine's reactor backend.
 *
 * One step of the loop takes the earliest of two sources: the world's own
 * event heap (firmware wakes, wire deliveries, power-on, trace ticks) and the
 * engine's earliest timer. Time jumps to it, every world event queued for
 * that nanosecond runs in queueing order, then the engine timers that are due
 * run. World events go first at a tie so that bytes and pin changes of an
 * instant are in place before the engine looks at them.
 *
 * Engine time is double seconds; world time is int64 nanoseconds. The
 * conversion rounds engine deadlines *up* to the first nanosecond whose
 * seconds value is not below them, so a timer handed to fs_reactor_run_due
 * is always due and fs_reactor_pause always reaches its target: wait() never
 * returns without progress. */
#include "sim_world_impl.h"

#include <math.h>   /* ceil */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strlen */

#define NS_PER_S 1000000000LL
/* Beyond this, seconds no longer fit int64 nanoseconds: treat as never. */
#define MAX_SECONDS 9.0e9

static double ns_to_s(int64_t ns)
{
    return (double)ns / 1e9;
}

static int64_t s_to_ns_ceil(double s)
{
    if (s >= MAX_SECONDS)
        return INT64_MAX;
    if (s <= 0.0)
        return 0;
    int64_t ns = (int64_t)ceil(s * 1e9);
    while (ns_to_s(ns) < s)
        ns++;
    return ns;
}

struct sim_world *sim_world_new(uint64_t seed, struct fs_error *err)
{
    struct sim_world *w = calloc(1, sizeof(*w));
    if (!w) {
        fs_error_set(err, "sim: out of memory for the world");
        return NULL;
    }
    w->seed = seed;
    sim_events_init(&w->events);
    sim_trace_init(&w->trace);
    return w;
}

void sim_world_free(struct sim_world *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->mcu_count; i++)
        sim_mcu_free(w->mcus[i]);
    for (int i = 0; i < w->attached_count; i++)
        w->attached[i].free_fn(w->attached[i].obj);
    sim_inject_free_state(w);
    sim_events_free(&w->events);
    free(w);
}

void sim_world_schedule(struct sim_world *w, int64_t t_ns, enum sim_event_kind kind,
                        void *target, uint64_t arg)
{
    if (w->failed)
        return;
    if (sim_events_push(&w->events, t_ns, kind, target, arg) < 0) {
        w->failed = 1;
        fs_error_set(&w->error, "sim: event queue full (%u events) at %.9f s",
                     SIM_EVENTS_MAX, ns_to_s(w->now_ns));
    }
}

struct sim_mcu *sim_world_find_mcu(struct sim_world *w, const char *name)
{
    for (int i = 0; i < w->mcu_count; i++)
        if (strcmp(w->mcus[i]->name, name) == 0)
            return w->mcus[i];
    return NULL;
}

struct sim_mcu *sim_world_find_mcu_err(struct sim_world *w, const char *name,
                                       struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu(w, name);
    if (!m)
        fs_error_set(err, "sim: no mcu '%s'", name);
    return m;
}

int sim_world_add_mcu(struct sim_world *w, const char *name,
                      const struct sim_mcu_options *opt, struct fs_error *err)
{
    if (w->mcu_count == SIM_WORLD_MCUS_MAX)
        return fs_error_set(err, "sim: more than %d mcus", SIM_WORLD_MCUS_MAX);
    if (sim_world_find_mcu(w, name))
        return fs_error_set(err, "sim: mcu '%s' added twice", name);
    struct sim_mcu_options defaults;
    if (!opt) {
        sim_mcu_options_default(&defaults);
        opt = &defaults;
    }
    struct sim_mcu *m = sim_mcu_new(w, w->mcu_count, name, opt, err);
    if (!m)
        return -1;
    w->mcus[w->mcu_count++] = m;
    return 0;
}

struct fs_transport *sim_world_transport(struct sim_world *w, const char *mcu)
{
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    return m ? &m->transport : NULL;
}

/* ---- trace ---- */

static void trace_temperatures(struct sim_world *w)
{
    for (int i = 0; i < w->heater_count; i++) {
        struct sim_heater_obj *h = &w->heaters[i];
        plant_heater_advance(&h->heater, w->now_ns);
        sim_trace_line(&w->trace, w->now_ns, "%s heater%d T=%.3f drive=%.3f",
                       h->mcu->name, i, h->heater.temp_c, h->heater.drive);
    }
}

void sim_world_trace_start(struct sim_world *w, FILE *out)
{
    sim_trace_start(&w->trace, out);
    w->trace_gen++;
    /* Temperatures on whole seconds, so traces line up across runs. */
    int64_t next = (w->now_ns / NS_PER_S + 1) * NS_PER_S;
    sim_world_schedule(w, next, SIM_EV_TRACE_TICK, w, w->trace_gen);
}

void sim_world_trace_stop(struct sim_world *w)
{
    sim_trace_stop(&w->trace);
    w->trace_gen++;
}

uint64_t sim_world_trace_hash(const struct sim_world *w)
{
    return w->trace.hash;
}

static void handle_trace_tick(struct sim_world *w, const struct sim_event *ev)
{
    if (ev->arg != w->trace_gen || !w->trace.enabled)
        return;
    trace_temperatures(w);
    sim_world_schedule(w, w->now_ns + NS_PER_S, SIM_EV_TRACE_TICK, w, w->trace_gen);
}

/* ---- the loop ---- */

static int64_t engine_next_ns(const struct sim_world *w)
{
    if (!w->reactor)
        return INT64_MAX;
    return s_to_ns_ceil(fs_reactor_next_wake(w->reactor));
}

/* The world's own rare kinds, kept out of dispatch() so that its common
 * path stays one comparison and a tail call. */
__attribute__((noinline)) static void dispatch_world(struct sim_world *w,
                                                  const struct sim_event *ev)
{
    if (ev->kind == SIM_EV_TRACE_TICK)
        handle_trace_tick(w, ev);
    else if (ev->kind == SIM_EV_INJECT)
        sim_inject_handle_event(w, ev);
}

static void dispatch(struct sim_world *w, const struct sim_event *ev)
{
    w->stats.events++;
    /* Nearly every event is an MCU's: the rare kinds (trace, injected
     * faults) cost them nothing. */
    if (__builtin_expect(ev->kind >= SIM_EV_TRACE_TICK, 0))
        dispatch_world(w, ev);
    else
        sim_mcu_handle_event(ev->target, ev);
}

/* Runs the next instant that has anything due, if it is not after limit_ns;
 * otherwise moves time to limit_ns. Returns 1 when something ran. */
static int world_step(struct sim_world *w, int64_t limit_ns)
{
    const struct sim_event *top = sim_events_peek(&w->events);
    int64_t next = top ? top->time_ns : INT64_MAX;
    int64_t engine = engine_next_ns(w);
    if (engine < next)
        next = engine;
    if (w->failed || next > limit_ns) {
        if (limit_ns > w->now_ns)
            w->now_ns = limit_ns;
        return 0;
    }
    if (next > w->now_ns)
        w->now_ns = next;
    struct sim_event ev;
    while ((top = sim_events_peek(&w->events)) && top->time_ns <= w->now_ns) {
        sim_events_pop(&w->events, &ev);
        dispatch(w, &ev);
    }
    if (engine_next_ns(w) <= w->now_ns) {
        w->stats.engine_wakes++;
        fs_reactor_run_due(w->reactor, ns_to_s(w->now_ns));
    }
    return 1;
}

int sim_world_run_until(struct sim_world *w, int64_t t_ns, struct fs_error *err)
{
    while (world_step(w, t_ns))
        ;
    if (w->failed) {
        if (err)
            *err = w->error;
        return -1;
    }
    return 0;
}

int64_t sim_world_now_ns(const struct sim_world *w)
{
    return w->now_ns;
}

int sim_world_attach(struct sim_world *w, const char *name, void *obj,
                     void (*free_fn)(void *obj), struct fs_error *err)
{
    if (w->attached_count >= SIM_WORLD_ATTACHED_MAX || strlen(name) >= SIM_ATTACHED_NAME_MAX ||
        sim_world_attached(w, name))
        return fs_error_set(err, "sim: cannot attach '%s' to the world", name);
    snprintf(w->attached[w->attached_count].name, SIM_ATTACHED_NAME_MAX, "%s", name);
    w->attached[w->attached_count].obj = obj;
    w->attached[w->attached_count].free_fn = free_fn;
    w->attached_count++;
    return 0;
}

void *sim_world_attached(struct sim_world *w, const char *name)
{
    for (int i = 0; i < w->attached_count; i++)
        if (!strcmp(w->attached[i].name, name))
            return w->attached[i].obj;
    return NULL;
}

void sim_world_get_stats(const struct sim_world *w, struct sim_world_stats *out)
{
    *out = w->stats;
    out->now_ns = w->now_ns;
}

/* ---- the engine's backend ---- */

static double backend_now(void *ctx)
{
    return ns_to_s(((struct sim_world *)ctx)->now_ns);
}

static void backend_wait(void *ctx, double until)
{
    struct sim_world *w = ctx;
    world_step(w, s_to_ns_ceil(until));
}

struct fs_reactor_backend sim_world_reactor_backend(struct sim_world *w)
{
    return (struct fs_reactor_backend){w, backend_now, backend_wait};
}

void sim_world_attach_reactor(struct sim_world *w, struct fs_reactor *r)
{
    w->reactor = r;
}
