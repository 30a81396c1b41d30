/* Raising faults: each action does exactly what FAULTS.md says through the
 * printer's hooks (immediate ones inside the raise, the rest deferred and
 * run most severe first), duplicates fold, faults latch until cleared (and a
 * part that still reads bad refuses), repeats escalate, positions are
 * reported per axis. The printer is a fake that records every call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>  /* snprintf */
#include <string.h> /* strstr, strcat */

#include "core/error.h"  /* struct fs_error */
#include "core/log.h"    /* struct fs_logger */
#include "fault/fault.h" /* fs_faults_* */
#include "fault_test_util.h"

/* ---- a printer that records what it is asked ---- */

struct fake_printer {
    char calls[4096]; /* "disable(extruder,sensor_open) stop_job_lines pause ..." */
    char announced[8][512];
    int announce_count;
    int job_active;
    unsigned homed;
    unsigned untrusted; /* what the source's untrusted_axes returns */
    int clear_refuses;
    char macro_seen[512];
};

static void note(struct fake_printer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct fake_printer *p, const char *fmt, ...)
{
    size_t len = strlen(p->calls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->calls + len, sizeof(p->calls) - len, fmt, ap);
    va_end(ap);
    len = strlen(p->calls);
    snprintf(p->calls + len, sizeof(p->calls) - len, " ");
}

static void fp_stop_job_lines(void *arg) { note(arg, "stop_job_lines"); }
static void fp_halt_motion(void *arg) { note(arg, "halt_motion"); }
static void fp_heaters_off(void *arg) { note(arg, "heaters_off"); }
static void fp_shutdown(void *arg, const char *reason) { note(arg, "shutdown(%s)", reason); }
static int fp_pause(void *arg, struct fs_error *err)
{
    note(arg, "pause");
    return 0;
}
static int fp_finish_halt(void *arg, unsigned untrusted, struct fs_error *err)
{
    note(arg, "finish_halt(%u)", untrusted);
    return 0;
}
static int fp_cancel(void *arg, struct fs_error *err)
{
    note(arg, "cancel");
    return 0;
}
static int fp_run_gcode(void *arg, const char *script, const struct fs_fault_record *rec,
                        struct fs_error *err)
{
    struct fake_printer *p = arg;
    note(p, "gcode(%s)", script);
    snprintf(p->macro_seen, sizeof(p->macro_seen), "SOURCE=%s KIND=%s EVIDENCE=%s ACTION=%s",
             rec->source, fs_fault_kind_name(rec->kind), rec->evidence,
             fs_fault_action_name(rec->action));
    return 0;
}
static unsigned fp_homed(void *arg) { return ((struct fake_printer *)arg)->homed; }
static int fp_job_active(void *arg) { return ((struct fake_printer *)arg)->job_active; }

static void fp_announce(void *arg, const char *line)
{
    struct fake_printer *p = arg;
    if (p->announce_count < 8)
        snprintf(p->announced[p->announce_count++], sizeof(p->announced[0]), "%s", line);
}

/* The source's ops, on the same recorder. */
static void op_disable(void *arg, enum fs_fault_kind kind)
{
    note(arg, "disable(%s)", fs_fault_kind_name(kind));
}
static int op_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    struct fake_printer *p = arg;
    if (p->clear_refuses)
        return fs_error_set(err, "extruder still reads -14.2 C (sensor open?)");
    note(p, "clear(%s)", fs_fault_kind_name(kind));
    return 0;
}
static unsigned op_untrusted(void *arg, enum fs_fault_kind kind)
{
    return ((struct fake_printer *)arg)->untrusted;
}

static const struct fs_fault_source_ops fake_ops = {op_disable, op_clear, op_untrusted, NULL};

struct rig {
    struct fake_clock clock;
    struct fake_printer printer;
    struct cfg_fixture fx;
    struct fs_faults *f;
};

