/* Fault policies from printer.cfg: the [fault_policy] section (profile,
 * pause behaviour, park position, escalation, journal) and each source's own
 * options (on_fault, on_<kind>, on_fault_gcode, fault_tolerance and the
 * shutdown_on_error / on_error_gcode spellings).
 *
 * How a source's action for a kind is decided, in order:
 *   1. the profile's default (fs_fault_default_action, never below the floor);
 *   2. a blanket value for every kind the class can raise: on_fault, or
 *      shutdown_on_error (True: shutdown; False: disable) — except the two
 *      notices, sensor_glitch and driver_warning, which keep the profile's
 *      action (log, warn) unless on_<kind> names them: a glitch shorter than
 *      fault_tolerance is not a fault of the part (the common host ignores
 *      it even with its shutdown-on-everything behaviour, as the strict
 *      profile does), and a driver's pre-warning is news. A blanket below a
 *      kind's floor is an error, except where that floor is shutdown
 *      (uncommanded_heating, version_mismatch, emergency_stop: those shut down
 *      whatever the configuration says, so `on_fault: disable` on a heater
 *      means "disable for everything that may be disabled"). shutdown_on_error:
 *      False is a boolean that cannot spell halt, so it gives disable or the
 *      floor where the floor is higher, never an error;
 *   3. on_<kind> for one kind: an error below that kind's floor, and an error
 *      for a kind the class cannot raise.
 * Every error names file:line, the object, the kind, the floor and why. */
#include "fault/fault_internal.h"

#include <math.h>   /* NAN, INFINITY */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strlen, strcpy */

#include "config/config.h" /* fs_config_get_* */
#include "core/error.h"    /* fs_error_set */

static const char *const action_choices[] = {
    "log", "warn", "disable", "pause", "halt", "cancel", "shutdown", NULL,
};

const char *fs_fault_class_phrase(enum fs_fault_class cls, unsigned flags)
{
    switch (cls) {
    case FS_FAULT_CLASS_HEATER: return "a heater";
    case FS_FAULT_CLASS_SENSOR: return "a temperature sensor";
    case FS_FAULT_CLASS_FAN: return "a fan";
    case FS_FAULT_CLASS_DRIVER:
        if (flags & FS_FAULT_SOURCE_AXIS_X)
            return "a driver of an X stepper";
        if (flags & FS_FAULT_SOURCE_AXIS_Y)
            return "a driver of a Y stepper";
        if (flags & FS_FAULT_SOURCE_AXIS_Z)
            return "a driver of a Z stepper";
        return "an extruder driver";
    case FS_FAULT_CLASS_FILAMENT: return "a filament sensor";
    case FS_FAULT_CLASS_MCU:
        return (flags & FS_FAULT_SOURCE_DRIVES_AXES) ? "an MCU that drives axes"
                                                     : "an MCU that drives no axis";
    case FS_FAULT_CLASS_MOTION: return "the toolhead";
    case FS_FAULT_CLASS_PRINTER: return "the printer";
    case FS_FAULT_CLASS_COUNT: break;
    }
    return "a part";
}

/* ---- [fault_policy] ---- */

/* Relative to the file the option is written in, like every path in a
 * printer.cfg ([include], [virtual_sdcard] path). */
static int read_journal_path(struct fs_config_section *s, struct fs_fault_policy_config *out,
                             struct fs_error *err)
{
    out->journal_path[0] = '\0';
    if (!s)
        return 0;
    return fs_config_get_path(s, "journal_path", "", out->journal_path,
                              sizeof(out->journal_path), err);
}

static int read_park(struct fs_config_section *s, const char *option, double *out,
                     struct fs_error *err)
{
    *out = NAN;
    if (!s || !fs_config_has(s, option))
        return 0;
    return fs_config_get_float(s, option, 0.0, -INFINITY, INFINITY, out, err);
}

