/* Fault injection: the state of every injected fault, the thermistor read
 * hook that realises the sensor faults, and the actions (start a fault, end
 * a fault) that ride on the world's event queue. */
#include "sim_inject.h"

#include <math.h>   /* cos, exp, log, sqrt, isfinite */
#include <stdlib.h> /* calloc, realloc, free */
#include <string.h> /* memset */

#include "sim_rng.h"        /* struct sim_rng */
#include "sim_world_impl.h" /* the world's insides */

#define NS_PER_S 1000000000LL
/* Pending actions at once; a scenario has far fewer. */
#define ACTIONS_MAX 65536
#define PI 3.14159265358979323846

struct therm_state {
    struct sim_world *world;
    int id;
    int active[SIM_THERMISTOR_KINDS];
    uint64_t gen[SIM_THERMISTOR_KINDS];
    struct sim_thermistor_fault f[SIM_THERMISTOR_KINDS];
    int64_t start_ns; /* of the intermittent fault */
    uint64_t last_steps;
    int64_t last_move_ns;
    int moved;       /* last_move_ns is valid */
    int burst_state; /* last traced: 1 broken, 0 sound, -1 none yet */
    struct sim_rng rng;
};

struct heater_state {
    int active[SIM_HEATER_KINDS];
    uint64_t gen[SIM_HEATER_KINDS];
    struct sim_heater_fault f[SIM_HEATER_KINDS];
    int64_t weak_start_ns;
};

struct mcu_state {
    int active[SIM_MCU_KINDS];
    uint64_t gen[SIM_MCU_KINDS];
    struct sim_mcu_fault f[SIM_MCU_KINDS];
};

enum action_type { ACT_FREE = 0, ACT_APPLY, ACT_END };

struct action {
    enum action_type type;
    struct sim_injection inj; /* ACT_APPLY; ACT_END: target, heater_id, mcu */
    int end_kind;             /* ACT_END */
    uint64_t gen;             /* ACT_END: the fault generation it ends */
    int next_free;
};

struct sim_inject_state {
    struct therm_state therm[SIM_WORLD_HEATERS_MAX];
    struct heater_state heater[SIM_WORLD_HEATERS_MAX];
    struct mcu_state mcu[SIM_WORLD_MCUS_MAX];
    struct action *actions;
    int action_count, action_cap, free_head;
};

/* ---- names ---- */

static const char *const therm_names[SIM_THERMISTOR_KINDS] = {
    "healthy", "open", "short", "intermittent", "noisy", "stuck", "detached",
};
static const char *const heater_names[SIM_HEATER_KINDS] = {
    "healthy", "dead", "weak", "stuck_on", "disconnected",
};
static const char *const mcu_names[SIM_MCU_KINDS] = {
    "link_healthy", "link_cut", "corrupt", "drop", "reset", "power_loss",
};

const char *sim_thermistor_fault_name(enum sim_thermistor_fault_kind kind)
{
    return (unsigned)kind < SIM_THERMISTOR_KINDS ? therm_names[kind] : "?";
}

const char *sim_heater_fault_name(enum sim_heater_fault_kind kind)
{
    return (unsigned)kind < SIM_HEATER_KINDS ? heater_names[kind] : "?";
}

const char *sim_mcu_fault_name(enum sim_mcu_fault_kind kind)
{
    return (unsigned)kind < SIM_MCU_KINDS ? mcu_names[kind] : "?";
}

/* ---- state ---- */

static struct sim_inject_state *get_state(struct sim_world *w, struct fs_error *err)
{
    if (w->inject)
        return w->inject;
    struct sim_inject_state *s = calloc(1, sizeof(*s));
    if (!s) {
        fs_error_set(err, "sim: out of memory for fault injection");
        return NULL;
    }
    s->free_head = -1;
    for (int i = 0; i < SIM_WORLD_HEATERS_MAX; i++) {
        struct therm_state *t = &s->therm[i];
        t->world = w;
        t->id = i;
        t->burst_state = -1;
        /* Its own generator per sensor, so noise on one does not shift
         * another's, and a seed reproduces the run. */
        struct sim_rng derive;
        sim_rng_seed(&derive, w->seed ^ (0x736e7369ULL << 24) ^ (uint64_t)i);
        sim_rng_seed(&t->rng, sim_rng_next(&derive));
    }
    w->inject = s;
    return s;
}

