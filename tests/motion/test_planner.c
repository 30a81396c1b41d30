/* The look-ahead planner on its own: the corner, reversal and straight-on
 * junction speeds a user would expect, the minimum cruise share, speeds
 * that stay reachable across a long queue, and the Z and extrude-only
 * limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* sqrt, fabs */
#include <string.h> /* memset */

#include "core/error.h"       /* struct fs_error */
#include "motion/lookahead.h" /* fs_lookahead_*, fs_move_* */

#define MAX_COMMITTED 512

struct committed {
    struct fs_move moves[MAX_COMMITTED];
    int count;
};

static int collect(void *arg, const struct fs_move *m, struct fs_error *err)
{
    (void)err;
    struct committed *c = arg;
    assert_true(c->count < MAX_COMMITTED);
    c->moves[c->count++] = *m;
    return 0;
}

static struct fs_planner_limits limits(double accel, double min_cruise_ratio)
{
    struct fs_planner_limits l = {
        .max_velocity = 300.0,
        .max_accel = accel,
        .min_cruise_ratio = min_cruise_ratio,
        .square_corner_velocity = 5.0,
        .max_z_velocity = 5.0,
        .max_z_accel = 100.0,
        .max_e_only_velocity = 40.0,
        .max_e_only_accel = 500.0,
        .instant_corner_velocity = 1.0,
    };
    return l;
}

static void add(struct fs_lookahead *la, struct committed *c, const double from[4],
                const double to[4], double speed)
{
    struct fs_move m;
    struct fs_error err = {{0}};
    assert_int_equal(fs_move_init(&m, from, to, speed, &la->limits), 0);
    assert_int_equal(fs_lookahead_add(la, &m, collect, c, &err), 0);
}

static void flush(struct fs_lookahead *la, struct committed *c)
{
    struct fs_error err = {{0}};
    assert_int_equal(fs_lookahead_flush(la, collect, c, &err), 0);
}

/* Two moves through one corner; returns the speed at the corner. */
static double corner_speed(const double a[4], const double b[4], const double c_[4])
{
    static struct fs_lookahead la;
    static struct committed c;
    struct fs_planner_limits l = limits(3000.0, 0.0);
    memset(&c, 0, sizeof(c));
    fs_lookahead_init(&la, &l);
    add(&la, &c, a, b, 100.0);
    add(&la, &c, b, c_, 100.0);
    flush(&la, &c);
    assert_int_equal(c.count, 2);
    assert_true(fabs(c.moves[0].end_v - c.moves[1].start_v) < 1e-9);
    return c.moves[0].end_v;
}

static void test_square_corner_is_taken_at_square_corner_velocity(void **state)
{
    (void)state;
    double a[4] = {0, 0, 0, 0}, b[4] = {20, 0, 0, 0}, c[4] = {20, 20, 0, 0};
    assert_true(fabs(corner_speed(a, b, c) - 5.0) < 1e-6);
}

static void test_reversal_stops_and_straight_on_keeps_full_speed(void **state)
{
    (void)state;
    double a[4] = {0, 0, 0, 0}, b[4] = {20, 0, 0, 0}, back[4] = {0, 0, 0, 0};
    double on[4] = {40, 0, 0, 0};
    assert_true(corner_speed(a, b, back) < 1e-6);
    assert_true(fabs(corner_speed(a, b, on) - 100.0) < 1e-6);
    /* A gentle 10 degree bend is much faster than a square corner. */
    double bend[4] = {20 + 20 * cos(10 * M_PI / 180), 20 * sin(10 * M_PI / 180), 0, 0};
    double v = corner_speed(a, b, bend);
    assert_true(v > 20.0 && v < 100.0);
}

static void test_minimum_cruise_ratio_keeps_half_the_move_at_cruise(void **state)
{
    (void)state;
    static struct fs_lookahead la;
    static struct committed c;
    double from[4] = {0, 0, 0, 0}, to[4] = {100, 0, 0, 0};
    for (int pass = 0; pass < 2; pass++) {
        double ratio = pass ? 0.5 : 0.0;
        struct fs_planner_limits l = limits(500.0, ratio);
        memset(&c, 0, sizeof(c));
        fs_lookahead_init(&la, &l);
        add(&la, &c, from, to, 1000.0);
        flush(&la, &c);
        const struct fs_move *m = &c.moves[0];
        double cruise_d = m->cruise_v * m->cruise_t;
        assert_true(fabs(cruise_d - ratio * 100.0) < 1e-6);
        assert_true(m->start_v == 0.0 && m->end_v == 0.0);
        /* Accelerate and brake with the full acceleration either way. */
        assert_true(fabs(m->cruise_v - m->accel_t * 500.0) < 1e-6);
    }
}

