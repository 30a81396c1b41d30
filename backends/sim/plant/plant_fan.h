/* A fan motor with a tachometer: its speed follows the drive (the fan
 * pin's level, software PWM included) with a first-order lag, and the
 * tachometer output gives ppr pulses per revolution. Stalling (a blocked
 * or dead fan) stops it at once whatever the drive.
 *
 *   tau d(rpm)/dt = max_rpm * drive - rpm
 *
 * Between two drive changes this is solved exactly, revolutions included,
 * so the pulses need no events: the level is computed when it is read. */
#ifndef PLANT_FAN_H
#define PLANT_FAN_H

#include <stdint.h> /* int64_t */

struct plant_fan_params {
    double max_rpm; /* at full drive */
    double tau_s;   /* spin-up / spin-down time constant */
    int ppr;        /* tachometer pulses per revolution */
};

/* 5000 rpm, 0.5 s, 2 pulses per revolution. */
void plant_fan_params_default(struct plant_fan_params *p);

struct plant_fan {
    struct plant_fan_params params;
    int64_t t_ns;   /* the state below is at this time */
    double drive;   /* 0..1 */
    double rpm;
    double revs;
    int stalled;
};

void plant_fan_init(struct plant_fan *f, const struct plant_fan_params *p, int64_t t_ns);
/* Advances to t_ns (earlier times are ignored). */
void plant_fan_advance(struct plant_fan *f, int64_t t_ns);
void plant_fan_set_drive(struct plant_fan *f, int64_t t_ns, double drive);
void plant_fan_set_stalled(struct plant_fan *f, int64_t t_ns, int stalled);
/* The tachometer's level at t_ns. */
int plant_fan_tach_level(struct plant_fan *f, int64_t t_ns);

#endif
