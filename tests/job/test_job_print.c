/* A print job runs its file line by line through the G-code dispatcher:
 * states, byte position and progress after each line, a failing line ends
 * the job with file:line and leaves the machine usable, PAUSE/RESUME
 * continue from the saved byte, CANCEL_PRINT closes the file, and M112 is
 * handed to the emergency handler at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>  /* sprintf */
#include <string.h> /* strstr, strlen */

#include "core/error.h"   /* fs_error_set */
#include "job_fixture.h" /* the test world */

#define PART "G1 X1 E1\nG1 X2 E2\nM104 S200\nG1 X3 E1.5\n"

static void test_file_runs_line_by_line_to_complete(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", PART, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);

    /* After each line the position is the start of the next one. */
    const long ends[] = {9, 18, 28, 39};
    struct fs_job_status st;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fs_job_run(fx.job, 1), 1);
        fs_job_get_status(fx.job, &st);
        assert_int_equal(st.position, ends[i]);
        assert_int_equal(st.size, (long)strlen(PART));
        assert_true(st.progress > 0.0 && st.progress <= 1.0);
        assert_int_equal(st.state, FS_JOB_PRINTING);
    }
    assert_float_equal(st.progress, 1.0, 1e-12);
    assert_int_equal(fs_job_run(fx.job, 10), 0); /* end of file */
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_false(fs_job_has_work(fx.job));

    assert_int_equal(fx_count_calls(&fx, "G1"), 3);
    assert_string_equal(fx_find_call(&fx, "G1", 0)->source, "part.gcode:1");
    assert_string_equal(fx_find_call(&fx, "M104", 0)->source, "part.gcode:3");
    assert_string_equal(fx_find_call(&fx, "M104", 0)->line, "M104 S200");
    /* Net E travel: 1 + 1 - 0.5 (a retraction counts back). */
    fs_job_get_status(fx.job, &st);
    assert_float_equal(st.filament_used_mm, 1.5, 1e-9);
    assert_string_equal(st.file, "part.gcode");
    assert_true(fx_has_output(&fx, "Done printing file"));
    fx_teardown(&fx);
}

static void test_max_lines_bounds_each_call(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", PART, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    assert_int_equal(fs_job_run(fx.job, 3), 3);
    assert_true(fs_job_has_work(fx.job));
    assert_int_equal(fs_job_run(fx.job, 3), 1);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    fx_teardown(&fx);
}

