/* Digital outputs on the sim MCU: the pin edges a heater or fan would see
 * for queued changes and software PWM, and the max_duration safety window
 * that drops outputs to their defaults when the host stops sending. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define OUT_PIN 7  /* PA7 */
#define ONESHOT_PIN 20 /* PB4 */
#define T0 1000000

static void send(struct fw_test_host *h, const char *cmd)
{
    assert_int_equal(fw_test_host_send(h, cmd), 0);
}

/* Digital out 0 on PA7 and PWM out 1 on PA9 (fw_test_host_new_outputs).
 * Configuring an output drives it (floating -> its value), which the plant
 * must see even at level 0; the tests below count from here. */
static struct fw_test_host *outputs_host(uint32_t max_duration)
{
    struct fw_test_host *h = fw_test_host_new_outputs(max_duration);
    assert_non_null(h);
    assert_int_equal(fw_test_host_pin_changes(h, OUT_PIN), 1);
    assert_int_equal(fw_test_host_pin_level(h, OUT_PIN), 0);
    fw_test_host_forget_pin_changes(h);
    return h;
}

static void test_soft_pwm_toggles_on_ticks_per_cycle(void **state)
{
    struct fw_test_host *h = outputs_host(0);
    send(h, "set_digital_out_pwm_cycle oid=0 cycle_ticks=1000;"
            "queue_digital_out oid=0 clock=1000000 on_ticks=300;"
            "queue_digital_out oid=0 clock=1003000 on_ticks=1000;"
            "queue_digital_out oid=0 clock=1004500 on_ticks=0");
    fw_test_host_run_events_until(h, T0 + 10000);

    struct fw_test_change c[16];
    const struct fw_test_change want[] = {
        {T0, 1},        {T0 + 300, 0},  {T0 + 1000, 1}, {T0 + 1300, 0}, {T0 + 2000, 1},
        {T0 + 2300, 0}, {T0 + 3000, 1}, /* fully on from 3000 ... */
        {T0 + 4500, 0},                 /* ... until switched off */
    };
    size_t n = fw_test_host_pin_history(h, OUT_PIN, c, 16);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].clock, want[i].clock);
        assert_int_equal(c[i].value, want[i].value);
    }
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_on_off_without_pwm_cycle(void **state)
{
    struct fw_test_host *h = outputs_host(0);
    send(h, "queue_digital_out oid=0 clock=1000100 on_ticks=1;"
            "queue_digital_out oid=0 clock=1000200 on_ticks=0");
    fw_test_host_run_events_until(h, T0 + 1000);
    struct fw_test_change c[4];
    assert_int_equal(fw_test_host_pin_history(h, OUT_PIN, c, 4), 2);
    assert_int_equal(c[0].clock, T0 + 100);
    assert_int_equal(c[0].value, 1);
    assert_int_equal(c[1].clock, T0 + 200);
    assert_int_equal(c[1].value, 0);
    fw_test_host_free(h);
}

static void test_digital_out_max_duration_expiry_shuts_down_to_default(void **state)
{
    struct fw_test_host *h = outputs_host(5000);
    send(h, "set_digital_out_pwm_cycle oid=0 cycle_ticks=1000;"
            "queue_digital_out oid=0 clock=1000000 on_ticks=400;"
            /* in time: exactly max_duration after the previous change */
            "queue_digital_out oid=0 clock=1005000 on_ticks=1000");
    fw_test_host_run_events_until(h, T0 + 9999);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_run_events_until(h, T0 + 20000);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));

    struct fw_test_change c[32];
    size_t n = fw_test_host_pin_history(h, OUT_PIN, c, 32);
    assert_true(n >= 2 && n < 32);
    /* Held fully on from 5000 until the window ran out at 10000. */
    assert_int_equal(c[n - 2].clock, T0 + 5000);
    assert_int_equal(c[n - 2].value, 1);
    assert_int_equal(c[n - 1].clock, T0 + 10000);
    assert_int_equal(c[n - 1].value, 0);
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Missed scheduling of next digital out event");
    fw_test_host_free(h);
}

static void test_output_at_default_needs_no_further_updates(void **state)
{
    struct fw_test_host *h = outputs_host(5000);
    send(h, "queue_digital_out oid=0 clock=1000000 on_ticks=1;"
            "queue_digital_out oid=0 clock=1004000 on_ticks=0");
    fw_test_host_run_events_until(h, T0 + 100000);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_update_and_set_digital_out_act_at_once(void **state)
{
    struct fw_test_host *h = outputs_host(0);
    fw_test_host_run_events_until(h, T0);
    send(h, "update_digital_out oid=0 value=1;set_digital_out pin=PB4 value=1");
    struct fw_test_change c[4];
    assert_int_equal(fw_test_host_pin_history(h, OUT_PIN, c, 4), 1);
    assert_int_equal(c[0].clock, T0);
    assert_int_equal(c[0].value, 1);
    assert_int_equal(fw_test_host_pin_history(h, ONESHOT_PIN, c, 4), 1);
    assert_int_equal(c[0].value, 1);
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soft_pwm_toggles_on_ticks_per_cycle),
        cmocka_unit_test(test_on_off_without_pwm_cycle),
        cmocka_unit_test(test_digital_out_max_duration_expiry_shuts_down_to_default),
        cmocka_unit_test(test_output_at_default_needs_no_further_updates),
        cmocka_unit_test(test_update_and_set_digital_out_act_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
