/* Acceptance tests of issue 4 around a hotend thermistor, each on a real
 * slicer print in the simulator with the firmware in the loop:
 *   - it opens mid-print under profile failsoft: only the extruder heater
 *     is off (at the pin, within one sensor report), the print pauses and
 *     parks, the bed stays hot, the machine stays homed, a maintenance move
 *     works without homing; after the repair FAULT_CLEAR and RESUME
 *     complete the print with the same final position and extrusion as the
 *     file commands;
 *   - the same fault under profile strict shuts down, like the common host,
 *     but the job's journal survives: after the repair and a restart the
 *     start reports the unfinished job (power_loss), the journal's head
 *     is where the motors stopped (read back after the shutdown), and
 *     JOB_RECOVER given the journal's Z completes the print;
 *   - a 0.3 s glitch with a 1 s tolerance is a glitch record only;
 *     repeated glitches add up to a fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */
#include <stdio.h>       /* snprintf */
#include <string.h>      /* strstr */
#include <unistd.h>      /* access */

#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* struct fs_fault_record */
#include "fault_rig.h"       /* fault_rig_* */
#include "motion/toolhead.h" /* fs_toolhead_* */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "sim_inject.h"      /* sim_inject_thermistor */
#include "sim_session.h"     /* sim_session_report */
#include "sim_world.h"       /* sim_world_thermistor */
#include "thermal/heaters.h" /* fs_heaters_lookup */

#define GCODE "prusaslicer-cylinder20.gcode"
/* The extruder's thermistor is read every 0.3 s; a reading sums 8
 * conversions 1 ms apart. */
#define REPORT_S 0.3
#define SAMPLE_WINDOW_S 0.008

struct thermistor_switch {
    struct fault_rig *r;
    int plant;
    enum sim_thermistor_fault_kind fault;
};

static void set_thermistor(void *arg)
{
    struct thermistor_switch *ts = arg;
    struct sim_thermistor_fault f = {.kind = ts->fault};
    struct fs_error err;
    if (sim_inject_thermistor(ts->r->w, ts->plant, &f, &err) < 0)
        fail_msg("%s", err.msg);
}

/* The journal's head_position and whether it says every motor was read
 * back after the shutdown. */
static void journal_head(const char *path, double head[4], int *motors_read)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    const cJSON *pos = cJSON_GetObjectItem(j, "head_position");
    assert_true(cJSON_GetArraySize(pos) == 4);
    for (int i = 0; i < 4; i++)
        head[i] = cJSON_GetArrayItem(pos, i)->valuedouble;
    const cJSON *rb = cJSON_GetObjectItem(j, "shutdown_read_back");
    *motors_read = cJSON_IsTrue(cJSON_GetObjectItem(rb, "motors_read"));
    cJSON_Delete(j);
}

static double heater_target(struct fault_rig *r, const char *name)
{
    double temp, target;
    fs_heater_get_temp(fs_heaters_lookup(r->p->heaters, name), &temp, &target);
    return target;
}

