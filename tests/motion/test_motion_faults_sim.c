/* Motion faults reach the fault module, in the simulator with the real
 * firmware: the toolhead is the source "toolhead", and each refusal or
 * failure a user would see (a move out of range, cold extrusion, a homing
 * switch that never closes or stays closed, steps that could no longer
 * reach the MCU in time) is raised with the evidence a person needs:
 * positions and limits, temperatures, the endstop and the travel, how
 * late. A timing overrun halts (its floor) before the MCU would shut down,
 * and the machine moves again after the halt's read-back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strstr, memset */

#include "config/config.h"     /* fs_config_load_string */
#include "core/error.h"        /* struct fs_error */
#include "fault/fault.h"       /* fs_faults_* */
#include "gcode/gcode.h"       /* fs_gcode_* */
#include "mcu/mcu.h"           /* fs_mcu_configure */
#include "motion/gcode_move.h" /* fs_gcode_move_new */
#include "motion/halt.h"       /* fs_toolhead_halt_* */
#include "motion/homing.h"     /* fs_homing_new */
#include "motion/stepper.h"    /* fs_stepsync_free */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* struct fs_printer */
#include "sim_printer.h"       /* sim_printer_build */
#include "thermal/heaters.h"   /* fs_heaters_new */

#define STEP_XY (1.0 / 80.0)

static const char cartesian_cfg[] =
    "[printer]\n"
    "kinematics: cartesian\n"
    "max_velocity: 300\n"
    "max_accel: 3000\n"
    "max_z_velocity: 15\n"
    "max_z_accel: 100\n"
    "[mcu]\n"
    "serial: /dev/null\n"
    "[stepper_x]\n"
    "step_pin: PB0\ndir_pin: PB1\nenable_pin: !PB2\nendstop_pin: ^PB3\n"
    "microsteps: 16\nrotation_distance: 40\n"
    "position_endstop: 0\nposition_max: 120\nhoming_speed: 50\nsecond_homing_speed: 10\n"
    "[stepper_y]\n"
    "step_pin: PB4\ndir_pin: !PB5\nenable_pin: !PB6\nendstop_pin: ^PB7\n"
    "microsteps: 16\nrotation_distance: 40\n"
    "position_endstop: 0\nposition_max: 120\nhoming_speed: 50\nsecond_homing_speed: 10\n"
    "[stepper_z]\n"
    "step_pin: PB8\ndir_pin: PB9\nenable_pin: !PB10\nendstop_pin: ^PB11\n"
    "microsteps: 16\nrotation_distance: 8\n"
    "position_endstop: 0\nposition_max: 50\nhoming_speed: 10\n"
    "homing_retract_dist: 2\nsecond_homing_speed: 2\n"
    "[extruder]\n"
    "step_pin: PC2\ndir_pin: PC3\nenable_pin: !PC4\n"
    "microsteps: 16\nrotation_distance: 33.5\n"
    "nozzle_diameter: 0.4\nfilament_diameter: 1.75\n"
    "max_extrude_only_distance: 100\n";

static const char heated_extruder_cfg[] =
    "heater_pin: PC5\nsensor_type: Generic 3950\nsensor_pin: PC6\n"
    "control: watermark\nmin_temp: 0\nmax_temp: 280\nmin_extrude_temp: 170\n";

struct rig {
    struct sim_host host;
    struct sim_printer sp;
    struct fs_config *cfg;
    struct fs_printer printer;
    int shutdowns;
    int pauses, halts, finished_halts;
    struct fs_error err;
};

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    (void)eventtime;
    struct rig *r = arg;
    if (ev == FS_MCU_EVENT_SHUTDOWN) {
        r->shutdowns++;
        print_message("mcu '%s' shut down: %s\n", fs_mcu_name(m), detail);
    }
}

static void ignore_output(void *arg, const char *text)
{
    (void)arg;
    (void)text;
}

/* The printer's side as the fault module sees it: halts go to the
 * toolhead for real, the rest is counted. */
static void act_halt_motion(void *arg)
{
    struct rig *r = arg;
    r->halts++;
    fs_toolhead_halt_now(r->printer.toolhead);
}

