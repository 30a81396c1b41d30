/* Two MCUs (a main board and a toolboard) in the simulator, driven by the
 * engine's MCU layer over the reliable link, with the real firmware in the
 * loop: what a person bringing up a printer would check first. Heater and
 * thermistor on the toolboard, an axis with an endstop on the main board. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* log */
#include <stdio.h>  /* snprintf, open_memstream */
#include <stdlib.h> /* free */
#include <string.h> /* strcmp */

#include "core/error.h" /* struct fs_error */
#include "mcu/mcu.h"    /* fs_mcu_* */
#include "sim_host.h"   /* struct sim_host */

#define SAMPLE_COUNT 8
#define HEATER_OID 0
#define ADC_OID 1
#define STEPPER_OID 0
#define ENABLE_OID 1
#define ENDSTOP_OID 2
#define TRSYNC_OID 3
#define TRIGGER_ENDSTOP 1
#define TRIGGER_TIMEOUT 4
#define STEPS_PER_MM 80.0
#define AXIS_START_MM 20.0

struct rig {
    struct sim_host host;
    struct fs_mcu *main, *tool;
    int heater_id, axis_id;
    /* Analog reports from the toolboard. */
    uint32_t adc_sums[4096];
    int adc_count;
    /* Shutdowns reported by the MCU layer. */
    char shutdown_mcu[32], shutdown_reason[128];
    int shutdowns;
    /* trsync reports from the main board. */
    int trsync_reports, trsync_triggered_reason;
};

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    (void)eventtime;
    struct rig *r = arg;
    if (ev != FS_MCU_EVENT_SHUTDOWN)
        return;
    r->shutdowns++;
    snprintf(r->shutdown_mcu, sizeof(r->shutdown_mcu), "%s", fs_mcu_name(m));
    snprintf(r->shutdown_reason, sizeof(r->shutdown_reason), "%s", detail);
}

static void on_analog(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct rig *r = arg;
    int i = fs_msgformat_param_index(msg->format, "values");
    for (int64_t b = 0; b + 1 < msg->values[i]; b += 2) {
        if (r->adc_count < (int)(sizeof(r->adc_sums) / sizeof(r->adc_sums[0])))
            r->adc_sums[r->adc_count++] =
                (uint32_t)(msg->data[i][b] | (msg->data[i][b + 1] << 8));
    }
}

static void on_trsync(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct rig *r = arg;
    r->trsync_reports++;
    if (!fs_msg_get(msg, "can_trigger", 1))
        r->trsync_triggered_reason = (int)fs_msg_get(msg, "trigger_reason", 0);
}

static uint32_t clock_in(struct fs_mcu *m, double seconds_ahead, const struct rig *r)
{
    double pt = fs_mcu_estimated_print_time(m, sim_host_now(&r->host)) + seconds_ahead;
    return (uint32_t)fs_mcu_print_time_to_clock(m, pt);
}

static void send(struct fs_mcu *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void send(struct fs_mcu *m, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct fs_error err = {{0}};
    if (fs_mcu_send_text(m, text, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
}

static int start_analog(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct rig *r = arg;
    char text[256];
    /* 8 samples 100 us apart every 0.3 s; sums outside 100..4050 per
     * sample for 4 reports in a row shut the MCU down. */
    snprintf(text, sizeof(text),
             "query_analog_in oid=%d clock=%u sample_ticks=%u sample_count=%d "
             "rest_ticks=%u bytes_per_report=2 min_value=%d max_value=%d "
             "range_check_count=4",
             ADC_OID, clock_in(m, 0.2, r), fs_mcu_seconds_to_ticks(m, 0.0001), SAMPLE_COUNT,
             fs_mcu_seconds_to_ticks(m, 0.3), 100 * SAMPLE_COUNT, 4050 * SAMPLE_COUNT);
    return fs_mcu_send_text(m, text, err);
}

/* The main board's objects; pull_up differs only to make a second,
 * different configuration. */
static void add_main_board_config(struct fs_mcu *m, int endstop_pull_up)
{
    struct fs_error err = {{0}};
    for (int i = 0; i < 4; i++)
        fs_mcu_create_oid(m);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err,
        "config_stepper oid=%d step_pin=PB0 dir_pin=PB1 invert_step=0 step_pulse_ticks=%u",
        STEPPER_OID, fs_mcu_seconds_to_ticks(m, 0.000002)), 0);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err,
        "config_digital_out oid=%d pin=PB2 value=0 default_value=1 max_duration=0",
        ENABLE_OID), 0);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err, "config_endstop oid=%d pin=PB3 pull_up=%d",
                                           ENDSTOP_OID, endstop_pull_up), 0);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err, "config_trsync oid=%d", TRSYNC_OID), 0);
}

