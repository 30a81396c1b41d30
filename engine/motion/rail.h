/* The options that describe a stepper motor ([stepper_x], [extruder]) and
 * an axis rail ([stepper_x|y|z]: travel, endstop, homing), read and checked
 * once at start-up so that nothing downstream deals with bad values. */
#ifndef FS_RAIL_H
#define FS_RAIL_H

#include "config/config.h" /* struct fs_pin_desc, struct fs_config_section */

struct fs_error;
struct fs_printer;
struct fs_stepper;

/* step_dist = rotation_distance / (full_steps * microsteps * gear_ratio) */
struct fs_rail_motor {
    struct fs_pin_desc step_pin, dir_pin, enable_pin;
    int has_enable;
    int microsteps, full_steps;
    double rotation_distance, gear_ratio;
    double step_dist; /* mm per microstep */
    double step_pulse_s; /* step_pulse_duration; 0: the stepper's default */
};

struct fs_rail_config {
    char name[32]; /* "stepper_x" */
    struct fs_rail_motor motor;
    struct fs_pin_desc endstop_pin;
    double position_endstop, position_min, position_max;
    double homing_speed, second_homing_speed, homing_retract_dist;
    int homing_positive_dir;
};

/* step_pin, dir_pin, enable_pin, microsteps, rotation_distance,
 * full_steps_per_rotation, gear_ratio ("3:1, 2:1": the product),
 * step_pulse_duration. */
int fs_rail_motor_read(struct fs_config_section *s, struct fs_rail_motor *out,
                       struct fs_error *err);
/* Motor options plus endstop_pin, position_endstop, position_min/max,
 * homing_speed (limited by max_velocity), homing_retract_dist,
 * second_homing_speed, homing_positive_dir (inferred from where
 * position_endstop lies when absent). */
int fs_rail_config_read(struct fs_config_section *s, double max_velocity,
                        struct fs_rail_config *out, struct fs_error *err);
/* Creates the stepper for a motor section (its MCU from the step pin, the
 * MCU's stepsync). name is "stepper_x", "extruder". */
struct fs_stepper *fs_rail_motor_stepper_new(struct fs_printer *p,
                                             struct fs_config_section *s, const char *name,
                                             const struct fs_rail_motor *mc,
                                             struct fs_error *err);
/* Parses a gear_ratio value; exposed for tests. */
int fs_rail_parse_gear_ratio(const char *text, double *ratio);

#endif
