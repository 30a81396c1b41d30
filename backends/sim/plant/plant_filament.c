/* The filament path of one extruder (see plant_filament.h). */
#include "plant_filament.h"

#include <math.h> /* INFINITY, floor */

void plant_filament_params_default(struct plant_filament_params *p)
{
    p->toggle_mm = 2.88;
}

void plant_filament_init(struct plant_filament *f, const struct plant_filament_params *p,
                         double motor_mm)
{
    f->params = *p;
    f->motor_mm = motor_mm;
    f->fed_mm = 0.0;
    f->tail_mm = INFINITY;
    f->jammed = 0;
    f->gone = 0;
}

void plant_filament_update(struct plant_filament *f, double motor_mm)
{
    double moved = motor_mm - f->motor_mm;
    f->motor_mm = motor_mm;
    if (f->jammed || f->gone)
        return;
    f->fed_mm += moved;
    if (f->fed_mm >= f->tail_mm)
        f->gone = 1;
}

int plant_filament_present(const struct plant_filament *f) { return !f->gone; }

int plant_filament_motion_level(const struct plant_filament *f)
{
    return (long long)floor(f->fed_mm / f->params.toggle_mm) & 1;
}

void plant_filament_run_out(struct plant_filament *f, double motor_mm, double after_mm)
{
    plant_filament_update(f, motor_mm);
    f->tail_mm = f->fed_mm + (after_mm > 0.0 ? after_mm : 0.0);
    if (f->fed_mm >= f->tail_mm)
        f->gone = 1;
}

void plant_filament_set_jammed(struct plant_filament *f, double motor_mm, int jammed)
{
    plant_filament_update(f, motor_mm);
    f->jammed = jammed;
}

void plant_filament_reload(struct plant_filament *f, double motor_mm)
{
    plant_filament_update(f, motor_mm);
    f->gone = 0;
    f->jammed = 0;
    f->tail_mm = INFINITY;
}
