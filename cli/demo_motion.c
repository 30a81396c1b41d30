/* Trapezoidal moves as queue_step segments; see demo_motion.h. */
#include "demo_motion.h"

#include <math.h>   /* sqrt, llround */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* memset */

#include "core/error.h" /* fs_error_set */

#define SEGMENT_STEPS_MAX 65535 /* count is 16 bits on the wire */

double demo_trapezoid_time_at(double d_mm, double length_mm, double speed_mm_s,
                              double accel_mm_s2)
{
    double accel_d = speed_mm_s * speed_mm_s / (2 * accel_mm_s2);
    double peak = speed_mm_s;
    if (2 * accel_d > length_mm) { /* too short to reach speed: a triangle */
        accel_d = length_mm / 2;
        peak = sqrt(accel_mm_s2 * length_mm);
    }
    double accel_t = peak / accel_mm_s2;
    double cruise_t = (length_mm - 2 * accel_d) / peak;
    if (d_mm <= accel_d)
        return sqrt(2 * d_mm / accel_mm_s2);
    if (d_mm <= length_mm - accel_d)
        return accel_t + (d_mm - accel_d) / peak;
    double left = length_mm - d_mm;
    return 2 * accel_t + cruise_t - sqrt(2 * (left > 0 ? left : 0) / accel_mm_s2);
}

/* Whether count steps starting after `last` with this interval and add all
 * land within tol of their ideal times and never come too close together. */
static int segment_fits(const double *ideal, int64_t last, uint32_t count, int64_t interval,
                        int64_t add, double tol, uint32_t min_interval)
{
    int64_t t = last, iv = interval;
    for (uint32_t j = 0; j < count; j++) {
        if (iv < (int64_t)min_interval || iv > UINT32_MAX)
            return 0;
        t += iv;
        double off = (double)t - ideal[j];
        if (off > tol || off < -tol)
            return 0;
        iv += add;
    }
    return 1;
}

/* The longest segment from `last` that fits, halving until one does; a
 * single step always fits unless the profile itself is too fast. */
static int next_segment(const double *ideal, uint32_t left, int64_t last, double tol,
                        uint32_t min_interval, struct demo_step_segment *seg)
{
    uint32_t count = left < SEGMENT_STEPS_MAX ? left : SEGMENT_STEPS_MAX;
    for (;;) {
        int64_t interval = llround(ideal[0] - (double)last);
        int64_t add = 0;
        if (count > 1) {
            /* Aim the last step at its ideal time: after c steps the
             * segment has advanced c*interval + add*c*(c-1)/2. */
            double c = count;
            add = llround(2 * (ideal[count - 1] - (double)last - c * (double)interval) /
                          (c * (c - 1)));
        }
        if (add >= INT16_MIN && add <= INT16_MAX &&
            segment_fits(ideal, last, count, interval, add, tol, min_interval)) {
            seg->interval = (uint32_t)interval;
            seg->count = (uint16_t)count;
            seg->add = (int16_t)add;
            return 0;
        }
        if (count == 1)
            return -1;
        count /= 2;
    }
}

int demo_move_plan(struct demo_move_plan *p, uint32_t steps, const struct demo_move_limits *lim,
                   struct fs_error *err)
{
    memset(p, 0, sizeof(*p));
    if (steps == 0)
        return 0;
    double length = steps / lim->steps_per_mm;
    double *ideal = malloc(sizeof(*ideal) * steps);
    /* Every segment holds at least one step, so steps bounds the count. */
    p->segments = malloc(sizeof(*p->segments) * steps);
    if (!ideal || !p->segments) {
        free(ideal);
        demo_move_plan_free(p);
        return fs_error_set(err, "demo: out of memory planning %u steps", steps);
    }
    for (uint32_t k = 0; k < steps; k++)
        ideal[k] = lim->clock_freq *
                   demo_trapezoid_time_at((k + 0.5) / lim->steps_per_mm, length,
                                          lim->speed_mm_s, lim->accel_mm_s2);
    double tol = lim->tolerance_s * lim->clock_freq;
    int64_t last = 0;
    for (uint32_t done = 0; done < steps;) {
        struct demo_step_segment *seg = &p->segments[p->segment_count];
        if (next_segment(ideal + done, steps - done, last, tol, lim->min_interval, seg) < 0) {
            free(ideal);
            demo_move_plan_free(p);
            return fs_error_set(err, "demo: %.1f mm/s at %.0f steps/mm steps faster than the "
                                "%u-tick minimum interval", lim->speed_mm_s,
                                lim->steps_per_mm, lim->min_interval);
        }
        int64_t c = seg->count;
        last += c * (int64_t)seg->interval + (int64_t)seg->add * c * (c - 1) / 2;
        done += seg->count;
        p->segment_count++;
    }
    free(ideal);
    p->steps = steps;
    p->end_ticks = (uint64_t)last;
    p->duration_s = (double)last / lim->clock_freq;
    return 0;
}

void demo_move_plan_free(struct demo_move_plan *p)
{
    free(p->segments);
    p->segments = NULL;
    p->segment_count = 0;
}
