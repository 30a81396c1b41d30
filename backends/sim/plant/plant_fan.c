/* A fan motor with a tachometer (see plant_fan.h). */
#include "plant_fan.h"

#include <math.h> /* exp, floor */

void plant_fan_params_default(struct plant_fan_params *p)
{
    p->max_rpm = 5000.0;
    p->tau_s = 0.5;
    p->ppr = 2;
}

void plant_fan_init(struct plant_fan *f, const struct plant_fan_params *p, int64_t t_ns)
{
    f->params = *p;
    f->t_ns = t_ns;
    f->drive = 0.0;
    f->rpm = 0.0;
    f->revs = 0.0;
    f->stalled = 0;
}

void plant_fan_advance(struct plant_fan *f, int64_t t_ns)
{
    if (t_ns <= f->t_ns)
        return;
    double dt = (double)(t_ns - f->t_ns) * 1e-9;
    f->t_ns = t_ns;
    if (f->stalled) {
        f->rpm = 0.0;
        return;
    }
    double target = f->params.max_rpm * f->drive;
    double decay = exp(-dt / f->params.tau_s);
    double gap = f->rpm - target;
    f->revs += (target * dt + gap * f->params.tau_s * (1.0 - decay)) / 60.0;
    f->rpm = target + gap * decay;
}

void plant_fan_set_drive(struct plant_fan *f, int64_t t_ns, double drive)
{
    plant_fan_advance(f, t_ns);
    f->drive = drive < 0.0 ? 0.0 : drive > 1.0 ? 1.0 : drive;
}

void plant_fan_set_stalled(struct plant_fan *f, int64_t t_ns, int stalled)
{
    plant_fan_advance(f, t_ns);
    f->stalled = stalled;
    if (stalled)
        f->rpm = 0.0;
}

int plant_fan_tach_level(struct plant_fan *f, int64_t t_ns)
{
    plant_fan_advance(f, t_ns);
    return (long long)floor(f->revs * 2.0 * f->params.ppr) & 1;
}
