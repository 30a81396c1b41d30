/* Printer state for macro templates. Objects: toolhead, gcode_move,
 * print_stats, and every heater or temperature sensor by its config name
 * (extruder, heater_bed, and "heater_generic chamber" as heater_generic_chamber
 * is not a thing: names with a space are reached by their suffix, chamber). */
#include "printer/status.h"

#include <math.h>   /* isnan */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, strchr */

#include "gcode/macro.h"       /* struct fs_macro_value */
#include "job/job.h"           /* fs_job_get_status */
#include "motion/gcode_move.h" /* fs_gcode_move_get_position */
#include "motion/toolhead.h"   /* fs_toolhead_get_status */
#include "sensors/filament_sensors.h" /* fs_filament_sensors_status */
#include "printer/printer.h"   /* struct fs_printer */
#include "thermal/heaters.h"   /* fs_heaters_status */

static int axis_index(const char *name)
{
    static const char *const axes[4] = {"x", "y", "z", "e"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, axes[i]))
            return i;
    return -1;
}

/* "position.x" -> the value of pos[x]; anything else is undefined. */
static int lookup_position(const double pos[4], const char *field, const char *prefix,
                           struct fs_macro_value *out)
{
    size_t n = strlen(prefix);
    if (strncmp(field, prefix, n) || field[n] != '.')
        return 0;
    int axis = axis_index(field + n + 1);
    if (axis < 0)
        return 0;
    fs_macro_value_float(out, pos[axis]);
    return 1;
}

static int lookup_toolhead(struct fs_printer *p, const char *field, struct fs_macro_value *out,
                           struct fs_error *err)
{
    if (!p->toolhead)
        return 0;
    struct fs_toolhead_status st;
    fs_toolhead_get_status(p->toolhead, &st);
    if (lookup_position(st.position, field, "position", out))
        return 0;
    if (!strcmp(field, "homed_axes"))
        return fs_macro_value_string(out, st.homed, err);
    if (!strcmp(field, "max_velocity"))
        fs_macro_value_float(out, st.max_velocity);
    else if (!strcmp(field, "max_accel"))
        fs_macro_value_float(out, st.max_accel);
    else if (!strcmp(field, "print_time"))
        fs_macro_value_float(out, st.print_time);
    return 0;
}

static int lookup_print_stats(struct fs_printer *p, const char *field,
                              struct fs_macro_value *out, struct fs_error *err)
{
    if (!p->job)
        return 0;
    struct fs_job_status st;
    fs_job_get_status(p->job, &st);
    if (!strcmp(field, "state"))
        return fs_macro_value_string(out, fs_job_state_name(st.state), err);
    if (!strcmp(field, "filename"))
        return fs_macro_value_string(out, st.file, err);
    if (!strcmp(field, "message"))
        return fs_macro_value_string(out, st.message, err);
    if (!strcmp(field, "print_duration"))
        fs_macro_value_float(out, st.print_duration_s);
    else if (!strcmp(field, "total_duration"))
        fs_macro_value_float(out, st.total_duration_s);
    else if (!strcmp(field, "filament_used"))
        fs_macro_value_float(out, st.filament_used_mm);
    return 0;
}

static int lookup_heater(struct fs_printer *p, const char *object, const char *field,
                         struct fs_macro_value *out)
{
    if (!p->heaters)
        return 0;
    for (int i = 0; i < fs_heaters_count(p->heaters); i++) {
        struct fs_heater_status st;
        if (fs_heaters_status(p->heaters, i, &st) < 0)
            continue;
        const char *space = strchr(st.name, ' ');
        const char *short_name = space ? space + 1 : st.name;
        if (strcmp(st.name, object) && strcmp(short_name, object))
            continue;
        if (!strcmp(field, "temperature") && !isnan(st.temperature_c))
            fs_macro_value_float(out, st.temperature_c);
        else if (!strcmp(field, "target"))
            fs_macro_value_float(out, st.target_c);
        else if (!strcmp(field, "power"))
            fs_macro_value_float(out, st.power);
        return 0;
    }
    return 0;
}

int fs_printer_status_lookup(void *arg, const char *path, struct fs_macro_value *out,
                             struct fs_error *err)
{
    struct fs_printer *p = arg;
    out->kind = FS_MACRO_UNDEFINED;
    char object[64];
    const char *dot = strchr(path, '.');
    if (!dot || (size_t)(dot - path) >= sizeof(object))
        return 0;
    snprintf(object, sizeof(object), "%.*s", (int)(dot - path), path);
    const char *field = dot + 1;
    if (!strcmp(object, "toolhead"))
        return lookup_toolhead(p, field, out, err);
    if (!strcmp(object, "gcode_move")) {
        if (p->gcode_move) {
            double pos[4];
            fs_gcode_move_get_position(p->gcode_move, pos);
            lookup_position(pos, field, "gcode_position", out);
        }
        return 0;
    }
    if (!strcmp(object, "print_stats"))
        return lookup_print_stats(p, field, out, err);
    if (p->filament_sensors) {
        int rc = fs_filament_sensors_status(p->filament_sensors, object, field, out, err);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    return lookup_heater(p, object, field, out);
}
