/* The thermal sections of printer.cfg, read the way a printer reads them:
 * a configuration a user would write drives the simulated hotend, bed,
 * chamber sensor and fans through the real firmware, and mistakes in it
 * are reported with file:line. Every heater and sensor is a fault source
 * named as its section, whose fault options the fault module reads there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* snprintf */
#include <string.h> /* memset, strstr */

#include "config/config.h"   /* fs_config_load_string */
#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* fs_faults_*, fs_fault_source_* */
#include "gcode/gcode.h"     /* fs_gcode_* */
#include "mcu/mcu.h"         /* fs_mcu_configure */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "thermal/heaters.h" /* fs_heaters_* */

static const char *const printer_cfg =
    "[extruder]\n"
    "heater_pin: PA1\n"
    "sensor_type: Generic 3950\n"
    "sensor_pin: PA2\n"
    "control: pid\n"
    "pid_Kp: 22.2\n"
    "pid_Ki: 1.08\n"
    "pid_Kd: 114\n"
    "min_temp: 0\n"
    "max_temp: 280\n"
    "min_extrude_temp: 180\n"
    "\n"
    "[verify_heater extruder]\n"
    "check_gain_time: 30\n"
    "\n"
    "[heater_bed]\n"
    "heater_pin: PA3\n"
    "sensor_type: bed_ntc\n"
    "sensor_pin: PA4\n"
    "control: watermark\n"
    "max_delta: 1.5\n"
    "min_temp: 0\n"
    "max_temp: 130\n"
    "\n"
    "[thermistor bed_ntc]\n"
    "temperature1: 25\n"
    "resistance1: 100000\n"
    "beta: 3950\n"
    "\n"
    "[temperature_sensor chamber]\n"
    "sensor_type: Generic 3950\n"
    "sensor_pin: PA7\n"
    "\n"
    "[fan]\n"
    "pin: PA5\n"
    "hardware_pwm: True\n"
    "kick_start_time: 0\n"
    "\n"
    "[heater_fan hotend_fan]\n"
    "pin: PA8\n"
    "heater: extruder\n"
    "heater_temp: 50\n";

struct world {
    struct sim_host host;
    struct fs_printer printer;
    struct fs_config *cfg;
    int hotend_id, bed_id, chamber_id;
};

static struct world w;

static int add_plant(const char *heater_pin, const char *sensor_pin, double power_w,
                     double capacity, double loss)
{
    struct fs_error err;
    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    hp.power_w = power_w;
    hp.capacity_j_per_k = capacity;
    hp.loss_w_per_k = loss;
    int id = sim_world_add_heater(w.host.world, "mcu", heater_pin, sensor_pin, &hp, &tp, &err);
    if (id < 0)
        fail_msg("plant: %s", err.msg);
    return id;
}

/* Returns fs_heaters_new's status for the text; the world is connected. */
static struct fs_heaters *load(const char *text, struct fs_error *err)
{
    memset(&w, 0, sizeof(w));
    struct fs_error e;
    if (sim_host_init(&w.host, 1, NULL, &e) < 0 || sim_host_add_mcu(&w.host, "mcu", NULL, &e) < 0)
        fail_msg("sim: %s", e.msg);
    w.hotend_id = add_plant("PA1", "PA2", 40.0, 10.0, 0.16);
    w.bed_id = add_plant("PA3", "PA4", 200.0, 350.0, 0.9);
    w.chamber_id = add_plant("PA6", "PA7", 0.0, 3000.0, 1.2);
    if (sim_world_add_fan(w.host.world, "mcu", "PA5", w.hotend_id, &e) < 0 ||
        sim_world_add_fan(w.host.world, "mcu", "PA8", w.chamber_id, &e) < 0)
        fail_msg("fan: %s", e.msg);
    if (sim_host_connect(&w.host, 5.0, &e) < 0)
        fail_msg("connect: %s", e.msg);
    if (fs_config_load_string(text, "printer.cfg", &w.cfg, &e) < 0)
        fail_msg("config: %s", e.msg);
    w.printer.reactor = &w.host.reactor;
    w.printer.config = w.cfg;
    w.printer.gcode = fs_gcode_new(&e);
    assert_non_null(w.printer.gcode);
    w.printer.mcus[0] = sim_host_mcu(&w.host, "mcu");
    w.printer.mcu_count = 1;
    struct fs_fault_policy_config pc;
    if (fs_fault_policy_read(w.cfg, &pc, &e) < 0 ||
        !(w.printer.faults = fs_faults_new(&w.host.reactor, NULL, &pc, &e)))
        fail_msg("faults: %s", e.msg);
    return fs_heaters_new(&w.printer, err);
}

