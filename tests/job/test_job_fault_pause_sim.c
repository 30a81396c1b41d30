/* A fault pause on the simulated printer (firmware in the loop), on a real
 * slicer file, judged from the plant as a person would: the nozzle lifts
 * and parks at the configured place, the machine stays homed, the other
 * heaters do what pause_heaters says, maintenance moves work, RESUME heats
 * back up and waits, brings the nozzle back above the print before
 * lowering it, and the print ends with the same position and extrusion as
 * the file commands (worked out independently by gcode_expect). CANCEL
 * leaves the machine homed and usable. After an emergency stop and a
 * FIRMWARE_RESTART, the journal of the paused job lets JOB_RECOVER finish
 * the same print.
 *
 * The fault module's two steps are called directly (fs_job_hold, then
 * fs_job_fault_pause): they are what its stop_job_lines and pause actions
 * call, and this tests the job's side of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs, hypot, NAN */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* mkdtemp, system */
#include <string.h>      /* strstr */

#include "config/config.h"     /* fs_config_load */
#include "core/error.h"        /* struct fs_error */
#include "core/reactor.h"      /* fs_timer */
#include "fault/fault.h"       /* fs_faults_run_deferred */
#include "gcode/gcode.h"       /* fs_gcode_set_output */
#include "gcode_expect.h"      /* gcode_expect_file */
#include "job/job.h"           /* fs_job_* */
#include "motion/halt.h"       /* fs_toolhead_halt_now, fs_toolhead_halt_finish */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* struct fs_printer */
#include "sim_host.h"          /* struct sim_host */
#include "sim_printer.h"       /* sim_printer_position */
#include "sim_session.h"       /* sim_session_* */
#include "thermal/heaters.h"   /* fs_heaters_lookup */

#define CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg"
/* The demo printer's virtual_sdcard is scenarios/gcode. */
#define GCODE_NAME "prusaslicer-cube20.gcode"
#define GCODE FS_SOURCE_DIR "/scenarios/gcode/" GCODE_NAME
#define PAUSE_AFTER_S 400.0 /* sim seconds into the print: layers in, heaters at target */
#define PARK_X 200.0
#define PARK_Y 200.0
#define Z_LIFT 10.0
#define Z_STEP (1.0 / 400.0)

struct rig {
    struct sim_session *s;
    char out[16384]; /* G-code responses since the last clear */
    struct fs_timer sampler;
    int sampling;
    double paused[3];  /* where printing stopped */
    double lowest_away_z; /* lowest plant Z seen while away from paused XY */
    double farthest_xy;
};

static void capture(void *arg, const char *text)
{
    struct rig *r = arg;
    size_t n = strlen(r->out);
    snprintf(r->out + n, sizeof(r->out) - n, "%s\n", text);
}

static struct fs_printer *printer(struct rig *r)
{
    return sim_session_printer(r->s);
}

/* A console line, then the fault work it caused, as the program loop
 * would. */
static int run(struct rig *r, const char *line, struct fs_error *err)
{
    if (printer(r)->gcode)
        fs_gcode_set_output(printer(r)->gcode, capture, r);
    int rc = sim_session_run_line(r->s, line, err);
    struct fs_faults *faults = printer(r)->faults;
    while (faults && !printer(r)->is_shutdown && fs_faults_has_work(faults))
        fs_faults_run_deferred(faults);
    return rc;
}

static void must_run(struct rig *r, const char *line)
{
    struct fs_error err = {{0}};
    if (run(r, line, &err) < 0)
        fail_msg("%s: %s", line, err.msg);
}

static void plant(struct rig *r, double pos[4])
{
    sim_printer_position(sim_session_plant(r->s), sim_session_host(r->s)->world, pos);
}

static double now_s(struct rig *r)
{
    return sim_host_now(sim_session_host(r->s));
}

/* Whenever the nozzle is away from where printing stopped, how low it
 * went: it must never come down onto the print anywhere but there. */
