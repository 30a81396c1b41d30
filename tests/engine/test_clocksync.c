/* Clock synchronisation against simulated MCUs whose crystals are off by
 * known amounts, answering clock queries over a link with seeded random
 * delays: accuracy, 32-bit wrap, secondary print-time mapping, loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs, log */
#include <stdlib.h> /* calloc, free */

#include "core/error.h"    /* fs_error */
#include "core/reactor.h"  /* fs_reactor */
#include "mcu/clocksync.h" /* the unit under test */

/* ---- a virtual-time world ---- */

struct toy_world {
    double now;
    struct fs_reactor reactor;
    uint64_t rng;
};

static double toy_now(void *ctx) { return ((struct toy_world *)ctx)->now; }

static void toy_wait(void *ctx, double until)
{
    struct toy_world *w = ctx;
    double next = fs_reactor_next_wake(&w->reactor);
    if (next <= until) {
        if (next > w->now)
            w->now = next;
        fs_reactor_run_due(&w->reactor, w->now);
    } else {
        w->now = until;
    }
}

static double rand_unit(struct toy_world *w)
{
    /* xorshift64*: deterministic per seed. */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return (double)((w->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* ---- a simulated MCU answering get_clock ---- */

#define REPLY_SLOTS 4

struct sim_mcu;

struct pending_reply {
    struct fs_timer timer;
    struct sim_mcu *mcu;
    uint32_t clock32;
    double send_time;
};

struct sim_mcu {
    struct toy_world *world;
    struct fs_clocksync cs;
    double freq;        /* true ticks per host second */
    uint64_t clock0;    /* clock at host time 0 */
    double spike_prob;  /* chance of a long, one-sided delay */
    int dropping;       /* replies are lost */
    struct pending_reply replies[REPLY_SLOTS];
    int next_slot;
    int lost_events, recovered_events;
    /* Continuity of a secondary's mapping across its re-anchoring. */
    double worst_jump_now_ticks, worst_jump_ahead_ticks;
    int samples;
};

static double true_clock(const struct sim_mcu *m, double t)
{
    return (double)m->clock0 + m->freq * t;
}

/* One way: 150 us of wire and firmware, jitter averaging 20 us, and now and
 * then a host scheduling hiccup of 1..20 ms. */
static double one_way_delay(struct sim_mcu *m, int spike_allowed)
{
    struct toy_world *w = m->world;
    double d = 150e-6 - 20e-6 * log(1.0 - rand_unit(w));
    if (spike_allowed && rand_unit(w) < m->spike_prob)
        d += 1e-3 + 19e-3 * rand_unit(w);
    return d;
}

static double deliver_reply(struct fs_timer *t, double now)
{
    struct pending_reply *r = (struct pending_reply *)t;
    struct sim_mcu *m = r->mcu;
    struct fs_clocksync *cs = &m->cs;
    if (cs->primary) {
        /* A command 100 ms ahead, converted before and after this sample. */
        double pt = fs_clocksync_estimated_print_time(cs->primary, now);
        double before_now = (double)fs_clocksync_print_time_to_clock(cs, pt);
        double before_ahead = (double)fs_clocksync_print_time_to_clock(cs, pt + 0.1);
        fs_clocksync_handle_clock(cs, r->clock32, r->send_time, now);
        double jump_now = fabs((double)fs_clocksync_print_time_to_clock(cs, pt) - before_now);
        double jump_ahead =
            fabs((double)fs_clocksync_print_time_to_clock(cs, pt + 0.1) - before_ahead);
        if (now < 10.0)
            jump_now = jump_ahead = 0; /* judged once synchronised */
        if (jump_now > m->worst_jump_now_ticks)
            m->worst_jump_now_ticks = jump_now;
        if (jump_ahead > m->worst_jump_ahead_ticks)
            m->worst_jump_ahead_ticks = jump_ahead;
    } else {
        fs_clocksync_handle_clock(cs, r->clock32, r->send_time, now);
    }
    m->samples++;
    return FS_NEVER;
}

static void send_get_clock(void *arg, double eventtime)
{
    struct sim_mcu *m = arg;
    double out = one_way_delay(m, 1), back = one_way_delay(m, 1);
    if (m->dropping)
        return;
    struct pending_reply *r = &m->replies[m->next_slot++ % REPLY_SLOTS];
    assert_true(r->timer.waketime >= FS_NEVER); /* slot free */
    r->mcu = m;
    r->send_time = eventtime;
    r->clock32 = (uint32_t)(uint64_t)llround(true_clock(m, eventtime + out));
    fs_reactor_timer_set(&m->world->reactor, &r->timer, eventtime + out + back);
}

static void on_lost(void *arg, double t) { ((struct sim_mcu *)arg)->lost_events++; }
static void on_recovered(void *arg, double t)
{
    ((struct sim_mcu *)arg)->recovered_events++;
}

static void world_init(struct toy_world *w, uint64_t seed)
{
    w->now = 0;
    w->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    struct fs_reactor_backend be = {w, toy_now, toy_wait};
    fs_reactor_init(&w->reactor, &be);
}

/* Connects with a get_uptime exchange at the world's current time and
 * starts the periodic queries. */
static void mcu_start(struct sim_mcu *m, struct toy_world *w, double nominal,
                      double ppm, uint64_t clock0)
{
    m->world = w;
    for (int i = 0; i < REPLY_SLOTS; i++)
        fs_timer_init(&m->replies[i].timer, deliver_reply, &m->replies[i]);
    m->freq = nominal * (1.0 + ppm * 1e-6);
    m->clock0 = clock0;
    fs_clocksync_init(&m->cs, nominal);
    double send = w->now, out = one_way_delay(m, 0), back = one_way_delay(m, 0);
    uint64_t uptime = (uint64_t)llround(true_clock(m, send + out));
    fs_clocksync_connect(&m->cs, (uint32_t)(uptime >> 32), (uint32_t)uptime, send,
                         send + out + back);
    fs_clocksync_set_loss_handlers(&m->cs, 0, on_lost, on_recovered, m);
    struct fs_error err;
    assert_int_equal(fs_clocksync_start(&m->cs, &w->reactor, send_get_clock, m, &err), 0);
}

static void mcu_stop(struct sim_mcu *m)
{
    fs_clocksync_stop(&m->cs);
    for (int i = 0; i < REPLY_SLOTS; i++)
        if (m->replies[i].timer.waketime < FS_NEVER)
            fs_reactor_timer_cancel(&m->world->reactor, &m->replies[i].timer);
}

/* Worst |estimate - truth| in seconds over the next second of host time. */
static double worst_error_s(const struct sim_mcu *m, double from)
{
    double worst = 0;
    for (double t = from; t < from + 1.0; t += 0.05) {
        double est = (double)fs_clocksync_estimate_clock(&m->cs, t);
        double err = fabs(est - true_clock(m, t)) / m->freq;
        if (err > worst)
            worst = err;
    }
    return worst;
}

/* ---- tests ---- */

static void test_clocksync_tracks_150ppm_crystal_within_20us_after_10s(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        struct toy_world w;
        world_init(&w, seed);
        struct sim_mcu *m = calloc(1, sizeof(*m));
        m->spike_prob = 0.1;
        w.now = 0.3;
        mcu_start(m, &w, 16e6, 150.0, 123456789);
        fs_reactor_pause(&w.reactor, 10.3);
        assert_true(m->samples >= 9);
        double err = worst_error_s(m, w.now);
        assert_true(err < 20e-6);
        /* The frequency itself is learnt, not just an offset. */
        assert_true(fabs(fs_clocksync_frequency(&m->cs) / m->freq - 1.0) < 10e-6);
        /* The inverse agrees with the estimate. */
        uint64_t c = fs_clocksync_estimate_clock(&m->cs, w.now + 0.25);
        assert_true(fabs(fs_clocksync_estimated_host_time(&m->cs, c) - (w.now + 0.25)) <
                    0.1e-6);
        mcu_stop(m);
        fs_reactor_free(&w.reactor);
        free(m);
    }
}

static void test_clocksync_down_weights_slow_round_trips(void **state)
{
    (void)state;
    /* Almost half the replies come back with a 1..20 ms hiccup on one side:
     * taken at face value their midpoints are milliseconds off. */
    for (uint64_t seed = 11; seed <= 14; seed++) {
        struct toy_world w;
        world_init(&w, seed);
        struct sim_mcu *m = calloc(1, sizeof(*m));
        m->spike_prob = 0.25;
        mcu_start(m, &w, 16e6, -300.0, 42);
        fs_reactor_pause(&w.reactor, 30.0);
        assert_true(worst_error_s(m, w.now) < 20e-6);
        mcu_stop(m);
        fs_reactor_free(&w.reactor);
        free(m);
    }
}

static void test_clocksync_extends_32bit_clock_across_wrap(void **state)
{
    (void)state;
    struct toy_world w;
    world_init(&w, 3);
    struct sim_mcu *m = calloc(1, sizeof(*m));
    m->spike_prob = 0.1;
    /* Two seconds before the low word wraps, in the MCU's 5th such cycle. */
    uint64_t clock0 = (5ULL << 32) + 0xFFFFFFFFULL - 32000000ULL;
    mcu_start(m, &w, 16e6, 150.0, clock0);
    fs_reactor_pause(&w.reactor, 12.0);
    uint64_t est = fs_clocksync_estimate_clock(&m->cs, w.now);
    assert_true(est > (6ULL << 32));
    assert_true(worst_error_s(m, w.now) < 20e-6);
    /* Extension works on both sides of the last clock and across a wrap. */
    uint64_t last = (uint64_t)llround(true_clock(m, w.now));
    uint64_t behind = last - 100000000ULL, ahead = last + 1000000000ULL;
    assert_int_equal(fs_clocksync_clock32_to_64(&m->cs, (uint32_t)behind), behind);
    assert_int_equal(fs_clocksync_clock32_to_64(&m->cs, (uint32_t)ahead), ahead);
    uint64_t before_wrap = (6ULL << 32) - 1000;
    assert_int_equal(fs_clocksync_clock32_to_64(&m->cs, (uint32_t)before_wrap),
                     before_wrap);
    mcu_stop(m);
    fs_reactor_free(&w.reactor);
    free(m);
}

static void test_clocksync_maps_secondary_onto_primary_print_time(void **state)
{
    (void)state;
    struct toy_world w;
    world_init(&w, 5);
    struct sim_mcu *primary = calloc(1, sizeof(*primary));
    struct sim_mcu *secondary = calloc(1, sizeof(*secondary));
    primary->spike_prob = secondary->spike_prob = 0.1;
    mcu_start(primary, &w, 16e6, 150.0, 1000000);
    w.now = 0.4;
    mcu_start(secondary, &w, 64e6, -80.0, 987654321);
    fs_clocksync_set_primary(&secondary->cs, &primary->cs);
    fs_reactor_pause(&w.reactor, 20.0);

    /* The primary's print time is its clock over the nominal frequency. */
    assert_int_equal(fs_clocksync_print_time_to_clock(&primary->cs, 12.5), 200000000);
    assert_true(fabs(fs_clocksync_clock_to_print_time(&primary->cs, 200000000) - 12.5) <
                1e-12);

    double pt_now = fs_clocksync_estimated_print_time(&primary->cs, w.now);
    for (double ahead = 0.1; ahead < 2.0; ahead += 0.1) {
        double pt = pt_now + ahead;
        uint64_t sclock = fs_clocksync_print_time_to_clock(&secondary->cs, pt);
        /* Converting back lands on the same print time within a tick. */
        double back = fs_clocksync_clock_to_print_time(&secondary->cs, sclock);
        assert_true(fabs(back - pt) * 64e6 < 1.0);
        /* Both MCUs agree on when that is, to the clocks' accuracy. */
        double host_t = (pt * 16e6 - (double)primary->clock0) / primary->freq;
        double truth = true_clock(secondary, host_t);
        assert_true(fabs((double)sclock - truth) / secondary->freq < 30e-6);
    }
    /* Once synchronised, re-anchoring after each secondary sample kept the
     * mapping continuous: the clock for "now" did not move, the clock of a
     * command 100 ms ahead by well under a microsecond. */
    assert_true(secondary->samples >= 15);
    assert_true(secondary->worst_jump_now_ticks <= 2.0);
    assert_true(secondary->worst_jump_ahead_ticks / 64e6 < 1e-6);

    mcu_stop(primary);
    mcu_stop(secondary);
    fs_reactor_free(&w.reactor);
    free(primary);
    free(secondary);
}

static void test_clocksync_lost_after_5_missing_replies_then_recovers(void **state)
{
    (void)state;
    struct toy_world w;
    world_init(&w, 9);
    struct sim_mcu *m = calloc(1, sizeof(*m));
    m->spike_prob = 0.1;
    mcu_start(m, &w, 16e6, 150.0, 5000);
    fs_reactor_pause(&w.reactor, 5.0);
    assert_false(fs_clocksync_is_lost(&m->cs));
    m->dropping = 1;
    double silent_from = w.now;
    /* Four unanswered queries are not yet a loss... */
    fs_reactor_pause(&w.reactor, silent_from + 4.0 * FS_CLOCKSYNC_QUERY_PERIOD_S);
    assert_false(fs_clocksync_is_lost(&m->cs));
    assert_int_equal(m->lost_events, 0);
    /* ...the fifth is, and it is reported once however long it lasts. */
    fs_reactor_pause(&w.reactor, silent_from + 6.0 * FS_CLOCKSYNC_QUERY_PERIOD_S);
    assert_true(fs_clocksync_is_lost(&m->cs));
    assert_int_equal(m->lost_events, 1);
    fs_reactor_pause(&w.reactor, silent_from + 20.0);
    assert_int_equal(m->lost_events, 1);
    assert_int_equal(m->recovered_events, 0);
    m->dropping = 0;
    fs_reactor_pause(&w.reactor, w.now + 1.5);
    assert_false(fs_clocksync_is_lost(&m->cs));
    assert_int_equal(m->recovered_events, 1);
    assert_true(worst_error_s(m, w.now) < 20e-6);
    mcu_stop(m);
    fs_reactor_free(&w.reactor);
    free(m);
}

static void test_clocksync_ignores_reply_older_than_its_query(void **state)
{
    (void)state;
    struct toy_world w;
    world_init(&w, 21);
    struct sim_mcu *m = calloc(1, sizeof(*m));
    mcu_start(m, &w, 16e6, 150.0, 77);
    fs_reactor_pause(&w.reactor, 10.0);
    mcu_stop(m);
    uint64_t before = fs_clocksync_estimate_clock(&m->cs, w.now + 0.5);
    /* The late answer to the previous query, paired with the latest one. */
    uint32_t stale = (uint32_t)(uint64_t)llround(true_clock(m, w.now - 1.0));
    fs_clocksync_handle_clock(&m->cs, stale, w.now - 0.001, w.now);
    assert_int_equal(fs_clocksync_estimate_clock(&m->cs, w.now + 0.5), before);
    assert_true(worst_error_s(m, w.now) < 20e-6);
    fs_reactor_free(&w.reactor);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clocksync_tracks_150ppm_crystal_within_20us_after_10s),
        cmocka_unit_test(test_clocksync_down_weights_slow_round_trips),
        cmocka_unit_test(test_clocksync_extends_32bit_clock_across_wrap),
        cmocka_unit_test(test_clocksync_maps_secondary_onto_primary_print_time),
        cmocka_unit_test(test_clocksync_lost_after_5_missing_replies_then_recovers),
        cmocka_unit_test(test_clocksync_ignores_reply_older_than_its_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
