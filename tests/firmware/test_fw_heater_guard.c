/* The per-heater guard on the sim MCU: a sum out of range switches its
 * heater output off within the same sample (the pin is low at the clock of
 * the sample's last conversion), holds it off against whatever the host
 * queues until the guard is armed again, reports the trip, and never shuts
 * the MCU down; while not tripped the output keeps its max_duration
 * window. A firmware built without the guard (FW_HEATER_GUARD=OFF, like the
 * reference firmware) offers none of the guard's messages. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */
#include "mcu/msgproto.h" /* fs_msgproto_lookup, fs_msg_get */

#define ADC_PIN 5   /* PA5 */
#define DOUT_PIN 7  /* PA7 */
#define PWM_PIN 9   /* PA9 */
#define T0 1000000
#define REST 10000
#define SAMPLE_TICKS 100
#define SAMPLES 4
/* The clock of the last conversion of cycle k. */
#define SAMPLE_CLOCK(k) (T0 + (k) * REST + (SAMPLES - 1) * SAMPLE_TICKS)
#define GOOD_READING 1000 /* sum 4000 */
#define OPEN_READING 4000 /* sum 16000 > max */
#define SHORT_READING 20  /* sum 80 < min */

static void send(struct fw_test_host *h, const char *cmd)
{
    assert_int_equal(fw_test_host_send(h, cmd), 0);
}

#if FW_HEATER_GUARD

/* adc 0 on PA5, digital out 1 on PA7 (software PWM, 1000-tick cycle) and
 * PWM out 2 on PA9, all defaults off; guard 3 watches adc 0 and drives
 * out_oid; the adc samples from T0 with the whole-MCU check wide open, and
 * the guard is armed to [400, 12000]. */
static struct fw_test_host *guard_host(int out_oid, uint32_t max_duration)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    char cmd[240];
    snprintf(cmd, sizeof(cmd),
             "allocate_oids count=4;config_analog_in oid=0 pin=PA5;"
             "config_digital_out oid=1 pin=PA7 value=0 default_value=0 max_duration=%u",
             max_duration);
    send(h, cmd);
    snprintf(cmd, sizeof(cmd),
             "set_digital_out_pwm_cycle oid=1 cycle_ticks=1000;"
             "config_pwm_out oid=2 pin=PA9 cycle_ticks=1000 value=0 default_value=0"
             " max_duration=%u",
             max_duration);
    send(h, cmd);
    snprintf(cmd, sizeof(cmd), "config_heater_guard oid=3 adc_oid=0 out_oid=%d;finalize_config crc=1",
             out_oid);
    send(h, cmd);
    h->adc_value[ADC_PIN] = GOOD_READING;
    snprintf(cmd, sizeof(cmd),
             "query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=%d rest_ticks=%d"
             " bytes_per_report=2 min_value=0 max_value=65535 range_check_count=0",
             T0, SAMPLE_TICKS, SAMPLES, REST);
#ifdef FW_ADC_LEGACY
    snprintf(cmd, sizeof(cmd),
             "query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=%d rest_ticks=%d"
             " min_value=0 max_value=65535 range_check_count=0",
             T0, SAMPLE_TICKS, SAMPLES, REST);
#endif
    send(h, cmd);
    send(h, "heater_guard_arm oid=3 min_value=400 max_value=12000");
    fw_test_host_forget_pin_changes(h);
    fw_test_host_mark(h);
    return h;
}

/* The level of pin at clock, from the recorded changes. */
static uint32_t level_at(const struct fw_test_host *h, uint32_t pin, uint64_t clock)
{
    uint32_t level = 0;
    for (size_t i = 0; i < h->output_count; i++)
        if (h->outputs[i].pin == pin && h->outputs[i].clock <= clock)
            level = h->outputs[i].value;
    return level;
}

/* Runs to just before cycle k and makes its conversions read reading. */
static void read_from_cycle(struct fw_test_host *h, int k, int reading)
{
    fw_test_host_run_events_until(h, T0 + (uint64_t)k * REST - 1);
    h->adc_value[ADC_PIN] = reading;
}

