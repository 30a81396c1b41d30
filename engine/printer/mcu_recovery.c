/* MCU_RECONNECT and what the printer forgets about an MCU whose state was
 * lost (see mcu_recovery.h).
 *
 * Setpoints are not restored: a heater that went cold while its MCU was
 * away must not start heating again because a link came back; a person
 * sets its target again (or RESUME does, from the saved state). Which heater
 * is on which MCU is read back from its heater_pin option, so the thermal
 * code needs no MCU bookkeeping of its own. */
#include "printer/mcu_recovery.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, strncmp */

#include "config/config.h"    /* fs_config_get_section, fs_config_get_pin */
#include "core/error.h"       /* fs_error_set */
#include "core/log.h"         /* fs_log */
#include "fault/fault.h"      /* fs_faults_clear */
#include "gcode/gcode.h"      /* fs_gcode_register */
#include "mcu/mcu.h"          /* fs_mcu_reconnect */
#include "printer/fault_actions.h" /* fs_printer_mcu_fault_source */
#include "motion/toolhead.h"  /* fs_toolhead_wait_moves, fs_toolhead_clear_homed */
#include "printer/printer.h"  /* struct fs_printer */
#include "thermal/heater.h"   /* fs_heater_set_target */
#include "thermal/heaters.h"  /* fs_heaters_at */

#define RECOVERY_TIMEOUT_S 10.0
#define RECOVERY_AXIS_X 0x1u
#define RECOVERY_AXIS_Y 0x2u
#define RECOVERY_AXIS_Z 0x4u

static int pin_on_mcu(struct fs_config_section *s, const char *option, const struct fs_mcu *m)
{
    if (!s || !fs_config_has(s, option))
        return 0;
    struct fs_pin_desc pin;
    struct fs_error ignored;
    if (fs_config_get_pin(s, option, 0, 1, 1, &pin, &ignored) < 0)
        return 0;
    return !strcmp(pin.mcu, fs_mcu_name(m));
}

/* The section a heater was made from: [extruder], [heater_bed],
 * [heater_generic chamber]. */
static struct fs_config_section *heater_section(struct fs_printer *p, const char *name)
{
    struct fs_config_section *s = fs_config_get_section(p->config, name);
    if (s)
        return s;
    char buf[96];
    snprintf(buf, sizeof(buf), "heater_generic %s", name);
    return fs_config_get_section(p->config, buf);
}

static int heater_on_mcu(struct fs_printer *p, const char *name, const struct fs_mcu *m)
{
    return p->config && pin_on_mcu(heater_section(p, name), "heater_pin", m);
}

/* resend: say "off" to the MCU even where the target is 0 already. */
static int heaters_off(struct fs_printer *p, const struct fs_mcu *m, int resend)
{
    if (!p->heaters)
        return 0;
    int count = 0;
    for (int i = 0; i < fs_heaters_count(p->heaters); i++) {
        struct fs_heater *h = fs_heaters_at(p->heaters, i);
        if (!fs_heater_has_output(h) || !heater_on_mcu(p, fs_heater_name(h), m))
            continue;
        count++;
        double temp, target;
        fs_heater_get_temp(h, &temp, &target);
        if (target == 0.0 && !resend)
            continue;
        struct fs_error err;
        if (fs_heater_set_target(h, 0.0, &err) < 0)
            fs_log(p->log, FS_LOG_WARN, "%s", err.msg);
        else if (target != 0.0)
            fs_log(p->log, FS_LOG_INFO, "heater %s: target %.1f dropped: mcu '%s' is away",
                   fs_heater_name(h), target, fs_mcu_name(m));
    }
    return count;
}

int fs_printer_mcu_heaters_off(struct fs_printer *p, const struct fs_mcu *m)
{
    return heaters_off(p, m, 0);
}

/* Axes (bit per X Y Z) that steppers on m move, from the rails' step_pin.
 * On a corexy machine stepper_x and stepper_y each move both X and Y, so
 * either unhomes both. */
static unsigned axes_on_mcu(struct fs_printer *p, const struct fs_mcu *m)
{
    static const struct { const char *section; unsigned axes; } rails[] = {
        {"stepper_x", RECOVERY_AXIS_X | RECOVERY_AXIS_Y},
        {"stepper_y", RECOVERY_AXIS_X | RECOVERY_AXIS_Y},
        {"stepper_z", RECOVERY_AXIS_Z}, {"stepper_z1", RECOVERY_AXIS_Z},
        {"stepper_z2", RECOVERY_AXIS_Z}, {"stepper_z3", RECOVERY_AXIS_Z},
    };
    if (!p->config)
        return 0;
    unsigned axes = 0;
    for (size_t i = 0; i < sizeof(rails) / sizeof(rails[0]); i++)
        if (pin_on_mcu(fs_config_get_section(p->config, rails[i].section), "step_pin", m))
            axes |= rails[i].axes;
    return axes;
}

/* fs_mcu_reconnect's reset hook: nothing may be sent to m from here, and
 * nothing is (the targets were dropped when the reconnect began, or they
 * are dropped now with the output refused and its pin at its default). */
