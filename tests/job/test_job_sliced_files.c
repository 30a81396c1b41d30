/* Real sliced files (scenarios/gcode: PrusaSlicer, Slic3r, CuraEngine) run
 * through the job from the first byte to the last: every line reaches the
 * dispatcher once with its file:line, progress only grows, and the job ends
 * complete at 100 %. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>  /* snprintf, fopen */
#include <string.h> /* strlen */

#include "core/error.h"  /* struct fs_error */
#include "gcode/gcode.h" /* fs_gcode_register */
#include "job_fixture.h" /* the test world */

/* Commands the slicers emit beyond the fixture's G1, M104 and M84. */
static const char *const slicer_commands[] = {"G0",   "G21",  "G28",  "G90",  "G91",
                                              "G92",  "M82",  "M106", "M107", "M109",
                                              "M140", "M190", NULL};

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    long lines = 0;
    int c, last = '\n';
    while ((c = getc(f)) != EOF) {
        lines += c == '\n';
        last = c;
    }
    fclose(f);
    return lines + (last != '\n');
}

static void run_sliced_file(const char *file)
{
    struct job_fixture fx;
    struct fs_error err;
    char from[512], line[600];
    snprintf(from, sizeof(from), "%s/scenarios/gcode/%s", FS_SOURCE_DIR, file);
    fx_setup(&fx, NULL);
    for (int i = 0; slicer_commands[i]; i++)
        assert_int_equal(fs_gcode_register(fx.printer.gcode, slicer_commands[i], fx_count_only,
                                           &fx, "", &err), 0);
    fx_copy_file(&fx, from, file);
    snprintf(line, sizeof(line), "SDCARD_PRINT_FILE FILENAME=%s", file);
    assert_int_equal(fx_console(&fx, line, NULL, 0), 0);

    long lines = 0;
    double last_progress = 0.0;
    struct fs_job_status st;
    while (fs_job_has_work(fx.job)) {
        lines += fs_job_run(fx.job, 100);
        fs_job_get_status(fx.job, &st);
        assert_true(st.progress >= last_progress);
        last_progress = st.progress;
    }
    if (fs_job_state(fx.job) != FS_JOB_COMPLETE)
        fail_msg("%s: %s", file, fs_job_message(fx.job));
    assert_int_equal(lines, count_lines(from));
    assert_int_equal(st.position, st.size);
    assert_float_equal(st.progress, 1.0, 0);
    assert_true(fx.call_total > 1000);
    fx_teardown(&fx);
}

static void test_prusaslicer_file_runs_to_complete(void **state)
{
    (void)state;
    run_sliced_file("prusaslicer-cube20.gcode");
}

static void test_slic3r_file_runs_to_complete(void **state)
{
    (void)state;
    run_sliced_file("slic3r-cube20.gcode");
}

static void test_curaengine_file_runs_to_complete(void **state)
{
    (void)state;
    run_sliced_file("curaengine-cube20.gcode");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prusaslicer_file_runs_to_complete),
        cmocka_unit_test(test_slic3r_file_runs_to_complete),
        cmocka_unit_test(test_curaengine_file_runs_to_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