static int act_finish_halt(void *arg, unsigned untrusted_axes, struct fs_error *err)
{
    struct rig *r = arg;
    r->finished_halts++;
    return fs_toolhead_halt_finish(r->printer.toolhead, untrusted_axes, err);
}

static int act_pause(void *arg, struct fs_error *err)
{
    (void)err;
    struct rig *r = arg;
    r->pauses++;
    return 0;
}

static unsigned act_homed_axes(void *arg)
{
    struct rig *r = arg;
    return fs_toolhead_homed_axes(r->printer.toolhead);
}

static void build(struct rig *r, const char *cfg_text, int heaters)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    struct fs_printer *p = &r->printer;
    struct fs_fault_policy_config pc;
    if (sim_host_init(h, 41, NULL, &err) < 0 ||
        fs_config_load_string(cfg_text, "test.cfg", &r->cfg, &err) < 0 ||
        sim_printer_build(h, r->cfg, &r->sp, &err) < 0 || sim_host_connect(h, 5.0, &err) < 0 ||
        fs_fault_policy_read(r->cfg, &pc, &err) < 0 ||
        !(p->faults = fs_faults_new(&h->reactor, NULL, &pc, &err)))
        fail_msg("setup: %s", err.msg);
    struct fs_fault_actions a = {
        .arg = r,
        .halt_motion = act_halt_motion,
        .pause = act_pause,
        .finish_halt = act_finish_halt,
        .homed_axes = act_homed_axes,
    };
    fs_faults_set_actions(p->faults, &a);
    p->reactor = &h->reactor;
    p->config = r->cfg;
    p->gcode = fs_gcode_new(&err);
    assert_non_null(p->gcode);
    fs_gcode_set_output(p->gcode, ignore_output, NULL);
    for (int i = 0; i < h->mcu_count; i++) {
        p->mcus[p->mcu_count++] = h->mcus[i];
        fs_mcu_set_event_handler(h->mcus[i], on_event, r);
    }
    if (heaters && !(p->heaters = fs_heaters_new(p, &err)))
        fail_msg("heaters: %s", err.msg);
    if (!(p->toolhead = fs_toolhead_new(p, &err)) ||
        !(p->homing = fs_homing_new(p->toolhead, &err)) ||
        !(p->gcode_move = fs_gcode_move_new(p->toolhead, p->gcode, &err)))
        fail_msg("motion: %s", err.msg);
    for (int i = 0; i < p->mcu_count; i++)
        if (fs_mcu_configure(p->mcus[i], 5.0, &err) < 0)
            fail_msg("configure: %s", err.msg);
}

static void destroy(struct rig *r)
{
    struct fs_printer *p = &r->printer;
    fs_gcode_move_free(p->gcode_move);
    fs_homing_free(p->homing);
    fs_toolhead_free(p->toolhead);
    if (p->heaters)
        fs_heaters_free(p->heaters);
    for (int i = 0; i < p->mcu_count; i++)
        fs_stepsync_free(p->stepsyncs[i]);
    fs_gcode_free(p->gcode);
    fs_faults_free(p->faults);
    sim_host_free(&r->host);
    fs_config_free(r->cfg);
}

static int run(struct rig *r, const char *line)
{
    fs_error_clear(&r->err);
    return fs_gcode_run_line(r->printer.gcode, line, "test", &r->err);
}

static void ok(struct rig *r, const char *line)
{
    if (run(r, line) < 0)
        fail_msg("%s: %s", line, r->err.msg);
}

/* The newest record, checked to be the toolhead's fault of this kind. */
static const struct fs_fault_record *last_record(struct rig *r, enum fs_fault_kind kind)
{
    int n = fs_faults_record_count(r->printer.faults);
    assert_true(n > 0);
    const struct fs_fault_record *rec = fs_faults_record_at(r->printer.faults, n - 1);
    assert_string_equal(rec->source, "toolhead");
    assert_string_equal(fs_fault_kind_name(rec->kind), fs_fault_kind_name(kind));
    return rec;
}

static void assert_evidence(const struct fs_fault_record *rec, const char *part)
{
    if (!strstr(rec->evidence, part))
        fail_msg("evidence '%s' does not say '%s'", rec->evidence, part);
}