void sim_inject_free_state(struct sim_world *w)
{
    if (!w->inject)
        return;
    free(w->inject->actions);
    free(w->inject);
    w->inject = NULL;
}

static void trace_on(struct sim_world *w, const char *target, const char *kind,
                     int64_t duration_ns)
{
    if (duration_ns > 0)
        sim_trace_line(&w->trace, w->now_ns, "inject %s %s on for %lld.%09lld s", target,
                       kind, (long long)(duration_ns / NS_PER_S),
                       (long long)(duration_ns % NS_PER_S));
    else
        sim_trace_line(&w->trace, w->now_ns, "inject %s %s on", target, kind);
}

static void trace_off(struct sim_world *w, const char *target, const char *kind)
{
    sim_trace_line(&w->trace, w->now_ns, "inject %s %s off", target, kind);
}

/* ---- actions on the event queue ---- */

static int action_new(struct sim_inject_state *s, struct fs_error *err)
{
    if (s->free_head >= 0) {
        int i = s->free_head;
        s->free_head = s->actions[i].next_free;
        return i;
    }
    if (s->action_count == s->action_cap) {
        if (s->action_cap == ACTIONS_MAX)
            return fs_error_set(err, "sim: more than %d pending fault injections",
                                ACTIONS_MAX);
        int cap = s->action_cap ? s->action_cap * 2 : 16;
        struct action *a = realloc(s->actions, (size_t)cap * sizeof(*a));
        if (!a)
            return fs_error_set(err, "sim: out of memory for fault injections");
        s->actions = a;
        s->action_cap = cap;
    }
    return s->action_count++;
}

static void action_release(struct sim_inject_state *s, int i)
{
    s->actions[i].type = ACT_FREE;
    s->actions[i].next_free = s->free_head;
    s->free_head = i;
}

/* The end of a fault that has a duration. A failure to queue it (the
 * world's limits) is the world's failure, reported by sim_world_run_until. */
static void schedule_end(struct sim_world *w, enum sim_inject_target target, int heater_id,
                         const char *mcu, int kind, uint64_t gen, int64_t duration_ns)
{
    struct sim_inject_state *s = w->inject;
    int i = action_new(s, &w->error);
    if (i < 0) {
        w->failed = 1;
        return;
    }
    struct action *a = &s->actions[i];
    memset(a, 0, sizeof(*a));
    a->type = ACT_END;
    a->inj.target = target;
    a->inj.heater_id = heater_id;
    if (mcu)
        snprintf(a->inj.mcu, sizeof(a->inj.mcu), "%s", mcu);
    a->end_kind = kind;
    a->gen = gen;
    sim_world_schedule(w, w->now_ns + duration_ns, SIM_EV_INJECT, w, (uint64_t)i);
}

/* ---- thermistors ---- */

static double noise_c(struct therm_state *t, const struct sim_thermistor_fault *f)
{
    double u = sim_rng_unit(&t->rng);
    if (f->noise_shape == SIM_NOISE_UNIFORM)
        return (2.0 * u - 1.0) * f->amplitude_c;
    /* Box-Muller with 1 - u in (0, 1] so the logarithm stays finite. */
    double v = sim_rng_unit(&t->rng);
    return f->amplitude_c * sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * PI * v);
}