static double sample_fn(struct fs_timer *t, double now)
{
    struct rig *r = t->arg;
    double pos[4];
    plant(r, pos);
    double away = hypot(pos[0] - r->paused[0], pos[1] - r->paused[1]);
    if (away > r->farthest_xy)
        r->farthest_xy = away;
    if (away > 0.5 && pos[2] < r->lowest_away_z)
        r->lowest_away_z = pos[2];
    return now + 0.005;
}

static void sampling(struct rig *r, int on)
{
    struct fs_reactor *reactor = &sim_session_host(r->s)->reactor;
    if (on) {
        r->lowest_away_z = INFINITY;
        r->farthest_xy = 0.0;
        fs_reactor_timer_set(reactor, &r->sampler, now_s(r));
    } else {
        fs_reactor_timer_cancel(reactor, &r->sampler);
    }
}

static void rig_open(struct rig *r)
{
    struct fs_error err = {{0}};
    memset(r, 0, sizeof(*r));
    r->s = sim_session_open(CONFIG, 7, NULL, &err);
    if (!r->s)
        fail_msg("%s", err.msg);
    fs_timer_init(&r->sampler, sample_fn, r);
    fs_gcode_set_output(printer(r)->gcode, capture, r);
}

static void rig_close(struct rig *r)
{
    sampling(r, 0);
    sim_session_close(r->s);
}

static void expect_file(struct gcode_expect *e)
{
    const double home[3] = {0, 0, 0}; /* demo_cartesian: every position_endstop is 0 */
    assert_int_equal(gcode_expect_file(GCODE, home, e), 0);
    assert_true(e->moves > 1000);
}

static double heater_target(struct rig *r, const char *name)
{
    struct fs_heater *h = fs_heaters_lookup(printer(r)->heaters, name);
    assert_non_null(h);
    double target;
    fs_heater_get_temp(h, NULL, &target);
    return target;
}

static double heater_temp(struct rig *r, const char *name)
{
    double temp;
    fs_heater_get_temp(fs_heaters_lookup(printer(r)->heaters, name), &temp, NULL);
    return temp;
}

/* The program loop (job.h's runner contract) until `until`, or until the
 * job has nothing left to run when until is 0. */
static void run_until(struct rig *r, double until)
{
    struct fs_reactor *reactor = &sim_session_host(r->s)->reactor;
    while (!printer(r)->is_shutdown) {
        double now = now_s(r);
        if (until > 0 && now >= until)
            break;
        struct fs_faults *faults = printer(r)->faults;
        if (faults && fs_faults_has_work(faults)) {
            fs_faults_run_deferred(faults);
            continue;
        }
        if (fs_job_has_work(printer(r)->job)) {
            fs_job_run(printer(r)->job, 256);
            continue;
        }
        if (until <= 0)
            break;
        fs_reactor_pause(reactor, now + 0.05 < until ? now + 0.05 : until);
    }
}

static void run_for(struct rig *r, double seconds)
{
    run_until(r, now_s(r) + seconds);
}

/* To the end of the file, and its last move. */
static void run_to_end(struct rig *r)
{
    run_until(r, 0);
    fs_toolhead_wait_moves(printer(r)->toolhead);
}

/* Prints until PAUSE_AFTER_S, then does what a fault with action "pause"
 * does: hold at once, the pause from the main loop. */
