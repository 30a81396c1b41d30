/* A shutdown in the middle of a print on the simulated printer (firmware in
 * the loop), on a real slicer file, judged from the plant: the MCUs drop
 * the moves queued behind the line the job read last, so the journal must
 * not say that line. After the shutdown the motors are read back and the
 * journal names the line they stopped in, with the head where the plant's
 * head is; a person who restarts, homes X and Y, gives the journal's Z and
 * runs JOB_RECOVER gets the whole file printed: it ends where the file
 * says with nothing skipped (at most the done part of one line repeated).
 * M112 in the file itself is not run again by the recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */
#include <stdio.h>       /* snprintf, fopen */
#include <stdlib.h>      /* mkdtemp, system */
#include <string.h>      /* strstr */

#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* fs_faults_run_deferred */
#include "gcode/gcode.h"     /* fs_gcode_set_output */
#include "gcode_expect.h"    /* gcode_expect_file */
#include "job/job.h"         /* fs_job_* */
#include "motion/toolhead.h" /* fs_toolhead_* */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "sim_inject.h"      /* sim_inject_mcu */
#include "sim_printer.h"     /* sim_printer_position */
#include "sim_session.h"     /* sim_session_* */

#define CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg"
#define GCODE_NAME "prusaslicer-cube20.gcode"
#define GCODE FS_SOURCE_DIR "/scenarios/gcode/" GCODE_NAME
#define STOP_AFTER_S 400.0 /* sim seconds into the print: layers in, moving */
#define Z_STEP (1.0 / 400.0) /* demo_cartesian Z: 8 mm a turn, 3200 microsteps */
#define XY_STEP (1.0 / 80.0) /* X and Y: 40 mm a turn, 3200 microsteps */

struct rig {
    struct sim_session *s;
    char dir[64];    /* the journal's folder */
    char out[16384]; /* G-code responses since the last clear */
};

static void capture(void *arg, const char *text)
{
    struct rig *r = arg;
    size_t n = strlen(r->out);
    snprintf(r->out + n, sizeof(r->out) - n, "%s\n", text);
}

static struct fs_printer *printer(struct rig *r) { return sim_session_printer(r->s); }

static double now_s(struct rig *r) { return sim_host_now(sim_session_host(r->s)); }

static void plant(struct rig *r, double pos[4])
{
    sim_printer_position(sim_session_plant(r->s), sim_session_host(r->s)->world, pos);
}

/* A console line and the fault work it caused, as the program loop does
 * (sim_session_run_line drains it, shutdown or not). */
static void must_run(struct rig *r, const char *line)
{
    struct fs_error err = {{0}};
    if (printer(r)->gcode)
        fs_gcode_set_output(printer(r)->gcode, capture, r);
    if (sim_session_run_line(r->s, line, &err) < 0)
        fail_msg("%s: %s", line, err.msg);
}

/* extra: sections added to the demo printer's configuration (NULL: none). */
static void rig_open_with(struct rig *r, const char *extra)
{
    struct fs_error err = {{0}};
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/failsoft-shutdown-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    char config[128];
    snprintf(config, sizeof(config), "%s", CONFIG);
    if (extra) {
        snprintf(config, sizeof(config), "%s/printer.cfg", r->dir);
        FILE *f = fopen(config, "w");
        assert_non_null(f);
        fprintf(f, "[include %s]\n\n%s", CONFIG, extra);
        fclose(f);
    }
    r->s = sim_session_open(config, 11, NULL, &err);
    if (!r->s)
        fail_msg("%s", err.msg);
    fs_gcode_set_output(printer(r)->gcode, capture, r);
    assert_int_equal(fs_job_set_journal_dir(printer(r)->job, r->dir), 0);
}

static void rig_open(struct rig *r) { rig_open_with(r, NULL); }

