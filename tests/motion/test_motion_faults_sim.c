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
#include <string.h> /* strstr */

#include "motion_rig.h"

#include "core/error.h"        /* struct fs_error */
#include "fault/fault.h"       /* fs_faults_* */
#include "motion/halt.h"       /* fs_toolhead_halt_* */
#include "motion/toolhead.h"   /* fs_toolhead_* */

#define STEP_XY (1.0 / 80.0)

static const char cartesian_cfg[] = MOTION_RIG_CARTESIAN_CFG;

static const char heated_extruder_cfg[] = MOTION_RIG_HEATED_EXTRUDER_CFG;

static void build(struct motion_rig *r, const char *cfg_text, int heaters)
{
    struct motion_rig_options o = {
        .cfg_text = cfg_text,
        .seed = 41,
        .heaters = heaters,
        .faults = 1,
    };
    motion_rig_build(r, &o);
}


/* The newest record, checked to be the toolhead's fault of this kind. */
static const struct fs_fault_record *last_record(struct motion_rig *r, enum fs_fault_kind kind)
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
    static struct motion_rig r;
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
    motion_rig_destroy(&r);
}

static void test_move_out_of_range_raises_with_the_position_and_the_limits(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 0);
    motion_rig_ok(&r, "G28 X Y");
    motion_rig_ok(&r, "G1 X20 Y20 F6000");
    /* Unhomed is a refusal of its own, not a range fault. */
    assert_int_equal(motion_rig_run(&r, "G1 Z5"), -1);
    assert_non_null(strstr(r.err.msg, "Must home axis first"));
    assert_int_equal(fs_faults_record_count(r.printer.faults), 0);
    /* The G-code error stays as it was; the fault comes in addition. */
    assert_int_equal(motion_rig_run(&r, "G1 X250 Y10"), -1);
    assert_non_null(strstr(r.err.msg, "Move out of range: 250.000 10.000 0.000 [0.000]"));
    const struct fs_fault_record *rec = last_record(&r, FS_FAULT_MOVE_OUT_OF_RANGE);
    assert_evidence(rec, "X=250.000 outside [0.000, 120.000]");
    assert_evidence(rec, "from 20.000 20.000 0.000 to 250.000 10.000 0.000");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_cold_extrusion_raises_with_the_temperature_and_the_minimum(void **state)
{
    (void)state;
    static struct motion_rig r;
    static char cfg[sizeof(cartesian_cfg) + sizeof(heated_extruder_cfg)];
    snprintf(cfg, sizeof(cfg), "%s%s", cartesian_cfg, heated_extruder_cfg);
    build(&r, cfg, 1);
    sim_host_run_for(&r.host, 2.0); /* a few readings at room temperature */
    motion_rig_ok(&r, "G28 X Y");
    motion_rig_ok(&r, "M104 S150");
    assert_int_equal(motion_rig_run(&r, "G1 X10 E1 F3000"), -1);
    assert_non_null(strstr(r.err.msg, "Extrude below minimum temp"));
    const struct fs_fault_record *rec = last_record(&r, FS_FAULT_COLD_EXTRUDE);
    assert_evidence(rec, "min_extrude_temp 170.0 C");
    assert_evidence(rec, "(target 150.0 C)");
    double temp;
    assert_int_equal(sscanf(strstr(rec->evidence, "extruder at "), "extruder at %lf", &temp), 1);
    assert_true(temp > 15.0 && temp < 40.0);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_homing_failures_raise_with_the_endstop_and_the_travel(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 0);
    sim_world_switch_set_stuck_open(r.host.world, r.sp.switch_ids[0], 1);
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
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
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "Endstop x still triggered after retract"));
    assert_int_equal(fs_faults_record_count(r.printer.faults), before + 1);
    rec = last_record(&r, FS_FAULT_HOMING_FAILED);
    assert_evidence(rec, "homing x: endstop PB3 on mcu 'mcu' still pressed after a 5.0 mm retract");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* The host stops running for 0.8 s in the middle of a long move (a
 * stalled process): the steps it then wants to send are late. They are
 * refused, the overrun is raised with how late, and its floor (halt)
 * stops the motors and re-syncs, where the MCU would otherwise shut down
 * on "Timer too close". */
static void test_timing_overrun_raises_and_halts_before_the_mcu_shuts_down(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 0);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "G28 X Y");
    motion_rig_ok(&r, "G1 X110 F1200"); /* 5.5 s */
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
    motion_rig_ok(&r, "G1 X40 Y5 F6000");
    motion_rig_ok(&r, "M400");
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_true(fabs(plant[0] - 40.0) <= STEP_XY / 2 + 1e-9);
    assert_true(fabs(plant[1] - 5.0) <= STEP_XY / 2 + 1e-9);
    assert_int_equal(r.shutdowns, 0);
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "mcu"));
    motion_rig_destroy(&r);
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
