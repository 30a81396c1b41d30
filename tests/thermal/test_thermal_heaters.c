/* Heaters, fans and their G-code against the real firmware in the
 * simulator: what a person tuning a printer checks — the hotend and bed
 * hold their targets, M109 returns once the target is reached, a long hold
 * never trips the MCU's dead-man window, a heater that stops heating is
 * caught, M106 reaches the fan pin, and PID_CALIBRATE gives usable gains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* snprintf, sscanf */
#include <string.h> /* strstr */

#include "core/error.h"            /* struct fs_error */
#include "mcu/mcu.h"               /* fs_mcu_state */
#include "thermal/pid_calibrate.h" /* fs_pid_calibrate */
#include "thermal_rig.h"           /* struct thermal_rig */

static struct thermal_rig rig;

static void build(uint64_t seed)
{
    struct rig_options o;
    rig_options_default(&o);
    rig_build(&rig, seed, &o);
}

static void test_pid_holds_hotend_within_1c_after_settling(void **state)
{
    (void)state;
    build(1);
    rig_set_target(&rig, rig.extruder, 210.0);
    rig_run(&rig, 240.0);
    double worst = rig_hold_error(&rig, rig.extruder, rig.hotend_id, 210.0, 120.0);
    if (worst > 1.0)
        fail_msg("hotend strayed %.2f C from 210 C", worst);
    assert_int_equal(rig.fault_count, 0);
    assert_int_equal(rig.mcu_shutdowns, 0);
    rig_free(&rig);
}

/* A toolboard's crystal runs 110 ppm slow; its readings and heater commands
 * are dated on its own clock through the print-time mapping. */
static void test_hotend_on_a_toolboard_holds_and_never_trips_its_window(void **state)
{
    (void)state;
    struct rig_options o;
    rig_options_default(&o);
    o.hotend_on_toolboard = 1;
    rig_build(&rig, 16, &o);
    rig_set_target(&rig, rig.extruder, 240.0);
    rig_set_target(&rig, rig.bed, 60.0);
    rig_run(&rig, 600.0);
    double worst = rig_hold_error(&rig, rig.extruder, rig.hotend_id, 240.0, 300.0);
    if (worst > 1.0)
        fail_msg("toolboard hotend strayed %.2f C from 240 C", worst);
    assert_true(fabs(rig_reading_c(rig.bed) - 60.0) < 1.0);
    assert_int_equal(rig.mcu_shutdowns, 0);
    assert_int_equal(rig.fault_count, 0);
    rig_free(&rig);
}

static void test_pid_holds_bed_within_1c_after_settling(void **state)
{
    (void)state;
    build(2);
    rig_set_target(&rig, rig.bed, 60.0);
    rig_run(&rig, 600.0);
    double worst = rig_hold_error(&rig, rig.bed, rig.bed_id, 60.0, 120.0);
    if (worst > 1.0)
        fail_msg("bed strayed %.2f C from 60 C", worst);
    assert_int_equal(rig.fault_count, 0);
    rig_free(&rig);
}

static void test_m109_returns_once_the_target_is_reached(void **state)
{
    (void)state;
    build(3);
    struct fs_error err;
    double start = sim_host_now(&rig.host);
    if (rig_gcode(&rig, "M109 S200", &err) < 0)
        fail_msg("M109: %s", err.msg);
    double waited = sim_host_now(&rig.host) - start;
    /* From 20 C the hotend needs about a minute; M109 did not return early. */
    assert_true(waited > 30.0);
    assert_true(fabs(rig_reading_c(rig.extruder) - 200.0) <= 1.0);
    assert_true(fabs(rig_plant_c(&rig, rig.hotend_id) - 200.0) < 2.0);
    /* It reported temperatures while waiting. */
    assert_true(rig.response_count >= 10);
    assert_non_null(strstr(rig.responses[0], "T:"));
    /* M190 likewise for the bed. */
    if (rig_gcode(&rig, "M190 S50", &err) < 0)
        fail_msg("M190: %s", err.msg);
    assert_true(fabs(rig_reading_c(rig.bed) - 50.0) <= 1.0);
    rig_free(&rig);
}