static int burst_broken(struct therm_state *t, int64_t now)
{
    struct sim_world *w = t->world;
    const struct sim_thermistor_fault *f = &t->f[SIM_THERMISTOR_INTERMITTENT];
    if (!f->while_axis_moves) {
        int64_t period = f->burst_on_ns + f->burst_off_ns;
        return (now - t->start_ns) % period < f->burst_on_ns;
    }
    uint64_t steps = w->axes[f->axis_id].axis.step_count;
    if (steps != t->last_steps) {
        t->last_steps = steps;
        t->last_move_ns = now;
        t->moved = 1;
    }
    return t->moved && now - t->last_move_ns <= f->window_ns;
}

static uint16_t therm_read_hook(void *arg, const struct plant_thermistor *sensor,
                                double temp_c)
{
    struct therm_state *t = arg;
    struct sim_world *w = t->world;
    double temp = temp_c;
    if (t->active[SIM_THERMISTOR_DETACHED])
        temp = w->heaters[t->id].heater.probe_temp_c;
    if (t->active[SIM_THERMISTOR_STUCK])
        temp = t->f[SIM_THERMISTOR_STUCK].stuck_c;
    if (t->active[SIM_THERMISTOR_NOISY])
        temp += noise_c(t, &t->f[SIM_THERMISTOR_NOISY]);
    if (t->active[SIM_THERMISTOR_INTERMITTENT]) {
        int broken = burst_broken(t, w->now_ns);
        int is_short = t->f[SIM_THERMISTOR_INTERMITTENT].burst_short;
        if (broken != t->burst_state) {
            t->burst_state = broken;
            sim_trace_line(&w->trace, w->now_ns, "inject thermistor heater%d burst %s", t->id,
                           broken ? (is_short ? "short" : "open") : "sound");
        }
        if (broken)
            return is_short ? 0 : sensor->params.adc_max;
    }
    return plant_thermistor_adc_sound(&sensor->params, temp);
}

static int check_heater_id(struct sim_world *w, int heater_id, struct fs_error *err)
{
    if (heater_id < 0 || heater_id >= w->heater_count)
        return fs_error_set(err, "sim: fault injection on unknown heater %d", heater_id);
    return 0;
}

static int check_duration(int64_t duration_ns, const char *kind, struct fs_error *err)
{
    if (duration_ns < 0)
        return fs_error_set(err, "sim: %s fault with a negative duration", kind);
    return 0;
}

static int check_thermistor(struct sim_world *w, int heater_id,
                            const struct sim_thermistor_fault *f, struct fs_error *err)
{
    if (check_heater_id(w, heater_id, err) < 0)
        return -1;
    if ((unsigned)f->kind >= SIM_THERMISTOR_KINDS)
        return fs_error_set(err, "sim: unknown thermistor fault %d", (int)f->kind);
    const char *name = therm_names[f->kind];
    if (check_duration(f->duration_ns, name, err) < 0)
        return -1;
    switch (f->kind) {
    case SIM_THERMISTOR_INTERMITTENT:
        if (f->while_axis_moves) {
            if (f->axis_id < 0 || f->axis_id >= w->axis_count)
                return fs_error_set(err, "sim: intermittent thermistor on unknown axis %d",
                                    f->axis_id);
            if (f->window_ns < 0)
                return fs_error_set(err, "sim: intermittent thermistor with a negative "
                                         "window");
        } else if (f->burst_on_ns <= 0 || f->burst_off_ns <= 0) {
            return fs_error_set(err, "sim: intermittent thermistor needs positive burst "
                                     "on and off times (or while_axis_moves)");
        }
        break;
    case SIM_THERMISTOR_NOISY:
        if (!(f->amplitude_c >= 0.0) || !isfinite(f->amplitude_c))
            return fs_error_set(err, "sim: noisy thermistor with amplitude %g C",
                                f->amplitude_c);
        if (f->noise_shape != SIM_NOISE_GAUSSIAN && f->noise_shape != SIM_NOISE_UNIFORM)
            return fs_error_set(err, "sim: unknown noise shape %d", (int)f->noise_shape);
        break;
    case SIM_THERMISTOR_STUCK:
        if (!f->stuck_at_current && !isfinite(f->stuck_c))
            return fs_error_set(err, "sim: stuck thermistor at %g C", f->stuck_c);
        break;
    case SIM_THERMISTOR_DETACHED: {
        const struct plant_probe_params *p = &f->probe;
        int defaults = p->capacity_j_per_k == 0.0 && p->to_block_w_per_k == 0.0 &&
                       p->to_ambient_w_per_k == 0.0;
        if (!defaults && (!(p->capacity_j_per_k > 0.0) || !(p->to_block_w_per_k >= 0.0) ||
                          !(p->to_ambient_w_per_k >= 0.0) ||
                          !(p->to_block_w_per_k + p->to_ambient_w_per_k > 0.0)))
            return fs_error_set(err, "sim: a detached thermistor needs a positive mass and "
                                     "a positive coupling to the block or the air");
        break;
    }
    default:
        break;
    }
    return 0;
}

