/* Filament sensors and a fan tachometer on the simulated demo printer
 * (firmware in the loop), judged as a person would: filament that runs out
 * while the printer extrudes is reported as a runout at once and the job
 * pauses; the fault cannot be cleared until filament is back (loading it
 * runs insert_gcode), then RESUME finishes the print; a jam is
 * reported once the extruder has pushed about detection_length of filament
 * that did not move; a whole print with healthy filament and fans raises
 * nothing; a hotend fan that stops turning is reported as stalled.
 *
 * The printer is demo_cartesian.cfg with, on free toolboard pins, a runout
 * switch, a motion sensor and a tachometer on the hotend fan; it prints a
 * small file of zigzag extrusions written for these tests. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include <math.h>   /* fabs, INFINITY */
#include <stdio.h>  /* FILE, fopen, snprintf */
#include <stdlib.h> /* mkdtemp, free */
#include <string.h> /* strstr, strcmp */
#include <unistd.h> /* unlink, rmdir */

#include "core/error.h"                /* struct fs_error */
#include "core/reactor.h"              /* fs_reactor_pause */
#include "fault/fault.h"               /* fs_faults_* */
#include "gcode/gcode.h"               /* fs_gcode_set_output */
#include "gcode/macro.h"               /* struct fs_macro_value */
#include "job/job.h"                   /* fs_job_* */
#include "mcu/mcu.h"                   /* fs_mcu_has_restarted */
#include "motion/toolhead.h"           /* fs_toolhead_* */
#include "plant_fan.h"                 /* struct plant_fan */
#include "printer/printer.h"           /* struct fs_printer */
#include "sensors/filament_sensors.h"  /* (the module under test, through the printer) */
#include "sim_host.h"                  /* struct sim_host, sim_host_now */
#include "sim_inject.h"                /* sim_inject_mcu */
#include "sim_printer.h"               /* sim_printer_axis */
#include "sim_printer_sensors.h"       /* sim_printer_filament_*, sim_printer_fan_stall */
#include "sim_session.h"               /* sim_session_* */
#include "thermal/fan.h"               /* fs_fan_get_rpm */
#include "thermal/heaters.h"           /* fs_heaters_lookup_fan */

#define DEMO_CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg"
#define GCODE_NAME "zigzag.gcode"
#define EVENT_DELAY_S 3.0
#define DETECTION_MM 7.0
#define TOGGLE_MM (DETECTION_MM / 2.5) /* the simulated sensor's toggle spacing */

struct rig {
    char dir[64];
    char config[96], gcode[96];
    struct sim_session *s;
    char out[16384];
};

static void capture(void *arg, const char *text)
{
    struct rig *r = arg;
    size_t n = strlen(r->out);
    snprintf(r->out + n, sizeof(r->out) - n, "%s\n", text);
}

static struct fs_printer *printer(struct rig *r) { return sim_session_printer(r->s); }
static struct sim_world *world(struct rig *r) { return sim_session_host(r->s)->world; }
static double now_s(struct rig *r) { return sim_host_now(sim_session_host(r->s)); }

/* Heat, home, then `segments` zigzag lines of 40 mm, each extruding 1.5 mm
 * at 30 mm/s (about 1.1 mm/s of filament). */
static void write_gcode(const char *path, int segments)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "M104 S210\nG28\nM109 S210\nG90\nM83\nG1 Z0.3 F600\nG1 X20 Y20 F6000\n");
    for (int i = 0; i < segments; i++)
        fprintf(f, "G1 X%d Y%.1f E1.5 F1800\n", i % 2 ? 20 : 60, 20.0 + 0.4 * i);
    fprintf(f, "M104 S0\n");
    fclose(f);
}

/* demo_cartesian.cfg with the sdcard in the rig's folder and the sensors,
 * each with extra options (lines ending in newlines). */
static void write_config(struct rig *r, const char *runout_extra, const char *motion_extra)
{
    FILE *in = fopen(DEMO_CONFIG, "r");
    FILE *out = fopen(r->config, "w");
    assert_non_null(in);
    assert_non_null(out);
    char line[512];
    int in_hotend_fan = 0;
    while (fgets(line, sizeof(line), in)) {
        if (!strncmp(line, "path:", 5)) {
            fprintf(out, "path: %s\n", r->dir);
            continue;
        }
        fputs(line, out);
        if (line[0] == '[')
            in_hotend_fan = !strncmp(line, "[heater_fan hotend_fan]", 23);
        if (in_hotend_fan && !strncmp(line, "pin:", 4))
            fprintf(out, "tachometer_pin: ^toolboard:PA12\n");
    }
    fprintf(out, "\n[filament_switch_sensor runout]\nswitch_pin: ^toolboard:PA10\n"
                 "event_delay: %.1f\n%s"
                 "\n[filament_motion_sensor motion]\nswitch_pin: ^toolboard:PA11\n"
                 "detection_length: %.1f\nextruder: extruder\n%s",
            EVENT_DELAY_S, runout_extra, DETECTION_MM, motion_extra);
    fclose(in);
    fclose(out);
}