static void test_toolhead_is_a_motion_fault_source_configured_in_printer(void **state)
{
    (void)state;
    static struct rig r;
    static char cfg[sizeof(cartesian_cfg) + 64];
    /* The [printer] section holds the toolhead's policy options. */
    snprintf(cfg, sizeof(cfg), "%s", cartesian_cfg);
    char *at = strstr(cfg, "max_z_accel: 100\n");
    assert_non_null(at);
    snprintf(at, sizeof(cfg) - (size_t)(at - cfg), "max_z_accel: 100\non_move_out_of_range: warn\n%s",
             strstr(cartesian_cfg, "[mcu]"));
    build(&r, cfg, 0);
    struct fs_fault_source *src = fs_faults_lookup(r.printer.faults, "toolhead");
    assert_non_null(src);
    assert_ptr_equal(src, fs_toolhead_fault_source(r.printer.toolhead));
    assert_int_equal(fs_fault_source_class(src), FS_FAULT_CLASS_MOTION);
    assert_int_equal(fs_fault_source_action(src, FS_FAULT_MOVE_OUT_OF_RANGE), FS_FAULT_WARN);
    assert_int_equal(fs_fault_source_action(src, FS_FAULT_TIMING_OVERRUN), FS_FAULT_HALT);
    destroy(&r);
}

static void test_move_out_of_range_raises_with_the_position_and_the_limits(void **state)
{
    (void)state;
    static struct rig r;
    build(&r, cartesian_cfg, 0);
    ok(&r, "G28 X Y");
    ok(&r, "G1 X20 Y20 F6000");
    /* Unhomed is a refusal of its own, not a range fault. */
    assert_int_equal(run(&r, "G1 Z5"), -1);
    assert_non_null(strstr(r.err.msg, "Must home axis first"));
    assert_int_equal(fs_faults_record_count(r.printer.faults), 0);
    /* The G-code error stays as it was; the fault comes in addition. */
    assert_int_equal(run(&r, "G1 X250 Y10"), -1);
    assert_non_null(strstr(r.err.msg, "Move out of range: 250.000 10.000 0.000 [0.000]"));
    const struct fs_fault_record *rec = last_record(&r, FS_FAULT_MOVE_OUT_OF_RANGE);
    assert_evidence(rec, "X=250.000 outside [0.000, 120.000]");
    assert_evidence(rec, "from 20.000 20.000 0.000 to 250.000 10.000 0.000");
    assert_int_equal(r.shutdowns, 0);
    destroy(&r);
}

static void test_cold_extrusion_raises_with_the_temperature_and_the_minimum(void **state)
{
    (void)state;
    static struct rig r;
    static char cfg[sizeof(cartesian_cfg) + sizeof(heated_extruder_cfg)];
    snprintf(cfg, sizeof(cfg), "%s%s", cartesian_cfg, heated_extruder_cfg);
    build(&r, cfg, 1);
    sim_host_run_for(&r.host, 2.0); /* a few readings at room temperature */
    ok(&r, "G28 X Y");
    ok(&r, "M104 S150");
    assert_int_equal(run(&r, "G1 X10 E1 F3000"), -1);
    assert_non_null(strstr(r.err.msg, "Extrude below minimum temp"));
    const struct fs_fault_record *rec = last_record(&r, FS_FAULT_COLD_EXTRUDE);
    assert_evidence(rec, "min_extrude_temp 170.0 C");
    assert_evidence(rec, "(target 150.0 C)");
    double temp;
    assert_int_equal(sscanf(strstr(rec->evidence, "extruder at "), "extruder at %lf", &temp), 1);
    assert_true(temp > 15.0 && temp < 40.0);
    assert_int_equal(r.shutdowns, 0);
    destroy(&r);
}

