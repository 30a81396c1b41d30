/* The simulator's machinery on its own: MCU clocks map virtual time exactly
 * (with crystal error, at large times, both ways), events run in (time,
 * queueing order), the wire takes 10 bits per byte at its baud and its fault
 * hooks lose or alter bytes, and the trace hash tells runs apart. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim_clock.h"  /* sim_clock */
#include "sim_events.h" /* sim_events */
#include "sim_rng.h"    /* sim_rng */
#include "sim_trace.h"  /* sim_trace */
#include "sim_wire.h"   /* sim_wire */

#define NS_PER_S 1000000000LL

static void test_clock_counts_nominal_ticks_with_ppm_error(void **state)
{
    (void)state;
    struct sim_clock c;
    /* 50 MHz, +100 ppm, powered on at 3 ms. */
    sim_clock_init(&c, 50000000, 100000, 3000000);
    assert_int_equal(sim_clock_at(&c, 0), 0);
    assert_int_equal(sim_clock_at(&c, 3000000), 0);
    assert_int_equal(sim_clock_at(&c, 3000000 + NS_PER_S), 50005000);
    /* Ten days later the error has accumulated to 86.4 s worth of ticks. */
    int64_t ten_days = 864000LL * NS_PER_S;
    assert_int_equal(sim_clock_at(&c, 3000000 + ten_days), 43204320000000ULL);
    /* A slow crystal: 16 MHz at -50 ppm runs 15999200 ticks per second. */
    sim_clock_init(&c, 16000000, -50000, 0);
    assert_int_equal(sim_clock_at(&c, NS_PER_S), 15999200);
    assert_int_equal(sim_clock_at(&c, 62), 0);
    assert_int_equal(sim_clock_at(&c, 63), 1);
}

static void test_clock_inverse_is_the_first_nanosecond_of_a_tick(void **state)
{
    (void)state;
    struct sim_clock c;
    sim_clock_init(&c, 16000000, -50000, 0);
    assert_int_equal(sim_clock_time_of(&c, 1), 63);

    const int64_t errors[] = {0, 1, -1, 123456, -98765, 500000};
    const uint64_t clocks[] = {1, 2, 7, 1000, 123456789, 4294967295ULL,
                               4294967296ULL, 43204320000000ULL, 1ULL << 50};
    for (size_t e = 0; e < sizeof(errors) / sizeof(errors[0]); e++) {
        sim_clock_init(&c, 48000000, errors[e], 777);
        for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
            int64_t t = sim_clock_time_of(&c, clocks[i]);
            assert_true(sim_clock_at(&c, t) >= clocks[i]);
            assert_true(sim_clock_at(&c, t - 1) < clocks[i]);
        }
    }
    /* Out of reach: saturates rather than wrapping. */
    sim_clock_init(&c, 1000, 0, 0);
    assert_int_equal(sim_clock_time_of(&c, UINT64_MAX), INT64_MAX);
}

static void test_events_run_in_time_then_queueing_order(void **state)
{
    (void)state;
    struct sim_events q;
    sim_events_init(&q);
    const int64_t times[] = {50, 10, 50, 10, 30, 50, 0};
    for (uint64_t i = 0; i < 7; i++)
        assert_int_equal(sim_events_push(&q, times[i], 0, NULL, i), 0);
    const uint64_t order[] = {6, 1, 3, 4, 0, 2, 5};
    struct sim_event ev;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(sim_events_pop(&q, &ev), 0);
        assert_int_equal(ev.arg, order[i]);
    }
    assert_null(sim_events_peek(&q));
    assert_int_equal(sim_events_pop(&q, &ev), -1);
    sim_events_free(&q);
}