static void build_rig(struct rig *r, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    assert_int_equal(sim_host_init(h, seed, NULL, &err), 0);
    struct sim_mcu_options main_opt, tool_opt;
    sim_mcu_options_default(&main_opt);
    sim_mcu_options_default(&tool_opt);
    main_opt.clock_error_ppb = 25000;   /* +25 ppm */
    tool_opt.clock_error_ppb = -110000; /* -110 ppm */
    tool_opt.power_on_ns = 3000000;
    assert_int_equal(sim_host_add_mcu(h, "mcu", &main_opt, &err), 0);
    assert_int_equal(sim_host_add_mcu(h, "toolboard", &tool_opt, &err), 0);

    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    r->heater_id = sim_world_add_heater(h->world, "toolboard", "PA1", "PA2", &hp, &tp, &err);
    assert_true(r->heater_id >= 0);
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.steps_per_mm = STEPS_PER_MM;
    ap.initial_mm = AXIS_START_MM;
    struct sim_axis_pins pins = {"PB0", "PB1", "PB2", "PB3"};
    r->axis_id = sim_world_add_axis(h->world, "mcu", &pins, &ap, &err);
    assert_true(r->axis_id >= 0);

    if (sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("connect: %s", err.msg);
    r->main = sim_host_mcu(h, "mcu");
    r->tool = sim_host_mcu(h, "toolboard");
    fs_mcu_set_event_handler(r->main, on_event, r);
    fs_mcu_set_event_handler(r->tool, on_event, r);

    struct fs_mcu *t = r->tool, *m = r->main;
    assert_int_equal(fs_mcu_create_oid(t), HEATER_OID);
    assert_int_equal(fs_mcu_create_oid(t), ADC_OID);
    assert_int_equal(fs_mcu_add_config_cmd(t, &err,
        "config_digital_out oid=%d pin=PA1 value=0 default_value=0 max_duration=%u",
        HEATER_OID, fs_mcu_seconds_to_ticks(t, 2.0)), 0);
    assert_int_equal(fs_mcu_add_config_cmd(t, &err,
        "set_digital_out_pwm_cycle oid=%d cycle_ticks=%u", HEATER_OID,
        fs_mcu_seconds_to_ticks(t, 0.1)), 0);
    assert_int_equal(fs_mcu_add_config_cmd(t, &err, "config_analog_in oid=%d pin=PA2",
                                           ADC_OID), 0);
    assert_int_equal(fs_mcu_on_configured(t, start_analog, r, &err), 0);

    add_main_board_config(m, 0);

    assert_int_equal(fs_mcu_register_response(t,
        "analog_in_state oid=%c next_clock=%u values=%*s", ADC_OID, on_analog, r, &err), 0);
    assert_int_equal(fs_mcu_register_response(m,
        "trsync_state oid=%c can_trigger=%c trigger_reason=%c clock=%u", TRSYNC_OID,
        on_trsync, r, &err), 0);
    if (fs_mcu_configure(m, 5.0, &err) < 0 || fs_mcu_configure(t, 5.0, &err) < 0)
        fail_msg("configure: %s", err.msg);
}

static void free_rig(struct rig *r) { sim_host_free(&r->host); }

/* Temperature from an ADC sum, inverting the thermistor divider and the
 * beta model, as the engine's sensor code will. */
static double sum_to_celsius(uint32_t sum)
{
    double v = (double)sum / (SAMPLE_COUNT * 4095.0);
    double r = 4700.0 * v / (1.0 - v);
    double inv_t = 1.0 / 298.15 + log(r / 100000.0) / 3950.0;
    return 1.0 / inv_t - 273.15;
}

static void heater_on(struct rig *r)
{
    send(r->tool, "queue_digital_out oid=%d clock=%u on_ticks=%u", HEATER_OID,
         clock_in(r->tool, 0.1, r), fs_mcu_seconds_to_ticks(r->tool, 0.1));
}

static void test_heater_on_raises_temperature_in_analog_reports(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 1);
    sim_host_run_for(&r.host, 2.0);
    assert_true(r.adc_count >= 5);
    double start_c = sum_to_celsius(r.adc_sums[r.adc_count - 1]);
    assert_true(fabs(start_c - 20.0) < 1.0);

    /* Keep the heater on, refreshed well inside its max_duration. */
    for (int i = 0; i < 20; i++) {
        heater_on(&r);
        sim_host_run_for(&r.host, 1.0);
    }
    double plant_c = sim_world_heater_temp_c(r.host.world, r.heater_id);
    double reported_c = sum_to_celsius(r.adc_sums[r.adc_count - 1]);
    assert_true(plant_c > start_c + 30.0);
    /* The last report is at most 0.3 s old; the hotend rises < 10 C/s. */
    assert_true(fabs(reported_c - plant_c) < 4.0);
    assert_int_equal(r.shutdowns, 0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 1);
    free_rig(&r);
}

