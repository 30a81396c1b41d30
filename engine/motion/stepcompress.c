/* Step compression: ideal step times to queue_step (interval, count, add)
 * runs within a time error bound (see stepcompress.h).
 *
 * Design. Each step gets a window of MCU clocks it may land on: its ideal
 * time plus or minus max_error, narrowed to half the gap to each neighbour
 * so that compressed steps can never swap order. The last step pushed does
 * not know its successor yet, so its window closes at the ideal time (never
 * late): whatever step comes next has a window that opens no earlier than
 * their midpoint. Runs are built greedily from the oldest raw step: fix the
 * first step's clock (which fixes the interval from the previous step),
 * then every later step j bounds `add` to an interval
 *     lo_j <= c0 + j*I + add*j*(j+1)/2 <= hi_j,
 * and the run grows while the intersection of those intervals (and of the
 * min/max interval limits, which are linear in j too) still holds an
 * integer. That is exact for a given first clock; the first clock is then
 * searched coarse-to-fine across its window (about 50 fits, fewer when a
 * run takes every step it may) and the longest run wins. On a 3000 mm/s^2
 * ramp at 80 steps/mm that is 61 commands for 8000 steps, against 381 when
 * only five first clocks are tried; trying every first clock would gain a
 * few percent more at forty times the cost.
 * The chosen run is then re-checked in integer arithmetic, so rounding in
 * the floating-point bounds can shorten a run but never let a step out of
 * its window.
 *
 * A run starts a new time base (reset_step_clock) when none exists yet
 * (after configure or a stop) or when the gap since the last step exceeds
 * max_interval; its first interval is then chosen to fit the run and the
 * base is put that far before the first step. */
#include "motion/stepcompress.h"

#include <math.h>   /* ceil, floor, llround, INFINITY */
#include <stdlib.h> /* calloc, malloc, realloc, free */

#include "core/error.h" /* fs_error_set */

#define RAW_MASK (FS_STEPCOMPRESS_RAW_STEPS - 1)
#define RUN_COUNT_MAX 65535
#define ADD_MIN (-32768)
#define ADD_MAX 32767
#define INITIAL_RUNS 256
/* Ideal clocks may step back this much (rounding of a move boundary). */
#define ORDER_SLACK_TICKS 1.0
/* Coarse sweep of the first step's window (see search_first_clock). */
#define COARSE_STEPS 32

_Static_assert((FS_STEPCOMPRESS_RAW_STEPS & RAW_MASK) == 0, "raw window must be a power of 2");

struct raw_step {
    double ideal;
    int8_t dir;
};

struct fs_stepcompress {
    struct fs_stepcompress_params p;
    struct raw_step *raw;
    size_t raw_head, raw_count;
    /* Raw steps from raw_head known to share the first one's direction:
     * kept across runs so that a long one-way stretch is not rescanned
     * for every run taken from it. */
    size_t dir_span;
    /* Windows of raw steps from raw_head, valid for the first win_valid. */
    int64_t *win_lo, *win_hi;
    size_t win_valid;
    struct fs_step_run *runs;
    size_t run_head, run_count, run_cap;
    /* The last compressed step: its clock is the time base of the next run. */
    int have_base;
    uint64_t last_clock;
    int have_last_ideal;
    double last_ideal;
    int last_dir;
};

static struct raw_step *raw_at(const struct fs_stepcompress *sc, size_t i)
{
    return &sc->raw[(sc->raw_head + i) & RAW_MASK];
}

struct fs_stepcompress *fs_stepcompress_new(const struct fs_stepcompress_params *p,
                                            struct fs_error *err)
{
    if (!(p->max_error_ticks >= 0.0) || p->max_interval_ticks > INT32_MAX ||
        p->min_interval_ticks > p->max_interval_ticks) {
        fs_error_set(err, "step compression: bad limits (max_error %.1f, interval %u..%u ticks)",
                     p->max_error_ticks, p->min_interval_ticks, p->max_interval_ticks);
        return NULL;
    }
    struct fs_stepcompress *sc = calloc(1, sizeof(*sc));
    if (!sc) {
        fs_error_set(err, "step compression: out of memory");
        return NULL;
    }
    sc->p = *p;
    sc->raw = malloc(FS_STEPCOMPRESS_RAW_STEPS * sizeof(*sc->raw));
    sc->win_lo = malloc(FS_STEPCOMPRESS_RAW_STEPS * sizeof(*sc->win_lo));
    sc->win_hi = malloc(FS_STEPCOMPRESS_RAW_STEPS * sizeof(*sc->win_hi));
    sc->runs = malloc(INITIAL_RUNS * sizeof(*sc->runs));
    sc->run_cap = INITIAL_RUNS;
    if (!sc->raw || !sc->win_lo || !sc->win_hi || !sc->runs) {
        fs_stepcompress_free(sc);
        fs_error_set(err, "step compression: out of memory");
        return NULL;
    }
    return sc;
}

