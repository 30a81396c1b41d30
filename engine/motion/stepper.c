/* One stepper motor: its MCU objects (config_stepper, an optional enable
 * pin), exact step times for trapezoidal moves, and the commands that carry
 * them to the MCU (see stepper.h).
 *
 * Step times. Within one phase of a trapezoid (accelerate, cruise,
 * decelerate) the stepper's coordinate is a quadratic in time, also with
 * pressure advance (pa * ratio * velocity is linear in time there):
 *     u(t) = u0 + b*t + c*t^2      (u in steps)
 * A step is due where u crosses a half-step (k + 0.5), so each step time is
 * a root of that quadratic, computed in the cancellation-free form from the
 * start of a monotonic piece (a phase is split at its turning point, where
 * pressure advance can turn an extruder round while decelerating). Nothing
 * is sampled and nothing accumulates: every root is solved from the piece's
 * start, and the number of steps is decided by the same half-step
 * comparisons, so a move from 0 to 100 mm at 0.0125 mm/step takes exactly
 * 8000 steps.
 *
 * Discontinuities. Velocity is continuous inside a move, but between moves
 * the extruder's ratio changes, so pressure advance makes its position jump
 * (likewise a start_pos that differs from where the stepper is). The plain
 * form is used, without Klipper-style smoothing: the steps of a jump are
 * due at the jump's time and are taken as a burst spaced bunch_ticks (twice
 * the minimum step interval) apart; following steps that would fall inside
 * the burst queue behind it. A step that reverses the previous one less
 * than bunch_ticks later cancels it while both are still unsent (a
 * micro-oscillation of the commanded position at a turning point is not
 * worth a direction change). These are the only places where a step leaves
 * its exact time by more than max_error.
 *
 * Time base. The first step after configure or a stop needs
 * reset_step_clock; so does a step more than STEPPER_MAX_GAP_S after the
 * previous one (a long interval would be valid up to 2^31 ticks, but 1 s is
 * far inside that at any clock speed, and a fresh base costs one command
 * per idle period). Such a reset is held back until the previous steps
 * have run, because the firmware refuses a new time base while it is still
 * stepping.
 *
 * Position bookkeeping: cmd_steps is the half-step rounding of the
 * commanded coordinate (with pressure advance) and drives generation;
 * mcu_steps counts the steps handed to the MCU in the stepper's own sense
 * (the dir pin's '!' is applied on the wire, and undone when reading the
 * MCU's position back). When steps must be dropped (a timing overrun, a
 * stop) mcu_steps follows what really happened; cmd_steps is left alone
 * after an overrun, so no later move tries to "catch up" with a burst,
 * and the difference is remembered so that a stop's read-back (a halt)
 * puts the coordinate back on the motor. */
#include "motion/stepper.h"

#include <math.h>   /* floor, sqrt, fmax */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp */

#include "core/error.h"          /* fs_error_set, fs_error_prefix */
#include "fault/fault.h"         /* fs_fault_raise */
#include "mcu/link.h"            /* fs_link_queue_drop */
#include "mcu/mcu.h"             /* fs_mcu_* */
#include "motion/stepcompress.h" /* fs_stepcompress_* */
#include "motion/stepsync.h"     /* fs_stepsync_take_slot */

#define STEPPER_NAME_MAX 64
#define STEPPER_DEFAULT_PULSE_S 0.000002
#define STEPPER_DEFAULT_MAX_ERROR_S 0.000025
/* Below this no MCU can step, whatever the pulse width. */
#define STEPPER_MIN_INTERVAL_FLOOR_TICKS 4
#define STEPPER_MAX_GAP_S 1.0
/* A new time base goes out this long after the previous steps ended. */
#define STEPPER_RESET_AFTER_S 0.005
#define STEPPER_QUERY_TIMEOUT_S 1.0
/* Moves may overlap the previous one by rounding only. */
#define STEPPER_MOVE_OVERLAP_S 1e-6

