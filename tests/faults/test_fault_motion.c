/* Acceptance tests of issue 4 for motion faults, on real slicer prints in
 * the simulator:
 *   - a TMC2209 driver error on X halts, unhomes X and keeps Y and Z
 *     homed; after FAULT_ACK a maintenance move and G28 X work, and once the
 *     driver is cool again FAULT_CLEAR and RESUME complete the print;
 *   - filament runout pauses (and runs the sensor's on_fault_gcode with the
 *     fault as its parameters); an unload/load macro and RESUME complete
 *     the print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */

#include "core/error.h"         /* struct fs_error */
#include "fault/fault.h"        /* struct fs_fault_record */
#include "fault_rig.h"          /* fault_rig_* */
#include "motion/toolhead.h"    /* fs_toolhead_get_status */
#include "plant_tmc2209.h"      /* plant_tmc2209_set_conditions */
#include "printer/printer.h"    /* struct fs_printer */
#include "sim_printer_drivers.h" /* sim_printer_driver */
#include "sim_printer_sensors.h" /* sim_printer_filament_* */
#include "sim_session.h"        /* sim_session_report */

#define GCODE "prusaslicer-cylinder20.gcode"

static const char tmc_cfg[] =
    "[tmc2209 stepper_x]\nuart_pin: PD0\nuart_address: 0\nrun_current: 0.8\n\n"
    "[tmc2209 stepper_y]\nuart_pin: PD0\nuart_address: 1\nrun_current: 0.8\n\n"
    "[tmc2209 stepper_z]\nuart_pin: PD0\nuart_address: 2\nrun_current: 0.6\n";

static void overheat_x(void *arg)
{
    struct fault_rig *r = arg;
    plant_tmc2209_set_conditions(sim_printer_driver(r->plant, "stepper_x"), PLANT_TMC_OT);
}

static void test_driver_error_on_x_halts_and_unhomes_only_x(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, tmc_cfg, 9);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    struct fault_rig_at at;
    double t0 = fault_rig_now(&r) + 0.05;
    fault_rig_at(&r, &at, t0, overheat_x, &r);
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_print_faults(&r);
    const struct fs_fault_record *rec = fault_rig_record(&r, "tmc2209 stepper_x", "driver_error");
    assert_non_null(rec);
    assert_int_equal(rec->action, FS_FAULT_HALT);
    assert_int_equal(rec->axes_valid, FS_FAULT_AXIS_Y | FS_FAULT_AXIS_Z);
    print_message("driver_error %.2f s after the chip overheated: %s\n", rec->time - t0,
                  rec->evidence);
    struct fs_toolhead_status th;
    fs_toolhead_get_status(r.p->toolhead, &th);
    assert_string_equal(th.homed, "yz");
    /* Y and Z kept their positions: the engine agrees with the motors. */
    double plant[4];
    fault_rig_plant_position(&r, plant);
    assert_true(fabs(plant[1] - th.position[1]) < 0.02);
    assert_true(fabs(plant[2] - th.position[2]) < 0.01);

    /* Nothing moves until the halt is acknowledged. */
    struct fs_error err;
    fault_rig_line_refused(&r, "G1 Y100 F3000", &err);
    print_message("before FAULT_ACK: %s\n", err.msg);
    fault_rig_line(&r, "FAULT_ACK");
    fault_rig_line(&r, "G91");
    fault_rig_line(&r, "G1 Z2 F600");
    fault_rig_line(&r, "G90");
    fault_rig_line(&r, "M400");
    /* The chip cools down; X is homed again; the print goes on. */
    plant_tmc2209_set_conditions(sim_printer_driver(r.plant, "stepper_x"), 0);
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=\"tmc2209 stepper_x\"");
    fault_rig_line(&r, "G28 X");
    fs_toolhead_get_status(r.p->toolhead, &th);
    assert_string_equal(th.homed, "xyz");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    assert_true(fault_rig_journal_count(&r, "tmc2209 stepper_x", "driver_error", NULL, 0, NULL,
                                        0) >= 1);
    fault_rig_close(&r);
}

static const char runout_cfg[] =
    "[filament_switch_sensor runout]\nswitch_pin: ^toolboard:PA10\n"
    "on_fault_gcode: M117 {params.KIND} at {params.SOURCE}: {params.ACTION}\n\n"
    "[gcode_macro UNLOAD_FILAMENT]\ngcode:\n    M83\n    G1 E-40 F1200\n    M82\n\n"
    "[gcode_macro LOAD_FILAMENT]\ngcode:\n    M83\n    G1 E40 F600\n    G1 E10 F150\n    M82\n";

static void run_out(void *arg)
{
    struct fault_rig *r = arg;
    assert_int_equal(sim_printer_filament_run_out(r->w, "extruder", 0.0), 0);
}

static void test_runout_pauses_and_a_reload_completes_the_print(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, runout_cfg, 10);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.4, 3000);
    struct fault_rig_at at;
    double t0 = fault_rig_now(&r) + 0.05;
    fault_rig_at(&r, &at, t0, run_out, &r);
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 60);
    fault_rig_print_faults(&r);
    const struct fs_fault_record *rec =
        fault_rig_record(&r, "filament_switch_sensor runout", "runout");
    assert_non_null(rec);
    assert_int_equal(rec->action, FS_FAULT_PAUSE);
    struct fs_toolhead_status th;
    fs_toolhead_get_status(r.p->toolhead, &th);
    assert_string_equal(th.homed, "xyz");
    /* The owner's macro ran after the action, with the fault as params. */
    struct fs_job_status js;
    fs_job_get_status(r.p->job, &js);
    assert_string_equal(js.display_message, "runout at filament_switch_sensor runout: pause");

    struct fs_error err;
    fault_rig_line_refused(&r, "RESUME", &err);
    fault_rig_line(&r, "UNLOAD_FILAMENT");
    assert_int_equal(sim_printer_filament_reload(r.w, "extruder"), 0);
    fault_rig_run_for(&r, 1.0);
    fault_rig_line(&r, "LOAD_FILAMENT");
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=\"filament_switch_sensor runout\"");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    fault_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_error_on_x_halts_and_unhomes_only_x),
        cmocka_unit_test(test_runout_pauses_and_a_reload_completes_the_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
