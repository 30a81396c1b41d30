/* Fault policies from printer.cfg: the safety floors reject a configuration
 * that asks for less (naming the object, the kind, the floor and why), the
 * profiles' defaults, the blanket spellings, [fault_policy] with its bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>   /* isnan */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strstr */

#include "core/error.h"   /* struct fs_error */
#include "fault/fault.h"  /* fs_faults_* */
#include "fault_test_util.h"

/* A fault module with profile from [fault_policy] of cfg. */
static struct fs_faults *faults_for(struct fs_config *cfg)
{
    struct fs_fault_policy_config pc;
    struct fs_error err = {{0}};
    if (fs_fault_policy_read(cfg, &pc, &err) < 0)
        fail_msg("%s", err.msg);
    struct fs_faults *f = fs_faults_new(NULL, NULL, &pc, &err);
    assert_non_null(f);
    return f;
}

/* Adds [section] of text as a source; returns it or NULL with err. */
static struct fs_fault_source *add_from(const char *text, const char *section,
                                        enum fs_fault_class cls, unsigned flags,
                                        struct cfg_fixture *fx, struct fs_faults **f,
                                        struct fs_error *err)
{
    cfg_fixture_load(fx, text);
    *f = faults_for(fx->cfg);
    return fs_faults_add_source(*f, section, cls, flags, fs_config_get_section(fx->cfg, section),
                                NULL, NULL, err);
}

static void expect_rejected(const char *text, const char *section, enum fs_fault_class cls,
                            unsigned flags, const char *expected)
{
    struct cfg_fixture fx;
    struct fs_faults *f;
    struct fs_error err = {{0}};
    struct fs_fault_source *s = add_from(text, section, cls, flags, &fx, &f, &err);
    if (s)
        fail_msg("accepted: %s", text);
    if (!strstr(err.msg, expected))
        fail_msg("error '%s' lacks '%s'", err.msg, expected);
    fs_faults_free(f);
    cfg_fixture_free(&fx);
}

static void test_sensor_open_warn_on_heater_rejected_naming_floor(void **state)
{
    (void)state;
    expect_rejected("[extruder]\non_sensor_open: warn\n", "extruder", FS_FAULT_CLASS_HEATER, 0,
                    "printer.cfg:2: [extruder] on_sensor_open: warn is below the safety floor "
                    "for sensor_open on a heater: disable (a heater without a trustworthy "
                    "reading can start a fire)");
}

static void test_uncommanded_heating_pause_rejected(void **state)
{
    (void)state;
    expect_rejected("[heater_bed]\non_uncommanded_heating: pause\n", "heater_bed",
                    FS_FAULT_CLASS_HEATER, 0,
                    "[heater_bed] on_uncommanded_heating: pause is below the safety floor for "
                    "uncommanded_heating on a heater: shutdown (the heater output is not under "
                    "control)");
}

/* Every row of the floor table, for every class it covers that can raise
 * its kinds: the action one step below the floor is rejected with the
 * floor and the row's reason, the floor itself is accepted. */
