/* Pulse counters on the sim MCU: level changes counted at the poll rate,
 * dated by the poll that saw them, and reported every sample_ticks. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define TACH_PIN 6 /* PA6 */
#define T0 1000000
#define POLL 100
#define SAMPLE 10000

static struct fw_test_host *counter_host(void)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=1;"
                                          "config_counter oid=0 pin=PA6 pull_up=1;"
                                          "finalize_config crc=1"),
                     0);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "query_counter oid=0 clock=%d poll_ticks=%d sample_ticks=%d", T0,
             POLL, SAMPLE);
    assert_int_equal(fw_test_host_send(h, cmd), 0);
    fw_test_host_mark(h);
    return h;
}

struct report {
    uint32_t next_clock, count, count_clock;
};

static int next_report(struct fw_test_host *h, struct report *r)
{
    struct fs_msg msg;
    if (fw_test_host_find(h, "counter_state", &msg) < 0)
        return -1;
    assert_int_equal(fs_msg_get(&msg, "oid", -1), 0);
    r->next_clock = (uint32_t)fs_msg_get(&msg, "next_clock", -1);
    r->count = (uint32_t)fs_msg_get(&msg, "count", -1);
    r->count_clock = (uint32_t)fs_msg_get(&msg, "count_clock", -1);
    return 0;
}

/* A square wave with this half period (ticks) on the pin, from `from` to
 * `to`; returns the number of level changes made. */
static int square_wave(struct fw_test_host *h, uint64_t from, uint64_t to, uint64_t half)
{
    int changes = 0;
    for (uint64_t t = from; t + half <= to; t += half) {
        h->input_level[TACH_PIN] ^= 1;
        changes++;
        fw_test_host_run_events_until(h, t + half - 1);
    }
    return changes;
}

static void test_counts_changes_and_reports_every_sample_ticks(void **state)
{
    (void)state;
    struct fw_test_host *h = counter_host();
    fw_test_host_run_events_until(h, T0 + 50);
    struct report r;
    /* The first poll reports at once. */
    assert_int_equal(next_report(h, &r), 0);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.next_clock, T0 + POLL);

    /* Half period 250 ticks (2.5 polls): every change is seen. */
    int changes = square_wave(h, T0 + 50, T0 + SAMPLE + 50, 250);
    assert_int_equal(next_report(h, &r), 0);
    assert_int_equal(r.next_clock, T0 + SAMPLE + POLL);
    assert_int_equal(r.count, (uint32_t)changes);
    /* The newest change, at T0 + 50 + (changes - 1) * 250, is dated by the
     * next poll. */
    uint32_t last_change = T0 + 50 + (uint32_t)(changes - 1) * 250;
    uint32_t seen = (last_change - T0 + POLL - 1) / POLL * POLL + T0;
    assert_int_equal(r.count_clock, seen);
    assert_int_equal(next_report(h, &r), -1);

    /* No change: the count stands, and reports keep coming. */
    fw_test_host_run_events_until(h, T0 + 3 * SAMPLE + 60);
    assert_int_equal(next_report(h, &r), 0);
    assert_int_equal(r.count, (uint32_t)changes);
    assert_int_equal(next_report(h, &r), 0);
    assert_int_equal(r.next_clock, T0 + 3 * SAMPLE + POLL);
    assert_int_equal(r.count_clock, seen);
    fw_test_host_free(h);
}

static void test_level_between_two_polls_is_missed(void **state)
{
    (void)state;
    struct fw_test_host *h = counter_host();
    fw_test_host_run_events_until(h, T0 + 10);
    h->input_level[TACH_PIN] = 1;
    fw_test_host_run_events_until(h, T0 + 90);
    h->input_level[TACH_PIN] = 0;
    fw_test_host_run_events_until(h, T0 + SAMPLE + 10);
    struct report r;
    assert_int_equal(next_report(h, &r), 0);
    assert_int_equal(next_report(h, &r), 0);
    assert_int_equal(r.count, 0);
    fw_test_host_free(h);
}

static void test_poll_ticks_zero_stops_counting(void **state)
{
    (void)state;
    struct fw_test_host *h = counter_host();
    fw_test_host_run_events_until(h, T0 + SAMPLE + 10);
    assert_int_equal(fw_test_host_send(h, "query_counter oid=0 clock=0 poll_ticks=0 sample_ticks=0"),
                     0);
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 5 * SAMPLE);
    struct report r;
    assert_int_equal(next_report(h, &r), -1);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_changes_and_reports_every_sample_ticks),
        cmocka_unit_test(test_level_between_two_polls_is_missed),
        cmocka_unit_test(test_poll_ticks_zero_stops_counting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
