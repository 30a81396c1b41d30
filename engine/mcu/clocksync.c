/* MCU clock estimation from periodic clock queries, and the print-time
 * mapping of primary and secondary MCUs (see clocksync.h).
 *
 * The regression. Each sample (t = midpoint host time, c = MCU clock) is
 * folded into exponentially weighted means and (co)variances with West's
 * incremental update, which stays accurate over days of uptime where sums
 * of t*c would lose their low digits. Older samples fade with a time
 * constant of CLOCKSYNC_DECAY_S so a drifting crystal is followed; the fit
 * line passes through the weighted means with slope cov(t,c)/var(t). While
 * the samples span little time that slope is mostly noise, so it is pulled
 * towards the nominal frequency as a prior worth CLOCKSYNC_PRIOR_S2 / N
 * seconds squared of time spread: negligible after a few seconds.
 *
 * Sample quality. A reply's clock was read somewhere between send and
 * receive; the midpoint is wrong by up to half the round trip's excess over
 * the best possible round trip. The best round trip is tracked as a floor
 * that follows any new minimum at once and otherwise rises slowly (1% per
 * second), so a link that became permanently slower is accepted in time.
 * A sample's weight is 1 / (1 + (excess / tolerance)^2): a round trip near
 * the floor counts fully, one twice the tolerance above it a fifth. */
#include "mcu/clocksync.h"

#include <limits.h> /* UINT_MAX */
#include <math.h>   /* exp, llround */

#include "core/error.h" /* fs_error_set */

#define CLOCKSYNC_DECAY_S 60.0
#define CLOCKSYNC_PRIOR_S2 0.03
#define CLOCKSYNC_RTT_FLOOR_RISE_PER_S 0.01
#define CLOCKSYNC_RTT_TOLERANCE_FRACTION 0.1
#define CLOCKSYNC_RTT_TOLERANCE_MIN_S 40e-6
/* A reply whose clock is this much older than the query's send time must
 * be the late answer to an earlier query. */
#define CLOCKSYNC_STALE_S 0.002
/* A secondary's print-time line is aimed at the exact mapping this far
 * ahead, longer than a query period so the next re-anchor comes first. */
#define CLOCKSYNC_MAP_HORIZON_S (2.0 * FS_CLOCKSYNC_QUERY_PERIOD_S)

static double clocksync_query_timer_fired(struct fs_timer *t, double now);

void fs_clocksync_init(struct fs_clocksync *cs, double mcu_freq)
{
    *cs = (struct fs_clocksync){0};
    cs->nominal_freq = mcu_freq;
    cs->fit_freq = mcu_freq;
    cs->lost_after = FS_CLOCKSYNC_DEFAULT_LOST_AFTER;
    fs_timer_init(&cs->query_timer, clocksync_query_timer_fired, cs);
}

/* ---- the fit ---- */

/* Estimated clock at a host time, as a double (absolute ticks). */
static double fit_clock_at(const struct fs_clocksync *cs, double host_time)
{
    return (double)cs->clock_base + cs->fit_clock +
           cs->fit_freq * (host_time - cs->fit_time);
}

static uint64_t clock_from_double(double clock)
{
    return clock > 0 ? (uint64_t)llround(clock) : 0;
}

void fs_clocksync_connect(struct fs_clocksync *cs, uint32_t uptime_high,
                          uint32_t uptime_clock, double send_time,
                          double receive_time)
{
    uint64_t start = ((uint64_t)uptime_high << 32) | uptime_clock;
    double mid = 0.5 * (send_time + receive_time);
    cs->connected = 1;
    cs->last_clock = start;
    cs->clock_base = start;
    cs->weight_sum = 1.0;
    cs->mean_time = mid;
    cs->mean_clock = 0;
    cs->var_time = cs->cov_time_clock = 0;
    cs->last_sample_time = mid;
    cs->rtt_floor = receive_time - send_time;
    cs->rtt_floor_time = mid;
    cs->fit_time = mid;
    cs->fit_clock = 0;
    cs->fit_freq = cs->nominal_freq;
    cs->samples = 1;
    cs->map_valid = 0;
    cs->unanswered = 0;
    cs->lost = 0;
}

static double sample_weight(struct fs_clocksync *cs, double mid, double rtt)
{
    double floor = cs->rtt_floor *
                   (1.0 + CLOCKSYNC_RTT_FLOOR_RISE_PER_S * (mid - cs->rtt_floor_time));
    if (rtt < floor)
        floor = rtt;
    cs->rtt_floor = floor;
    cs->rtt_floor_time = mid;
    double tolerance = CLOCKSYNC_RTT_TOLERANCE_FRACTION * floor;
    if (tolerance < CLOCKSYNC_RTT_TOLERANCE_MIN_S)
        tolerance = CLOCKSYNC_RTT_TOLERANCE_MIN_S;
    double excess = (rtt - floor) / tolerance;
    return 1.0 / (1.0 + excess * excess);
}