static void test_minimum_cruise_ratio_applies_across_short_moves(void **state)
{
    (void)state;
    static struct fs_lookahead la;
    static struct committed c;
    struct fs_planner_limits l = limits(1000.0, 0.5);
    memset(&c, 0, sizeof(c));
    fs_lookahead_init(&la, &l);
    /* Ten 1 mm segments in a line behave like one 10 mm move: half of it
     * at cruise speed, not one long accelerate-then-brake ramp. */
    for (int i = 0; i < 10; i++) {
        double a[4] = {i, 0, 0, 0}, b[4] = {i + 1, 0, 0, 0};
        add(&la, &c, a, b, 250.0);
    }
    flush(&la, &c);
    double top = 0.0, cruise_d = 0.0;
    for (int i = 0; i < c.count; i++)
        top = c.moves[i].cruise_v > top ? c.moves[i].cruise_v : top;
    for (int i = 0; i < c.count; i++) {
        const struct fs_move *m = &c.moves[i];
        if (fabs(m->cruise_v - top) < 1e-9)
            cruise_d += m->cruise_v * m->cruise_t;
    }
    assert_true(fabs(top - sqrt(1000.0 * 10.0 * 0.5)) < 1e-6);
    assert_true(fabs(cruise_d - 5.0) < 1e-6);
}

/* n segments of seg_mm along a line, planned with the given ratio; checks
 * what must hold whatever the plan: continuity, reachability, distances,
 * a stop at the end. Returns the top speed. */
static double plan_line(int n, double seg_mm, double ratio)
{
    static struct fs_lookahead la;
    static struct committed c;
    struct fs_planner_limits l = limits(1000.0, ratio);
    memset(&c, 0, sizeof(c));
    fs_lookahead_init(&la, &l);
    for (int i = 0; i < n; i++) {
        double a[4] = {i * seg_mm, 0, 0, 0}, b[4] = {(i + 1) * seg_mm, 0, 0, 0};
        add(&la, &c, a, b, 200.0);
    }
    flush(&la, &c);
    assert_int_equal(c.count, n);
    double prev_end = 0.0, top = 0.0, distance = 0.0;
    for (int i = 0; i < c.count; i++) {
        const struct fs_move *m = &c.moves[i];
        assert_true(fabs(m->start_v - prev_end) < 1e-9);
        assert_true(m->cruise_v <= 200.0 + 1e-9);
        assert_true(m->cruise_v >= m->start_v - 1e-9 && m->cruise_v >= m->end_v - 1e-9);
        /* No move changes speed faster than the acceleration allows. */
        assert_true(fabs(m->end_v * m->end_v - m->start_v * m->start_v) <=
                    2.0 * 1000.0 * seg_mm + 1e-6);
        double d = m->start_v * m->accel_t + 0.5 * m->accel * m->accel_t * m->accel_t +
                   m->cruise_v * m->cruise_t + m->cruise_v * m->decel_t -
                   0.5 * m->accel * m->decel_t * m->decel_t;
        assert_true(fabs(d - seg_mm) < 1e-6);
        distance += d;
        prev_end = m->end_v;
        if (m->cruise_v > top)
            top = m->cruise_v;
    }
    assert_true(prev_end == 0.0);
    assert_true(fabs(distance - n * seg_mm) < 1e-6);
    return top;
}

static void test_long_queue_speeds_are_reachable_and_continuous(void **state)
{
    (void)state;
    /* 300 one-millimetre segments: more than the queue holds, so it is
     * committed in parts. 20 mm reach 200 mm/s at 1000 mm/s^2 (40 mm with
     * half the acceleration): full speed in the middle either way. */
    assert_true(fabs(plan_line(300, 1.0, 0.0) - 200.0) < 1e-9);
    assert_true(fabs(plan_line(300, 1.0, 0.5) - 200.0) < 1e-9);
    /* Shorter chains whose hill top is below the speed limit, cut by the
     * queue in the middle of a ramp. */
    plan_line(100, 0.3, 0.5);
    plan_line(97, 0.05, 0.7);
}

