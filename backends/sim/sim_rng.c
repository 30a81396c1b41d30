/* splitmix64 (Steele, Lea, Flood 2014), written from its published
 * constants. */
#include "sim_rng.h"

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double sim_rng_unit(struct sim_rng *r)
{
    /* 53 random bits: every value is exactly representable. */
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

int sim_rng_chance(struct sim_rng *r, double p)
{
    if (p <= 0.0)
        return 0;
    return sim_rng_unit(r) < p;
}
