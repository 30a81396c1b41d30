/* `failsoft demo`, the main job: on the simulated printer it must heat the
 * hotend into the +-2 C band without overshooting it, home X exactly where
 * the plant says the endstop is, end X where it was commanded, with no MCU
 * shutting down; the same seed gives the same timeline; a broken endstop is
 * a failed outcome, not a success. Also the demo's step planning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* open_memstream, snprintf, remove */
#include <stdlib.h> /* free, mkdtemp */
#include <string.h> /* strstr, strncmp */
#include <unistd.h> /* rmdir */

#include <SDL.h>       /* SDL_Surface */
#include <SDL_image.h> /* IMG_Load */

#include "core/error.h"  /* struct fs_error */
#include "demo.h"        /* demo_run */
#include "demo_motion.h" /* demo_move_plan */

/* Runs the demo; returns its timeline (to free). */
static char *run_demo(struct demo_options *opt, struct demo_outcome *o)
{
    char *text = NULL;
    size_t len = 0;
    opt->out = open_memstream(&text, &len);
    assert_non_null(opt->out);
    struct fs_error err = {{0}};
    if (demo_run(opt, o, &err) < 0)
        fail_msg("demo: %s", err.msg);
    fclose(opt->out);
    return text;
}

static void test_demo_heats_homes_and_moves_with_the_right_outcome(void **state)
{
    (void)state;
    char dir[] = "/tmp/fs_demo_test_XXXXXX", png[64];
    assert_non_null(mkdtemp(dir));
    /* A directory that does not exist yet: the demo creates it. */
    snprintf(png, sizeof(png), "%s/out/demo.png", dir);
    struct demo_options opt = {.seed = 7, .png_path = png};
    struct demo_outcome o;
    char *text = run_demo(&opt, &o);

    if (!o.ok)
        fail_msg("outcome: %s\n%s", o.reason, text);
    assert_true(o.reached_target);
    assert_true(o.max_overshoot_c <= 2.0);
    assert_true(o.hold_min_c >= 198.0 && o.hold_max_c <= 202.0);
    assert_true(o.time_to_target_s > 20.0 && o.time_to_target_s < 120.0);
    assert_true(o.homed);
    assert_int_equal(o.homing_error_steps, 0);
    assert_true(fabs(o.final_engine_mm - 10.0) <= 1.0 / 80);
    assert_true(fabs(o.final_plant_mm - 10.0) <= 1.0 / 80);
    assert_int_equal(o.shutdowns, 0);
    assert_non_null(strstr(text, "X homed: endstop triggered at 0.00 mm, plant agrees"));
    assert_non_null(strstr(text, "X endstop hit after 57.30 mm of travel"));
    assert_non_null(strstr(text, "result: OK"));

    SDL_Surface *img = IMG_Load(png);
    assert_non_null(img);
    assert_int_equal(img->w, 1200);
    assert_int_equal(img->h, 720);
    SDL_FreeSurface(img);
    free(text);
    remove(png);
    snprintf(png, sizeof(png), "%s/out", dir);
    rmdir(png);
    rmdir(dir);
}

/* The timeline without the wall-time line, which alone may differ. */
static void drop_wall_time(char *text)
{
    char *p = strstr(text, "  wall time");
    assert_non_null(p);
    char *end = strchr(p, '\n');
    memmove(p, end + 1, strlen(end + 1) + 1);
}

static void test_same_seed_gives_the_same_timeline(void **state)
{
    (void)state;
    struct demo_options a = {.seed = 3}, b = {.seed = 3};
    struct demo_outcome oa, ob;
    char *ta = run_demo(&a, &oa), *tb = run_demo(&b, &ob);
    drop_wall_time(ta);
    drop_wall_time(tb);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
}

static void test_broken_endstop_fails_the_outcome(void **state)
{
    (void)state;
    struct demo_options opt = {.seed = 5, .break_x_endstop = 1};
    struct demo_outcome o;
    char *text = run_demo(&opt, &o);
    assert_false(o.ok);
    assert_false(o.homed);
    assert_non_null(strstr(o.reason, "endstop did not trigger"));
    assert_non_null(strstr(text, "result: FAILED"));
    free(text);
}

static void test_planned_steps_stay_within_tolerance_of_the_profile(void **state)
{
    (void)state;
    struct demo_move_limits lim = {.steps_per_mm = 80, .speed_mm_s = 50, .accel_mm_s2 = 500,
                                   .clock_freq = 50e6, .tolerance_s = 20e-6,
                                   .min_interval = 200};
    struct demo_move_plan p;
    struct fs_error err = {{0}};
    uint32_t steps = 90 * 80;
    assert_int_equal(demo_move_plan(&p, steps, &lim, &err), 0);
    double length = steps / lim.steps_per_mm;
    /* Replays the segments as the firmware does. */
    int64_t t = 0;
    uint32_t k = 0;
    for (size_t i = 0; i < p.segment_count; i++) {
        int64_t iv = p.segments[i].interval;
        for (uint32_t j = 0; j < p.segments[i].count; j++, k++) {
            t += iv;
            iv += p.segments[i].add;
            double ideal = lim.clock_freq * demo_trapezoid_time_at((k + 0.5) / 80.0, length,
                                                                   50, 500);
            assert_true(fabs((double)t - ideal) <= lim.tolerance_s * lim.clock_freq);
        }
    }
    assert_int_equal(k, steps);
    assert_int_equal((uint64_t)t, p.end_ticks);
    /* 90 mm at 50 mm/s with 0.1 s ramps: 1.9 s; and far fewer segments
     * than steps, or the MCU's move queue would overflow. */
    assert_true(fabs(p.duration_s - 1.9) < 0.01);
    assert_true(p.segment_count < 200);
    demo_move_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_heats_homes_and_moves_with_the_right_outcome),
        cmocka_unit_test(test_same_seed_gives_the_same_timeline),
        cmocka_unit_test(test_broken_endstop_fails_the_outcome),
        cmocka_unit_test(test_planned_steps_stay_within_tolerance_of_the_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
