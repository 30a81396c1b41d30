/* The sim port as the simulator sees it: pins report only real changes,
 * bad pins shut the MCU down, inputs and ADC read the wiring, and the next
 * wake-up is a 64-bit clock even after the 32-bit MCU clock wrapped. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fw_sim_test.h"  /* fw_sim_mcu_call */
#include "fw_test_host.h" /* the test host */
#include "hal.h"          /* the HAL under test */
#include "sched.h"        /* fw_sched_add_timer */

static void write_outputs(void *ctx)
{
    struct hal_gpio_out g = hal_gpio_out_setup(3, 0); /* PA3, already low */
    hal_gpio_out_write(g, 1);
    hal_gpio_out_write(g, 1);
    hal_gpio_out_toggle(g);
    struct hal_gpio_pwm p = hal_gpio_pwm_setup(20, 1000, 128);
    hal_gpio_pwm_write(p, 128);
    hal_gpio_pwm_write(p, 999); /* beyond PWM_MAX */
}

/* Setting a pin up drives it (reported even at level 0: the plant must
 * learn that the pin stopped floating); later writes report only changes. */
static void test_outputs_report_setup_and_changes(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_run_until(h, 777);
    fw_sim_mcu_call(h->mcu, write_outputs, NULL);
    assert_int_equal(fw_test_host_pin_changes(h, 3), 3);
    assert_int_equal(fw_test_host_pin_change(h, 3, 0)->value, 0);
    assert_int_equal(fw_test_host_pin_change(h, 3, 1)->value, 1);
    assert_int_equal(fw_test_host_pin_change(h, 3, 1)->clock, 777);
    assert_int_equal(fw_test_host_pin_level(h, 3), 0);
    assert_int_equal(fw_test_host_pin_changes(h, 20), 2);
    assert_true(fw_test_host_pin_change(h, 20, 0)->is_pwm);
    assert_int_equal(fw_test_host_pin_level(h, 20), 255);
}

static void setup_bad_pin(void *ctx)
{
    int *reached = ctx;
    hal_gpio_out_setup(64, 1);
    *reached = 1;
}

static void test_setting_up_a_pin_the_board_lacks_shuts_down(void **state)
{
    struct fw_test_host *h = *state;
    int reached = 0;
    fw_test_host_mark(h);
    fw_sim_mcu_call(h->mcu, setup_bad_pin, &reached);
    assert_int_equal(reached, 0);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "shutdown", &m), 0);
    char buf[64];
    assert_string_equal(fs_msgproto_enum_name(h->proto, "static_string_id",
                                              (int32_t)fs_msg_get(&m, "static_string_id", -1),
                                              buf, sizeof(buf)),
                        "Invalid pin");
}

struct reads {
    uint8_t level;
    uint16_t adc;
};

static void read_inputs(void *ctx)
{
    struct reads *r = ctx;
    r->level = hal_gpio_in_read(hal_gpio_in_setup(40, 0));
    struct hal_gpio_adc a = hal_gpio_adc_setup(5);
    assert_int_equal(hal_gpio_adc_sample(a), 0);
    r->adc = hal_gpio_adc_read(a);
}

static void test_inputs_and_adc_read_the_wiring(void **state)
{
    struct fw_test_host *h = *state;
    h->input_level[40] = 1;
    h->adc_value[5] = 5000; /* more than a 12-bit ADC can give */
    struct reads r = {0};
    fw_sim_mcu_call(h->mcu, read_inputs, &r);
    assert_int_equal(r.level, 1);
    assert_int_equal(r.adc, 4095);
    h->input_level[40] = 0;
    h->adc_value[5] = 1234;
    fw_sim_mcu_call(h->mcu, read_inputs, &r);
    assert_int_equal(r.level, 0);
    assert_int_equal(r.adc, 1234);
}

static uint_fast8_t noop_event(struct fw_timer *t)
{
    return FW_SF_DONE;
}

static void add_timer_5000_ahead(void *ctx)
{
    struct fw_timer *t = ctx;
    t->func = noop_event;
    t->waketime = fw_timer_read_time() + 5000;
    fw_sched_add_timer(t);
}

static void test_next_wake_is_a_64_bit_clock_across_a_wrap(void **state)
{
    struct fw_test_host *h = *state;
    uint64_t now = (1ull << 32) - 1000; /* the timer lands after the wrap */
    fw_test_host_run_until(h, now);
    struct fw_timer t;
    fw_sim_mcu_call(h->mcu, add_timer_5000_ahead, &t);
    uint64_t wake = 0;
    assert_int_equal(fw_sim_mcu_next_wake(h->mcu, &wake), 1);
    assert_int_equal(wake, now + 5000);
    fw_test_host_run_until(h, now + 5000);
    assert_int_equal(fw_sim_mcu_next_wake(h->mcu, &wake), 0);
}

static void test_power_cycle_puts_outputs_back_low(void **state)
{
    struct fw_test_host *h = *state;
    fw_sim_mcu_call(h->mcu, write_outputs, NULL);
    fw_sim_mcu_power_on(h->mcu, 1000000);
    assert_int_equal(fw_test_host_pin_level(h, 20), 0);
    assert_int_equal(fw_test_host_pin_change(h, 20, 2)->clock, 1000000);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fw_test_host_setup, fw_test_host_teardown)
        T(test_outputs_report_setup_and_changes),
        T(test_setting_up_a_pin_the_board_lacks_shuts_down),
        T(test_inputs_and_adc_read_the_wiring),
        T(test_next_wake_is_a_64_bit_clock_across_a_wrap),
        T(test_power_cycle_puts_outputs_back_low),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
