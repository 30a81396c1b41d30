/* Analog inputs on the sim MCU: what the host receives in analog_in_state
 * (oversampled sums, batching, next_clock), and the MCU's "ADC out of
 * range" shutdown after range_check_count bad sums in a row. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "fw_test_host.h" /* struct fw_test_host, fw_test_host_* */

#define ADC_PIN 5 /* PA5 */
#define T0 1000000
#define REST 10000

/* Starts sampling at T0: 4 samples 100 ticks apart every REST ticks. */
static struct fw_test_host *adc_host(int sums_per_report, int min, int max, int range_check_count)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=1;config_analog_in oid=0 pin=PA5;"
                                          "finalize_config crc=1"),
                     0);
    char cmd[240];
#ifdef FW_ADC_LEGACY
    (void)sums_per_report;
    snprintf(cmd, sizeof(cmd),
             "query_analog_in oid=0 clock=%d sample_ticks=100 sample_count=4 rest_ticks=%d"
             " min_value=%d max_value=%d range_check_count=%d",
             T0, REST, min, max, range_check_count);
#else
    snprintf(cmd, sizeof(cmd),
             "query_analog_in oid=0 clock=%d sample_ticks=100 sample_count=4 rest_ticks=%d"
             " bytes_per_report=%d min_value=%d max_value=%d range_check_count=%d",
             T0, REST, 2 * sums_per_report, min, max, range_check_count);
#endif
    assert_int_equal(fw_test_host_send(h, cmd), 0);
    fw_test_host_mark(h);
    return h;
}

/* The sums of the next report, oldest first; returns how many. */
static int next_report(struct fw_test_host *h, uint32_t *next_clock, int *sums, int cap)
{
    struct fs_msg msg;
    if (fw_test_host_find(h, "analog_in_state", &msg) < 0)
        return -1;
    assert_int_equal(fs_msg_get(&msg, "oid", -1), 0);
    *next_clock = (uint32_t)fs_msg_get(&msg, "next_clock", -1);
#ifdef FW_ADC_LEGACY
    sums[0] = (int)fs_msg_get(&msg, "value", -1);
    return 1;
#else
    int i = msg.format->param_count - 1; /* values is the last parameter */
    int n = (int)msg.values[i] / 2;
    assert_true(n <= cap);
    for (int k = 0; k < n; k++)
        sums[k] = msg.data[i][2 * k] | msg.data[i][2 * k + 1] << 8;
    return n;
#endif
}

static int legacy(void)
{
#ifdef FW_ADC_LEGACY
    return 1;
#else
    return 0;
#endif
}

static void test_reports_carry_oversampled_sums_in_order(void **state)
{
    struct fw_test_host *h = adc_host(3, 0, 0xffff, 0);
    const int reading[3] = {1000, 1001, 4095};
    for (int c = 0; c < 3; c++) {
        h->adc_value[ADC_PIN] = reading[c];
        fw_test_host_run_events_until(h, T0 + c * REST + 5000);
    }
    fw_test_host_run_events_until(h, T0 + 3 * REST - 1);

    uint32_t next_clock;
    int sums[24];
    if (legacy()) {
        for (int c = 0; c < 3; c++) {
            assert_int_equal(next_report(h, &next_clock, sums, 24), 1);
            assert_int_equal(sums[0], 4 * reading[c]);
            assert_int_equal(next_clock, T0 + (c + 1) * REST);
        }
    } else {
        assert_int_equal(next_report(h, &next_clock, sums, 24), 3);
        for (int c = 0; c < 3; c++)
            assert_int_equal(sums[c], 4 * reading[c]);
        /* Dates the newest sum: its cycle began one rest before. */
        assert_int_equal(next_clock, T0 + 3 * REST);
    }
    assert_int_equal(next_report(h, &next_clock, sums, 24), -1);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_out_of_range_shuts_down_after_range_check_count_sums(void **state)
{
    struct fw_test_host *h = adc_host(1, 400, 12000, 3);
    h->adc_value[ADC_PIN] = 1000;
    fw_test_host_run_events_until(h, T0 + 2 * REST - 1);
    /* Two bad sums, then a good one: the count starts over. */
    h->adc_value[ADC_PIN] = 50;
    fw_test_host_run_events_until(h, T0 + 4 * REST - 1);
    h->adc_value[ADC_PIN] = 1000;
    fw_test_host_run_events_until(h, T0 + 5 * REST - 1);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));

    h->adc_value[ADC_PIN] = 4000; /* sum 16000 > 12000 */
    fw_test_host_run_events_until(h, T0 + 6 * REST + 500);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_run_events_until(h, T0 + 7 * REST + 500);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));

    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)), "ADC out of range");
    /* The offending sum still reaches the host, and reports go on. */
    uint32_t next_clock;
    int sums[24];
    fw_test_host_mark(h);
    h->cursor = 0;
    int last = -1;
    uint32_t last_clock = 0;
    while (next_report(h, &next_clock, sums, 24) == 1) {
        last = sums[0];
        last_clock = next_clock;
    }
    assert_int_equal(last, 16000);
    assert_int_equal(last_clock, T0 + 8 * REST);
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 10 * REST + 500);
    assert_int_equal(next_report(h, &next_clock, sums, 24), 1);
    fw_test_host_free(h);
}

static void test_range_check_count_zero_shuts_down_on_the_first_bad_sum(void **state)
{
    struct fw_test_host *h = adc_host(1, 400, 12000, 0);
    h->adc_value[ADC_PIN] = 10;
    fw_test_host_run_events_until(h, T0 + 500);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    char buf[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, buf, sizeof(buf)), "ADC out of range");
    fw_test_host_free(h);
}

static void test_full_range_never_shuts_down(void **state)
{
    struct fw_test_host *h = adc_host(1, 0, 0xffff, 0);
    h->adc_value[ADC_PIN] = 0;
    fw_test_host_run_events_until(h, T0 + 3 * REST);
    h->adc_value[ADC_PIN] = 4095;
    fw_test_host_run_events_until(h, T0 + 6 * REST);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

static void test_rest_ticks_zero_stops_sampling(void **state)
{
    struct fw_test_host *h = adc_host(1, 0, 0xffff, 0);
    fw_test_host_run_events_until(h, T0 + 2 * REST - 1);
    assert_int_equal(fw_test_host_send(h, legacy() ? "query_analog_in oid=0 clock=0 sample_ticks=0"
                                                     " sample_count=0 rest_ticks=0 min_value=0"
                                                     " max_value=0 range_check_count=0"
                                                   : "query_analog_in oid=0 clock=0 sample_ticks=0"
                                                     " sample_count=4 rest_ticks=0"
                                                     " bytes_per_report=2 min_value=0"
                                                     " max_value=0 range_check_count=0"),
                     0);
    fw_test_host_mark(h);
    fw_test_host_run_events_until(h, T0 + 10 * REST);
    uint32_t next_clock;
    int sums[24];
    assert_int_equal(next_report(h, &next_clock, sums, 24), -1);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_carry_oversampled_sums_in_order),
        cmocka_unit_test(test_out_of_range_shuts_down_after_range_check_count_sums),
        cmocka_unit_test(test_range_check_count_zero_shuts_down_on_the_first_bad_sum),
        cmocka_unit_test(test_full_range_never_shuts_down),
        cmocka_unit_test(test_rest_ticks_zero_stops_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
