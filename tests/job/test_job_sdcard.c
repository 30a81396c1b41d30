/* [virtual_sdcard]: files are printed from one folder and nothing outside
 * it can be selected; the classic SD commands (M20, M23-M27) and
 * SDCARD_PRINT_FILE / SDCARD_RESET_FILE behave as a host program expects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>    /* snprintf */
#include <string.h>   /* strstr */
#include <sys/stat.h> /* mkdir */
#include <unistd.h>   /* symlink */

#include "job_fixture.h" /* the test world */

static void assert_refused(struct job_fixture *fx, const char *line, const char *why)
{
    char err[512];
    assert_int_equal(fx_console(fx, line, err, sizeof(err)), -1);
    if (!strstr(err, why))
        fail_msg("'%s' gave '%s', expected it to say '%s'", line, err, why);
    assert_int_equal(fs_job_state(fx->job), FS_JOB_STANDBY);
    assert_int_equal(fs_job_run(fx->job, 10), 0);
}

static void test_files_outside_the_folder_are_refused(void **state)
{
    (void)state;
    struct job_fixture fx;
    char link_path[512], target[512], line[700];
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "secret.gcode", "M104 S300\n", 1);
    assert_refused(&fx, "SDCARD_PRINT_FILE FILENAME=../secret.gcode", "outside");
    assert_refused(&fx, "SDCARD_PRINT_FILE FILENAME=sub/../../secret.gcode", "");
    /* A link inside the folder that leads out of it. */
    snprintf(target, sizeof(target), "%s/secret.gcode", fx.root);
    snprintf(link_path, sizeof(link_path), "%s/link.gcode", fx.sdcard);
    assert_int_equal(symlink(target, link_path), 0);
    assert_refused(&fx, "SDCARD_PRINT_FILE FILENAME=link.gcode", "outside");
    assert_refused(&fx, "M23 ../secret.gcode", "outside");
    /* An absolute path is taken relative to the card's root. */
    snprintf(line, sizeof(line), "SDCARD_PRINT_FILE FILENAME=%s", target);
    assert_refused(&fx, line, "no file");
    assert_refused(&fx, "SDCARD_PRINT_FILE FILENAME=missing.gcode", "no file 'missing.gcode'");
    assert_int_equal(fx_count_calls(&fx, "M104"), 0);
    fx_teardown(&fx);
}

static void test_m20_lists_gcode_files_with_sizes(void **state)
{
    (void)state;
    struct job_fixture fx;
    char sub[512];
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "b.gcode", "G1 X1\n", 0);
    fx_write_file(&fx, "a.gcode", "G1 X1\nG1 X2\n", 0);
    fx_write_file(&fx, "notes.txt", "not G-code\n", 0);
    snprintf(sub, sizeof(sub), "%s/parts", fx.sdcard);
    assert_int_equal(mkdir(sub, 0700), 0);
    fx_write_file(&fx, "parts/c.gcode", "G1 X3\n", 0);
    assert_int_equal(fx_console(&fx, "M20", NULL, 0), 0);
    assert_int_equal(fx.output_count, 5);
    assert_string_equal(fx.output[0], "Begin file list");
    assert_string_equal(fx.output[1], "a.gcode 12");
    assert_string_equal(fx.output[2], "b.gcode 6");
    assert_string_equal(fx.output[3], "parts/c.gcode 6");
    assert_string_equal(fx.output[4], "End file list");
    fx_teardown(&fx);
}

static void test_m23_m24_m25_m26_m27(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", "G1 X1\nG1 X2\nG1 X3\n", 0);
    assert_int_equal(fx_console(&fx, "M27", NULL, 0), 0);
    assert_true(fx_has_output(&fx, "Not SD printing."));
    assert_int_equal(fx_console(&fx, "M23 /part.gcode", NULL, 0), 0);
    assert_true(fx_has_output(&fx, "File opened:part.gcode Size:18"));
    assert_true(fx_has_output(&fx, "File selected"));
    assert_int_equal(fs_job_state(fx.job), FS_JOB_STANDBY);

    /* Start from the second line, as a host resuming a print would. */
    assert_int_equal(fx_console(&fx, "M26 S6", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "M24", NULL, 0), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    assert_int_equal(fs_job_run(fx.job, 1), 1);
    assert_string_equal(fx_find_call(&fx, "G1", 0)->line, "G1 X2");
    assert_string_equal(fx_find_call(&fx, "G1", 0)->source, "part.gcode:2");
    assert_int_equal(fx_console(&fx, "M26 S0", NULL, 0), -1); /* not while printing */

    assert_int_equal(fx_console(&fx, "M25", NULL, 0), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    fx.output_count = 0;
    assert_int_equal(fx_console(&fx, "M27", NULL, 0), 0);
    assert_true(fx_has_output(&fx, "SD printing byte 12/18"));
    assert_int_equal(fx_console(&fx, "M24", NULL, 0), 0); /* resumes */
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    assert_non_null(fx_find_call(&fx, "RESTORE_GCODE_STATE", 0));
    fs_job_run(fx.job, 10);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_int_equal(fx_count_calls(&fx, "G1"), 2);
    fx_teardown(&fx);
}

static void test_no_second_print_while_one_runs(void **state)
{
    (void)state;
    struct job_fixture fx;
    char err[512];
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "one.gcode", "G1 X1\nG1 X2\n", 0);
    fx_write_file(&fx, "two.gcode", "G1 X9\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=one.gcode", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=two.gcode", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "a print is running"));
    assert_int_equal(fx_console(&fx, "M23 two.gcode", NULL, 0), -1);
    fs_job_run(fx.job, 10);
    struct fs_job_status st;
    fs_job_get_status(fx.job, &st);
    assert_string_equal(st.file, "one.gcode");
    assert_int_equal(fx_count_calls(&fx, "G1"), 2);
    fx_teardown(&fx);
}

static void test_sdcard_reset_file_clears_the_job(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", "G1 X1\nSDCARD_RESET_FILE\nG1 X2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    /* From inside the file it cannot pull the file from under itself. */
    fs_job_run(fx.job, 10);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    assert_non_null(strstr(fs_job_message(fx.job), "part.gcode:2: SDCARD_RESET_FILE"));
    assert_int_equal(fx_console(&fx, "SDCARD_RESET_FILE", NULL, 0), 0);
    struct fs_job_status st;
    fs_job_get_status(fx.job, &st);
    assert_int_equal(st.state, FS_JOB_STANDBY);
    assert_string_equal(st.file, "");
    assert_string_equal(st.message, "");
    assert_int_equal(st.position, 0);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_outside_the_folder_are_refused),
        cmocka_unit_test(test_m20_lists_gcode_files_with_sizes),
        cmocka_unit_test(test_m23_m24_m25_m26_m27),
        cmocka_unit_test(test_no_second_print_while_one_runs),
        cmocka_unit_test(test_sdcard_reset_file_clears_the_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
