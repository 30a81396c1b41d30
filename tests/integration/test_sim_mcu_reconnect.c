/* MCU_RECONNECT with the real firmware in the simulator. The engine half
 * (fs_mcu_reconnect on a sim_host): a toolboard whose wire is cut, that
 * shuts itself down when its heater is no longer refreshed, or that
 * restarts on its own, is brought back while the main board keeps running
 * untouched. The printer half (the G-code on the demo printer): the
 * toolboard's heater comes back off, the main board's axes and bed never
 * notice, and the extruder works again afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* snprintf */
#include <string.h> /* memset, strstr */

#include "core/error.h"             /* struct fs_error */
#include "fault/fault.h"            /* fs_faults_lookup */
#include "gcode/gcode.h"            /* fs_gcode_set_output */
#include "job/job.h"                /* fs_job_* */
#include "mcu/mcu.h"                /* fs_mcu_* */
#include "motion/toolhead.h"         /* fs_toolhead_get_position */
#include "printer/mcu_recovery.h"   /* fs_printer_mcu_recovery_register */
#include "printer/printer.h"        /* struct fs_printer */
#include "sim_host.h"               /* struct sim_host */
#include "sim_printer.h"            /* sim_printer_position */
#include "sim_session.h"            /* sim_session_* */
#include "thermal/heater.h"         /* fs_heater_get_temp */
#include "thermal/heaters.h"        /* fs_heaters_lookup */

#define CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg"
#define GCODE_NAME "prusaslicer-cube20.gcode"
#define CUT_AFTER_S 400.0 /* sim seconds into the print: layers in, heaters at target */

#define SAMPLE_COUNT 8
#define HEATER_OID 0
#define ADC_OID 1
#define STEPPER_OID 2
#define REPORTS_MAX 4096
#define ADC_PERIOD_S 0.3

struct board {
    struct fs_mcu *mcu;
    const char *name, *heater_pin;
    int heater_id;
    double report_times[REPORTS_MAX];
    int reports;
    int configured_runs;
    int resets, last_reset_lost;
    int heating; /* the test keeps the heater refreshed */
};

struct rig {
    struct sim_host host;
    struct board main, tool;
    int axis_id;
    int events[4][2]; /* [event][0 main, 1 tool] */
    char last_detail[2][128];
};

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    (void)eventtime;
    struct rig *r = arg;
    int which = m == r->tool.mcu;
    r->events[ev][which]++;
    snprintf(r->last_detail[which], sizeof(r->last_detail[which]), "%s", detail);
}

static void on_analog(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)msg;
    struct board *b = arg;
    if (b->reports < REPORTS_MAX)
        b->report_times[b->reports++] = receive_time;
}

static uint32_t clock_in(struct rig *r, struct fs_mcu *m, double seconds_ahead)
{
    double pt = fs_mcu_estimated_print_time(m, sim_host_now(&r->host)) + seconds_ahead;
    return (uint32_t)fs_mcu_print_time_to_clock(m, pt);
}

static struct rig *the_rig; /* for the configured callbacks' clocks */

static int start_analog(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct board *b = arg;
    b->configured_runs++;
    char text[256];
    snprintf(text, sizeof(text),
             "query_analog_in oid=%d clock=%u sample_ticks=%u sample_count=%d "
             "rest_ticks=%u bytes_per_report=2 min_value=%d max_value=%d "
             "range_check_count=4",
             ADC_OID, clock_in(the_rig, m, 0.2), fs_mcu_seconds_to_ticks(m, 0.0001),
             SAMPLE_COUNT, fs_mcu_seconds_to_ticks(m, ADC_PERIOD_S), 100 * SAMPLE_COUNT,
             4050 * SAMPLE_COUNT);
    return fs_mcu_send_text(m, text, err);
}

static void on_reset(void *arg, struct fs_mcu *m, int state_lost)
{
    (void)m;
    struct board *b = arg;
    b->resets++;
    b->last_reset_lost = state_lost;
    /* Like a heater module: its output is off on the MCU now, and the test
     * stops refreshing it until told again. */
    b->heating = 0;
}