static void test_failing_line_ends_job_with_file_and_line(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "bad.gcode", "G1 X1\n; a comment\nG999 X2\nG1 X3\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=bad.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    assert_string_equal(fs_job_message(fx.job), "bad.gcode:3: Unknown command: 'G999'");
    assert_true(fx_has_output(&fx, "!! bad.gcode:3: Unknown command: 'G999'"));
    assert_int_equal(fx_count_calls(&fx, "G1"), 1); /* nothing after the bad line */

    /* The machine stays usable: commands run, and a new print starts. */
    assert_int_equal(fx_console(&fx, "M104 S0", NULL, 0), 0);
    fx_write_file(&fx, "good.gcode", "G1 X5\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=good.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_string_equal(fs_job_message(fx.job), "");
    fx_teardown(&fx);
}

static void test_on_error_gcode_runs_when_a_line_fails(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_job_config jc;
    fs_job_config_defaults(&jc);
    jc.has_virtual_sdcard = 1;
    strcpy(jc.sdcard_on_error_gcode, "M104 S0\nM84");
    fx_setup(&fx, &jc);
    fx_write_file(&fx, "bad.gcode", "G1 X1\nG999\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=bad.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    assert_string_equal(fx_find_call(&fx, "M104", 0)->source, "on_error_gcode:1");
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    fx_teardown(&fx);
}

static void test_bad_parameter_names_file_line_and_command(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "bad.gcode", "G1 X1\nG1 Eabc\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=bad.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    const char *msg = fs_job_message(fx.job);
    assert_true(strncmp(msg, "bad.gcode:2: ", 13) == 0);
    assert_non_null(strstr(msg, "G1"));
    assert_null(strstr(msg + 13, "bad.gcode:2")); /* the place is named once */
    fx_teardown(&fx);
}

static void test_pause_then_resume_continues_from_saved_byte(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", PART, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fx_advance_to(&fx, 1.0);
    assert_int_equal(fs_job_run(fx.job, 2), 2);
    fx_advance_to(&fx, 5.0);

    assert_int_equal(fx_console(&fx, "PAUSE", NULL, 0), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    const struct fx_call *save = fx_find_call(&fx, "SAVE_GCODE_STATE", 0);
    assert_non_null(save);
    assert_string_equal(save->line, "SAVE_GCODE_STATE NAME=PAUSE_STATE");
    assert_int_equal(fs_job_run(fx.job, 10), 0); /* a paused job runs nothing */
    assert_false(fs_job_has_work(fx.job));
    fx.output_count = 0;
    assert_int_equal(fx_console(&fx, "M27", NULL, 0), 0);
    assert_true(fx_has_output(&fx, "SD printing byte 18/39"));

    fx_advance_to(&fx, 65.0); /* a minute in pause */
    assert_int_equal(fx_console(&fx, "RESUME", NULL, 0), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    const struct fx_call *restore = fx_find_call(&fx, "RESTORE_GCODE_STATE", 0);
    assert_non_null(restore);
    assert_string_equal(restore->line,
                        "RESTORE_GCODE_STATE NAME=PAUSE_STATE MOVE=1 MOVE_SPEED=50.000");

    assert_int_equal(fs_job_run(fx.job, 1), 1);
    assert_string_equal(fx_find_call(&fx, "M104", 0)->source, "part.gcode:3");
    fx_advance_to(&fx, 70.0);
    fs_job_run(fx.job, 10);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_int_equal(fx_count_calls(&fx, "G1"), 3); /* no line twice, none skipped */

    struct fs_job_status st;
    fs_job_get_status(fx.job, &st);
    assert_float_equal(st.total_duration_s, 70.0, 1e-9);
    assert_float_equal(st.print_duration_s, 70.0 - 60.0, 1e-9);
    fx_teardown(&fx);
}

static void test_pause_in_file_stops_after_that_line(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "m600.gcode", "G1 X1\nPAUSE\nG1 X2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=m600.gcode", NULL, 0), 0);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    assert_int_equal(fx_count_calls(&fx, "G1"), 1);
    assert_int_equal(fx_console(&fx, "RESUME VELOCITY=20", NULL, 0), 0);
    assert_string_equal(fx_find_call(&fx, "RESTORE_GCODE_STATE", 0)->line,
                        "RESTORE_GCODE_STATE NAME=PAUSE_STATE MOVE=1 MOVE_SPEED=20.000");
    fs_job_run(fx.job, 100);
    assert_int_equal(fx_count_calls(&fx, "G1"), 2);
    assert_string_equal(fx_find_call(&fx, "G1", 1)->source, "m600.gcode:3");
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    fx_teardown(&fx);
}

static double request_pause(struct fs_timer *t, double eventtime)
{
    fs_job_request_pause(t->arg);
    return FS_NEVER;
}

static void test_pause_requested_from_a_timer_happens_in_the_main_loop(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_timer timer;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", PART, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fs_timer_init(&timer, request_pause, fx.job);
    fs_reactor_timer_set(&fx.reactor, &timer, 2.5);
    for (int i = 1; i <= 5; i++) { /* one line per second */
        fx_advance_to(&fx, i);
        fs_job_run(fx.job, 1);
    }
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    assert_int_equal(fx_count_calls(&fx, "G1"), 2); /* lines at t=1 and t=2 only */
    assert_int_equal(fx_count_calls(&fx, "SAVE_GCODE_STATE"), 1);
    assert_float_equal(fx_find_call(&fx, "SAVE_GCODE_STATE", 0)->t, 3.0, 1e-9);
    assert_false(fs_job_has_work(fx.job));
    fx_teardown(&fx);
}

static void test_pause_and_resume_refused_without_a_print(void **state)
{
    (void)state;
    struct job_fixture fx;
    char err[256];
    fx_setup(&fx, NULL);
    assert_int_equal(fx_console(&fx, "RESUME", err, sizeof(err)), -1);
    assert_string_equal(err, "console: RESUME: the print is not paused");
    assert_int_equal(fx_console(&fx, "PAUSE", err, sizeof(err)), -1);
    assert_string_equal(err, "console: PAUSE: no print is running");
    fx_teardown(&fx);
}

static int refuse_resume(void *arg, struct fs_error *err)
{
    return fs_error_set(err, "heater extruder: fault not cleared");
}

static void test_resume_check_can_refuse(void **state)
{
    (void)state;
    struct job_fixture fx;
    char err[256];
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", PART, 0);
    fs_job_set_resume_check(fx.job, refuse_resume, NULL);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "PAUSE", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "RESUME", err, sizeof(err)), -1);
    assert_string_equal(err, "console: RESUME: heater extruder: fault not cleared");
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    assert_null(fx_find_call(&fx, "RESTORE_GCODE_STATE", 0));
    fx_teardown(&fx);
}

