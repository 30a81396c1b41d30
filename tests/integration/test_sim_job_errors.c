/* A job that asks for something the machine cannot do ends in its error
 * state with the file:line and the reason, and the machine stays usable:
 * homed, heaters as they were, and the next command moves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */
#include <stdio.h>       /* fopen */
#include <stdlib.h>      /* mkdtemp */
#include <string.h>      /* strstr */
#include <unistd.h>      /* unlink, rmdir */

#include "core/error.h"      /* struct fs_error */
#include "motion/toolhead.h" /* fs_toolhead_get_status */
#include "printer/printer.h" /* struct fs_printer */
#include "fault/fault.h"      /* fs_faults_record_at */
#include "job/job.h"         /* fs_job_get_status */
#include "sim_printer.h"     /* sim_printer_position */
#include "sim_session.h"     /* sim_session_* */

#define CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Under the default profile (failsoft) a move out of range is a fault of
 * the toolhead whose action is pause: the job stops before the refused
 * move, with the file kept so a person can decide (here: cancel). */
static void test_move_out_of_range_pauses_the_job_and_the_machine_stays_usable(void **state)
{
    (void)state;
    char dir[] = "/tmp/failsoft-job-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/too-far.gcode", dir);
    write_file(path, "G28\n"
                     "G90\n"
                     "G1 X50 Y50 Z5 F6000\n"
                     "G1 X500 Y50 F6000 ; beyond the 220 mm bed\n"
                     "G1 X60 Y60\n");
    struct fs_error err = {{0}};
    struct sim_session *s = sim_session_open(CONFIG, 3, NULL, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(sim_session_print(s, path, NULL, &err), 0);
    cJSON *r = sim_session_report(s);
    assert_string_equal(cJSON_GetObjectItem(r, "state")->valuestring, "paused");
    struct fs_printer *p = sim_session_printer(s);
    const struct fs_fault_record *rec = NULL;
    for (int i = 0; i < fs_faults_record_count(p->faults); i++)
        if (fs_faults_record_at(p->faults, i)->kind == FS_FAULT_MOVE_OUT_OF_RANGE)
            rec = fs_faults_record_at(p->faults, i);
    assert_non_null(rec);
    assert_string_equal(rec->source, "toolhead");
    assert_int_equal(rec->action, FS_FAULT_PAUSE);
    print_message("fault: %s\n", rec->evidence);
    assert_non_null(strstr(rec->evidence, "500"));
    /* It stopped before the refused move: the last line never ran. */
    const cJSON *th = cJSON_GetObjectItem(r, "toolhead_position");
    assert_true(fabs(cJSON_GetArrayItem(th, 0)->valuedouble - 50.0) < 1e-9);
    cJSON_Delete(r);

    /* The person cancels; still homed, still usable: a console move goes
     * where it is told. */
    if (sim_session_run_line(s, "CANCEL_PRINT", &err) < 0)
        fail_msg("%s", err.msg);
    struct fs_job_status js;
    fs_job_get_status(p->job, &js);
    assert_int_equal(js.state, FS_JOB_CANCELLED);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(p->toolhead, &st);
    assert_string_equal(st.homed, "xyz");
    assert_false(p->is_shutdown);
    if (sim_session_run_line(s, "G1 X120 Y30 F6000", &err) < 0 ||
        sim_session_run_line(s, "M400", &err) < 0)
        fail_msg("%s", err.msg);
    double plant[4];
    sim_printer_position(sim_session_plant(s), sim_session_host(s)->world, plant);
    assert_true(fabs(plant[0] - 120.0) <= 1.0 / 80 && fabs(plant[1] - 30.0) <= 1.0 / 80);
    sim_session_close(s);
    unlink(path);
    rmdir(dir);
}

static void test_unknown_command_names_its_line(void **state)
{
    (void)state;
    char dir[] = "/tmp/failsoft-job-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/typo.gcode", dir);
    write_file(path, "G28 X Y\nG1 X10 F3000\nG1 Xabc\n");
    struct fs_error err = {{0}};
    struct sim_session *s = sim_session_open(CONFIG, 4, NULL, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(sim_session_print(s, path, NULL, &err), 0);
    cJSON *r = sim_session_report(s);
    assert_string_equal(cJSON_GetObjectItem(r, "state")->valuestring, "error");
    const char *msg = cJSON_GetObjectItem(r, "message")->valuestring;
    assert_non_null(strstr(msg, "typo.gcode:3"));
    assert_non_null(strstr(msg, "X='abc'"));
    cJSON_Delete(r);
    sim_session_close(s);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_move_out_of_range_pauses_the_job_and_the_machine_stays_usable),
        cmocka_unit_test(test_unknown_command_names_its_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