static void test_open_thermistor_pauses_parks_and_resumes(void **state)
{
    (void)state;
    char path[512];
    struct gcode_expect expect;
    fault_rig_expect(fault_rig_gcode(GCODE, path, sizeof(path)), &expect);
    struct fault_rig r;
    fault_rig_open(&r, "[fault_policy]\nprofile: failsoft\npark_x: 200\npark_y: 210\n"
                       "park_z_lift: 5\n\n[extruder]\nfault_tolerance: 1.0\n", 1);
    fault_rig_start_print(&r, path);
    fault_rig_run_until_progress(&r, 0.3, 3000);
    double bed_target = heater_target(&r, "heater_bed");
    assert_true(bed_target > 0);

    int hotend = fault_rig_plant_heater(&r, "extruder");
    int bed = fault_rig_plant_heater(&r, "heater_bed");
    struct thermistor_switch open = {&r, hotend, SIM_THERMISTOR_OPEN};
    struct fault_rig_at at;
    struct fault_rig_pin_watch pin;
    double t0 = fault_rig_now(&r) + 0.05;
    fault_rig_at(&r, &at, t0, set_thermistor, &open);
    fault_rig_watch_pin(&r, &pin, hotend, t0);
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 120);
    fault_rig_unwatch_pin(&r, &pin);

    /* Off at the pin within one report of the fault's onset. */
    print_message("extruder pin last on %.4f s after the thermistor opened\n",
                  pin.last_on < 0 ? 0.0 : pin.last_on - t0);
    assert_true(pin.last_on < t0 + REPORT_S + SAMPLE_WINDOW_S);
    const struct fs_fault_record *rec = fault_rig_record(&r, "extruder", "sensor_open");
    assert_non_null(rec);
    assert_true(rec->active);
    assert_int_equal(rec->action, FS_FAULT_PAUSE);
    assert_true(rec->evidence[0]);

    /* Parked, homed, the bed still hot, the hotend off. */
    struct fs_toolhead_status th;
    fs_toolhead_get_status(r.p->toolhead, &th);
    assert_int_equal(th.homed_axes, 7);
    assert_true(fabs(th.position[0] - 200) < 1e-6);
    assert_true(fabs(th.position[1] - 210) < 1e-6);
    double plant[4];
    fault_rig_plant_position(&r, plant);
    assert_true(fabs(plant[0] - 200) < 0.02 && fabs(plant[1] - 210) < 0.02);
    assert_true(heater_target(&r, "extruder") == 0.0);
    assert_true(heater_target(&r, "heater_bed") == bed_target);
    fault_rig_run_for(&r, 30);
    assert_true(fabs(sim_world_heater_temp_c(r.w, bed) - bed_target) < 3.0);
    assert_true(sim_world_heater_drive(r.w, hotend) == 0.0);

    /* A maintenance move to a service position, without homing. */
    fault_rig_line(&r, "G90");
    fault_rig_line(&r, "G1 X100 Y20 F6000");
    fault_rig_line(&r, "M400");
    fault_rig_plant_position(&r, plant);
    assert_true(fabs(plant[0] - 100) < 0.02 && fabs(plant[1] - 20) < 0.02);

    /* Nothing resumes while the sensor is still open. */
    struct fs_error err;
    fault_rig_line_refused(&r, "RESUME", &err);
    print_message("RESUME refused: %s\n", err.msg);
    fault_rig_line_refused(&r, "FAULT_CLEAR SOURCE=extruder", &err);
    print_message("FAULT_CLEAR refused: %s\n", err.msg);

    /* Repaired: clear, resume, and the print completes as the file says. */
    open.fault = SIM_THERMISTOR_HEALTHY;
    set_thermistor(&open);
    fault_rig_run_for(&r, 2);
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=extruder");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    struct fs_error ferr = {{0}};
    assert_int_equal(sim_session_finish_print(r.s, &ferr), 0);
    cJSON *rep = sim_session_report(r.s);
    const cJSON *pos = cJSON_GetObjectItem(rep, "toolhead_position");
    for (int i = 0; i < 3; i++)
        if (fabs(cJSON_GetArrayItem(pos, i)->valuedouble - expect.toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i,
                     cJSON_GetArrayItem(pos, i)->valuedouble, expect.toolhead[i]);
    double extruded = cJSON_GetObjectItem(rep, "extruded_mm")->valuedouble;
    if (fabs(extruded - expect.net_extrusion) > 0.01)
        fail_msg("extruded %.4f mm, the file commands %.4f mm", extruded,
                 expect.net_extrusion);
    cJSON_Delete(rep);

    char evidence[256], action[32];
    assert_true(fault_rig_journal_count(&r, "extruder", "sensor_open", evidence,
                                        sizeof(evidence), action, sizeof(action)) >= 1);
    assert_string_equal(action, "pause");
    print_message("journal: extruder sensor_open: %s\n", evidence);
    /* Its capsule holds the seconds before it: the hotend's readings, the
     * file's commands, the head's positions. */
    int samples, commands, positions;
    assert_int_equal(fault_rig_capsule_history(&r, "extruder", "sensor_open", "extruder",
                                               &samples, &commands, &positions), 0);
    print_message("capsule: %d extruder samples, %d commands, %d positions\n", samples,
                  commands, positions);
    assert_true(samples >= 20 && commands > 0 && positions >= 20);
    fault_rig_close(&r);
}

static void test_open_thermistor_under_strict_shuts_down(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[fault_policy]\nprofile: strict\n", 2);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    int hotend = fault_rig_plant_heater(&r, "extruder");
    struct thermistor_switch open = {&r, hotend, SIM_THERMISTOR_OPEN};
    struct fault_rig_at at;
    fault_rig_at(&r, &at, fault_rig_now(&r) + 0.05, set_thermistor, &open);
    fault_rig_run_for(&r, 10);
    assert_true(r.p->is_shutdown);
    const struct fs_fault_record *rec = fault_rig_record(&r, "extruder", "sensor_open");
    assert_non_null(rec);
    assert_int_equal(rec->action, FS_FAULT_SHUTDOWN);
    assert_int_equal(rec->axes_valid, 0);
    /* Like the common host: every heater off. */
    int bed = fault_rig_plant_heater(&r, "heater_bed");
    fault_rig_run_for(&r, 1);
    assert_true(sim_world_heater_drive(r.w, bed) == 0.0);
    assert_true(sim_world_heater_drive(r.w, hotend) == 0.0);
    /* But the job's state is kept for a resume after the restart. */
    char job[400];
    snprintf(job, sizeof(job), "%s/job.json", r.journal);
    assert_int_equal(access(job, R_OK), 0);
    /* After the shutdown the motors were read back: the journal's head is
     * where the head physically stopped (not the line read last, up to a
     * layer above it), and its line is the one the motors stopped in. */
    double stopped[4], head[4];
    int motors_read;
    fault_rig_plant_position(&r, stopped);
    journal_head(job, head, &motors_read);
    print_message("journal head X %.4f Y %.4f Z %.4f, the head stopped at X %.4f Y %.4f "
                  "Z %.4f\n", head[0], head[1], head[2], stopped[0], stopped[1], stopped[2]);
    assert_true(motors_read);
    /* Within a microstep of Z (8 mm lead, 200 steps, 16 microsteps). */
    if (fabs(head[2] - stopped[2]) > 1.0 / 400.0)
        fail_msg("journal head Z %.4f, the head stopped at Z %.4f", head[2], stopped[2]);

    /* Repaired and restarted: the start reports the unfinished job, and
     * JOB_RECOVER finishes it once X and Y are homed and Z is given as the
     * instructions say: the journal's head Z. */
    open.fault = SIM_THERMISTOR_HEALTHY;
    set_thermistor(&open);
    fault_rig_line(&r, "FIRMWARE_RESTART");
    r.p = sim_session_printer(r.s);
    assert_false(r.p->is_shutdown);
    rec = fault_rig_record(&r, "printer", "power_loss");
    assert_non_null(rec);
    print_message("after the restart: %s\n", rec->evidence);
    char line[96];
    fault_rig_line(&r, "G28 X Y");
    snprintf(line, sizeof(line), "SET_KINEMATIC_POSITION Z=%.4f", head[2]);
    fault_rig_line(&r, line);
    fault_rig_line(&r, "JOB_RECOVER");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    struct fs_error ferr = {{0}};
    assert_int_equal(sim_session_finish_print(r.s, &ferr), 0);
    struct gcode_expect expect;
    fault_rig_expect(path, &expect);
    double plant[4];
    fault_rig_plant_position(&r, plant);
    for (int i = 0; i < 3; i++)
        if (fabs(plant[i] - expect.toolhead[i]) > 0.02)
            fail_msg("axis %d ends at %.4f, the file commands %.4f", i, plant[i],
                     expect.toolhead[i]);
    fault_rig_close(&r);
}