static void rig_open_with(struct rig *r, int segments, const char *runout_extra,
                          const char *motion_extra)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/fs_filament_XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->config, sizeof(r->config), "%s/printer.cfg", r->dir);
    snprintf(r->gcode, sizeof(r->gcode), "%s/%s", r->dir, GCODE_NAME);
    write_config(r, runout_extra, motion_extra);
    write_gcode(r->gcode, segments);
    struct fs_error err = {{0}};
    r->s = sim_session_open(r->config, 11, NULL, &err);
    if (!r->s)
        fail_msg("%s", err.msg);
    fs_gcode_set_output(printer(r)->gcode, capture, r);
}

static void rig_open(struct rig *r, int segments) { rig_open_with(r, segments, "", ""); }

static void rig_close(struct rig *r)
{
    sim_session_close(r->s);
    unlink(r->config);
    unlink(r->gcode);
    rmdir(r->dir);
}

static void must_run(struct rig *r, const char *line)
{
    struct fs_error err = {{0}};
    fs_gcode_set_output(printer(r)->gcode, capture, r);
    if (sim_session_run_line(r->s, line, &err) < 0)
        fail_msg("%s: %s", line, err.msg);
}

/* The program loop: fault work first, then file lines, else time runs. */
static void run_until(struct rig *r, double until)
{
    struct fs_reactor *reactor = &sim_session_host(r->s)->reactor;
    while (!printer(r)->is_shutdown && now_s(r) < until) {
        if (fs_printer_has_deferred(printer(r))) {
            fs_printer_run_deferred(printer(r));
            continue;
        }
        if (fs_job_has_work(printer(r)->job)) {
            fs_job_run(printer(r)->job, 64);
            continue;
        }
        double step = now_s(r) + 0.02;
        fs_reactor_pause(reactor, step < until ? step : until);
    }
}

static double extruder_mm(struct rig *r)
{
    int axis = sim_printer_axis(sim_session_plant(r->s), "extruder");
    assert_true(axis >= 0);
    return sim_world_axis_position_mm(world(r), axis);
}

/* Starts the file and runs until the plant's extruder has pushed `mm`. */
static void print_until_extruded(struct rig *r, double mm)
{
    must_run(r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    double start = extruder_mm(r);
    double limit = now_s(r) + 600.0;
    while (extruder_mm(r) - start < mm && now_s(r) < limit)
        run_until(r, now_s(r) + 0.1);
    assert_true(extruder_mm(r) - start >= mm);
    assert_int_equal(fs_job_state(printer(r)->job), FS_JOB_PRINTING);
}

static int fault_count(struct rig *r) { return fs_faults_record_count(printer(r)->faults); }

static const struct fs_fault_record *fault_at(struct rig *r, int i)
{
    return fs_faults_record_at(printer(r)->faults, i);
}

static void test_runout_while_extruding_pauses_and_resumes_once_reloaded(void **state)
{
    (void)state;
    struct rig r;
    rig_open_with(&r, 120, "insert_gcode: RESPOND MSG=\"filament inserted\"\n", "");
    print_until_extruded(&r, 10.0);
    assert_int_equal(fault_count(&r), 0);

    double t_out = now_s(&r);
    assert_int_equal(sim_printer_filament_run_out(world(&r), "extruder", 0.0), 0);
    run_until(&r, t_out + EVENT_DELAY_S);
    /* Reported at once, by the switch, as a runout; the motion sensor saw
     * the filament stop too late to matter. */
    assert_true(fault_count(&r) >= 1);
    const struct fs_fault_record *rec = fault_at(&r, 0);
    assert_string_equal(rec->source, "filament_switch_sensor runout");
    assert_int_equal(rec->kind, FS_FAULT_RUNOUT);
    assert_true(rec->time - t_out < 0.5);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PAUSED);

    must_run(&r, "QUERY_FILAMENT_SENSOR SENSOR=runout");
    assert_non_null(strstr(r.out, "runout: filament not detected"));
    struct fs_error err = {{0}};
    assert_int_equal(sim_session_run_line(r.s, "FAULT_CLEAR SOURCE=\"filament_switch_sensor runout\"",
                                          &err),
                     -1);

    /* Loading filament while paused runs insert_gcode (events closer than
     * event_delay to the runout would be ignored). */
    run_until(&r, now_s(&r) + 0.5);
    r.out[0] = '\0';
    assert_int_equal(sim_printer_filament_reload(world(&r), "extruder"), 0);
    run_until(&r, now_s(&r) + 0.5);
    assert_non_null(strstr(r.out, "filament inserted"));
    r.out[0] = '\0';
    must_run(&r, "QUERY_FILAMENT_SENSOR SENSOR=runout");
    assert_non_null(strstr(r.out, "runout: filament detected"));
    assert_int_equal(fs_filament_sensors_detected(printer(&r)->filament_sensors, "runout"), 1);

    /* Filament back: the fault clears, RESUME finishes the print. */
    must_run(&r, "FAULT_CLEAR SOURCE=\"filament_switch_sensor runout\"");
    must_run(&r, "RESUME");
    double limit = now_s(&r) + 900.0;
    while (fs_job_state(printer(&r)->job) == FS_JOB_PRINTING && now_s(&r) < limit)
        run_until(&r, now_s(&r) + 1.0);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_COMPLETE);
    rig_close(&r);
}

