/* How virtual time maps to one MCU's clock.
 *
 * An MCU counts ticks at its nominal frequency times (1 + crystal error),
 * from zero at its power-on time:
 *   clock(t) = floor((t - power_on) * freq * (1e9 + err_ppb) / 1e18)
 * with t in nanoseconds and the error in parts per billion. Everything is
 * integer arithmetic (128-bit intermediates), so the mapping and its inverse
 * are exact at any time a simulation can reach, and a firmware timer wakes
 * at the very first nanosecond its clock is reached. */
#ifndef SIM_CLOCK_H
#define SIM_CLOCK_H

#include <stdint.h> /* int64_t, uint64_t */

struct sim_clock {
    uint32_t freq_hz;     /* nominal */
    int64_t error_ppb;    /* crystal error, parts per billion */
    int64_t power_on_ns;  /* virtual time of tick 0 */
};

void sim_clock_init(struct sim_clock *c, uint32_t freq_hz, int64_t error_ppb,
                    int64_t power_on_ns);

/* The clock at virtual time t_ns (0 before power-on). */
uint64_t sim_clock_at(const struct sim_clock *c, int64_t t_ns);

/* The earliest virtual time whose clock is >= ticks. Saturates at INT64_MAX
 * for clocks beyond what a simulation can reach. */
int64_t sim_clock_time_of(const struct sim_clock *c, uint64_t ticks);

#endif