void fs_stepcompress_free(struct fs_stepcompress *sc)
{
    if (!sc)
        return;
    free(sc->raw);
    free(sc->win_lo);
    free(sc->win_hi);
    free(sc->runs);
    free(sc);
}

size_t fs_stepcompress_pending(const struct fs_stepcompress *sc)
{
    size_t n = sc->raw_count;
    for (size_t i = 0; i < sc->run_count; i++)
        n += sc->runs[(sc->run_head + i) % sc->run_cap].count;
    return n;
}

/* ---- windows ------------------------------------------------------------ */

static void compute_window(struct fs_stepcompress *sc, size_t j)
{
    double ideal = raw_at(sc, j)->ideal;
    double e = sc->p.max_error_ticks;
    double e_lo = e, e_hi = 0.0;
    /* Half the gap to each neighbour, capped at e (comparisons rather than
     * fmin, a library call: nothing here is NaN). */
    if (j > 0 || sc->have_last_ideal) {
        double prev = j > 0 ? raw_at(sc, j - 1)->ideal : sc->last_ideal;
        double gap = 0.5 * (ideal - prev);
        e_lo = gap < e ? gap : e;
    }
    if (j + 1 < sc->raw_count) {
        double gap = 0.5 * (raw_at(sc, j + 1)->ideal - ideal);
        e_hi = gap < e ? gap : e;
    }
    int64_t lo = (int64_t)ceil(ideal - e_lo), hi = (int64_t)floor(ideal + e_hi);
    if (lo > hi) /* neighbours closer than two ticks: the nearest clock */
        lo = hi = (int64_t)floor(ideal + 0.5);
    sc->win_lo[j] = lo;
    sc->win_hi[j] = hi;
}

static void extend_windows(struct fs_stepcompress *sc, size_t j)
{
    while (sc->win_valid <= j)
        compute_window(sc, sc->win_valid++);
}

/* Windows are computed once per run, when the search first reaches them;
 * the fast path stays small enough to inline into the fitting loops. */
static inline void window(struct fs_stepcompress *sc, size_t j, int64_t *lo, int64_t *hi)
{
    if (j >= sc->win_valid)
        extend_windows(sc, j);
    *lo = sc->win_lo[j];
    *hi = sc->win_hi[j];
}

/* ---- fitting ------------------------------------------------------------ */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Whether [lo, hi] holds an integer, i.e. ceil(lo) <= floor(hi), for
 * lo >= ADD_MIN and hi <= ADD_MAX (every caller clamps to those first).
 * Truncation to int64 instead of ceil/floor, which are library calls on
 * baseline x86-64; the range checks keep the truncation exact. */
static inline int holds_integer(double lo, double hi)
{
    if (lo > ADD_MAX || hi < ADD_MIN)
        return 0;
    int64_t c = (int64_t)lo, f = (int64_t)hi;
    c += (double)c < lo;
    f -= (double)f > hi;
    return c <= f;
}

/* The bounds step j alone puts on `add` for a run from c0 with first
 * interval `interval`. Plain comparisons rather than fmin/fmax: no bound
 * is ever NaN, and they are library calls on the hottest loop. */
static inline void add_bounds(const struct fs_stepcompress *sc, size_t j, int64_t c0,
                              int64_t interval, double *a_lo, double *a_hi)
{
    double dj = (double)j, tj = dj * (dj + 1.0) * 0.5;
    double base = (double)c0 + dj * (double)interval;
    double lo_w = ((double)sc->win_lo[j] - base) / tj;
    double lo_i = ((double)sc->p.min_interval_ticks - (double)interval) / dj;
    double hi_w = ((double)sc->win_hi[j] - base) / tj;
    double hi_i = ((double)sc->p.max_interval_ticks - (double)interval) / dj;
    *a_lo = lo_w > lo_i ? lo_w : lo_i;
    *a_hi = hi_w < hi_i ? hi_w : hi_i;
}