static void test_jam_is_reported_after_detection_length(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 120);
    print_until_extruded(&r, 10.0);
    double e_jam = extruder_mm(&r);
    assert_int_equal(sim_printer_filament_jam(world(&r), "extruder", 1), 0);
    double limit = now_s(&r) + 60.0;
    double e_raised = NAN;
    while (now_s(&r) < limit && isnan(e_raised)) {
        run_until(&r, now_s(&r) + 0.05);
        if (fault_count(&r) > 0)
            e_raised = extruder_mm(&r);
    }
    assert_false(isnan(e_raised));
    const struct fs_fault_record *rec = fault_at(&r, 0);
    assert_string_equal(rec->source, "filament_motion_sensor motion");
    assert_int_equal(rec->kind, FS_FAULT_JAM);
    /* The last toggle came up to one toggle spacing before the jam; the
     * check runs ten times a second at about 1.1 mm/s. */
    double pushed = e_raised - e_jam;
    if (pushed < DETECTION_MM - TOGGLE_MM || pushed > DETECTION_MM + 1.0)
        fail_msg("jam reported after %.2f mm of travel (detection_length %.1f)", pushed,
                 DETECTION_MM);
    /* The pause itself runs from the program loop. */
    run_until(&r, now_s(&r) + 1.0);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PAUSED);
    /* No motion since the jam: clearing it is refused. */
    struct fs_error err = {{0}};
    assert_int_equal(
        sim_session_run_line(r.s, "FAULT_CLEAR SOURCE=\"filament_motion_sensor motion\"", &err),
        -1);
    rig_close(&r);
}

static void test_a_healthy_print_raises_nothing(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 60);
    must_run(&r, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    double limit = now_s(&r) + 900.0;
    while (fs_job_state(printer(&r)->job) == FS_JOB_PRINTING && now_s(&r) < limit)
        run_until(&r, now_s(&r) + 1.0);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_COMPLETE);
    for (int i = 0; i < fault_count(&r); i++)
        fail_msg("unexpected fault: %s %s: %s", fault_at(&r, i)->source,
                 fs_fault_kind_name(fault_at(&r, i)->kind), fault_at(&r, i)->evidence);
    /* The hotend fan ran at full speed and the tachometer saw it. */
    struct fs_fan *fan = fs_heaters_lookup_fan(printer(&r)->heaters, "heater_fan hotend_fan");
    assert_non_null(fan);
    assert_true(fs_fan_get_rpm(fan) > 4500.0 && fs_fan_get_rpm(fan) < 5500.0);
    rig_close(&r);
}

static void test_stalled_hotend_fan_is_reported(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 10);
    must_run(&r, "M104 S150");
    /* The heater fan starts above 50 C and spins up. */
    run_until(&r, now_s(&r) + 60.0);
    struct fs_fan *fan = fs_heaters_lookup_fan(printer(&r)->heaters, "heater_fan hotend_fan");
    assert_non_null(fan);
    assert_true(fs_fan_get_rpm(fan) > 4500.0);
    assert_int_equal(fault_count(&r), 0);

    double t_stall = now_s(&r);
    assert_int_equal(sim_printer_fan_stall(world(&r), "heater_fan hotend_fan", 1), 0);
    run_until(&r, t_stall + 3.0);
    assert_int_equal(fault_count(&r), 1);
    const struct fs_fault_record *rec = fault_at(&r, 0);
    assert_string_equal(rec->source, "heater_fan hotend_fan");
    assert_int_equal(rec->kind, FS_FAULT_FAN_STALLED);
    /* A heater fan's stall lets heat creep jam the hotend: it pauses by
     * default (any other fan's only warns). */
    assert_int_equal(rec->policy, FS_FAULT_PAUSE);
    /* One report per stall, not one per tachometer reading. */
    run_until(&r, now_s(&r) + 5.0);
    assert_int_equal(fault_count(&r), 1);
    rig_close(&r);
}

