/* The filament sensors and fan tachometers of a printer: reading their
 * sections, what a runout or an insert leads to, their fault sources,
 * G-code and status. See filament_sensors.h. */
#include "sensors/filament_sensors.h"

#include <math.h>   /* INFINITY */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strrchr */

#include <cjson/cJSON.h> /* cJSON_Add* */

#include "config/config.h"             /* fs_config_* */
#include "core/error.h"                /* fs_error_set */
#include "core/log.h"                  /* fs_log */
#include "core/reactor.h"              /* fs_reactor_*, fs_timer */
#include "gcode/gcode.h"               /* fs_gcode_* */
#include "gcode/macro.h"               /* struct fs_macro_value */
#include "job/job.h"                   /* fs_job_state */
#include "mcu/mcu_buttons.h"           /* fs_mcu_buttons_* */
#include "printer/printer.h"           /* struct fs_printer, fs_printer_* */
#include "sensors/filament_internal.h" /* struct fs_filament_sensor */
#include "thermal/fan.h"               /* fs_fan_* */
#include "thermal/heaters.h"           /* fs_heaters_lookup_fan */

#define FANS_MAX 16

struct fs_filament_sensors {
    struct fs_printer *printer;
    struct fs_filament_sensor sensors[FS_FILAMENT_SENSORS_MAX];
    int count;
    struct fs_fan *fans[FANS_MAX];
    char fan_names[FANS_MAX][FS_FAULT_NAME_MAX];
    int fan_count;
};

/* ---- one sensor ------------------------------------------------------------ */

int fs_filament_sensor_is_printing(const struct fs_filament_sensor *fsn)
{
    return fsn->printer->job && fs_job_state(fsn->printer->job) == FS_JOB_PRINTING;
}

/* The delay is over: the script goes to the program loop, since a script
 * may wait (M400, M109) and a timer must not. */
static double run_pending_gcode(struct fs_timer *t, double eventtime)
{
    (void)eventtime;
    struct fs_filament_sensor *fsn = t->arg;
    const char *script = fsn->pending_gcode;
    fsn->pending_gcode = NULL;
    char source[FS_PRINTER_SCRIPT_SOURCE_MAX];
    snprintf(source, sizeof(source), "%s %s", fsn->source_name, fsn->pending_source);
    if (script)
        fs_printer_queue_script(fsn->printer, script, source);
    return FS_NEVER;
}

/* The switch report that leads to a script arrives in the MCU's receive
 * path, where G-code must not run: a timer waits out the delay, then the
 * program loop runs it. */
static void queue_gcode(struct fs_filament_sensor *fsn, const char *script, const char *what,
                        double delay_s)
{
    if (!script || !*script)
        return;
    fsn->pending_gcode = script;
    fsn->pending_source = what;
    fs_reactor_timer_set(fsn->printer->reactor, &fsn->gcode_timer,
                         fs_reactor_now(fsn->printer->reactor) + delay_s);
}

static void on_runout(struct fs_filament_sensor *fsn)
{
    const char *what = fsn->is_motion ? "no filament motion" : "no filament";
    if (fsn->pause_on_runout) {
        if (fsn->is_motion)
            fs_fault_raise(fsn->source, FS_FAULT_JAM,
                           "%s: extruder moved %.1f mm without a sensor toggle", what,
                           fsn->detection_length_mm);
        else
            fs_fault_raise(fsn->source, FS_FAULT_RUNOUT, "%s: switch released while printing",
                           what);
    } else {
        fs_gcode_respond_info(fsn->printer->gcode, "%s: %s (pause_on_runout is off)",
                              fsn->source_name, what);
    }
    queue_gcode(fsn, fsn->runout_gcode, "runout_gcode",
                fsn->pause_on_runout ? fsn->pause_delay_s : 0.0);
}

void fs_filament_sensor_note_present(struct fs_filament_sensor *fsn, double eventtime,
                                     int present)
{
    if (present == fsn->present)
        return;
    fsn->present = present;
    if (!fsn->enabled || eventtime < fsn->last_event_time + fsn->event_delay_s)
        return;
    int printing = fs_filament_sensor_is_printing(fsn);
    if (!present && printing) {
        fsn->last_event_time = eventtime;
        on_runout(fsn);
    } else if (present && !printing && fsn->insert_gcode[0]) {
        fsn->last_event_time = eventtime;
        queue_gcode(fsn, fsn->insert_gcode, "insert_gcode", 0.0);
    }
}

