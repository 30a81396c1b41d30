/* Reading and checking motor and rail options; see rail.h. */
#include "motion/rail.h"

#include <math.h>   /* INFINITY, NAN, fabs */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* strtod */
#include <string.h> /* strlen */

#include "core/error.h"      /* struct fs_error */
#include "motion/stepper.h"  /* fs_stepper_new */
#include "printer/printer.h" /* fs_printer_pin_mcu, fs_printer_stepsync */

#define GEAR_STAGES_MAX 8

int fs_rail_parse_gear_ratio(const char *text, double *ratio)
{
    double product = 1.0;
    const char *p = text;
    int stages = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0') {
        *ratio = 1.0;
        return 0;
    }
    for (;;) {
        char *after;
        double driven = strtod(p, &after);
        if (after == p || *after != ':')
            return -1;
        p = after + 1;
        double driving = strtod(p, &after);
        if (after == p || !(driven > 0) || !(driving > 0) || ++stages > GEAR_STAGES_MAX)
            return -1;
        product *= driven / driving;
        p = after;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (*p != ',')
            return -1;
        p++;
    }
    *ratio = product;
    return 0;
}

int fs_rail_motor_read(struct fs_config_section *s, struct fs_rail_motor *out,
                       struct fs_error *err)
{
    const char *gear;
    if (fs_config_get_pin(s, "step_pin", 1, 1, 0, &out->step_pin, err) < 0 ||
        fs_config_get_pin(s, "dir_pin", 1, 1, 0, &out->dir_pin, err) < 0)
        return -1;
    out->has_enable = fs_config_has(s, "enable_pin");
    if (out->has_enable &&
        fs_config_get_pin(s, "enable_pin", 0, 1, 0, &out->enable_pin, err) < 0)
        return -1;
    if (fs_config_get_int(s, "microsteps", FS_CFG_REQUIRED, 1, 256, &out->microsteps, err) < 0 ||
        fs_config_get_int(s, "full_steps_per_rotation", 200, 1, 100000, &out->full_steps,
                          err) < 0 ||
        fs_config_get_float_above(s, "rotation_distance", NAN, 0.0, &out->rotation_distance,
                                  err) < 0 ||
        fs_config_get_str(s, "gear_ratio", "", &gear, err) < 0 ||
        fs_config_get_float(s, "step_pulse_duration", 0.0, 0.0, 0.001, &out->step_pulse_s,
                            err) < 0)
        return -1;
    if (fs_rail_parse_gear_ratio(gear, &out->gear_ratio) < 0)
        return fs_config_error(s, "gear_ratio", err,
                               "expected a list like '3:1, 20:16', got '%s'", gear);
    out->step_dist = out->rotation_distance /
                     ((double)out->full_steps * out->microsteps * out->gear_ratio);
    return 0;
}

static int infer_homing_dir(struct fs_config_section *s, struct fs_rail_config *r,
                            struct fs_error *err)
{
    if (fs_config_has(s, "homing_positive_dir"))
        return fs_config_get_bool(s, "homing_positive_dir", -1, &r->homing_positive_dir, err);
    /* The switch sits at one end of the travel; which end it is nearer to
     * is the direction to home in. */
    double to_min = r->position_endstop - r->position_min;
    double to_max = r->position_max - r->position_endstop;
    if (fabs(to_min - to_max) < 1e-9)
        return fs_config_error(s, "position_endstop", err,
                               "lies in the middle of the travel: set homing_positive_dir");
    r->homing_positive_dir = to_max < to_min;
    return 0;
}

int fs_rail_config_read(struct fs_config_section *s, double max_velocity,
                        struct fs_rail_config *out, struct fs_error *err)
{
    snprintf(out->name, sizeof(out->name), "%s", fs_config_section_name(s));
    if (fs_rail_motor_read(s, &out->motor, err) < 0 ||
        fs_config_get_pin(s, "endstop_pin", 1, 1, 1, &out->endstop_pin, err) < 0 ||
        fs_config_get_float(s, "position_endstop", NAN, -INFINITY, INFINITY,
                            &out->position_endstop, err) < 0 ||
        fs_config_get_float(s, "position_min", 0.0, -INFINITY, INFINITY, &out->position_min,
                            err) < 0 ||
        fs_config_get_float(s, "position_max", NAN, -INFINITY, INFINITY, &out->position_max,
                            err) < 0)
        return -1;
    if (!(out->position_max > out->position_min))
        return fs_config_error(s, "position_max", err, "must be above position_min (%.3f)",
                               out->position_min);
    if (out->position_endstop < out->position_min ||
        out->position_endstop > out->position_max)
        return fs_config_error(s, "position_endstop", err,
                               "%.3f must lie within position_min..position_max (%.3f..%.3f)",
                               out->position_endstop, out->position_min, out->position_max);
    if (fs_config_get_float(s, "homing_speed", 5.0, 1e-6, max_velocity, &out->homing_speed,
                            err) < 0 ||
        fs_config_get_float(s, "second_homing_speed", out->homing_speed / 2.0, 1e-6,
                            max_velocity, &out->second_homing_speed, err) < 0 ||
        fs_config_get_float(s, "homing_retract_dist", 5.0, 0.0, INFINITY,
                            &out->homing_retract_dist, err) < 0)
        return -1;
    return infer_homing_dir(s, out, err);
}

struct fs_stepper *fs_rail_motor_stepper_new(struct fs_printer *p,
                                             struct fs_config_section *s, const char *name,
                                             const struct fs_rail_motor *mc,
                                             struct fs_error *err)
{
    struct fs_mcu *mcu;
    if (fs_printer_pin_mcu(p, s, "step_pin", &mc->step_pin, &mcu, err) < 0)
        return NULL;
    struct fs_mcu *dir_mcu;
    if (fs_printer_pin_mcu(p, s, "dir_pin", &mc->dir_pin, &dir_mcu, err) < 0)
        return NULL;
    if (dir_mcu != mcu) {
        fs_config_error(s, "dir_pin", err, "must be on the same MCU as step_pin");
        return NULL;
    }
    struct fs_stepsync *sync = fs_printer_stepsync(p, mcu, err);
    if (!sync)
        return NULL;
    /* Lets the stepsync judge lateness against the host clock now rather
     * than the last message received. */
    fs_stepsync_set_reactor(sync, p->reactor);
    char where[FS_PRINTER_WHERE_MAX];
    struct fs_stepper_params sp = {
        .name = name,
        .where = fs_printer_section_context(s, where, sizeof(where)),
        .mcu = mcu,
        .sync = sync,
        .step_pin = mc->step_pin,
        .dir_pin = mc->dir_pin,
        .has_enable = mc->has_enable,
        .enable_pin = mc->enable_pin,
        .step_dist = mc->step_dist,
        .step_pulse_s = mc->step_pulse_s,
    };
    return fs_stepper_new(&sp, err);
}