static void test_cancel_print_closes_file(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", PART, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 1);
    assert_int_equal(fx_console(&fx, "PAUSE", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "CANCEL_PRINT", NULL, 0), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_CANCELLED);
    assert_int_equal(fs_job_run(fx.job, 10), 0);
    fx.output_count = 0;
    assert_int_equal(fx_console(&fx, "M27", NULL, 0), 0);
    assert_true(fx_has_output(&fx, "Not SD printing."));
    assert_int_equal(fx_console(&fx, "M24", NULL, 0), -1); /* nothing left to start */
    assert_int_equal(fx_count_calls(&fx, "G1"), 1);
    fx_teardown(&fx);
}

static void test_cancel_print_in_file_stops_runner(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "c.gcode", "G1 X1\nCANCEL_PRINT\nG1 X2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=c.gcode", NULL, 0), 0);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_CANCELLED);
    assert_int_equal(fx_count_calls(&fx, "G1"), 1);
    fx_teardown(&fx);
}

static void test_m112_calls_emergency_handler_at_once(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "stop.gcode", "G1 X1\nM112\nG1 X2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=stop.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fx.emergencies, 1);
    assert_non_null(strstr(fx.emergency_reason, "M112"));
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    assert_int_equal(fx_count_calls(&fx, "G1"), 1); /* the next line never ran */

    /* From the console, with no print: the handler is still called. */
    assert_int_equal(fx_console(&fx, "M112", NULL, 0), 0);
    assert_int_equal(fx.emergencies, 2);
    fx_teardown(&fx);
}

static void test_over_long_code_line_is_an_error_long_comment_is_not(void **state)
{
    (void)state;
    struct job_fixture fx;
    char text[2400];
    fx_setup(&fx, NULL);
    /* Line 2 is a long slicer comment, line 4 a long command. */
    size_t n = 0;
    n += (size_t)sprintf(text + n, "G1 X1\n; settings = ");
    memset(text + n, 'x', 1000);
    n += 1000;
    n += (size_t)sprintf(text + n, "\nG1 X2\nM104 S1 ; ");
    memset(text + n, 'y', 1000);
    n += 1000;
    sprintf(text + n, "\nG1 X3\n");
    fx_write_file(&fx, "long.gcode", text, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=long.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    assert_string_equal(fs_job_message(fx.job), "long.gcode:4: line longer than 512 characters");
    assert_int_equal(fx_count_calls(&fx, "G1"), 2);
    assert_string_equal(fx_find_call(&fx, "G1", 1)->source, "long.gcode:3");
    assert_null(fx_find_call(&fx, "M104", 0));
    fx_teardown(&fx);
}

static void test_longest_line_with_crlf_is_accepted(void **state)
{
    (void)state;
    struct job_fixture fx;
    char text[600];
    struct fs_job_status st;
    fx_setup(&fx, NULL);
    memcpy(text, "M117 ", 5);
    memset(text + 5, 'z', 507); /* 512 characters in all */
    memcpy(text + 512, "\r\nG1 X1\r\n", sizeof("\r\nG1 X1\r\n"));
    fx_write_file(&fx, "crlf.gcode", text, 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=crlf.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    fs_job_get_status(fx.job, &st);
    assert_int_equal(strlen(st.display_message), 507);
    assert_string_equal(fx_find_call(&fx, "G1", 0)->line, "G1 X1");
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_runs_line_by_line_to_complete),
        cmocka_unit_test(test_max_lines_bounds_each_call),
        cmocka_unit_test(test_failing_line_ends_job_with_file_and_line),
        cmocka_unit_test(test_on_error_gcode_runs_when_a_line_fails),
        cmocka_unit_test(test_bad_parameter_names_file_line_and_command),
        cmocka_unit_test(test_pause_then_resume_continues_from_saved_byte),
        cmocka_unit_test(test_pause_in_file_stops_after_that_line),
        cmocka_unit_test(test_pause_requested_from_a_timer_happens_in_the_main_loop),
        cmocka_unit_test(test_pause_and_resume_refused_without_a_print),
        cmocka_unit_test(test_resume_check_can_refuse),
        cmocka_unit_test(test_cancel_print_closes_file),
        cmocka_unit_test(test_cancel_print_in_file_stops_runner),
        cmocka_unit_test(test_m112_calls_emergency_handler_at_once),
        cmocka_unit_test(test_over_long_code_line_is_an_error_long_comment_is_not),
        cmocka_unit_test(test_longest_line_with_crlf_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