/* cfg_text: the sources' sections; each named section becomes a source. */
static void rig_init(struct rig *r, const char *cfg_text)
{
    memset(r, 0, sizeof(*r));
    fake_clock_init(&r->clock);
    r->clock.now = 100.0;
    r->printer.homed = FS_FAULT_AXIS_X | FS_FAULT_AXIS_Y | FS_FAULT_AXIS_Z;
    r->printer.job_active = 1;
    cfg_fixture_load(&r->fx, cfg_text);
    struct fs_fault_policy_config pc;
    struct fs_error err = {{0}};
    if (fs_fault_policy_read(r->fx.cfg, &pc, &err) < 0)
        fail_msg("%s", err.msg);
    r->f = fs_faults_new(&r->clock.reactor, NULL, &pc, &err);
    assert_non_null(r->f);
    struct fs_fault_actions a = {
        .arg = &r->printer,
        .stop_job_lines = fp_stop_job_lines,
        .halt_motion = fp_halt_motion,
        .heaters_off = fp_heaters_off,
        .shutdown = fp_shutdown,
        .pause = fp_pause,
        .finish_halt = fp_finish_halt,
        .cancel = fp_cancel,
        .run_gcode = fp_run_gcode,
        .homed_axes = fp_homed,
        .job_active = fp_job_active,
    };
    fs_faults_set_actions(r->f, &a);
    fs_faults_set_announce(r->f, fp_announce, &r->printer);
}

static struct fs_fault_source *rig_source(struct rig *r, const char *name,
                                          enum fs_fault_class cls, unsigned flags)
{
    struct fs_error err = {{0}};
    struct fs_fault_source *s = fs_faults_add_source(
        r->f, name, cls, flags, fs_config_get_section(r->fx.cfg, name), &fake_ops, &r->printer,
        &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

static void rig_free(struct rig *r)
{
    fs_faults_free(r->f);
    cfg_fixture_free(&r->fx);
    fake_clock_free(&r->clock);
}

static const struct fs_fault_record *last_record(struct rig *r)
{
    int n = fs_faults_record_count(r->f);
    assert_true(n > 0);
    return fs_faults_record_at(r->f, n - 1);
}

/* ---- tests ---- */

static void test_log_records_only(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_SENSOR_GLITCH, "read %.1f C for 0.3 s", -14.2);
    assert_int_equal(fs_faults_record_count(r.f), 1);
    const struct fs_fault_record *rec = last_record(&r);
    assert_string_equal(rec->evidence, "read -14.2 C for 0.3 s");
    assert_int_equal(rec->action, FS_FAULT_LOG);
    assert_string_equal(r.printer.calls, "");
    assert_int_equal(r.printer.announce_count, 0);
    assert_false(fs_faults_has_work(r.f));
    /* nothing was switched off: nothing latched, RESUME not refused */
    assert_false(rec->active);
    assert_false(fs_fault_source_is_faulted(s));
    struct fs_error err = {{0}};
    assert_int_equal(fs_faults_check_resume(r.f, &err), 0);
    /* repeats within the window fold; after it, a new record */
    fs_reactor_pause(&r.clock.reactor, 130.0);
    fs_fault_raise(s, FS_FAULT_SENSOR_GLITCH, "again");
    assert_int_equal(fs_faults_record_count(r.f), 1);
    assert_int_equal(rec->folded, 1);
    fs_reactor_pause(&r.clock.reactor, 161.0);
    fs_fault_raise(s, FS_FAULT_SENSOR_GLITCH, "later");
    assert_int_equal(fs_faults_record_count(r.f), 2);
    assert_string_equal(last_record(&r)->evidence, "later");
    rig_free(&r);
}

static void test_warn_announces(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[temperature_sensor electronics]\n");
    struct fs_fault_source *s =
        rig_source(&r, "temperature_sensor electronics", FS_FAULT_CLASS_SENSOR, 0);
    fs_fault_raise(s, FS_FAULT_OVER_TEMPERATURE, "71.0 C above max_temp 70");
    assert_int_equal(r.printer.announce_count, 1);
    assert_string_equal(r.printer.announced[0], "!! fault: temperature_sensor electronics "
                                                "over_temperature: 71.0 C above max_temp 70 -> warn");
    assert_string_equal(r.printer.calls, "");
    fs_fault_raise(s, FS_FAULT_OVER_TEMPERATURE, "71.5 C above max_temp 70");
    assert_int_equal(r.printer.announce_count, 1);
    assert_int_equal(last_record(&r)->folded, 1);
    rig_free(&r);
}

static void test_disable_switches_the_part_off_and_job_goes_on(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[heater_generic chamber]\non_fault: disable\n");
    struct fs_fault_source *s = rig_source(&r, "heater_generic chamber", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_NOT_HEATING, "rose 0.4 C in 60 s (needs 2)");
    assert_string_equal(r.printer.calls, "disable(not_heating) ");
    assert_false(fs_faults_has_work(r.f));
    assert_true(fs_fault_source_is_faulted(s));
    assert_false(fs_faults_in_fault_stop(r.f));
    assert_int_equal(last_record(&r)->axes_valid, 7);
    rig_free(&r);
}

static void test_pause_stops_lines_now_and_pauses_deferred(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "reads -14.2 C for 1.0 s");
    assert_string_equal(r.printer.calls, "disable(sensor_open) stop_job_lines ");
    assert_true(fs_faults_has_work(r.f));
    fs_faults_run_deferred(r.f);
    assert_string_equal(r.printer.calls, "disable(sensor_open) stop_job_lines pause ");
    assert_false(fs_faults_has_work(r.f));
    assert_true(fs_faults_in_fault_stop(r.f));
    assert_string_equal(r.printer.announced[0],
                        "!! fault: extruder sensor_open: reads -14.2 C for 1.0 s -> pause");
    struct fs_error err = {{0}};
    assert_int_equal(fs_faults_check_resume(r.f, &err), -1);
    assert_non_null(strstr(err.msg, "extruder sensor_open"));
    /* motion (maintenance moves) stays allowed in a pause */
    assert_int_equal(fs_faults_check_motion(r.f, &err), 0);
    rig_free(&r);
}