static void unload(struct fs_heaters *h)
{
    fs_heaters_free(h);
    fs_faults_free(w.printer.faults);
    fs_gcode_free(w.printer.gcode);
    fs_config_free(w.cfg);
    sim_host_free(&w.host);
}

static void test_a_printer_cfg_heats_reports_and_cools(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_heaters *h = load(printer_cfg, &err);
    if (!h)
        fail_msg("%s", err.msg);
    /* Every option of these sections was understood. */
    if (fs_config_check_unused(w.cfg, &err) < 0)
        fail_msg("unused: %s", err.msg);
    if (fs_mcu_configure(w.printer.mcus[0], 5.0, &err) < 0)
        fail_msg("configure: %s", err.msg);
    sim_host_run_for(&w.host, 1.0);

    struct fs_heater *extruder = fs_heaters_lookup(h, "extruder");
    struct fs_heater *bed = fs_heaters_lookup(h, "heater_bed");
    struct fs_heater *chamber = fs_heaters_lookup(h, "chamber");
    assert_non_null(extruder);
    assert_non_null(bed);
    assert_non_null(chamber);
    assert_false(fs_heater_has_output(chamber));
    double t;
    fs_heater_get_temp(chamber, &t, NULL);
    assert_true(fabs(t - 20.0) < 1.0);

    if (fs_gcode_run_line(w.printer.gcode, "M109 S200", "test", &err) < 0)
        fail_msg("M109: %s", err.msg);
    assert_true(fs_heater_can_extrude(extruder));
    if (fs_gcode_run_line(w.printer.gcode, "M190 S60", "test", &err) < 0)
        fail_msg("M190: %s", err.msg);
    fs_heater_get_temp(bed, &t, NULL);
    assert_true(fabs(t - 60.0) <= 1.0);
    /* The hotend fan runs while the hotend is hot. */
    assert_true(sim_world_heater(w.host.world, w.chamber_id)->fan == 1.0);
    assert_int_equal(fs_gcode_run_line(w.printer.gcode, "M106 S51", "test", &err), 0);
    sim_host_run_for(&w.host, 0.5);
    assert_true(fabs(sim_world_heater(w.host.world, w.hotend_id)->fan - 0.2) < 0.005);

    fs_heaters_turn_off_all(h);
    sim_host_run_for(&w.host, 400.0);
    fs_heater_get_temp(extruder, &t, NULL);
    assert_true(t < 50.0);
    /* Cold again: the hotend fan has stopped. */
    assert_true(sim_world_heater(w.host.world, w.chamber_id)->fan == 0.0);
    unload(h);
}

static void expect_error(const char *text, const char *what)
{
    struct fs_error err = {{0}};
    struct fs_heaters *h = load(text, &err);
    assert_null(h);
    if (!strstr(err.msg, what))
        fail_msg("expected '%s' in: %s", what, err.msg);
    unload(NULL);
}

static void test_config_mistakes_name_the_line(void **state)
{
    (void)state;
    expect_error("[extruder]\nheater_pin: PA1\nsensor_type: Generic 3951\nsensor_pin: PA2\n"
                 "control: pid\npid_Kp: 1\npid_Ki: 1\npid_Kd: 1\nmin_temp: 0\nmax_temp: 280\n",
                 "printer.cfg:3");
    expect_error("[extruder]\nheater_pin: PA1\nsensor_type: Generic 3950\nsensor_pin: PA2\n"
                 "control: pid\npid_Kp: 1\npid_Ki: 1\nmin_temp: 0\nmax_temp: 280\n",
                 "pid_Kd");
    expect_error("[heater_bed]\nheater_pin: PA3\nsensor_type: Generic 3950\n"
                 "sensor_pin: toolboard:PA4\ncontrol: watermark\nmin_temp: 0\nmax_temp: 130\n",
                 "toolboard");
    expect_error("[heater_fan x]\npin: PA8\nheater: nozzle\n", "nozzle");
}

static const char *const sources_cfg =
    "[extruder]\n"
    "heater_pin: PA1\n"
    "sensor_type: Generic 3950\n"
    "sensor_pin: PA2\n"
    "control: pid\n"
    "pid_Kp: 22.2\n"
    "pid_Ki: 1.08\n"
    "pid_Kd: 114\n"
    "min_temp: 0\n"
    "max_temp: 280\n"
    "fault_tolerance: 2.5\n"
    "uncommanded_heating_rise: 20\n"
    "uncommanded_heating_time: 30\n"
    "\n"
    "[heater_generic chamber]\n"
    "heater_pin: PA6\n"
    "sensor_type: Generic 3950\n"
    "sensor_pin: PA7\n"
    "control: watermark\n"
    "min_temp: 0\n"
    "max_temp: 80\n"
    "on_fault: disable\n"
    "\n"
    "[temperature_sensor board]\n"
    "sensor_type: Generic 3950\n"
    "sensor_pin: PA4\n";