struct fs_stepper {
    char name[STEPPER_NAME_MAX];
    struct fs_mcu *mcu;
    struct fs_stepsync *sync;
    struct fs_pin_desc step_pin, dir_pin, enable_pin;
    int has_enable;
    double step_dist, step_pulse_s, max_error_s;

    /* Known once the MCU's config is built. */
    int oid, enable_oid;
    struct fs_link_queue *queue, *enable_queue;
    struct fs_stepcompress *sc;
    double bunch_ticks;
    uint64_t reset_after_ticks;
    const struct fs_msgformat *fmt_queue_step, *fmt_set_dir, *fmt_reset_clock;
    const struct fs_msgformat *fmt_digital_out;

    /* Generation. */
    double position;   /* commanded coordinate, mm, without pressure advance */
    double pa_offset;  /* what pressure advance adds to it at the last move's end, mm */
    int64_t cmd_steps; /* half-step rounding of the coordinate with pressure advance */
    int64_t mcu_steps;
    /* Steps dropped unsent after a failure while cmd_steps stayed: what
     * the coordinate is ahead of the motor since the last declared
     * position. A stop's read-back takes them off again. */
    int64_t overrun_steps;
    int catching_up;   /* inside a burst after a position jump */
    double last_move_end;

    /* Sending. */
    int sent_dir;      /* the MCU's next-step direction, -1 unknown */
    int have_sent;     /* steps went out since the last time base */
    uint64_t last_sent_clock;
    int enabled;
    int emit_failed;   /* the error came from sending (already named) */
    struct fs_stepper_stats stats;
};

/* Print time to MCU clock, kept fractional: clock = c0 + t * tps. */
struct clock_map {
    double c0, tps;
};

/* ---- MCU configuration -------------------------------------------------- */

static int stepper_build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_stepper *s = arg;
    double freq = fs_mcu_clock_freq(m);
    uint32_t pulse_ticks = fs_mcu_seconds_to_ticks(m, s->step_pulse_s);
    s->oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err,
                              "config_stepper oid=%d step_pin=%s dir_pin=%s invert_step=%d "
                              "step_pulse_ticks=%u",
                              s->oid, s->step_pin.pin, s->dir_pin.pin, s->step_pin.invert ? 1 : 0,
                              pulse_ticks) < 0)
        return fs_error_prefix(err, "%s: ", s->name);
    if (s->has_enable) {
        int off = s->enable_pin.invert ? 1 : 0;
        s->enable_oid = fs_mcu_create_oid(m);
        if (fs_mcu_add_config_cmd(m, err,
                                  "config_digital_out oid=%d pin=%s value=%d default_value=%d "
                                  "max_duration=0",
                                  s->enable_oid, s->enable_pin.pin, off, off) < 0)
            return fs_error_prefix(err, "%s: ", s->name);
        s->enable_queue = fs_mcu_queue_new(m);
    }
    s->queue = fs_mcu_queue_new(m);
    if (!s->queue || (s->has_enable && !s->enable_queue))
        return fs_error_set(err, "%s: out of memory", s->name);

    uint32_t min_interval = 2 * pulse_ticks;
    if (min_interval < STEPPER_MIN_INTERVAL_FLOOR_TICKS)
        min_interval = STEPPER_MIN_INTERVAL_FLOOR_TICKS;
    double max_gap = STEPPER_MAX_GAP_S * freq;
    if (max_gap > (double)(INT32_MAX / 2))
        max_gap = (double)(INT32_MAX / 2);
    struct fs_stepcompress_params cp = {
        .max_error_ticks = s->max_error_s * freq,
        .min_interval_ticks = min_interval,
        .max_interval_ticks = (uint32_t)max_gap,
    };
    s->sc = fs_stepcompress_new(&cp, err);
    if (!s->sc)
        return fs_error_prefix(err, "%s: ", s->name);
    s->bunch_ticks = 2.0 * min_interval;
    s->reset_after_ticks = fs_mcu_seconds_to_ticks(m, STEPPER_RESET_AFTER_S);
    return 0;
}