static void test_unrefreshed_heater_shuts_down_only_its_mcu(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 2);
    sim_host_run_for(&r.host, 1.0);
    heater_on(&r);
    sim_host_run_for(&r.host, 1.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 1);
    /* No refresh: max_duration (2 s) runs out. */
    sim_host_run_for(&r.host, 3.0);
    assert_int_equal(r.shutdowns, 1);
    assert_string_equal(r.shutdown_mcu, "toolboard");
    assert_string_equal(r.shutdown_reason, "Missed scheduling of next digital out event");
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 0);
    assert_true(sim_world_mcu_is_shutdown(r.host.world, "toolboard"));

    /* The main board is untouched and still answers. */
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "mcu"));
    struct fs_mcu_reply reply;
    struct fs_error err = {{0}};
    assert_int_equal(fs_mcu_query(r.main, "get_config",
        "config is_config=%c crc=%u is_shutdown=%c move_count=%hu", -1, &reply, 1.0, &err), 0);
    assert_int_equal(fs_msg_get(&reply.msg, "is_shutdown", 1), 0);
    assert_int_equal(fs_msg_get(&reply.msg, "is_config", 0), 1);
    assert_false(fs_mcu_state(r.main)->is_shutdown);
    free_rig(&r);
}

static void test_reading_out_of_range_shuts_down_with_adc_out_of_range(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 3);
    sim_host_run_for(&r.host, 1.0);
    assert_int_equal(r.shutdowns, 0);
    sim_world_thermistor(r.host.world, r.heater_id)->fault = PLANT_SENSOR_OPEN;
    /* Four reports 0.3 s apart. */
    sim_host_run_for(&r.host, 2.0);
    assert_int_equal(r.shutdowns, 1);
    assert_string_equal(r.shutdown_mcu, "toolboard");
    assert_string_equal(r.shutdown_reason, "ADC out of range");
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "mcu"));
    free_rig(&r);
}

static int64_t read_position(struct rig *r)
{
    struct fs_mcu_reply reply;
    struct fs_error err = {{0}};
    char text[64];
    snprintf(text, sizeof(text), "stepper_get_position oid=%d", STEPPER_OID);
    if (fs_mcu_query(r->main, text, "stepper_position oid=%c pos=%i", STEPPER_OID, &reply,
                     1.0, &err) < 0)
        fail_msg("%s", err.msg);
    return fs_msg_get(&reply.msg, "pos", 0);
}

