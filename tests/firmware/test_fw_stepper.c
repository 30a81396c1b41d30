/* Steppers on the sim MCU: the step and dir pin edges a driver would see
 * for queue_step moves, the position the MCU reports, and the shutdowns a
 * host that misbehaves runs into (late moves, too many queued moves). */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define STEP_PIN 0 /* PA0 */
#define DIR_PIN 1  /* PA1 */
#define T0 1000000 /* when moves start: well clear of power-on */

static struct fw_test_host *stepper_host(uint32_t step_pulse_ticks)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    char cmd[200];
    snprintf(cmd, sizeof(cmd),
             "allocate_oids count=2;"
             "config_stepper oid=0 step_pin=PA0 dir_pin=PA1 invert_step=0 step_pulse_ticks=%u;"
             "finalize_config crc=1",
             step_pulse_ticks);
    assert_int_equal(fw_test_host_send(h, cmd), 0);
    /* Configuration drove both pins low; count steps from here. */
    assert_int_equal(fw_test_host_pin_changes(h, 0), 1);
    assert_int_equal(fw_test_host_pin_changes(h, 1), 1);
    fw_test_host_forget_pin_changes(h);
    assert_int_equal(fw_test_host_send(h, "reset_step_clock oid=0 clock=1000000"), 0);
    return h;
}

/* Clocks at which pin went to value, in order; returns how many. */
static size_t edges(const struct fw_test_host *h, uint32_t pin, uint32_t value, uint64_t *clocks,
                    size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < h->output_count; i++) {
        const struct fw_test_output *o = &h->outputs[i];
        if (o->pin != pin || o->value != value)
            continue;
        if (n < cap)
            clocks[n] = o->clock;
        n++;
    }
    return n;
}

static int64_t position(struct fw_test_host *h)
{
    struct fs_msg msg;
    assert_int_equal(fw_test_host_query(h, "stepper_get_position oid=0", "stepper_position", &msg), 0);
    return fs_msg_get(&msg, "pos", -999999);
}

static void test_queue_step_with_add_steps_at_the_given_clocks(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    assert_int_equal(fw_test_host_send(h, "set_next_step_dir oid=0 dir=1;"
                                          "queue_step oid=0 interval=1000 count=5 add=100"),
                     0);
    fw_test_host_run_events_until(h, T0 + 20000);

    uint64_t up[8], down[8];
    const uint64_t want[5] = {T0 + 1000, T0 + 2100, T0 + 3300, T0 + 4600, T0 + 6000};
    assert_int_equal(edges(h, STEP_PIN, 1, up, 8), 5);
    assert_int_equal(edges(h, STEP_PIN, 0, down, 8), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(up[i], want[i]);
        /* Each pulse lasts at least step_pulse_ticks and ends before the
         * next step; the last one exactly step_pulse_ticks after it. */
        assert_true(down[i] >= up[i] + 20);
        if (i < 4)
            assert_true(down[i] <= want[i + 1]);
    }
    assert_int_equal(down[4], want[4] + 20);
    uint64_t dir[2];
    assert_int_equal(edges(h, DIR_PIN, 1, dir, 2), 1);
    assert_true(dir[0] < up[0]);
    assert_int_equal(position(h), 5);
    fw_test_host_free(h);
}

static void test_reversing_counts_position_back_and_turns_with_step_idle(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    assert_int_equal(fw_test_host_send(h, "set_next_step_dir oid=0 dir=1;"
                                          "queue_step oid=0 interval=1000 count=5 add=0;"
                                          "set_next_step_dir oid=0 dir=0;"
                                          "queue_step oid=0 interval=500 count=8 add=-10"),
                     0);
    fw_test_host_run_events_until(h, T0 + 50000);

    uint64_t up[16], dir_low[2];
    assert_int_equal(edges(h, STEP_PIN, 1, up, 16), 13);
    assert_int_equal(up[5], T0 + 5000 + 500);
    assert_int_equal(up[12], T0 + 5000 + 8 * 500 - 10 * (1 + 2 + 3 + 4 + 5 + 6 + 7));
    /* The direction flips after the fifth pulse ended, before the sixth. */
    assert_int_equal(edges(h, DIR_PIN, 0, dir_low, 2), 1);
    assert_int_equal(dir_low[0], T0 + 5000 + 20);
    assert_int_equal(position(h), 5 - 8);
    fw_test_host_free(h);
}