static int stepper_configured(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_stepper *s = arg;
    s->fmt_queue_step =
        fs_mcu_lookup_command(m, "queue_step oid=%c interval=%u count=%hu add=%hi", err);
    s->fmt_set_dir = fs_mcu_lookup_command(m, "set_next_step_dir oid=%c dir=%c", err);
    s->fmt_reset_clock = fs_mcu_lookup_command(m, "reset_step_clock oid=%c clock=%u", err);
    if (!s->fmt_queue_step || !s->fmt_set_dir || !s->fmt_reset_clock)
        return fs_error_prefix(err, "%s: ", s->name);
    if (s->has_enable) {
        s->fmt_digital_out =
            fs_mcu_lookup_command(m, "queue_digital_out oid=%c clock=%u on_ticks=%u", err);
        if (!s->fmt_digital_out)
            return fs_error_prefix(err, "%s: ", s->name);
    }
    /* A (re)configured MCU has an idle stepper with no time base and its
     * enable pin off. */
    s->mcu_steps -= fs_stepcompress_reset(s->sc);
    s->have_sent = 0;
    s->sent_dir = -1;
    s->enabled = 0;
    s->catching_up = 0;
    s->pa_offset = 0.0;
    return 0;
}

static int same_mcu(const struct fs_pin_desc *a, const struct fs_pin_desc *b)
{
    return !a->mcu[0] || !b->mcu[0] || strcmp(a->mcu, b->mcu) == 0;
}