static void print_then_fault_pause(struct rig *r, const struct fs_job_park *park,
                                   double *e_start)
{
    struct fs_error err = {{0}};
    double pos[4];
    fs_toolhead_get_position(printer(r)->toolhead, pos);
    *e_start = pos[3];
    must_run(r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    run_for(r, PAUSE_AFTER_S);
    struct fs_job *job = printer(r)->job;
    assert_int_equal(fs_job_state(job), FS_JOB_PRINTING);
    fs_job_hold(job);
    fs_toolhead_wait_moves(printer(r)->toolhead);
    fs_toolhead_get_position(printer(r)->toolhead, pos);
    memcpy(r->paused, pos, sizeof(r->paused));
    assert_true(r->paused[2] > 0.5 && r->paused[2] < 20.0); /* a few layers up */
    sampling(r, 1);
    r->out[0] = '\0';
    if (fs_job_fault_pause(job, park, &err) < 0)
        fail_msg("%s", err.msg);
    sampling(r, 0);
    assert_int_equal(fs_job_state(job), FS_JOB_PAUSED);
    assert_true(fs_job_paused_by_fault(job));
}

/* Complete, ending where the file commands with its net extrusion (E
 * extruded before a restart plus since e_from), the plant where the
 * toolhead says within a microstep. */
static void assert_job_matches_the_file(struct rig *r, const struct gcode_expect *expect,
                                        double e_before, double e_from)
{
    struct fs_job_status js;
    fs_job_get_status(printer(r)->job, &js);
    if (js.state != FS_JOB_COMPLETE)
        fail_msg("job %s: %s", fs_job_state_name(js.state), js.message);
    double pos[4], plant_pos[4];
    fs_toolhead_get_position(printer(r)->toolhead, pos);
    for (int i = 0; i < 3; i++)
        if (fabs(pos[i] - expect->toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i, pos[i],
                     expect->toolhead[i]);
    double extruded = e_before + (pos[3] - e_from);
    if (fabs(extruded - expect->net_extrusion) > 0.01)
        fail_msg("extruded %.4f mm, the file commands %.4f mm", extruded,
                 expect->net_extrusion);
    plant(r, plant_pos);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(plant_pos[i] - pos[i]) <= (i == 2 ? Z_STEP : 1.0 / 80) + 1e-9);
}

static struct fs_job_park park_config(enum fs_job_pause_heaters heaters, double timeout_s)
{
    struct fs_job_park park = {
        .x = PARK_X, .y = PARK_Y, .z_lift = Z_LIFT, .speed = 100, .z_speed = 10,
        .heaters = heaters, .standby_temp_c = 150, .heaters_timeout_s = timeout_s,
        .idle_timeout_s = 0,
    };
    return park;
}

static void assert_parked_and_homed(struct rig *r)
{
    double pos[4];
    plant(r, pos);
    assert_true(fabs(pos[0] - PARK_X) <= 1.0 / 80 && fabs(pos[1] - PARK_Y) <= 1.0 / 80);
    assert_true(fabs(pos[2] - (r->paused[2] + Z_LIFT)) <= Z_STEP);
    /* It went up before going across. */
    assert_true(r->farthest_xy > 10.0);
    assert_true(r->lowest_away_z >= r->paused[2] + Z_LIFT - Z_STEP);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(printer(r)->toolhead, &st);
    assert_string_equal(st.homed, "xyz");
    assert_false(printer(r)->is_shutdown);
}

static void test_fault_pause_parks_and_resume_completes_the_print(void **state)
{
    (void)state;
    struct gcode_expect expect;
    expect_file(&expect);
    struct rig r;
    rig_open(&r);
    double e_start;
    struct fs_job_park park = park_config(FS_JOB_PAUSE_HEATERS_STANDBY, 600);
    print_then_fault_pause(&r, &park, &e_start);
    assert_parked_and_homed(&r);
    assert_non_null(strstr(r.out, "!! paused by fault: idle timeout suspended"));

    /* standby: the hotend drops to 150 C, the bed keeps its target. */
    assert_float_equal(heater_target(&r, "extruder"), 150.0, 1e-9);
    double bed = heater_target(&r, "heater_bed");
    assert_true(bed > 40.0);
    run_for(&r, 120.0);
    assert_true(heater_temp(&r, "extruder") < 160.0);
    assert_float_equal(heater_target(&r, "heater_bed"), bed, 1e-9);

    /* Maintenance: home X alone, move to a service position. */
    must_run(&r, "G28 X");
    must_run(&r, "G0 X150 Y180 F6000");
    must_run(&r, "M400");
    double pos[4];
    plant(&r, pos);
    assert_true(fabs(pos[0] - 150.0) <= 1.0 / 80 && fabs(pos[1] - 180.0) <= 1.0 / 80);

    /* RESUME: heat, wait, across at the lifted height, then down. */
    r.out[0] = '\0';
    sampling(&r, 1);
    must_run(&r, "RESUME");
    sampling(&r, 0);
    assert_non_null(strstr(r.out, "// RESUME: heating extruder to "));
    double target = heater_target(&r, "extruder");
    assert_true(target > 180.0);
    assert_true(fabs(heater_temp(&r, "extruder") - target) <= FS_HEATERS_WAIT_TOLERANCE_C);
    assert_true(r.lowest_away_z >= r.paused[2] + Z_LIFT - Z_STEP);
    plant(&r, pos);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(pos[i] - r.paused[i]) <= (i == 2 ? Z_STEP : 1.0 / 80));
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PRINTING);

    run_to_end(&r);
    assert_job_matches_the_file(&r, &expect, 0.0, e_start);
    rig_close(&r);
}

