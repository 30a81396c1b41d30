/* A heater block as one lumped thermal mass: the physics behind a hotend or
 * a bed, for the simulator and the standalone firmware port.
 *
 *   C dT/dt = P * s(t) * drive - k_loss * (T - T_amb) - k_fan * fan * (T - T_amb)
 *
 * s(t) is the cartridge's health: 1 when sound, a smaller constant when it
 * has weakened, or an exponential decay towards a final value while it
 * dies. Between two changes of drive or fan the right-hand side is a
 * constant plus at most one decaying exponential, so the model is advanced
 * with its exact solution instead of small Euler steps: the result does not
 * depend on how often it is advanced, a heater pin that toggles a thousand
 * times costs a thousand exp() calls, and an idle heater costs nothing.
 * Callers advance the model to the time of every change and to any time they
 * read it. Times are int64 nanoseconds; the model never goes back.
 *
 * A thermistor that came loose from the block (a fault) is a second, small
 * mass with its own temperature, coupled weakly to the block and to the air:
 *
 *   C_s dT_s/dt = -k_bs * (T_s - T) - k_sa * (T_s - T_amb)
 *
 * Its heat draw on the block is negligible next to the block's own losses,
 * so the block does not feel it. Driven by the block's exact trajectory, it
 * has an exact solution too, computed in the same step. */
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

/* The loose sensor's own thermal mass and what is left of its contact. */
struct plant_probe_params {
    double capacity_j_per_k;   /* C_s, > 0 */
    double to_block_w_per_k;   /* k_bs, >= 0 */
    double to_ambient_w_per_k; /* k_sa, >= 0; k_bs + k_sa > 0 */
};

struct plant_heater {
    struct plant_heater_params params;
    double temp_c;
    int64_t updated_ns; /* the time temp_c belongs to */
    double drive;       /* 0..1: the heater pin's level or PWM duty */
    double fan;         /* 0..1 */
    /* Fault hooks. Set them through the functions below (which advance the
     * model first) except `disconnected`, kept for older callers. */
    int disconnected;        /* the wires are cut: no heat whatever the drive */
    int stuck_on;            /* welded switch: full drive whatever the pin says */
    double power_scale;      /* s(t) now; 1 for a sound cartridge */
    double power_scale_final;
    double power_decay_per_s; /* 0: s stays where it is */
    int probe_detached;      /* the sensor reads probe_temp_c, not temp_c */
    struct plant_probe_params probe;
    double probe_temp_c;
};

/* A 40 W hotend: reaches about 250 C over a 20 C room without a fan. */
void plant_heater_params_default(struct plant_heater_params *p);
/* A bead hanging in its sleeve: 0.5 J/K, 0.002 W/K to the block, 0.01 W/K
 * to the air. With the block 230 K over the room it reads 38 K over it,
 * approached with a 42 s time constant. */
void plant_probe_params_default(struct plant_probe_params *p);

void plant_heater_init(struct plant_heater *h, const struct plant_heater_params *p,
                       int64_t now_ns);

/* Advances the temperature to t_ns with the current drive and fan. A time
 * before the last update is ignored (the model only moves forward). */
void plant_heater_advance(struct plant_heater *h, int64_t t_ns);

/* Advance to t_ns, then apply the new drive (clamped to 0..1). */
void plant_heater_set_drive(struct plant_heater *h, int64_t t_ns, double drive);
void plant_heater_set_fan(struct plant_heater *h, int64_t t_ns, double fan);

/* The temperature the heater settles at with the given drive and fan, with
 * the cartridge's final health and a stuck switch taken into account. */
double plant_heater_equilibrium_c(const struct plant_heater *h, double drive, double fan);

/* Fault hooks, each applied from t_ns on. The cartridge's health: scale
 * (>= 0) from now, decaying exponentially towards final_scale with the time
 * constant decay_tau_s (<= 0: stays at scale). 0 is a dead cartridge, 1 a
 * sound one. */
void plant_heater_set_power_scale(struct plant_heater *h, int64_t t_ns, double scale,
                                  double final_scale, double decay_tau_s);
void plant_heater_set_stuck_on(struct plant_heater *h, int64_t t_ns, int stuck);
/* The sensor comes loose (starting at the block's temperature) or is put
 * back (reading the block again). Returns -1 for parameters without a
 * meaning (a massless bead or one coupled to nothing). */
int plant_heater_detach_probe(struct plant_heater *h, int64_t t_ns,
                              const struct plant_probe_params *p);
void plant_heater_attach_probe(struct plant_heater *h, int64_t t_ns);
/* What the heater's sensor is in contact with: the block, or the loose
 * bead's own temperature. Advance first. */
double plant_heater_sensed_c(const struct plant_heater *h);

#endif