static void test_wire_ten_bytes_take_400us_at_250000_baud(void **state)
{
    (void)state;
    struct sim_wire w;
    sim_wire_init(&w, 250000, 1);
    uint8_t data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    int64_t finish;
    assert_int_equal(sim_wire_send(&w, 1000, data, 10, &finish), 10);
    assert_int_equal(finish, 1000 + 400000);
    /* A byte sent while the line is busy waits for it. */
    assert_int_equal(sim_wire_send(&w, 2000, data, 1, &finish), 1);
    assert_int_equal(finish, 1000 + 440000);
    /* An idle line starts at once. */
    assert_int_equal(sim_wire_send(&w, NS_PER_S, data, 2, &finish), 2);
    assert_int_equal(finish, NS_PER_S + 80000);
    uint8_t out[32];
    assert_int_equal(sim_wire_take(&w, out, sizeof(out)), 13);
    assert_memory_equal(out, data, 10);
    assert_int_equal(out[10], 1);
}

static void test_wire_cut_drop_and_corrupt(void **state)
{
    (void)state;
    struct sim_wire w;
    sim_wire_init(&w, 0, 42);
    assert_int_equal(w.baud, SIM_WIRE_DEFAULT_BAUD);
    uint8_t data[1000];
    memset(data, 0x55, sizeof(data));
    int64_t finish;
    sim_wire_set_cut(&w, 1);
    assert_int_equal(sim_wire_send(&w, 0, data, 10, &finish), 0);
    assert_int_equal(w.stats.bytes_cut, 10);
    assert_int_equal(w.count, 0);
    sim_wire_set_cut(&w, 0);

    sim_wire_set_drop(&w, 0.25);
    size_t kept = sim_wire_send(&w, 0, data, 1000, &finish);
    assert_true(kept > 650 && kept < 850);
    assert_int_equal(kept + w.stats.bytes_dropped, 1000);
    /* Dropped bytes still took their time on the line. */
    assert_int_equal(finish, 1000 * w.byte_ns);
    sim_wire_take(&w, data, sizeof(data));

    memset(data, 0x55, sizeof(data));
    sim_wire_set_drop(&w, 0.0);
    sim_wire_set_corrupt(&w, 1.0);
    assert_int_equal(sim_wire_send(&w, finish, data, 100, &finish), 100);
    uint8_t out[100];
    sim_wire_take(&w, out, sizeof(out));
    for (size_t i = 0; i < 100; i++) {
        /* Exactly one bit differs. */
        uint8_t diff = out[i] ^ 0x55;
        assert_true(diff && !(diff & (diff - 1)));
    }
}

static void test_rng_same_seed_same_sequence(void **state)
{
    (void)state;
    struct sim_rng a, b, c;
    sim_rng_seed(&a, 7);
    sim_rng_seed(&b, 7);
    sim_rng_seed(&c, 8);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t va = sim_rng_next(&a);
        assert_true(va == sim_rng_next(&b));
        differs |= va != sim_rng_next(&c);
    }
    assert_true(differs);
    double u = sim_rng_unit(&a);
    assert_true(u >= 0.0 && u < 1.0);
}

static void test_trace_hash_follows_the_text(void **state)
{
    (void)state;
    /* The FNV-1a 64 reference value for "a". */
    assert_true(sim_trace_fnv1a(SIM_TRACE_FNV_OFFSET, "a", 1) == 0xaf63dc4c8601ec8cULL);
    struct sim_trace a, b;
    sim_trace_init(&a);
    sim_trace_init(&b);
    sim_trace_start(&a, NULL);
    sim_trace_start(&b, NULL);
    sim_trace_line(&a, 1500000000, "pin %d=%d", 3, 1);
    sim_trace_line(&b, 1500000000, "pin %d=%d", 3, 1);
    assert_true(a.hash == b.hash);
    sim_trace_line(&a, 1500000001, "pin %d=%d", 3, 0);
    sim_trace_line(&b, 1500000002, "pin %d=%d", 3, 0);
    assert_true(a.hash != b.hash);
    assert_int_equal(a.lines, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_counts_nominal_ticks_with_ppm_error),
        cmocka_unit_test(test_clock_inverse_is_the_first_nanosecond_of_a_tick),
        cmocka_unit_test(test_events_run_in_time_then_queueing_order),
        cmocka_unit_test(test_wire_ten_bytes_take_400us_at_250000_baud),
        cmocka_unit_test(test_wire_cut_drop_and_corrupt),
        cmocka_unit_test(test_rng_same_seed_same_sequence),
        cmocka_unit_test(test_trace_hash_follows_the_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