static void test_pause_without_a_job_disables_and_says_so(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    r.printer.job_active = 0;
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_RUNAWAY, "212.0 C, target 230");
    assert_string_equal(r.printer.calls, "disable(runaway) ");
    assert_false(fs_faults_has_work(r.f));
    assert_non_null(strstr(r.printer.announced[0], "-> pause (no job is printing"));
    assert_false(fs_faults_in_fault_stop(r.f));
    rig_free(&r);
}

static void test_halt_blocks_motion_until_ack(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[tmc2209 stepper_x]\n");
    r.printer.untrusted = FS_FAULT_AXIS_X;
    struct fs_fault_source *s =
        rig_source(&r, "tmc2209 stepper_x", FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_X);
    fs_fault_raise(s, FS_FAULT_DRIVER_ERROR, "GSTAT drv_err, DRV_STATUS ot");
    assert_string_equal(r.printer.calls, "disable(driver_error) halt_motion heaters_off ");
    const struct fs_fault_record *rec = last_record(&r);
    assert_int_equal(rec->action, FS_FAULT_HALT);
    assert_int_equal(rec->axes_valid, FS_FAULT_AXIS_Y | FS_FAULT_AXIS_Z);
    fs_faults_run_deferred(r.f);
    assert_string_equal(r.printer.calls,
                        "disable(driver_error) halt_motion heaters_off finish_halt(1) ");
    struct fs_error err = {{0}};
    assert_int_equal(fs_faults_check_motion(r.f, &err), -1);
    assert_non_null(strstr(err.msg, "tmc2209 stepper_x driver_error"));
    assert_true(fs_faults_in_fault_stop(r.f));
    assert_int_equal(fs_faults_ack(r.f), 1);
    assert_int_equal(fs_faults_check_motion(r.f, &err), 0);
    /* acknowledged is not cleared: RESUME still refuses */
    assert_int_equal(fs_faults_check_resume(r.f, &err), -1);
    assert_int_equal(fs_faults_clear(r.f, s, &err), 0);
    assert_int_equal(fs_faults_check_resume(r.f, &err), 0);
    rig_free(&r);
}