/* kind: the fault that changed. The plant's open/short hook is only
 * rewritten when one of those changed, so a hook set by hand outlives
 * unrelated injections. */
static void therm_update_plant(struct sim_world *w, struct therm_state *t, int kind)
{
    struct plant_thermistor *sensor = &w->heaters[t->id].sensor;
    if (kind == SIM_THERMISTOR_OPEN || kind == SIM_THERMISTOR_SHORT ||
        kind == SIM_THERMISTOR_HEALTHY)
        sensor->fault = t->active[SIM_THERMISTOR_OPEN]    ? PLANT_SENSOR_OPEN
                        : t->active[SIM_THERMISTOR_SHORT] ? PLANT_SENSOR_SHORT
                                                          : PLANT_SENSOR_OK;
    int hooked = t->active[SIM_THERMISTOR_INTERMITTENT] || t->active[SIM_THERMISTOR_NOISY] ||
                 t->active[SIM_THERMISTOR_STUCK] || t->active[SIM_THERMISTOR_DETACHED];
    sensor->read_hook = hooked ? therm_read_hook : NULL;
    sensor->read_hook_arg = hooked ? t : NULL;
}

static void therm_end(struct sim_world *w, struct therm_state *t, int kind)
{
    if (!t->active[kind])
        return;
    t->active[kind] = 0;
    t->gen[kind]++;
    char target[48];
    snprintf(target, sizeof(target), "thermistor heater%d", t->id);
    trace_off(w, target, therm_names[kind]);
    if (kind == SIM_THERMISTOR_DETACHED)
        plant_heater_attach_probe(&w->heaters[t->id].heater, w->now_ns);
    therm_update_plant(w, t, kind);
}

static void therm_apply(struct sim_world *w, int heater_id,
                        const struct sim_thermistor_fault *f)
{
    struct therm_state *t = &w->inject->therm[heater_id];
    if (f->kind == SIM_THERMISTOR_HEALTHY) {
        for (int k = 1; k < SIM_THERMISTOR_KINDS; k++)
            therm_end(w, t, k);
        therm_update_plant(w, t, SIM_THERMISTOR_HEALTHY);
        return;
    }
    struct sim_heater_obj *h = &w->heaters[heater_id];
    int k = f->kind;
    t->f[k] = *f;
    switch (f->kind) {
    case SIM_THERMISTOR_INTERMITTENT:
        t->start_ns = w->now_ns;
        if (f->while_axis_moves)
            t->last_steps = w->axes[f->axis_id].axis.step_count;
        t->moved = 0;
        t->burst_state = -1;
        break;
    case SIM_THERMISTOR_STUCK:
        if (f->stuck_at_current) {
            plant_heater_advance(&h->heater, w->now_ns);
            t->f[k].stuck_c = plant_heater_sensed_c(&h->heater);
        }
        break;
    case SIM_THERMISTOR_DETACHED: {
        struct plant_probe_params pp = f->probe;
        if (pp.capacity_j_per_k == 0.0 && pp.to_block_w_per_k == 0.0 &&
            pp.to_ambient_w_per_k == 0.0)
            plant_probe_params_default(&pp);
        t->f[k].probe = pp;
        plant_heater_detach_probe(&h->heater, w->now_ns, &pp);
        break;
    }
    default:
        break;
    }
    t->active[k] = 1;
    t->gen[k]++;
    char target[48];
    snprintf(target, sizeof(target), "thermistor heater%d", heater_id);
    trace_on(w, target, therm_names[k], f->duration_ns);
    therm_update_plant(w, t, k);
    if (f->duration_ns > 0)
        schedule_end(w, SIM_INJECT_THERMISTOR, heater_id, NULL, k, t->gen[k], f->duration_ns);
}

