/* The simulator's own pseudo-random numbers (splitmix64): small, fast, and
 * the same sequence on every platform, so a seed reproduces a run exactly.
 * Each consumer owns a generator derived from the world seed, so enabling
 * faults on one wire does not shift the random numbers another one sees. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h> /* uint64_t */

struct sim_rng {
    uint64_t state;
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, 1). */
double sim_rng_unit(struct sim_rng *r);
/* True with probability p. Draws nothing when p <= 0, so a fault that is
 * switched off costs nothing and leaves the sequence untouched. */
int sim_rng_chance(struct sim_rng *r, double p);

#endif