static void test_queued_steps_read_back_exact_position(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 4);
    struct fs_mcu *m = r.main;
    uint32_t interval = fs_mcu_seconds_to_ticks(m, 0.0002);
    send(m, "reset_step_clock oid=%d clock=%u", STEPPER_OID, clock_in(m, 0.2, &r));
    send(m, "set_next_step_dir oid=%d dir=1", STEPPER_OID);
    send(m, "queue_step oid=%d interval=%u count=1000 add=0", STEPPER_OID, interval);
    send(m, "queue_step oid=%d interval=%u count=500 add=-20", STEPPER_OID, interval);
    send(m, "set_next_step_dir oid=%d dir=0", STEPPER_OID);
    send(m, "queue_step oid=%d interval=%u count=321 add=7", STEPPER_OID, interval);
    sim_host_run_for(&r.host, 2.0);
    int64_t expected = 1000 + 500 - 321;
    assert_int_equal(read_position(&r), expected);
    assert_int_equal(sim_world_axis_position_steps(r.host.world, r.axis_id),
                     (int64_t)(AXIS_START_MM * STEPS_PER_MM) + expected);
    assert_int_equal(sim_world_axis_step_count(r.host.world, r.axis_id), 1000 + 500 + 321);
    assert_int_equal(r.shutdowns, 0);
    free_rig(&r);
}

static void test_homing_stops_the_axis_at_its_endstop_through_trsync(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 5);
    struct fs_mcu *m = r.main;
    uint32_t start = clock_in(m, 0.3, &r);
    uint32_t rest = fs_mcu_seconds_to_ticks(m, 0.000025);
    send(m, "trsync_start oid=%d report_clock=%u report_ticks=%u expire_reason=%d", TRSYNC_OID,
         start, fs_mcu_seconds_to_ticks(m, 0.1), TRIGGER_TIMEOUT);
    send(m, "stepper_stop_on_trigger oid=%d trsync_oid=%d", STEPPER_OID, TRSYNC_OID);
    send(m, "trsync_set_timeout oid=%d clock=%u", TRSYNC_OID,
         start + fs_mcu_seconds_to_ticks(m, 20.0));
    send(m, "endstop_home oid=%d clock=%u sample_ticks=%u sample_count=4 rest_ticks=%u "
         "pin_value=1 trsync_oid=%d trigger_reason=%d", ENDSTOP_OID, start,
         fs_mcu_seconds_to_ticks(m, 0.000015), rest, TRSYNC_OID, TRIGGER_ENDSTOP);
    /* Towards the switch at 0 mm from 20 mm: 30 mm of travel at 25 mm/s. */
    send(m, "reset_step_clock oid=%d clock=%u", STEPPER_OID, start);
    send(m, "set_next_step_dir oid=%d dir=0", STEPPER_OID);
    uint32_t interval = fs_mcu_seconds_to_ticks(m, 1.0 / (25.0 * STEPS_PER_MM));
    for (int i = 0; i < 4; i++)
        send(m, "queue_step oid=%d interval=%u count=600 add=0", STEPPER_OID, interval);
    sim_host_run_for(&r.host, 3.0);

    assert_int_equal(r.trsync_triggered_reason, TRIGGER_ENDSTOP);
    int64_t pos = read_position(&r);
    int64_t plant_steps = sim_world_axis_position_steps(r.host.world, r.axis_id);
    /* The firmware's count and the axis agree exactly. */
    assert_int_equal(plant_steps, (int64_t)(AXIS_START_MM * STEPS_PER_MM) + pos);
    /* Stopped at the switch: confirming 4 samples 15 us apart costs less
     * than one step at 25 mm/s. */
    assert_true(plant_steps <= 0 && plant_steps >= -2);
    sim_host_run_for(&r.host, 1.0);
    assert_int_equal(sim_world_axis_position_steps(r.host.world, r.axis_id), plant_steps);
    assert_int_equal(r.shutdowns, 0);
    free_rig(&r);
}

/* The host restarts while the MCU keeps running: a new fs_mcu on the same
 * wire adopts the MCU's sequence, finds it configured with the same CRC and
 * reuses it (the stepper keeps its position); a host with a different
 * configuration is refused with both CRCs named. */
