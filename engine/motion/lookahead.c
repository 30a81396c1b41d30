/* The look-ahead planner; see lookahead.h.
 *
 * Design. Speeds are handled squared (v^2), because along a move at
 * constant acceleration v^2 changes linearly with distance: a move of
 * length d can change v^2 by at most delta_v2 = 2*a*d. Planning a queue is
 * then two linear passes:
 *   - backward, from an assumed stop after the last move: the highest speed
 *     each move may start with and still stop in time;
 *   - forward, from the speed the queue starts with (the end of what was
 *     already committed): the speed each move can actually reach.
 * Each junction takes the lower of the two and of its corner limit.
 *
 * minimum_cruise_ratio keeps a chain of short moves from becoming one long
 * accelerate-then-brake triangle (which rings the frame). Both passes are
 * first run with a "smoothed" acceleration a*(1 - ratio); that profile
 * rises and falls in hills between stops and sharp corners, and every move
 * of a hill (and its junctions) is held to the hill's top. The real passes
 * then use the full acceleration to reach that top and brake from it. For
 * one move from rest to rest, or a straight chain of short ones, exactly
 * `ratio` of the length is left at cruise speed.
 *
 * Committing only ever happens for moves planned under the assumption that
 * the head stops after the last queued move. New moves can only raise what
 * is reachable, so a committed end speed is always achievable by the moves
 * that follow it. When the queue is full its older half is committed; the
 * cost is some lost speed on very long runs of tiny segments, the gain is a
 * planner with no special cases. */
#include "motion/lookahead.h"

#include <math.h>   /* sqrt, fabs, INFINITY */
#include <string.h> /* memmove, memset */

#include "core/error.h" /* struct fs_error */

#define MOVE_EPSILON_MM 1e-9

static double min2(double a, double b) { return a < b ? a : b; }
static double max2(double a, double b) { return a > b ? a : b; }

int fs_move_init(struct fs_move *m, const double start[FS_AXES], const double end[FS_AXES],
                 double speed, const struct fs_planner_limits *lim)
{
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < FS_AXES; i++) {
        m->start[i] = start[i];
        m->end[i] = end[i];
        m->axes_d[i] = end[i] - start[i];
    }
    double xyz_d = sqrt(m->axes_d[0] * m->axes_d[0] + m->axes_d[1] * m->axes_d[1] +
                        m->axes_d[2] * m->axes_d[2]);
    double velocity, accel;
    if (xyz_d < MOVE_EPSILON_MM) {
        double e_d = fabs(m->axes_d[FS_AXIS_E]);
        if (e_d < MOVE_EPSILON_MM)
            return 1;
        m->move_d = e_d;
        m->axes_r[FS_AXIS_E] = m->axes_d[FS_AXIS_E] / e_d;
        velocity = min2(speed, lim->max_e_only_velocity);
        accel = lim->max_e_only_accel;
    } else {
        m->is_kinematic = 1;
        m->move_d = xyz_d;
        for (int i = 0; i < FS_AXES; i++)
            m->axes_r[i] = m->axes_d[i] / xyz_d;
        velocity = min2(speed, lim->max_velocity);
        accel = lim->max_accel;
        double dz = fabs(m->axes_d[FS_AXIS_Z]);
        if (dz > MOVE_EPSILON_MM) {
            /* The Z limits bind the Z component: scale them to the move. */
            double z_ratio = xyz_d / dz;
            velocity = min2(velocity, lim->max_z_velocity * z_ratio);
            accel = min2(accel, lim->max_z_accel * z_ratio);
        }
    }
    m->accel = accel;
    m->max_cruise_v2 = velocity * velocity;
    m->delta_v2 = 2.0 * m->move_d * accel;
    m->smooth_delta_v2 = m->delta_v2 * (1.0 - lim->min_cruise_ratio);
    return 0;
}

double fs_move_duration(const struct fs_move *m)
{
    return m->accel_t + m->cruise_t + m->decel_t;
}

