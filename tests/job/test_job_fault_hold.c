/* The job's side of a fault pause, without a machine: a hold stops the
 * runner at once and never pauses by itself; a line that fails under a
 * hold is not a job error but runs again after RESUME; the fault pause is
 * flagged in the status; the idle timeout follows the fault policy while
 * paused by a fault and says so; the journal (job.json) is replaced
 * atomically at every step and tells JOB_RECOVER what it needs, or why
 * not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON_Parse */
#include <math.h>        /* NAN */
#include <stdio.h>       /* snprintf, fopen */
#include <stdlib.h>      /* malloc */
#include <string.h>      /* strstr, strlen */
#include <sys/stat.h>    /* mkdir, stat */
#include <unistd.h>      /* access */

#include "core/error.h"  /* fs_error_set */
#include "job_fixture.h" /* the test world */

#define FILE_TEXT "G1 X1 E1\nCOLD_EXTRUDE\nG1 X3 E2\n"
#define LINE2_START 9 /* strlen("G1 X1 E1\n") */

/* A line whose handler raises a fault (the hold) and fails, the way a cold
 * extrusion does, the first `fail_times` times it runs. */
struct faulting_line {
    struct job_fixture *fx;
    int calls;
    int fail_times;
    char sources[4][64];
};

static int cold_extrude(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                        struct fs_error *err)
{
    struct faulting_line *fl = arg;
    if (fl->calls < 4)
        snprintf(fl->sources[fl->calls], sizeof(fl->sources[0]), "%s", cmd->source);
    if (fl->calls++ >= fl->fail_times)
        return 0;
    fs_job_hold(fl->fx->job);
    return fs_error_set(err, "Extrude below minimum temp");
}

static struct fs_job_park park_with_idle(double idle_timeout_s)
{
    struct fs_job_park park = {
        .x = NAN, .y = NAN, .z_lift = 10, .speed = 100, .z_speed = 10,
        .heaters = FS_JOB_PAUSE_HEATERS_KEEP, .standby_temp_c = 150,
        .heaters_timeout_s = 600, .idle_timeout_s = idle_timeout_s,
    };
    return park;
}

