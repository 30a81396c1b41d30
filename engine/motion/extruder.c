/* The extruder's motion side; see extruder.h. */
#include "motion/extruder.h"

#include <math.h>   /* M_PI, fabs, isnan, INFINITY, NAN */
#include <stdlib.h> /* calloc, free */

#include "core/error.h"       /* fs_error_set */
#include "fault/fault.h"      /* fs_fault_raise */
#include "gcode/gcode.h"      /* fs_gcode_register */
#include "motion/lookahead.h" /* struct fs_move */
#include "motion/stepper.h"   /* fs_stepper_free */
#include "printer/printer.h"  /* struct fs_printer */
#include "thermal/heater.h"   /* fs_heater_can_extrude */
#include "thermal/heaters.h"  /* fs_heaters_lookup */

struct fs_extruder {
    struct fs_printer *printer;
    struct fs_extruder_config cfg;
    struct fs_stepper *stepper;
    struct fs_fault_source *fault_src; /* cold extrusion is raised on it */
};

void fs_extruder_set_fault_source(struct fs_extruder *ex, struct fs_fault_source *src)
{
    ex->fault_src = src;
}

int fs_extruder_config_read(struct fs_config_section *s, double max_velocity,
                            double max_accel, struct fs_extruder_config *out,
                            struct fs_error *err)
{
    if (fs_rail_motor_read(s, &out->motor, err) < 0 ||
        fs_config_get_float_above(s, "nozzle_diameter", NAN, 0.0, &out->nozzle_diameter,
                                  err) < 0 ||
        fs_config_get_float_above(s, "filament_diameter", NAN, 0.0, &out->filament_diameter,
                                  err) < 0)
        return -1;
    if (out->filament_diameter < out->nozzle_diameter)
        return fs_config_error(s, "filament_diameter", err,
                               "%.3f is smaller than nozzle_diameter %.3f",
                               out->filament_diameter, out->nozzle_diameter);
    double filament_area = M_PI * out->filament_diameter * out->filament_diameter / 4.0;
    double default_section = 4.0 * out->nozzle_diameter * out->nozzle_diameter;
    if (fs_config_get_float_above(s, "max_extrude_cross_section", default_section, 0.0,
                                  &out->max_extrude_cross_section, err) < 0)
        return -1;
    /* Filament speed that the largest cross section needs at head speed. */
    double ratio = out->max_extrude_cross_section / filament_area;
    if (fs_config_get_float(s, "max_extrude_only_distance", 50.0, 0.0, INFINITY,
                            &out->max_extrude_only_distance, err) < 0 ||
        fs_config_get_float_above(s, "max_extrude_only_velocity", max_velocity * ratio, 0.0,
                                  &out->max_extrude_only_velocity, err) < 0 ||
        fs_config_get_float_above(s, "max_extrude_only_accel", max_accel * ratio, 0.0,
                                  &out->max_extrude_only_accel, err) < 0 ||
        fs_config_get_float_above(s, "instantaneous_corner_velocity", 1.0, 0.0,
                                  &out->instantaneous_corner_velocity, err) < 0 ||
        fs_config_get_float(s, "pressure_advance", 0.0, 0.0, INFINITY,
                            &out->pressure_advance, err) < 0 ||
        fs_config_get_float(s, "pressure_advance_smooth_time", 0.040, 0.0, 0.200,
                            &out->pressure_advance_smooth_time, err) < 0)
        return -1;
    return 0;
}

struct fs_extruder *fs_extruder_new(struct fs_printer *p, struct fs_config_section *s,
                                    double max_velocity, double max_accel,
                                    struct fs_error *err)
{
    struct fs_extruder *ex = calloc(1, sizeof(*ex));
    if (!ex) {
        fs_error_set(err, "extruder: out of memory");
        return NULL;
    }
    ex->printer = p;
    if (fs_extruder_config_read(s, max_velocity, max_accel, &ex->cfg, err) < 0 ||
        !(ex->stepper = fs_rail_motor_stepper_new(p, s, "extruder", &ex->cfg.motor, err))) {
        free(ex);
        return NULL;
    }
    return ex;
}

void fs_extruder_free(struct fs_extruder *ex)
{
    if (!ex)
        return;
    fs_stepper_free(ex->stepper);
    free(ex);
}

struct fs_stepper *fs_extruder_stepper(struct fs_extruder *ex) { return ex->stepper; }