static void rig_close(struct rig *r)
{
    sim_session_close(r->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
}

/* The program loop until `until` (0: until the job has nothing left to
 * run), stopping at a shutdown; the fault work first, as the loop does. */
static void run_until(struct rig *r, double until)
{
    struct fs_reactor *reactor = &sim_session_host(r->s)->reactor;
    for (;;) {
        struct fs_faults *faults = printer(r)->faults;
        if (faults && fs_faults_has_work(faults)) {
            fs_faults_run_deferred(faults);
            continue;
        }
        if (printer(r)->is_shutdown)
            break;
        double now = now_s(r);
        if (until > 0 && now >= until)
            break;
        if (fs_job_has_work(printer(r)->job)) {
            fs_job_run(printer(r)->job, 256);
            continue;
        }
        if (until <= 0)
            break;
        fs_reactor_pause(reactor, now + 0.05 < until ? now + 0.05 : until);
    }
}

static cJSON *read_journal(struct rig *r)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/job.json", r->dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static double number_at(const cJSON *obj, const char *key, int i)
{
    const cJSON *a = cJSON_GetObjectItem(obj, key);
    assert_true(cJSON_IsArray(a));
    return cJSON_GetArrayItem(a, i)->valuedouble;
}

static double number(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* Restarted, X and Y homed, Z given as the journal says, JOB_RECOVER to
 * the end; returns E extruded since the recovery started. */
static double recover(struct rig *r, double head_z)
{
    must_run(r, "FIRMWARE_RESTART");
    assert_false(printer(r)->is_shutdown);
    assert_int_equal(fs_job_set_journal_dir(printer(r)->job, r->dir), 0);
    must_run(r, "G28 X Y");
    char line[64];
    snprintf(line, sizeof(line), "SET_KINEMATIC_POSITION Z=%.6f", head_z);
    must_run(r, line);
    double pos[4];
    fs_toolhead_get_position(printer(r)->toolhead, pos);
    double e_restart = pos[3];
    must_run(r, "JOB_RECOVER");
    assert_int_equal(fs_job_state(printer(r)->job), FS_JOB_PRINTING);
    run_until(r, 0);
    fs_toolhead_wait_moves(printer(r)->toolhead);
    struct fs_job_status js;
    fs_job_get_status(printer(r)->job, &js);
    if (js.state != FS_JOB_COMPLETE)
        fail_msg("job %s: %s", fs_job_state_name(js.state), js.message);
    fs_toolhead_get_position(printer(r)->toolhead, pos);
    return pos[3] - e_restart;
}

static void test_m112_mid_print_journals_where_the_motors_stopped(void **state)
{
    (void)state;
    struct gcode_expect expect;
    const double home[3] = {0, 0, 0}; /* demo_cartesian: every position_endstop is 0 */
    assert_int_equal(gcode_expect_file(GCODE, home, &expect), 0);
    struct rig r;
    rig_open(&r);
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_start = pos[3];
    must_run(&r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    run_until(&r, now_s(&r) + STOP_AFTER_S);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PRINTING);
    struct fs_job_status js;
    fs_job_get_status(printer(&r)->job, &js);
    long read_pos = js.position;
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double planned_z = pos[2];

    r.out[0] = '\0';
    must_run(&r, "M112");
    assert_true(printer(&r)->is_shutdown);
    double stopped[4];
    plant(&r, stopped);
    cJSON *j = read_journal(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "interrupted");
    double head[4];
    for (int i = 0; i < 4; i++)
        head[i] = number_at(j, "head_position", i);
    const cJSON *f = cJSON_GetObjectItem(j, "file");
    const cJSON *rb = cJSON_GetObjectItem(j, "shutdown_read_back");
    print_message("read up to byte %ld (plan at Z %.4f); journal byte %.0f line %.0f, head "
                  "%.4f %.4f %.4f E %.4f; plant %.4f %.4f %.4f E %.4f\n",
                  read_pos, planned_z, number(f, "position"), number(f, "line"), head[0],
                  head[1], head[2], head[3], stopped[0], stopped[1], stopped[2], stopped[3]);
    /* Every motor was read back, and the head is the plant's. */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rb, "motors_read")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rb, "rewound")));
    for (int i = 0; i < 3; i++)
        if (fabs(head[i] - stopped[i]) > (i == 2 ? Z_STEP : XY_STEP) + 1e-9)
            fail_msg("journal head axis %d %.4f, the plant stopped at %.4f", i, head[i],
                     stopped[i]);
    assert_true(fabs(head[3] - stopped[3]) < FS_JOB_HALT_MATCH_E_MM);
    /* The line the motors stopped in is before the line read last, and
     * the console said so. */
    assert_true(number(f, "position") < (double)read_pos);
    assert_true(number(f, "line") + 1 == number(rb, "stopped_in_line"));
    assert_non_null(strstr(r.out, "shutdown: the motors stopped in " GCODE_NAME ":"));
    /* Its G-code state is the one before that line: its position is where
     * that line's moves start, on the head's path. */
    const cJSON *gs = cJSON_GetObjectItem(j, "gcode_state");
    assert_true(fabs(number_at(gs, "position", 2) - head[2]) <= FS_JOB_HALT_MATCH_MM);
    cJSON_Delete(j);

    double e_after = recover(&r, head[2]);
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    for (int i = 0; i < 3; i++)
        if (fabs(pos[i] - expect.toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i, pos[i],
                     expect.toolhead[i]);
    plant(&r, stopped);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(stopped[i] - pos[i]) <= (i == 2 ? Z_STEP : XY_STEP) + 1e-9);
    /* Nothing skipped; what repeats is the done part of one line. */
    double extra = (head[3] - e_start) + e_after - expect.net_extrusion;
    print_message("%.4f mm extruded twice\n", extra);
    assert_true(extra > -0.01 && extra < 1.0);
    rig_close(&r);
}

/* A file that stops itself: moves, M112, moves. The journal keeps the line
 * after M112 (going back before it would stop the recovery the same way)
 * and still gives the head's real position, short of the moves the
 * shutdown dropped. */