static void configure_board(struct rig *r, struct board *b, int with_stepper)
{
    struct fs_error err = {{0}};
    struct fs_mcu *m = b->mcu;
    assert_int_equal(fs_mcu_create_oid(m), HEATER_OID);
    assert_int_equal(fs_mcu_create_oid(m), ADC_OID);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err,
        "config_digital_out oid=%d pin=%s value=0 default_value=0 max_duration=%u",
        HEATER_OID, b->heater_pin, fs_mcu_seconds_to_ticks(m, 2.0)), 0);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err,
        "set_digital_out_pwm_cycle oid=%d cycle_ticks=%u", HEATER_OID,
        fs_mcu_seconds_to_ticks(m, 0.1)), 0);
    assert_int_equal(fs_mcu_add_config_cmd(m, &err, "config_analog_in oid=%d pin=PA2",
                                           ADC_OID), 0);
    if (with_stepper) {
        assert_int_equal(fs_mcu_create_oid(m), STEPPER_OID);
        assert_int_equal(fs_mcu_add_config_cmd(m, &err,
            "config_stepper oid=%d step_pin=PB0 dir_pin=PB1 invert_step=0 "
            "step_pulse_ticks=%u", STEPPER_OID, fs_mcu_seconds_to_ticks(m, 0.000002)), 0);
    }
    assert_int_equal(fs_mcu_on_configured(m, start_analog, b, &err), 0);
    assert_int_equal(fs_mcu_on_reset(m, on_reset, b, &err), 0);
    assert_int_equal(fs_mcu_register_response(m,
        "analog_in_state oid=%c next_clock=%u values=%*s", ADC_OID, on_analog, b, &err), 0);
    (void)r;
}

static void build_rig(struct rig *r, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    the_rig = r;
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    assert_int_equal(sim_host_init(h, seed, NULL, &err), 0);
    struct sim_mcu_options main_opt, tool_opt;
    sim_mcu_options_default(&main_opt);
    sim_mcu_options_default(&tool_opt);
    main_opt.clock_error_ppb = 25000;
    tool_opt.clock_error_ppb = -110000;
    tool_opt.power_on_ns = 3000000;
    assert_int_equal(sim_host_add_mcu(h, "mcu", &main_opt, &err), 0);
    assert_int_equal(sim_host_add_mcu(h, "toolboard", &tool_opt, &err), 0);
    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    r->main.name = "mcu";
    r->tool.name = "toolboard";
    r->main.heater_pin = "PA1";
    r->tool.heater_pin = "PA1";
    r->main.heater_id = sim_world_add_heater(h->world, "mcu", "PA1", "PA2", &hp, &tp, &err);
    r->tool.heater_id =
        sim_world_add_heater(h->world, "toolboard", "PA1", "PA2", &hp, &tp, &err);
    assert_true(r->main.heater_id >= 0 && r->tool.heater_id >= 0);
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.steps_per_mm = 80.0;
    ap.initial_mm = 20.0;
    struct sim_axis_pins pins = {"PB0", "PB1", NULL, NULL};
    r->axis_id = sim_world_add_axis(h->world, "mcu", &pins, &ap, &err);
    assert_true(r->axis_id >= 0);

    if (sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("connect: %s", err.msg);
    r->main.mcu = sim_host_mcu(h, "mcu");
    r->tool.mcu = sim_host_mcu(h, "toolboard");
    fs_mcu_set_event_handler(r->main.mcu, on_event, r);
    fs_mcu_set_event_handler(r->tool.mcu, on_event, r);
    configure_board(r, &r->main, 1);
    configure_board(r, &r->tool, 0);
    if (fs_mcu_configure(r->main.mcu, 5.0, &err) < 0 ||
        fs_mcu_configure(r->tool.mcu, 5.0, &err) < 0)
        fail_msg("configure: %s", err.msg);
}

static void free_rig(struct rig *r) { sim_host_free(&r->host); }

/* Heater on for the next 0.6 s; sends to a lost MCU only queue up, and a
 * reconnecting one refuses them, as they would for a heater module. */
static int heater_refresh(struct rig *r, struct board *b)
{
    char text[128];
    snprintf(text, sizeof(text), "queue_digital_out oid=%d clock=%u on_ticks=%u", HEATER_OID,
             clock_in(r, b->mcu, 0.1), fs_mcu_seconds_to_ticks(b->mcu, 0.1));
    struct fs_error err = {{0}};
    return fs_mcu_send_text(b->mcu, text, &err);
}

/* Lets the world run, refreshing the heaters that are meant to be on
 * every 0.5 s (their max_duration is 2 s). */
static void run_refreshing(struct rig *r, double seconds)
{
    double end = sim_host_now(&r->host) + seconds;
    while (sim_host_now(&r->host) < end - 1e-9) {
        if (r->main.heating)
            assert_int_equal(heater_refresh(r, &r->main), 0);
        if (r->tool.heating)
            heater_refresh(r, &r->tool);
        double step = end - sim_host_now(&r->host);
        sim_host_run_for(&r->host, step < 0.5 ? step : 0.5);
    }
}

static void cut_toolboard(struct rig *r, int cut)
{
    assert_int_equal(sim_world_wire_set_cut(r->host.world, "toolboard", SIM_WIRE_TO_MCU, cut),
                     0);
    assert_int_equal(sim_world_wire_set_cut(r->host.world, "toolboard", SIM_WIRE_TO_HOST,
                                            cut), 0);
}

/* The largest gap between two analog reports after `from` (host time). */
static double max_report_gap(const struct board *b, double from)
{
    double gap = 0, last = -1;
    for (int i = 0; i < b->reports; i++) {
        if (b->report_times[i] < from)
            continue;
        if (last >= 0 && b->report_times[i] - last > gap)
            gap = b->report_times[i] - last;
        last = b->report_times[i];
    }
    return gap;
}

static int reports_since(const struct board *b, double from)
{
    int n = 0;
    for (int i = 0; i < b->reports; i++)
        n += b->report_times[i] >= from;
    return n;
}

static void assert_main_undisturbed(struct rig *r, double since, int64_t axis_steps)
{
    assert_int_equal(r->events[FS_MCU_EVENT_SHUTDOWN][0], 0);
    assert_int_equal(r->events[FS_MCU_EVENT_LOST][0], 0);
    assert_int_equal(r->events[FS_MCU_EVENT_RESTARTED][0], 0);
    assert_false(sim_world_mcu_is_shutdown(r->host.world, "mcu"));
    assert_false(fs_mcu_needs_reconnect(r->main.mcu));
    assert_int_equal(r->main.resets, 0);
    assert_int_equal(r->main.configured_runs, 1);
    /* Its reports went on at their own pace the whole time. */
    assert_true(max_report_gap(&r->main, since) < ADC_PERIOD_S + 0.05);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axis_id), axis_steps);
    /* Its heater stayed on as refreshed. */
    assert_int_equal(sim_world_pin_level(r->host.world, "mcu", "PA1"), 1);
}

