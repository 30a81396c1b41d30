/* The thermal G-code commands: M104/M109 (extruder), M140/M190 (bed), M105,
 * SET_HEATER_TEMPERATURE, TEMPERATURE_WAIT, M106/M107 (part fan) and
 * PID_CALIBRATE, registered together from the table at the end. */
#include <math.h>   /* INFINITY, NAN */
#include <stdio.h>  /* snprintf */

#include "core/error.h"             /* fs_error_set */
#include "core/log.h"               /* fs_log */
#include "gcode/gcode.h"            /* fs_gcode_* */
#include "thermal/heaters_internal.h" /* struct fs_heaters */
#include "thermal/pid_calibrate.h"  /* fs_pid_calibrate */

/* PID_CALIBRATE gives up when no oscillation settles in this long. */
#define PID_CALIBRATE_TIMEOUT_S 1800.0
#define TEMPS_TEXT_MAX 512

static struct fs_heater *need_heater(struct fs_heaters *h, const char *name,
                                     const struct fs_gcode_command *cmd, struct fs_error *err)
{
    struct fs_heater *heater = fs_heaters_lookup(h, name);
    if (!heater)
        fs_error_set(err, "%s: no heater '%s' is configured", cmd->name, name);
    return heater;
}

/* M104/M109 T<n>: extruder, extruder1, extruder2... */
static struct fs_heater *extruder_of(struct fs_heaters *h, const struct fs_gcode_command *cmd,
                                     struct fs_error *err)
{
    int t;
    if (fs_gcode_get_int(cmd, "T", 1, 0, 0, 99, &t, err) < 0)
        return NULL;
    char name[32];
    if (t == 0)
        snprintf(name, sizeof(name), "extruder");
    else
        snprintf(name, sizeof(name), "extruder%d", t);
    return need_heater(h, name, cmd, err);
}

static void report_temps(void *arg, const struct fs_heaters *h)
{
    struct fs_gcode *g = arg;
    char text[TEMPS_TEXT_MAX];
    fs_heaters_format_temps(h, text, sizeof(text));
    fs_gcode_respond(g, "%s", text);
}

/* A heater a fault switched off (a policy of disable lets the print go on
 * without it) is not an error for the file that asks it for heat: the
 * target is ignored with a warning, and a part that really needs the heat
 * raises its own fault (cold_extrude), as FAULTS.md says. Returns 1 when
 * the target was ignored. */
static int ignored_after_fault(struct fs_gcode *g, struct fs_heater *heater,
                               const struct fs_gcode_command *cmd, double target)
{
    const char *reason;
    if (target <= 0.0 || fs_heater_fault(heater, &reason) == FS_HEATER_FAULT_NONE)
        return 0;
    fs_gcode_respond_error(g, "%s: %s is off after a fault (%s): target %.1f ignored "
                              "(FAULT_CLEAR once it is repaired)",
                           cmd->name, fs_heater_name(heater), reason, target);
    return 1;
}

/* Sets a target and, for the waiting forms, waits until the reading is
 * within FS_HEATERS_WAIT_TOLERANCE_C of it. Target 0 never waits. */
static int set_and_maybe_wait(struct fs_heaters *h, struct fs_gcode *g,
                              struct fs_heater *heater, const struct fs_gcode_command *cmd,
                              int wait, struct fs_error *err)
{
    double target;
    if (fs_gcode_get_float(cmd, "S", 0.0, 0.0, INFINITY, &target, err) < 0)
        return -1;
    if (ignored_after_fault(g, heater, cmd, target))
        return 0;
    if (fs_heater_set_target(heater, target, err) < 0)
        return fs_error_prefix(err, "%s: ", cmd->name);
    if (!wait || target <= 0.0)
        return 0;
    return fs_heaters_wait(h, heater, target - FS_HEATERS_WAIT_TOLERANCE_C,
                           target + FS_HEATERS_WAIT_TOLERANCE_C, INFINITY, report_temps, g,
                           err);
}

static int cmd_m104(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    struct fs_heater *heater = extruder_of(arg, cmd, err);
    return heater ? set_and_maybe_wait(arg, g, heater, cmd, 0, err) : -1;
}

static int cmd_m109(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    struct fs_heater *heater = extruder_of(arg, cmd, err);
    return heater ? set_and_maybe_wait(arg, g, heater, cmd, 1, err) : -1;
}