static void test_m105_reports_temperatures_and_targets(void **state)
{
    (void)state;
    build(4);
    struct fs_error err;
    assert_int_equal(rig_gcode(&rig, "M104 S210", &err), 0);
    assert_int_equal(rig_gcode(&rig, "M140 S60", &err), 0);
    rig.response_count = 0;
    assert_int_equal(rig_gcode(&rig, "M105", &err), 0);
    assert_int_equal(rig.response_count, 1);
    double t, tt, b, bt;
    assert_int_equal(sscanf(rig.responses[0], "ok T:%lf /%lf B:%lf /%lf", &t, &tt, &b, &bt), 4);
    assert_true(fabs(t - 20.0) < 1.5);
    assert_true(tt == 210.0 && bt == 60.0);
    assert_true(fabs(b - 20.0) < 1.5);
    /* The other ways to set a target. */
    assert_int_equal(rig_gcode(&rig, "SET_HEATER_TEMPERATURE HEATER=heater_bed TARGET=0", &err),
                     0);
    double target;
    fs_heater_get_temp(rig.bed, NULL, &target);
    assert_true(target == 0.0);
    assert_int_equal(rig_gcode(&rig, "M104 S400", &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(rig_gcode(&rig, "SET_HEATER_TEMPERATURE HEATER=nozzle TARGET=1", &err), -1);
    assert_non_null(strstr(err.msg, "nozzle"));
    rig_free(&rig);
}

static void test_temperature_wait_waits_for_the_sensor_to_cool(void **state)
{
    (void)state;
    build(5);
    struct fs_error err;
    assert_int_equal(rig_gcode(&rig, "M109 S150", &err), 0);
    assert_int_equal(rig_gcode(&rig, "M104 S0", &err), 0);
    if (rig_gcode(&rig, "TEMPERATURE_WAIT SENSOR=extruder MAXIMUM=100", &err) < 0)
        fail_msg("TEMPERATURE_WAIT: %s", err.msg);
    double t = rig_reading_c(rig.extruder);
    assert_true(t <= 100.0 && t > 95.0);
    rig_free(&rig);
}

/* The MCU shuts the heater down when not refreshed within max_duration
 * (5 s); ten minutes at temperature must not come near it. */
static void test_ten_minute_hold_never_lets_the_firmware_shut_down(void **state)
{
    (void)state;
    build(6);
    rig_set_target(&rig, rig.extruder, 230.0);
    rig_run(&rig, 200.0);
    double worst = rig_hold_error(&rig, rig.extruder, rig.hotend_id, 230.0, 600.0);
    assert_true(worst < 1.0);
    assert_int_equal(rig.mcu_shutdowns, 0);
    assert_false(sim_world_mcu_is_shutdown(rig.host.world, "mcu"));
    assert_false(fs_mcu_state(rig.mcu)->is_shutdown);

    /* The window is real: once the host stops talking, the firmware turns
     * the heater off by itself within max_duration. */
    sim_world_wire_set_cut(rig.host.world, "mcu", SIM_WIRE_TO_MCU, 1);
    rig_run(&rig, FS_HEATER_MAX_DURATION_S + 1.0);
    assert_true(sim_world_mcu_is_shutdown(rig.host.world, "mcu"));
    assert_true(sim_world_heater_drive(rig.host.world, rig.hotend_id) == 0.0);
    rig_free(&rig);
}

static void test_verify_heater_catches_a_disconnected_heater_while_heating(void **state)
{
    (void)state;
    build(7);
    rig_set_target(&rig, rig.extruder, 210.0);
    rig_run(&rig, 10.0);
    sim_world_heater(rig.host.world, rig.hotend_id)->disconnected = 1;
    rig_run(&rig, 40.0);
    assert_int_equal(rig.fault_count, 1);
    assert_string_equal(rig.faults[0].heater, "extruder");
    assert_int_equal(rig.faults[0].kind, FS_FAULT_NOT_HEATING);
    assert_non_null(strstr(rig.faults[0].reason, "Heater extruder not heating at expected rate"));
    /* check_gain_time is 20 s for an extruder. */
    assert_true(rig.faults[0].time - 10.0 <= 20.0 + 2.0);
    /* The heater is off and stays off until the fault is cleared. */
    rig_run(&rig, 1.0);
    assert_true(sim_world_heater_drive(rig.host.world, rig.hotend_id) == 0.0);
    assert_true(fs_heater_get_power(rig.extruder) == 0.0);
    struct fs_error err;
    assert_int_equal(fs_heater_set_target(rig.extruder, 210.0, &err), -1);
    assert_non_null(strstr(err.msg, "fault"));
    /* The bed and the MCU carry on. */
    assert_int_equal(rig.mcu_shutdowns, 0);
    rig_set_target(&rig, rig.bed, 40.0);
    rig_run(&rig, 30.0);
    assert_true(rig_reading_c(rig.bed) > 25.0);
    rig_free(&rig);
}

/* A slicer that nudges the target every few seconds (a temperature tower,
 * per-feature temperatures) must not keep a dead heater's approach check
 * from ever expiring: a new target while approaching keeps the running
 * check, as verify_heater does. */
static void test_target_changes_while_approaching_do_not_hide_a_dead_heater(void **state)
{
    (void)state;
    build(17);
    rig_set_target(&rig, rig.extruder, 210.0);
    rig_run(&rig, 10.0);
    sim_world_heater(rig.host.world, rig.hotend_id)->disconnected = 1;
    for (int i = 0; i < 12 && rig.fault_count == 0; i++) {
        rig_set_target(&rig, rig.extruder, i % 2 ? 210.0 : 215.0);
        rig_run(&rig, 5.0);
    }
    assert_int_equal(rig.fault_count, 1);
    assert_int_equal(rig.faults[0].kind, FS_FAULT_NOT_HEATING);
    /* check_gain_time is 20 s for an extruder, counted from the first
     * shortfall, not from the latest target. */
    assert_true(rig.faults[0].time - 10.0 <= 20.0 + 2.0);
    rig_free(&rig);
}

static void test_verify_heater_catches_a_heater_that_fails_at_temperature(void **state)
{
    (void)state;
    build(8);
    rig_set_target(&rig, rig.extruder, 200.0);
    rig_run(&rig, 200.0);
    assert_int_equal(rig.fault_count, 0);
    sim_world_heater(rig.host.world, rig.hotend_id)->disconnected = 1;
    rig_run(&rig, 30.0);
    assert_int_equal(rig.fault_count, 1);
    assert_int_equal(rig.faults[0].kind, FS_FAULT_RUNAWAY);
    assert_non_null(strstr(rig.faults[0].reason, "Heater extruder not heating at expected rate"));
    rig_free(&rig);
}

static void test_open_sensor_faults_its_heater(void **state)
{
    (void)state;
    build(9);
    rig_set_target(&rig, rig.extruder, 150.0);
    rig_run(&rig, 5.0);
    sim_world_thermistor(rig.host.world, rig.hotend_id)->fault = PLANT_SENSOR_OPEN;
    /* Off long before the fault is decided (the host and the guard cut it
     * at the first bad reading)... */
    rig_run(&rig, 0.7);
    assert_true(sim_world_heater_drive(rig.host.world, rig.hotend_id) == 0.0);
    /* ...which comes once fault_tolerance (1 s) of bad readings add up. */
    rig_run(&rig, 1.0);
    assert_true(rig.fault_count >= 1);
    assert_string_equal(rig.faults[0].heater, "extruder");
    assert_int_equal(rig.faults[0].kind, FS_FAULT_SENSOR_OPEN);
    assert_non_null(strstr(rig.faults[0].reason, "extruder reads"));
    assert_true(fs_heater_fault(rig.extruder, NULL) != FS_HEATER_FAULT_NONE);
    rig_run(&rig, 0.3);
    assert_true(sim_world_heater_drive(rig.host.world, rig.hotend_id) == 0.0);
    rig_free(&rig);
}

static void test_watermark_keeps_the_bed_within_its_delta(void **state)
{
    (void)state;
    struct rig_options o;
    rig_options_default(&o);
    o.bed_control = FS_HEATER_CONTROL_WATERMARK;
    rig_build(&rig, 10, &o);
    rig_set_target(&rig, rig.bed, 70.0);
    rig_run(&rig, 300.0);
    double worst = 0.0;
    int on = 0, off = 0;
    for (int i = 0; i < 600; i++) {
        rig_run(&rig, 0.5);
        double e = fabs(rig_plant_c(&rig, rig.bed_id) - 70.0);
        worst = e > worst ? e : worst;
        double power = fs_heater_get_power(rig.bed);
        assert_true(power == 0.0 || power == 1.0);
        on += power == 1.0;
        off += power == 0.0;
    }
    /* max_delta 2 C, plus what the bed gains or loses in one report. */
    if (worst > 3.0)
        fail_msg("bed strayed %.2f C from 70 C", worst);
    assert_true(on > 0 && off > 0);
    rig_free(&rig);
}

static void test_m106_sets_the_fan_pin(void **state)
{
    (void)state;
    build(11);
    struct fs_error err;
    struct plant_heater *hotend = sim_world_heater(rig.host.world, rig.hotend_id);
    assert_int_equal(rig_gcode(&rig, "M106 S128", &err), 0);
    rig_run(&rig, 0.5);
    assert_true(fabs(hotend->fan - 128.0 / 255.0) < 0.005);
    assert_int_equal(rig_gcode(&rig, "M106", &err), 0);
    rig_run(&rig, 0.5);
    assert_true(hotend->fan == 1.0);
    assert_int_equal(rig_gcode(&rig, "M107", &err), 0);
    rig_run(&rig, 0.5);
    assert_true(hotend->fan == 0.0);
    rig_free(&rig);
}

static void test_fan_max_power_off_below_and_kick_start(void **state)
{
    (void)state;
    struct rig_options o;
    rig_options_default(&o);
    o.fan_max_power = 0.8;
    o.fan_off_below = 0.1;
    o.fan_kick_start_s = 0.5;
    rig_build(&rig, 12, &o);
    struct fs_error err;
    struct plant_heater *hotend = sim_world_heater(rig.host.world, rig.hotend_id);
    /* From standstill: max_power first, then half of max_power. */
    assert_int_equal(rig_gcode(&rig, "M106 S128", &err), 0);
    rig_run(&rig, 0.3);
    assert_true(fabs(hotend->fan - 0.8) < 0.005);
    rig_run(&rig, 0.5);
    assert_true(fabs(hotend->fan - 0.8 * 128.0 / 255.0) < 0.005);
    /* Below off_below is off. */
    assert_int_equal(rig_gcode(&rig, "M106 S20", &err), 0);
    rig_run(&rig, 0.5);
    assert_true(hotend->fan == 0.0);
    rig_free(&rig);
}

/* M106 in a print waits for the moves queued before it: here a stand-in
 * for the toolhead says they run for another 2 s. */
static int moves_end_in_2s(void *arg, fs_heaters_time_done_fn done, void *done_arg,
                           struct fs_error *err)
{
    (void)err;
    struct thermal_rig *r = arg;
    done(done_arg, fs_mcu_estimated_print_time(r->mcu, sim_host_now(&r->host)) + 2.0);
    return 0;
}

static void test_m106_takes_effect_after_the_queued_moves(void **state)
{
    (void)state;
    build(17);
    struct fs_error err;
    fs_heaters_set_move_time_source(rig.heaters, moves_end_in_2s, &rig);
    struct plant_heater *hotend = sim_world_heater(rig.host.world, rig.hotend_id);
    assert_int_equal(rig_gcode(&rig, "M106 S255", &err), 0);
    rig_run(&rig, 1.5);
    assert_true(hotend->fan == 0.0);
    rig_run(&rig, 1.0);
    assert_true(hotend->fan == 1.0);
    rig_free(&rig);
}

/* An active-low fan on software PWM: off is a high pin, full speed low. */
static void test_inverted_fan_pin_is_high_when_off(void **state)
{
    (void)state;
    struct rig_options o;
    rig_options_default(&o);
    o.fan_hardware_pwm = 0;
    o.fan_invert = 1;
    rig_build(&rig, 15, &o);
    struct fs_error err;
    /* Configured off: the pin idles high. */
    assert_int_equal(sim_world_pin_level(rig.host.world, "mcu", RIG_FAN_PIN), 1);
    assert_int_equal(rig_gcode(&rig, "M106 S255", &err), 0);
    rig_run(&rig, 0.5);
    assert_int_equal(sim_world_pin_level(rig.host.world, "mcu", RIG_FAN_PIN), 0);
    assert_int_equal(rig_gcode(&rig, "M107", &err), 0);
    rig_run(&rig, 0.5);
    assert_int_equal(sim_world_pin_level(rig.host.world, "mcu", RIG_FAN_PIN), 1);
    rig_free(&rig);
}

static void test_pid_calibrate_gives_gains_that_hold_within_2c(void **state)
{
    (void)state;
    build(13);
    struct fs_error err;
    rig.response_count = 0;
    if (rig_gcode(&rig, "PID_CALIBRATE HEATER=extruder TARGET=220", &err) < 0)
        fail_msg("PID_CALIBRATE: %s", err.msg);
    double kp, ki, kd;
    fs_heater_get_pid(rig.extruder, &kp, &ki, &kd);
    assert_true(kp > 0.0 && ki > 0.0 && kd > 0.0);
    /* The gains are reported in printer.cfg's form. */
    int reported = 0;
    for (int i = 0; i < rig.response_count; i++)
        reported |= strstr(rig.responses[i], "pid_Kp=") != NULL;
    assert_true(reported);
    /* The heater is off after calibration. */
    double target;
    fs_heater_get_temp(rig.extruder, NULL, &target);
    assert_true(target == 0.0);
    /* The new gains hold the hotend. */
    rig_set_target(&rig, rig.extruder, 220.0);
    rig_run(&rig, 240.0);
    double worst = rig_hold_error(&rig, rig.extruder, rig.hotend_id, 220.0, 120.0);
    if (worst > 2.0)
        fail_msg("calibrated gains Kp=%.2f Ki=%.3f Kd=%.1f strayed %.2f C", kp, ki, kd, worst);
    assert_int_equal(rig.fault_count, 0);
    rig_free(&rig);
}

static void test_turn_off_all_stops_every_heater(void **state)
{
    (void)state;
    build(14);
    rig_set_target(&rig, rig.extruder, 200.0);
    rig_set_target(&rig, rig.bed, 60.0);
    rig_run(&rig, 5.0);
    fs_heaters_turn_off_all(rig.heaters);
    rig_run(&rig, 0.5);
    assert_true(sim_world_heater_drive(rig.host.world, rig.hotend_id) == 0.0);
    assert_true(sim_world_heater_drive(rig.host.world, rig.bed_id) == 0.0);
    struct fs_heater_status st;
    assert_int_equal(fs_heaters_status(rig.heaters, 0, &st), 0);
    assert_string_equal(st.name, "extruder");
    assert_true(st.target_c == 0.0 && st.power == 0.0 && st.is_heater);
    assert_false(fs_heater_can_extrude(rig.extruder));
    rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pid_holds_hotend_within_1c_after_settling),
        cmocka_unit_test(test_pid_holds_bed_within_1c_after_settling),
        cmocka_unit_test(test_hotend_on_a_toolboard_holds_and_never_trips_its_window),
        cmocka_unit_test(test_m109_returns_once_the_target_is_reached),
        cmocka_unit_test(test_m105_reports_temperatures_and_targets),
        cmocka_unit_test(test_temperature_wait_waits_for_the_sensor_to_cool),
        cmocka_unit_test(test_ten_minute_hold_never_lets_the_firmware_shut_down),
        cmocka_unit_test(test_verify_heater_catches_a_disconnected_heater_while_heating),
        cmocka_unit_test(test_target_changes_while_approaching_do_not_hide_a_dead_heater),
        cmocka_unit_test(test_verify_heater_catches_a_heater_that_fails_at_temperature),
        cmocka_unit_test(test_open_sensor_faults_its_heater),
        cmocka_unit_test(test_watermark_keeps_the_bed_within_its_delta),
        cmocka_unit_test(test_m106_sets_the_fan_pin),
        cmocka_unit_test(test_fan_max_power_off_below_and_kick_start),
        cmocka_unit_test(test_m106_takes_effect_after_the_queued_moves),
        cmocka_unit_test(test_inverted_fan_pin_is_high_when_off),
        cmocka_unit_test(test_pid_calibrate_gives_gains_that_hold_within_2c),
        cmocka_unit_test(test_turn_off_all_stops_every_heater),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
