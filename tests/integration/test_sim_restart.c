/* RESTART and FIRMWARE_RESTART on the simulated printer, as an owner would
 * use them: FIRMWARE_RESTART is the way back from an MCU shutdown to a
 * printer that homes, moves and heats; RESTART with an unchanged
 * configuration keeps the MCUs as they are; a changed MCU configuration, a
 * broken file and a pin the firmware does not have are each refused with a
 * message that says what to do and where.
 *
 * The simulated machine is wired once, from the file as it was at the
 * start; editing the file afterwards changes only what the host asks of the
 * MCUs, exactly as when someone edits printer.cfg on a real printer. That
 * is how an unknown pin reaches the engine's own check (the simulator's
 * builder would refuse it before the engine ever saw it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* fopen, open_memstream */
#include <stdlib.h> /* mkdtemp, free */
#include <string.h> /* strstr */
#include <unistd.h> /* unlink, rmdir */

#include "core/error.h"      /* struct fs_error */
#include "gcode/gcode.h"     /* fs_gcode_set_output */
#include "mcu/mcu.h"         /* fs_mcu_send_text */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_printer.h"     /* sim_printer_position, sim_printer_heater */
#include <cjson/cJSON.h>     /* cJSON */

#include "sim_session.h"     /* sim_session_* */

#define CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg"

struct rig {
    char dir[64];
    char cfg_path[128];
    struct sim_session *s;
    char out[8192]; /* G-code responses of the last command */
};

static void capture(void *arg, const char *text)
{
    struct rig *r = arg;
    size_t n = strlen(r->out);
    snprintf(r->out + n, sizeof(r->out) - n, "%s\n", text);
}

/* Runs a console line with its responses in r->out. */
static int run(struct rig *r, const char *line, struct fs_error *err)
{
    r->out[0] = '\0';
    struct fs_printer *p = sim_session_printer(r->s);
    if (p->gcode)
        fs_gcode_set_output(p->gcode, capture, r);
    return sim_session_run_line(r->s, line, err);
}

static void must_run(struct rig *r, const char *line)
{
    struct fs_error err = {{0}};
    if (run(r, line, &err) < 0)
        fail_msg("%s: %s", line, err.msg);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The demo printer's file as the owner's own copy, which the test edits. */
static void edit_config(struct rig *r, const char *from, const char *to)
{
    const char *text = read_text(r->cfg_path);
    const char *at = strstr(text, from);
    if (!at)
        fail_msg("'%s' not in the configuration", from);
    size_t head = (size_t)(at - text);
    char *edited = malloc(strlen(text) + strlen(to) + 1);
    assert_non_null(edited);
    memcpy(edited, text, head);
    strcpy(edited + head, to);
    strcat(edited, at + strlen(from));
    write_text(r->cfg_path, edited);
    free(edited);
}

static void rig_open(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/failsoft-restart-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->cfg_path, sizeof(r->cfg_path), "%s/printer.cfg", r->dir);
    write_text(r->cfg_path, read_text(CONFIG));
    edit_config(r, "path: ../gcode", "path: " FS_SOURCE_DIR "/scenarios/gcode");
    struct fs_error err = {{0}};
    r->s = sim_session_open(r->cfg_path, 11, NULL, &err);
    if (!r->s)
        fail_msg("%s", err.msg);
}

static void rig_close(struct rig *r)
{
    sim_session_close(r->s);
    unlink(r->cfg_path);
    rmdir(r->dir);
}

/* The plant's carriage, where the motors really are. */
static void assert_plant_at(struct rig *r, double x, double y, double z)
{
    double pos[4];
    sim_printer_position(sim_session_plant(r->s), sim_session_host(r->s)->world, pos);
    assert_true(fabs(pos[0] - x) < 0.05);
    assert_true(fabs(pos[1] - y) < 0.05);
    assert_true(fabs(pos[2] - z) < 0.05);
}