/* Slow moves must not pile up: commands timed to the end of the queue (a
 * fan switched off after the last line) must stay within the MCU clock's
 * reach, tens of seconds at most. */
static void test_queue_holds_at_most_a_few_seconds_of_slow_moves(void **state)
{
    (void)state;
    static struct fs_lookahead la;
    static struct committed c;
    struct fs_planner_limits l = limits(3000.0, 0.5);
    memset(&c, 0, sizeof(c));
    fs_lookahead_init(&la, &l);
    /* A zig-zag of 20 mm lines at 10 mm/s: 2 s each, 40 of them. */
    for (int i = 0; i < 40; i++) {
        double from[4] = {0, i * 0.4, 0, 0}, to[4] = {20, i * 0.4, 0, 0};
        if (i % 2) {
            from[0] = 20;
            to[0] = 0;
        }
        add(&la, &c, from, to, 10.0);
        assert_true(la.queued_time <= FS_LOOKAHEAD_MAX_TIME_S + 2.0 + 1e-9);
        assert_true(la.count <= 2);
    }
    flush(&la, &c);
    assert_int_equal(c.count, 40);
    for (int i = 1; i < c.count; i++)
        assert_true(fabs(c.moves[i - 1].end_v - c.moves[i].start_v) < 1e-9);
}

static void test_z_moves_obey_the_z_limits(void **state)
{
    (void)state;
    struct fs_planner_limits l = limits(3000.0, 0.0);
    struct fs_move m;
    double a[4] = {0, 0, 0, 0}, b[4] = {10, 0, 10, 0}, up[4] = {0, 0, 10, 0};
    assert_int_equal(fs_move_init(&m, a, b, 100.0, &l), 0);
    /* The Z component may not exceed max_z_velocity (5) or max_z_accel (100). */
    double z_share = 10.0 / m.move_d;
    assert_true(fabs(sqrt(m.max_cruise_v2) * z_share - 5.0) < 1e-9);
    assert_true(fabs(m.accel * z_share - 100.0) < 1e-9);
    assert_int_equal(fs_move_init(&m, a, up, 100.0, &l), 0);
    assert_true(fabs(sqrt(m.max_cruise_v2) - 5.0) < 1e-9);
    /* A level move is not held back. */
    double level[4] = {10, 10, 0, 0};
    assert_int_equal(fs_move_init(&m, a, level, 100.0, &l), 0);
    assert_true(fabs(sqrt(m.max_cruise_v2) - 100.0) < 1e-9);
    assert_true(fabs(m.accel - 3000.0) < 1e-9);
}

static void test_extrude_only_moves_use_the_extruder_limits(void **state)
{
    (void)state;
    struct fs_planner_limits l = limits(3000.0, 0.0);
    struct fs_move m;
    double a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, -5}, same[4] = {0, 0, 0, 0};
    assert_int_equal(fs_move_init(&m, a, b, 100.0, &l), 0);
    assert_false(m.is_kinematic);
    assert_true(fabs(m.move_d - 5.0) < 1e-12);
    assert_true(fabs(sqrt(m.max_cruise_v2) - 40.0) < 1e-9);
    assert_true(fabs(m.accel - 500.0) < 1e-9);
    /* A move to where the head already is plans nothing. */
    assert_int_equal(fs_move_init(&m, a, same, 100.0, &l), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_square_corner_is_taken_at_square_corner_velocity),
        cmocka_unit_test(test_reversal_stops_and_straight_on_keeps_full_speed),
        cmocka_unit_test(test_minimum_cruise_ratio_keeps_half_the_move_at_cruise),
        cmocka_unit_test(test_minimum_cruise_ratio_applies_across_short_moves),
        cmocka_unit_test(test_long_queue_speeds_are_reachable_and_continuous),
        cmocka_unit_test(test_queue_holds_at_most_a_few_seconds_of_slow_moves),
        cmocka_unit_test(test_z_moves_obey_the_z_limits),
        cmocka_unit_test(test_extrude_only_moves_use_the_extruder_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