static void test_heaters_off_after_timeout_and_cancel_keeps_the_machine_usable(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    double e_start;
    struct fs_job_park park = park_config(FS_JOB_PAUSE_HEATERS_OFF, 30.0);
    print_then_fault_pause(&r, &park, &e_start);
    assert_parked_and_homed(&r);
    double hotend = heater_target(&r, "extruder"), bed = heater_target(&r, "heater_bed");
    assert_true(hotend > 180.0 && bed > 40.0);
    run_for(&r, 25.0);
    assert_float_equal(heater_target(&r, "extruder"), hotend, 1e-9);
    assert_float_equal(heater_target(&r, "heater_bed"), bed, 1e-9);
    run_for(&r, 10.0);
    assert_float_equal(heater_target(&r, "extruder"), 0.0, 1e-9);
    assert_float_equal(heater_target(&r, "heater_bed"), 0.0, 1e-9);
    assert_non_null(strstr(r.out, "!! paused by fault: heaters off after 30 s"));

    must_run(&r, "CANCEL_PRINT");
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_CANCELLED);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(printer(&r)->toolhead, &st);
    assert_string_equal(st.homed, "xyz");
    must_run(&r, "G90");
    must_run(&r, "G1 X100 Y100 F6000");
    must_run(&r, "M400");
    double pos[4];
    plant(&r, pos);
    assert_true(fabs(pos[0] - 100.0) <= 1.0 / 80 && fabs(pos[1] - 100.0) <= 1.0 / 80);
    rig_close(&r);
}

