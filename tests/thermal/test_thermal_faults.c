/* Heater faults end to end, on the simulated printer with the real
 * firmware: what an owner relies on when a thermistor breaks or a heater
 * switch welds shut.
 *   - An open thermistor with the firmware's guard: the heater pin is low at
 *     the first bad sample (not a report and a command later), the fault
 *     comes once fault_tolerance has passed, and the MCU never shuts down.
 *   - A 0.3 s open under a 1 s tolerance is a glitch record only, and the
 *     heater heats again; glitches of 0.3 s every second add up to a fault.
 *   - A shorted thermistor is sensor_short; FAULT_CLEAR is refused while it
 *     still reads bad and works once repaired.
 *   - A heater that heats with its output off is uncommanded_heating (the
 *     floor: shutdown), off or at printing temperature under the part fan;
 *     an ordinary heat-up, hold and cool-down (with its coast after
 *     switch-off) raises nothing.
 *   - Without the guard (the reference firmware, or a firmware built with
 *     FW_HEATER_GUARD=OFF) the host cuts the heater and raises the fault
 *     before the MCU's own range check shuts it down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <string.h> /* strstr */

#include "core/error.h"            /* struct fs_error */
#include "mcu/mcu.h"               /* fs_mcu_estimated_print_time */
#include "mcu/mcu_heater_guard.h"  /* fs_mcu_heater_guard_is_* */
#include "thermal_rig.h"           /* struct thermal_rig */

#ifndef FW_HEATER_GUARD
#define FW_HEATER_GUARD 1
#endif

#define REPORT_S 0.3 /* the heaters' ADC report period */
#define STEP_S 0.001

static struct thermal_rig rig;

static void build(uint64_t seed, int use_guard)
{
    struct rig_options o;
    rig_options_default(&o);
    o.use_guard = use_guard;
    rig_build(&rig, seed, &o);
}

static struct sim_world *world(void) { return rig.host.world; }

static void set_sensor(int heater_id, enum plant_sensor_fault fault)
{
    sim_world_thermistor(world(), heater_id)->fault = fault;
}

static int hotend_pin(void)
{
    return sim_world_pin_level(world(), "mcu", RIG_HOTEND_HEATER_PIN);
}

static double print_time_now(void)
{
    return fs_mcu_estimated_print_time(rig.mcu, sim_host_now(&rig.host));
}

static void step(void)
{
    sim_host_run_for(&rig.host, STEP_S);
    rig_sync_faults(&rig);
}

static int guard_active(struct fs_heater *h)
{
    return fs_mcu_heater_guard_is_active(fs_heater_guard(h));
}

static const struct rig_fault *find_kind(enum fs_fault_kind kind)
{
    int cap = (int)(sizeof(rig.faults) / sizeof(rig.faults[0]));
    for (int i = 0; i < rig.fault_count && i < cap; i++)
        if (rig.faults[i].kind == kind)
            return &rig.faults[i];
    return NULL;
}

/* The record of kind, which must exist. */
static struct rig_fault expect_kind(enum fs_fault_kind kind)
{
    const struct rig_fault *f = find_kind(kind);
    if (!f)
        fail_msg("no %s fault recorded", fs_fault_kind_name(kind));
    return *f;
}

/* Heats the extruder at full power (the pin held high, no PWM edges) to
 * about temp_c. */
static void heat_at_full_power_to(double temp_c)
{
    rig_set_target(&rig, rig.extruder, 250.0);
    while (rig_reading_c(rig.extruder) < temp_c)
        rig_run(&rig, 0.5);
    assert_int_equal(hotend_pin(), 1);
}

/* Steps until the host has a reading past the open limit; returns its print
 * time (the first bad sample's). *pin_off_time gets the print time the pin
 * was first seen low after open_time, or 0. */
static double run_to_first_bad_reading(double *pin_off_time)
{
    *pin_off_time = 0.0;
    for (int i = 0; i < 2000; i++) {
        step();
        if (!*pin_off_time && hotend_pin() == 0)
            *pin_off_time = print_time_now();
        if (rig_reading_c(rig.extruder) < -40.0)
            return fs_heater_last_reading_time(rig.extruder);
    }
    fail_msg("no bad reading within 2 s of the open");
    return 0.0;
}