/* FAULT_CLEAR: only with filament in the path again. */
static int sensor_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    (void)kind;
    struct fs_filament_sensor *fsn = arg;
    if (!fsn->present)
        return fs_error_set(err, "%s: %s", fsn->source_name,
                            fsn->is_motion ? "no filament motion seen since the jam"
                                           : "no filament detected");
    if (fsn->is_motion)
        fs_filament_motion_restart(fsn);
    return 0;
}

static void sensor_describe(void *arg, struct cJSON *obj)
{
    const struct fs_filament_sensor *fsn = arg;
    cJSON_AddBoolToObject(obj, "filament_detected", fsn->present);
    cJSON_AddBoolToObject(obj, "enabled", fsn->enabled);
    if (fsn->is_motion)
        cJSON_AddNumberToObject(obj, "detection_length", fsn->detection_length_mm);
}

int fs_filament_sensor_init(struct fs_filament_sensor *fsn, struct fs_printer *p,
                            struct fs_config_section *s, fs_mcu_buttons_fn on_change,
                            struct fs_error *err)
{
    fsn->printer = p;
    fsn->enabled = 1;
    fsn->last_event_time = -INFINITY;
    fs_timer_init(&fsn->gcode_timer, run_pending_gcode, fsn);
    snprintf(fsn->name, sizeof(fsn->name), "%s", fs_config_section_suffix(s));
    snprintf(fsn->source_name, sizeof(fsn->source_name), "%s", fs_config_section_name(s));
    struct fs_pin_desc pin;
    struct fs_mcu *mcu;
    if (fs_config_get_pin(s, "switch_pin", 1, 1, 1, &pin, err) < 0 ||
        fs_printer_pin_mcu(p, s, "switch_pin", &pin, &mcu, err) < 0 ||
        fs_config_get_bool(s, "pause_on_runout", 1, &fsn->pause_on_runout, err) < 0 ||
        fs_config_get_str(s, "runout_gcode", "", &fsn->runout_gcode, err) < 0 ||
        fs_config_get_str(s, "insert_gcode", "", &fsn->insert_gcode, err) < 0 ||
        fs_config_get_float_above(s, "event_delay", 3.0, 0.0, &fsn->event_delay_s, err) < 0 ||
        fs_config_get_float_above(s, "pause_delay", 0.5, 0.0, &fsn->pause_delay_s, err) < 0)
        return -1;
    char where[FS_PRINTER_WHERE_MAX];
    struct fs_mcu_buttons_params bp;
    fs_mcu_buttons_params_default(&bp);
    bp.pin = pin.pin;
    bp.where = fs_printer_section_context(s, where, sizeof(where));
    bp.invert = pin.invert;
    bp.pull_up = pin.pull_up;
    fsn->button = fs_mcu_buttons_new(mcu, p->reactor, &bp, on_change, fsn, err);
    if (!fsn->button)
        return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s), fsn->source_name);
    if (!p->faults)
        return 0;
    const struct fs_fault_source_ops ops = {
        .clear = sensor_clear,
        .describe = sensor_describe,
    };
    fsn->source = fs_faults_add_source(p->faults, fsn->source_name, FS_FAULT_CLASS_FILAMENT, 0,
                                       s, &ops, fsn, err);
    return fsn->source ? 0 : -1;
}

void fs_filament_sensor_fini(struct fs_filament_sensor *fsn)
{
    if (!fsn->printer)
        return;
    fs_reactor_timer_cancel(fsn->printer->reactor, &fsn->gcode_timer);
    if (fsn->is_motion)
        fs_reactor_timer_cancel(fsn->printer->reactor, &fsn->check);
    fs_mcu_buttons_free(fsn->button);
    fsn->button = NULL;
}

/* ---- the collection ---------------------------------------------------------- */

static const char *short_name(const char *name)
{
    const char *space = strrchr(name, ' ');
    return space ? space + 1 : name;
}