/* The longest run over raw steps [0, limit) whose first step is at c0 and
 * whose first interval is `interval`; *add_out receives its add. A run of
 * `beat` steps or fewer is of no use to the caller: for such a candidate
 * any count <= beat may be returned (and *add_out is left alone), which
 * lets most candidates of the search be dismissed without a full fit. */
static size_t fit_run(struct fs_stepcompress *sc, size_t limit, int64_t c0, int64_t interval,
                      size_t beat, int16_t *add_out)
{
    /* The running intersection below, once it reaches step `beat`, is the
     * max/min of the very same per-step bounds, so the bounds of a few of
     * those steps alone (first, last, a few between) are never tighter:
     * when they leave no integer the run cannot outgrow `beat`. */
    if (beat > 1 && beat < limit) {
        int64_t lo, hi;
        window(sc, beat, &lo, &hi);
        const size_t probes[5] = {1, beat, beat / 2, beat / 4 + 1, 3 * beat / 4};
        double p_lo = ADD_MIN, p_hi = ADD_MAX;
        for (int i = 0; i < 5; i++) {
            double a_lo, a_hi;
            add_bounds(sc, probes[i], c0, interval, &a_lo, &a_hi);
            if (a_lo > p_lo)
                p_lo = a_lo;
            if (a_hi < p_hi)
                p_hi = a_hi;
            if (!holds_integer(p_lo, p_hi))
                return beat;
        }
    }
    double add_lo = ADD_MIN, add_hi = ADD_MAX;
    size_t count = 1;
    for (size_t j = 1; j < limit; j++) {
        if (j >= sc->win_valid)
            extend_windows(sc, j);
        double a_lo, a_hi;
        add_bounds(sc, j, c0, interval, &a_lo, &a_hi);
        if (a_lo < add_lo)
            a_lo = add_lo;
        if (a_hi > add_hi)
            a_hi = add_hi;
        if (!holds_integer(a_lo, a_hi))
            break;
        add_lo = a_lo;
        add_hi = a_hi;
        count = j + 1;
    }
    /* The integer re-check below can only shorten the run. */
    if (count <= beat)
        return count;
    double mid = count > 1 ? floor(0.5 * (add_lo + add_hi) + 0.5) : 0.0;
    mid = fmax(mid, ceil(add_lo));
    mid = fmin(mid, floor(add_hi));
    int16_t add = (int16_t)mid;
    /* Integer re-check: floating bounds may be off by a hair at an edge. */
    int64_t c = c0;
    for (size_t k = 1; k < count; k++) {
        int64_t iv = interval + (int64_t)k * add;
        c += iv;
        int64_t lo, hi;
        window(sc, k, &lo, &hi);
        if (iv < (int64_t)sc->p.min_interval_ticks || iv > (int64_t)sc->p.max_interval_ticks ||
            c < lo || c > hi) {
            count = k;
            break;
        }
    }
    *add_out = count > 1 ? add : 0;
    return count;
}

static int push_run(struct fs_stepcompress *sc, const struct fs_step_run *run,
                    struct fs_error *err)
{
    if (sc->run_count == sc->run_cap) {
        if (sc->run_cap >= FS_STEPCOMPRESS_MAX_RUNS)
            return fs_error_set(err, "more than %d step commands wait to be sent (flush "
                                "more often)", FS_STEPCOMPRESS_MAX_RUNS);
        size_t cap = sc->run_cap * 2;
        struct fs_step_run *grown = malloc(cap * sizeof(*grown));
        if (!grown)
            return fs_error_set(err, "step compression: out of memory");
        for (size_t i = 0; i < sc->run_count; i++)
            grown[i] = sc->runs[(sc->run_head + i) % sc->run_cap];
        free(sc->runs);
        sc->runs = grown;
        sc->run_cap = cap;
        sc->run_head = 0;
    }
    sc->runs[(sc->run_head + sc->run_count) % sc->run_cap] = *run;
    sc->run_count++;
    return 0;
}