static void expect_trip(struct fw_test_host *h, int sum, uint32_t clock)
{
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "heater_guard_tripped", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "oid", -1), 3);
    assert_int_equal(fs_msg_get(&msg, "value", -1), sum);
    assert_int_equal((uint32_t)fs_msg_get(&msg, "clock", -1), clock);
}

static void test_open_sensor_turns_soft_pwm_heater_off_within_the_sample(void **state)
{
    (void)state;
    struct fw_test_host *h = guard_host(1, 0);
    send(h, "queue_digital_out oid=1 clock=1000000 on_ticks=600");
    read_from_cycle(h, 3, OPEN_READING);
    /* The heater toggles in its PWM cycle until the bad sample... */
    assert_true(fw_test_host_pin_changes(h, DOUT_PIN) > 4);
    fw_test_host_run_events_until(h, T0 + 6 * REST);
    /* ...the pin is low at that sample's clock (the software PWM would have
     * had it high: 600 of every 1000 ticks from T0)... */
    assert_int_equal(level_at(h, DOUT_PIN, SAMPLE_CLOCK(3)), 0);
    assert_int_equal(level_at(h, DOUT_PIN, SAMPLE_CLOCK(3) - 1), 1);
    /* ...and stays low after it. */
    for (size_t i = 0; i < h->output_count; i++)
        if (h->outputs[i].pin == DOUT_PIN && h->outputs[i].clock >= SAMPLE_CLOCK(3))
            assert_int_equal(h->outputs[i].value, 0);
    expect_trip(h, SAMPLES * OPEN_READING, SAMPLE_CLOCK(3));
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_trip_holds_digital_out_against_later_commands_until_rearmed(void **state)
{
    (void)state;
    struct fw_test_host *h = guard_host(1, 0);
    send(h, "queue_digital_out oid=1 clock=1000000 on_ticks=1000");
    read_from_cycle(h, 2, SHORT_READING);
    fw_test_host_run_events_until(h, T0 + 3 * REST);
    expect_trip(h, SAMPLES * SHORT_READING, SAMPLE_CLOCK(2));
    h->adc_value[ADC_PIN] = GOOD_READING;

    /* Queued and immediate "on" changes leave it off. */
    send(h, "queue_digital_out oid=1 clock=1035000 on_ticks=1000;"
            "queue_digital_out oid=1 clock=1036000 on_ticks=500");
    send(h, "update_digital_out oid=1 value=1");
    fw_test_host_run_events_until(h, T0 + 5 * REST);
    assert_int_equal(fw_test_host_pin_level(h, DOUT_PIN), 0);
    assert_int_equal(level_at(h, DOUT_PIN, T0 + 36500), 0);

    /* Re-armed with the sensor sane: the next change turns it on again. */
    send(h, "heater_guard_arm oid=3 min_value=400 max_value=12000");
    assert_int_equal(fw_test_host_pin_level(h, DOUT_PIN), 0);
    send(h, "queue_digital_out oid=1 clock=1055000 on_ticks=1000");
    fw_test_host_run_events_until(h, T0 + 6 * REST);
    assert_int_equal(level_at(h, DOUT_PIN, T0 + 55000), 1);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "heater_guard_tripped", &msg), -1);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_rearm_while_still_bad_trips_again(void **state)
{
    (void)state;
    struct fw_test_host *h = guard_host(1, 0);
    send(h, "queue_digital_out oid=1 clock=1000000 on_ticks=1000");
    read_from_cycle(h, 1, OPEN_READING);
    fw_test_host_run_events_until(h, T0 + REST + 1000);
    expect_trip(h, SAMPLES * OPEN_READING, SAMPLE_CLOCK(1));
    send(h, "heater_guard_arm oid=3 min_value=400 max_value=12000;"
            "queue_digital_out oid=1 clock=1015000 on_ticks=1000");
    fw_test_host_run_events_until(h, T0 + 4 * REST);
    /* On from the moment the host asked, off again at the next bad sample. */
    assert_int_equal(level_at(h, DOUT_PIN, T0 + 15000), 1);
    assert_int_equal(level_at(h, DOUT_PIN, SAMPLE_CLOCK(2) - 1), 1);
    assert_int_equal(level_at(h, DOUT_PIN, SAMPLE_CLOCK(2)), 0);
    expect_trip(h, SAMPLES * OPEN_READING, SAMPLE_CLOCK(2));
    fw_test_host_free(h);
}