static void test_every_floor_row_rejects_below_and_accepts_floor(void **state)
{
    (void)state;
    int checked = 0;
    for (int row = 0; row < fs_fault_floor_row_count(); row++) {
        unsigned classes, flags_any;
        unsigned long kinds;
        enum fs_fault_action floor;
        const char *why;
        assert_int_equal(fs_fault_floor_row(row, &classes, &kinds, &flags_any, &floor, &why), 0);
        assert_true(floor > FS_FAULT_LOG);
        for (int c = 0; c < FS_FAULT_CLASS_COUNT; c++) {
            if (!(classes & (1u << c)))
                continue;
            for (int k = 0; k < FS_FAULT_KIND_COUNT; k++) {
                if (!(kinds & (1ul << k)) ||
                    !fs_fault_class_can_raise((enum fs_fault_class)c, (enum fs_fault_kind)k))
                    continue;
                /* The row must be what decides: the floor with these flags is
                 * the row's (a stronger row for other flags does not apply). */
                const char *got_why;
                assert_int_equal(fs_fault_floor((enum fs_fault_class)c, flags_any,
                                                (enum fs_fault_kind)k, &got_why),
                                 floor);
                assert_string_equal(got_why, why);
                const char *kind = fs_fault_kind_name((enum fs_fault_kind)k);
                char text[256], expected[512];
                snprintf(text, sizeof(text), "[part]\non_%s: %s\n", kind,
                         fs_fault_action_name(floor - 1));
                snprintf(expected, sizeof(expected),
                         "[part] on_%s: %s is below the safety floor for %s on", kind,
                         fs_fault_action_name(floor - 1), kind);
                expect_rejected(text, "part", (enum fs_fault_class)c, flags_any, expected);
                snprintf(expected, sizeof(expected), ": %s (%s)", fs_fault_action_name(floor),
                         why);
                expect_rejected(text, "part", (enum fs_fault_class)c, flags_any, expected);

                snprintf(text, sizeof(text), "[part]\non_%s: %s\n", kind,
                         fs_fault_action_name(floor));
                struct cfg_fixture fx;
                struct fs_faults *f;
                struct fs_error err = {{0}};
                struct fs_fault_source *s =
                    add_from(text, "part", (enum fs_fault_class)c, flags_any, &fx, &f, &err);
                if (!s)
                    fail_msg("floor itself rejected: %s", err.msg);
                assert_int_equal(fs_fault_source_action(s, (enum fs_fault_kind)k), floor);
                fs_faults_free(f);
                cfg_fixture_free(&fx);
                checked++;
            }
        }
    }
    /* heater: 6 kinds; uncommanded; MCU 3+3; driver 1+1; timing_overrun
     * on every class that can raise it; emergency_stop; version_mismatch. */
    int timing_classes = 0;
    for (int c = 0; c < FS_FAULT_CLASS_COUNT; c++)
        timing_classes += fs_fault_class_can_raise((enum fs_fault_class)c, FS_FAULT_TIMING_OVERRUN);
    assert_true(timing_classes >= 1);
    assert_int_equal(checked, 6 + 1 + 3 + 3 + 1 + 1 + timing_classes + 1 + 1);
}