/* The acceptance scenario's MCU half: heating on the toolboard, its wire
 * cut for 3 s, its heater's max_duration (2 s) runs out and its firmware
 * shuts down; the wire returns; reconnect brings it back configured with
 * the heater off, and a new heating command works. */
static void test_cut_toolboard_shut_down_by_its_watchdog_is_reconnected(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 11);
    r.main.heating = 1;
    r.tool.heating = 1;
    run_refreshing(&r, 2.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 1);
    double t0 = sim_host_now(&r.host);
    int64_t axis_steps = sim_world_axis_position_steps(r.host.world, r.axis_id);

    cut_toolboard(&r, 1);
    run_refreshing(&r, 3.0);
    assert_true(sim_world_mcu_is_shutdown(r.host.world, "toolboard"));
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 0);
    cut_toolboard(&r, 0);
    r.tool.heating = 0;
    run_refreshing(&r, 2.0);
    /* The host hears of the shutdown once the wire is back. */
    assert_int_equal(r.events[FS_MCU_EVENT_SHUTDOWN][1], 1);
    assert_string_equal(r.last_detail[1], "Missed scheduling of next digital out event");
    assert_true(fs_mcu_needs_reconnect(r.tool.mcu));

    struct fs_error err = {{0}};
    int tool_reports = r.tool.reports;
    if (fs_mcu_reconnect(r.tool.mcu, 5.0, &err) < 0)
        fail_msg("reconnect: %s", err.msg);
    assert_false(fs_mcu_needs_reconnect(r.tool.mcu));
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "toolboard"));
    assert_int_equal(r.tool.resets, 1);
    assert_int_equal(r.tool.last_reset_lost, 1);
    assert_int_equal(r.tool.configured_runs, 2);
    const struct fs_mcu_state *st = fs_mcu_state(r.tool.mcu);
    assert_true(st->is_config);
    assert_false(st->is_shutdown);
    assert_int_equal(st->crc, fs_mcu_config_crc(r.tool.mcu));
    /* Heater off on the MCU, and nothing turns it on by itself. */
    run_refreshing(&r, 1.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 0);
    assert_true(r.tool.reports >= tool_reports + 2);
    /* A new command heats again and the temperature rises. */
    double before_c = sim_world_heater_temp_c(r.host.world, r.tool.heater_id);
    r.tool.heating = 1;
    run_refreshing(&r, 5.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 1);
    assert_true(sim_world_heater_temp_c(r.host.world, r.tool.heater_id) > before_c + 5.0);
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "toolboard"));
    assert_int_equal(r.events[FS_MCU_EVENT_SHUTDOWN][1], 1);
    assert_main_undisturbed(&r, t0, axis_steps);
    free_rig(&r);
}

/* A short cut with nothing on the toolboard that needs refreshing: it keeps
 * its configuration, which is reused (same crc), and its reports resume. */