#if FW_HEATER_GUARD
static void test_guard_cuts_the_pin_at_the_first_bad_sample(void **state)
{
    (void)state;
    build(21, 1);
    assert_true(guard_active(rig.extruder));
    assert_true(guard_active(rig.bed));
    heat_at_full_power_to(120.0);
    set_sensor(rig.hotend_id, PLANT_SENSOR_OPEN);
    double pin_off = 0.0;
    double first_bad = run_to_first_bad_reading(&pin_off);
    /* Low at the sample itself (the stepping resolution aside): the host
     * could only have done it a report and FS_HEATER_OUTPUT_DELAY_S later. */
    assert_true(pin_off > 0.0);
    if (pin_off > first_bad + 2 * STEP_S)
        fail_msg("pin low at %.4f, first bad sample at %.4f", pin_off, first_bad);
    /* Held low, the host's power is 0, and no fault before the tolerance. */
    for (int i = 0; i < 500; i++) {
        step();
        assert_int_equal(hotend_pin(), 0);
    }
    assert_true(fs_mcu_heater_guard_is_tripped(fs_heater_guard(rig.extruder)));
    assert_true(fs_heater_get_power(rig.extruder) == 0.0);
    assert_null(find_kind(FS_FAULT_SENSOR_OPEN));
    rig_free(&rig);
}

static void test_open_thermistor_faults_after_the_tolerance_without_mcu_shutdown(void **state)
{
    (void)state;
    build(22, 1);
    rig_set_target(&rig, rig.bed, 60.0);
    rig_set_target(&rig, rig.extruder, 200.0);
    rig_run(&rig, 120.0);
    assert_int_equal(rig.fault_count, 0);
    set_sensor(rig.hotend_id, PLANT_SENSOR_OPEN);
    double pin_off;
    double first_bad = run_to_first_bad_reading(&pin_off);
    while (!find_kind(FS_FAULT_SENSOR_OPEN) && print_time_now() < first_bad + 3.0)
        step();
    struct rig_fault f = expect_kind(FS_FAULT_SENSOR_OPEN);
    assert_string_equal(f.heater, "extruder");
    assert_non_null(strstr(f.reason, "open limit"));
    /* After the tolerance (1 s of bad readings), within one more report. */
    double decided = print_time_now();
    assert_true(decided >= first_bad + 1.0 - REPORT_S);
    assert_true(decided <= first_bad + 1.0 + 2 * REPORT_S);
    assert_true(fs_fault_source_is_faulted(fs_heater_fault_source(rig.extruder)));
    /* Only that heater: the bed holds, the MCU carries on. */
    rig_run(&rig, 30.0);
    assert_int_equal(hotend_pin(), 0);
    assert_true(sim_world_heater_drive(world(), rig.hotend_id) == 0.0);
    assert_int_equal(rig.mcu_shutdowns, 0);
    assert_false(sim_world_mcu_is_shutdown(world(), "mcu"));
    assert_true(fabs(rig_reading_c(rig.bed) - 60.0) < 2.0);
    assert_null(find_kind(FS_FAULT_SENSOR_GLITCH));
    rig_free(&rig);
}

static void test_short_open_is_a_glitch_and_the_heater_carries_on(void **state)
{
    (void)state;
    build(23, 1);
    rig_set_target(&rig, rig.extruder, 200.0);
    rig_run(&rig, 120.0);
    assert_int_equal(rig.fault_count, 0);
    set_sensor(rig.hotend_id, PLANT_SENSOR_OPEN);
    rig_run(&rig, 0.3);
    set_sensor(rig.hotend_id, PLANT_SENSOR_OK);
    rig_run(&rig, 2.0);
    assert_int_equal(rig.fault_count, 1);
    assert_int_equal(rig.faults[0].kind, FS_FAULT_SENSOR_GLITCH);
    assert_int_equal(rig.faults[0].action, FS_FAULT_LOG);
    assert_non_null(strstr(rig.faults[0].reason, "open limit for"));
    assert_true(fs_heater_fault(rig.extruder, NULL) == FS_HEATER_FAULT_NONE);
    /* Re-armed: the heater holds its target again. */
    assert_false(fs_mcu_heater_guard_is_tripped(fs_heater_guard(rig.extruder)));
    double worst = rig_hold_error(&rig, rig.extruder, rig.hotend_id, 200.0, 60.0);
    if (worst > 5.0)
        fail_msg("hotend strayed %.2f C from 200 C after the glitch", worst);
    assert_int_equal(rig.fault_count, 1);
    assert_int_equal(rig.mcu_shutdowns, 0);
    rig_free(&rig);
}