static void start_file(struct job_fixture *fx, struct faulting_line *fl, int fail_times)
{
    struct fs_error err = {{0}};
    *fl = (struct faulting_line){fx, 0, fail_times, {{0}}};
    assert_int_equal(fs_gcode_register(fx->printer.gcode, "COLD_EXTRUDE", cold_extrude, fl,
                                       "", &err), 0);
    fx_write_file(fx, "part.gcode", FILE_TEXT, 0);
    assert_int_equal(fx_console(fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
}

static void test_failed_line_under_a_hold_runs_again_after_resume(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    struct fs_error err = {{0}};
    fx_setup(&fx, NULL);
    start_file(&fx, &fl, 1);

    /* The runner stops at the failing line; the job is not in error. */
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    assert_true(fs_job_is_held(fx.job));
    assert_false(fs_job_has_work(fx.job));
    struct fs_job_status st;
    fs_job_get_status(fx.job, &st);
    assert_int_equal(st.position, LINE2_START);
    assert_string_equal(st.message, "");
    /* A hold never pauses by itself. */
    assert_int_equal(fs_job_run(fx.job, 100), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);

    /* The fault module's deferred pause. */
    struct fs_job_park park = park_with_idle(0);
    assert_int_equal(fs_job_fault_pause(fx.job, &park, &err), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    assert_true(fs_job_paused_by_fault(fx.job));
    assert_int_equal(fx_count_calls(&fx, "SAVE_GCODE_STATE"), 1);
    cJSON *js = cJSON_CreateObject();
    assert_int_equal(fs_job_status_to_json(fx.job, js), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(js, "paused_by_fault")));
    cJSON_Delete(js);

    if (fs_job_resume(fx.job, 0, &err) < 0)
        fail_msg("%s", err.msg);
    assert_false(fs_job_paused_by_fault(fx.job));
    /* The head was brought back by the fault resume itself: the G-code
     * state comes back without a move of its own. */
    const struct fx_call *restore = fx_find_call(&fx, "RESTORE_GCODE_STATE", 0);
    assert_non_null(restore);
    assert_non_null(strstr(restore->line, "MOVE=0"));
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_int_equal(fl.calls, 2);
    assert_string_equal(fl.sources[0], "part.gcode:2");
    assert_string_equal(fl.sources[1], "part.gcode:2");
    assert_int_equal(fx_count_calls(&fx, "G1"), 2);
    assert_string_equal(fx_find_call(&fx, "G1", 1)->source, "part.gcode:3");
    fx_teardown(&fx);
}

static void test_release_without_pause_makes_the_failure_a_job_error(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    fx_setup(&fx, NULL);
    start_file(&fx, &fl, 1);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    fs_job_release(fx.job);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    const char *msg = fs_job_message(fx.job);
    assert_non_null(strstr(msg, "part.gcode:2"));
    assert_non_null(strstr(msg, "Extrude below minimum temp"));
    fx_teardown(&fx);
}

static void test_hold_between_lines_waits_and_release_goes_on(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    fx_setup(&fx, NULL);
    start_file(&fx, &fl, 0);
    assert_int_equal(fs_job_run(fx.job, 1), 1);
    fs_job_hold(fx.job); /* a fault from a timer, between two lines */
    assert_int_equal(fs_job_run(fx.job, 100), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PRINTING);
    assert_int_equal(fx_count_calls(&fx, "SAVE_GCODE_STATE"), 0);
    fs_job_release(fx.job);
    assert_true(fs_job_has_work(fx.job));
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    fx_teardown(&fx);
}

static int still_faulted(void *arg, struct fs_error *err)
{
    int *latched = arg;
    return *latched ? fs_error_set(err, "extruder: sensor_open is active (FAULT_CLEAR first)")
                    : 0;
}

static void test_resume_is_refused_while_the_fault_is_latched(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    fx_setup(&fx, NULL);
    int latched = 1;
    fs_job_set_resume_check(fx.job, still_faulted, &latched);
    start_file(&fx, &fl, 1);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    struct fs_job_park park = park_with_idle(0);
    struct fs_error err = {{0}};
    assert_int_equal(fs_job_fault_pause(fx.job, &park, &err), 0);
    char msg[256];
    assert_int_equal(fx_console(&fx, "RESUME", msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "RESUME: extruder: sensor_open is active"));
    assert_true(fs_job_paused_by_fault(fx.job));
    assert_int_equal(fx_count_calls(&fx, "RESTORE_GCODE_STATE"), 0);
    latched = 0; /* FAULT_CLEAR */
    assert_int_equal(fx_console(&fx, "RESUME", msg, sizeof(msg)), 0);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_COMPLETE);
    assert_int_equal(fl.calls, 2);
    fx_teardown(&fx);
}

/* ---- idle timeout in a fault pause ---- */

static void setup_idle(struct job_fixture *fx, double timeout_s)
{
    struct fs_job_config jc;
    fs_job_config_defaults(&jc);
    jc.idle_timeout_s = timeout_s;
    snprintf(jc.idle_gcode, sizeof(jc.idle_gcode), "M84");
    jc.has_pause_resume = 1;
    jc.has_virtual_sdcard = 1;
    fx_setup(fx, &jc);
}

static void main_loop_until(struct job_fixture *fx, double t)
{
    while (fx->now < t) {
        double step = fx->now + 1.0 < t ? fx->now + 1.0 : t;
        fx_advance_to(fx, step);
        fs_job_run(fx->job, 1);
    }
}

static void test_fault_pause_suspends_the_idle_timeout(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    struct fs_error err = {{0}};
    setup_idle(&fx, 30.0);
    start_file(&fx, &fl, 1);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    struct fs_job_park park = park_with_idle(0);
    assert_int_equal(fs_job_fault_pause(fx.job, &park, &err), 0);
    assert_true(fx_has_output(&fx, "!! paused by fault: idle timeout suspended"));
    /* Far past the ordinary 30 s: the motors stay on, homing is kept. */
    main_loop_until(&fx, 1000.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_PAUSED);
    /* Once the pause ends the ordinary timeout is back. */
    assert_int_equal(fs_job_cancel(fx.job, &err), 0);
    main_loop_until(&fx, 1025.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    main_loop_until(&fx, 1032.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    fx_teardown(&fx);
}

static void test_fault_pause_idle_timeout_is_announced_and_kept(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    struct fs_error err = {{0}};
    setup_idle(&fx, 30.0);
    start_file(&fx, &fl, 1);
    assert_int_equal(fs_job_run(fx.job, 100), 2);
    double paused_at = fx.now;
    struct fs_job_park park = park_with_idle(100.0);
    assert_int_equal(fs_job_fault_pause(fx.job, &park, &err), 0);
    assert_true(fx_has_output(
        &fx, "!! paused by fault: idle timeout in 100 s turns off motors (homing will be lost)"));
    main_loop_until(&fx, paused_at + 95.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 0);
    main_loop_until(&fx, paused_at + 102.0);
    assert_int_equal(fx_count_calls(&fx, "M84"), 1);
    fx_teardown(&fx);
}

/* ---- the journal ---- */

static cJSON *read_journal(const char *dir)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/job.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    assert_non_null(j);
    return j;
}

static const char *journal_state(const cJSON *j)
{
    return cJSON_GetObjectItem(j, "state")->valuestring;
}

static double journal_position(const cJSON *j)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(j, "file"), "position")->valuedouble;
}