/* The floors as FAULTS.md states them, independent of the table's layout. */
static void test_floors_match_the_fault_model(void **state)
{
    (void)state;
    const char *why;
    const enum fs_fault_kind heater_kinds[] = {
        FS_FAULT_SENSOR_OPEN,       FS_FAULT_SENSOR_SHORT, FS_FAULT_OVER_TEMPERATURE,
        FS_FAULT_UNDER_TEMPERATURE, FS_FAULT_NOT_HEATING,  FS_FAULT_RUNAWAY};
    for (size_t i = 0; i < sizeof(heater_kinds) / sizeof(heater_kinds[0]); i++) {
        assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_HEATER, 0, heater_kinds[i], &why),
                         FS_FAULT_DISABLE);
        assert_string_equal(why, "a heater without a trustworthy reading can start a fire");
        /* A temperature_sensor has no output: no floor. */
        assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_SENSOR, 0, heater_kinds[i], NULL),
                         FS_FAULT_LOG);
    }
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_HEATER, 0, FS_FAULT_SENSOR_GLITCH, NULL),
                     FS_FAULT_LOG);
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_HEATER, 0, FS_FAULT_UNCOMMANDED_HEATING, &why),
                     FS_FAULT_SHUTDOWN);
    assert_string_equal(why, "the heater output is not under control");
    const enum fs_fault_kind mcu_kinds[] = {FS_FAULT_COMM_LOST, FS_FAULT_MCU_SHUTDOWN,
                                            FS_FAULT_MCU_RESET};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            fs_fault_floor(FS_FAULT_CLASS_MCU, FS_FAULT_SOURCE_DRIVES_AXES, mcu_kinds[i], &why),
            FS_FAULT_HALT);
        assert_string_equal(why, "nothing on it is under control");
        assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_MCU, 0, mcu_kinds[i], NULL),
                         FS_FAULT_PAUSE);
    }
    const unsigned axes[] = {FS_FAULT_SOURCE_AXIS_X, FS_FAULT_SOURCE_AXIS_Y,
                             FS_FAULT_SOURCE_AXIS_Z};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_DRIVER, axes[i], FS_FAULT_DRIVER_ERROR,
                                        &why),
                         FS_FAULT_HALT);
        assert_string_equal(why, "its position may be lost");
    }
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_DRIVER, 0, FS_FAULT_DRIVER_ERROR, NULL),
                     FS_FAULT_PAUSE);
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_X,
                                    FS_FAULT_DRIVER_WARNING, NULL),
                     FS_FAULT_LOG);
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_MOTION, 0, FS_FAULT_TIMING_OVERRUN, &why),
                     FS_FAULT_HALT);
    assert_string_equal(why, "steps can no longer be placed in time");
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_PRINTER, 0, FS_FAULT_EMERGENCY_STOP, &why),
                     FS_FAULT_SHUTDOWN);
    assert_string_equal(why, "a person asked for it");
    assert_int_equal(fs_fault_floor(FS_FAULT_CLASS_MCU, 0, FS_FAULT_VERSION_MISMATCH, NULL),
                     FS_FAULT_SHUTDOWN);
    const enum fs_fault_kind no_floor[] = {FS_FAULT_FAN_STALLED, FS_FAULT_RUNOUT, FS_FAULT_JAM,
                                           FS_FAULT_MOVE_OUT_OF_RANGE, FS_FAULT_HOMING_FAILED,
                                           FS_FAULT_COLD_EXTRUDE, FS_FAULT_POWER_LOSS};
    for (size_t i = 0; i < sizeof(no_floor) / sizeof(no_floor[0]); i++)
        for (int c = 0; c < FS_FAULT_CLASS_COUNT; c++)
            assert_int_equal(fs_fault_floor((enum fs_fault_class)c, 0xf, no_floor[i], NULL),
                             FS_FAULT_LOG);
}

static void test_mcu_floor_depends_on_axes(void **state)
{
    (void)state;
    expect_rejected("[mcu]\non_comm_lost: pause\n", "mcu", FS_FAULT_CLASS_MCU,
                    FS_FAULT_SOURCE_DRIVES_AXES,
                    "on_comm_lost: pause is below the safety floor for comm_lost on an MCU that "
                    "drives axes: halt (nothing on it is under control)");
    /* A toolboard with only the extruder on it may pause. */
    struct cfg_fixture fx;
    struct fs_faults *f;
    struct fs_error err = {{0}};
    struct fs_fault_source *s = add_from("[mcu toolboard]\non_comm_lost: pause\n",
                                         "mcu toolboard", FS_FAULT_CLASS_MCU, 0, &fx, &f, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_COMM_LOST), FS_FAULT_PAUSE);
    fs_faults_free(f);
    cfg_fixture_free(&fx);
    expect_rejected("[mcu toolboard]\non_mcu_reset: disable\n", "mcu toolboard",
                    FS_FAULT_CLASS_MCU, 0, "floor for mcu_reset on an MCU that drives no axis: pause");
}

static void test_driver_error_floor_on_axis_and_extruder(void **state)
{
    (void)state;
    expect_rejected("[tmc2209 stepper_x]\non_driver_error: pause\n", "tmc2209 stepper_x",
                    FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_X,
                    "on_driver_error: pause is below the safety floor for driver_error on a "
                    "driver of an X stepper: halt (its position may be lost)");
    expect_rejected("[tmc2209 extruder]\non_driver_error: disable\n", "tmc2209 extruder",
                    FS_FAULT_CLASS_DRIVER, 0,
                    "driver_error on an extruder driver: pause");
}

struct expected_default {
    enum fs_fault_class cls;
    unsigned flags;
    enum fs_fault_kind kind;
    enum fs_fault_action failsoft, strict;
};