int sim_inject_thermistor(struct sim_world *w, int heater_id,
                          const struct sim_thermistor_fault *f, struct fs_error *err)
{
    if (check_thermistor(w, heater_id, f, err) < 0 || !get_state(w, err))
        return -1;
    therm_apply(w, heater_id, f);
    return 0;
}

int sim_inject_thermistor_end(struct sim_world *w, int heater_id,
                              enum sim_thermistor_fault_kind kind, struct fs_error *err)
{
    struct sim_thermistor_fault f = {.kind = kind};
    if (check_heater_id(w, heater_id, err) < 0)
        return -1;
    if ((unsigned)kind >= SIM_THERMISTOR_KINDS)
        return fs_error_set(err, "sim: unknown thermistor fault %d", (int)kind);
    if (!get_state(w, err))
        return -1;
    if (kind == SIM_THERMISTOR_HEALTHY)
        therm_apply(w, heater_id, &f);
    else
        therm_end(w, &w->inject->therm[heater_id], kind);
    return 0;
}

uint16_t sim_inject_sensor_adc(struct sim_world *w, int heater_id)
{
    const struct plant_heater *h = sim_world_heater(w, heater_id);
    if (!h)
        return 0;
    return plant_thermistor_adc(sim_world_thermistor(w, heater_id), h->temp_c);
}

/* ---- heaters ---- */

static int check_heater(struct sim_world *w, int heater_id, const struct sim_heater_fault *f,
                        struct fs_error *err)
{
    if (check_heater_id(w, heater_id, err) < 0)
        return -1;
    if ((unsigned)f->kind >= SIM_HEATER_KINDS)
        return fs_error_set(err, "sim: unknown heater fault %d", (int)f->kind);
    if (check_duration(f->duration_ns, heater_names[f->kind], err) < 0)
        return -1;
    if (f->kind == SIM_HEATER_WEAK &&
        (!(f->power_factor >= 0.0) || !isfinite(f->power_factor) ||
         !(f->decay_tau_s >= 0.0) || !isfinite(f->decay_tau_s) ||
         (f->decay_tau_s > 0.0 && (!(f->final_factor >= 0.0) || !isfinite(f->final_factor)))))
        return fs_error_set(err, "sim: weak heater needs a power factor >= 0, a decay time "
                                 ">= 0 and a final factor >= 0");
    return 0;
}

/* The cartridge's health from the active faults: dead beats weak. A weak
 * one that decays is picked up where its decay has reached by now. */
static void heater_update_scale(struct sim_world *w, int heater_id)
{
    struct heater_state *s = &w->inject->heater[heater_id];
    struct plant_heater *h = &w->heaters[heater_id].heater;
    if (s->active[SIM_HEATER_DEAD]) {
        plant_heater_set_power_scale(h, w->now_ns, 0.0, 0.0, 0.0);
        return;
    }
    if (!s->active[SIM_HEATER_WEAK]) {
        plant_heater_set_power_scale(h, w->now_ns, 1.0, 1.0, 0.0);
        return;
    }
    const struct sim_heater_fault *f = &s->f[SIM_HEATER_WEAK];
    double scale = f->power_factor;
    if (f->decay_tau_s > 0.0) {
        double age_s = (double)(w->now_ns - s->weak_start_ns) * 1e-9;
        scale = f->final_factor + (f->power_factor - f->final_factor) *
                                      exp(-age_s / f->decay_tau_s);
    }
    plant_heater_set_power_scale(h, w->now_ns, scale, f->final_factor, f->decay_tau_s);
}