static void assert_homes_moves_and_heats(struct rig *r)
{
    must_run(r, "G28");
    must_run(r, "G1 X60 Y40 Z10 F6000");
    must_run(r, "M400");
    assert_plant_at(r, 60.0, 40.0, 10.0);
    /* The extruder's heater and sensor are on the toolboard. */
    must_run(r, "M109 S60");
    int id = sim_printer_heater(sim_session_plant(r->s), "extruder");
    assert_true(id >= 0);
    assert_true(sim_world_heater_temp_c(sim_session_host(r->s)->world, id) > 57.0);
    must_run(r, "M104 S0");
}

/* Restarts of the simulated firmware seen in the world's trace while fn
 * runs the line. */
static int firmware_restarts_during(struct rig *r, const char *line, struct fs_error *err,
                                    int *rc)
{
    char *trace = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&trace, &size);
    assert_non_null(mem);
    struct sim_world *w = sim_session_host(r->s)->world;
    sim_world_trace_start(w, mem);
    *rc = run(r, line, err);
    sim_world_trace_stop(w);
    fclose(mem);
    int count = 0;
    for (const char *p = trace; (p = strstr(p, " restarted")) != NULL; p++)
        count++;
    free(trace);
    return count;
}

/* A shutdown (M112 here; any fault whose policy is shutdown) stops every
 * MCU; FIRMWARE_RESTART brings the whole printer back. */
static void test_firmware_restart_after_a_shutdown_gives_a_usable_printer(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    struct fs_printer *p = sim_session_printer(r.s);
    must_run(&r, "G28");

    struct fs_error err = {{0}};
    run(&r, "M112", &err);
    sim_host_run_for(sim_session_host(r.s), 0.5);
    assert_true(p->is_shutdown);
    assert_non_null(strstr(p->shutdown_reason, "M112"));
    must_run(&r, "STATUS");
    assert_non_null(strstr(r.out, "printer: shutdown: "));
    assert_non_null(strstr(r.out, "mcu 'toolboard': shutdown"));
    /* The printer's shutdown stopped the main MCU too. */
    assert_non_null(strstr(r.out, "mcu 'mcu': shutdown"));
    assert_non_null(strstr(r.out, "app=failsoft"));
    /* A shut-down printer says how to get back instead of trying to move. */
    assert_int_equal(run(&r, "G28", &err), -1);
    assert_non_null(strstr(err.msg, "FIRMWARE_RESTART"));

    int rc;
    int restarts = firmware_restarts_during(&r, "FIRMWARE_RESTART", &err, &rc);
    if (rc < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(restarts, 2);
    p = sim_session_printer(r.s);
    assert_true(p->is_ready);
    assert_false(p->is_shutdown);
    must_run(&r, "STATUS");
    assert_non_null(strstr(r.out, "printer: ready"));
    assert_non_null(strstr(r.out, "mcu 'toolboard': connected"));
    assert_homes_moves_and_heats(&r);
    rig_close(&r);
}

static void test_restart_with_the_same_configuration_reuses_the_mcus(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    must_run(&r, "G28");
    struct fs_error err = {{0}};
    int rc;
    assert_int_equal(firmware_restarts_during(&r, "RESTART", &err, &rc), 0);
    if (rc < 0)
        fail_msg("%s", err.msg);
    struct fs_printer *p = sim_session_printer(r.s);
    assert_true(p->is_ready);
    assert_false(p->is_shutdown);
    /* A new printer object: homing is not carried over. */
    assert_int_equal(run(&r, "G1 X10", &err), -1);
    assert_homes_moves_and_heats(&r);
    rig_close(&r);
}

static void test_restart_with_a_changed_mcu_configuration_asks_for_firmware_restart(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    /* A longer step pulse is part of config_stepper on the main MCU. */
    edit_config(&r, "[stepper_x]\n", "[stepper_x]\nstep_pulse_duration: 0.000005\n");
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "RESTART", &err), -1);
    assert_non_null(strstr(err.msg, "mcu 'mcu'"));
    assert_non_null(strstr(err.msg, "FIRMWARE_RESTART"));
    struct fs_printer *p = sim_session_printer(r.s);
    assert_false(p->is_ready);
    must_run(&r, "STATUS");
    assert_non_null(strstr(r.out, "printer: not ready"));
    assert_int_equal(run(&r, "G28", &err), -1);
    assert_non_null(strstr(err.msg, "not ready"));

    must_run(&r, "FIRMWARE_RESTART");
    assert_true(p->is_ready);
    assert_homes_moves_and_heats(&r);
    rig_close(&r);
}