static void test_zero_pulse_ticks_gives_both_edges_at_the_step_clock(void **state)
{
    struct fw_test_host *h = stepper_host(0);
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=300 count=4 add=0"), 0);
    fw_test_host_run_events_until(h, T0 + 5000);
    uint64_t up[8], down[8];
    assert_int_equal(edges(h, STEP_PIN, 1, up, 8), 4);
    assert_int_equal(edges(h, STEP_PIN, 0, down, 8), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(up[i], T0 + 300 * (i + 1));
        assert_int_equal(down[i], up[i]);
    }
    assert_int_equal(position(h), -4);
    fw_test_host_free(h);
}

static void test_position_mid_move_counts_only_steps_taken(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    assert_int_equal(fw_test_host_send(h, "set_next_step_dir oid=0 dir=1;"
                                          "queue_step oid=0 interval=1000 count=10 add=0"),
                     0);
    fw_test_host_run_events_until(h, T0 + 3500);
    assert_int_equal(position(h), 3);
    fw_test_host_run_events_until(h, T0 + 20000);
    assert_int_equal(position(h), 10);
    fw_test_host_free(h);
}

static void test_moves_after_the_clock_continue_from_the_last_step(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=1000 count=2 add=0"), 0);
    fw_test_host_run_events_until(h, T0 + 2500);
    /* The queue ran dry at T0+2000; the next move still counts from there. */
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=1000 count=1 add=0"), 0);
    fw_test_host_run_events_until(h, T0 + 10000);
    uint64_t up[4];
    assert_int_equal(edges(h, STEP_PIN, 1, up, 4), 3);
    assert_int_equal(up[2], T0 + 3000);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_first_step_in_the_past_shuts_down(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    fw_test_host_run_events_until(h, T0 + 5000);
    fw_test_host_mark(h);
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=1000 count=3 add=0"), 0);
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Stepper too far in past");
    assert_int_equal(fw_test_host_pin_changes(h, STEP_PIN), 0);
    fw_test_host_free(h);
}

static void test_too_many_queued_moves_is_a_move_queue_overflow(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    struct fs_msg cfg;
    assert_int_equal(fw_test_host_query(h, "get_config", "config", &cfg), 0);
    int64_t move_count = fs_msg_get(&cfg, "move_count", 0);
    assert_true(move_count > 10);

    /* Long intervals: nothing completes. The first move is loaded at once
     * (its record goes back to the pool); every later one stays queued. */
    fw_test_host_mark(h);
    int64_t sent = 0;
    while (!fw_sim_mcu_is_shutdown(h->mcu) && sent <= move_count + 5) {
        assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=100000 count=1 add=0"), 0);
        sent++;
    }
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    assert_int_equal(sent, move_count + 2);
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)), "Move queue overflow");
    fw_test_host_free(h);
}

static void test_shutdown_stops_steps_and_leaves_step_pin_idle(void **state)
{
    struct fw_test_host *h = stepper_host(200);
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=1000 count=100 add=0"), 0);
    fw_test_host_run_events_until(h, T0 + 3100); /* inside the third pulse */
    assert_int_equal(fw_test_host_send(h, "emergency_stop"), 0);
    fw_test_host_run_events_until(h, T0 + 200000);
    uint64_t up[8];
    assert_int_equal(edges(h, STEP_PIN, 1, up, 8), 3);
    assert_int_equal(edges(h, STEP_PIN, 0, up, 8), 3);
    assert_int_equal(position(h), -3);
    fw_test_host_free(h);
}