static void test_profile_defaults(void **state)
{
    (void)state;
    const struct expected_default table[] = {
        {FS_FAULT_CLASS_HEATER, 0, FS_FAULT_SENSOR_OPEN, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_HEATER, 0, FS_FAULT_RUNAWAY, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_HEATER, 0, FS_FAULT_NOT_HEATING, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_HEATER, 0, FS_FAULT_SENSOR_GLITCH, FS_FAULT_LOG, FS_FAULT_LOG},
        {FS_FAULT_CLASS_HEATER, 0, FS_FAULT_UNCOMMANDED_HEATING, FS_FAULT_SHUTDOWN,
         FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_SENSOR, 0, FS_FAULT_SENSOR_OPEN, FS_FAULT_WARN, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_SENSOR, 0, FS_FAULT_OVER_TEMPERATURE, FS_FAULT_WARN, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_SENSOR, 0, FS_FAULT_SENSOR_GLITCH, FS_FAULT_LOG, FS_FAULT_LOG},
        {FS_FAULT_CLASS_FAN, FS_FAULT_SOURCE_COOLS_HEATER, FS_FAULT_FAN_STALLED, FS_FAULT_PAUSE,
         FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_FAN, 0, FS_FAULT_FAN_STALLED, FS_FAULT_WARN, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_DRIVER, 0, FS_FAULT_DRIVER_WARNING, FS_FAULT_WARN, FS_FAULT_WARN},
        {FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_Y, FS_FAULT_DRIVER_ERROR, FS_FAULT_HALT,
         FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_DRIVER, 0, FS_FAULT_DRIVER_ERROR, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_FILAMENT, 0, FS_FAULT_RUNOUT, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_FILAMENT, 0, FS_FAULT_JAM, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MCU, FS_FAULT_SOURCE_DRIVES_AXES, FS_FAULT_COMM_LOST, FS_FAULT_HALT,
         FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MCU, 0, FS_FAULT_COMM_LOST, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MCU, 0, FS_FAULT_MCU_SHUTDOWN, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MCU, FS_FAULT_SOURCE_DRIVES_AXES, FS_FAULT_MCU_RESET, FS_FAULT_HALT,
         FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MCU, 0, FS_FAULT_VERSION_MISMATCH, FS_FAULT_SHUTDOWN, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MOTION, 0, FS_FAULT_TIMING_OVERRUN, FS_FAULT_HALT, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MOTION, 0, FS_FAULT_MOVE_OUT_OF_RANGE, FS_FAULT_PAUSE,
         FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MOTION, 0, FS_FAULT_HOMING_FAILED, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_MOTION, 0, FS_FAULT_COLD_EXTRUDE, FS_FAULT_PAUSE, FS_FAULT_SHUTDOWN},
        {FS_FAULT_CLASS_PRINTER, 0, FS_FAULT_POWER_LOSS, FS_FAULT_WARN, FS_FAULT_WARN},
        {FS_FAULT_CLASS_PRINTER, 0, FS_FAULT_EMERGENCY_STOP, FS_FAULT_SHUTDOWN,
         FS_FAULT_SHUTDOWN},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const struct expected_default *e = &table[i];
        if (fs_fault_default_action(FS_FAULT_PROFILE_FAILSOFT, e->cls, e->flags, e->kind) !=
                e->failsoft ||
            fs_fault_default_action(FS_FAULT_PROFILE_STRICT, e->cls, e->flags, e->kind) !=
                e->strict)
            fail_msg("defaults of %s on %s differ", fs_fault_kind_name(e->kind),
                     fs_fault_class_name(e->cls));
    }
    /* Never below the floor, for every class, flags and kind. */
    for (int p = 0; p < 2; p++)
        for (int c = 0; c < FS_FAULT_CLASS_COUNT; c++)
            for (unsigned fl = 0; fl < 16; fl++)
                for (int k = 0; k < FS_FAULT_KIND_COUNT; k++)
                    assert_true(fs_fault_default_action((enum fs_fault_profile)p,
                                                        (enum fs_fault_class)c, fl,
                                                        (enum fs_fault_kind)k) >=
                                fs_fault_floor((enum fs_fault_class)c, fl,
                                               (enum fs_fault_kind)k, NULL));
}

