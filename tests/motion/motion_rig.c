/* The motion tests' simulated printer (motion_rig.h): building it in the
 * printer's own module order and taking it down again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>  /* snprintf */
#include <string.h> /* memset */

#include "motion_rig.h"

#include "config/config.h"              /* fs_config_load_string */
#include "fault/fault.h"                /* fs_faults_* */
#include "gcode/gcode.h"                /* fs_gcode_* */
#include "mcu/mcu.h"                    /* fs_mcu_configure */
#include "motion/firmware_retraction.h" /* fs_firmware_retraction_new */
#include "motion/gcode_move.h"          /* fs_gcode_move_new */
#include "motion/halt.h"                /* fs_toolhead_halt_* */
#include "motion/homing.h"              /* fs_homing_new */
#include "motion/stepper.h"             /* fs_stepsync_free */
#include "motion/toolhead.h"            /* fs_toolhead_* */
#include "thermal/heaters.h"            /* fs_heaters_new */

static void on_output(void *arg, const char *text)
{
    struct motion_rig *r = arg;
    snprintf(r->last_output, sizeof(r->last_output), "%s", text);
}

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    (void)eventtime;
    struct motion_rig *r = arg;
    if (ev != FS_MCU_EVENT_SHUTDOWN)
        return;
    r->shutdowns++;
    snprintf(r->shutdown_reason, sizeof(r->shutdown_reason), "%s", detail);
    print_message("mcu '%s' shut down: %s\n", fs_mcu_name(m), detail);
}

/* The printer's side as the fault module sees it: halts go to the
 * toolhead for real, the rest is counted. */
static void act_halt_motion(void *arg)
{
    struct motion_rig *r = arg;
    r->halts++;
    fs_toolhead_halt_now(r->printer.toolhead);
}

static int act_finish_halt(void *arg, unsigned untrusted_axes, struct fs_error *err)
{
    struct motion_rig *r = arg;
    r->finished_halts++;
    return fs_toolhead_halt_finish(r->printer.toolhead, untrusted_axes, err);
}

static int act_pause(void *arg, struct fs_error *err)
{
    (void)err;
    struct motion_rig *r = arg;
    r->pauses++;
    return 0;
}

static unsigned act_homed_axes(void *arg)
{
    struct motion_rig *r = arg;
    return fs_toolhead_homed_axes(r->printer.toolhead);
}

static void add_faults(struct motion_rig *r)
{
    struct fs_error err = {{0}};
    struct fs_fault_policy_config pc;
    if (fs_fault_policy_read(r->cfg, &pc, &err) < 0 ||
        !(r->printer.faults = fs_faults_new(&r->host.reactor, NULL, &pc, &err)))
        fail_msg("faults: %s", err.msg);
    struct fs_fault_actions a = {
        .arg = r,
        .halt_motion = act_halt_motion,
        .pause = act_pause,
        .finish_halt = act_finish_halt,
        .homed_axes = act_homed_axes,
    };
    fs_faults_set_actions(r->printer.faults, &a);
}

void motion_rig_build(struct motion_rig *r, const struct motion_rig_options *o)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    struct fs_printer *p = &r->printer;
    assert_int_equal(sim_host_init(h, o->seed, NULL, &err), 0);
    int loaded = o->cfg_text ? fs_config_load_string(o->cfg_text, "test.cfg", &r->cfg, &err)
                             : fs_config_load(o->cfg_path, &r->cfg, &err);
    if (loaded < 0 || sim_printer_build(h, r->cfg, &r->sp, &err) < 0 ||
        sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("setup: %s", err.msg);
    if (o->faults)
        add_faults(r);
    p->reactor = &h->reactor;
    p->config = r->cfg;
    p->gcode = fs_gcode_new(&err);
    assert_non_null(p->gcode);
    fs_gcode_set_output(p->gcode, on_output, r);
    for (int i = 0; i < h->mcu_count; i++) {
        p->mcus[p->mcu_count++] = h->mcus[i];
        fs_mcu_set_event_handler(h->mcus[i], on_event, r);
    }
    /* The modules in the printer's order (printer/modules.c). */
    if (o->heaters && !(p->heaters = fs_heaters_new(p, &err)))
        fail_msg("heaters: %s", err.msg);
    if (!(p->toolhead = fs_toolhead_new(p, &err)) ||
        !(p->homing = fs_homing_new(p->toolhead, &err)) ||
        !(p->gcode_move = fs_gcode_move_new(p->toolhead, p->gcode, &err)))
        fail_msg("motion: %s", err.msg);
    struct fs_config_section *retraction =
        o->firmware_retraction ? fs_config_get_section(r->cfg, "firmware_retraction") : NULL;
    if (retraction &&
        !(p->firmware_retraction = fs_firmware_retraction_new(retraction, p->gcode, &err)))
        fail_msg("firmware_retraction: %s", err.msg);
    if (o->reserved_slots &&
        fs_stepsync_reserve_slots(p->stepsyncs[0], o->reserved_slots, &err) < 0)
        fail_msg("reserve: %s", err.msg);
    for (int i = 0; i < p->mcu_count; i++)
        if (fs_mcu_configure(p->mcus[i], 5.0, &err) < 0)
            fail_msg("configure: %s", err.msg);
}

void motion_rig_destroy(struct motion_rig *r)
{
    struct fs_printer *p = &r->printer;
    if (p->firmware_retraction)
        fs_firmware_retraction_free(p->firmware_retraction);
    fs_gcode_move_free(p->gcode_move);
    fs_homing_free(p->homing);
    fs_toolhead_free(p->toolhead);
    if (p->heaters)
        fs_heaters_free(p->heaters);
    for (int i = 0; i < p->mcu_count; i++)
        fs_stepsync_free(p->stepsyncs[i]);
    fs_gcode_free(p->gcode);
    if (p->faults)
        fs_faults_free(p->faults);
    sim_host_free(&r->host);
    fs_config_free(r->cfg);
}

int motion_rig_run(struct motion_rig *r, const char *line)
{
    fs_error_clear(&r->err);
    return fs_gcode_run_line(r->printer.gcode, line, "test", &r->err);
}

void motion_rig_ok(struct motion_rig *r, const char *line)
{
    if (motion_rig_run(r, line) < 0)
        fail_msg("%s: %s", line, r->err.msg);
}
