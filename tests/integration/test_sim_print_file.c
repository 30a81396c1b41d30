/* One shipped slicer file printed on one shipped printer at one speed
 * factor, in the simulator with the firmware in the loop, judged as a
 * person would: it completes; the head ends where the file commands; the
 * net extrusion matches the file within 0.01 mm; the motors (counted from
 * their step pulses) agree with the toolhead within one microstep; every
 * heater held its target within 2 C once reached; no MCU shut down (a step
 * scheduled in the past or a move-queue overflow would have shut one down).
 *
 * usage: test_sim_print_file CONFIG GCODE SPEED_FACTOR */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* strtod */
#include <string.h>      /* strcmp */

#include "config/config.h" /* fs_config_load */
#include "core/error.h"    /* struct fs_error */
#include "gcode_expect.h"  /* gcode_expect_file */
#include "sim_session.h"   /* sim_session_* */

static const char *config_path, *gcode_path;
static double speed_factor;

/* mm per microstep of a motor section, as the config defines it. */
static double step_dist(struct fs_config *cfg, const char *section)
{
    struct fs_config_section *s = fs_config_get_section(cfg, section);
    double rotation, microsteps, full_steps = 200;
    struct fs_error err;
    assert_non_null(s);
    assert_int_equal(fs_config_get_float(s, "rotation_distance", NAN, -INFINITY, INFINITY,
                                         &rotation, &err), 0);
    assert_int_equal(fs_config_get_float(s, "microsteps", NAN, 1, 256, &microsteps, &err), 0);
    if (fs_config_has(s, "full_steps_per_rotation"))
        fs_config_get_float(s, "full_steps_per_rotation", 200, 1, 1e6, &full_steps, &err);
    return fabs(rotation) / (microsteps * full_steps);
}

static double endstop(struct fs_config *cfg, const char *section)
{
    struct fs_config_section *s = fs_config_get_section(cfg, section);
    double v = 0.0;
    struct fs_error err;
    if (s && fs_config_has(s, "position_endstop"))
        fs_config_get_float(s, "position_endstop", 0.0, -INFINITY, INFINITY, &v, &err);
    return v;
}

static double number(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem(obj, key);
    if (!cJSON_IsNumber(item))
        fail_msg("report has no number '%s'", key);
    return item->valuedouble;
}

static void test_file_prints_as_commanded(void **state)
{
    (void)state;
    struct fs_error err = {{0}};
    struct fs_config *cfg;
    if (fs_config_load(config_path, &cfg, &err) < 0)
        fail_msg("%s", err.msg);
    const char *motors[4] = {"stepper_x", "stepper_y", "stepper_z", "extruder"};
    double dist[4], home[3];
    for (int i = 0; i < 4; i++)
        dist[i] = step_dist(cfg, motors[i]);
    for (int i = 0; i < 3; i++)
        home[i] = endstop(cfg, motors[i]);
    fs_config_free(cfg);

    struct gcode_expect expect;
    assert_int_equal(gcode_expect_file(gcode_path, home, &expect), 0);
    assert_true(expect.moves > 1000);

    struct sim_session *s = sim_session_open(config_path, 1, stderr, &err);
    if (!s)
        fail_msg("%s", err.msg);
    char line[64];
    snprintf(line, sizeof(line), "M220 S%.1f", speed_factor * 100.0);
    if (sim_session_run_line(s, line, &err) < 0 ||
        sim_session_print(s, gcode_path, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    cJSON *r = sim_session_report(s);
    const char *st = cJSON_GetObjectItem(r, "state")->valuestring;
    if (strcmp(st, "complete"))
        fail_msg("job %s: %s", st, cJSON_GetObjectItem(r, "message")->valuestring);

    const cJSON *th = cJSON_GetObjectItem(r, "toolhead_position");
    for (int i = 0; i < 4; i++) {
        double got = cJSON_GetArrayItem(th, i)->valuedouble;
        double tol = i == 3 ? 0.01 : 1e-6;
        if (fabs(got - expect.toolhead[i]) > tol)
            fail_msg("%s ends at %.6f, the file commands %.6f", motors[i], got,
                     expect.toolhead[i]);
    }
    double extruded = number(r, "extruded_mm");
    if (fabs(extruded - expect.net_extrusion) > 0.01)
        fail_msg("extruded %.4f mm, the file commands %.4f mm", extruded, expect.net_extrusion);

    const cJSON *plant = cJSON_GetObjectItem(r, "plant_position");
    static const char *const keys[4] = {"x", "y", "z", "e"};
    for (int i = 0; i < 4; i++) {
        double got = number(plant, keys[i]);
        double want = cJSON_GetArrayItem(th, i)->valuedouble;
        if (fabs(got - want) > dist[i] + 1e-9)
            fail_msg("plant %s at %.5f, toolhead %.5f: more than one microstep (%.5f)",
                     keys[i], got, want, dist[i]);
    }
    const cJSON *heater;
    int held = 0;
    cJSON_ArrayForEach(heater, cJSON_GetObjectItem(r, "heaters")) {
        const cJSON *dev = cJSON_GetObjectItem(heater, "max_hold_deviation_c");
        if (!dev)
            continue;
        held++;
        if (dev->valuedouble > 2.0)
            fail_msg("%s strayed %.2f C from its target", heater->string, dev->valuedouble);
    }
    assert_true(held >= 2); /* the hotend and the bed were both heated and held */
    print_message("%s at %.2fx: %.0f s simulated in %.2f s (%.0fx)\n", gcode_path,
                  speed_factor, number(r, "sim_time_s"), number(r, "wall_time_s"),
                  number(r, "speedup"));
    cJSON_Delete(r);
    sim_session_close(s);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CONFIG GCODE SPEED_FACTOR\n", argv[0]);
        return 2;
    }
    config_path = argv[1];
    gcode_path = argv[2];
    speed_factor = strtod(argv[3], NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_prints_as_commanded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