int fs_fault_policy_read(struct fs_config *cfg, struct fs_fault_policy_config *out,
                         struct fs_error *err)
{
    static const char *const profiles[] = {"failsoft", "strict", NULL};
    static const char *const heaters[] = {"keep", "standby", "off", NULL};
    *out = (struct fs_fault_policy_config){
        .profile = FS_FAULT_PROFILE_FAILSOFT,
        .pause_heaters = FS_FAULT_PAUSE_HEATERS_KEEP,
        .pause_standby_temp_c = 150.0,
        .pause_heaters_timeout_s = 600.0,
        .park_x = NAN,
        .park_y = NAN,
        .park_z_lift = 10.0,
        .park_speed = 100.0,
        .z_lift_speed = 10.0,
        .pause_idle_timeout_s = 0.0,
        .escalate_count = 3,
        .escalate_window_s = 60.0,
        .capsule_seconds = 10.0,
    };
    struct fs_config_section *s = cfg ? fs_config_get_section(cfg, "fault_policy") : NULL;
    if (!s)
        return 0;
    int profile, pause_heaters;
    if (fs_config_get_choice(s, "profile", profiles, "failsoft", &profile, err) < 0 ||
        fs_config_get_choice(s, "pause_heaters", heaters, "keep", &pause_heaters, err) < 0 ||
        fs_config_get_float(s, "pause_standby_temp", 150.0, 0.0, 500.0,
                            &out->pause_standby_temp_c, err) < 0 ||
        fs_config_get_float(s, "pause_heaters_timeout", 600.0, 0.0, 7 * 86400.0,
                            &out->pause_heaters_timeout_s, err) < 0 ||
        read_park(s, "park_x", &out->park_x, err) < 0 ||
        read_park(s, "park_y", &out->park_y, err) < 0 ||
        fs_config_get_float(s, "park_z_lift", 10.0, 0.0, 1000.0, &out->park_z_lift, err) < 0 ||
        fs_config_get_float_above(s, "park_speed", 100.0, 0.0, &out->park_speed, err) < 0 ||
        fs_config_get_float_above(s, "z_lift_speed", 10.0, 0.0, &out->z_lift_speed, err) < 0 ||
        fs_config_get_float(s, "pause_idle_timeout", 0.0, 0.0, 7 * 86400.0,
                            &out->pause_idle_timeout_s, err) < 0 ||
        fs_config_get_int(s, "escalate_count", 3, 2, FS_FAULT_ESCALATE_MAX,
                          &out->escalate_count, err) < 0 ||
        fs_config_get_float_above(s, "escalate_window", 60.0, 0.0, &out->escalate_window_s,
                                  err) < 0 ||
        fs_config_get_float(s, "capsule_seconds", 10.0, 0.0, 600.0, &out->capsule_seconds,
                            err) < 0 ||
        read_journal_path(s, out, err) < 0)
        return -1;
    out->profile = (enum fs_fault_profile)profile;
    out->pause_heaters = (enum fs_fault_pause_heaters)pause_heaters;
    return 0;
}

/* ---- a source's options ---- */

static int below_floor(struct fs_config_section *s, const char *option,
                       enum fs_fault_action asked, enum fs_fault_class cls, unsigned flags,
                       enum fs_fault_kind kind, struct fs_error *err)
{
    const char *why;
    enum fs_fault_action floor = fs_fault_floor(cls, flags, kind, &why);
    return fs_config_error(s, option, err,
                           "%s is below the safety floor for %s on %s: %s (%s)",
                           fs_fault_action_name(asked), fs_fault_kind_name(kind),
                           fs_fault_class_phrase(cls, flags), fs_fault_action_name(floor), why);
}

static void list_kinds(enum fs_fault_class cls, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < FS_FAULT_KIND_COUNT && len < size; k++)
        if (fs_fault_class_can_raise(cls, (enum fs_fault_kind)k))
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                    fs_fault_kind_name((enum fs_fault_kind)k));
}

static int is_notice(enum fs_fault_kind kind)
{
    return kind == FS_FAULT_SENSOR_GLITCH || kind == FS_FAULT_DRIVER_WARNING;
}

/* on_fault or shutdown_on_error: returns the blanket action (or -1 none)
 * in *blanket and whether it is clamped to floors instead of checked. */
static int read_blanket(struct fs_config_section *s, int *blanket, int *clamp,
                        const char **option, struct fs_error *err)
{
    *blanket = -1;
    *clamp = 0;
    int has_fault = fs_config_has(s, "on_fault");
    int has_soe = fs_config_has(s, "shutdown_on_error");
    if (has_fault && has_soe)
        return fs_config_error(s, "shutdown_on_error", err,
                               "set either on_fault or shutdown_on_error, not both");
    if (has_fault) {
        *option = "on_fault";
        return fs_config_get_choice(s, "on_fault", action_choices, NULL, blanket, err);
    }
    if (has_soe) {
        int b;
        if (fs_config_get_bool(s, "shutdown_on_error", -1, &b, err) < 0)
            return -1;
        *option = "shutdown_on_error";
        *blanket = b ? FS_FAULT_SHUTDOWN : FS_FAULT_DISABLE;
        *clamp = !b;
    }
    return 0;
}