static struct fs_filament_sensor *find_sensor(const struct fs_filament_sensors *fs,
                                              const char *name)
{
    for (int i = 0; i < fs->count; i++) {
        const struct fs_filament_sensor *fsn = &fs->sensors[i];
        if (!strcmp(fsn->source_name, name) || !strcmp(fsn->name, name))
            return (struct fs_filament_sensor *)fsn;
    }
    return NULL;
}

static struct fs_fan *find_fan(const struct fs_filament_sensors *fs, const char *name)
{
    for (int i = 0; i < fs->fan_count; i++)
        if (!strcmp(fs->fan_names[i], name) || !strcmp(short_name(fs->fan_names[i]), name))
            return fs->fans[i];
    return NULL;
}

int fs_filament_sensors_detected(const struct fs_filament_sensors *s, const char *name)
{
    const struct fs_filament_sensor *fsn = find_sensor(s, name);
    return fsn ? fsn->present : -1;
}

static void report(struct fs_gcode *g, const struct fs_filament_sensor *fsn)
{
    fs_gcode_respond_info(g, "Filament Sensor %s: %s%s", fsn->name,
                          fsn->present ? "filament detected" : "filament not detected",
                          fsn->enabled ? "" : " (disabled)");
}

static struct fs_filament_sensor *sensor_param(struct fs_filament_sensors *fs,
                                               const struct fs_gcode_command *c,
                                               struct fs_error *err)
{
    const char *name = fs_gcode_get_str(c, "SENSOR", NULL);
    if (!name) {
        fs_error_set(err, "SENSOR= is required");
        return NULL;
    }
    struct fs_filament_sensor *fsn = find_sensor(fs, name);
    if (!fsn)
        fs_error_set(err, "no filament sensor named '%s'", name);
    return fsn;
}

static int cmd_query(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                     struct fs_error *err)
{
    struct fs_filament_sensor *fsn = sensor_param(arg, c, err);
    if (!fsn)
        return -1;
    report(g, fsn);
    return 0;
}

static int cmd_set(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                   struct fs_error *err)
{
    (void)g;
    struct fs_filament_sensor *fsn = sensor_param(arg, c, err);
    int enable;
    if (!fsn || fs_gcode_get_int(c, "ENABLE", 1, 1, 0, 1, &enable, err) < 0)
        return -1;
    if (enable && !fsn->enabled && fsn->is_motion)
        fs_filament_motion_restart(fsn);
    fsn->enabled = enable;
    return 0;
}

static int add_sensor(struct fs_filament_sensors *fs, struct fs_config_section *s, int motion,
                      struct fs_error *err)
{
    if (fs->count >= FS_FILAMENT_SENSORS_MAX)
        return fs_config_error(s, NULL, err, "more than %d filament sensors",
                               FS_FILAMENT_SENSORS_MAX);
    struct fs_filament_sensor *fsn = &fs->sensors[fs->count++];
    return motion ? fs_filament_motion_init(fsn, fs->printer, s, err)
                  : fs_filament_switch_init(fsn, fs->printer, s, err);
}

/* ---- fans ------------------------------------------------------------------- */

static int fan_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    (void)kind;
    struct fs_fan *f = arg;
    if (fs_fan_is_stalled(f))
        return fs_error_set(err, "%s: still turning at %.0f rpm", fs_fan_name(f),
                            fs_fan_get_rpm(f));
    return 0;
}

