/* A heater block as one lumped thermal mass: the physics behind a hotend or
 * a bed, for the simulator and the standalone firmware port.
 *
 *   C dT/dt = P * drive - k_loss * (T - T_amb) - k_fan * fan * (T - T_amb)
 *
 * Between two changes of drive or fan the right-hand side is linear in T, so
 * the model is advanced with its exact solution (an exponential approach to
 * the equilibrium temperature) instead of small Euler steps: the result does
 * not depend on how often it is advanced, a heater pin that toggles a
 * thousand times costs a thousand exp() calls, and an idle heater costs
 * nothing. Callers advance the model to the time of every change and to any
 * time they read it. Times are int64 nanoseconds; the model never goes back. */
#ifndef PLANT_HEATER_H
#define PLANT_HEATER_H

#include <stdint.h> /* int64_t */

struct plant_heater_params {
    double capacity_j_per_k;  /* C */
    double power_w;           /* P at full drive */
    double loss_w_per_k;      /* k_loss, to ambient */
    double fan_loss_w_per_k;  /* k_fan, extra loss with the fan at full speed */
    double ambient_c;         /* T_amb */
    double initial_c;         /* temperature at creation */
};

struct plant_heater {
    struct plant_heater_params params;
    double temp_c;
    int64_t updated_ns; /* the time temp_c belongs to */
    double drive;       /* 0..1: the heater pin's level or PWM duty */
    double fan;         /* 0..1 */
    /* Fault hook: the heater's wires are cut, so drive has no effect. */
    int disconnected;
};

/* A 40 W hotend: reaches about 250 C over a 20 C room without a fan. */
void plant_heater_params_default(struct plant_heater_params *p);

void plant_heater_init(struct plant_heater *h, const struct plant_heater_params *p,
                       int64_t now_ns);

/* Advances the temperature to t_ns with the current drive and fan. A time
 * before the last update is ignored (the model only moves forward). */
void plant_heater_advance(struct plant_heater *h, int64_t t_ns);

/* Advance to t_ns, then apply the new drive (clamped to 0..1). */
void plant_heater_set_drive(struct plant_heater *h, int64_t t_ns, double drive);
void plant_heater_set_fan(struct plant_heater *h, int64_t t_ns, double fan);

/* The temperature the heater settles at with the given drive and fan. */
double plant_heater_equilibrium_c(const struct plant_heater *h, double drive, double fan);

#endif