static void test_m112_in_the_file_is_not_run_again(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    char path[128];
    snprintf(path, sizeof(path), "%s/stop.gcode", r.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("G28\nG90\nG1 Z5 F600\nG1 X50 Y50 F6000\nM400\nG1 X150 Y50 F3000\nG1 X150 Y150\n"
          "M112\nG1 X20 Y20 F6000\nG1 X30 Y40\n", f);
    fclose(f);
    struct fs_error err = {{0}};
    assert_int_equal(sim_session_start_print(r.s, path, NULL, &err), 0);
    run_until(&r, now_s(&r) + 120);
    assert_true(printer(&r)->is_shutdown);
    double stopped[4];
    plant(&r, stopped);
    cJSON *j = read_journal(&r);
    const cJSON *rb = cJSON_GetObjectItem(j, "shutdown_read_back");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rb, "motors_read")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rb, "rewound")));
    /* The next line to run is the one after M112 (line 8). */
    assert_int_equal((int)number(cJSON_GetObjectItem(j, "file"), "line"), 8);
    double head[3];
    for (int i = 0; i < 3; i++)
        head[i] = number_at(j, "head_position", i);
    /* Not the plan's end of the moves before M112 (X150 Y150): those were
     * dropped; the head is on their way from X50 Y50. */
    const cJSON *gs = cJSON_GetObjectItem(j, "gcode_state");
    assert_true(fabs(number_at(gs, "position", 0) - 150) < 1e-6);
    assert_true(head[0] >= 50 - XY_STEP && head[0] < 149 && fabs(head[2] - 5) <= Z_STEP);
    print_message("M112 in the file: head %.4f %.4f %.4f, plant %.4f %.4f %.4f\n", head[0],
                  head[1], head[2], stopped[0], stopped[1], stopped[2]);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(head[i] - stopped[i]) <= (i == 2 ? Z_STEP : XY_STEP) + 1e-9);
    cJSON_Delete(j);

    recover(&r, head[2]);
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    assert_true(fabs(pos[0] - 30) < 1e-6 && fabs(pos[1] - 40) < 1e-6);
    assert_true(fabs(pos[2] - 5) < 1e-6);
    rig_close(&r);
}

/* The toolboard (the extruder's stepper) goes silent mid-print and its
 * policy is shutdown: the main board's motors are read back, the
 * toolboard's cannot be, and the journal says so; X Y Z alone find the line
 * the motors stopped in, and the recovery prints to the file's end. */
static void test_silent_board_keeps_the_plan_for_its_steppers(void **state)
{
    (void)state;
    struct gcode_expect expect;
    const double home[3] = {0, 0, 0};
    assert_int_equal(gcode_expect_file(GCODE, home, &expect), 0);
    struct rig r;
    rig_open_with(&r, "[mcu toolboard]\non_fault: shutdown\n");
    struct fs_error err = {{0}};
    assert_int_equal(sim_session_start_print(r.s, GCODE, NULL, &err), 0);
    run_until(&r, now_s(&r) + STOP_AFTER_S);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PRINTING);
    struct sim_mcu_fault cut = {.kind = SIM_MCU_LINK_CUT, .duration_ns = (int64_t)10e9};
    if (sim_inject_mcu(sim_session_host(r.s)->world, "toolboard", &cut, &err) < 0)
        fail_msg("%s", err.msg);
    r.out[0] = '\0';
    run_until(&r, now_s(&r) + 30);
    assert_true(printer(&r)->is_shutdown);
    double stopped[4];
    plant(&r, stopped);
    cJSON *j = read_journal(&r);
    const cJSON *rb = cJSON_GetObjectItem(j, "shutdown_read_back");
    const char *not_read = cJSON_GetObjectItem(rb, "not_read")->valuestring;
    print_message("not read back: %s\nconsole: %s", not_read, r.out);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rb, "motors_read")));
    assert_non_null(strstr(not_read, "toolboard"));
    assert_null(strstr(not_read, "stepper_"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rb, "rewound")));
    assert_non_null(strstr(r.out, "not read back, the plan's position is kept for"));
    double head[3];
    for (int i = 0; i < 3; i++)
        head[i] = number_at(j, "head_position", i);
    for (int i = 0; i < 3; i++)
        if (fabs(head[i] - stopped[i]) > (i == 2 ? Z_STEP : XY_STEP) + 1e-9)
            fail_msg("journal head axis %d %.4f, the plant stopped at %.4f", i, head[i],
                     stopped[i]);
    cJSON_Delete(j);

    /* The link back, then the restart and the recovery. */
    fs_reactor_pause(&sim_session_host(r.s)->reactor, now_s(&r) + 12);
    recover(&r, head[2]);
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    for (int i = 0; i < 3; i++)
        if (fabs(pos[i] - expect.toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i, pos[i],
                     expect.toolhead[i]);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m112_mid_print_journals_where_the_motors_stopped),
        cmocka_unit_test(test_m112_in_the_file_is_not_run_again),
        cmocka_unit_test(test_silent_board_keeps_the_plan_for_its_steppers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
