/* Digital outputs on the sim MCU: the pin edges a heater or fan would see
 * for queued changes and software PWM, and the max_duration safety window
 * that drops outputs to their defaults when the host stops sending. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define OUT_PIN 7  /* PA7 */
#define ONESHOT_PIN 20 /* PB4 */
#define T0 1000000

/* Runs timer by timer, as the simulator's event loop does. */
static void run_to(struct fw_test_host *h, uint64_t clock)
{
    uint64_t wake;
    while (fw_sim_mcu_next_wake(h->mcu, &wake) && wake <= clock)
        fw_test_host_run_until(h, wake);
    fw_test_host_run_until(h, clock);
}

static void send(struct fw_test_host *h, const char *cmd)
{
    assert_int_equal(fw_test_host_send(h, cmd), 0);
}

/* Digital out 0 on PA7 (off, default off, max_duration as given) and PWM
 * out 1 on PA9 (duty 0, default 0, same max_duration). */
static struct fw_test_host *outputs_host(uint32_t max_duration)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    char cmd[240];
    snprintf(cmd, sizeof(cmd),
             "allocate_oids count=2;"
             "config_digital_out oid=0 pin=PA7 value=0 default_value=0 max_duration=%u;"
             "config_pwm_out oid=1 pin=PA9 cycle_ticks=1000 value=0 default_value=0"
             " max_duration=%u;finalize_config crc=1",
             max_duration, max_duration);
    send(h, cmd);
    /* Configuring an output drives it (floating -> its value), which the
     * plant must see even at level 0; the tests below count from here. */
    assert_int_equal(fw_test_host_pin_changes(h, OUT_PIN), 1);
    assert_int_equal(fw_test_host_pin_level(h, OUT_PIN), 0);
    fw_test_host_forget_pin_changes(h);
    return h;
}

struct change {
    uint64_t clock;
    uint32_t value;
};

static size_t changes(const struct fw_test_host *h, uint32_t pin, struct change *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < h->output_count; i++) {
        if (h->outputs[i].pin != pin)
            continue;
        if (n < cap)
            out[n] = (struct change){h->outputs[i].clock, h->outputs[i].value};
        n++;
    }
    return n;
}

static const char *shutdown_reason(struct fw_test_host *h, char *buf, size_t cap)
{
    struct fs_msg msg;
    if (fw_test_host_find(h, "shutdown", &msg) < 0)
        return "";
    int32_t id = (int32_t)fs_msg_get(&msg, "static_string_id", -1);
    const char *name = fs_msgproto_enum_name(h->proto, "static_string_id", id, buf, cap);
    return name ? name : "";
}

static void test_soft_pwm_toggles_on_ticks_per_cycle(void **state)
{
    struct fw_test_host *h = outputs_host(0);
    send(h, "set_digital_out_pwm_cycle oid=0 cycle_ticks=1000;"
            "queue_digital_out oid=0 clock=1000000 on_ticks=300;"
            "queue_digital_out oid=0 clock=1003000 on_ticks=1000;"
            "queue_digital_out oid=0 clock=1004500 on_ticks=0");
    run_to(h, T0 + 10000);

    struct change c[16];
    const struct change want[] = {
        {T0, 1},        {T0 + 300, 0},  {T0 + 1000, 1}, {T0 + 1300, 0}, {T0 + 2000, 1},
        {T0 + 2300, 0}, {T0 + 3000, 1}, /* fully on from 3000 ... */
        {T0 + 4500, 0},                 /* ... until switched off */
    };
    size_t n = changes(h, OUT_PIN, c, 16);
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
    run_to(h, T0 + 1000);
    struct change c[4];
    assert_int_equal(changes(h, OUT_PIN, c, 4), 2);
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
    run_to(h, T0 + 9999);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    run_to(h, T0 + 20000);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));

    struct change c[32];
    size_t n = changes(h, OUT_PIN, c, 32);
    assert_true(n >= 2 && n < 32);
    /* Held fully on from 5000 until the window ran out at 10000. */
    assert_int_equal(c[n - 2].clock, T0 + 5000);
    assert_int_equal(c[n - 2].value, 1);
    assert_int_equal(c[n - 1].clock, T0 + 10000);
    assert_int_equal(c[n - 1].value, 0);
    char buf[64];
    assert_string_equal(shutdown_reason(h, buf, sizeof(buf)),
                        "Missed scheduling of next digital out event");
    fw_test_host_free(h);
}

static void test_output_at_default_needs_no_further_updates(void **state)
{
    struct fw_test_host *h = outputs_host(5000);
    send(h, "queue_digital_out oid=0 clock=1000000 on_ticks=1;"
            "queue_digital_out oid=0 clock=1004000 on_ticks=0");
    run_to(h, T0 + 100000);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_update_and_set_digital_out_act_at_once(void **state)
{
    struct fw_test_host *h = outputs_host(0);
    run_to(h, T0);
    send(h, "update_digital_out oid=0 value=1;set_digital_out pin=PB4 value=1");
    struct change c[4];
    assert_int_equal(changes(h, OUT_PIN, c, 4), 1);
    assert_int_equal(c[0].clock, T0);
    assert_int_equal(c[0].value, 1);
    assert_int_equal(changes(h, ONESHOT_PIN, c, 4), 1);
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