static void test_cancel_ends_the_job_deferred(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[filament_switch_sensor runout]\non_runout: cancel\n");
    struct fs_fault_source *s =
        rig_source(&r, "filament_switch_sensor runout", FS_FAULT_CLASS_FILAMENT, 0);
    fs_fault_raise(s, FS_FAULT_RUNOUT, "switch open");
    assert_string_equal(r.printer.calls, "disable(runout) stop_job_lines ");
    fs_faults_run_deferred(r.f);
    assert_string_equal(r.printer.calls, "disable(runout) stop_job_lines cancel ");
    rig_free(&r);
}

static void test_shutdown_is_immediate_and_loses_positions(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\non_fault_gcode: M117 bad\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_UNCOMMANDED_HEATING, "rose 12 C in 20 s with the output off");
    assert_string_equal(r.printer.calls, "disable(uncommanded_heating) shutdown(extruder "
                                         "uncommanded_heating: rose 12 C in 20 s with the output "
                                         "off) ");
    assert_true(fs_faults_is_shutdown(r.f));
    assert_int_equal(last_record(&r)->axes_valid, 0);
    struct fs_error err = {{0}};
    assert_int_equal(fs_faults_check_motion(r.f, &err), -1);
    assert_int_equal(fs_faults_check_resume(r.f, &err), -1);
    /* a later fault is recorded, nothing more is done */
    struct fs_fault_source *bed = rig_source(&r, "heater_bed", FS_FAULT_CLASS_HEATER, 0);
    r.printer.calls[0] = '\0';
    fs_fault_raise(bed, FS_FAULT_SENSOR_OPEN, "open");
    assert_string_equal(r.printer.calls, "");
    fs_faults_run_deferred(r.f);
    /* the extruder's macro still runs after the shutdown */
    assert_string_equal(r.printer.calls, "gcode(M117 bad) ");
    rig_free(&r);
}

static void test_duplicates_fold_into_the_active_record(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "first");
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "second");
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "third");
    assert_int_equal(fs_faults_record_count(r.f), 1);
    const struct fs_fault_record *rec = last_record(&r);
    assert_int_equal(rec->folded, 2);
    assert_string_equal(rec->evidence, "first");
    assert_string_equal(r.printer.calls, "disable(sensor_open) stop_job_lines ");
    fs_faults_run_deferred(r.f);
    assert_string_equal(r.printer.calls, "disable(sensor_open) stop_job_lines pause ");
    assert_int_equal(r.printer.announce_count, 1);
    assert_false(rec->escalated);
    rig_free(&r);
}

static void test_latched_until_clear_and_clear_refused_while_bad(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "reads -14.2 C");
    r.printer.clear_refuses = 1;
    struct fs_error err = {{0}};
    assert_int_equal(fs_faults_clear(r.f, s, &err), -1);
    assert_string_equal(err.msg, "FAULT_CLEAR: extruder still reads -14.2 C (sensor open?)");
    assert_true(fs_fault_source_is_faulted(s));
    assert_true(last_record(&r)->active);
    assert_int_equal(fs_faults_clear(r.f, NULL, &err), -1);
    assert_true(fs_fault_source_is_faulted(s));

    r.printer.clear_refuses = 0;
    assert_int_equal(fs_faults_clear(r.f, NULL, &err), 0);
    assert_false(fs_fault_source_is_faulted(s));
    assert_false(last_record(&r)->active);
    assert_non_null(strstr(r.printer.calls, "clear(sensor_open)"));
    assert_int_equal(fs_faults_check_resume(r.f, &err), 0);
    assert_false(fs_faults_in_fault_stop(r.f));
    /* a cleared fault whose cause persists comes straight back: a new record */
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "reads -14.2 C again");
    assert_int_equal(fs_faults_record_count(r.f), 2);
    assert_true(last_record(&r)->active);
    rig_free(&r);
}