static void test_repeated_glitches_add_up_to_a_sensor_fault(void **state)
{
    (void)state;
    build(24, 1);
    rig_set_target(&rig, rig.extruder, 200.0);
    rig_run(&rig, 120.0);
    int cycles = 0;
    while (!find_kind(FS_FAULT_SENSOR_OPEN) && cycles < 60) {
        set_sensor(rig.hotend_id, PLANT_SENSOR_OPEN);
        rig_run(&rig, 0.3);
        set_sensor(rig.hotend_id, PLANT_SENSOR_OK);
        rig_run(&rig, 0.7);
        cycles++;
    }
    assert_non_null(find_kind(FS_FAULT_SENSOR_OPEN));
    /* Not the first glitch: several were recorded before they added up.
     * (The heater, cut at every glitch, may have lost enough heat on the
     * way for verify_heater to call it a runaway first: both are true.) */
    assert_true(cycles >= 2);
    assert_non_null(find_kind(FS_FAULT_SENSOR_GLITCH));
    assert_true(fs_heater_fault(rig.extruder, NULL) != FS_HEATER_FAULT_NONE);
    rig_run(&rig, 5.0);
    assert_true(sim_world_heater_drive(world(), rig.hotend_id) == 0.0);
    assert_int_equal(rig.mcu_shutdowns, 0);
    rig_free(&rig);
}

static void test_shorted_thermistor_is_sensor_short_and_clears_once_repaired(void **state)
{
    (void)state;
    build(25, 1);
    rig_set_target(&rig, rig.extruder, 180.0);
    rig_run(&rig, 90.0);
    set_sensor(rig.hotend_id, PLANT_SENSOR_SHORT);
    rig_run(&rig, 3.0);
    struct rig_fault f = expect_kind(FS_FAULT_SENSOR_SHORT);
    assert_non_null(strstr(f.reason, "short limit"));
    assert_null(find_kind(FS_FAULT_OVER_TEMPERATURE));
    assert_int_equal(hotend_pin(), 0);

    struct fs_fault_source *src = fs_heater_fault_source(rig.extruder);
    struct fs_error err;
    assert_int_equal(fs_faults_clear(rig.fault_module, src, &err), -1);
    assert_non_null(strstr(err.msg, "reads"));
    assert_non_null(strstr(err.msg, "short limit"));
    assert_int_equal(fs_heater_set_target(rig.extruder, 180.0, &err), -1);

    set_sensor(rig.hotend_id, PLANT_SENSOR_OK);
    rig_run(&rig, 1.0);
    if (fs_faults_clear(rig.fault_module, src, &err) < 0)
        fail_msg("FAULT_CLEAR refused after the repair: %s", err.msg);
    assert_false(fs_fault_source_is_faulted(src));
    rig_run(&rig, 0.5);
    assert_false(fs_mcu_heater_guard_is_tripped(fs_heater_guard(rig.extruder)));
    rig_set_target(&rig, rig.extruder, 180.0);
    rig_run(&rig, 60.0);
    assert_true(fabs(rig_reading_c(rig.extruder) - 180.0) < 5.0);
    assert_int_equal(rig.mcu_shutdowns, 0);
    rig_free(&rig);
}

static void test_heating_with_the_output_off_is_uncommanded_heating(void **state)
{
    (void)state;
    build(26, 1);
    rig_set_target(&rig, rig.extruder, 150.0);
    rig_run(&rig, 90.0);
    rig_set_target(&rig, rig.extruder, 0.0);
    rig_run(&rig, 5.0);
    assert_int_equal(hotend_pin(), 0);
    /* The switch welds shut: full heat whatever the pin says. */
    struct plant_heater *ph = sim_world_heater(world(), rig.hotend_id);
    plant_heater_set_stuck_on(ph, sim_world_now_ns(world()), 1);
    double start = rig_reading_c(rig.extruder);
    rig_run(&rig, 25.0);
    struct rig_fault f = expect_kind(FS_FAULT_UNCOMMANDED_HEATING);
    assert_string_equal(f.heater, "extruder");
    assert_non_null(strstr(f.reason, "with its output off"));
    /* Caught before it got far, and the floor is a shutdown. */
    assert_true(rig_reading_c(rig.extruder) < start + 60.0);
    assert_int_equal(f.action, FS_FAULT_SHUTDOWN);
    assert_int_equal(rig.shutdowns, 1);
    rig_free(&rig);
}

/* The same at printing temperature with the part fan blowing (at 15 %, so
 * that full power would settle about 35 C above the target: at 40 % it
 * would barely pass it): the PID's power drains to 0 within about 12 s and
 * the climb is slow (about 0.4 C/s), yet it is caught once it has gained
 * 15 C, long before the heater settles or reaches max_temp. */
