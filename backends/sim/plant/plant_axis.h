/* One linear axis driven by a step/dir stepper driver, with an optional
 * endstop switch.
 *
 * The position is exact, counted from step edges: a rising edge on the step
 * pin moves one step in the direction the dir pin holds at that moment (dir
 * high is positive unless inverted), provided the driver is enabled. There is
 * no time stepping. The endstop reads triggered whenever the axis is at or
 * beyond its switch, which is at a position near the min or the max end. */
#ifndef PLANT_AXIS_H
#define PLANT_AXIS_H

#include <stdint.h> /* int64_t, uint8_t */

enum plant_endstop_side {
    PLANT_ENDSTOP_NONE = 0,
    PLANT_ENDSTOP_MIN, /* triggered at or below the switch position */
    PLANT_ENDSTOP_MAX, /* triggered at or above the switch position */
};

struct plant_axis_params {
    double steps_per_mm;
    int invert_dir;          /* dir low is the positive direction */
    int enable_active_low;   /* the usual driver: EN low means enabled */
    int has_enable_pin;      /* without one the driver is always enabled */
    double initial_mm;
    enum plant_endstop_side endstop_side;
    double endstop_mm;       /* switch position */
    uint8_t endstop_trigger_level; /* input level while pressed */
};

struct plant_axis {
    struct plant_axis_params params;
    int64_t position_steps;
    uint64_t step_count;       /* steps taken while enabled, either direction */
    uint64_t ignored_steps;    /* step edges while the driver was disabled */
    uint8_t step_level, dir_level, enable_level;
    /* Fault hook: the switch is broken and always reads released. */
    int endstop_stuck_open;
};

/* 80 steps/mm, an active-low enable pin, endstop at 0 on the min side,
 * pressed reads high. */
void plant_axis_params_default(struct plant_axis_params *p);
void plant_axis_init(struct plant_axis *a, const struct plant_axis_params *p);

void plant_axis_set_step(struct plant_axis *a, uint8_t level);
void plant_axis_set_dir(struct plant_axis *a, uint8_t level);
void plant_axis_set_enable(struct plant_axis *a, uint8_t level);

int plant_axis_is_enabled(const struct plant_axis *a);
double plant_axis_position_mm(const struct plant_axis *a);
int plant_axis_endstop_triggered(const struct plant_axis *a);
/* The level the endstop input pin reads. */
uint8_t plant_axis_endstop_level(const struct plant_axis *a);

#endif