static void test_third_fault_in_a_minute_escalates(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    struct fs_error err = {{0}};
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "1");
    fs_reactor_pause(&r.clock.reactor, 120.0);
    assert_int_equal(fs_faults_clear(r.f, s, &err), 0);
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "2");
    fs_reactor_pause(&r.clock.reactor, 150.0);
    assert_int_equal(fs_faults_clear(r.f, s, &err), 0);
    r.printer.calls[0] = '\0';
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "3");
    const struct fs_fault_record *rec = last_record(&r);
    assert_int_equal(rec->policy, FS_FAULT_PAUSE);
    assert_int_equal(rec->action, FS_FAULT_HALT);
    assert_true(rec->escalated);
    assert_string_equal(r.printer.calls, "disable(sensor_open) halt_motion heaters_off ");
    assert_non_null(strstr(r.printer.announced[2], "-> halt (escalated from pause"));
    rig_free(&r);
}

/* Glitches (policy log) are notes: they do not push a real fault up. A
 * repeated halt goes to shutdown, not to cancel. */
static void test_logged_glitches_do_not_count_and_halt_escalates_to_shutdown(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n[tmc2209 stepper_x]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    struct fs_error err = {{0}};
    for (int i = 0; i < 5; i++) {
        fs_fault_raise(s, FS_FAULT_SENSOR_GLITCH, "glitch %d", i);
        assert_int_equal(fs_faults_clear(r.f, s, &err), 0);
    }
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "open");
    assert_false(last_record(&r)->escalated);
    assert_int_equal(last_record(&r)->action, FS_FAULT_PAUSE);

    struct fs_fault_source *d =
        rig_source(&r, "tmc2209 stepper_x", FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_X);
    for (int i = 0; i < 2; i++) {
        fs_fault_raise(d, FS_FAULT_DRIVER_ERROR, "ot %d", i);
        assert_int_equal(last_record(&r)->action, FS_FAULT_HALT);
        assert_int_equal(fs_faults_clear(r.f, d, &err), 0);
    }
    fs_fault_raise(d, FS_FAULT_DRIVER_ERROR, "ot 2");
    assert_true(last_record(&r)->escalated);
    assert_int_equal(last_record(&r)->action, FS_FAULT_SHUTDOWN);
    assert_true(fs_faults_is_shutdown(r.f));
    rig_free(&r);
}

static void test_faults_spread_beyond_the_window_do_not_escalate(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[extruder]\n");
    struct fs_fault_source *s = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    struct fs_error err = {{0}};
    for (int i = 0; i < 4; i++) {
        fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "%d", i);
        assert_false(last_record(&r)->escalated);
        assert_int_equal(fs_faults_clear(r.f, s, &err), 0);
        fs_reactor_pause(&r.clock.reactor, r.clock.now + 31.0);
    }
    rig_free(&r);
}

static void test_deferred_runs_most_severe_first(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[filament_switch_sensor runout]\non_runout: cancel\n"
                 "on_fault_gcode: M117 runout\n"
                 "[extruder]\non_fault_gcode: M117 extruder\n"
                 "[tmc2209 stepper_y]\n");
    struct fs_fault_source *fil =
        rig_source(&r, "filament_switch_sensor runout", FS_FAULT_CLASS_FILAMENT, 0);
    struct fs_fault_source *ext = rig_source(&r, "extruder", FS_FAULT_CLASS_HEATER, 0);
    struct fs_fault_source *drv =
        rig_source(&r, "tmc2209 stepper_y", FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_Y);
    r.printer.untrusted = FS_FAULT_AXIS_Y;
    fs_fault_raise(ext, FS_FAULT_SENSOR_OPEN, "open");     /* pause */
    fs_fault_raise(fil, FS_FAULT_RUNOUT, "no filament");   /* cancel */
    fs_fault_raise(drv, FS_FAULT_DRIVER_ERROR, "uv_cp");   /* halt */
    r.printer.calls[0] = '\0';
    fs_faults_run_deferred(r.f);
    assert_string_equal(r.printer.calls,
                        "cancel gcode(M117 runout) finish_halt(2) pause gcode(M117 extruder) ");
    assert_string_equal(r.printer.macro_seen,
                        "SOURCE=extruder KIND=sensor_open EVIDENCE=open ACTION=pause");
    rig_free(&r);
}