static void on_mcu_reset(void *arg, struct fs_mcu *m, int state_lost)
{
    struct fs_printer *p = arg;
    fs_printer_mcu_heaters_off(p, m);
    if (!state_lost)
        return;
    unsigned axes = axes_on_mcu(p, m);
    if (axes && p->toolhead) {
        fs_toolhead_clear_homed(p->toolhead, axes);
        fs_log(p->log, FS_LOG_WARN, "mcu '%s' lost its steppers' state: %s%s%s no longer "
               "homed", fs_mcu_name(m), axes & RECOVERY_AXIS_X ? "X" : "",
               axes & RECOVERY_AXIS_Y ? "Y" : "", axes & RECOVERY_AXIS_Z ? "Z" : "");
    }
}

static int mcu_index(const struct fs_printer *p, const struct fs_mcu *m)
{
    for (int i = 0; i < p->mcu_count; i++)
        if (p->mcus[i] == m)
            return i;
    return -1;
}

static int unknown_mcu(const struct fs_printer *p, const char *name, struct fs_error *err)
{
    char known[256] = "";
    size_t used = 0;
    for (int i = 0; i < p->mcu_count && used < sizeof(known); i++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
                                 fs_mcu_name(p->mcus[i]));
    return fs_error_set(err, "MCU_RECONNECT: unknown mcu '%s' (known: %s)", name, known);
}

int fs_printer_mcu_reconnect(struct fs_printer *p, const char *name, int force,
                             struct fs_error *err)
{
    struct fs_mcu *m = fs_printer_mcu(p, name);
    if (!m)
        return unknown_mcu(p, name, err);
    int idx = mcu_index(p, m);
    int lost = idx >= 0 && (p->mcu_lost_mask & (1u << idx));
    if (!force && !lost && !fs_mcu_needs_reconnect(m))
        return fs_error_set(err, "MCU_RECONNECT: mcu '%s' is connected and running; FORCE=1 "
                            "reconnects it anyway", name);
    if (p->faults && fs_faults_is_shutdown(p->faults))
        return fs_error_set(err, "MCU_RECONNECT: the printer is shut down; FIRMWARE_RESTART "
                            "brings it back");
    if (p->toolhead && p->is_ready)
        fs_toolhead_wait_moves(p->toolhead);
    fs_printer_mcu_heaters_off(p, m);
    int rc = fs_mcu_reconnect(m, RECOVERY_TIMEOUT_S, err);
    if (rc == FS_MCU_RECONNECT_VERSION)
        fs_fault_raise(fs_printer_mcu_fault_source(p, m), FS_FAULT_VERSION_MISMATCH, "%s",
                       err->msg);
    if (rc < 0)
        return fs_error_prefix(err, "MCU_RECONNECT: ");
    /* An MCU that kept its configuration also kept its outputs as they
     * were; the "off" sent before the reconnect went with the old link. */
    heaters_off(p, m, 1);
    if (idx >= 0)
        p->mcu_lost_mask &= ~(1u << idx);
    fs_log(p->log, FS_LOG_INFO, "mcu '%s' reconnected", name);
    if (!p->faults)
        return 0;
    struct fs_fault_source *src = fs_printer_mcu_fault_source(p, m);
    if (src && fs_fault_source_is_faulted(src) && fs_faults_clear(p->faults, src, err) < 0) {
        fs_error_prefix(err, "mcu '%s' reconnected, but its fault stays: ", name);
        return 1;
    }
    return 0;
}

int fs_printer_mcu_versions_check(struct fs_printer *p, const char *expected_version)
{
    char evidence[FS_FAULT_EVIDENCE_MAX];
    int which = fs_mcu_versions_check(p->mcus, p->mcu_count, expected_version, evidence,
                                      sizeof(evidence));
    if (!which)
        return 0;
    fs_log(p->log, FS_LOG_WARN, "firmware versions differ: %s", evidence);
    fs_fault_raise(fs_printer_mcu_fault_source(p, p->mcus[which - 1]),
                   FS_FAULT_VERSION_MISMATCH, "%s", evidence);
    return 1;
}

static int cmd_mcu_reconnect(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                             struct fs_error *err)
{
    struct fs_printer *p = arg;
    const char *name = fs_gcode_get_str(cmd, "MCU", NULL);
    if (!name || !name[0])
        return fs_error_set(err, "MCU_RECONNECT: MCU=<name> is required");
    int force = 0;
    if (fs_gcode_get_int(cmd, "FORCE", 1, 0, 0, 1, &force, err) < 0)
        return -1;
    int rc = fs_printer_mcu_reconnect(p, name, force, err);
    if (rc < 0)
        return -1;
    fs_gcode_respond_info(g, "mcu '%s' reconnected; heaters on it are off: set their "
                          "targets again", name);
    if (rc > 0)
        fs_gcode_respond_error(g, "%s", err->msg);
    return 0;
}

int fs_printer_mcu_recovery_register(struct fs_printer *p, struct fs_error *err)
{
    for (int i = 0; i < p->mcu_count; i++)
        if (fs_mcu_on_reset(p->mcus[i], on_mcu_reset, p, err) < 0)
            return -1;
    return fs_gcode_register(p->gcode, "MCU_RECONNECT", cmd_mcu_reconnect, p,
                             "Bring back a lost, shut-down or restarted MCU: MCU=<name> "
                             "[FORCE=1]; its heaters stay off", err);
}
