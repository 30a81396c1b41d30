/* Faults in sequence, as a person meets them on a real slicer print in the
 * simulator: a fault that arrives while the job is already paused (by a
 * person or by another fault), a clear of one source while another is
 * still active, a cancel in a fault pause. Each test checks what the
 * person would check next: the heaters, RESUME, the print completing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <string.h> /* strstr */

#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* struct fs_fault_record */
#include "fault_rig.h"       /* fault_rig_* */
#include "printer/printer.h" /* struct fs_printer */
#include "thermal/heaters.h" /* fs_heaters_lookup */

#define GCODE "prusaslicer-cylinder20.gcode"

static double heater_target(struct fault_rig *r, const char *name)
{
    double temp, target;
    fs_heater_get_temp(fs_heaters_lookup(r->p->heaters, name), &temp, &target);
    return target;
}

static enum fs_job_state job_state(struct fault_rig *r)
{
    struct fs_job_status st;
    fs_job_get_status(r->p->job, &st);
    return st.state;
}

/* A person paused the print (heaters kept), then a halt came (all heaters
 * off). Once the halt is acknowledged and cleared, RESUME must bring the
 * heaters back to the print's targets before printing on: the halt made
 * the person's pause a fault pause. */
static void test_halt_during_a_person_pause_reheats_on_resume(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, NULL, 21);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    double hotend = heater_target(&r, "extruder"), bed = heater_target(&r, "heater_bed");
    assert_true(hotend > 0 && bed > 0);
    fault_rig_line(&r, "PAUSE");
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    fault_rig_line(&r, "FAULT_TEST SOURCE=toolhead KIND=timing_overrun");
    fault_rig_run_for(&r, 1.0);
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    /* The halt switched every heater off. */
    assert_true(heater_target(&r, "extruder") == 0.0);
    assert_true(heater_target(&r, "heater_bed") == 0.0);
    fault_rig_line(&r, "FAULT_ACK");
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=toolhead");
    fault_rig_line(&r, "RESUME");
    /* Not a cold continuation: RESUME heated back to the print's targets. */
    if (heater_target(&r, "extruder") != hotend || heater_target(&r, "heater_bed") != bed)
        fail_msg("after RESUME the extruder's target is %.1f (the print's %.1f), the bed's "
                 "%.1f (the print's %.1f)", heater_target(&r, "extruder"), hotend,
                 heater_target(&r, "heater_bed"), bed);
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    fault_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halt_during_a_person_pause_reheats_on_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