/* The search for the first step's clock: the run length as a function of
 * it is irregular but has broad plateaus, so a coarse sweep of the window
 * followed by finer sweeps around the best so far finds nearly the longest
 * run for a few dozen fits, and a run that takes every step it may stops
 * the search at once (the common case at a steady rate). */
struct search {
    struct fs_stepcompress *sc;
    size_t limit;
    int reset;
    int64_t prev;
    struct fs_step_run best;
};

static void try_first_clock(struct search *q, int64_t c0)
{
    if (q->best.count && (uint64_t)c0 == q->best.first_clock)
        return;
    int64_t interval;
    if (q->reset) {
        /* No previous step: the interval that reaches the next one. */
        interval = 0;
        if (q->limit > 1) {
            interval = (int64_t)floor(raw_at(q->sc, 1)->ideal + 0.5) - c0;
            interval = clamp64(interval, 0, q->sc->p.max_interval_ticks);
        }
    } else {
        interval = c0 - q->prev;
    }
    int16_t add = 0;
    size_t count = fit_run(q->sc, q->limit, c0, interval, q->best.count, &add);
    if (count <= q->best.count)
        return;
    q->best.count = (uint16_t)count;
    q->best.first_clock = (uint64_t)c0;
    q->best.interval = (uint32_t)interval;
    q->best.add = add;
    q->best.reset = (uint8_t)q->reset;
    q->best.reset_clock = (uint64_t)(c0 - interval);
}

static void search_first_clock(struct search *q, int64_t nearest, int64_t lo, int64_t hi)
{
    try_first_clock(q, nearest);
    int64_t span = hi - lo;
    for (int i = 0; i <= COARSE_STEPS && q->best.count < q->limit; i++)
        try_first_clock(q, lo + span * i / COARSE_STEPS);
    int64_t step = span / COARSE_STEPS;
    while (step > 1 && q->best.count < q->limit) {
        step = step / 4 > 1 ? step / 4 : 1;
        int64_t centre = (int64_t)q->best.first_clock;
        for (int d = -3; d <= 3 && q->best.count < q->limit; d++)
            if (d)
                try_first_clock(q, clamp64(centre + d * step, lo, hi));
    }
}

/* Compresses one run from the oldest raw steps into the run queue. */
static int compress_one(struct fs_stepcompress *sc, struct fs_error *err)
{
    sc->win_valid = 0;
    const struct raw_step *first = raw_at(sc, 0);
    size_t limit = sc->dir_span ? sc->dir_span : 1;
    while (limit < sc->raw_count && limit < RUN_COUNT_MAX && raw_at(sc, limit)->dir == first->dir)
        limit++;
    sc->dir_span = limit;
    int64_t lo0, hi0;
    window(sc, 0, &lo0, &hi0);
    int64_t prev = (int64_t)sc->last_clock;
    int reset = !sc->have_base || lo0 - prev > (int64_t)sc->p.max_interval_ticks;
    if (!reset) {
        int64_t lo = lo0 > prev + sc->p.min_interval_ticks ? lo0 : prev + sc->p.min_interval_ticks;
        int64_t hi = hi0 < prev + sc->p.max_interval_ticks ? hi0 : prev + sc->p.max_interval_ticks;
        if (lo > hi)
            return fs_error_set(err, "steps too fast: a step due at clock %.0f cannot follow "
                                "the previous one (clock %llu) by the minimum %u ticks "
                                "within the %.0f-tick error bound",
                                first->ideal, (unsigned long long)prev,
                                sc->p.min_interval_ticks, sc->p.max_error_ticks);
        lo0 = lo;
        hi0 = hi;
    }
    struct search q = {.sc = sc, .limit = limit, .reset = reset, .prev = prev};
    search_first_clock(&q, clamp64((int64_t)floor(first->ideal + 0.5), lo0, hi0), lo0, hi0);
    struct fs_step_run best = q.best;
    best.dir = first->dir;
    uint64_t n = best.count - 1u;
    best.last_clock = best.first_clock + n * best.interval +
                      (uint64_t)((int64_t)best.add * (int64_t)(n * (n + 1) / 2));
    if (push_run(sc, &best, err) < 0)
        return -1;
    const struct raw_step *last = raw_at(sc, best.count - 1u);
    sc->have_base = 1;
    sc->last_clock = best.last_clock;
    sc->have_last_ideal = 1;
    sc->last_ideal = last->ideal;
    sc->last_dir = last->dir;
    sc->raw_head = (sc->raw_head + best.count) & RAW_MASK;
    sc->raw_count -= best.count;
    sc->dir_span -= best.count;
    return 0;
}