static int add_fan(struct fs_filament_sensors *fs, struct fs_config_section *s,
                   struct fs_error *err)
{
    struct fs_printer *p = fs->printer;
    const char *name = fs_config_section_name(s);
    struct fs_fan *f = p->heaters ? fs_heaters_lookup_fan(p->heaters, name) : NULL;
    if (!f || fs->fan_count >= FANS_MAX)
        return 0;
    struct fs_fault_source *src = NULL;
    if (p->faults) {
        const struct fs_fault_source_ops ops = {.clear = fan_clear};
        unsigned flags = fs_fan_is_heater_fan(f) ? FS_FAULT_SOURCE_COOLS_HEATER : 0;
        src = fs_faults_add_source(p->faults, name, FS_FAULT_CLASS_FAN, flags, s, &ops, f,
                                   err);
        if (!src)
            return -1;
    }
    fs->fans[fs->fan_count] = f;
    snprintf(fs->fan_names[fs->fan_count], FS_FAULT_NAME_MAX, "%s", name);
    fs->fan_count++;
    if (!fs_config_has(s, "tachometer_pin"))
        return 0;
    struct fs_fan_tachometer_params tp;
    fs_fan_tachometer_params_default(&tp);
    struct fs_pin_desc pin;
    char where[FS_PRINTER_WHERE_MAX];
    if (fs_config_get_pin(s, "tachometer_pin", 1, 0, 1, &pin, err) < 0 ||
        fs_printer_pin_mcu(p, s, "tachometer_pin", &pin, &tp.mcu, err) < 0 ||
        fs_config_get_int(s, "tachometer_ppr", tp.ppr, 1, 100, &tp.ppr, err) < 0 ||
        fs_config_get_float(s, "tachometer_poll_interval", tp.poll_interval_s, 0.0001, 0.1,
                            &tp.poll_interval_s, err) < 0 ||
        fs_config_get_float(s, "tachometer_min_rpm", tp.min_rpm, 0.0, 100000.0, &tp.min_rpm,
                            err) < 0 ||
        fs_config_get_float(s, "tachometer_min_power", tp.min_power, 0.0, 1.0, &tp.min_power,
                            err) < 0 ||
        fs_config_get_float(s, "tachometer_spinup_time", tp.spinup_time_s, 0.0, 600.0,
                            &tp.spinup_time_s, err) < 0)
        return -1;
    tp.pin = pin.pin;
    tp.pull_up = pin.pull_up;
    tp.where = fs_printer_section_context(s, where, sizeof(where));
    if (fs_fan_add_tachometer(f, &tp, src, err) < 0)
        return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s), name);
    return 0;
}

/* ---- status ----------------------------------------------------------------- */

int fs_filament_sensors_status(struct fs_filament_sensors *s, const char *object,
                               const char *field, struct fs_macro_value *out,
                               struct fs_error *err)
{
    (void)err;
    const struct fs_filament_sensor *fsn = find_sensor(s, object);
    if (fsn) {
        if (!strcmp(field, "filament_detected"))
            fs_macro_value_bool(out, fsn->present);
        else if (!strcmp(field, "enabled"))
            fs_macro_value_bool(out, fsn->enabled);
        return 1;
    }
    const struct fs_fan *f = find_fan(s, object);
    if (!f)
        return 0;
    if (!strcmp(field, "speed"))
        fs_macro_value_float(out, fs_fan_get_speed(f));
    else if (!strcmp(field, "power"))
        fs_macro_value_float(out, fs_fan_get_power(f));
    else if (!strcmp(field, "rpm") && fs_fan_has_tachometer(f))
        fs_macro_value_float(out, fs_fan_get_rpm(f));
    return 1;
}

/* ---- lifecycle -------------------------------------------------------------- */

struct fs_filament_sensors *fs_filament_sensors_new(struct fs_printer *p, struct fs_error *err)
{
    struct fs_filament_sensors *fs = calloc(1, sizeof(*fs));
    if (!fs) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    fs->printer = p;
    struct fs_config *cfg = p->config;
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        int rc = 0;
        if (!strcmp(kind, "filament_switch_sensor"))
            rc = add_sensor(fs, s, 0, err);
        else if (!strcmp(kind, "filament_motion_sensor"))
            rc = add_sensor(fs, s, 1, err);
        else if (!strcmp(kind, "fan") || !strcmp(kind, "heater_fan"))
            rc = add_fan(fs, s, err);
        if (rc < 0) {
            fs_filament_sensors_free(fs);
            return NULL;
        }
    }
    if (fs->count &&
        (fs_gcode_register(p->gcode, "QUERY_FILAMENT_SENSOR", cmd_query, fs,
                           "Report a filament sensor's state", err) < 0 ||
         fs_gcode_register(p->gcode, "SET_FILAMENT_SENSOR", cmd_set, fs,
                           "Enable or disable a filament sensor", err) < 0)) {
        fs_filament_sensors_free(fs);
        return NULL;
    }
    return fs;
}

void fs_filament_sensors_free(struct fs_filament_sensors *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->count; i++)
        fs_filament_sensor_fini(&s->sensors[i]);
    free(s);
}