double fs_lookahead_junction_v2(const struct fs_move *prev, const struct fs_move *m,
                                const struct fs_planner_limits *lim)
{
    /* Extrude-only moves (retractions) start and end at rest. */
    if (!prev->is_kinematic || !m->is_kinematic)
        return 0.0;
    /* theta is the angle between the reversed previous direction and the
     * new one: 180 degrees is straight on, 0 a full reversal. */
    double cos_theta = -(prev->axes_r[0] * m->axes_r[0] + prev->axes_r[1] * m->axes_r[1] +
                         prev->axes_r[2] * m->axes_r[2]);
    if (cos_theta > 0.999999)
        return 0.0;
    cos_theta = max2(cos_theta, -0.999999);
    double sin_half = sqrt(0.5 * (1.0 - cos_theta));
    double cos_half = sqrt(0.5 * (1.0 + cos_theta));
    double accel = min2(prev->accel, m->accel);
    /* Junction deviation: the corner is rounded by an arc whose distance
     * from the corner is chosen so that a 90 degree corner gives
     * v^2 = square_corner_velocity^2 at the centripetal accel `accel`. */
    double scv = lim->square_corner_velocity;
    double deviation = scv * scv * (sqrt(2.0) - 1.0) / accel;
    double v2 = deviation * sin_half / (1.0 - sin_half) * accel;
    /* That arc must fit into half of either move (matters for the many
     * short segments of an arc). */
    double tan_half = sin_half / cos_half;
    v2 = min2(v2, 0.5 * m->move_d * tan_half * m->accel);
    v2 = min2(v2, 0.5 * prev->move_d * tan_half * prev->accel);
    /* A sudden change of extrusion rate is a jerk for the extruder. */
    double diff_r = m->axes_r[FS_AXIS_E] - prev->axes_r[FS_AXIS_E];
    if (fabs(diff_r) > 1e-12) {
        double v = lim->instant_corner_velocity / fabs(diff_r);
        v2 = min2(v2, v * v);
    }
    return min2(v2, min2(m->max_cruise_v2, prev->max_cruise_v2));
}

void fs_lookahead_init(struct fs_lookahead *la, const struct fs_planner_limits *lim)
{
    memset(la, 0, sizeof(*la));
    la->limits = *lim;
}

void fs_lookahead_set_limits(struct fs_lookahead *la, const struct fs_planner_limits *lim)
{
    la->limits = *lim;
}

void fs_lookahead_reset(struct fs_lookahead *la)
{
    la->count = 0;
    la->has_prev = 0;
    la->start_v2 = 0.0;
    la->queued_time = 0.0;
}

static void set_times(struct fs_move *m, double start_v2, double cruise_v2, double end_v2)
{
    double a = m->accel;
    m->start_v = sqrt(start_v2);
    m->cruise_v = sqrt(cruise_v2);
    m->end_v = sqrt(end_v2);
    double accel_d = (cruise_v2 - start_v2) / (2.0 * a);
    double decel_d = (cruise_v2 - end_v2) / (2.0 * a);
    double cruise_d = max2(m->move_d - accel_d - decel_d, 0.0);
    m->accel_t = (m->cruise_v - m->start_v) / a;
    m->decel_t = (m->cruise_v - m->end_v) / a;
    m->cruise_t = cruise_d / m->cruise_v;
}

/* The smoothed passes: for each move, the highest cruise speed (squared)
 * that a ramp at accel * (1 - min_cruise_ratio) allows for the whole
 * accelerate-cruise-brake episode ("hill") the move belongs to. */
static void smoothed_caps(const struct fs_lookahead *la, double *hill)
{
    int n = la->count;
    double sf_start[FS_LOOKAHEAD_MAX], sf_end[FS_LOOKAHEAD_MAX];
    double sb_start[FS_LOOKAHEAD_MAX], sb_end[FS_LOOKAHEAD_MAX], peak[FS_LOOKAHEAD_MAX];
    double v2 = la->start_v2;
    for (int i = 0; i < n; i++) {
        const struct fs_move *m = &la->moves[i];
        if (i > 0)
            v2 = min2(v2, min2(m->max_start_v2, m->max_cruise_v2));
        sf_start[i] = v2;
        sf_end[i] = v2 = min2(v2 + m->smooth_delta_v2, m->max_cruise_v2);
    }
    v2 = 0.0;
    for (int i = n - 1; i >= 0; i--) {
        const struct fs_move *m = &la->moves[i];
        sb_end[i] = v2;
        sb_start[i] = v2 = min2(v2 + m->smooth_delta_v2, min2(m->max_start_v2, m->max_cruise_v2));
    }
    /* The top of the smoothed profile within each move: where the two
     * ramps meet, or one of its ends. */
    for (int i = 0; i < n; i++) {
        const struct fs_move *m = &la->moves[i];
        double p = (sf_start[i] + sb_end[i] + m->smooth_delta_v2) * 0.5;
        p = min2(p, sf_start[i] + m->smooth_delta_v2);
        p = min2(p, sb_end[i] + m->smooth_delta_v2);
        peak[i] = min2(p, m->max_cruise_v2);
    }
    /* A rising move takes the top of the hill to its right, a falling one
     * the top to its left. Hills meet only at junctions (a corner or a
     * stop), so the walks never cross into the next hill. */
    double right[FS_LOOKAHEAD_MAX], left[FS_LOOKAHEAD_MAX];
    right[n - 1] = peak[n - 1];
    for (int i = n - 2; i >= 0; i--)
        right[i] = peak[i + 1] >= peak[i] ? right[i + 1] : peak[i];
    left[0] = peak[0];
    for (int i = 1; i < n; i++)
        left[i] = peak[i - 1] >= peak[i] ? left[i - 1] : peak[i];
    for (int i = 0; i < n; i++) {
        double at_start = min2(sf_start[i], sb_start[i]);
        double at_end = min2(sf_end[i], sb_end[i]);
        hill[i] = at_end >= at_start ? right[i] : left[i];
    }
}