static void test_short_cut_keeps_configuration(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 12);
    r.main.heating = 1;
    run_refreshing(&r, 2.0);
    double t0 = sim_host_now(&r.host);
    int64_t axis_steps = sim_world_axis_position_steps(r.host.world, r.axis_id);
    cut_toolboard(&r, 1);
    run_refreshing(&r, 6.0);
    assert_int_equal(r.events[FS_MCU_EVENT_LOST][1], 1);
    assert_true(fs_mcu_is_lost(r.tool.mcu));
    cut_toolboard(&r, 0);
    double t_back = sim_host_now(&r.host);
    struct fs_error err = {{0}};
    if (fs_mcu_reconnect(r.tool.mcu, 5.0, &err) < 0)
        fail_msg("reconnect: %s", err.msg);
    assert_false(fs_mcu_is_lost(r.tool.mcu));
    assert_int_equal(r.tool.resets, 1);
    assert_int_equal(r.tool.last_reset_lost, 0);
    assert_int_equal(r.tool.configured_runs, 2);
    run_refreshing(&r, 2.0);
    assert_true(reports_since(&r.tool, t_back) >= 4);
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "toolboard"));
    assert_main_undisturbed(&r, t0, axis_steps);
    free_rig(&r);
}

/* While the wire is still cut a reconnect fails, naming the MCU, and
 * leaves it needing one; once the wire is back the next one succeeds. */
static void test_reconnect_fails_while_cut_then_succeeds(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 13);
    r.main.heating = 1;
    run_refreshing(&r, 1.0);
    double t0 = sim_host_now(&r.host);
    int64_t axis_steps = sim_world_axis_position_steps(r.host.world, r.axis_id);
    cut_toolboard(&r, 1);
    run_refreshing(&r, 6.0);
    assert_true(fs_mcu_needs_reconnect(r.tool.mcu));
    struct fs_error err = {{0}};
    assert_int_equal(fs_mcu_reconnect(r.tool.mcu, 1.0, &err), -1);
    assert_non_null(strstr(err.msg, "toolboard"));
    assert_true(fs_mcu_needs_reconnect(r.tool.mcu));
    /* Commands from objects are taken again (queued for the lost MCU). */
    assert_int_equal(heater_refresh(&r, &r.tool), 0);
    run_refreshing(&r, 1.0);
    cut_toolboard(&r, 0);
    if (fs_mcu_reconnect(r.tool.mcu, 5.0, &err) < 0)
        fail_msg("reconnect: %s", err.msg);
    assert_false(fs_mcu_needs_reconnect(r.tool.mcu));
    run_refreshing(&r, 1.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 0);
    assert_main_undisturbed(&r, t0, axis_steps);
    free_rig(&r);
}

/* The toolboard loses power for a moment and starts afresh: the host sees
 * a restart (it answers, but to a sequence it never saw), and a reconnect
 * configures it again. */
static void test_toolboard_power_cycle_is_reported_and_reconnected(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 14);
    r.main.heating = 1;
    r.tool.heating = 1;
    run_refreshing(&r, 2.0);
    double t0 = sim_host_now(&r.host);
    int64_t axis_steps = sim_world_axis_position_steps(r.host.world, r.axis_id);
    struct fs_error err = {{0}};
    assert_int_equal(sim_world_mcu_power_cycle(r.host.world, "toolboard", 200000000, &err), 0);
    run_refreshing(&r, 8.0);
    assert_int_equal(r.events[FS_MCU_EVENT_RESTARTED][1], 1);
    assert_true(fs_mcu_has_restarted(r.tool.mcu));
    assert_int_equal(r.events[FS_MCU_EVENT_LOST][1], 0);
    if (fs_mcu_reconnect(r.tool.mcu, 5.0, &err) < 0)
        fail_msg("reconnect: %s", err.msg);
    assert_false(fs_mcu_has_restarted(r.tool.mcu));
    assert_int_equal(r.tool.last_reset_lost, 1);
    assert_int_equal(r.tool.configured_runs, 2);
    double t_back = sim_host_now(&r.host);
    run_refreshing(&r, 1.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 0);
    assert_true(reports_since(&r.tool, t_back) >= 2);
    r.tool.heating = 1;
    run_refreshing(&r, 1.0);
    assert_int_equal(sim_world_pin_level(r.host.world, "toolboard", "PA1"), 1);
    assert_main_undisturbed(&r, t0, axis_steps);
    free_rig(&r);
}

/* The main board is the printer's time base: after it restarted its clock
 * starts again at 0, so only a firmware restart of the whole printer can
 * bring it back. */
static void test_restarted_primary_is_refused(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 15);
    run_refreshing(&r, 1.0);
    struct fs_error err = {{0}};
    assert_int_equal(sim_world_mcu_power_cycle(r.host.world, "mcu", 100000000, &err), 0);
    run_refreshing(&r, 3.0);
    assert_int_equal(fs_mcu_reconnect(r.main.mcu, 5.0, &err), -1);
    assert_non_null(strstr(err.msg, "mcu 'mcu' restarted"));
    assert_non_null(strstr(err.msg, "FIRMWARE_RESTART"));
    free_rig(&r);
}