static void test_switch_welded_at_printing_temperature_is_caught(void **state)
{
    (void)state;
    build(29, 1);
    rig_set_target(&rig, rig.extruder, 210.0);
    rig_run(&rig, 120.0);
    struct fs_error err;
    assert_int_equal(rig_gcode(&rig, "M106 S38", &err), 0);
    rig_run(&rig, 90.0);
    assert_int_equal(rig.fault_count, 0);
    assert_true(fabs(rig_reading_c(rig.extruder) - 210.0) < 2.0);
    struct plant_heater *ph = sim_world_heater(world(), rig.hotend_id);
    assert_true(plant_heater_equilibrium_c(ph, 1.0, ph->fan) > 240.0);
    plant_heater_set_stuck_on(ph, sim_world_now_ns(world()), 1);
    double welded = sim_host_now(&rig.host);
    while (!find_kind(FS_FAULT_UNCOMMANDED_HEATING) && sim_host_now(&rig.host) < welded + 90.0)
        rig_run(&rig, 1.0);
    struct rig_fault f = expect_kind(FS_FAULT_UNCOMMANDED_HEATING);
    assert_true(f.time - welded < 75.0);
    assert_null(find_kind(FS_FAULT_OVER_TEMPERATURE));
    assert_true(rig_reading_c(rig.extruder) < 235.0);
    assert_int_equal(rig.shutdowns, 1);
    rig_free(&rig);
}

static void test_heat_up_hold_and_cool_down_raise_nothing(void **state)
{
    (void)state;
    build(27, 1);
    rig_set_target(&rig, rig.extruder, 250.0);
    rig_set_target(&rig, rig.bed, 90.0);
    rig_run(&rig, 400.0);
    rig_set_target(&rig, rig.extruder, 0.0);
    rig_set_target(&rig, rig.bed, 0.0);
    rig_run(&rig, 300.0);
    /* The worst coast: switched off in the middle of a full-power ramp. */
    rig_set_target(&rig, rig.extruder, 280.0);
    while (rig_reading_c(rig.extruder) < 200.0)
        rig_run(&rig, 0.3);
    double at_cut = rig_plant_c(&rig, rig.hotend_id);
    rig_set_target(&rig, rig.extruder, 0.0);
    double peak = at_cut;
    for (int i = 0; i < 120; i++) {
        rig_run(&rig, 0.5);
        double t = rig_reading_c(rig.extruder);
        peak = t > peak ? t : peak;
    }
    /* The coast stays well under uncommanded_heating_rise. */
    assert_true(peak - at_cut < FS_HEATER_UNCOMMANDED_RISE_C / 2);
    if (rig.fault_count)
        fail_msg("raised %s: %s", fs_fault_kind_name(rig.faults[0].kind), rig.faults[0].reason);
    assert_int_equal(rig.mcu_shutdowns, 0);
    rig_free(&rig);
}

#endif /* FW_HEATER_GUARD */

/* Without the guard the MCU keeps its range check, set to cover the
 * tolerance: the host must get there first. */
static void test_without_the_guard_the_host_faults_before_the_mcu_shuts_down(void **state)
{
    (void)state;
    /* On a firmware built without the guard the heaters ask for it and find
     * none in the dictionary; on one with it, they are told not to use it. */
    build(28, !FW_HEATER_GUARD);
    assert_false(guard_active(rig.extruder));
    heat_at_full_power_to(120.0);
    set_sensor(rig.hotend_id, PLANT_SENSOR_OPEN);
    double pin_off;
    double first_bad = run_to_first_bad_reading(&pin_off);
    /* The host cuts the power at the first bad reading: off one output
     * delay after it arrived. */
    while (hotend_pin() != 0 && print_time_now() < first_bad + 1.0)
        step();
    assert_int_equal(hotend_pin(), 0);
    assert_true(print_time_now() < first_bad + FS_HEATER_OUTPUT_DELAY_S + 0.1);
    assert_false(sim_world_mcu_is_shutdown(world(), "mcu"));
    rig_run(&rig, 5.0);
    struct rig_fault f = expect_kind(FS_FAULT_SENSOR_OPEN);
    /* The MCU's own check is still there behind it. */
    assert_true(rig.mcu_shutdowns >= 1);
    if (!(f.time < rig.first_mcu_shutdown_time))
        fail_msg("fault at %.3f, MCU shutdown at %.3f", f.time, rig.first_mcu_shutdown_time);
    rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#if FW_HEATER_GUARD
        cmocka_unit_test(test_guard_cuts_the_pin_at_the_first_bad_sample),
        cmocka_unit_test(test_open_thermistor_faults_after_the_tolerance_without_mcu_shutdown),
        cmocka_unit_test(test_short_open_is_a_glitch_and_the_heater_carries_on),
        cmocka_unit_test(test_repeated_glitches_add_up_to_a_sensor_fault),
        cmocka_unit_test(test_shorted_thermistor_is_sensor_short_and_clears_once_repaired),
        cmocka_unit_test(test_heating_with_the_output_off_is_uncommanded_heating),
        cmocka_unit_test(test_switch_welded_at_printing_temperature_is_caught),
        cmocka_unit_test(test_heat_up_hold_and_cool_down_raise_nothing),
#endif
        cmocka_unit_test(test_without_the_guard_the_host_faults_before_the_mcu_shuts_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