static void journal_dir(struct job_fixture *fx, char *out, size_t size)
{
    snprintf(out, size, "%s/journal", fx->root);
    assert_int_equal(mkdir(out, 0700), 0);
    assert_int_equal(fs_job_set_journal_dir(fx->job, out), 0);
}

static void assert_no_temp_file(const char *dir)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s/.job.json.tmp", dir);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_journal_follows_the_job_and_is_replaced_atomically(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    struct fs_error err = {{0}};
    char dir[512];
    fx_setup(&fx, NULL);
    journal_dir(&fx, dir, sizeof(dir));
    start_file(&fx, &fl, 1);

    cJSON *j = read_journal(dir);
    assert_non_null(j);
    assert_string_equal(journal_state(j), "printing");
    const cJSON *file = cJSON_GetObjectItem(j, "file");
    assert_string_equal(cJSON_GetObjectItem(file, "name")->valuestring, "part.gcode");
    assert_non_null(strstr(cJSON_GetObjectItem(file, "path")->valuestring, "/sdcard/part.gcode"));
    assert_int_equal((long)cJSON_GetObjectItem(file, "size")->valuedouble,
                     (long)strlen(FILE_TEXT));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(file, "mtime")));
    assert_no_temp_file(dir);
    cJSON_Delete(j);

    /* Every 10 s of printing, between two lines. */
    assert_int_equal(fs_job_run(fx.job, 1), 1);
    j = read_journal(dir);
    assert_int_equal((long)journal_position(j), 0); /* not yet 10 s */
    cJSON_Delete(j);
    fx_advance_to(&fx, fx.now + FS_JOB_JOURNAL_PERIOD_S + 0.5);

    /* The fault pause: the failed line is the one to run next. */
    assert_int_equal(fs_job_run(fx.job, 100), 1);
    struct fs_job_park park = park_with_idle(0);
    assert_int_equal(fs_job_fault_pause(fx.job, &park, &err), 0);
    j = read_journal(dir);
    assert_string_equal(journal_state(j), "paused");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "paused_by_fault")));
    assert_int_equal((long)journal_position(j), LINE2_START);
    assert_non_null(cJSON_GetObjectItem(j, "print_stats"));
    assert_no_temp_file(dir);
    cJSON_Delete(j);

    assert_int_equal(fs_job_cancel(fx.job, &err), 0);
    j = read_journal(dir);
    assert_string_equal(journal_state(j), "cancelled");
    cJSON_Delete(j);
    assert_int_equal(fs_job_journal_unfinished(fx.job, NULL, 0), 0);
    /* A cancelled job is not recovered. */
    assert_int_equal(fx_console(&fx, "JOB_RECOVER", err.msg, sizeof(err.msg)), -1);
    assert_non_null(strstr(err.msg, "ended (cancelled)"));
    fx_teardown(&fx);
}