struct fs_stepper *fs_stepper_new(const struct fs_stepper_params *p, struct fs_error *err)
{
    const char *name = p->name ? p->name : "stepper";
    if (strlen(name) >= STEPPER_NAME_MAX) {
        fs_error_set(err, "stepper name '%.40s...' is too long", name);
        return NULL;
    }
    if (!p->mcu || !p->sync) {
        fs_error_set(err, "%s: no mcu or stepsync given", name);
        return NULL;
    }
    if (!(p->step_dist > 0.0) || p->step_pulse_s < 0.0 || p->max_error_s < 0.0) {
        fs_error_set(err, "%s: step_dist must be above 0 and times not negative", name);
        return NULL;
    }
    if (!same_mcu(&p->step_pin, &p->dir_pin) ||
        (p->has_enable && !same_mcu(&p->step_pin, &p->enable_pin))) {
        fs_error_set(err, "%s: step, dir and enable pins must be on one mcu", name);
        return NULL;
    }
    struct fs_stepper *s = calloc(1, sizeof(*s));
    if (!s) {
        fs_error_set(err, "%s: out of memory", name);
        return NULL;
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->mcu = p->mcu;
    s->sync = p->sync;
    s->step_pin = p->step_pin;
    s->dir_pin = p->dir_pin;
    s->has_enable = p->has_enable;
    s->enable_pin = p->enable_pin;
    s->step_dist = p->step_dist;
    s->step_pulse_s = p->step_pulse_s > 0.0 ? p->step_pulse_s : STEPPER_DEFAULT_PULSE_S;
    s->max_error_s = p->max_error_s > 0.0 ? p->max_error_s : STEPPER_DEFAULT_MAX_ERROR_S;
    s->oid = -1;
    s->enable_oid = -1;
    s->sent_dir = -1;
    if (fs_mcu_on_build_config_at(p->mcu, p->where, stepper_build_config, s, err) < 0 ||
        fs_mcu_on_configured(p->mcu, stepper_configured, s, err) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

void fs_stepper_free(struct fs_stepper *s)
{
    if (!s)
        return;
    fs_stepcompress_free(s->sc);
    free(s);
}

const char *fs_stepper_name(const struct fs_stepper *s) { return s->name; }
int fs_stepper_oid(const struct fs_stepper *s) { return s->oid; }
struct fs_mcu *fs_stepper_mcu(const struct fs_stepper *s) { return s->mcu; }
struct fs_stepsync *fs_stepper_stepsync(const struct fs_stepper *s) { return s->sync; }
int64_t fs_stepper_step_count(const struct fs_stepper *s) { return s->mcu_steps; }
int fs_stepper_is_enabled(const struct fs_stepper *s) { return !s->has_enable || s->enabled; }
double fs_stepper_get_position(const struct fs_stepper *s) { return s->position; }
double fs_stepper_motion_end(const struct fs_stepper *s) { return s->last_move_end; }
void fs_stepper_get_stats(const struct fs_stepper *s, struct fs_stepper_stats *out)
{
    *out = s->stats;
}

static int64_t half_step_round(double u) { return (int64_t)floor(u + 0.5); }

/* The pressure advance offset is kept: a G92 E0 between two extrusions at
 * speed renames the coordinate, it does not move the motor. */
void fs_stepper_set_position(struct fs_stepper *s, double pos)
{
    s->position = pos;
    s->cmd_steps = half_step_round((pos + s->pa_offset) / s->step_dist);
    s->overrun_steps = 0;
    s->catching_up = 0;
}

/* ---- sending ------------------------------------------------------------ */

static int send_cmd(struct fs_stepper *s, const struct fs_msgformat *f, const int64_t *values,
                    struct fs_link_queue *q, uint64_t min_clock, uint64_t req_clock,
                    struct fs_error *err)
{
    if (fs_mcu_send(s->mcu, f, values, q, min_clock, req_clock, err) < 0)
        return fs_error_prefix(err, "%s: ", s->name);
    return 0;
}

static int emit_run(void *arg, const struct fs_step_run *run, struct fs_error *err)
{
    struct fs_stepper *s = arg;
    s->emit_failed = 1;
    uint64_t reset_min = 0;
    if (run->reset && s->have_sent) {
        /* The firmware takes a new time base only once it stopped stepping. */
        reset_min = s->last_sent_clock + s->reset_after_ticks;
        if (reset_min + fs_mcu_seconds_to_ticks(s->mcu, FS_STEPSYNC_LEAD_S) > run->first_clock) {
            fs_error_set(err, "%s: step scheduled in the past (timing overrun): a new "
                         "time base cannot follow the previous steps in time (%.1f ms short)",
                         s->name,
                         ((double)reset_min +
                          (double)fs_mcu_seconds_to_ticks(s->mcu, FS_STEPSYNC_LEAD_S) -
                          (double)run->first_clock) / fs_mcu_clock_freq(s->mcu) * 1e3);
            fs_fault_raise(fs_stepsync_fault_source(s->sync), FS_FAULT_TIMING_OVERRUN, "%s",
                           err->msg);
            return -1;
        }
    }
    uint64_t min_clock;
    if (fs_stepsync_take_slot(s->sync, s, s->name, run->first_clock, run->last_clock,
                              &min_clock, err) < 0)
        return -1;
    if (run->reset) {
        const int64_t v[] = {s->oid, (int64_t)(uint32_t)run->reset_clock};
        if (send_cmd(s, s->fmt_reset_clock, v, s->queue, reset_min, run->first_clock, err) < 0)
            return -1;
        s->sent_dir = -1; /* a stopped MCU forgot it; cheap to repeat */
        s->stats.time_bases_sent++;
    }
    int mcu_dir = (run->dir > 0) != (s->dir_pin.invert != 0);
    if (mcu_dir != s->sent_dir) {
        const int64_t v[] = {s->oid, mcu_dir};
        if (send_cmd(s, s->fmt_set_dir, v, s->queue, 0, run->first_clock, err) < 0)
            return -1;
        s->sent_dir = mcu_dir;
    }
    const int64_t v[] = {s->oid, run->interval, run->count, run->add};
    if (send_cmd(s, s->fmt_queue_step, v, s->queue, min_clock, run->first_clock, err) < 0)
        return -1;
    s->have_sent = 1;
    s->last_sent_clock = run->last_clock;
    s->stats.steps_sent += run->count;
    s->stats.queue_steps_sent++;
    s->emit_failed = 0;
    return 0;
}

/* After a failure nothing unsent can still go out in time (or it was
 * wrong): forget it and start the next steps on a fresh time base. */
static void drop_unsent(struct fs_stepper *s)
{
    int64_t unsent = fs_stepcompress_reset(s->sc);
    s->mcu_steps -= unsent;
    s->overrun_steps += unsent;
    s->catching_up = 0;
    /* The toolhead may restart its timeline; a new move that would still
     * collide with sent steps fails the time-base check instead. */
    s->last_move_end = 0.0;
}

int fs_stepper_flush(struct fs_stepper *s, double print_time, struct fs_error *err)
{
    if (!s->sc)
        return fs_error_set(err, "%s: mcu '%s' is not configured", s->name, fs_mcu_name(s->mcu));
    if (!fs_stepcompress_pending(s->sc))
        return 0;
    uint64_t clock = fs_mcu_print_time_to_clock(s->mcu, print_time);
    s->emit_failed = 0;
    if (fs_stepcompress_flush(s->sc, clock, emit_run, s, err) == 0)
        return 0;
    if (!s->emit_failed)
        fs_error_prefix(err, "%s: ", s->name);
    drop_unsent(s);
    return -1;
}

int fs_stepper_set_enable(struct fs_stepper *s, double print_time, int enable,
                          struct fs_error *err)
{
    enable = enable != 0;
    if (!s->has_enable || enable == s->enabled)
        return 0;
    if (!s->fmt_digital_out)
        return fs_error_set(err, "%s: mcu '%s' is not configured", s->name, fs_mcu_name(s->mcu));
    uint64_t clock = fs_mcu_print_time_to_clock(s->mcu, print_time);
    uint64_t min_clock;
    /* A stop leaves the enable pin's command queued: no owner. */
    if (fs_stepsync_take_slot(s->sync, NULL, s->name, clock, clock, &min_clock, err) < 0)
        return -1;
    int level = enable != (s->enable_pin.invert != 0);
    const int64_t v[] = {s->enable_oid, (int64_t)(uint32_t)clock, level};
    if (send_cmd(s, s->fmt_digital_out, v, s->enable_queue, min_clock, clock, err) < 0)
        return -1;
    s->enabled = enable;
    return 0;
}

/* The motor is at `actual` steps after a stop: everything planned beyond
 * it is forgotten and the next move starts on a fresh time base. */
static void restart_from(struct fs_stepper *s, int64_t actual)
{
    /* Steps generated but never taken: unsent ones and those the MCU
     * discarded when it stopped. The commanded coordinate follows the motor. */
    int64_t lost = s->mcu_steps - actual + s->overrun_steps;
    s->overrun_steps = 0;
    fs_stepcompress_reset(s->sc);
    /* The MCU returned this stepper's queued moves to its pool when it
     * stopped; what is still waiting in the link would be discarded on
     * arrival. Dropping it frees every slot this stepper held. */
    fs_stepper_drop_queued(s);
    fs_stepsync_release(s->sync, s);
    s->mcu_steps = actual;
    s->cmd_steps -= lost;
    s->position = (double)s->cmd_steps * s->step_dist;
    s->pa_offset = 0.0;
    s->catching_up = 0;
    s->have_sent = 0;
    s->sent_dir = -1;
    s->last_move_end = 0.0;
}

void fs_stepper_drop_queued(struct fs_stepper *s)
{
    if (s->queue)
        fs_link_queue_drop(fs_mcu_link(s->mcu), s->queue);
}

int fs_stepper_sync_after_stop(struct fs_stepper *s, int64_t *steps, struct fs_error *err)
{
    if (s->oid < 0)
        return fs_error_set(err, "%s: mcu '%s' is not configured", s->name, fs_mcu_name(s->mcu));
    char text[64];
    snprintf(text, sizeof(text), "stepper_get_position oid=%d", s->oid);
    struct fs_mcu_reply reply;
    if (fs_mcu_query(s->mcu, text, "stepper_position oid=%c pos=%i", s->oid, &reply,
                     STEPPER_QUERY_TIMEOUT_S, err) < 0)
        return fs_error_prefix(err, "%s: ", s->name);
    int64_t pos = (int32_t)fs_msg_get(&reply.msg, "pos", 0);
    int64_t actual = s->dir_pin.invert ? -pos : pos;
    restart_from(s, actual);
    *steps = actual;
    return 0;
}

void fs_stepper_forget_unsent(struct fs_stepper *s)
{
    if (!s->sc)
        return;
    /* Sent steps count as taken: the best guess without an answer. */
    int64_t unsent = fs_stepcompress_reset(s->sc);
    restart_from(s, s->mcu_steps - unsent);
}

/* ---- step generation ---------------------------------------------------- */

/* Queues one step at t seconds on the clock map, with the burst and
 * cancellation rules described at the top. */
static int emit_step(struct fs_stepper *s, const struct clock_map *cm, double t, int dir,
                     struct fs_error *err)
{
    double ideal = cm->c0 + t * cm->tps;
    double last;
    int last_dir;
    if (fs_stepcompress_last(s->sc, &last, &last_dir) == 0) {
        if (dir != last_dir && ideal - last < s->bunch_ticks && fs_stepcompress_pop_last(s->sc)) {
            s->mcu_steps -= last_dir;
            return 0;
        }
        if (ideal < last + s->bunch_ticks && (s->catching_up || dir != last_dir))
            ideal = last + s->bunch_ticks;
        else
            s->catching_up = 0;
    }
    if (fs_stepcompress_push(s->sc, ideal, dir, err) < 0)
        return -1;
    s->mcu_steps += dir;
    return 0;
}

/* u(t) = u0 + b*t + c*t^2 (steps) on [ta, tb], monotonic there. */
struct phase {
    double u0, b, c;
    double t0; /* phase start, seconds into the move */
};

static double phase_u(const struct phase *ph, double t) { return ph->u0 + (ph->b + ph->c * t) * t; }

static int gen_piece(struct fs_stepper *s, const struct clock_map *cm, const struct phase *ph,
                     double ta, double tb, struct fs_error *err)
{
    double ua = phase_u(ph, ta), ub = phase_u(ph, tb);
    double slope = ph->b + 2.0 * ph->c * ta;
    int dir = ub > ua ? 1 : -1;
    double span = tb - ta;
    for (;;) {
        double x;
        if (dir > 0 && ub >= (double)s->cmd_steps + 0.5)
            x = (double)s->cmd_steps + 0.5;
        else if (dir < 0 && ub < (double)s->cmd_steps - 0.5)
            x = (double)s->cmd_steps - 0.5;
        else
            return 0;
        /* Smallest sigma >= 0 with c*sigma^2 + slope*sigma = x - ua, in
         * the form that does not cancel. */
        double delta = x - ua;
        double disc = slope * slope + 4.0 * ph->c * delta;
        double denom = slope + (double)dir * sqrt(disc > 0.0 ? disc : 0.0);
        double sigma = denom != 0.0 ? 2.0 * delta / denom : 0.0;
        if (!(sigma > 0.0))
            sigma = 0.0;
        if (sigma > span)
            sigma = span;
        s->cmd_steps += dir;
        if (emit_step(s, cm, ph->t0 + ta + sigma, dir, err) < 0)
            return -1;
    }
}

static int gen_phase(struct fs_stepper *s, const struct clock_map *cm, const struct phase *ph,
                     double dur, struct fs_error *err)
{
    /* A jump at the phase start: its steps are all due now. */
    while (ph->u0 >= (double)s->cmd_steps + 0.5 || ph->u0 < (double)s->cmd_steps - 0.5) {
        int dir = ph->u0 >= (double)s->cmd_steps + 0.5 ? 1 : -1;
        s->catching_up = 1;
        s->cmd_steps += dir;
        if (emit_step(s, cm, ph->t0, dir, err) < 0)
            return -1;
    }
    if (dur <= 0.0)
        return 0;
    double split = dur;
    if (ph->c != 0.0) {
        double turn = -ph->b / (2.0 * ph->c);
        if (turn > 0.0 && turn < dur)
            split = turn;
    }
    if (gen_piece(s, cm, ph, 0.0, split, err) < 0)
        return -1;
    if (split < dur)
        return gen_piece(s, cm, ph, split, dur, err);
    return 0;
}

static int gen_move(struct fs_stepper *s, const struct fs_trapezoid *m, double start_pos,
                    double ratio, double pa, struct fs_error *err)
{
    double dur = fs_trapezoid_duration(m);
    struct clock_map cm;
    cm.c0 = (double)fs_mcu_print_time_to_clock(s->mcu, m->print_time);
    cm.tps = fs_mcu_clock_freq(s->mcu);
    if (dur > 0.0) {
        double c1 = (double)fs_mcu_print_time_to_clock(s->mcu, m->print_time + dur);
        cm.tps = (c1 - cm.c0) / dur;
    }
    double inv = 1.0 / s->step_dist;
    double accel_d = (m->start_v + 0.5 * m->accel * m->accel_t) * m->accel_t;
    double cruise_d = m->cruise_v * m->cruise_t;
    const struct {
        double dur, v0, a, d0, t0;
    } phases[3] = {
        {m->accel_t, m->start_v, m->accel, 0.0, 0.0},
        {m->cruise_t, m->cruise_v, 0.0, accel_d, m->accel_t},
        {m->decel_t, m->cruise_v, -m->accel, accel_d + cruise_d, m->accel_t + m->cruise_t},
    };
    for (int i = 0; i < 3; i++) {
        if (i > 0 && phases[i].dur <= 0.0)
            continue;
        struct phase ph = {
            .u0 = (start_pos + ratio * (phases[i].d0 + pa * phases[i].v0)) * inv,
            .b = ratio * (phases[i].v0 + pa * phases[i].a) * inv,
            .c = 0.5 * ratio * phases[i].a * inv,
            .t0 = phases[i].t0,
        };
        if (gen_phase(s, &cm, &ph, phases[i].dur, err) < 0)
            return -1;
    }
    return 0;
}

int fs_stepper_add_move(struct fs_stepper *s, const struct fs_trapezoid *m, double start_pos,
                        double ratio, double pressure_advance, struct fs_error *err)
{
    if (!s->sc)
        return fs_error_set(err, "%s: mcu '%s' is not configured", s->name, fs_mcu_name(s->mcu));
    double dur = fs_trapezoid_duration(m);
    if (!(dur >= 0.0) || m->accel_t < 0.0 || m->cruise_t < 0.0 || m->decel_t < 0.0)
        return fs_error_set(err, "%s: move with negative phase times", s->name);
    if (m->print_time < s->last_move_end - STEPPER_MOVE_OVERLAP_S)
        return fs_error_set(err, "%s: move at print time %.6f starts before the previous one "
                            "ended (%.6f)", s->name, m->print_time, s->last_move_end);
    double end_pos = start_pos + ratio * fs_trapezoid_distance(m, dur);
    double end_offset = ratio * pressure_advance * fs_trapezoid_velocity(m, dur);
    int status = gen_move(s, m, start_pos, ratio, pressure_advance, err);
    s->position = end_pos;
    s->pa_offset = end_offset;
    s->last_move_end = m->print_time + dur;
    if (status == 0)
        return 0;
    /* A move that cannot be stepped is dropped whole; the stepper goes on
     * from where the move would have ended, so no later move "catches up"
     * with a burst. */
    fs_error_prefix(err, "%s: ", s->name);
    drop_unsent(s);
    s->cmd_steps = half_step_round((end_pos + end_offset) / s->step_dist);
    return -1;
}