static void fit_add_sample(struct fs_clocksync *cs, double mid, uint64_t clock,
                           double weight)
{
    double age = mid - cs->last_sample_time;
    double decay = age > 0 ? exp(-age / CLOCKSYNC_DECAY_S) : 1.0;
    cs->weight_sum = decay * cs->weight_sum + weight;
    double f = weight / cs->weight_sum;
    double dt = mid - cs->mean_time;
    double dc = (double)(int64_t)(clock - cs->clock_base) - cs->mean_clock;
    cs->mean_time += f * dt;
    cs->mean_clock += f * dc;
    cs->var_time = (1.0 - f) * (cs->var_time + f * dt * dt);
    cs->cov_time_clock = (1.0 - f) * (cs->cov_time_clock + f * dt * dc);
    if (mid > cs->last_sample_time)
        cs->last_sample_time = mid;
    cs->samples++;

    double prior = CLOCKSYNC_PRIOR_S2 / cs->weight_sum;
    cs->fit_time = cs->mean_time;
    cs->fit_clock = cs->mean_clock;
    cs->fit_freq = (cs->cov_time_clock + prior * cs->nominal_freq) /
                   (cs->var_time + prior);
}

/* ---- secondary MCUs ---- */

static double primary_print_time_at(const struct fs_clocksync *primary,
                                    double host_time)
{
    return fit_clock_at(primary, host_time) / primary->nominal_freq;
}

/* This MCU's clock at a print time, from the current estimates of both. */
static double exact_mapped_clock(const struct fs_clocksync *cs, double print_time)
{
    const struct fs_clocksync *p = cs->primary;
    double primary_clock = print_time * p->nominal_freq;
    double host_time =
        p->fit_time + (primary_clock - (double)p->clock_base - p->fit_clock) / p->fit_freq;
    return fit_clock_at(cs, host_time);
}

static double exact_map_slope(const struct fs_clocksync *cs)
{
    return cs->fit_freq * cs->primary->nominal_freq / cs->primary->fit_freq;
}

static void map_anchor_exact(struct fs_clocksync *cs, double host_time)
{
    cs->map_print_time = primary_print_time_at(cs->primary, host_time);
    cs->map_clock = exact_mapped_clock(cs, cs->map_print_time);
    cs->map_slope = exact_map_slope(cs);
    cs->map_valid = 1;
}

static double map_clock_at(const struct fs_clocksync *cs, double print_time)
{
    if (!cs->map_valid)
        return exact_mapped_clock(cs, print_time);
    return cs->map_clock + cs->map_slope * (print_time - cs->map_print_time);
}

/* Keeps the line's value where it is now and aims it at the newest exact
 * mapping a little ahead: commands already converted stay put, new ones
 * converge on the better estimate. */
static void map_reanchor(struct fs_clocksync *cs, double host_time)
{
    if (!cs->primary || !cs->primary->connected)
        return;
    if (!cs->map_valid) {
        map_anchor_exact(cs, host_time);
        return;
    }
    double pt_now = primary_print_time_at(cs->primary, host_time);
    double pt_target =
        primary_print_time_at(cs->primary, host_time + CLOCKSYNC_MAP_HORIZON_S);
    double clock_now = map_clock_at(cs, pt_now);
    double clock_target = exact_mapped_clock(cs, pt_target);
    if (pt_target <= pt_now || clock_target <= clock_now) {
        map_anchor_exact(cs, host_time);
        return;
    }
    cs->map_print_time = pt_now;
    cs->map_clock = clock_now;
    cs->map_slope = (clock_target - clock_now) / (pt_target - pt_now);
}

void fs_clocksync_set_primary(struct fs_clocksync *secondary,
                              const struct fs_clocksync *primary)
{
    secondary->primary = primary;
    secondary->map_valid = 0;
    if (primary && primary->connected && secondary->connected)
        map_anchor_exact(secondary, secondary->last_sample_time);
}

/* ---- samples and liveness ---- */