static void test_stopped_stepper_ignores_moves_until_clock_reset(void **state)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=2;"
                                          "config_stepper oid=0 step_pin=PA0 dir_pin=PA1"
                                          " invert_step=0 step_pulse_ticks=20;"
                                          "config_trsync oid=1;finalize_config crc=1"),
                     0);
    fw_test_host_forget_pin_changes(h);
    assert_int_equal(fw_test_host_send(h, "reset_step_clock oid=0 clock=1000000;"
                                          "trsync_start oid=1 report_clock=0 report_ticks=0"
                                          " expire_reason=4;"
                                          "stepper_stop_on_trigger oid=0 trsync_oid=1;"
                                          "queue_step oid=0 interval=1000 count=10 add=0"),
                     0);
    fw_test_host_run_events_until(h, T0 + 2500);
    assert_int_equal(fw_test_host_send(h, "trsync_trigger oid=1 reason=2"), 0);
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=1000 count=3 add=0"), 0);
    fw_test_host_run_events_until(h, T0 + 20000);
    assert_int_equal(fw_test_host_pin_changes(h, STEP_PIN), 4);
    assert_int_equal(position(h), -2);

    assert_int_equal(fw_test_host_send(h, "reset_step_clock oid=0 clock=1030000;"
                                          "queue_step oid=0 interval=1000 count=3 add=0"),
                     0);
    fw_test_host_run_events_until(h, T0 + 40000);
    assert_int_equal(fw_test_host_pin_changes(h, STEP_PIN), 10);
    assert_int_equal(position(h), -5);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_inverted_step_pin_idles_high_and_pulses_low(void **state)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=1;"
                                          "config_stepper oid=0 step_pin=PA0 dir_pin=PA1"
                                          " invert_step=1 step_pulse_ticks=20;"
                                          "finalize_config crc=1;"
                                          "reset_step_clock oid=0 clock=1000000"),
                     0);
    assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=1000 count=2 add=0"), 0);
    fw_test_host_run_events_until(h, T0 + 10000);
    uint64_t low[4], high[4];
    assert_int_equal(edges(h, STEP_PIN, 1, high, 4), 3); /* idle level, then two pulse ends */
    assert_int_equal(edges(h, STEP_PIN, 0, low, 4), 2);
    assert_int_equal(low[0], T0 + 1000);
    assert_int_equal(low[1], T0 + 2000);
    assert_int_equal(high[2], T0 + 2020);
    fw_test_host_free(h);
}

static void test_shutdown_returns_queued_moves_to_the_pool(void **state)
{
    struct fw_test_host *h = stepper_host(20);
    struct fs_msg cfg;
    assert_int_equal(fw_test_host_query(h, "get_config", "config", &cfg), 0);
    int64_t move_count = fs_msg_get(&cfg, "move_count", 0);
    for (int round = 0; round < 2; round++) {
        /* Fill the pool (one move loaded, the rest queued), then stop. */
        for (int64_t i = 0; i <= move_count; i++)
            assert_int_equal(fw_test_host_send(h, "queue_step oid=0 interval=100000 count=1 add=0"), 0);
        assert_false(fw_sim_mcu_is_shutdown(h->mcu));
        assert_int_equal(fw_test_host_send(h, "emergency_stop"), 0);
        assert_true(fw_sim_mcu_is_shutdown(h->mcu));
        assert_int_equal(fw_test_host_send(h, "clear_shutdown"), 0);
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "reset_step_clock oid=0 clock=%u", (unsigned)h->clock + 1000);
        assert_int_equal(fw_test_host_send(h, cmd), 0);
    }
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_step_with_add_steps_at_the_given_clocks),
        cmocka_unit_test(test_reversing_counts_position_back_and_turns_with_step_idle),
        cmocka_unit_test(test_zero_pulse_ticks_gives_both_edges_at_the_step_clock),
        cmocka_unit_test(test_position_mid_move_counts_only_steps_taken),
        cmocka_unit_test(test_moves_after_the_clock_continue_from_the_last_step),
        cmocka_unit_test(test_first_step_in_the_past_shuts_down),
        cmocka_unit_test(test_too_many_queued_moves_is_a_move_queue_overflow),
        cmocka_unit_test(test_shutdown_stops_steps_and_leaves_step_pin_idle),
        cmocka_unit_test(test_stopped_stepper_ignores_moves_until_clock_reset),
        cmocka_unit_test(test_inverted_step_pin_idles_high_and_pulses_low),
        cmocka_unit_test(test_shutdown_returns_queued_moves_to_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