static void test_trip_holds_hardware_pwm_out_off(void **state)
{
    (void)state;
    struct fw_test_host *h = guard_host(2, 0);
    send(h, "queue_pwm_out oid=2 clock=1000000 value=200");
    read_from_cycle(h, 2, OPEN_READING);
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 200);
    fw_test_host_run_events_until(h, T0 + 3 * REST);
    assert_int_equal(level_at(h, PWM_PIN, SAMPLE_CLOCK(2) - 1), 200);
    assert_int_equal(level_at(h, PWM_PIN, SAMPLE_CLOCK(2)), 0);
    expect_trip(h, SAMPLES * OPEN_READING, SAMPLE_CLOCK(2));

    h->adc_value[ADC_PIN] = GOOD_READING;
    send(h, "queue_pwm_out oid=2 clock=1035000 value=250");
    fw_test_host_run_events_until(h, T0 + 4 * REST);
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 0);

    send(h, "heater_guard_arm oid=3 min_value=400 max_value=12000;"
            "queue_pwm_out oid=2 clock=1045000 value=100");
    fw_test_host_run_events_until(h, T0 + 5 * REST);
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 100);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_tripped_output_is_not_shut_down_by_its_max_duration(void **state)
{
    (void)state;
    /* On with a 15000-tick window and never refreshed: without the trip the
     * MCU would shut down at T0 + 15000 (see the next test). */
    struct fw_test_host *h = guard_host(1, 15000);
    send(h, "queue_digital_out oid=1 clock=1000000 on_ticks=1000;"
            "queue_pwm_out oid=2 clock=1000000 value=0");
    read_from_cycle(h, 1, OPEN_READING);
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    assert_int_equal(fw_test_host_pin_level(h, DOUT_PIN), 0);
    fw_test_host_free(h);

    h = guard_host(2, 15000);
    send(h, "queue_pwm_out oid=2 clock=1000000 value=500");
    read_from_cycle(h, 1, OPEN_READING);
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 0);
    fw_test_host_free(h);
}

static void test_rearm_before_the_old_pwm_deadline_does_not_shut_down(void **state)
{
    (void)state;
    /* A hardware PWM heater on with a 50000-tick window (its deadline
     * T0 + 50000), tripped at cycle 2, re-armed with the sensor sane before
     * that deadline and nothing queued since: the deadline died with the
     * trip, so the MCU must not shut down when its clock comes. */
    struct fw_test_host *h = guard_host(2, 50000);
    send(h, "queue_pwm_out oid=2 clock=1000000 value=500");
    read_from_cycle(h, 2, OPEN_READING);
    fw_test_host_run_events_until(h, T0 + 3 * REST);
    expect_trip(h, SAMPLES * OPEN_READING, SAMPLE_CLOCK(2));
    h->adc_value[ADC_PIN] = GOOD_READING;
    send(h, "heater_guard_arm oid=3 min_value=400 max_value=12000");
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 0);
    /* The output still works and still has its window afterwards. */
    send(h, "queue_pwm_out oid=2 clock=1105000 value=200");
    fw_test_host_run_events_until(h, T0 + 11 * REST);
    assert_int_equal(fw_test_host_pin_level(h, PWM_PIN), 200);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    char buf[64];
    fw_test_host_run_events_until(h, T0 + 17 * REST);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Missed scheduling of next hard pwm event");
    fw_test_host_free(h);
}

static void test_max_duration_still_applies_while_not_tripped(void **state)
{
    (void)state;
    struct fw_test_host *h = guard_host(1, 15000);
    send(h, "queue_digital_out oid=1 clock=1000000 on_ticks=1000");
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Missed scheduling of next digital out event");
    assert_int_equal(level_at(h, DOUT_PIN, T0 + 15000), 0);
    fw_test_host_free(h);

    h = guard_host(2, 15000);
    send(h, "queue_pwm_out oid=2 clock=1000000 value=500");
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Missed scheduling of next hard pwm event");
    fw_test_host_free(h);
}