static void test_strict_profile_from_config_shuts_down_a_heater(void **state)
{
    (void)state;
    struct cfg_fixture fx;
    struct fs_faults *f;
    struct fs_error err = {{0}};
    struct fs_fault_source *s = add_from("[fault_policy]\nprofile: strict\n[extruder]\n",
                                         "extruder", FS_FAULT_CLASS_HEATER, 0, &fx, &f, &err);
    assert_non_null(s);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_OPEN), FS_FAULT_SHUTDOWN);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_GLITCH), FS_FAULT_LOG);
    fs_faults_free(f);
    cfg_fixture_free(&fx);
}

static void test_on_fault_blanket_and_kind_override(void **state)
{
    (void)state;
    struct cfg_fixture fx;
    struct fs_faults *f;
    struct fs_error err = {{0}};
    struct fs_fault_source *s =
        add_from("[heater_generic chamber]\non_fault: disable\non_runaway: pause\n"
                 "on_fault_gcode: M117 chamber off\nfault_tolerance: 2.5\n",
                 "heater_generic chamber", FS_FAULT_CLASS_HEATER, 0, &fx, &f, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_OPEN), FS_FAULT_DISABLE);
    /* a glitch is a notice: the blanket leaves it at the profile's log */
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_GLITCH), FS_FAULT_LOG);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_RUNAWAY), FS_FAULT_PAUSE);
    /* uncommanded heating shuts down whatever the blanket says */
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_UNCOMMANDED_HEATING), FS_FAULT_SHUTDOWN);
    assert_true(fs_fault_source_tolerance(s, 1.0) == 2.5);
    assert_int_equal(fs_config_check_unused(fx.cfg, &err), 0);
    fs_faults_free(f);
    cfg_fixture_free(&fx);

    expect_rejected("[extruder]\non_fault: warn\n", "extruder", FS_FAULT_CLASS_HEATER, 0,
                    "printer.cfg:2: [extruder] on_fault: warn is below the safety floor for "
                    "sensor_open on a heater: disable");
}

static void test_shutdown_on_error_spellings(void **state)
{
    (void)state;
    struct cfg_fixture fx;
    struct fs_faults *f;
    struct fs_error err = {{0}};
    struct fs_fault_source *s =
        add_from("[extruder]\nshutdown_on_error: False\non_error_gcode: M117 hot end off\n",
                 "extruder", FS_FAULT_CLASS_HEATER, 0, &fx, &f, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_SHORT), FS_FAULT_DISABLE);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_NOT_HEATING), FS_FAULT_DISABLE);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_GLITCH), FS_FAULT_LOG);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_UNCOMMANDED_HEATING), FS_FAULT_SHUTDOWN);
    assert_int_equal(fs_config_check_unused(fx.cfg, &err), 0);
    fs_faults_free(f);
    cfg_fixture_free(&fx);

    s = add_from("[mcu]\nshutdown_on_error: False\n", "mcu", FS_FAULT_CLASS_MCU,
                 FS_FAULT_SOURCE_DRIVES_AXES, &fx, &f, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_COMM_LOST), FS_FAULT_HALT);
    fs_faults_free(f);
    cfg_fixture_free(&fx);

    s = add_from("[filament_switch_sensor runout]\nshutdown_on_error: True\n",
                 "filament_switch_sensor runout", FS_FAULT_CLASS_FILAMENT, 0, &fx, &f, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_RUNOUT), FS_FAULT_SHUTDOWN);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_JAM), FS_FAULT_SHUTDOWN);
    fs_faults_free(f);
    cfg_fixture_free(&fx);

    /* True shuts down on every fault, but not on a driver's pre-warning
     * unless asked for by name */
    s = add_from("[tmc2209 stepper_x]\nshutdown_on_error: True\n", "tmc2209 stepper_x",
                 FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_X, &fx, &f, &err);
    assert_non_null(s);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_DRIVER_ERROR), FS_FAULT_SHUTDOWN);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_DRIVER_WARNING), FS_FAULT_WARN);
    fs_faults_free(f);
    cfg_fixture_free(&fx);
    s = add_from("[extruder]\non_fault: disable\non_sensor_glitch: disable\n", "extruder",
                 FS_FAULT_CLASS_HEATER, 0, &fx, &f, &err);
    assert_non_null(s);
    assert_int_equal(fs_fault_source_action(s, FS_FAULT_SENSOR_GLITCH), FS_FAULT_DISABLE);
    fs_faults_free(f);
    cfg_fixture_free(&fx);

    expect_rejected("[extruder]\nshutdown_on_error: True\non_fault: pause\n", "extruder",
                    FS_FAULT_CLASS_HEATER, 0, "either on_fault or shutdown_on_error");
    expect_rejected("[extruder]\non_fault_gcode: M117 a\non_error_gcode: M117 b\n", "extruder",
                    FS_FAULT_CLASS_HEATER, 0, "either on_fault_gcode or on_error_gcode");
}