static void heater_set_plant(struct sim_world *w, int heater_id, int kind, int on)
{
    struct plant_heater *h = &w->heaters[heater_id].heater;
    switch (kind) {
    case SIM_HEATER_DEAD:
    case SIM_HEATER_WEAK:
        heater_update_scale(w, heater_id);
        break;
    case SIM_HEATER_STUCK_ON:
        plant_heater_set_stuck_on(h, w->now_ns, on);
        break;
    case SIM_HEATER_DISCONNECTED:
        plant_heater_advance(h, w->now_ns);
        h->disconnected = on;
        break;
    default:
        break;
    }
}

static void heater_end(struct sim_world *w, int heater_id, int kind)
{
    struct heater_state *s = &w->inject->heater[heater_id];
    if (!s->active[kind])
        return;
    s->active[kind] = 0;
    s->gen[kind]++;
    char target[48];
    snprintf(target, sizeof(target), "heater heater%d", heater_id);
    trace_off(w, target, heater_names[kind]);
    heater_set_plant(w, heater_id, kind, 0);
}

static void heater_apply(struct sim_world *w, int heater_id, const struct sim_heater_fault *f)
{
    struct heater_state *s = &w->inject->heater[heater_id];
    if (f->kind == SIM_HEATER_HEALTHY) {
        for (int k = 1; k < SIM_HEATER_KINDS; k++)
            heater_end(w, heater_id, k);
        return;
    }
    int k = f->kind;
    s->f[k] = *f;
    if (k == SIM_HEATER_WEAK)
        s->weak_start_ns = w->now_ns;
    s->active[k] = 1;
    s->gen[k]++;
    char target[48];
    snprintf(target, sizeof(target), "heater heater%d", heater_id);
    trace_on(w, target, heater_names[k], f->duration_ns);
    heater_set_plant(w, heater_id, k, 1);
    if (f->duration_ns > 0)
        schedule_end(w, SIM_INJECT_HEATER, heater_id, NULL, k, s->gen[k], f->duration_ns);
}

int sim_inject_heater(struct sim_world *w, int heater_id, const struct sim_heater_fault *f,
                      struct fs_error *err)
{
    if (check_heater(w, heater_id, f, err) < 0 || !get_state(w, err))
        return -1;
    heater_apply(w, heater_id, f);
    return 0;
}

int sim_inject_heater_end(struct sim_world *w, int heater_id,
                          enum sim_heater_fault_kind kind, struct fs_error *err)
{
    struct sim_heater_fault f = {.kind = kind};
    if (check_heater(w, heater_id, &f, err) < 0 || !get_state(w, err))
        return -1;
    if (kind == SIM_HEATER_HEALTHY)
        heater_apply(w, heater_id, &f);
    else
        heater_end(w, heater_id, kind);
    return 0;
}

/* ---- MCUs ---- */

static int check_mcu(struct sim_world *w, const char *mcu, const struct sim_mcu_fault *f,
                     struct fs_error *err)
{
    if (!sim_world_find_mcu_err(w, mcu, err))
        return -1;
    if ((unsigned)f->kind >= SIM_MCU_KINDS)
        return fs_error_set(err, "sim: unknown mcu fault %d", (int)f->kind);
    if (check_duration(f->duration_ns, mcu_names[f->kind], err) < 0)
        return -1;
    if ((f->kind == SIM_MCU_CORRUPT || f->kind == SIM_MCU_DROP) &&
        !(f->probability >= 0.0 && f->probability <= 1.0))
        return fs_error_set(err, "sim: mcu '%s' %s probability %g outside 0..1", mcu,
                            mcu_names[f->kind], f->probability);
    if (f->kind == SIM_MCU_POWER_LOSS && f->duration_ns <= 0)
        return fs_error_set(err, "sim: mcu '%s' power loss needs a positive duration", mcu);
    if (f->dirs != SIM_LINK_BOTH && f->dirs != SIM_LINK_TO_MCU_ONLY &&
        f->dirs != SIM_LINK_TO_HOST_ONLY)
        return fs_error_set(err, "sim: mcu '%s': unknown link directions %d", mcu,
                            (int)f->dirs);
    return 0;
}