static cJSON *read_journal(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/job.json", dir);
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

/* stop: what ends the paused job (M112, RESTART); restart: what brings the
 * printer back (FIRMWARE_RESTART, or nothing after RESTART). */
static void recover_after(const char *stop, const char *restart)
{
    struct gcode_expect expect;
    expect_file(&expect);
    char dir[] = "/tmp/failsoft-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct rig r;
    rig_open(&r);
    assert_int_equal(fs_job_set_journal_dir(printer(&r)->job, dir), 0);
    double e_start;
    struct fs_job_park park = park_config(FS_JOB_PAUSE_HEATERS_KEEP, 600);
    print_then_fault_pause(&r, &park, &e_start);
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_first = pos[3] - e_start; /* extruded before the pause */

    struct fs_error err = {{0}};
    if (run(&r, stop, &err) < 0)
        fail_msg("%s: %s", stop, err.msg);
    cJSON *j = read_journal(dir);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "interrupted");
    double head_z = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "head_position"), 2)->valuedouble;
    assert_true(fabs(head_z - (r.paused[2] + Z_LIFT)) < 1e-6);
    cJSON_Delete(j);

    if (restart)
        must_run(&r, restart);
    assert_true(printer(&r)->is_ready);
    assert_false(printer(&r)->is_shutdown);
    assert_int_equal(fs_job_set_journal_dir(printer(&r)->job, dir), 0);
    /* Not homed yet: refused with the way forward. */
    assert_int_equal(run(&r, "JOB_RECOVER", &err), -1);
    assert_non_null(strstr(err.msg, "SET_KINEMATIC_POSITION"));

    /* The person homes X and Y and gives Z where it stopped (homing Z
     * would drive the nozzle into the print). */
    must_run(&r, "G28 X Y");
    char line[64];
    snprintf(line, sizeof(line), "SET_KINEMATIC_POSITION Z=%.6f", head_z);
    must_run(&r, line);
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_restart = pos[3];
    sampling(&r, 1);
    must_run(&r, "JOB_RECOVER");
    sampling(&r, 0);
    assert_true(r.lowest_away_z >= r.paused[2] + Z_LIFT - Z_STEP);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PRINTING);
    assert_true(fabs(heater_temp(&r, "extruder") - heater_target(&r, "extruder")) <=
                FS_HEATERS_WAIT_TOLERANCE_C);

    run_to_end(&r);
    assert_job_matches_the_file(&r, &expect, e_first, e_restart);
    j = read_journal(dir);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "complete");
    cJSON_Delete(j);
    rig_close(&r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The whole path: a fault raised on the extruder (FAULT_TEST goes where a
 * real sensor fault goes) under the failsoft profile disables the hotend and
 * pauses through the fault module; the job parks as [fault_policy] says;
 * RESUME is refused until FAULT_CLEAR; then the print completes. */
static void test_extruder_fault_pauses_and_the_print_completes_after_clear(void **state)
{
    (void)state;
    struct gcode_expect expect;
    expect_file(&expect);
    struct rig r;
    rig_open(&r);
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_start = pos[3];
    must_run(&r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    run_for(&r, PAUSE_AFTER_S);
    double hotend = heater_target(&r, "extruder"), bed = heater_target(&r, "heater_bed");
    must_run(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open");
    struct fs_job *job = printer(&r)->job;
    assert_int_equal(fs_job_state(job), FS_JOB_PAUSED);
    assert_true(fs_job_paused_by_fault(job));
    assert_float_equal(heater_target(&r, "extruder"), 0.0, 1e-9);
    assert_float_equal(heater_target(&r, "heater_bed"), bed, 1e-9);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(printer(&r)->toolhead, &st);
    assert_string_equal(st.homed, "xyz");

    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "RESUME", &err), -1);
    assert_int_equal(fs_job_state(job), FS_JOB_PAUSED);
    must_run(&r, "FAULT_CLEAR SOURCE=extruder");
    r.out[0] = '\0';
    must_run(&r, "RESUME");
    char announce[64];
    snprintf(announce, sizeof(announce), "// RESUME: heating extruder to %.0f C", hotend);
    assert_non_null(strstr(r.out, announce));
    run_to_end(&r);
    assert_job_matches_the_file(&r, &expect, 0.0, e_start);
    rig_close(&r);
}

/* What the fault module's halt does at once (inside fs_fault_raise, here
 * from a timer while a line of the file waits for room in the queue). */
static double halt_fn(struct fs_timer *t, double now)
{
    struct rig *r = t->arg;
    (void)now;
    fs_toolhead_halt_now(printer(r)->toolhead);
    fs_heaters_turn_off_all(printer(r)->heaters);
    return FS_NEVER;
}

/* A halt mid-print drops the queued moves; the job goes back to the line
 * during which the motors stopped, so RESUME skips nothing: the print ends
 * where the file says with at most that one line's extrusion repeated. */
static void test_halt_pause_goes_back_to_the_line_the_motors_stopped_in(void **state)
{
    (void)state;
    struct gcode_expect expect;
    expect_file(&expect);
    struct rig r;
    rig_open(&r);
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_start = pos[3];
    must_run(&r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    double hotend = 0.0;
    run_for(&r, PAUSE_AFTER_S - 1.0);
    hotend = heater_target(&r, "extruder");
    struct fs_timer halt;
    fs_timer_init(&halt, halt_fn, &r);
    fs_reactor_timer_set(&sim_session_host(r.s)->reactor, &halt, now_s(&r) + 1.0);
    run_for(&r, 2.0);
    struct fs_job *job = printer(&r)->job;
    /* Held by the halt, not in error, and no line started since. */
    assert_int_equal(fs_job_state(job), FS_JOB_PRINTING);
    assert_false(fs_job_has_work(job));

    /* The deferred part: motors read back, then the job's halt pause. */
    struct fs_error err = {{0}};
    if (fs_toolhead_halt_finish(printer(&r)->toolhead, 0, &err) < 0)
        fail_msg("%s", err.msg);
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double stopped_e = pos[3];
    struct fs_job_park park = park_config(FS_JOB_PAUSE_HEATERS_KEEP, 600);
    r.out[0] = '\0';
    if (fs_job_halt_pause(job, &park, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(fs_job_paused_by_fault(job));
    assert_non_null(strstr(r.out, "!! halted: the motors stopped in " GCODE_NAME ":"));
    struct fs_toolhead_status st;
    fs_toolhead_get_status(printer(&r)->toolhead, &st);
    assert_string_equal(st.homed, "xyz");

    r.out[0] = '\0';
    must_run(&r, "RESUME");
    char announce[64];
    snprintf(announce, sizeof(announce), "// RESUME: heating extruder to %.0f C", hotend);
    assert_non_null(strstr(r.out, announce));
    run_to_end(&r);
    struct fs_job_status js;
    fs_job_get_status(job, &js);
    if (js.state != FS_JOB_COMPLETE)
        fail_msg("job %s: %s", fs_job_state_name(js.state), js.message);
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    for (int i = 0; i < 3; i++)
        if (fabs(pos[i] - expect.toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i, pos[i],
                     expect.toolhead[i]);
    /* Nothing skipped; what repeats is the done part of one line. */
    double extra = (pos[3] - e_start) - expect.net_extrusion;
    print_message("halted with E at %.4f; %.4f mm extruded twice\n", stopped_e, extra);
    assert_true(extra > -0.01 && extra < 1.0);
    rig_close(&r);
}

/* A fault raised inside a line (a cold extrusion: M104 without waiting)
 * is not a job error: the line is held, paused with a park, and after
 * FAULT_CLEAR and RESUME (which heats the extruder and waits) the same line
 * runs again and the file completes. */
static void test_cold_extrusion_line_runs_again_after_resume(void **state)
{
    (void)state;
    char dir[] = "/tmp/failsoft-cold-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/cold.gcode", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("G28\nG90\nM83\nG1 Z5 F600\nG1 X50 Y50 F6000\nM104 S210\n"
          "G1 X60 E2 F1200\nG1 X70 E2\n", f);
    fclose(f);
    struct rig r;
    rig_open(&r);
    if (!printer(&r)->faults || !fs_faults_lookup(printer(&r)->faults, "toolhead")) {
        rig_close(&r);
        skip(); /* cold extrusion is not raised as a fault in this build */
    }
    struct fs_error err = {{0}};
    struct fs_job *job = printer(&r)->job;
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_start = pos[3];
    if (fs_job_select_path(job, path, &err) < 0 || fs_job_start(job, &err) < 0)
        fail_msg("%s", err.msg);
    run_to_end(&r);
    assert_int_equal(fs_job_state(job), FS_JOB_PAUSED);
    assert_true(fs_job_paused_by_fault(job));
    assert_non_null(strstr(r.out, "cold.gcode:7"));
    assert_non_null(strstr(r.out, "runs again after RESUME"));
    /* Lifted and parked as [fault_policy] says (its defaults here). */
    const struct fs_fault_policy_config *pc = fs_faults_policy(printer(&r)->faults);
    plant(&r, pos);
    assert_true(pc->park_z_lift > 0.0);
    assert_true(fabs(pos[2] - (5.0 + pc->park_z_lift)) <= Z_STEP);
    if (!isnan(pc->park_x))
        assert_true(fabs(pos[0] - pc->park_x) <= 1.0 / 80);
    if (!isnan(pc->park_y))
        assert_true(fabs(pos[1] - pc->park_y) <= 1.0 / 80);
    assert_int_equal(run(&r, "RESUME", &err), -1);
    must_run(&r, "FAULT_CLEAR SOURCE=toolhead");
    r.out[0] = '\0';
    must_run(&r, "RESUME");
    assert_non_null(strstr(r.out, "// RESUME: heating extruder to 210 C"));
    run_to_end(&r);
    assert_int_equal(fs_job_state(job), FS_JOB_COMPLETE);
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    assert_float_equal(pos[0], 70.0, 1e-9);
    assert_float_equal(pos[1], 50.0, 1e-9);
    assert_float_equal(pos[2], 5.0, 1e-9);
    assert_float_equal(pos[3] - e_start, 4.0, 1e-9);
    rig_close(&r);
    remove(path);
    remove(dir);
}

/* The same through the fault module: a fault whose action is halt (a timing
 * overrun, FAULT_TEST as a real one would) stops the motors, the job goes
 * back to the line they stopped in, paused without moving; FAULT_ACK,
 * FAULT_CLEAR, RESUME, and the print completes. */
static void test_halt_fault_pauses_the_job_and_resume_completes(void **state)
{
    (void)state;
    struct gcode_expect expect;
    expect_file(&expect);
    struct rig r;
    rig_open(&r);
    if (!printer(&r)->faults || !fs_faults_lookup(printer(&r)->faults, "toolhead")) {
        rig_close(&r);
        skip(); /* no toolhead fault source in this build */
    }
    double pos[4];
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    double e_start = pos[3];
    must_run(&r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    run_for(&r, PAUSE_AFTER_S);
    r.out[0] = '\0';
    must_run(&r, "FAULT_TEST SOURCE=toolhead KIND=timing_overrun");
    struct fs_job *job = printer(&r)->job;
    assert_int_equal(fs_job_state(job), FS_JOB_PAUSED);
    assert_true(fs_job_paused_by_fault(job));
    assert_non_null(strstr(r.out, "!! halted: the motors stopped in " GCODE_NAME ":"));
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "RESUME", &err), -1);
    must_run(&r, "FAULT_ACK");
    must_run(&r, "FAULT_CLEAR SOURCE=toolhead");
    struct fs_toolhead_status st;
    fs_toolhead_get_status(printer(&r)->toolhead, &st);
    if (strcmp(st.homed, "xyz"))
        must_run(&r, "G28");
    must_run(&r, "RESUME");
    run_to_end(&r);
    struct fs_job_status js;
    fs_job_get_status(job, &js);
    if (js.state != FS_JOB_COMPLETE)
        fail_msg("job %s: %s", fs_job_state_name(js.state), js.message);
    fs_toolhead_get_position(printer(&r)->toolhead, pos);
    for (int i = 0; i < 3; i++)
        if (fabs(pos[i] - expect.toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i, pos[i],
                     expect.toolhead[i]);
    double extra = (pos[3] - e_start) - expect.net_extrusion;
    assert_true(extra > -0.01 && extra < 1.0);
    rig_close(&r);
}

/* An emergency stop: everything off on every MCU, homing lost. */
static void test_journal_of_a_paused_job_finishes_it_after_a_shutdown(void **state)
{
    (void)state;
    recover_after("M112", "FIRMWARE_RESTART");
}

static void test_journal_of_a_paused_job_finishes_it_after_restart(void **state)
{
    (void)state;
    recover_after("RESTART", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_pause_parks_and_resume_completes_the_print),
        cmocka_unit_test(test_heaters_off_after_timeout_and_cancel_keeps_the_machine_usable),
        cmocka_unit_test(test_extruder_fault_pauses_and_the_print_completes_after_clear),
        cmocka_unit_test(test_cold_extrusion_line_runs_again_after_resume),
        cmocka_unit_test(test_halt_pause_goes_back_to_the_line_the_motors_stopped_in),
        cmocka_unit_test(test_halt_fault_pauses_the_job_and_resume_completes),
        cmocka_unit_test(test_journal_of_a_paused_job_finishes_it_after_a_shutdown),
        cmocka_unit_test(test_journal_of_a_paused_job_finishes_it_after_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
