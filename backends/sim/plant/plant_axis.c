/* Step counting and the endstop switch of one axis. */
#include "plant_axis.h"

#include <math.h> /* llround */

void plant_axis_params_default(struct plant_axis_params *p)
{
    p->steps_per_mm = 80.0;
    p->invert_dir = 0;
    p->enable_active_low = 1;
    p->has_enable_pin = 1;
    p->initial_mm = 0.0;
    p->endstop_side = PLANT_ENDSTOP_MIN;
    p->endstop_mm = 0.0;
    p->endstop_trigger_level = 1;
}

void plant_axis_init(struct plant_axis *a, const struct plant_axis_params *p)
{
    a->params = *p;
    a->position_steps = llround(p->initial_mm * p->steps_per_mm);
    a->step_count = 0;
    a->ignored_steps = 0;
    a->step_level = 0;
    a->dir_level = 0;
    /* Power-on: a pulled-up active-low enable reads disabled. */
    a->enable_level = p->enable_active_low ? 1 : 0;
    a->endstop_stuck_open = 0;
}

int plant_axis_is_enabled(const struct plant_axis *a)
{
    if (!a->params.has_enable_pin)
        return 1;
    return a->params.enable_active_low ? !a->enable_level : a->enable_level;
}

void plant_axis_set_step(struct plant_axis *a, uint8_t level)
{
    level = level ? 1 : 0;
    int rising = level && !a->step_level;
    a->step_level = level;
    if (!rising)
        return;
    if (!plant_axis_is_enabled(a)) {
        a->ignored_steps++;
        return;
    }
    int positive = a->dir_level ? !a->params.invert_dir : a->params.invert_dir;
    a->position_steps += positive ? 1 : -1;
    a->step_count++;
}

void plant_axis_set_dir(struct plant_axis *a, uint8_t level)
{
    a->dir_level = level ? 1 : 0;
}

void plant_axis_set_enable(struct plant_axis *a, uint8_t level)
{
    a->enable_level = level ? 1 : 0;
}

double plant_axis_position_mm(const struct plant_axis *a)
{
    return (double)a->position_steps / a->params.steps_per_mm;
}

int plant_axis_endstop_triggered(const struct plant_axis *a)
{
    if (a->endstop_stuck_open)
        return 0;
    /* Compare in steps so the switch point is exact, not subject to
     * rounding of the position in mm. */
    int64_t switch_steps = llround(a->params.endstop_mm * a->params.steps_per_mm);
    switch (a->params.endstop_side) {
    case PLANT_ENDSTOP_MIN:
        return a->position_steps <= switch_steps;
    case PLANT_ENDSTOP_MAX:
        return a->position_steps >= switch_steps;
    default:
        return 0;
    }
}

uint8_t plant_axis_endstop_level(const struct plant_axis *a)
{
    uint8_t pressed = a->params.endstop_trigger_level ? 1 : 0;
    return plant_axis_endstop_triggered(a) ? pressed : (uint8_t)!pressed;
}