static void test_versions_check(void **state)
{
    (void)state;
    static struct rig r;
    build_rig(&r, 16);
    struct fs_mcu *mcus[2] = {r.main.mcu, r.tool.mcu};
    char evidence[256];
    /* One firmware build on both boards. */
    assert_int_equal(fs_mcu_versions_check(mcus, 2, NULL, evidence, sizeof(evidence)), 0);
    assert_string_equal(evidence, "");
    assert_string_equal(fs_mcu_version(r.main.mcu), fs_mcu_version(r.tool.mcu));
    assert_true(fs_mcu_version(r.main.mcu)[0] != '\0');
    assert_int_equal(fs_mcu_versions_check(mcus, 2, fs_mcu_version(r.main.mcu), evidence,
                                           sizeof(evidence)), 0);
    /* A host that expects another failsoft build. */
    if (!strcmp(fs_mcu_app(r.main.mcu), "failsoft")) {
        assert_int_equal(fs_mcu_versions_check(mcus, 2, "v0.0-other", evidence,
                                               sizeof(evidence)), 1);
        assert_non_null(strstr(evidence, "mcu 'mcu'"));
        assert_non_null(strstr(evidence, "v0.0-other"));
    }
    free_rig(&r);
}

/* ---- the printer: MCU_RECONNECT on the demo printer ------------------- */

struct session {
    struct sim_session *s;
    struct fs_printer *p;
    char out[8192]; /* responses of the last command */
};

static void capture(void *arg, const char *text)
{
    struct session *t = arg;
    size_t n = strlen(t->out);
    snprintf(t->out + n, sizeof(t->out) - n, "%s\n", text);
}

static int run_line(struct session *t, const char *line, struct fs_error *err)
{
    t->out[0] = '\0';
    t->p = sim_session_printer(t->s);
    fs_gcode_set_output(t->p->gcode, capture, t);
    return sim_session_run_line(t->s, line, err);
}

static void must_run(struct session *t, const char *line)
{
    struct fs_error err = {{0}};
    if (run_line(t, line, &err) < 0)
        fail_msg("%s: %s", line, err.msg);
}

static void session_open(struct session *t)
{
    memset(t, 0, sizeof(*t));
    struct fs_error err = {{0}};
    t->s = sim_session_open(CONFIG, 21, NULL, &err);
    if (!t->s)
        fail_msg("%s", err.msg);
    t->p = sim_session_printer(t->s);
    /* Until the printer registers it itself. */
    if (!fs_gcode_is_registered(t->p->gcode, "MCU_RECONNECT") &&
        fs_printer_mcu_recovery_register(t->p, &err) < 0)
        fail_msg("%s", err.msg);
}

static struct sim_world *session_world(struct session *t)
{
    return sim_session_host(t->s)->world;
}

static void plant_position(struct session *t, double pos[4])
{
    sim_printer_position(sim_session_plant(t->s), session_world(t), pos);
}

static double heater_target(struct session *t, const char *name)
{
    struct fs_heater *h = fs_heaters_lookup(t->p->heaters, name);
    assert_non_null(h);
    double temp, target;
    fs_heater_get_temp(h, &temp, &target);
    return target;
}

static double heater_temp(struct session *t, const char *name)
{
    struct fs_heater *h = fs_heaters_lookup(t->p->heaters, name);
    assert_non_null(h);
    double temp, target;
    fs_heater_get_temp(h, &temp, &target);
    return temp;
}

/* Homed, at X60 Y40 Z10, extruder at 200 C and the bed (main board) at
 * 60 C. */
static void session_ready_to_print(struct session *t)
{
    must_run(t, "G28");
    must_run(t, "G1 X60 Y40 Z10 F6000");
    must_run(t, "M140 S60");
    must_run(t, "M109 S200");
    must_run(t, "M400");
}

/* What must hold after the toolboard came back: the main board was never
 * disturbed, the toolboard's heater is off and stays off, a new M109 heats
 * it, and the extruder moves the filament as the engine says. */
static void assert_toolboard_back(struct session *t, const double xyz_before[4])
{
    struct sim_world *w = session_world(t);
    assert_non_null(strstr(t->out, "mcu 'toolboard' reconnected; heaters on it are off: "
                                   "set their targets again"));
    assert_true(heater_target(t, "extruder") == 0.0);
    assert_true(heater_target(t, "heater_bed") == 60.0);
    sim_host_run_for(sim_session_host(t->s), 2.0);
    assert_int_equal(sim_world_pin_level(w, "toolboard", "PA1"), 0);
    assert_false(sim_world_mcu_is_shutdown(w, "toolboard"));
    assert_false(sim_world_mcu_is_shutdown(w, "mcu"));
    assert_false(t->p->is_shutdown);
    double pos[4];
    plant_position(t, pos);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(pos[i] - xyz_before[i]) < 1e-9);
    /* The bed is still regulated by the main board. */
    assert_true(fabs(heater_temp(t, "heater_bed") - 60.0) < 5.0);

    must_run(t, "M109 S200");
    assert_true(heater_temp(t, "extruder") >= 199.0);
    double e_before = pos[3];
    double th_before[4], th_after[4];
    fs_toolhead_get_position(t->p->toolhead, th_before);
    must_run(t, "G91");
    must_run(t, "G1 E10 F300");
    must_run(t, "G90");
    must_run(t, "M400");
    fs_toolhead_get_position(t->p->toolhead, th_after);
    plant_position(t, pos);
    assert_true(fabs((th_after[3] - th_before[3]) - 10.0) < 1e-6);
    assert_true(fabs((pos[3] - e_before) - (th_after[3] - th_before[3])) < 0.01);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(pos[i] - xyz_before[i]) < 1e-9);
}