static void mcu_set_wires(struct sim_mcu *m, const struct sim_mcu_fault *f, int on)
{
    for (int d = SIM_WIRE_TO_MCU; d <= SIM_WIRE_TO_HOST; d++) {
        if ((f->dirs == SIM_LINK_TO_MCU_ONLY && d != SIM_WIRE_TO_MCU) ||
            (f->dirs == SIM_LINK_TO_HOST_ONLY && d != SIM_WIRE_TO_HOST))
            continue;
        if (f->kind == SIM_MCU_LINK_CUT)
            sim_wire_set_cut(&m->wire[d], on);
        else if (f->kind == SIM_MCU_CORRUPT)
            sim_wire_set_corrupt(&m->wire[d], on ? f->probability : 0.0);
        else if (f->kind == SIM_MCU_DROP)
            sim_wire_set_drop(&m->wire[d], on ? f->probability : 0.0);
    }
}

static void mcu_end(struct sim_world *w, struct sim_mcu *m, int kind)
{
    struct mcu_state *s = &w->inject->mcu[m->index];
    if (!s->active[kind])
        return;
    s->active[kind] = 0;
    s->gen[kind]++;
    char target[48];
    snprintf(target, sizeof(target), "mcu %s", m->name);
    trace_off(w, target, mcu_names[kind]);
    mcu_set_wires(m, &s->f[kind], 0);
}

static void mcu_apply(struct sim_world *w, struct sim_mcu *m, const struct sim_mcu_fault *f)
{
    struct mcu_state *s = &w->inject->mcu[m->index];
    char target[48];
    snprintf(target, sizeof(target), "mcu %s", m->name);
    int k = f->kind;
    switch (f->kind) {
    case SIM_MCU_LINK_HEALTHY:
        for (int i = SIM_MCU_LINK_CUT; i <= SIM_MCU_DROP; i++)
            mcu_end(w, m, i);
        return;
    case SIM_MCU_RESET:
        trace_on(w, target, mcu_names[k], 0);
        sim_mcu_reset(m);
        return;
    case SIM_MCU_POWER_LOSS:
        trace_on(w, target, mcu_names[k], f->duration_ns);
        sim_world_mcu_power_cycle(w, m->name, f->duration_ns, NULL);
        return;
    default:
        break;
    }
    if (s->active[k])
        mcu_set_wires(m, &s->f[k], 0); /* the new directions replace the old */
    s->f[k] = *f;
    s->active[k] = 1;
    s->gen[k]++;
    trace_on(w, target, mcu_names[k], f->duration_ns);
    mcu_set_wires(m, f, 1);
    if (f->duration_ns > 0)
        schedule_end(w, SIM_INJECT_MCU, -1, m->name, k, s->gen[k], f->duration_ns);
}

int sim_inject_mcu(struct sim_world *w, const char *mcu, const struct sim_mcu_fault *f,
                   struct fs_error *err)
{
    if (check_mcu(w, mcu, f, err) < 0 || !get_state(w, err))
        return -1;
    mcu_apply(w, sim_world_find_mcu(w, mcu), f);
    return 0;
}

int sim_inject_mcu_end(struct sim_world *w, const char *mcu, enum sim_mcu_fault_kind kind,
                       struct fs_error *err)
{
    struct sim_mcu_fault f = {.kind = kind};
    if (kind == SIM_MCU_RESET || kind == SIM_MCU_POWER_LOSS)
        return fs_error_set(err, "sim: mcu %s is instant and has no end", mcu_names[kind]);
    if (check_mcu(w, mcu, &f, err) < 0 || !get_state(w, err))
        return -1;
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    if (kind == SIM_MCU_LINK_HEALTHY)
        mcu_apply(w, m, &f);
    else
        mcu_end(w, m, kind);
    return 0;
}