/* ---- public ------------------------------------------------------------- */

int fs_stepcompress_push(struct fs_stepcompress *sc, double ideal_clock, int dir,
                         struct fs_error *err)
{
    double prev;
    int prev_dir;
    if (fs_stepcompress_last(sc, &prev, &prev_dir) == 0 && ideal_clock < prev) {
        if (ideal_clock < prev - ORDER_SLACK_TICKS)
            return fs_error_set(err, "step times out of order (clock %.1f after %.1f)",
                                ideal_clock, prev);
        ideal_clock = prev;
    }
    if (sc->raw_count == FS_STEPCOMPRESS_RAW_STEPS && compress_one(sc, err) < 0)
        return -1;
    struct raw_step *s = raw_at(sc, sc->raw_count);
    s->ideal = ideal_clock;
    s->dir = (int8_t)(dir < 0 ? -1 : 1);
    sc->raw_count++;
    return 0;
}

int fs_stepcompress_last(const struct fs_stepcompress *sc, double *ideal_clock, int *dir)
{
    if (sc->raw_count) {
        const struct raw_step *s = raw_at(sc, sc->raw_count - 1);
        *ideal_clock = s->ideal;
        *dir = s->dir;
        return 0;
    }
    if (!sc->have_last_ideal)
        return -1;
    *ideal_clock = sc->last_ideal;
    *dir = sc->last_dir;
    return 0;
}

int fs_stepcompress_pop_last(struct fs_stepcompress *sc)
{
    if (!sc->raw_count)
        return 0;
    sc->raw_count--;
    if (sc->dir_span > sc->raw_count)
        sc->dir_span = sc->raw_count;
    return 1;
}

/* Clock of step k of a run. */
static uint64_t run_step_clock(const struct fs_step_run *r, uint64_t k)
{
    return r->first_clock + k * r->interval + (uint64_t)((int64_t)r->add * (int64_t)(k * (k + 1) / 2));
}

int fs_stepcompress_flush(struct fs_stepcompress *sc, uint64_t clock,
                          fs_stepcompress_emit_fn emit, void *arg, struct fs_error *err)
{
    while (sc->raw_count && raw_at(sc, 0)->ideal < (double)clock)
        if (compress_one(sc, err) < 0)
            return -1;
    while (sc->run_count) {
        struct fs_step_run *r = &sc->runs[sc->run_head];
        if (r->first_clock >= clock)
            break;
        if (r->last_clock < clock) {
            if (emit(arg, r, err) < 0)
                return -1;
            sc->run_head = (sc->run_head + 1) % sc->run_cap;
            sc->run_count--;
            continue;
        }
        /* Cut: the steps before clock now, the rest stays queued and
         * continues from the last step sent. */
        uint64_t k = 1;
        while (run_step_clock(r, k) < clock)
            k++;
        struct fs_step_run part = *r;
        part.count = (uint16_t)k;
        part.last_clock = run_step_clock(r, k - 1);
        if (emit(arg, &part, err) < 0)
            return -1;
        r->first_clock = run_step_clock(r, k);
        r->interval = (uint32_t)((int64_t)r->interval + (int64_t)k * r->add);
        r->count = (uint16_t)(r->count - k);
        r->reset = 0;
        break;
    }
    return 0;
}

int64_t fs_stepcompress_reset(struct fs_stepcompress *sc)
{
    int64_t net = 0;
    for (size_t i = 0; i < sc->raw_count; i++)
        net += raw_at(sc, i)->dir;
    for (size_t i = 0; i < sc->run_count; i++) {
        const struct fs_step_run *r = &sc->runs[(sc->run_head + i) % sc->run_cap];
        net += (int64_t)r->dir * r->count;
    }
    sc->raw_count = 0;
    sc->dir_span = 0;
    sc->run_count = 0;
    sc->run_head = 0;
    sc->have_base = 0;
    sc->have_last_ideal = 0;
    return net;
}