static void test_printer_refuses_unknown_and_healthy_mcus(void **state)
{
    (void)state;
    static struct session t;
    session_open(&t);
    struct fs_error err = {{0}};
    assert_int_equal(run_line(&t, "MCU_RECONNECT MCU=toolbord", &err), -1);
    assert_non_null(strstr(err.msg, "unknown mcu 'toolbord'"));
    assert_non_null(strstr(err.msg, "toolboard"));
    assert_int_equal(run_line(&t, "MCU_RECONNECT MCU=mcu", &err), -1);
    assert_non_null(strstr(err.msg, "FORCE=1"));
    assert_int_equal(run_line(&t, "MCU_RECONNECT", &err), -1);
    assert_non_null(strstr(err.msg, "MCU="));
    sim_session_close(t.s);
}

/* Both boards run one firmware build: nothing to report; a host expecting
 * another failsoft version gets version_mismatch with the evidence. */
static void test_printer_versions_check_raises_version_mismatch(void **state)
{
    (void)state;
    static struct session t;
    session_open(&t);
    assert_int_equal(fs_printer_mcu_versions_check(t.p, NULL), 0);
    struct fs_mcu *main_mcu = fs_printer_mcu(t.p, "mcu");
    assert_int_equal(fs_printer_mcu_versions_check(t.p, fs_mcu_version(main_mcu)), 0);
    if (t.p->faults && !strcmp(fs_mcu_app(main_mcu), "failsoft")) {
        int before = fs_faults_record_count(t.p->faults);
        assert_int_equal(fs_printer_mcu_versions_check(t.p, "v0.0-other"), 1);
        const struct fs_fault_record *rec = NULL;
        for (int i = before; i < fs_faults_record_count(t.p->faults); i++)
            if (fs_faults_record_at(t.p->faults, i)->kind == FS_FAULT_VERSION_MISMATCH)
                rec = fs_faults_record_at(t.p->faults, i);
        assert_non_null(rec);
        /* The first MCU in the printer's order that differs. */
        char source[64];
        snprintf(source, sizeof(source), "mcu%s%s",
                 strcmp(fs_mcu_name(t.p->mcus[0]), "mcu") ? " " : "",
                 strcmp(fs_mcu_name(t.p->mcus[0]), "mcu") ? fs_mcu_name(t.p->mcus[0]) : "");
        assert_string_equal(rec->source, source);
        assert_non_null(strstr(rec->evidence, "v0.0-other"));
        assert_non_null(strstr(rec->evidence, fs_mcu_name(t.p->mcus[0])));
    }
    sim_session_close(t.s);
}

/* FORCE=1 on a toolboard that never left: it keeps its configuration, but
 * its heater's setpoint is dropped all the same, and the rest goes on. */
static void test_printer_forced_reconnect_drops_toolboard_setpoint(void **state)
{
    (void)state;
    static struct session t;
    session_open(&t);
    session_ready_to_print(&t);
    double before[4];
    plant_position(&t, before);
    must_run(&t, "MCU_RECONNECT MCU=toolboard FORCE=1");
    assert_toolboard_back(&t, before);
    sim_session_close(t.s);
}

static void cut_wire(struct session *t, int cut)
{
    struct sim_world *w = session_world(t);
    assert_int_equal(sim_world_wire_set_cut(w, "toolboard", SIM_WIRE_TO_MCU, cut), 0);
    assert_int_equal(sim_world_wire_set_cut(w, "toolboard", SIM_WIRE_TO_HOST, cut), 0);
}

/* A "log" policy for the toolboard's events, as a configuration may ask
 * of the fault module: noted, nothing stopped. */
struct logged_events {
    int count[4];
};

static void log_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                      double eventtime)
{
    (void)m;
    (void)detail;
    (void)eventtime;
    ((struct logged_events *)arg)->count[ev]++;
}

/* The printer's own handling of MCU events, unless log is given. With the
 * printer's, the test needs the events routed to the fault module rather
 * than to a shutdown: until the printer does that, it says so and skips. */