static void test_heaters_and_sensors_are_fault_sources_named_as_their_sections(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_heaters *h = load(sources_cfg, &err);
    if (!h)
        fail_msg("%s", err.msg);
    if (fs_config_check_unused(w.cfg, &err) < 0)
        fail_msg("unused: %s", err.msg);
    struct fs_faults *f = w.printer.faults;
    struct fs_fault_source *extruder = fs_faults_lookup(f, "extruder");
    struct fs_fault_source *chamber = fs_faults_lookup(f, "heater_generic chamber");
    struct fs_fault_source *board = fs_faults_lookup(f, "temperature_sensor board");
    assert_non_null(extruder);
    assert_non_null(chamber);
    assert_non_null(board);
    assert_int_equal(fs_faults_source_count(f), 3);
    assert_int_equal(fs_fault_source_class(extruder), FS_FAULT_CLASS_HEATER);
    assert_int_equal(fs_fault_source_class(chamber), FS_FAULT_CLASS_HEATER);
    assert_int_equal(fs_fault_source_class(board), FS_FAULT_CLASS_SENSOR);
    assert_ptr_equal(fs_heater_fault_source(fs_heaters_lookup(h, "chamber")), chamber);
    /* The options of each section reached the fault module. */
    assert_true(fs_fault_source_tolerance(extruder, 1.0) == 2.5);
    assert_true(fs_fault_source_tolerance(chamber, 1.0) == 1.0);
    assert_int_equal(fs_fault_source_action(chamber, FS_FAULT_SENSOR_OPEN), FS_FAULT_DISABLE);
    assert_int_equal(fs_fault_source_action(extruder, FS_FAULT_UNCOMMANDED_HEATING),
                     FS_FAULT_SHUTDOWN);
    /* The chamber's sensor opens: only the chamber goes off, recorded
     * under its section's name, and its policy (disable) is what is done. */
    if (fs_mcu_configure(w.printer.mcus[0], 5.0, &err) < 0)
        fail_msg("configure: %s", err.msg);
    sim_host_run_for(&w.host, 1.0);
    struct fs_heater *heater = fs_heaters_lookup(h, "chamber");
    if (fs_heater_set_target(heater, 40.0, &err) < 0)
        fail_msg("%s", err.msg);
    sim_host_run_for(&w.host, 5.0);
    sim_world_thermistor(w.host.world, w.chamber_id)->fault = PLANT_SENSOR_OPEN;
    sim_host_run_for(&w.host, 3.0);
    assert_int_equal(fs_faults_record_count(f), 1);
    const struct fs_fault_record *rec = fs_faults_record_at(f, 0);
    assert_string_equal(rec->source, "heater_generic chamber");
    assert_int_equal(rec->kind, FS_FAULT_SENSOR_OPEN);
    assert_int_equal(rec->action, FS_FAULT_DISABLE);
    assert_true(sim_world_heater_drive(w.host.world, w.chamber_id) == 0.0);
    assert_false(sim_world_mcu_is_shutdown(w.host.world, "mcu"));
    unload(h);
}

static void test_fault_options_below_the_floor_or_out_of_range_are_refused(void **state)
{
    (void)state;
    static const char *const heater =
        "[extruder]\nheater_pin: PA1\nsensor_type: Generic 3950\nsensor_pin: PA2\n"
        "control: pid\npid_Kp: 1\npid_Ki: 1\npid_Kd: 1\nmin_temp: 0\nmax_temp: 280\n";
    char text[512];
    snprintf(text, sizeof(text), "%son_sensor_open: warn\n", heater);
    expect_error(text, "printer.cfg:11");
    expect_error(text, "disable"); /* the floor it asked to go below */
    snprintf(text, sizeof(text), "%suncommanded_heating_time: 150\n", heater);
    expect_error(text, "printer.cfg:11");
    snprintf(text, sizeof(text), "%suncommanded_heating_rise: 0\n", heater);
    expect_error(text, "uncommanded_heating_rise");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_printer_cfg_heats_reports_and_cools),
        cmocka_unit_test(test_config_mistakes_name_the_line),
        cmocka_unit_test(test_heaters_and_sensors_are_fault_sources_named_as_their_sections),
        cmocka_unit_test(test_fault_options_below_the_floor_or_out_of_range_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
