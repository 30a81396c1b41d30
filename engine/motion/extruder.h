/* The extruder as the fourth axis: its motor ([extruder] step_pin, ...,
 * rotation_distance), the limits of extrusion (cross section, extrude-only
 * distance, speed and acceleration), pressure advance, and the refusal to
 * push filament through a cold nozzle. The heater part of [extruder] is the
 * thermal module's; both read the same section. */
#ifndef FS_EXTRUDER_H
#define FS_EXTRUDER_H

#include "motion/rail.h" /* struct fs_rail_motor */

struct fs_error;
struct fs_extruder;
struct fs_move;
struct fs_printer;
struct fs_stepper;

struct fs_extruder_config {
    struct fs_rail_motor motor;
    double nozzle_diameter, filament_diameter;
    double max_extrude_cross_section;   /* mm^2, default 4 * nozzle^2 */
    double max_extrude_only_distance;   /* mm, default 50 */
    double max_extrude_only_velocity;   /* mm/s of filament */
    double max_extrude_only_accel;
    double instantaneous_corner_velocity; /* mm/s, default 1 */
    /* s. The smooth time is accepted and reported, not yet applied: the
     * step generator adds pressure_advance * velocity unsmoothed. */
    double pressure_advance, pressure_advance_smooth_time;
};

/* Reads [extruder]; max_velocity and max_accel are the printer's (the
 * defaults of the extrude-only limits scale them by the filament that the
 * largest cross section needs). */
int fs_extruder_config_read(struct fs_config_section *s, double max_velocity,
                            double max_accel, struct fs_extruder_config *out,
                            struct fs_error *err);

struct fs_extruder *fs_extruder_new(struct fs_printer *p, struct fs_config_section *s,
                                    double max_velocity, double max_accel,
                                    struct fs_error *err);
void fs_extruder_free(struct fs_extruder *ex);
struct fs_stepper *fs_extruder_stepper(struct fs_extruder *ex);
/* Where a refused cold extrusion is raised (the toolhead's source). */
struct fs_fault_source;
void fs_extruder_set_fault_source(struct fs_extruder *ex, struct fs_fault_source *src);
const struct fs_extruder_config *fs_extruder_get_config(const struct fs_extruder *ex);
/* Pressure advance (s) to apply to this move's extruder motion (0 unless
 * the move prints: XY motion with filament going forward). */
double fs_extruder_move_pressure_advance(const struct fs_extruder *ex,
                                         const struct fs_move *m);

/* Registers SET_PRESSURE_ADVANCE [ADVANCE=] [SMOOTH_TIME=] (reports the
 * values either way). */
struct fs_gcode;
int fs_extruder_register_gcode(struct fs_extruder *ex, struct fs_gcode *g,
                               struct fs_error *err);

/* Refuses moves the extruder must not make: "Extrude below minimum temp",
 * "Extrude only move too long", "Move exceeds maximum extrusion". */
int fs_extruder_check_move(const struct fs_extruder *ex, const struct fs_move *m,
                           struct fs_error *err);

#endif
