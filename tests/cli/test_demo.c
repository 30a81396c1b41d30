/* `failsoft demo`, the main job: on the demo printer the hotend's
 * thermistor opens mid-print, the print pauses and parks, and after the
 * repair FAULT_CLEAR and RESUME complete it where the file says; every check
 * of the verdict must pass, the timeline must tell the fault and the
 * completion, the picture must be a PNG of the chart's size; the same seed
 * gives the same timeline; a thermistor never repaired is a failed outcome,
 * not a success. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* open_memstream, snprintf, remove */
#include <stdlib.h> /* free, mkdtemp */
#include <string.h> /* strstr, strchr, memmove */
#include <unistd.h> /* rmdir */

#include <SDL.h>       /* SDL_Surface */
#include <SDL_image.h> /* IMG_Load */

#include "core/error.h" /* struct fs_error */
#include "demo.h"       /* demo_run */

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

static void test_demo_pauses_on_the_fault_and_completes_the_print(void **state)
{
    (void)state;
    char dir[] = "/tmp/fs_demo_test_XXXXXX", png[64];
    assert_non_null(mkdtemp(dir));
    /* A directory that does not exist yet: the demo creates it. */
    snprintf(png, sizeof(png), "%s/out/demo.png", dir);
    struct demo_options opt = {.seed = 7, .png_path = png};
    struct demo_outcome o;
    char *text = run_demo(&opt, &o);
    fputs(text, stdout); /* the timeline, for a failing run */

    if (!o.ok)
        fail_msg("outcome: %s", o.reason);
    /* What the verdict says, checked here on its own figures. */
    assert_true(o.check_count >= 10);
    for (int i = 0; i < o.check_count; i++)
        assert_true(o.checks[i].ok);
    assert_true(o.completed);
    /* Where the file ends (read independently of the engine), exactly in
     * the engine and within a fifth of a step at the head. */
    for (int i = 0; i < 3; i++) {
        assert_true(fabs(o.final_pos[i] - o.expected_pos[i]) <= 1e-6);
        assert_true(fabs(o.plant_pos[i] - o.expected_pos[i]) <= 0.02);
    }
    assert_true(fabs(o.extruded_mm - o.expected_extrusion_mm) <= 0.01);
    assert_true(o.fault_raised);
    assert_string_equal(o.fault_action, "pause");
    assert_true(o.pin_off_latency_s >= 0 && o.pin_off_latency_s <= 0.308);
    assert_true(o.bed_target_c > 0 && o.bed_max_dev_c <= 3.0);
    assert_true(o.hotend_pin_duty == 0.0 && o.bed_pin_duty > 0.0);
    assert_true(o.homed_throughout);
    assert_true(o.journal_lines >= 1);

    /* The timeline tells the story in order. */
    const char *opened = strstr(text, "the hotend's thermistor opens");
    const char *raised = strstr(text, "fault raised: extruder sensor_open -> pause");
    const char *parked = strstr(text, "paused and parked");
    const char *cleared = strstr(text, "FAULT_CLEAR SOURCE=extruder: cleared");
    const char *complete = strstr(text, "print complete");
    assert_non_null(opened);
    assert_non_null(raised);
    assert_non_null(parked);
    assert_non_null(cleared);
    assert_non_null(complete);
    assert_true(opened < raised && raised < parked && parked < cleared && cleared < complete);
    assert_non_null(strstr(text, "result: OK"));

    SDL_Surface *img = IMG_Load(png);
    assert_non_null(img);
    assert_int_equal(img->w, 1200);
    assert_int_equal(img->h, 900);
    SDL_FreeSurface(img);
    free(text);
    remove(png);
    snprintf(png, sizeof(png), "%s/out", dir);
    rmdir(png);
    rmdir(dir);
}

/* The timeline without the wall-time figure, which alone may differ. */
static void drop_wall_time(char *text)
{
    char *p = strstr(text, ", wall time");
    assert_non_null(p);
    char *end = strchr(p, '\n');
    memmove(p, end, strlen(end) + 1);
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

static void test_a_thermistor_never_repaired_fails_the_outcome(void **state)
{
    (void)state;
    struct demo_options opt = {.seed = 5, .never_repair = 1};
    struct demo_outcome o;
    char *text = run_demo(&opt, &o);
    fputs(text, stdout); /* the timeline, for a failing run */
    assert_false(o.ok);
    assert_false(o.completed);
    /* It got as far as the pause, and no further. */
    assert_true(o.paused);
    assert_non_null(strstr(o.reason, "FAULT_CLEAR SOURCE=extruder refused"));
    assert_non_null(strstr(text, "[FAILED] print completed"));
    assert_non_null(strstr(text, "result: FAILED"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_pauses_on_the_fault_and_completes_the_print),
        cmocka_unit_test(test_same_seed_gives_the_same_timeline),
        cmocka_unit_test(test_a_thermistor_never_repaired_fails_the_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
