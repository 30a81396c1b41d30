/* Acceptance tests of issue 4 around heaters other than the hotend's
 * sensor, on real slicer prints in the simulator:
 *   - a chamber heater failure under `on_fault: disable` switches the
 *     chamber off and the print completes as the file commands;
 *   - a heater stuck on shuts the printer down whatever the configuration
 *     says, and the shutdown switches the power relay off;
 *   - a configuration asking for less than a safety floor
 *     (`on_uncommanded_heating: pause`, `on_sensor_open: warn` on a heater)
 *     is rejected at load with a message naming the floor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */
#include <string.h>      /* strstr */

#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* struct fs_fault_record */
#include "fault_rig.h"       /* fault_rig_* */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_inject.h"      /* sim_inject_* */
#include "sim_session.h"     /* sim_session_report */
#include "sim_world.h"       /* sim_world_thermistor */
#include "thermal/heaters.h" /* fs_heaters_lookup */

#define GCODE "prusaslicer-cylinder20.gcode"

static void test_chamber_failure_is_disabled_and_the_print_completes(void **state)
{
    (void)state;
    char path[512];
    fault_rig_gcode(GCODE, path, sizeof(path));
    struct fault_rig r;
    fault_rig_open(&r, fault_rig_chamber_cfg, 5);
    fault_rig_line(&r, "SET_HEATER_TEMPERATURE HEATER=chamber TARGET=35");
    fault_rig_start_print(&r, path);
    fault_rig_run_until_progress(&r, 0.2, 3000);
    struct fault_rig_at at;
    fault_rig_at(&r, &at, fault_rig_now(&r) + 0.05, fault_rig_open_chamber_sensor, &r);
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);

    const struct fs_fault_record *rec =
        fault_rig_record(&r, "heater_generic chamber", "sensor_open");
    assert_non_null(rec);
    assert_int_equal(rec->action, FS_FAULT_DISABLE);
    double temp, target;
    fs_heater_get_temp(fs_heaters_lookup(r.p->heaters, "chamber"), &temp, &target);
    assert_true(target == 0.0);
    /* A file (or a person) asking the disabled chamber for heat gets a
     * warning, not an error that would end the job; it stays off. */
    fault_rig_line(&r, "SET_HEATER_TEMPERATURE HEATER=chamber TARGET=40");
    fs_heater_get_temp(fs_heaters_lookup(r.p->heaters, "chamber"), &temp, &target);
    assert_true(target == 0.0);
    assert_true(sim_world_heater_drive(r.w, fault_rig_plant_heater(&r, "heater_generic chamber"))
                == 0.0);
    fault_rig_close(&r);
}

static void test_config_below_a_floor_is_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *cfg, *must[4];
    } cases[] = {
        {"[extruder]\non_uncommanded_heating: pause\n",
         {"extruder", "on_uncommanded_heating", "shutdown", "floor"}},
        {"[heater_bed]\non_sensor_open: warn\n",
         {"heater_bed", "on_sensor_open", "disable", "floor"}},
        {"[extruder]\non_fault: log\n", {"extruder", "on_fault", "disable", "floor"}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fault_rig r;
        struct fs_error err = {{0}};
        assert_int_equal(fault_rig_try_open(&r, cases[i].cfg, 1, &err), -1);
        print_message("rejected: %s\n", err.msg);
        for (int k = 0; k < 4; k++)
            if (!strstr(err.msg, cases[i].must[k]))
                fail_msg("the message does not name '%s': %s", cases[i].must[k], err.msg);
        assert_non_null(strstr(err.msg, "printer.cfg:"));
        fault_rig_close(&r);
    }
}

static void weld_hotend_switch(void *arg)
{
    struct fault_rig *r = arg;
    struct sim_heater_fault f = {.kind = SIM_HEATER_STUCK_ON};
    struct fs_error err;
    if (sim_inject_heater(r->w, fault_rig_plant_heater(r, "extruder"), &f, &err) < 0)
        fail_msg("%s", err.msg);
}

/* The mildest policy a configuration may give the hotend is disable; a
 * welded switch still shuts the printer down (the floor of
 * uncommanded_heating is shutdown). */
static void test_heater_stuck_on_shuts_down_whatever_the_config(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[extruder]\non_fault: disable\n\n[fault_policy]\npower_relay_pin: PA6\n",
                   6);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.2, 3000);
    /* The power relay is on while the machine runs. */
    assert_int_equal(sim_world_pin_level(r.w, "mcu", "PA6"), 1);
    struct fault_rig_at at;
    double t0 = fault_rig_now(&r) + 0.05;
    fault_rig_at(&r, &at, t0, weld_hotend_switch, &r);
    double deadline = t0 + 120;
    while (!r.p->is_shutdown && fault_rig_now(&r) < deadline) {
        fault_rig_run_for(&r, 5);
        double temp, target;
        fs_heater_get_temp(fs_heaters_lookup(r.p->heaters, "extruder"), &temp, &target);
        print_message("t+%.0f s: extruder %.1f C (target %.1f), block %.1f C\n",
                      fault_rig_now(&r) - t0, temp, target,
                      sim_world_heater_temp_c(r.w, fault_rig_plant_heater(&r, "extruder")));
    }
    for (int i = 0; i < fs_faults_record_count(r.p->faults); i++)
        print_message("fault: %s %s -> %s: %s\n", fs_faults_record_at(r.p->faults, i)->source,
                      fs_fault_kind_name(fs_faults_record_at(r.p->faults, i)->kind),
                      fs_fault_action_name(fs_faults_record_at(r.p->faults, i)->action),
                      fs_faults_record_at(r.p->faults, i)->evidence);
    assert_true(r.p->is_shutdown);
    /* One fault: the shutdown it caused is not reported again as M112. */
    assert_int_equal(fs_faults_record_count(r.p->faults), 1);
    const struct fs_fault_record *rec = fault_rig_record(&r, "extruder", "uncommanded_heating");
    assert_non_null(rec);
    assert_int_equal(rec->action, FS_FAULT_SHUTDOWN);
    /* ... and the shutdown switched it off: the welded switch has no
     * supply left. */
    fault_rig_run_for(&r, 0.5);
    assert_int_equal(sim_world_pin_level(r.w, "mcu", "PA6"), 0);
    print_message("uncommanded heating %.1f s after the switch welded: %s\n", rec->time - t0,
                  rec->evidence);
    char evidence[256];
    assert_true(fault_rig_journal_count(&r, "extruder", "uncommanded_heating", evidence,
                                        sizeof(evidence), NULL, 0) >= 1);
    fault_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chamber_failure_is_disabled_and_the_print_completes),
        cmocka_unit_test(test_heater_stuck_on_shuts_down_whatever_the_config),
        cmocka_unit_test(test_config_below_a_floor_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