void fs_lookahead_plan(struct fs_lookahead *la)
{
    int n = la->count;
    if (n == 0)
        return;
    double hill[FS_LOOKAHEAD_MAX], bwd_start[FS_LOOKAHEAD_MAX], bwd_full[FS_LOOKAHEAD_MAX];
    smoothed_caps(la, hill);
    /* Backward with the full acceleration, twice: bwd_full is what braking
     * in time allows, bwd_start also holds each junction to the hill tops
     * on both sides, so a chain of short moves cruises at its hill top
     * instead of ramping through it. */
    double next_v2 = 0.0, next_full_v2 = 0.0;
    for (int i = n - 1; i >= 0; i--) {
        const struct fs_move *m = &la->moves[i];
        double cap = min2(m->max_start_v2, m->max_cruise_v2);
        bwd_full[i] = next_full_v2 = min2(cap, next_full_v2 + m->delta_v2);
        cap = min2(cap, hill[i]);
        if (i > 0)
            cap = min2(cap, hill[i - 1]);
        bwd_start[i] = next_v2 = min2(cap, next_v2 + m->delta_v2);
    }
    double start_v2 = la->start_v2;
    for (int i = 0; i < n; i++) {
        struct fs_move *m = &la->moves[i];
        double bwd_end = i + 1 < n ? bwd_start[i + 1] : 0.0;
        double end_v2 = min2(start_v2 + m->delta_v2, bwd_end);
        /* The smoothed passes restart from the committed speed, which can
         * leave it above the hill top seen now: then brake as hard as
         * allowed (bwd_full keeps that feasible) rather than jump. */
        end_v2 = max2(end_v2, start_v2 - m->delta_v2);
        if (i + 1 < n)
            end_v2 = min2(end_v2, bwd_full[i + 1]);
        else
            end_v2 = 0.0;
        double cruise_v2 = min2(m->max_cruise_v2, hill[i]);
        cruise_v2 = min2(cruise_v2, (start_v2 + end_v2 + m->delta_v2) * 0.5);
        cruise_v2 = max2(cruise_v2, max2(start_v2, end_v2));
        set_times(m, start_v2, cruise_v2, end_v2);
        start_v2 = end_v2;
    }
}

/* A move can take no less than its length at its top speed. */
static double shortest_duration(const struct fs_move *m)
{
    return m->max_cruise_v2 > 0.0 ? m->move_d / sqrt(m->max_cruise_v2) : 0.0;
}

static int commit_first(struct fs_lookahead *la, int count, fs_lookahead_commit_fn commit,
                        void *arg, struct fs_error *err)
{
    for (int i = 0; i < count; i++) {
        if (commit(arg, &la->moves[i], err) < 0) {
            /* The rest cannot follow a move that was not carried out. */
            fs_lookahead_reset(la);
            return -1;
        }
    }
    double end_v = la->moves[count - 1].end_v;
    la->start_v2 = count < la->count ? end_v * end_v : 0.0;
    memmove(&la->moves[0], &la->moves[count], sizeof(la->moves[0]) * (size_t)(la->count - count));
    la->count -= count;
    la->queued_time = 0.0;
    for (int i = 0; i < la->count; i++)
        la->queued_time += shortest_duration(&la->moves[i]);
    return 0;
}

int fs_lookahead_add(struct fs_lookahead *la, const struct fs_move *m,
                     fs_lookahead_commit_fn commit, void *arg, struct fs_error *err)
{
    if (la->count == FS_LOOKAHEAD_MAX ||
        (la->count >= 2 && la->queued_time > FS_LOOKAHEAD_MAX_TIME_S)) {
        fs_lookahead_plan(la);
        if (commit_first(la, (la->count + 1) / 2, commit, arg, err) < 0)
            return -1;
    }
    struct fs_move *slot = &la->moves[la->count++];
    *slot = *m;
    la->queued_time += shortest_duration(m);
    slot->max_start_v2 = la->has_prev ? fs_lookahead_junction_v2(&la->prev, m, &la->limits)
                                      : 0.0;
    la->prev = *slot;
    la->has_prev = 1;
    return 0;
}

int fs_lookahead_flush(struct fs_lookahead *la, fs_lookahead_commit_fn commit, void *arg,
                       struct fs_error *err)
{
    if (la->count == 0)
        return 0;
    fs_lookahead_plan(la);
    return commit_first(la, la->count, commit, arg, err);
}
