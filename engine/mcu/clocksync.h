/* An MCU's clock against host time, and print time across MCUs.
 *
 * At connect the `uptime high=%u clock=%u` reply gives the 64-bit clock.
 * From then on a timer asks for `clock clock=%u` about once a second; each
 * reply is a sample "the MCU clock read c near the midpoint of the query's
 * send and receive host times". Samples whose round trip is much worse than
 * the recent best are down-weighted (their midpoint may be far from when
 * the MCU read its clock), and an exponentially decaying weighted linear
 * regression fits clock = freq * (t - t0) + c0, so the estimate follows a
 * crystal that is hundreds of ppm off and drifts slowly with temperature.
 *
 * Print time is the timeline the motion planner schedules on. For the
 * primary MCU it is clock / nominal frequency. A secondary MCU is mapped
 * onto the primary's print time through host time; that mapping is a line
 * re-anchored after every secondary sample so that it stays continuous in
 * value (already queued commands keep their meaning) while converging on
 * the newest estimates.
 *
 * The caller owns the struct (fs_clocksync_init, _start, _stop); fields are
 * private to clocksync.c. */
#ifndef FS_CLOCKSYNC_H
#define FS_CLOCKSYNC_H

#include <stdint.h> /* uint32_t, uint64_t */

#include "core/reactor.h" /* struct fs_timer */

struct fs_error;

#define FS_CLOCKSYNC_QUERY_PERIOD_S 0.9839
#define FS_CLOCKSYNC_DEFAULT_LOST_AFTER 5

/* Sends one `get_clock` to the MCU; the caller remembers the send time to
 * pass to fs_clocksync_handle_clock with the reply. */
typedef void (*fs_clocksync_query_fn)(void *arg, double eventtime);
/* Loss (after lost_after unanswered queries) and recovery (a reply after
 * loss) are each reported once per episode. */
typedef void (*fs_clocksync_event_fn)(void *arg, double eventtime);

struct fs_clocksync {
    /* Private. */
    double nominal_freq;
    int connected;
    uint64_t last_clock;  /* the newest 64-bit clock seen */
    uint64_t clock_base;  /* regression clocks are relative to this */
    /* Exponentially weighted regression state (times in host seconds,
     * clocks in ticks relative to clock_base). */
    double weight_sum, mean_time, mean_clock, var_time, cov_time_clock;
    double last_sample_time;
    double rtt_floor, rtt_floor_time;
    /* The fit: clock = clock_base + fit_clock + fit_freq * (t - fit_time). */
    double fit_time, fit_clock, fit_freq;
    int samples;

    /* Secondary MCUs: print time -> clock as a line. */
    const struct fs_clocksync *primary;
    double map_print_time, map_clock, map_slope;
    int map_valid;

    struct fs_reactor *reactor;
    struct fs_timer query_timer;
    fs_clocksync_query_fn send_query;
    void *query_arg;
    unsigned lost_after, unanswered;
    int lost;
    fs_clocksync_event_fn on_lost, on_recovered;
    void *event_arg;
};

/* mcu_freq: CLOCK_FREQ from the MCU's dictionary. */
void fs_clocksync_init(struct fs_clocksync *cs, double mcu_freq);

/* From the `uptime` reply to a `get_uptime` sent at send_time and answered
 * at receive_time. May be called again to reconnect. */
void fs_clocksync_connect(struct fs_clocksync *cs, uint32_t uptime_high,
                          uint32_t uptime_clock, double send_time,
                          double receive_time);

/* Starts the periodic queries (the first one now). Returns -1 with err
 * filled if the timer could not be armed. */
int fs_clocksync_start(struct fs_clocksync *cs, struct fs_reactor *reactor,
                       fs_clocksync_query_fn send_query, void *arg,
                       struct fs_error *err);
void fs_clocksync_stop(struct fs_clocksync *cs);

/* lost_after 0 keeps the default (5). Callbacks may be NULL. */
void fs_clocksync_set_loss_handlers(struct fs_clocksync *cs, unsigned lost_after,
                                    fs_clocksync_event_fn on_lost,
                                    fs_clocksync_event_fn on_recovered, void *arg);
int fs_clocksync_is_lost(const struct fs_clocksync *cs);

/* One `clock clock=%u` reply to the query sent at send_time. A reply that
 * cannot belong to that query (its clock predates it) is ignored. */
void fs_clocksync_handle_clock(struct fs_clocksync *cs, uint32_t clock32,
                               double send_time, double receive_time);

/* The 64-bit clock nearest the last one seen (within 2^31 either side). */
uint64_t fs_clocksync_clock32_to_64(const struct fs_clocksync *cs, uint32_t clock32);

/* The estimate and its inverse; both need fs_clocksync_connect first. */
uint64_t fs_clocksync_estimate_clock(const struct fs_clocksync *cs, double host_time);
double fs_clocksync_estimated_host_time(const struct fs_clocksync *cs, uint64_t clock);
/* Estimated ticks per host second. */
double fs_clocksync_frequency(const struct fs_clocksync *cs);

/* The same pair shaped for fs_link_set_clock_estimator and
 * fs_link_set_host_time_estimator (arg is the struct fs_clocksync). */
uint64_t fs_clocksync_link_clock(void *cs, double host_time);
double fs_clocksync_link_host_time(void *cs, uint64_t clock);

/* Print time: clock / nominal frequency on the primary MCU; on a secondary
 * (after fs_clocksync_set_primary) the primary's print time mapped to this
 * MCU's clock. The two functions are inverses of each other. */
void fs_clocksync_set_primary(struct fs_clocksync *secondary,
                              const struct fs_clocksync *primary);
double fs_clocksync_clock_to_print_time(const struct fs_clocksync *cs, uint64_t clock);
uint64_t fs_clocksync_print_time_to_clock(const struct fs_clocksync *cs,
                                          double print_time);
/* The print time the MCU has reached at a host time. */
double fs_clocksync_estimated_print_time(const struct fs_clocksync *cs,
                                         double host_time);

#endif
