/* Step compression on its own: ideal step times in, queue_step runs out.
 * Every run is expanded the way the firmware would time it (interval after
 * the previous step or the reset clock, growing by add) and each step is
 * checked against its ideal time - what a user would check with a logic
 * analyser on the step pin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* sqrt, fabs */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strstr */

#include "core/error.h"          /* struct fs_error */
#include "motion/stepcompress.h" /* fs_stepcompress_* */

#define MAX_ERROR 1250.0 /* 25 us at 50 MHz */
#define MIN_INTERVAL 200u
#define MAX_INTERVAL 50000000u
#define MAX_STEPS 400000

/* The firmware's view of what was sent. */
struct mcu_model {
    uint64_t base;     /* last step clock or reset clock */
    int have_base;
    uint64_t *clocks;
    int *dirs;
    size_t steps;
    size_t runs, resets;
    int bad_run;       /* a run broke a protocol limit */
};

static int record_run(void *arg, const struct fs_step_run *run, struct fs_error *err)
{
    (void)err;
    struct mcu_model *m = arg;
    if (run->reset) {
        m->base = run->reset_clock;
        m->have_base = 1;
        m->resets++;
    }
    if (!m->have_base || run->count == 0 || run->interval > INT32_MAX)
        m->bad_run = 1;
    uint64_t clock = m->base;
    int64_t interval = run->interval;
    for (unsigned k = 0; k < run->count; k++) {
        if (k)
            interval += run->add;
        if (interval < 0)
            m->bad_run = 1;
        clock += (uint64_t)interval;
        if (k == 0 && clock != run->first_clock)
            m->bad_run = 1;
        if (m->steps < MAX_STEPS) {
            m->clocks[m->steps] = clock;
            m->dirs[m->steps] = run->dir;
        }
        m->steps++;
    }
    if (clock != run->last_clock)
        m->bad_run = 1;
    m->base = clock;
    m->runs++;
    return 0;
}

struct fixture {
    struct fs_stepcompress *sc;
    struct mcu_model mcu;
    double *ideal;
    int *dir;
    size_t count;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct fs_error err = {{0}};
    struct fs_stepcompress_params p = {MAX_ERROR, MIN_INTERVAL, MAX_INTERVAL};
    f->sc = fs_stepcompress_new(&p, &err);
    f->mcu.clocks = calloc(MAX_STEPS, sizeof(uint64_t));
    f->mcu.dirs = calloc(MAX_STEPS, sizeof(int));
    f->ideal = calloc(MAX_STEPS, sizeof(double));
    f->dir = calloc(MAX_STEPS, sizeof(int));
    assert_non_null(f->sc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fs_stepcompress_free(f->sc);
    free(f->mcu.clocks);
    free(f->mcu.dirs);
    free(f->ideal);
    free(f->dir);
    free(f);
    return 0;
}

static void push(struct fixture *f, double ideal, int dir)
{
    struct fs_error err = {{0}};
    assert_true(f->count < MAX_STEPS);
    f->ideal[f->count] = ideal;
    f->dir[f->count] = dir;
    f->count++;
    if (fs_stepcompress_push(f->sc, ideal, dir, &err) < 0)
        fail_msg("push: %s", err.msg);
}

static void flush_all(struct fixture *f)
{
    struct fs_error err = {{0}};
    if (fs_stepcompress_flush(f->sc, UINT64_MAX / 2, record_run, &f->mcu, &err) < 0)
        fail_msg("flush: %s", err.msg);
}

/* Every ideal step came out once, in order, in its direction, within
 * max_error, and no two steps closer than the minimum interval. */
static void assert_steps_match(const struct fixture *f)
{
    assert_false(f->mcu.bad_run);
    assert_int_equal(f->mcu.steps, f->count);
    for (size_t i = 0; i < f->count; i++) {
        double e = (double)f->mcu.clocks[i] - f->ideal[i];
        if (fabs(e) > MAX_ERROR)
            fail_msg("step %zu at %llu is %.1f ticks from its ideal %.1f", i,
                     (unsigned long long)f->mcu.clocks[i], e, f->ideal[i]);
        assert_int_equal(f->mcu.dirs[i], f->dir[i]);
        if (i)
            assert_true(f->mcu.clocks[i] >= f->mcu.clocks[i - 1] + MIN_INTERVAL);
    }
    assert_int_equal(fs_stepcompress_pending(f->sc), 0);
}

static void test_constant_rate_is_one_run(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 10000; i++)
        push(f, 1e6 + 5000.0 * i, 1);
    flush_all(f);
    assert_steps_match(f);
    assert_int_equal(f->mcu.runs, 1);
    assert_int_equal(f->mcu.resets, 1);
    for (size_t i = 0; i < f->count; i++)
        assert_int_equal(f->mcu.clocks[i], (uint64_t)f->ideal[i]);
}

static void test_fractional_rate_stays_within_max_error(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 20000; i++)
        push(f, 1e6 + 3333.37 * i, 1);
    flush_all(f);
    assert_steps_match(f);
    /* A drifting rate still compresses: add absorbs it. */
    assert_true(f->mcu.runs < 20);
}