/* What FAULT_TEST does: find the source by name and raise through the same
 * call as a real detector. */
static void test_fault_test_raise_takes_the_real_path(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[mcu toolboard]\n");
    rig_source(&r, "mcu toolboard", FS_FAULT_CLASS_MCU, 0);
    struct fs_fault_source *s = fs_faults_lookup(r.f, "mcu toolboard");
    assert_non_null(s);
    assert_null(fs_faults_lookup(r.f, "mcu nothere"));
    fs_fault_raise(s, FS_FAULT_COMM_LOST, "FAULT_TEST: %s", "cable pulled");
    assert_string_equal(r.printer.calls, "disable(comm_lost) stop_job_lines ");
    assert_string_equal(last_record(&r)->evidence, "FAULT_TEST: cable pulled");
    assert_int_equal(last_record(&r)->action, FS_FAULT_PAUSE);
    rig_free(&r);
}

static void test_null_source_is_harmless(void **state)
{
    (void)state;
    fs_fault_raise(NULL, FS_FAULT_SENSOR_OPEN, "no fault module");
}

/* on_<kind>: cancel on a part with nothing to switch off (the toolhead,
 * raised from a console command) while no job prints: there is nothing to
 * cancel, so no cancel is queued (it would answer "No print to cancel")
 * and nothing latches: the same fault in a later print must cancel that
 * print, not be folded into this record. */
static void test_cancel_without_a_job_does_not_latch(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, "[printer]\non_move_out_of_range: cancel\n");
    r.printer.job_active = 0;
    struct fs_error err = {{0}};
    static const struct fs_fault_source_ops no_ops = {0};
    struct fs_fault_source *s = fs_faults_add_source(
        r.f, "toolhead", FS_FAULT_CLASS_MOTION, 0, fs_config_get_section(r.fx.cfg, "printer"),
        &no_ops, NULL, &err);
    assert_non_null(s);
    fs_fault_raise(s, FS_FAULT_MOVE_OUT_OF_RANGE, "X=999 outside [0, 220]");
    assert_false(fs_faults_has_work(r.f));
    assert_false(last_record(&r)->active);
    assert_non_null(strstr(r.printer.announced[0], "-> cancel (no job is printing"));
    r.printer.job_active = 1;
    fs_fault_raise(s, FS_FAULT_MOVE_OUT_OF_RANGE, "X=999 outside [0, 220]");
    assert_int_equal(fs_faults_record_count(r.f), 2);
    fs_faults_run_deferred(r.f);
    assert_string_equal(r.printer.calls, "stop_job_lines cancel ");
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_without_a_job_does_not_latch),
        cmocka_unit_test(test_log_records_only),
        cmocka_unit_test(test_warn_announces),
        cmocka_unit_test(test_disable_switches_the_part_off_and_job_goes_on),
        cmocka_unit_test(test_pause_stops_lines_now_and_pauses_deferred),
        cmocka_unit_test(test_pause_without_a_job_disables_and_says_so),
        cmocka_unit_test(test_halt_blocks_motion_until_ack),
        cmocka_unit_test(test_cancel_ends_the_job_deferred),
        cmocka_unit_test(test_shutdown_is_immediate_and_loses_positions),
        cmocka_unit_test(test_duplicates_fold_into_the_active_record),
        cmocka_unit_test(test_latched_until_clear_and_clear_refused_while_bad),
        cmocka_unit_test(test_third_fault_in_a_minute_escalates),
        cmocka_unit_test(test_logged_glitches_do_not_count_and_halt_escalates_to_shutdown),
        cmocka_unit_test(test_faults_spread_beyond_the_window_do_not_escalate),
        cmocka_unit_test(test_deferred_runs_most_severe_first),
        cmocka_unit_test(test_fault_test_raise_takes_the_real_path),
        cmocka_unit_test(test_null_source_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