/* The toolboard's fault source, when the printer routes MCU events to the
 * fault module (NULL otherwise). */
static struct fs_fault_source *toolboard_fault(struct session *t)
{
    return t->p->faults ? fs_faults_lookup(t->p->faults, "mcu toolboard") : NULL;
}

static int printer_still_up(struct session *t, const struct logged_events *log)
{
    if (log || !t->p->is_shutdown)
        return 1;
    sim_session_close(t->s);
    skip(); /* the printer still shuts down on an MCU event */
    return 0;
}

/* The acceptance test's MCU part: the toolboard's link is cut with its
 * heater on, for longer than the heater's max_duration (5 s), so its own
 * watchdog switches the heater off (its firmware shuts down); the link
 * returns; MCU_RECONNECT brings it back. */
static void cut_toolboard_reconnects(struct logged_events *log)
{
    static struct session t;
    session_open(&t);
    if (log)
        fs_mcu_set_event_handler(fs_printer_mcu(t.p, "toolboard"), log_event, log);
    session_ready_to_print(&t);
    double before[4];
    plant_position(&t, before);
    cut_wire(&t, 1);
    sim_host_run_for(sim_session_host(t.s), 6.0);
    assert_true(sim_world_mcu_is_shutdown(session_world(&t), "toolboard"));
    assert_int_equal(sim_world_pin_level(session_world(&t), "toolboard", "PA1"), 0);
    cut_wire(&t, 0);
    sim_host_run_for(sim_session_host(t.s), 2.0);
    if (!printer_still_up(&t, log))
        return;
    if (log) {
        assert_int_equal(log->count[FS_MCU_EVENT_LOST], 1);
        assert_int_equal(log->count[FS_MCU_EVENT_SHUTDOWN], 1);
    }
    assert_true(fs_mcu_needs_reconnect(fs_printer_mcu(t.p, "toolboard")));
    assert_false(sim_world_mcu_is_shutdown(session_world(&t), "mcu"));
    struct fs_fault_source *src = log ? NULL : toolboard_fault(&t);
    if (src)
        assert_true(fs_fault_source_is_faulted(src));
    must_run(&t, "MCU_RECONNECT MCU=toolboard");
    assert_false(fs_mcu_needs_reconnect(fs_printer_mcu(t.p, "toolboard")));
    if (src)
        assert_false(fs_fault_source_is_faulted(src));
    assert_toolboard_back(&t, before);
    sim_session_close(t.s);
}

/* The toolboard restarts on its own (its supply dropped for 0.2 s). */
static void restarted_toolboard_reconnects(struct logged_events *log)
{
    static struct session t;
    session_open(&t);
    if (log)
        fs_mcu_set_event_handler(fs_printer_mcu(t.p, "toolboard"), log_event, log);
    session_ready_to_print(&t);
    double before[4];
    plant_position(&t, before);
    struct fs_error err = {{0}};
    assert_int_equal(sim_world_mcu_power_cycle(session_world(&t), "toolboard", 200000000,
                                               &err), 0);
    sim_host_run_for(sim_session_host(t.s), 8.0);
    if (!printer_still_up(&t, log))
        return;
    if (log)
        assert_int_equal(log->count[FS_MCU_EVENT_RESTARTED], 1);
    assert_true(fs_mcu_has_restarted(fs_printer_mcu(t.p, "toolboard")));
    struct fs_fault_source *src = log ? NULL : toolboard_fault(&t);
    if (src)
        assert_true(fs_fault_source_is_faulted(src));
    must_run(&t, "MCU_RECONNECT MCU=toolboard");
    if (src)
        assert_false(fs_fault_source_is_faulted(src));
    assert_toolboard_back(&t, before);
    sim_session_close(t.s);
}

/* The program loop (job.h's runner contract) until `until`, or until the
 * job has nothing left to run when until is 0. */
static void loop_until(struct session *t, double until)
{
    struct fs_reactor *reactor = &sim_session_host(t->s)->reactor;
    while (!t->p->is_shutdown) {
        double now = sim_session_now(t->s);
        if (until > 0 && now >= until)
            break;
        if (t->p->faults && fs_faults_has_work(t->p->faults)) {
            fs_faults_run_deferred(t->p->faults);
            continue;
        }
        if (fs_job_has_work(t->p->job)) {
            fs_job_run(t->p->job, 256);
            continue;
        }
        if (until <= 0)
            break;
        fs_reactor_pause(reactor, now + 0.05 < until ? now + 0.05 : until);
    }
}

/* The acceptance path end to end: mid-print the toolboard's link is cut
 * for longer than its heater's max_duration; the job pauses through the
 * fault module with the main board's axes held and homed; the link
 * returns; MCU_RECONNECT; RESUME heats the extruder again and the print
 * completes with the plant where the engine says. */
