/* The printer's modules in load order. Heaters come first (the extruder's
 * cold-extrusion check looks them up), then the toolhead with its rails and
 * extruder, homing, the G-code move layer, firmware retraction (its G10/G11
 * go through G1), the print job, and last the macros, which may call any
 * command registered before them. */
#include "printer/modules.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp */

#include "config/config.h"    /* fs_config_section_* */
#include "drivers/tmc2209.h"   /* fs_tmc_drivers_new */
#include "core/error.h"       /* fs_error_set */
#include "gcode/macro.h"      /* fs_macro_from_config */
#include "job/job.h"          /* fs_job_new */
#include "motion/firmware_retraction.h" /* fs_firmware_retraction_new */
#include "motion/gcode_move.h" /* fs_gcode_move_new */
#include "motion/homing.h"    /* fs_homing_new */
#include "motion/toolhead.h"  /* fs_toolhead_new */
#include "printer/printer.h"  /* struct fs_printer */
#include "fault/fault.h"      /* fs_fault_raise */
#include "printer/fault_actions.h" /* fs_printer_faults_* */
#include "printer/mcu_recovery.h" /* fs_printer_mcu_recovery_register */
#include "printer/printer_gcode.h" /* fs_printer_gcode_register */
#include "printer/status.h"   /* fs_printer_status_lookup */
#include "sensors/filament_sensors.h" /* fs_filament_sensors_new */
#include "thermal/heaters.h"  /* fs_heaters_new */

/* M112 is a fault like any other, with a floor no policy can lower. A
 * shutdown already under way stops the job through the same path: that is
 * not a second fault. */
static void on_emergency(void *arg, const char *reason)
{
    struct fs_printer *p = arg;
    if (p->is_shutdown)
        return;
    fs_fault_raise(p->printer_fault_source, FS_FAULT_EMERGENCY_STOP, "%s", reason);
}

static int add_macros(struct fs_printer *p, struct fs_error *err)
{
    struct fs_config *cfg = p->config;
    int count = 0;
    for (int i = 0; i < fs_config_section_count(cfg); i++)
        if (!strcmp(fs_config_section_kind(fs_config_section_at(cfg, i)), "gcode_macro"))
            count++;
    if (!count)
        return 0;
    p->macros = calloc((size_t)count, sizeof(*p->macros));
    if (!p->macros)
        return fs_error_set(err, "out of memory for %d macros", count);
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        if (strcmp(fs_config_section_kind(s), "gcode_macro"))
            continue;
        struct fs_macro *m = fs_macro_from_config(s, err);
        if (!m)
            return -1;
        p->macros[p->macro_count++] = m;
        if (fs_macro_register(p->gcode, m, fs_printer_status_lookup, p, err) < 0)
            return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                                   fs_config_section_name(s));
    }
    return 0;
}

int fs_printer_modules_init(struct fs_printer *p, struct fs_error *err)
{
    if (fs_printer_faults_init(p, err) < 0)
        return -1;
    p->heaters = fs_heaters_new(p, err);
    if (!p->heaters)
        return -1;
    p->toolhead = fs_toolhead_new(p, err);
    if (!p->toolhead)
        return -1;
    p->homing = fs_homing_new(p->toolhead, err);
    if (!p->homing)
        return -1;
    p->gcode_move = fs_gcode_move_new(p->toolhead, p->gcode, err);
    if (!p->gcode_move)
        return -1;
    struct fs_config_section *retraction = fs_config_get_section(p->config, "firmware_retraction");
    if (retraction && !(p->firmware_retraction = fs_firmware_retraction_new(retraction, p->gcode,
                                                                            err)))
        return -1;
    p->tmc_drivers = fs_tmc_drivers_new(p, err);
    if (!p->tmc_drivers)
        return -1;
    struct fs_job_config jc;
    if (fs_job_config_read(p->config, &jc, err) < 0 || fs_job_new(p, &jc, &p->job, err) < 0)
        return -1;
    fs_job_set_emergency_handler(p->job, on_emergency, p);
    /* After the job: runout and jam are raised only while it prints. */
    p->filament_sensors = fs_filament_sensors_new(p, err);
    if (!p->filament_sensors)
        return -1;
    if (fs_printer_gcode_register(p, err) < 0 || fs_printer_mcu_recovery_register(p, err) < 0 ||
        add_macros(p, err) < 0)
        return -1;
    return fs_printer_faults_connect(p, err);
}

int fs_printer_modules_ready(struct fs_printer *p, struct fs_error *err)
{
    (void)p;
    (void)err;
    return 0;
}

void fs_printer_modules_shutdown(struct fs_printer *p, const char *reason)
{
    if (p->heaters)
        fs_heaters_turn_off_all(p->heaters);
    if (p->job)
        fs_job_emergency_stop(p->job, reason);
}

void fs_printer_modules_free(struct fs_printer *p)
{
    for (int i = 0; i < p->macro_count; i++)
        fs_macro_free(p->macros[i]);
    free(p->macros);
    p->macros = NULL;
    p->macro_count = 0;
    /* The dispatcher still holds the job's handlers; the printer frees the
     * dispatcher right after this, and nothing runs in between. */
    fs_filament_sensors_free(p->filament_sensors);
    fs_job_free(p->job);
    fs_tmc_drivers_free(p->tmc_drivers);
    fs_firmware_retraction_free(p->firmware_retraction);
    fs_gcode_move_free(p->gcode_move);
    fs_homing_free(p->homing);
    fs_toolhead_free(p->toolhead);
    fs_heaters_free(p->heaters);
    fs_printer_faults_free(p);
    p->job = NULL;
    p->filament_sensors = NULL;
    p->tmc_drivers = NULL;
    p->firmware_retraction = NULL;
    p->gcode_move = NULL;
    p->homing = NULL;
    p->toolhead = NULL;
    p->heaters = NULL;
}
