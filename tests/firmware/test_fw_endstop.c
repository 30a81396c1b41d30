/* Homing on the sim MCU: an endstop confirms a switch and pulls a trsync,
 * which stops the stepper on the right step; trsync deadlines, reports and
 * host triggers. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define STEP_PIN 0    /* PA0 */
#define ENDSTOP_PIN 16 /* PB0 */
#define T0 1000000

enum { REASON_ENDSTOP = 1, REASON_HOST = 3, REASON_TIMEOUT = 4 };

static void send(struct fw_test_host *h, const char *cmd)
{
    assert_int_equal(fw_test_host_send(h, cmd), 0);
}

/* Stepper 0 moving up 100 steps, 1000 ticks apart from T0, set to stop on
 * trsync 2; endstop 1 configured but not homing. */
static struct fw_test_host *homing_host(void)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    send(h, "allocate_oids count=3;"
            "config_stepper oid=0 step_pin=PA0 dir_pin=PA1 invert_step=0 step_pulse_ticks=20");
    send(h, "config_endstop oid=1 pin=PB0 pull_up=1;config_trsync oid=2;finalize_config crc=1");
    fw_test_host_forget_pin_changes(h);
    send(h, "reset_step_clock oid=0 clock=1000000;"
            "trsync_start oid=2 report_clock=0 report_ticks=0 expire_reason=4;"
            "stepper_stop_on_trigger oid=0 trsync_oid=2");
    return h;
}

static void start_moving(struct fw_test_host *h)
{
    send(h, "set_next_step_dir oid=0 dir=1;queue_step oid=0 interval=1000 count=100 add=0");
}

static void home(struct fw_test_host *h)
{
    send(h, "endstop_home oid=1 clock=1000000 sample_ticks=50 sample_count=4 rest_ticks=400"
            " pin_value=1 trsync_oid=2 trigger_reason=1");
}

static int64_t position(struct fw_test_host *h)
{
    struct fs_msg msg;
    assert_int_equal(fw_test_host_query(h, "stepper_get_position oid=0", "stepper_position", &msg), 0);
    return fs_msg_get(&msg, "pos", -999999);
}

static size_t rising_edges(const struct fw_test_host *h, uint32_t pin)
{
    size_t n = 0;
    for (size_t i = 0; i < h->output_count; i++)
        n += h->outputs[i].pin == pin && h->outputs[i].value == 1;
    return n;
}

static void expect_trsync_state(struct fw_test_host *h, int can_trigger, int reason, uint64_t clock)
{
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "trsync_state", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "oid", -1), 2);
    assert_int_equal(fs_msg_get(&msg, "can_trigger", -1), can_trigger);
    assert_int_equal(fs_msg_get(&msg, "trigger_reason", -1), reason);
    assert_int_equal((uint32_t)fs_msg_get(&msg, "clock", -1), (uint32_t)clock);
}

static void test_endstop_hit_stops_the_stepper_on_the_right_step(void **state)
{
    struct fw_test_host *h = homing_host();
    home(h);
    start_moving(h);
    fw_test_host_run_events_until(h, T0 + 10500);
    fw_test_host_mark(h);
    h->input_level[ENDSTOP_PIN] = 1;
    fw_test_host_run_events_until(h, T0 + 50000);

    /* First agreeing sample at the 400-tick slot T0+10800, three more 50
     * ticks apart: triggered at T0+10950, before the step due at T0+11000. */
    expect_trsync_state(h, 0, REASON_ENDSTOP, T0 + 10950);
    assert_int_equal(rising_edges(h, STEP_PIN), 10);
    assert_int_equal(fw_test_host_pin_changes(h, STEP_PIN), 20);
    assert_int_equal(position(h), 10);

    struct fs_msg msg;
    assert_int_equal(fw_test_host_query(h, "endstop_query_state oid=1", "endstop_state", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "homing", -1), 0);
    assert_int_equal(fs_msg_get(&msg, "pin_value", -1), 1);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_a_single_noisy_sample_does_not_trigger(void **state)
{
    struct fw_test_host *h = homing_host();
    home(h);
    start_moving(h);
    fw_test_host_run_events_until(h, T0 + 10500);
    h->input_level[ENDSTOP_PIN] = 1;
    /* The slot at 10800 matched; the next check will not. */
    fw_test_host_run_events_until(h, T0 + 10820);
    h->input_level[ENDSTOP_PIN] = 0;
    fw_test_host_run_events_until(h, T0 + 20500);
    assert_int_equal(position(h), 20);

    struct fs_msg msg;
    assert_int_equal(fw_test_host_query(h, "endstop_query_state oid=1", "endstop_state", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "homing", -1), 1);
    assert_int_equal((uint32_t)fs_msg_get(&msg, "next_clock", -1), T0 + 20800);

    fw_test_host_mark(h);
    h->input_level[ENDSTOP_PIN] = 1;
    fw_test_host_run_events_until(h, T0 + 60000);
    expect_trsync_state(h, 0, REASON_ENDSTOP, T0 + 20950);
    assert_int_equal(position(h), 20);
    fw_test_host_free(h);
}

static void test_cancelled_homing_ignores_the_switch(void **state)
{
    struct fw_test_host *h = homing_host();
    home(h);
    start_moving(h);
    fw_test_host_run_events_until(h, T0 + 3500);
    send(h, "endstop_home oid=1 clock=0 sample_ticks=0 sample_count=0 rest_ticks=0"
            " pin_value=0 trsync_oid=0 trigger_reason=0");
    h->input_level[ENDSTOP_PIN] = 1;
    fw_test_host_run_events_until(h, T0 + 200000);
    assert_int_equal(position(h), 100);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_query(h, "endstop_query_state oid=1", "endstop_state", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "homing", -1), 0);
    fw_test_host_free(h);
}

static void test_trsync_timeout_triggers_with_expire_reason(void **state)
{
    struct fw_test_host *h = homing_host();
    send(h, "trsync_set_timeout oid=2 clock=1005500");
    start_moving(h);
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 50000);
    expect_trsync_state(h, 0, REASON_TIMEOUT, T0 + 5500);
    assert_int_equal(position(h), 5);
    assert_int_equal(rising_edges(h, STEP_PIN), 5);
    fw_test_host_free(h);
}

static void test_trsync_reports_while_armed_and_answers_a_host_trigger(void **state)
{
    struct fw_test_host *h = homing_host();
    send(h, "trsync_start oid=2 report_clock=1001000 report_ticks=2000 expire_reason=4;"
            "stepper_stop_on_trigger oid=0 trsync_oid=2");
    start_moving(h);
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 6000);
    expect_trsync_state(h, 1, 0, T0 + 1000);
    expect_trsync_state(h, 1, 0, T0 + 3000);
    expect_trsync_state(h, 1, 0, T0 + 5000);

    fw_test_host_mark(h);
    send(h, "trsync_trigger oid=2 reason=3");
    expect_trsync_state(h, 0, REASON_HOST, T0 + 6000);
    fw_test_host_run_events_until(h, T0 + 20000);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "trsync_state", &msg), -1);
    assert_int_equal(position(h), 6);
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endstop_hit_stops_the_stepper_on_the_right_step),
        cmocka_unit_test(test_a_single_noisy_sample_does_not_trigger),
        cmocka_unit_test(test_cancelled_homing_ignores_the_switch),
        cmocka_unit_test(test_trsync_timeout_triggers_with_expire_reason),
        cmocka_unit_test(test_trsync_reports_while_armed_and_answers_a_host_trigger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