/* Constant acceleration from rest: step k at sqrt(2k/a). */
static void test_acceleration_and_deceleration(void **state)
{
    struct fixture *f = *state;
    const double freq = 50e6, steps_per_mm = 80.0, accel = 3000.0;
    double t_end = 0;
    for (int k = 1; k <= 4000; k++) {
        double x = (k - 0.5) / steps_per_mm;
        t_end = sqrt(2.0 * x / accel);
        push(f, 1e6 + t_end * freq, 1);
    }
    double v = accel * t_end;
    for (int k = 1; k <= 4000; k++) {
        /* Decelerate from v: x = v t - a t^2 / 2 */
        double x = (k - 0.5) / steps_per_mm;
        double disc = v * v - 2.0 * accel * x;
        double t = (v - sqrt(disc > 0 ? disc : 0)) / accel;
        push(f, 1e6 + (t_end + t) * freq, 1);
    }
    flush_all(f);
    assert_steps_match(f);
    /* 8000 steps in far fewer commands. */
    print_message("acceleration and deceleration: %zu steps in %zu runs\n", f->mcu.steps,
                  f->mcu.runs);
    assert_true(f->mcu.runs < 600);
}

static void test_direction_reversal(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 500; i++)
        push(f, 1e6 + 4000.0 * i, 1);
    for (int i = 0; i < 300; i++)
        push(f, 1e6 + 4000.0 * 500 + 4000.0 * i, -1);
    flush_all(f);
    assert_steps_match(f);
    int64_t net = 0;
    for (size_t i = 0; i < f->mcu.steps; i++)
        net += f->mcu.dirs[i];
    assert_int_equal(net, 200);
    assert_true(f->mcu.runs >= 2);
}

static void test_counts_and_add_within_protocol_limits(void **state)
{
    struct fixture *f = *state;
    /* Longer than one run may hold, at a rate that slowly changes. */
    double t = 1e6;
    for (int i = 0; i < 200000; i++) {
        t += 1000.0 + 0.001 * i;
        push(f, t, 1);
    }
    flush_all(f);
    assert_steps_match(f); /* record_run flags counts of 0 and negative intervals */
    assert_true(f->mcu.runs >= 4); /* 200000 steps need at least 4 runs of <= 65535 */
}

static void test_steps_too_fast_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct fs_error err = {{0}};
    for (int i = 0; i < 10; i++)
        assert_int_equal(fs_stepcompress_push(f->sc, 1e6 + 10.0 * i, 1, &err), 0);
    assert_int_equal(fs_stepcompress_flush(f->sc, UINT64_MAX / 2, record_run, &f->mcu, &err), -1);
    assert_non_null(strstr(err.msg, "steps too fast"));
    assert_int_equal(f->mcu.steps, 0); /* nothing of a bad batch goes out */
}

static void test_long_gap_starts_a_new_time_base(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 100; i++)
        push(f, 1e6 + 5000.0 * i, 1);
    for (int i = 0; i < 100; i++)
        push(f, 1e6 + 2.0 * MAX_INTERVAL + 5000.0 * i, 1);
    flush_all(f);
    assert_steps_match(f);
    assert_int_equal(f->mcu.resets, 2);
}

static void test_flush_sends_only_steps_before_the_clock(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 1000; i++)
        push(f, 1e6 + 5000.0 * i, 1);
    struct fs_error err = {{0}};
    uint64_t cut = 1000000 + 5000 * 400 + 10;
    assert_int_equal(fs_stepcompress_flush(f->sc, cut, record_run, &f->mcu, &err), 0);
    assert_int_equal(f->mcu.steps, 401);
    for (size_t i = 0; i < f->mcu.steps; i++)
        assert_true(f->mcu.clocks[i] < cut);
    assert_int_equal(fs_stepcompress_pending(f->sc), 599);
    flush_all(f);
    assert_steps_match(f);
}

static void test_reset_forgets_and_reports_net_steps(void **state)
{
    struct fixture *f = *state;
    struct fs_error err = {{0}};
    for (int i = 0; i < 10; i++)
        assert_int_equal(fs_stepcompress_push(f->sc, 1e6 + 5000.0 * i, 1, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fs_stepcompress_push(f->sc, 2e6 + 5000.0 * i, -1, &err), 0);
    assert_int_equal(fs_stepcompress_pop_last(f->sc), 1);
    assert_int_equal(fs_stepcompress_reset(f->sc), 10 - 2);
    assert_int_equal(fs_stepcompress_pending(f->sc), 0);
    /* After a reset the next run carries a new time base. */
    assert_int_equal(fs_stepcompress_push(f->sc, 5e6, 1, &err), 0);
    flush_all(f);
    assert_int_equal(f->mcu.resets, 1);
    assert_int_equal(f->mcu.clocks[0], 5000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_constant_rate_is_one_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fractional_rate_stays_within_max_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acceleration_and_deceleration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direction_reversal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_and_add_within_protocol_limits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_steps_too_fast_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_gap_starts_a_new_time_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_sends_only_steps_before_the_clock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_forgets_and_reports_net_steps, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