static void test_without_pause_on_runout_the_macro_runs_and_the_print_goes_on(void **state)
{
    (void)state;
    struct rig r;
    const char *opts = "pause_on_runout: False\n"
                       "runout_gcode: RESPOND MSG=\"runout macro ran\"\n";
    rig_open_with(&r, 120, opts, opts);
    print_until_extruded(&r, 10.0);
    r.out[0] = '\0';
    assert_int_equal(sim_printer_filament_run_out(world(&r), "extruder", 0.0), 0);
    /* Long enough for the motion sensor to notice too. */
    run_until(&r, now_s(&r) + 15.0);
    assert_int_equal(fault_count(&r), 0);
    /* The print went on (this short file may have ended by now). */
    enum fs_job_state st = fs_job_state(printer(&r)->job);
    assert_true(st == FS_JOB_PRINTING || st == FS_JOB_COMPLETE);
    assert_non_null(strstr(r.out, "runout macro ran"));
    assert_non_null(strstr(r.out, "filament_switch_sensor runout: no filament"));
    rig_close(&r);
}

static void test_a_disabled_sensor_raises_nothing(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 120);
    must_run(&r, "SET_FILAMENT_SENSOR SENSOR=runout ENABLE=0");
    must_run(&r, "SET_FILAMENT_SENSOR SENSOR=motion ENABLE=0");
    print_until_extruded(&r, 10.0);
    assert_int_equal(sim_printer_filament_run_out(world(&r), "extruder", 0.0), 0);
    run_until(&r, now_s(&r) + 15.0);
    assert_int_equal(fault_count(&r), 0);
    assert_int_equal(fs_job_state(printer(&r)->job), FS_JOB_PRINTING);
    /* The state stays current for macros while detection is off. */
    struct fs_macro_value v;
    struct fs_error err = {{0}};
    struct fs_filament_sensors *fs = printer(&r)->filament_sensors;
    assert_int_equal(fs_filament_sensors_status(fs, "filament_switch_sensor runout",
                                                "filament_detected", &v, &err),
                     1);
    assert_int_equal(v.kind, FS_MACRO_BOOL);
    assert_int_equal((int)v.number, 0);
    assert_int_equal(fs_filament_sensors_status(fs, "runout", "enabled", &v, &err), 1);
    assert_int_equal((int)v.number, 0);
    assert_int_equal(fs_filament_sensors_status(fs, "extruder", "enabled", &v, &err), 0);
    rig_close(&r);
}

/* The toolboard restarts (its firmware forgets everything) and the filament
 * runs out before it is configured again: after MCU_RECONNECT the switch
 * must read "no filament". The MCU's polling starts from the state the
 * host names in the query and reports only a difference from it. */
static void test_runout_while_the_board_was_down_is_seen_after_reconnect(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 20);
    run_until(&r, now_s(&r) + 1.0);
    assert_int_equal(fs_filament_sensors_detected(printer(&r)->filament_sensors, "runout"), 1);

    struct sim_mcu_fault f = {.kind = SIM_MCU_RESET};
    struct fs_error err = {{0}};
    if (sim_inject_mcu(world(&r), "toolboard", &f, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(sim_printer_filament_run_out(world(&r), "extruder", 0.0), 0);
    run_until(&r, now_s(&r) + 4.0);
    assert_true(fs_mcu_has_restarted(fs_printer_mcu(printer(&r), "toolboard")));
    must_run(&r, "MCU_RECONNECT MCU=toolboard");
    run_until(&r, now_s(&r) + 1.0);
    assert_int_equal(fs_filament_sensors_detected(printer(&r)->filament_sensors, "runout"), 0);
    r.out[0] = '\0';
    must_run(&r, "QUERY_FILAMENT_SENSOR SENSOR=runout");
    assert_non_null(strstr(r.out, "runout: filament not detected"));

    /* And the switch keeps working: filament loaded again is seen. */
    assert_int_equal(sim_printer_filament_reload(world(&r), "extruder"), 0);
    run_until(&r, now_s(&r) + 1.0);
    assert_int_equal(fs_filament_sensors_detected(printer(&r)->filament_sensors, "runout"), 1);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runout_while_extruding_pauses_and_resumes_once_reloaded),
        cmocka_unit_test(test_jam_is_reported_after_detection_length),
        cmocka_unit_test(test_a_healthy_print_raises_nothing),
        cmocka_unit_test(test_stalled_hotend_fan_is_reported),
        cmocka_unit_test(test_without_pause_on_runout_the_macro_runs_and_the_print_goes_on),
        cmocka_unit_test(test_a_disabled_sensor_raises_nothing),
        cmocka_unit_test(test_runout_while_the_board_was_down_is_seen_after_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
