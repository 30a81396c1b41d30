/* Hardware PWM outputs on the sim MCU: duty values at their clocks, and
 * the max_duration window that returns them to their defaults. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define PWM_PIN 9  /* PA9 */
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
    assert_int_equal(fw_test_host_pin_changes(h, PWM_PIN), 1);
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 0);
    fw_test_host_forget_pin_changes(h);
    return h;
}

static void test_pwm_out_applies_values_at_their_clocks(void **state)
{
    struct fw_test_host *h = outputs_host(0);
    send(h, "queue_pwm_out oid=1 clock=1000000 value=128;"
            "queue_pwm_out oid=1 clock=1002000 value=255;"
            "queue_pwm_out oid=1 clock=1003000 value=0");
    fw_test_host_run_events_until(h, T0 + 10000);
    struct fw_test_change c[8];
    const struct fw_test_change want[] = {{T0, 128}, {T0 + 2000, 255}, {T0 + 3000, 0}};
    assert_int_equal(fw_test_host_pin_history(h, PWM_PIN, c, 8), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].clock, want[i].clock);
        assert_int_equal(c[i].value, want[i].value);
    }
    assert_int_equal(h->outputs[0].is_pwm, 1);
    fw_test_host_free(h);
}

static void test_pwm_out_max_duration_expiry_shuts_down_to_default(void **state)
{
    struct fw_test_host *h = outputs_host(5000);
    send(h, "queue_pwm_out oid=1 clock=1000000 value=200;"
            "queue_pwm_out oid=1 clock=1004000 value=100");
    fw_test_host_run_events_until(h, T0 + 8999);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_run_events_until(h, T0 + 20000);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    struct fw_test_change c[8];
    assert_int_equal(fw_test_host_pin_history(h, PWM_PIN, c, 8), 3);
    assert_int_equal(c[2].clock, T0 + 9000);
    assert_int_equal(c[2].value, 0);
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Missed scheduling of next hard pwm event");
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pwm_out_applies_values_at_their_clocks),
        cmocka_unit_test(test_pwm_out_max_duration_expiry_shuts_down_to_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