static void test_kind_the_class_cannot_raise_is_an_error(void **state)
{
    (void)state;
    expect_rejected("[extruder]\non_runout: pause\n", "extruder", FS_FAULT_CLASS_HEATER, 0,
                    "printer.cfg:2: [extruder] on_runout: a heater cannot raise runout; the kinds "
                    "it can raise are: sensor_open, sensor_short, sensor_glitch");
    expect_rejected("[extruder]\non_sensor_open: explode\n", "extruder", FS_FAULT_CLASS_HEATER,
                    0, "[extruder] on_sensor_open: expected one of 'log'");
    expect_rejected("[extruder]\nfault_tolerance: 0\n", "extruder", FS_FAULT_CLASS_HEATER, 0,
                    "[extruder] fault_tolerance: expected a number above 0");
}

static void test_duplicate_source_rejected(void **state)
{
    (void)state;
    struct fs_error err = {{0}};
    struct fs_faults *f = fs_faults_new(NULL, NULL, NULL, &err);
    assert_non_null(f);
    assert_non_null(
        fs_faults_add_source(f, "extruder", FS_FAULT_CLASS_HEATER, 0, NULL, NULL, NULL, &err));
    assert_null(
        fs_faults_add_source(f, "extruder", FS_FAULT_CLASS_HEATER, 0, NULL, NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "'extruder' added twice"));
    fs_faults_free(f);
}