static void test_homing_failures_raise_with_the_endstop_and_the_travel(void **state)
{
    (void)state;
    static struct rig r;
    build(&r, cartesian_cfg, 0);
    sim_world_switch_set_stuck_open(r.host.world, r.sp.switch_ids[0], 1);
    assert_int_equal(run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "No trigger on x after full movement"));
    const struct fs_fault_record *rec = last_record(&r, FS_FAULT_HOMING_FAILED);
    /* 1.5 times the 120 mm rail, at homing_speed. */
    assert_evidence(rec, "homing x: endstop PB3 on mcu 'mcu' did not trigger within 180.0 mm "
                         "at 50.0 mm/s");
    /* Ran past the switch with no frame to stop it: pressed from the
     * start once repaired, and still pressed after the retract. */
    sim_world_switch_set_stuck_open(r.host.world, r.sp.switch_ids[0], 0);
    /* Cleared first: a latched fault folds a repeat of its kind into itself. */
    struct fs_error err = {{0}};
    if (fs_faults_clear(r.printer.faults, NULL, &err) < 0)
        fail_msg("clear: %s", err.msg);
    int before = fs_faults_record_count(r.printer.faults);
    assert_int_equal(run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "Endstop x still triggered after retract"));
    assert_int_equal(fs_faults_record_count(r.printer.faults), before + 1);
    rec = last_record(&r, FS_FAULT_HOMING_FAILED);
    assert_evidence(rec, "homing x: endstop PB3 on mcu 'mcu' still pressed after a 5.0 mm retract");
    assert_int_equal(r.shutdowns, 0);
    destroy(&r);
}

/* The host stops running for 0.8 s in the middle of a long move (a
 * stalled process): the steps it then wants to send are late. They are
 * refused, the overrun is raised with how late, and its floor (halt)
 * stops the motors and re-syncs, where the MCU would otherwise shut down
 * on "Timer too close". */
static void test_timing_overrun_raises_and_halts_before_the_mcu_shuts_down(void **state)
{
    (void)state;
    static struct rig r;
    build(&r, cartesian_cfg, 0);
    struct fs_toolhead *th = r.printer.toolhead;
    ok(&r, "G28 X Y");
    ok(&r, "G1 X110 F1200"); /* 5.5 s */
    sim_host_run_for(&r.host, 1.0);
    struct fs_error err = {{0}};
    sim_world_attach_reactor(r.host.world, NULL);
    int64_t stall_end = sim_world_now_ns(r.host.world) + 800000000;
    assert_int_equal(sim_world_run_until(r.host.world, stall_end, &err), 0);
    sim_world_attach_reactor(r.host.world, &r.host.reactor);
    sim_host_run_for(&r.host, 0.5);
    assert_int_equal(fs_faults_record_count(r.printer.faults), 1);
    const struct fs_fault_record *rec = last_record(&r, FS_FAULT_TIMING_OVERRUN);
    print_message("timing overrun: %s\n", rec->evidence);
    assert_evidence(rec, "step scheduled in the past (timing overrun)");
    assert_evidence(rec, "ms from mcu 'mcu''s clock now");
    assert_int_equal(rec->action, FS_FAULT_HALT);
    assert_int_equal(r.halts, 1);
    assert_true(fs_toolhead_is_halted(th));
    /* The main loop's part: read-back, homing kept. */
    fs_faults_run_deferred(r.printer.faults);
    assert_int_equal(r.finished_halts, 1);
    assert_false(fs_toolhead_is_halted(th));
    assert_int_equal(fs_toolhead_homed_axes(th) & 0x3, 0x3);
    double engine[4], plant[4];
    fs_toolhead_get_position(th, engine);
    sim_printer_position(&r.sp, r.host.world, plant);
    if (fabs(engine[0] - plant[0]) > STEP_XY / 2 + 1e-9)
        fail_msg("engine X %.4f, plant X %.4f", engine[0], plant[0]);
    assert_true(plant[0] > 1.0 && plant[0] < 109.0);
    ok(&r, "G1 X40 Y5 F6000");
    ok(&r, "M400");
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_true(fabs(plant[0] - 40.0) <= STEP_XY / 2 + 1e-9);
    assert_true(fabs(plant[1] - 5.0) <= STEP_XY / 2 + 1e-9);
    assert_int_equal(r.shutdowns, 0);
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "mcu"));
    destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toolhead_is_a_motion_fault_source_configured_in_printer),
        cmocka_unit_test(test_move_out_of_range_raises_with_the_position_and_the_limits),
        cmocka_unit_test(test_cold_extrusion_raises_with_the_temperature_and_the_minimum),
        cmocka_unit_test(test_homing_failures_raise_with_the_endstop_and_the_travel),
        cmocka_unit_test(test_timing_overrun_raises_and_halts_before_the_mcu_shuts_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