static int read_gcode(struct fs_config_section *s, struct fs_fault_source_policy *out,
                      struct fs_error *err)
{
    int has_fault = fs_config_has(s, "on_fault_gcode");
    int has_error = fs_config_has(s, "on_error_gcode");
    if (has_fault && has_error)
        return fs_config_error(s, "on_error_gcode", err,
                               "set either on_fault_gcode or on_error_gcode, not both");
    if (!has_fault && !has_error)
        return 0;
    const char *option = has_fault ? "on_fault_gcode" : "on_error_gcode";
    const char *v;
    if (fs_config_get_str(s, option, "", &v, err) < 0)
        return -1;
    if (strlen(v) >= sizeof(out->gcode))
        return fs_config_error(s, option, err, "macro longer than %d bytes",
                               FS_FAULT_SCRIPT_MAX - 1);
    strcpy(out->gcode, v);
    return 0;
}

int fs_fault_source_policy_read(enum fs_fault_profile profile, enum fs_fault_class cls,
                                unsigned flags, struct fs_config_section *s,
                                struct fs_fault_source_policy *out, struct fs_error *err)
{
    *out = (struct fs_fault_source_policy){0};
    for (int k = 0; k < FS_FAULT_KIND_COUNT; k++) {
        out->action[k] = fs_fault_default_action(profile, cls, flags, (enum fs_fault_kind)k);
        out->origin[k] = "profile";
    }
    if (!s)
        return 0;

    int blanket, clamp;
    const char *blanket_option = NULL;
    if (read_blanket(s, &blanket, &clamp, &blanket_option, err) < 0)
        return -1;
    for (int k = 0; blanket >= 0 && k < FS_FAULT_KIND_COUNT; k++) {
        enum fs_fault_kind kind = (enum fs_fault_kind)k;
        if (!fs_fault_class_can_raise(cls, kind) || is_notice(kind))
            continue;
        enum fs_fault_action floor = fs_fault_floor(cls, flags, kind, NULL);
        if ((int)floor <= blanket) {
            out->action[k] = (enum fs_fault_action)blanket;
            out->origin[k] = blanket_option;
        } else if (clamp || floor == FS_FAULT_SHUTDOWN) {
            out->action[k] = floor;
            out->origin[k] = "floor";
        } else {
            return below_floor(s, blanket_option, (enum fs_fault_action)blanket, cls, flags,
                               kind, err);
        }
    }

    for (int k = 0; k < FS_FAULT_KIND_COUNT; k++) {
        enum fs_fault_kind kind = (enum fs_fault_kind)k;
        char option[FS_FAULT_NAME_MAX];
        snprintf(option, sizeof(option), "on_%s", fs_fault_kind_name(kind));
        if (!fs_config_has(s, option))
            continue;
        if (!fs_fault_class_can_raise(cls, kind)) {
            char valid[FS_ERROR_MSG_MAX / 2];
            list_kinds(cls, valid, sizeof(valid));
            return fs_config_error(s, option, err,
                                   "%s cannot raise %s; the kinds it can raise are: %s",
                                   fs_fault_class_phrase(cls, flags), fs_fault_kind_name(kind),
                                   valid);
        }
        int a;
        if (fs_config_get_choice(s, option, action_choices, NULL, &a, err) < 0)
            return -1;
        if (a < (int)fs_fault_floor(cls, flags, kind, NULL))
            return below_floor(s, option, (enum fs_fault_action)a, cls, flags, kind, err);
        out->action[k] = (enum fs_fault_action)a;
        out->origin[k] = "on_<kind>";
    }

    if (read_gcode(s, out, err) < 0)
        return -1;
    if (fs_config_has(s, "fault_tolerance")) {
        if (fs_config_get_float_above(s, "fault_tolerance", 1.0, 0.0, &out->tolerance_s, err) <
            0)
            return -1;
        out->has_tolerance = 1;
    }
    return 0;
}
