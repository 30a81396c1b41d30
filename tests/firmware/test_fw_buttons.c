/* Buttons on the sim MCU: a change is reported once two polls agree on it,
 * reports are queued and sent again until the host acknowledges them, and
 * ack_count lets the host tell new states from repeats. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define PIN_A 3 /* PA3: button pos 0 */
#define PIN_B 4 /* PA4: button pos 1 */
#define T0 1000000
#define REST 1000

static void send(struct fw_test_host *h, const char *cmd)
{
    assert_int_equal(fw_test_host_send(h, cmd), 0);
}

/* Two buttons polled every REST ticks from T0. */
static struct fw_test_host *buttons_host(int retransmit_count, int invert)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    send(h, "allocate_oids count=1;config_buttons oid=0 button_count=2;"
            "buttons_add oid=0 pos=0 pin=PA3 pull_up=1;buttons_add oid=0 pos=1 pin=PA4 pull_up=0;"
            "finalize_config crc=1");
    char cmd[160];
    snprintf(cmd, sizeof(cmd),
             "buttons_query oid=0 clock=%d rest_ticks=%d retransmit_count=%d invert=%d", T0, REST,
             retransmit_count, invert);
    send(h, cmd);
    fw_test_host_mark(h);
    return h;
}

/* The next buttons_state: its ack_count and states; returns how many
 * states, -1 when there is none. */
static int next_state(struct fw_test_host *h, int *ack_count, int *states, int cap)
{
    struct fs_msg msg;
    if (fw_test_host_find(h, "buttons_state", &msg) < 0)
        return -1;
    assert_int_equal(fs_msg_get(&msg, "oid", -1), 0);
    *ack_count = (int)fs_msg_get(&msg, "ack_count", -1);
    int i = msg.format->param_count - 1; /* state is the last parameter */
    int n = (int)msg.values[i];
    assert_true(n <= cap);
    for (int k = 0; k < n; k++)
        states[k] = msg.data[i][k];
    return n;
}

static void test_press_is_reported_once_two_polls_agree(void **state)
{
    (void)state;
    struct fw_test_host *h = buttons_host(50, 0);
    fw_test_host_run_events_until(h, T0 + 1500);
    h->input_level[PIN_A] = 1;
    /* The poll at T0 + 2000 sees it first: not yet a press. */
    fw_test_host_run_events_until(h, T0 + 2999);
    int ack, states[8];
    assert_int_equal(next_state(h, &ack, states, 8), -1);
    fw_test_host_run_events_until(h, T0 + 3000);
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(ack, 0);
    assert_int_equal(states[0], 0x01);
    fw_test_host_free(h);
}

static void test_glitch_of_one_poll_is_not_reported(void **state)
{
    (void)state;
    struct fw_test_host *h = buttons_host(50, 0);
    fw_test_host_run_events_until(h, T0 + 1500);
    h->input_level[PIN_B] = 1;
    fw_test_host_run_events_until(h, T0 + 2500);
    h->input_level[PIN_B] = 0;
    fw_test_host_run_events_until(h, T0 + 20 * REST);
    int ack, states[8];
    assert_int_equal(next_state(h, &ack, states, 8), -1);
    fw_test_host_free(h);
}

static void test_unacknowledged_state_is_sent_again_until_acked(void **state)
{
    (void)state;
    struct fw_test_host *h = buttons_host(5, 0);
    h->input_level[PIN_B] = 1;
    fw_test_host_run_events_until(h, T0 + REST); /* reported at the second poll */
    int ack, states[8];
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(states[0], 0x02);
    /* retransmit_count + 1 polls later, the same queue again. */
    fw_test_host_run_events_until(h, T0 + 6 * REST + 500);
    assert_int_equal(next_state(h, &ack, states, 8), -1);
    fw_test_host_run_events_until(h, T0 + 7 * REST);
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(ack, 0);
    assert_int_equal(states[0], 0x02);

    send(h, "buttons_ack oid=0 count=1");
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 30 * REST);
    assert_int_equal(next_state(h, &ack, states, 8), -1);

    /* The next change carries the acknowledged count. */
    h->input_level[PIN_B] = 0;
    fw_test_host_run_events_until(h, T0 + 32 * REST);
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(ack, 1);
    assert_int_equal(states[0], 0x00);
    fw_test_host_free(h);
}

static void test_changes_queue_up_until_acked(void **state)
{
    (void)state;
    struct fw_test_host *h = buttons_host(100, 0);
    h->input_level[PIN_A] = 1;
    fw_test_host_run_events_until(h, T0 + 3 * REST);
    h->input_level[PIN_A] = 0;
    fw_test_host_run_events_until(h, T0 + 6 * REST);
    int ack, states[8];
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(next_state(h, &ack, states, 8), 2);
    assert_int_equal(ack, 0);
    assert_int_equal(states[0], 0x01);
    assert_int_equal(states[1], 0x00);

    /* Half acknowledged: the rest is sent again with the new count. */
    send(h, "buttons_ack oid=0 count=1");
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 120 * REST);
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(ack, 1);
    assert_int_equal(states[0], 0x00);
    fw_test_host_free(h);
}

static void test_invert_is_the_idle_state(void **state)
{
    (void)state;
    struct fw_test_host *h = buttons_host(50, 0x01);
    h->input_level[PIN_A] = 1; /* at rest for an inverted switch */
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    int ack, states[8];
    assert_int_equal(next_state(h, &ack, states, 8), -1);
    h->input_level[PIN_A] = 0;
    fw_test_host_run_events_until(h, T0 + 12 * REST);
    assert_int_equal(next_state(h, &ack, states, 8), 1);
    assert_int_equal(states[0], 0x00);
    fw_test_host_free(h);
}

static void test_bad_counts_shut_down(void **state)
{
    (void)state;
    char buf[64];
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    send(h, "allocate_oids count=1;config_buttons oid=0 button_count=9");
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)), "Max of 8 buttons");
    fw_test_host_free(h);

    h = fw_test_host_new();
    assert_non_null(h);
    send(h, "allocate_oids count=1;config_buttons oid=0 button_count=1;"
            "buttons_add oid=0 pos=0 pin=PA3 pull_up=0;finalize_config crc=1");
    send(h, "buttons_query oid=0 clock=1000000 rest_ticks=100 retransmit_count=128 invert=0");
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Invalid buttons retransmit count");
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_press_is_reported_once_two_polls_agree),
        cmocka_unit_test(test_glitch_of_one_poll_is_not_reported),
        cmocka_unit_test(test_unacknowledged_state_is_sent_again_until_acked),
        cmocka_unit_test(test_changes_queue_up_until_acked),
        cmocka_unit_test(test_invert_is_the_idle_state),
        cmocka_unit_test(test_bad_counts_shut_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