static int cmd_m140(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    struct fs_heater *heater = need_heater(arg, "heater_bed", cmd, err);
    return heater ? set_and_maybe_wait(arg, g, heater, cmd, 0, err) : -1;
}

static int cmd_m190(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    struct fs_heater *heater = need_heater(arg, "heater_bed", cmd, err);
    return heater ? set_and_maybe_wait(arg, g, heater, cmd, 1, err) : -1;
}

/* Hosts such as OctoPrint parse temperatures from an "ok T:..." line. */
static int cmd_m105(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    (void)cmd;
    (void)err;
    char text[TEMPS_TEXT_MAX];
    fs_heaters_format_temps(arg, text, sizeof(text));
    fs_gcode_respond(g, "ok %s", text);
    return 0;
}

static int cmd_set_heater_temperature(void *arg, struct fs_gcode *g,
                                      const struct fs_gcode_command *cmd, struct fs_error *err)
{
    const char *name = fs_gcode_get_str(cmd, "HEATER", NULL);
    if (!name)
        return fs_error_set(err, "%s: missing required parameter HEATER", cmd->name);
    struct fs_heater *heater = need_heater(arg, name, cmd, err);
    double target;
    if (!heater || fs_gcode_get_float(cmd, "TARGET", 0.0, 0.0, INFINITY, &target, err) < 0)
        return -1;
    if (ignored_after_fault(g, heater, cmd, target))
        return 0;
    if (fs_heater_set_target(heater, target, err) < 0)
        return fs_error_prefix(err, "%s: ", cmd->name);
    return 0;
}

static int cmd_temperature_wait(void *arg, struct fs_gcode *g,
                                const struct fs_gcode_command *cmd, struct fs_error *err)
{
    const char *name = fs_gcode_get_str(cmd, "SENSOR", NULL);
    if (!name)
        return fs_error_set(err, "%s: missing required parameter SENSOR", cmd->name);
    struct fs_heater *sensor = need_heater(arg, name, cmd, err);
    double min_c, max_c;
    if (!sensor ||
        fs_gcode_get_float(cmd, "MINIMUM", -INFINITY, -INFINITY, INFINITY, &min_c, err) < 0 ||
        fs_gcode_get_float(cmd, "MAXIMUM", INFINITY, -INFINITY, INFINITY, &max_c, err) < 0)
        return -1;
    if (!fs_gcode_has(cmd, "MINIMUM") && !fs_gcode_has(cmd, "MAXIMUM"))
        return fs_error_set(err, "%s: give MINIMUM and/or MAXIMUM", cmd->name);
    if (min_c > max_c)
        return fs_error_set(err, "%s: MINIMUM %.1f is above MAXIMUM %.1f", cmd->name, min_c,
                            max_c);
    return fs_heaters_wait(arg, sensor, min_c, max_c, INFINITY, report_temps, g, err);
}

static struct fs_fan *part_fan(struct fs_heaters *h, const struct fs_gcode_command *cmd,
                               struct fs_error *err)
{
    struct fs_fan *f = fs_heaters_lookup_fan(h, "fan");
    if (!f)
        fs_error_set(err, "%s: no [fan] is configured", cmd->name);
    return f;
}

static void part_fan_due(void *arg, double print_time)
{
    struct fs_heaters_fan_request *rq = arg;
    struct fs_error err = {{0}};
    rq->waiting = 0;
    /* Nobody waits for this command any more: say what went wrong. */
    if (fs_fan_set_speed_at(rq->fan, print_time, rq->speed, &err) < 0)
        fs_log(rq->h->log, FS_LOG_ERROR, "%s: %s", fs_fan_name(rq->fan), err.msg);
}

/* Fan changes in a print belong after the moves queued before them; the
 * moves keep flowing meanwhile (no stop, junction speeds kept), so the
 * change waits in a request until the toolhead knows when they end. */