static void test_unarmed_guard_does_nothing(void **state)
{
    (void)state;
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    send(h, "allocate_oids count=3;config_analog_in oid=0 pin=PA5;"
            "config_digital_out oid=1 pin=PA7 value=0 default_value=0 max_duration=0");
    send(h, "config_heater_guard oid=2 adc_oid=0 out_oid=1;finalize_config crc=1");
    h->adc_value[ADC_PIN] = OPEN_READING;
    char cmd[240];
    snprintf(cmd, sizeof(cmd),
#ifdef FW_ADC_LEGACY
             "query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=%d rest_ticks=%d"
             " min_value=0 max_value=65535 range_check_count=0",
#else
             "query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=%d rest_ticks=%d"
             " bytes_per_report=2 min_value=0 max_value=65535 range_check_count=0",
#endif
             T0, SAMPLE_TICKS, SAMPLES, REST);
    send(h, cmd);
    send(h, "queue_digital_out oid=1 clock=1000000 on_ticks=1");
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 5 * REST);
    assert_int_equal(fw_test_host_pin_level(h, DOUT_PIN), 1);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "heater_guard_tripped", &msg), -1);
    fw_test_host_free(h);
}

static void test_guard_on_something_other_than_an_output_is_refused(void **state)
{
    (void)state;
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    send(h, "allocate_oids count=3;config_analog_in oid=0 pin=PA5;config_analog_in oid=1 pin=PA6");
    send(h, "config_heater_guard oid=2 adc_oid=0 out_oid=1");
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)),
                        "Heater guard output is not an output");
    fw_test_host_free(h);
}

static void test_guard_messages_are_in_the_dictionary(void **state)
{
    (void)state;
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    const struct fs_msgformat *f;
    f = fs_msgproto_lookup(h->proto, "config_heater_guard oid=%c adc_oid=%c out_oid=%c");
    assert_true(f && !f->is_response);
    f = fs_msgproto_lookup(h->proto, "heater_guard_arm oid=%c min_value=%hu max_value=%hu");
    assert_true(f && !f->is_response);
    f = fs_msgproto_lookup(h->proto, "heater_guard_tripped oid=%c value=%hu clock=%u");
    assert_true(f && f->is_response);
    fw_test_host_free(h);
}

#else /* FW_HEATER_GUARD */

static void test_guard_less_firmware_offers_no_guard(void **state)
{
    (void)state;
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    assert_null(fs_msgproto_lookup(h->proto, "config_heater_guard oid=%c adc_oid=%c out_oid=%c"));
    assert_null(fs_msgproto_lookup(h->proto, "heater_guard_arm oid=%c min_value=%hu max_value=%hu"));
    assert_null(fs_msgproto_lookup(h->proto, "heater_guard_tripped oid=%c value=%hu clock=%u"));
    /* The outputs behave as before: an on output with max_duration still
     * shuts the MCU down when not refreshed. */
    fw_test_host_free(h);
    h = fw_test_host_new_outputs(15000);
    assert_non_null(h);
    send(h, "queue_digital_out oid=0 clock=1000000 on_ticks=1");
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

#endif /* FW_HEATER_GUARD */

int main(void)
{
    const struct CMUnitTest tests[] = {
#if FW_HEATER_GUARD
        cmocka_unit_test(test_open_sensor_turns_soft_pwm_heater_off_within_the_sample),
        cmocka_unit_test(test_trip_holds_digital_out_against_later_commands_until_rearmed),
        cmocka_unit_test(test_rearm_while_still_bad_trips_again),
        cmocka_unit_test(test_trip_holds_hardware_pwm_out_off),
        cmocka_unit_test(test_tripped_output_is_not_shut_down_by_its_max_duration),
        cmocka_unit_test(test_rearm_before_the_old_pwm_deadline_does_not_shut_down),
        cmocka_unit_test(test_max_duration_still_applies_while_not_tripped),
        cmocka_unit_test(test_unarmed_guard_does_nothing),
        cmocka_unit_test(test_guard_on_something_other_than_an_output_is_refused),
        cmocka_unit_test(test_guard_messages_are_in_the_dictionary),
#else
        cmocka_unit_test(test_guard_less_firmware_offers_no_guard),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
