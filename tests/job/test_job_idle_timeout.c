/* [idle_timeout]: after `timeout` seconds without activity the idle G-code
 * runs (from the main loop's fs_job_run), never while a job prints, and the
 * Idle/Ready/Printing state says where the printer stands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h> /* snprintf */

#include "gcode/gcode.h" /* fs_gcode_is_registered */
#include "job_fixture.h" /* the test world */

static void setup_with_timeout(struct job_fixture *fx, double timeout_s)
{
    struct fs_job_config jc;
    fs_job_config_defaults(&jc);
    jc.idle_timeout_s = timeout_s;
    snprintf(jc.idle_gcode, sizeof(jc.idle_gcode), "M104 S0\nM84");
    jc.has_pause_resume = 1;
    jc.has_virtual_sdcard = 1; /* fx_setup fills in its folder */
    fx_setup(fx, &jc);
}

/* What the main loop does: let time pass, then give the job its turn. */
static void main_loop_until(struct job_fixture *fx, double t)
{
    while (fx->now < t) {
        double step = fx->now + 1.0 < t ? fx->now + 1.0 : t;
        fx_advance_to(fx, step);
        fs_job_run(fx->job, 1);
    }
}

static void test_idle_gcode_runs_after_the_timeout(void **state)
{
    (void)state;
    struct job_fixture fx;
    setup_with_timeout(&fx, 30.0);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_READY);
    main_loop_until(&fx, 29.5);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    main_loop_until(&fx, 31.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    assert_int_equal(fx_count_calls(&fx, "M104"), 1);
    /* Run at the main loop's first turn after the timeout (1 s steps). */
    double t = fx_find_call(&fx, "M84", 0)->t;
    assert_true(t >= 30.0 && t <= 31.0);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_IDLE);
    /* Once idle it stays quiet until something happens. */
    main_loop_until(&fx, 200.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    fx_teardown(&fx);
}

static void test_activity_restarts_the_countdown(void **state)
{
    (void)state;
    struct job_fixture fx;
    setup_with_timeout(&fx, 30.0);
    main_loop_until(&fx, 20.0);
    fs_job_note_activity(fx.job);
    main_loop_until(&fx, 45.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    main_loop_until(&fx, 51.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    assert_true(fx_find_call(&fx, "M84", 0)->t >= 50.0);
    fs_job_note_activity(fx.job);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_READY);
    fx_teardown(&fx);
}

static void test_never_fires_while_printing(void **state)
{
    (void)state;
    struct job_fixture fx;
    setup_with_timeout(&fx, 30.0);
    /* A file longer than the timeout at one line per second. */
    char text[400] = "";
    for (int i = 0; i < 60; i++)
        snprintf(text + i * 6, sizeof(text) - (size_t)i * 6, "G1 X%d\n", i % 10);
    fx_write_file(&fx, "long.gcode", text, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=long.gcode", NULL, 0), 0);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_PRINTING);
    main_loop_until(&fx, 59.0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_PRINTING);
    main_loop_until(&fx, 62.0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_READY);
    /* The countdown starts when the print ends. */
    main_loop_until(&fx, 85.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    main_loop_until(&fx, 100.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    fx_teardown(&fx);
}

static void test_a_paused_print_times_out(void **state)
{
    (void)state;
    struct job_fixture fx;
    setup_with_timeout(&fx, 30.0);
    fx_write_file(&fx, "part.gcode", "G1 X1\nPAUSE\nG1 X2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    main_loop_until(&fx, 10.0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    main_loop_until(&fx, 45.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED); /* still resumable */
    fx_teardown(&fx);
}

static void test_set_idle_timeout_and_default_gcode(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    /* The default G-code's TURN_OFF_HEATERS exists even without heaters. */
    assert_true(fs_gcode_is_registered(fx.printer.gcode, "TURN_OFF_HEATERS"));
    assert_int_equal(fx_console(&fx, "SET_IDLE_TIMEOUT TIMEOUT=5", NULL, 0), 0);
    main_loop_until(&fx, 6.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    assert_int_equal(fs_job_idle_state(fx.job), FS_IDLE_IDLE);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_gcode_runs_after_the_timeout),
        cmocka_unit_test(test_activity_restarts_the_countdown),
        cmocka_unit_test(test_never_fires_while_printing),
        cmocka_unit_test(test_a_paused_print_times_out),
        cmocka_unit_test(test_set_idle_timeout_and_default_gcode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