static int set_part_fan(struct fs_heaters *h, struct fs_fan *f, double speed,
                        const struct fs_gcode_command *cmd, struct fs_error *err)
{
    if (!h->move_time_fn)
        return fs_fan_set_speed_at(f, 0.0, speed, err);
    struct fs_heaters_fan_request *rq = NULL;
    for (int i = 0; i < FS_HEATERS_FAN_REQUESTS && !rq; i++)
        if (!h->fan_requests[i].waiting)
            rq = &h->fan_requests[i];
    if (!rq)
        return fs_error_set(err, "%s: more than %d fan changes wait for queued moves",
                            cmd->name, FS_HEATERS_FAN_REQUESTS);
    *rq = (struct fs_heaters_fan_request){.h = h, .fan = f, .speed = speed, .waiting = 1};
    if (h->move_time_fn(h->move_time_arg, part_fan_due, rq, err) < 0) {
        rq->waiting = 0;
        return fs_error_prefix(err, "%s: ", cmd->name);
    }
    return 0;
}

static int cmd_m106(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    (void)g;
    struct fs_fan *f = part_fan(arg, cmd, err);
    double s;
    if (!f || fs_gcode_get_float(cmd, "S", 255.0, 0.0, 255.0, &s, err) < 0)
        return -1;
    return set_part_fan(arg, f, s / 255.0, cmd, err);
}

static int cmd_m107(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    (void)g;
    struct fs_fan *f = part_fan(arg, cmd, err);
    return f ? set_part_fan(arg, f, 0.0, cmd, err) : -1;
}

static int cmd_pid_calibrate(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                             struct fs_error *err)
{
    const char *name = fs_gcode_get_str(cmd, "HEATER", NULL);
    if (!name)
        return fs_error_set(err, "%s: missing required parameter HEATER", cmd->name);
    struct fs_heater *heater = need_heater(arg, name, cmd, err);
    double target;
    if (!heater || fs_gcode_get_float(cmd, "TARGET", NAN, 0.0, INFINITY, &target, err) < 0)
        return -1;
    struct fs_pid_calibrate_result r;
    if (fs_pid_calibrate(arg, heater, target, PID_CALIBRATE_TIMEOUT_S, &r, err) < 0)
        return -1;
    fs_heater_set_pid(heater, r.kp, r.ki, r.kd);
    fs_gcode_respond_info(g, "PID parameters: pid_Kp=%.3f pid_Ki=%.3f pid_Kd=%.3f", r.kp, r.ki,
                          r.kd);
    fs_gcode_respond_info(g, "The new gains are in use until restart; add them to the "
                             "[%s] section of printer.cfg to keep them.",
                          fs_heater_name(heater));
    return 0;
}

static const struct {
    const char *name;
    fs_gcode_handler fn;
    const char *help;
} thermal_commands[] = {
    {"M104", cmd_m104, "Set the extruder temperature: M104 S<temp> [T<n>]"},
    {"M109", cmd_m109, "Set the extruder temperature and wait for it: M109 S<temp> [T<n>]"},
    {"M140", cmd_m140, "Set the bed temperature: M140 S<temp>"},
    {"M190", cmd_m190, "Set the bed temperature and wait for it: M190 S<temp>"},
    {"M105", cmd_m105, "Report temperatures"},
    {"SET_HEATER_TEMPERATURE", cmd_set_heater_temperature,
     "Set a heater's target: SET_HEATER_TEMPERATURE HEATER=<name> TARGET=<temp>"},
    {"TEMPERATURE_WAIT", cmd_temperature_wait,
     "Wait for a sensor: TEMPERATURE_WAIT SENSOR=<name> MINIMUM=<temp> MAXIMUM=<temp>"},
    {"M106", cmd_m106, "Set the part fan speed: M106 S<0..255>"},
    {"M107", cmd_m107, "Turn the part fan off"},
    {"PID_CALIBRATE", cmd_pid_calibrate,
     "Tune a heater's PID gains: PID_CALIBRATE HEATER=<name> TARGET=<temp>"},
};

int fs_heaters_register_gcode(struct fs_heaters *h, struct fs_gcode *g, struct fs_error *err)
{
    int n = (int)(sizeof(thermal_commands) / sizeof(thermal_commands[0]));
    for (int i = 0; i < n; i++) {
        /* The part fan's commands only exist with a [fan]. */
        if (thermal_commands[i].fn == cmd_m106 || thermal_commands[i].fn == cmd_m107)
            if (!fs_heaters_lookup_fan(h, "fan"))
                continue;
        if (fs_gcode_register(g, thermal_commands[i].name, thermal_commands[i].fn, h,
                              thermal_commands[i].help, err) < 0)
            return -1;
    }
    h->gcode = g;
    return 0;
}
