/* The lumped heater model, advanced with its exact solution. */
#include "plant_heater.h"

#include <math.h> /* exp */

void plant_heater_params_default(struct plant_heater_params *p)
{
    p->capacity_j_per_k = 20.0; /* tau = C / k_loss = 111 s */
    p->power_w = 40.0;
    p->loss_w_per_k = 0.18;     /* 40 W / 0.18 W/K = 222 K above ambient */
    p->fan_loss_w_per_k = 0.12;
    p->ambient_c = 20.0;
    p->initial_c = 20.0;
}

void plant_heater_init(struct plant_heater *h, const struct plant_heater_params *p,
                       int64_t now_ns)
{
    h->params = *p;
    h->temp_c = p->initial_c;
    h->updated_ns = now_ns;
    h->drive = 0.0;
    h->fan = 0.0;
    h->disconnected = 0;
}

static double clamp01(double v)
{
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

static double heat_input_w(const struct plant_heater *h, double drive)
{
    return h->disconnected ? 0.0 : h->params.power_w * drive;
}

static double total_loss_w_per_k(const struct plant_heater *h, double fan)
{
    return h->params.loss_w_per_k + h->params.fan_loss_w_per_k * fan;
}

double plant_heater_equilibrium_c(const struct plant_heater *h, double drive, double fan)
{
    double k = total_loss_w_per_k(h, fan);
    if (k <= 0.0)
        return INFINITY;
    return h->params.ambient_c + heat_input_w(h, drive) / k;
}

void plant_heater_advance(struct plant_heater *h, int64_t t_ns)
{
    if (t_ns <= h->updated_ns)
        return;
    double dt_s = (double)(t_ns - h->updated_ns) * 1e-9;
    h->updated_ns = t_ns;
    double k = total_loss_w_per_k(h, h->fan);
    double c = h->params.capacity_j_per_k;
    if (k <= 0.0) {
        /* No loss at all: the temperature rises linearly. */
        h->temp_c += heat_input_w(h, h->drive) / c * dt_s;
        return;
    }
    double eq = h->params.ambient_c + heat_input_w(h, h->drive) / k;
    h->temp_c = eq + (h->temp_c - eq) * exp(-dt_s * k / c);
}

void plant_heater_set_drive(struct plant_heater *h, int64_t t_ns, double drive)
{
    plant_heater_advance(h, t_ns);
    h->drive = clamp01(drive);
}

void plant_heater_set_fan(struct plant_heater *h, int64_t t_ns, double fan)
{
    plant_heater_advance(h, t_ns);
    h->fan = clamp01(fan);
}
