/* Acceptance test of issue 4 for a lost board, on a real slicer print in
 * the simulator: the toolboard's link is cut for 3 s mid-print under
 * `pause`; the toolboard's heater goes off by its own watchdog, the print
 * pauses with the main board holding position, the link returns,
 * MCU_RECONNECT and RESUME, and the print completes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */
#include <stdio.h>       /* snprintf */

#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* struct fs_fault_record */
#include "fault_rig.h"       /* fault_rig_* */
#include "motion/toolhead.h" /* fs_toolhead_get_status */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_session.h"     /* sim_session_report */
#include "sim_world.h"       /* sim_world_mcu_is_shutdown */

#define GCODE "prusaslicer-cylinder20.gcode"

/* must_kind: the fault the cut has to raise, or NULL when either is right. */
static void toolboard_link_cut(double cut_s, const char *must_kind, uint64_t seed)
{
    char path[512];
    fault_rig_gcode(GCODE, path, sizeof(path));
    struct fault_rig r;
    fault_rig_open(&r, "[mcu toolboard]\non_fault: pause\n", seed);
    fault_rig_start_print(&r, path);
    fault_rig_run_until_progress(&r, 0.3, 3000);

    int hotend = fault_rig_plant_heater(&r, "extruder");
    struct fault_rig_at at;
    struct fault_rig_pin_watch pin;
    double t0 = fault_rig_now(&r) + 0.05;
    struct fault_rig_cut cut = {&r, cut_s};
    fault_rig_at(&r, &at, t0, fault_rig_cut_toolboard, &cut);
    fault_rig_watch_pin(&r, &pin, hotend, t0);
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 120);
    fault_rig_print_faults(&r);
    /* Which fault the toolboard raises first depends on the moment: a
     * silence long enough is comm_lost; before that, the step commands it
     * missed arrive late when the link returns and its firmware shuts down
     * ("Stepper too far in past"). Either way the board is not under
     * control and the policy is the same. */
    const struct fs_fault_record *rec = fault_rig_record(&r, "mcu toolboard", "comm_lost");
    if (!rec)
        rec = fault_rig_record(&r, "mcu toolboard", "mcu_shutdown");
    assert_non_null(rec);
    if (must_kind)
        assert_string_equal(fs_fault_kind_name(rec->kind), must_kind);
    assert_int_equal(rec->action, FS_FAULT_PAUSE);
    print_message("%s %.2f s after the cut: %s\n", fs_fault_kind_name(rec->kind), rec->time - t0,
                  rec->evidence);
    const char *kind = fs_fault_kind_name(rec->kind);

    /* The main board holds the head where it paused, homed. */
    assert_false(r.p->is_shutdown);
    assert_false(sim_world_mcu_is_shutdown(r.w, "mcu"));
    struct fs_toolhead_status th;
    fs_toolhead_get_status(r.p->toolhead, &th);
    assert_int_equal(th.homed_axes, 7);
    double plant[4];
    fault_rig_plant_position(&r, plant);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(plant[i] - th.position[i]) < 0.02);

    /* The link comes back; by then the toolboard's heater window expired
     * and its firmware switched the heater off by itself. */
    fault_rig_run_for(&r, cut_s + 5.0);
    fault_rig_unwatch_pin(&r, &pin);
    print_message("hotend pin last on %.2f s after the cut; toolboard %s\n", pin.last_on - t0,
                  sim_world_mcu_is_shutdown(r.w, "toolboard") ? "shut down" : "running");
    assert_true(sim_world_heater_drive(r.w, hotend) == 0.0);
    assert_true(pin.last_on < t0 + 5.0 + 1.5);

    struct fs_error err;
    fault_rig_line_refused(&r, "RESUME", &err);
    print_message("RESUME refused: %s\n", err.msg);
    fault_rig_line(&r, "MCU_RECONNECT MCU=toolboard");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    assert_true(fault_rig_journal_count(&r, "mcu toolboard", kind, NULL, 0, NULL, 0) >= 1);
    fault_rig_close(&r);
}

/* The case: 3 s. */
static void test_toolboard_link_cut_3s_pauses_and_reconnects(void **state)
{
    (void)state;
    toolboard_link_cut(3.0, NULL, 7);
}

/* Long enough for the host to call it lost and for the heater's window on
 * the board to expire while nobody refreshes it. */
static void test_toolboard_link_cut_8s_is_comm_lost_and_the_watchdog_acts(void **state)
{
    (void)state;
    toolboard_link_cut(8.0, "comm_lost", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toolboard_link_cut_3s_pauses_and_reconnects),
        cmocka_unit_test(test_toolboard_link_cut_8s_is_comm_lost_and_the_watchdog_acts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