static void test_periodic_journal_keeps_the_next_line(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct faulting_line fl;
    char dir[512];
    fx_setup(&fx, NULL);
    journal_dir(&fx, dir, sizeof(dir));
    start_file(&fx, &fl, 0);
    fx_advance_to(&fx, fx.now + FS_JOB_JOURNAL_PERIOD_S + 0.5);
    assert_int_equal(fs_job_run(fx.job, 1), 1);
    cJSON *j = read_journal(dir);
    assert_string_equal(journal_state(j), "printing");
    assert_int_equal((long)journal_position(j), LINE2_START);
    cJSON_Delete(j);
    fx_teardown(&fx);
}

static int estop_inside(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                        struct fs_error *err)
{
    fs_job_emergency_stop(((struct job_fixture *)arg)->job, "shutdown: MCU lost");
    return 0;
}

static void test_emergency_stop_journals_the_running_line(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_error err = {{0}};
    char dir[512];
    fx_setup(&fx, NULL);
    journal_dir(&fx, dir, sizeof(dir));
    assert_int_equal(fs_gcode_register(fx.printer.gcode, "STOPS_HERE", estop_inside, &fx, "",
                                       &err), 0);
    fx_write_file(&fx, "part.gcode", "G1 X1 E1\nSTOPS_HERE\nG1 X3 E2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 100);
    assert_int_equal(fs_job_state(fx.job), FS_JOB_ERROR);
    assert_int_equal(fx.emergencies, 1);
    cJSON *j = read_journal(dir);
    assert_string_equal(journal_state(j), "interrupted");
    assert_int_equal((long)journal_position(j), LINE2_START);
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "shutdown: MCU lost");
    cJSON_Delete(j);
    char what[256];
    assert_int_equal(fs_job_journal_unfinished(fx.job, what, sizeof(what)), 1);
    assert_string_equal(what, "part.gcode at byte 9 (interrupted: shutdown: MCU lost)");

    /* The journal is usable: JOB_RECOVER gets as far as the machine (this
     * world has no toolhead to home). */
    assert_int_equal(fx_console(&fx, "JOB_RECOVER", err.msg, sizeof(err.msg)), -1);
    if (!strstr(err.msg, "toolhead"))
        fail_msg("JOB_RECOVER: %s", err.msg);
    /* A file edited since is refused: a byte offset into it means nothing. */
    fx_write_file(&fx, "part.gcode", "G1 X1 E1\nSTOPS_HERE\nG1 X3 E2\nG1 X4\n", 0);
    assert_int_equal(fx_console(&fx, "JOB_RECOVER", err.msg, sizeof(err.msg)), -1);
    assert_non_null(strstr(err.msg, "changed since the journal was written"));
    fx_teardown(&fx);
}

static void test_recover_without_journal_says_so(void **state)
{
    (void)state;
    struct job_fixture fx;
    char err[256], dir[512];
    fx_setup(&fx, NULL);
    assert_int_equal(fx_console(&fx, "JOB_RECOVER", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "journal_path is not set"));
    journal_dir(&fx, dir, sizeof(dir));
    assert_int_equal(fx_console(&fx, "JOB_RECOVER", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no journal"));
    assert_non_null(strstr(err, "job.json does not exist"));
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_line_under_a_hold_runs_again_after_resume),
        cmocka_unit_test(test_release_without_pause_makes_the_failure_a_job_error),
        cmocka_unit_test(test_hold_between_lines_waits_and_release_goes_on),
        cmocka_unit_test(test_resume_is_refused_while_the_fault_is_latched),
        cmocka_unit_test(test_fault_pause_suspends_the_idle_timeout),
        cmocka_unit_test(test_fault_pause_idle_timeout_is_announced_and_kept),
        cmocka_unit_test(test_journal_follows_the_job_and_is_replaced_atomically),
        cmocka_unit_test(test_periodic_journal_keeps_the_next_line),
        cmocka_unit_test(test_emergency_stop_journals_the_running_line),
        cmocka_unit_test(test_recover_without_journal_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