/* ---- any target, now or later ---- */

static int check_injection(struct sim_world *w, const struct sim_injection *inj,
                           struct fs_error *err)
{
    switch (inj->target) {
    case SIM_INJECT_THERMISTOR:
        return check_thermistor(w, inj->heater_id, &inj->thermistor, err);
    case SIM_INJECT_HEATER:
        return check_heater(w, inj->heater_id, &inj->heater, err);
    case SIM_INJECT_MCU:
        if (!memchr(inj->mcu, '\0', sizeof(inj->mcu)))
            return fs_error_set(err, "sim: fault injection mcu name not terminated");
        return check_mcu(w, inj->mcu, &inj->mcu_fault, err);
    }
    return fs_error_set(err, "sim: unknown fault injection target %d", (int)inj->target);
}

static void apply_injection(struct sim_world *w, const struct sim_injection *inj)
{
    switch (inj->target) {
    case SIM_INJECT_THERMISTOR:
        therm_apply(w, inj->heater_id, &inj->thermistor);
        break;
    case SIM_INJECT_HEATER:
        heater_apply(w, inj->heater_id, &inj->heater);
        break;
    case SIM_INJECT_MCU:
        mcu_apply(w, sim_world_find_mcu(w, inj->mcu), &inj->mcu_fault);
        break;
    }
}

int sim_inject(struct sim_world *w, const struct sim_injection *inj, struct fs_error *err)
{
    if (check_injection(w, inj, err) < 0 || !get_state(w, err))
        return -1;
    apply_injection(w, inj);
    return 0;
}

int sim_inject_at(struct sim_world *w, int64_t t_ns, const struct sim_injection *inj,
                  struct fs_error *err)
{
    if (check_injection(w, inj, err) < 0)
        return -1;
    struct sim_inject_state *s = get_state(w, err);
    if (!s)
        return -1;
    int i = action_new(s, err);
    if (i < 0)
        return -1;
    struct action *a = &s->actions[i];
    memset(a, 0, sizeof(*a));
    a->type = ACT_APPLY;
    a->inj = *inj;
    sim_world_schedule(w, t_ns > w->now_ns ? t_ns : w->now_ns, SIM_EV_INJECT, w, (uint64_t)i);
    if (w->failed) {
        action_release(s, i);
        if (err)
            *err = w->error;
        return -1;
    }
    return 0;
}

static void handle_end(struct sim_world *w, const struct action *a)
{
    struct sim_inject_state *s = w->inject;
    int k = a->end_kind;
    switch (a->inj.target) {
    case SIM_INJECT_THERMISTOR:
        if (s->therm[a->inj.heater_id].gen[k] == a->gen)
            therm_end(w, &s->therm[a->inj.heater_id], k);
        break;
    case SIM_INJECT_HEATER:
        if (s->heater[a->inj.heater_id].gen[k] == a->gen)
            heater_end(w, a->inj.heater_id, k);
        break;
    case SIM_INJECT_MCU: {
        struct sim_mcu *m = sim_world_find_mcu(w, a->inj.mcu);
        if (m && s->mcu[m->index].gen[k] == a->gen)
            mcu_end(w, m, k);
        break;
    }
    }
}

void sim_inject_handle_event(struct sim_world *w, const struct sim_event *ev)
{
    struct sim_inject_state *s = w->inject;
    if (!s || ev->arg >= (uint64_t)s->action_count)
        return;
    int i = (int)ev->arg;
    /* Copied out: applying may queue actions and move the array. */
    struct action a = s->actions[i];
    action_release(s, i);
    if (a.type == ACT_APPLY)
        apply_injection(w, &a.inj);
    else if (a.type == ACT_END)
        handle_end(w, &a);
}