static void test_restart_with_a_broken_file_keeps_the_running_printer(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    must_run(&r, "G28");
    edit_config(&r, "rotation_distance: 40", "rotation_distance: -40");
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "RESTART", &err), -1);
    assert_non_null(strstr(err.msg, "rotation_distance"));
    assert_non_null(strstr(err.msg, "keeps the old one"));
    /* Still the same printer, still homed. */
    must_run(&r, "G1 X30 Y30 Z5 F6000");
    must_run(&r, "M400");
    assert_plant_at(&r, 30.0, 30.0, 5.0);
    rig_close(&r);
}

/* A configuration naming an MCU the machine does not have cannot be built:
 * the session says so (no printer to report on), and once the file is put
 * right a RESTART brings the printer back. */
static void test_restart_that_cannot_build_the_printer_reports_and_recovers(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    edit_config(&r, "[mcu toolboard]\n", "[mcu chamberboard]\nserial: /dev/null\n\n[mcu toolboard]\n");
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "RESTART", &err), -1);
    assert_non_null(strstr(err.msg, "chamberboard"));
    cJSON *report = sim_session_report(r.s);
    assert_string_equal(cJSON_GetObjectItem(report, "state")->valuestring, "not_ready");
    cJSON_Delete(report);

    edit_config(&r, "[mcu chamberboard]\nserial: /dev/null\n\n", "");
    must_run(&r, "RESTART");
    assert_true(sim_session_printer(r.s)->is_ready);
    assert_homes_moves_and_heats(&r);
    rig_close(&r);
}

static int line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    assert_non_null(at);
    int line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

static void test_a_pin_the_firmware_lacks_names_the_configuration_line(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    edit_config(&r, "step_pin: PB0\n", "step_pin: PZ99\n");
    char want[256];
    snprintf(want, sizeof(want),
             "%s:%d: [stepper_x]: mcu 'mcu': 'config_stepper': step_pin=PZ99 is not a 'pin' name "
             "the MCU knows",
             r.cfg_path, line_of(read_text(r.cfg_path), "[stepper_x]"));
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "FIRMWARE_RESTART", &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("expected '%s' in '%s'", want, err.msg);

    /* The thermistor of the bed, through the analog input's own check. */
    edit_config(&r, "step_pin: PZ99\n", "step_pin: PB0\n");
    edit_config(&r, "sensor_pin: PC1", "sensor_pin: PZ98");
    snprintf(want, sizeof(want),
             "%s:%d: [heater_bed]: mcu 'mcu': 'config_analog_in': pin=PZ98 is not a 'pin' name the "
             "MCU knows",
             r.cfg_path, line_of(read_text(r.cfg_path), "[heater_bed]"));
    assert_int_equal(run(&r, "RESTART", &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("expected '%s' in '%s'", want, err.msg);

    edit_config(&r, "sensor_pin: PZ98", "sensor_pin: PC1");
    must_run(&r, "FIRMWARE_RESTART");
    assert_true(sim_session_printer(r.s)->is_ready);
    rig_close(&r);
}

static void test_m115_names_the_host_and_every_mcu(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r);
    must_run(&r, "M115");
    assert_non_null(strstr(r.out, "FIRMWARE_NAME:failsoft FIRMWARE_VERSION:"));
    assert_non_null(strstr(r.out, " MCU_mcu:failsoft/"));
    assert_non_null(strstr(r.out, " MCU_toolboard:failsoft/"));
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firmware_restart_after_a_shutdown_gives_a_usable_printer),
        cmocka_unit_test(test_restart_with_the_same_configuration_reuses_the_mcus),
        cmocka_unit_test(test_restart_with_a_changed_mcu_configuration_asks_for_firmware_restart),
        cmocka_unit_test(test_restart_with_a_broken_file_keeps_the_running_printer),
        cmocka_unit_test(test_a_pin_the_firmware_lacks_names_the_configuration_line),
        cmocka_unit_test(test_m115_names_the_host_and_every_mcu),
        cmocka_unit_test(test_restart_that_cannot_build_the_printer_reports_and_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
