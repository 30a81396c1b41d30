/* The lumped heater model, advanced with its exact solution, and the loose
 * sensor bead driven by it. */
#include "plant_heater.h"

#include <math.h> /* exp, expm1, fabs */

void plant_heater_params_default(struct plant_heater_params *p)
{
    p->capacity_j_per_k = 20.0; /* tau = C / k_loss = 111 s */
    p->power_w = 40.0;
    p->loss_w_per_k = 0.18;     /* 40 W / 0.18 W/K = 222 K above ambient */
    p->fan_loss_w_per_k = 0.12;
    p->ambient_c = 20.0;
    p->initial_c = 20.0;
}

void plant_probe_params_default(struct plant_probe_params *p)
{
    p->capacity_j_per_k = 0.5;
    p->to_block_w_per_k = 0.002;
    p->to_ambient_w_per_k = 0.01;
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
    h->stuck_on = 0;
    h->power_scale = 1.0;
    h->power_scale_final = 1.0;
    h->power_decay_per_s = 0.0;
    h->probe_detached = 0;
    plant_probe_params_default(&h->probe);
    h->probe_temp_c = h->temp_c;
}

static double clamp01(double v)
{
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

/* Heat input at the cartridge's full health for a drive, W. */
static double heat_input_w(const struct plant_heater *h, double drive)
{
    if (h->disconnected)
        return 0.0;
    return h->params.power_w * (h->stuck_on ? 1.0 : drive);
}

static double total_loss_w_per_k(const struct plant_heater *h, double fan)
{
    return h->params.loss_w_per_k + h->params.fan_loss_w_per_k * fan;
}

double plant_heater_equilibrium_c(const struct plant_heater *h, double drive, double fan)
{
    double k = total_loss_w_per_k(h, fan);
    double scale = h->power_decay_per_s > 0.0 ? h->power_scale_final : h->power_scale;
    double input = heat_input_w(h, drive);
    if (k <= 0.0)
        return INFINITY;
    return h->params.ambient_c + input * scale / k;
}

/* integral_0^t exp(-a (t - x)) dx = (1 - exp(-a t)) / a, with its limit t. */
static double psi(double a, double t)
{
    return a == 0.0 ? t : -expm1(-a * t) / a;
}

/* integral_0^t exp(-a (t - x)) exp(-b x) dx: written around the smaller
 * rate so neither overflow nor cancellation can bite, a == b included. */
static double phi(double a, double b, double t)
{
    double lo = a < b ? a : b, d = fabs(a - b);
    return exp(-lo * t) * psi(d, t);
}

/* The general step: a decaying cartridge, a loose sensor, or both. u is the
 * block's excess over ambient, obeying u' = -a u + g0 + g1 exp(-lam x); the
 * bead's excess v obeys v' = -as v + beta u. */
static void advance_general(struct plant_heater *h, double dt)
{
    double c = h->params.capacity_j_per_k;
    double a = total_loss_w_per_k(h, h->fan) / c;
    double lam = h->power_decay_per_s;
    double p = heat_input_w(h, h->drive);
    double s = h->power_scale, sf = lam > 0.0 ? h->power_scale_final : s;
    double g0 = p * sf / c, g1 = lam > 0.0 ? p * (s - sf) / c : 0.0;
    double amb = h->params.ambient_c;
    double u0 = h->temp_c - amb;

    h->temp_c = amb + u0 * exp(-a * dt) + g0 * psi(a, dt) + g1 * phi(a, lam, dt);
    if (lam > 0.0)
        h->power_scale = sf + (s - sf) * exp(-lam * dt);

    if (!h->probe_detached)
        return;
    const struct plant_probe_params *pp = &h->probe;
    double as = (pp->to_block_w_per_k + pp->to_ambient_w_per_k) / pp->capacity_j_per_k;
    double beta = pp->to_block_w_per_k / pp->capacity_j_per_k;
    /* integral_0^dt exp(-as (dt - x)) u(x) dx, term by term. */
    double j_u0 = phi(as, a, dt);
    double j_g0 = a > 0.0 ? (psi(as, dt) - phi(as, a, dt)) / a : (dt - psi(as, dt)) / as;
    double j_g1 = 0.0;
    if (g1 != 0.0) {
        /* At a == lam the block's term is x exp(-a x); a relative nudge of
         * 1e-6 to the decay rate keeps one formula at a negligible cost. */
        double lam_p = fabs(a - lam) <= 1e-9 * lam ? lam * (1.0 + 1e-6) : lam;
        j_g1 = (phi(as, lam_p, dt) - phi(as, a, dt)) / (a - lam_p);
    }
    double v0 = h->probe_temp_c - amb;
    h->probe_temp_c = amb + v0 * exp(-as * dt) + beta * (u0 * j_u0 + g0 * j_g0 + g1 * j_g1);
}

void plant_heater_advance(struct plant_heater *h, int64_t t_ns)
{
    if (t_ns <= h->updated_ns)
        return;
    double dt_s = (double)(t_ns - h->updated_ns) * 1e-9;
    h->updated_ns = t_ns;
    if (h->probe_detached || h->power_decay_per_s > 0.0) {
        advance_general(h, dt_s);
        return;
    }
    double k = total_loss_w_per_k(h, h->fan);
    double c = h->params.capacity_j_per_k;
    double input = heat_input_w(h, h->drive) * h->power_scale;
    if (k <= 0.0) {
        /* No loss at all: the temperature rises linearly. */
        h->temp_c += input / c * dt_s;
        return;
    }
    double eq = h->params.ambient_c + input / k;
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

void plant_heater_set_power_scale(struct plant_heater *h, int64_t t_ns, double scale,
                                  double final_scale, double decay_tau_s)
{
    plant_heater_advance(h, t_ns);
    h->power_scale = scale > 0.0 ? scale : 0.0;
    if (decay_tau_s > 0.0) {
        h->power_scale_final = final_scale > 0.0 ? final_scale : 0.0;
        h->power_decay_per_s = 1.0 / decay_tau_s;
    } else {
        h->power_scale_final = h->power_scale;
        h->power_decay_per_s = 0.0;
    }
}

void plant_heater_set_stuck_on(struct plant_heater *h, int64_t t_ns, int stuck)
{
    plant_heater_advance(h, t_ns);
    h->stuck_on = stuck ? 1 : 0;
}

int plant_heater_detach_probe(struct plant_heater *h, int64_t t_ns,
                              const struct plant_probe_params *p)
{
    if (!(p->capacity_j_per_k > 0.0) || !(p->to_block_w_per_k >= 0.0) ||
        !(p->to_ambient_w_per_k >= 0.0) ||
        !(p->to_block_w_per_k + p->to_ambient_w_per_k > 0.0))
        return -1;
    plant_heater_advance(h, t_ns);
    if (!h->probe_detached)
        h->probe_temp_c = h->temp_c;
    h->probe = *p;
    h->probe_detached = 1;
    return 0;
}

void plant_heater_attach_probe(struct plant_heater *h, int64_t t_ns)
{
    plant_heater_advance(h, t_ns);
    h->probe_detached = 0;
    h->probe_temp_c = h->temp_c;
}

double plant_heater_sensed_c(const struct plant_heater *h)
{
    return h->probe_detached ? h->probe_temp_c : h->temp_c;
}