static struct fs_mcu *restart_host_side(struct rig *r, int endstop_pull_up,
                                        struct fs_error *err)
{
    struct sim_host *h = &r->host;
    fs_mcu_free(h->mcus[0]);
    h->mcus[0] = r->main = NULL;
    struct fs_mcu *m = fs_mcu_new(&h->reactor, sim_world_transport(h->world, "mcu"), "mcu",
                                  NULL, err);
    assert_non_null(m);
    h->mcus[0] = r->main = m;
    if (fs_mcu_connect(m, 5.0, err) < 0)
        fail_msg("reconnect: %s", err->msg);
    assert_int_equal(fs_mcu_state(m)->is_config, 1);
    add_main_board_config(m, endstop_pull_up);
    return m;
}

static void test_host_restart_reuses_a_matching_configuration_only(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 6);
    uint32_t crc = fs_mcu_config_crc(r.main);
    send(r.main, "reset_step_clock oid=%d clock=%u", STEPPER_OID, clock_in(r.main, 0.2, &r));
    send(r.main, "set_next_step_dir oid=%d dir=1", STEPPER_OID);
    send(r.main, "queue_step oid=%d interval=%u count=77 add=0", STEPPER_OID,
         fs_mcu_seconds_to_ticks(r.main, 0.001));
    sim_host_run_for(&r.host, 1.0);
    assert_int_equal(read_position(&r), 77);

    struct fs_error err = {{0}};
    struct fs_mcu *m = restart_host_side(&r, 0, &err);
    if (fs_mcu_configure(m, 5.0, &err) < 0)
        fail_msg("reuse: %s", err.msg);
    assert_int_equal(fs_mcu_config_crc(m), crc);
    assert_int_equal(read_position(&r), 77);
    assert_false(fs_mcu_state(m)->is_shutdown);

    m = restart_host_side(&r, 1, &err);
    assert_int_equal(fs_mcu_configure(m, 5.0, &err), -1);
    assert_non_null(strstr(err.msg, "mcu 'mcu'"));
    assert_non_null(strstr(err.msg, "another configuration"));
    char expected[32];
    snprintf(expected, sizeof(expected), "crc %u", crc);
    assert_non_null(strstr(err.msg, expected));
    assert_int_equal(read_position(&r), 77);
    free_rig(&r);
}

/* One whole session: connect, configure, heat, step. Returns its trace. */
static char *traced_session(uint64_t seed, size_t *len, uint64_t *hash)
{
    static struct rig r;
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    memset(&r, 0, sizeof(r));
    struct fs_error err = {{0}};
    assert_int_equal(sim_host_init(&r.host, seed, NULL, &err), 0);
    sim_world_trace_start(r.host.world, out);
    sim_host_free(&r.host);
    build_rig(&r, seed);
    sim_world_trace_start(r.host.world, out);
    heater_on(&r);
    send(r.main, "reset_step_clock oid=%d clock=%u", STEPPER_OID, clock_in(r.main, 0.2, &r));
    send(r.main, "queue_step oid=%d interval=%u count=400 add=3", STEPPER_OID,
         fs_mcu_seconds_to_ticks(r.main, 0.0005));
    sim_host_run_for(&r.host, 3.0);
    sim_world_trace_stop(r.host.world);
    *hash = sim_world_trace_hash(r.host.world);
    free_rig(&r);
    fclose(out);
    return buf;
}

static void test_same_seed_gives_byte_identical_trace(void **state)
{
    (void)state;
    size_t len_a, len_b;
    uint64_t hash_a, hash_b;
    char *a = traced_session(42, &len_a, &hash_a);
    char *b = traced_session(42, &len_b, &hash_b);
    assert_true(len_a > 10000);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);
    assert_int_equal(hash_a, hash_b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heater_on_raises_temperature_in_analog_reports),
        cmocka_unit_test(test_unrefreshed_heater_shuts_down_only_its_mcu),
        cmocka_unit_test(test_reading_out_of_range_shuts_down_with_adc_out_of_range),
        cmocka_unit_test(test_queued_steps_read_back_exact_position),
        cmocka_unit_test(test_homing_stops_the_axis_at_its_endstop_through_trsync),
        cmocka_unit_test(test_host_restart_reuses_a_matching_configuration_only),
        cmocka_unit_test(test_same_seed_gives_byte_identical_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
