/* Demo-level motion: a trapezoidal velocity profile for one stepper, turned
 * into the firmware's queue_step segments (count steps, the interval growing
 * by add each step). The real planner and step compression come later in
 * engine/motion; this is just enough for the demo to move an axis smoothly.
 *
 * Each step is placed at the time the ideal profile passes the middle of
 * that step, and segments are chosen greedily, as long as possible while
 * every step stays within a tolerance of its ideal time. */
#ifndef DEMO_MOTION_H
#define DEMO_MOTION_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint16_t, uint32_t, int16_t, uint64_t */

struct fs_error;

struct demo_step_segment {
    uint32_t interval; /* ticks from the previous step to the first of these */
    uint16_t count;
    int16_t add;       /* ticks added to the interval after each step */
};

struct demo_move_plan {
    uint32_t steps;
    double duration_s;     /* from the move's start to its last step */
    uint64_t end_ticks;    /* the last step, in ticks after the start */
    struct demo_step_segment *segments; /* owned; demo_move_plan_free */
    size_t segment_count;
};

struct demo_move_limits {
    double steps_per_mm;
    double speed_mm_s;
    double accel_mm_s2;
    double clock_freq;     /* MCU ticks per second */
    double tolerance_s;    /* how far a step may be from its ideal time */
    uint32_t min_interval; /* ticks; never step faster (the pulse must fit) */
};

/* Plans `steps` steps from rest to rest. */
int demo_move_plan(struct demo_move_plan *p, uint32_t steps, const struct demo_move_limits *lim,
                   struct fs_error *err);
void demo_move_plan_free(struct demo_move_plan *p);

/* Seconds from the start of a trapezoidal move (from rest to rest) of
 * length_mm until it has covered d_mm. */
double demo_trapezoid_time_at(double d_mm, double length_mm, double speed_mm_s,
                              double accel_mm_s2);

#endif