void fs_clocksync_handle_clock(struct fs_clocksync *cs, uint32_t clock32,
                               double send_time, double receive_time)
{
    if (!cs->connected)
        return;
    cs->unanswered = 0;
    if (cs->lost) {
        cs->lost = 0;
        if (cs->on_recovered)
            cs->on_recovered(cs->event_arg, receive_time);
    }
    double mid = 0.5 * (send_time + receive_time);
    /* Extend against the estimate rather than the last sample: after a long
     * silence a fast MCU may have moved more than 2^31 ticks. */
    uint64_t ref = clock_from_double(fit_clock_at(cs, mid));
    uint64_t clock = ref + (uint64_t)(int64_t)(int32_t)(clock32 - (uint32_t)ref);
    double earliest = fit_clock_at(cs, send_time) - CLOCKSYNC_STALE_S * cs->fit_freq;
    if (cs->samples >= 3 && (double)clock < earliest)
        return;
    cs->last_clock = clock;
    double weight = sample_weight(cs, mid, receive_time - send_time);
    fit_add_sample(cs, mid, clock, weight);
    map_reanchor(cs, receive_time);
}

static double clocksync_query_timer_fired(struct fs_timer *t, double now)
{
    struct fs_clocksync *cs = t->arg;
    if (cs->unanswered >= cs->lost_after && !cs->lost) {
        cs->lost = 1;
        if (cs->on_lost)
            cs->on_lost(cs->event_arg, now);
    }
    cs->send_query(cs->query_arg, now);
    if (cs->unanswered < UINT_MAX)
        cs->unanswered++;
    return now + FS_CLOCKSYNC_QUERY_PERIOD_S;
}

int fs_clocksync_start(struct fs_clocksync *cs, struct fs_reactor *reactor,
                       fs_clocksync_query_fn send_query, void *arg,
                       struct fs_error *err)
{
    cs->reactor = reactor;
    cs->send_query = send_query;
    cs->query_arg = arg;
    cs->unanswered = 0;
    if (fs_reactor_timer_set(reactor, &cs->query_timer, fs_reactor_now(reactor)) < 0)
        return fs_error_set(err, "clock sync: cannot arm the query timer");
    return 0;
}

void fs_clocksync_stop(struct fs_clocksync *cs)
{
    if (cs->reactor)
        fs_reactor_timer_cancel(cs->reactor, &cs->query_timer);
}

void fs_clocksync_set_loss_handlers(struct fs_clocksync *cs, unsigned lost_after,
                                    fs_clocksync_event_fn on_lost,
                                    fs_clocksync_event_fn on_recovered, void *arg)
{
    cs->lost_after = lost_after ? lost_after : FS_CLOCKSYNC_DEFAULT_LOST_AFTER;
    cs->on_lost = on_lost;
    cs->on_recovered = on_recovered;
    cs->event_arg = arg;
}

int fs_clocksync_is_lost(const struct fs_clocksync *cs)
{
    return cs->lost;
}

/* ---- conversions ---- */

uint64_t fs_clocksync_clock32_to_64(const struct fs_clocksync *cs, uint32_t clock32)
{
    int32_t diff = (int32_t)(clock32 - (uint32_t)cs->last_clock);
    return cs->last_clock + (uint64_t)(int64_t)diff;
}

uint64_t fs_clocksync_estimate_clock(const struct fs_clocksync *cs, double host_time)
{
    return clock_from_double(fit_clock_at(cs, host_time));
}

double fs_clocksync_estimated_host_time(const struct fs_clocksync *cs, uint64_t clock)
{
    double rel = (double)(int64_t)(clock - cs->clock_base) - cs->fit_clock;
    return cs->fit_time + rel / cs->fit_freq;
}

double fs_clocksync_frequency(const struct fs_clocksync *cs)
{
    return cs->fit_freq;
}

uint64_t fs_clocksync_link_clock(void *cs, double host_time)
{
    return fs_clocksync_estimate_clock(cs, host_time);
}

double fs_clocksync_link_host_time(void *cs, uint64_t clock)
{
    return fs_clocksync_estimated_host_time(cs, clock);
}

double fs_clocksync_clock_to_print_time(const struct fs_clocksync *cs, uint64_t clock)
{
    if (!cs->primary)
        return (double)clock / cs->nominal_freq;
    double slope = cs->map_valid ? cs->map_slope : exact_map_slope(cs);
    double anchor_pt = cs->map_valid ? cs->map_print_time : 0.0;
    double anchor_clock = map_clock_at(cs, anchor_pt);
    return anchor_pt + ((double)clock - anchor_clock) / slope;
}

uint64_t fs_clocksync_print_time_to_clock(const struct fs_clocksync *cs,
                                          double print_time)
{
    if (!cs->primary)
        return clock_from_double(print_time * cs->nominal_freq);
    return clock_from_double(map_clock_at(cs, print_time));
}

double fs_clocksync_estimated_print_time(const struct fs_clocksync *cs,
                                         double host_time)
{
    if (!cs->primary)
        return fit_clock_at(cs, host_time) / cs->nominal_freq;
    return fs_clocksync_clock_to_print_time(cs, fs_clocksync_estimate_clock(cs, host_time));
}