const struct fs_extruder_config *fs_extruder_get_config(const struct fs_extruder *ex)
{
    return &ex->cfg;
}

double fs_extruder_move_pressure_advance(const struct fs_extruder *ex,
                                         const struct fs_move *m)
{
    /* Only printing moves build nozzle pressure; retractions and travel
     * would only be distorted by it. */
    if (!m->is_kinematic || m->axes_d[FS_AXIS_E] <= 0.0 ||
        (m->axes_d[FS_AXIS_X] == 0.0 && m->axes_d[FS_AXIS_Y] == 0.0))
        return 0.0;
    return ex->cfg.pressure_advance;
}

static int check_temperature(const struct fs_extruder *ex, struct fs_error *err)
{
    if (!ex->printer || !ex->printer->heaters)
        return 0;
    struct fs_heater *h = fs_heaters_lookup(ex->printer->heaters, "extruder");
    if (!h || fs_heater_can_extrude(h))
        return 0;
    double temp, target;
    fs_heater_get_temp(h, &temp, &target);
    if (isnan(temp)) {
        fs_fault_raise(ex->fault_src, FS_FAULT_COLD_EXTRUDE,
                       "extrusion refused: no temperature reading yet, min_extrude_temp "
                       "%.1f C", fs_heater_min_extrude_temp(h));
        return fs_error_set(err, "Extrude below minimum temp: the extruder has no "
                            "temperature reading yet");
    }
    fs_fault_raise(ex->fault_src, FS_FAULT_COLD_EXTRUDE,
                   "extrusion refused: extruder at %.1f C (target %.1f C), "
                   "min_extrude_temp %.1f C", temp, target, fs_heater_min_extrude_temp(h));
    return fs_error_set(err, "Extrude below minimum temp: extruder at %.1f C, "
                        "min_extrude_temp is %.1f C (heat it first, M109 S<temp>)",
                        temp, fs_heater_min_extrude_temp(h));
}

int fs_extruder_check_move(const struct fs_extruder *ex, const struct fs_move *m,
                           struct fs_error *err)
{
    double de = m->axes_d[FS_AXIS_E];
    if (de == 0.0)
        return 0;
    if (check_temperature(ex, err) < 0)
        return -1;
    if (!m->is_kinematic) {
        if (fabs(de) > ex->cfg.max_extrude_only_distance)
            return fs_error_set(err, "Extrude only move too long (%.3fmm vs %.3fmm): see "
                                "the 'max_extrude_only_distance' option of [extruder]",
                                fabs(de), ex->cfg.max_extrude_only_distance);
        return 0;
    }
    double filament_area = M_PI * ex->cfg.filament_diameter * ex->cfg.filament_diameter / 4.0;
    double section = de * filament_area / m->move_d;
    /* Tiny moves are spared: slicers emit them with rounding noise. */
    if (de > 0.0 && section > ex->cfg.max_extrude_cross_section && m->move_d > 0.001)
        return fs_error_set(err, "Move exceeds maximum extrusion (%.3fmm^2 vs %.3fmm^2): see "
                            "the 'max_extrude_cross_section' option of [extruder]",
                            section, ex->cfg.max_extrude_cross_section);
    return 0;
}

static int cmd_set_pressure_advance(void *arg, struct fs_gcode *g,
                                    const struct fs_gcode_command *c, struct fs_error *err)
{
    struct fs_extruder *ex = arg;
    double pa = ex->cfg.pressure_advance, smooth = ex->cfg.pressure_advance_smooth_time;
    if (fs_gcode_get_float(c, "ADVANCE", pa, 0.0, INFINITY, &pa, err) < 0 ||
        fs_gcode_get_float(c, "SMOOTH_TIME", smooth, 0.0, 0.200, &smooth, err) < 0)
        return -1;
    ex->cfg.pressure_advance = pa;
    ex->cfg.pressure_advance_smooth_time = smooth;
    fs_gcode_respond_info(g, "pressure_advance: %.6f pressure_advance_smooth_time: %.6f", pa,
                          smooth);
    return 0;
}

int fs_extruder_register_gcode(struct fs_extruder *ex, struct fs_gcode *g,
                               struct fs_error *err)
{
    return fs_gcode_register(g, "SET_PRESSURE_ADVANCE", cmd_set_pressure_advance, ex,
                             "Pressure advance of the extruder: [ADVANCE=s] [SMOOTH_TIME=s]",
                             err);
}