static void test_printer_mid_print_cut_pause_reconnect_resume_completes(void **state)
{
    (void)state;
    static struct session t;
    session_open(&t);
    if (!t.p->faults || !t.p->job) {
        sim_session_close(t.s);
        skip(); /* no fault module or job: nothing can pause */
        return;
    }
    fs_gcode_set_output(t.p->gcode, capture, &t);
    must_run(&t, "SDCARD_PRINT_FILE FILENAME=" GCODE_NAME);
    loop_until(&t, sim_session_now(t.s) + CUT_AFTER_S);
    struct fs_job *job = t.p->job;
    assert_int_equal(fs_job_state(job), FS_JOB_PRINTING);
    cut_wire(&t, 1);
    loop_until(&t, sim_session_now(t.s) + 8.0);
    assert_false(t.p->is_shutdown);
    assert_int_equal(fs_job_state(job), FS_JOB_PAUSED);
    assert_true(sim_world_mcu_is_shutdown(session_world(&t), "toolboard"));
    assert_int_equal(sim_world_pin_level(session_world(&t), "toolboard", "PA1"), 0);
    assert_false(sim_world_mcu_is_shutdown(session_world(&t), "mcu"));
    assert_int_equal(fs_toolhead_homed_axes(t.p->toolhead), 7);
    cut_wire(&t, 0);
    loop_until(&t, sim_session_now(t.s) + 2.0);
    double held[4];
    plant_position(&t, held);

    struct fs_error err = {{0}};
    assert_int_equal(run_line(&t, "RESUME", &err), -1);
    must_run(&t, "MCU_RECONNECT MCU=toolboard");
    assert_true(heater_target(&t, "extruder") == 0.0);
    double now_pos[4];
    plant_position(&t, now_pos);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(now_pos[i] - held[i]) < 1e-9);
    assert_int_equal(fs_toolhead_homed_axes(t.p->toolhead), 7);
    /* Steps queued for the extruder while the link was cut are gone; from
     * here on the plant's filament must follow the engine's. */
    double th0[4];
    fs_toolhead_get_position(t.p->toolhead, th0);
    t.out[0] = '\0';
    must_run(&t, "RESUME");
    loop_until(&t, 0);
    fs_toolhead_wait_moves(t.p->toolhead);
    struct fs_job_status js;
    fs_job_get_status(job, &js);
    if (js.state != FS_JOB_COMPLETE)
        fail_msg("job %s: %s", fs_job_state_name(js.state), js.message);
    double th[4], pl[4];
    fs_toolhead_get_position(t.p->toolhead, th);
    plant_position(&t, pl);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(th[i] - pl[i]) < 0.01);
    double engine_e = th[3] - th0[3], plant_e = pl[3] - now_pos[3];
    assert_true(engine_e > 10.0);
    assert_true(fabs(plant_e - engine_e) < 0.05);
    assert_false(sim_world_mcu_is_shutdown(session_world(&t), "toolboard"));
    assert_false(sim_world_mcu_is_shutdown(session_world(&t), "mcu"));
    sim_session_close(t.s);
}

static void test_printer_cut_toolboard_reconnects(void **state)
{
    (void)state;
    cut_toolboard_reconnects(NULL);
}

static void test_printer_cut_toolboard_reconnects_events_logged(void **state)
{
    (void)state;
    struct logged_events log = {{0}};
    cut_toolboard_reconnects(&log);
}

static void test_printer_restarted_toolboard_reconnects(void **state)
{
    (void)state;
    restarted_toolboard_reconnects(NULL);
}

static void test_printer_restarted_toolboard_reconnects_events_logged(void **state)
{
    (void)state;
    struct logged_events log = {{0}};
    restarted_toolboard_reconnects(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_toolboard_shut_down_by_its_watchdog_is_reconnected),
        cmocka_unit_test(test_short_cut_keeps_configuration),
        cmocka_unit_test(test_reconnect_fails_while_cut_then_succeeds),
        cmocka_unit_test(test_toolboard_power_cycle_is_reported_and_reconnected),
        cmocka_unit_test(test_restarted_primary_is_refused),
        cmocka_unit_test(test_versions_check),
        cmocka_unit_test(test_printer_refuses_unknown_and_healthy_mcus),
        cmocka_unit_test(test_printer_versions_check_raises_version_mismatch),
        cmocka_unit_test(test_printer_forced_reconnect_drops_toolboard_setpoint),
        cmocka_unit_test(test_printer_cut_toolboard_reconnects),
        cmocka_unit_test(test_printer_restarted_toolboard_reconnects),
        cmocka_unit_test(test_printer_cut_toolboard_reconnects_events_logged),
        cmocka_unit_test(test_printer_mid_print_cut_pause_reconnect_resume_completes),
        cmocka_unit_test(test_printer_restarted_toolboard_reconnects_events_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