static void test_short_glitch_is_only_recorded(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[extruder]\nfault_tolerance: 1.0\n", 3);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.2, 3000);
    int hotend = fault_rig_plant_heater(&r, "extruder");
    struct thermistor_switch open = {&r, hotend, SIM_THERMISTOR_OPEN};
    struct thermistor_switch ok = {&r, hotend, SIM_THERMISTOR_HEALTHY};
    struct fault_rig_at on, off;
    double t0 = fault_rig_now(&r) + 0.05;
    fault_rig_at(&r, &on, t0, set_thermistor, &open);
    fault_rig_at(&r, &off, t0 + 0.3, set_thermistor, &ok);
    fault_rig_run_for(&r, 10);
    assert_int_equal(fault_rig_record_count(&r, "extruder", "sensor_glitch"), 1);
    /* A glitch is logged, not latched: nothing needs clearing. */
    assert_false(fault_rig_record(&r, "extruder", "sensor_glitch")->active);
    struct fs_error err;
    assert_int_equal(fs_faults_check_resume(r.p->faults, &err), 0);
    assert_int_equal(fault_rig_record_count(&r, "extruder", "sensor_open"), 0);
    struct fs_job_status st;
    fs_job_get_status(r.p->job, &st);
    assert_int_equal(st.state, FS_JOB_PRINTING);
    /* The heater came back: it regulates again. */
    assert_true(heater_target(&r, "extruder") > 0);
    char evidence[256];
    assert_int_equal(fault_rig_journal_count(&r, "extruder", "sensor_glitch", evidence,
                                             sizeof(evidence), NULL, 0), 1);
    print_message("glitch: %s\n", evidence);
    fault_rig_close(&r);
}

static void test_repeated_glitches_add_up_to_a_fault(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[extruder]\nfault_tolerance: 1.0\n", 4);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.2, 3000);
    int hotend = fault_rig_plant_heater(&r, "extruder");
    struct thermistor_switch open = {&r, hotend, SIM_THERMISTOR_OPEN};
    struct thermistor_switch ok = {&r, hotend, SIM_THERMISTOR_HEALTHY};
    enum { GLITCHES = 20 };
    struct fault_rig_at on[GLITCHES], off[GLITCHES];
    double t0 = fault_rig_now(&r) + 0.05;
    for (int i = 0; i < GLITCHES; i++) {
        fault_rig_at(&r, &on[i], t0 + i * 1.0, set_thermistor, &open);
        fault_rig_at(&r, &off[i], t0 + i * 1.0 + 0.3, set_thermistor, &ok);
    }
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 60);
    const struct fs_fault_record *rec = fault_rig_record(&r, "extruder", "sensor_open");
    assert_non_null(rec);
    print_message("sensor_open after %.1f s of 0.3 s glitches every second: %s\n",
                  rec->time - t0, rec->evidence);
    /* Not the first glitch: they had to add up. */
    assert_true(rec->time - t0 > 1.5);
    for (int i = 0; i < GLITCHES; i++) {
        fs_reactor_timer_cancel(&sim_session_host(r.s)->reactor, &on[i].timer);
        fs_reactor_timer_cancel(&sim_session_host(r.s)->reactor, &off[i].timer);
    }
    fault_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_thermistor_pauses_parks_and_resumes),
        cmocka_unit_test(test_open_thermistor_under_strict_shuts_down),
        cmocka_unit_test(test_short_glitch_is_only_recorded),
        cmocka_unit_test(test_repeated_glitches_add_up_to_a_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
