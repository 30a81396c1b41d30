/* Exact integer mapping between virtual nanoseconds and MCU ticks. */
#include "sim_clock.h"

#define NS_PER_S 1000000000LL

void sim_clock_init(struct sim_clock *c, uint32_t freq_hz, int64_t error_ppb,
                    int64_t power_on_ns)
{
    c->freq_hz = freq_hz;
    c->error_ppb = error_ppb;
    c->power_on_ns = power_on_ns;
}

/* Ticks per nanosecond, scaled by 1e18: freq * (1e9 + err). */
static __int128 rate_scaled(const struct sim_clock *c)
{
    return (__int128)c->freq_hz * (NS_PER_S + c->error_ppb);
}

uint64_t sim_clock_at(const struct sim_clock *c, int64_t t_ns)
{
    if (t_ns <= c->power_on_ns)
        return 0;
    __int128 elapsed = (__int128)t_ns - c->power_on_ns;
    __int128 scale = (__int128)NS_PER_S * NS_PER_S;
    return (uint64_t)(elapsed * rate_scaled(c) / scale);
}

int64_t sim_clock_time_of(const struct sim_clock *c, uint64_t ticks)
{
    if (ticks == 0)
        return c->power_on_ns;
    __int128 rate = rate_scaled(c);
    __int128 need = (__int128)ticks * NS_PER_S * NS_PER_S;
    /* Smallest elapsed with elapsed * rate >= need. */
    __int128 elapsed = (need + rate - 1) / rate;
    __int128 t = elapsed + c->power_on_ns;
    if (t > INT64_MAX)
        return INT64_MAX;
    return (int64_t)t;
}
