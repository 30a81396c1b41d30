/* Every message format PROTOCOL.md lists is in the sim firmware's data
 * dictionary, byte for byte, as a command or a response as appropriate:
 * that is what lets any host that speaks the protocol drive our firmware. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fw_test_host.h" /* fw_test_host_new, h->proto */
#include "mcu/msgproto.h" /* fs_msgproto_lookup */

static const char *const commands[] = {
    "identify offset=%u count=%c",
    "get_config",
    "allocate_oids count=%c",
    "finalize_config crc=%u",
    "get_clock",
    "get_uptime",
    "emergency_stop",
    "clear_shutdown",
    "reset",
    "config_reset",
    "config_stepper oid=%c step_pin=%c dir_pin=%c invert_step=%c step_pulse_ticks=%u",
    "queue_step oid=%c interval=%u count=%hu add=%hi",
    "set_next_step_dir oid=%c dir=%c",
    "reset_step_clock oid=%c clock=%u",
    "stepper_get_position oid=%c",
    "stepper_stop_on_trigger oid=%c trsync_oid=%c",
    "config_endstop oid=%c pin=%c pull_up=%c",
    "endstop_home oid=%c clock=%u sample_ticks=%u sample_count=%c rest_ticks=%u "
    "pin_value=%c trsync_oid=%c trigger_reason=%c",
    "endstop_query_state oid=%c",
    "config_trsync oid=%c",
    "trsync_start oid=%c report_clock=%u report_ticks=%u expire_reason=%c",
    "trsync_set_timeout oid=%c clock=%u",
    "trsync_trigger oid=%c reason=%c",
    "config_analog_in oid=%c pin=%u",
    "query_analog_in oid=%c clock=%u sample_ticks=%u sample_count=%c rest_ticks=%u "
    "bytes_per_report=%c min_value=%hu max_value=%hu range_check_count=%c",
    "config_digital_out oid=%c pin=%u value=%c default_value=%c max_duration=%u",
    "set_digital_out_pwm_cycle oid=%c cycle_ticks=%u",
    "queue_digital_out oid=%c clock=%u on_ticks=%u",
    "update_digital_out oid=%c value=%c",
    "set_digital_out pin=%u value=%c",
    "config_pwm_out oid=%c pin=%u cycle_ticks=%u value=%hu default_value=%hu max_duration=%u",
    "queue_pwm_out oid=%c clock=%u value=%hu",
};

static const char *const responses[] = {
    "identify_response offset=%u data=%.*s",
    "config is_config=%c crc=%u is_shutdown=%c move_count=%hu",
    "clock clock=%u",
    "uptime high=%u clock=%u",
    "shutdown clock=%u static_string_id=%hu",
    "is_shutdown static_string_id=%hu",
    "stats count=%u sum=%u sumsq=%u",
    "stepper_position oid=%c pos=%i",
    "endstop_state oid=%c homing=%c next_clock=%u pin_value=%c",
    "trsync_state oid=%c can_trigger=%c trigger_reason=%c clock=%u",
    "analog_in_state oid=%c next_clock=%u values=%*s",
};

static void test_every_protocol_format_is_in_the_dictionary(void **state)
{
    (void)state;
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct fs_msgformat *f = fs_msgproto_lookup(h->proto, commands[i]);
        if (!f || f->is_response)
            fail_msg("command missing from the dictionary: %s", commands[i]);
    }
    for (size_t i = 0; i < sizeof(responses) / sizeof(responses[0]); i++) {
        const struct fs_msgformat *f = fs_msgproto_lookup(h->proto, responses[i]);
        if (!f || !f->is_response)
            fail_msg("response missing from the dictionary: %s", responses[i]);
    }
    fw_test_host_free(h);
}

static void test_dictionary_declares_the_constants_a_host_needs(void **state)
{
    (void)state;
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    const char *names[] = {"CLOCK_FREQ", "MCU", "ADC_MAX", "PWM_MAX", "STATS_SUMSQ_BASE",
                           "RECEIVE_WINDOW"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!fs_msgproto_constant_str(h->proto, names[i]))
            fail_msg("constant missing from the dictionary: %s", names[i]);
    assert_string_equal(fs_msgproto_app(h->proto), "failsoft");
    assert_true(fs_msgproto_version(h->proto)[0] != '\0');
    assert_true(fs_msgproto_build_versions(h->proto)[0] != '\0');
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_protocol_format_is_in_the_dictionary),
        cmocka_unit_test(test_dictionary_declares_the_constants_a_host_needs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