static void test_fault_policy_section(void **state)
{
    (void)state;
    struct fs_fault_policy_config pc;
    struct fs_error err = {{0}};
    assert_int_equal(fs_fault_policy_read(NULL, &pc, &err), 0);
    assert_int_equal(pc.profile, FS_FAULT_PROFILE_FAILSOFT);
    assert_int_equal(pc.pause_heaters, FS_FAULT_PAUSE_HEATERS_KEEP);
    assert_true(isnan(pc.park_x) && isnan(pc.park_y));
    assert_true(pc.park_z_lift == 10.0 && pc.park_speed == 100.0 && pc.z_lift_speed == 10.0);
    assert_true(pc.pause_standby_temp_c == 150.0 && pc.pause_heaters_timeout_s == 600.0);
    assert_true(pc.pause_idle_timeout_s == 0.0 && pc.escalate_window_s == 60.0);
    assert_int_equal(pc.escalate_count, 3);
    assert_true(pc.capsule_seconds == 10.0);
    assert_string_equal(pc.journal_path, "");

    struct cfg_fixture fx;
    cfg_fixture_load(&fx, "[fault_policy]\nprofile: strict\npause_heaters: standby\n"
                          "pause_standby_temp: 120\npark_x: 5\npark_z_lift: 4\n"
                          "escalate_count: 5\nescalate_window: 30\njournal_path: faults\n"
                          "capsule_seconds: 3\n");
    if (fs_fault_policy_read(fx.cfg, &pc, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(pc.profile, FS_FAULT_PROFILE_STRICT);
    assert_int_equal(pc.pause_heaters, FS_FAULT_PAUSE_HEATERS_STANDBY);
    assert_true(pc.pause_standby_temp_c == 120.0 && pc.park_x == 5.0 && isnan(pc.park_y));
    assert_true(pc.park_z_lift == 4.0 && pc.escalate_window_s == 30.0);
    assert_int_equal(pc.escalate_count, 5);
    char expected[256];
    snprintf(expected, sizeof(expected), "%s/faults", fx.dir);
    assert_string_equal(pc.journal_path, expected);
    assert_int_equal(fs_config_check_unused(fx.cfg, &err), 0);
    cfg_fixture_free(&fx);

    cfg_fixture_load(&fx, "[fault_policy]\n\nescalate_count: 1\n");
    assert_int_equal(fs_fault_policy_read(fx.cfg, &pc, &err), -1);
    assert_non_null(strstr(err.msg, "printer.cfg:3: [fault_policy] escalate_count"));
    cfg_fixture_free(&fx);
    cfg_fixture_load(&fx, "[fault_policy]\nprofile: lenient\n");
    assert_int_equal(fs_fault_policy_read(fx.cfg, &pc, &err), -1);
    assert_non_null(strstr(err.msg, "printer.cfg:2: [fault_policy] profile"));
    cfg_fixture_free(&fx);
    cfg_fixture_load(&fx, "[fault_policy]\npark_speed: 0\n");
    assert_int_equal(fs_fault_policy_read(fx.cfg, &pc, &err), -1);
    assert_non_null(strstr(err.msg, "park_speed: expected a number above 0"));
    cfg_fixture_free(&fx);
}

static void test_catalogue_names_round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < FS_FAULT_KIND_COUNT; k++) {
        const struct fs_fault_kind_info *info = fs_fault_kind_info((enum fs_fault_kind)k);
        assert_non_null(info);
        assert_int_equal(info->kind, k);
        assert_int_equal(fs_fault_kind_from_name(info->name), k);
        assert_true(info->detected[0] && info->tuned_by[0] && info->classes);
    }
    assert_int_equal(fs_fault_kind_from_name("sensor_opn"), -1);
    for (int a = 0; a < FS_FAULT_ACTION_COUNT; a++)
        assert_int_equal(fs_fault_action_from_name(fs_fault_action_name((enum fs_fault_action)a)),
                         a);
    assert_string_equal(fs_fault_kind_info(FS_FAULT_SENSOR_OPEN)->tuned_by,
                        "fault_tolerance, min_temp, max_temp");
    assert_string_equal(fs_fault_kind_info(FS_FAULT_EMERGENCY_STOP)->tuned_by, "M112");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sensor_open_warn_on_heater_rejected_naming_floor),
        cmocka_unit_test(test_uncommanded_heating_pause_rejected),
        cmocka_unit_test(test_every_floor_row_rejects_below_and_accepts_floor),
        cmocka_unit_test(test_floors_match_the_fault_model),
        cmocka_unit_test(test_mcu_floor_depends_on_axes),
        cmocka_unit_test(test_driver_error_floor_on_axis_and_extruder),
        cmocka_unit_test(test_profile_defaults),
        cmocka_unit_test(test_strict_profile_from_config_shuts_down_a_heater),
        cmocka_unit_test(test_on_fault_blanket_and_kind_override),
        cmocka_unit_test(test_shutdown_on_error_spellings),
        cmocka_unit_test(test_kind_the_class_cannot_raise_is_an_error),
        cmocka_unit_test(test_duplicate_source_rejected),
        cmocka_unit_test(test_fault_policy_section),
        cmocka_unit_test(test_catalogue_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
