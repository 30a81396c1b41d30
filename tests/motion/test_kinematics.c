/* Kinematics on their own: corexy motor mapping, the range check and its
 * messages, and the gear ratio option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <string.h> /* strstr */

#include "config/config.h"     /* fs_config_load_string */
#include "core/error.h"        /* struct fs_error */
#include "motion/kinematics.h" /* fs_kinematics_* */
#include "motion/rail.h"       /* fs_rail_parse_gear_ratio */

static void init(struct fs_kinematics *k, enum fs_kin_type type)
{
    double pmin[3] = {0, 0, 0}, pmax[3] = {200, 200, 180};
    fs_kinematics_init(k, type, pmin, pmax);
}

static void test_corexy_maps_x_and_y_onto_both_motors(void **state)
{
    (void)state;
    struct fs_kinematics k;
    init(&k, FS_KIN_COREXY);
    double pos[3] = {10, 5, 2}, motors[3], back[3];
    fs_kinematics_calc_steppers(&k, pos, motors);
    assert_true(motors[0] == 15.0 && motors[1] == 5.0 && motors[2] == 2.0);
    fs_kinematics_calc_position(&k, motors, back);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(back[i] - pos[i]) < 1e-12);
    /* Pure X turns both motors the same way, pure Y in opposite ways. */
    double x_dir[3] = {1, 0, 0}, y_dir[3] = {0, 1, 0}, r[3];
    fs_kinematics_calc_ratios(&k, x_dir, r);
    assert_true(r[0] == 1.0 && r[1] == 1.0 && r[2] == 0.0);
    fs_kinematics_calc_ratios(&k, y_dir, r);
    assert_true(r[0] == 1.0 && r[1] == -1.0);
    /* Homing X or Y needs both motors; Z only its own. */
    assert_int_equal(fs_kinematics_axis_steppers(&k, 0), 0x3);
    assert_int_equal(fs_kinematics_axis_steppers(&k, 1), 0x3);
    assert_int_equal(fs_kinematics_axis_steppers(&k, 2), 0x4);
}

static void test_cartesian_motors_follow_their_axis(void **state)
{
    (void)state;
    struct fs_kinematics k;
    init(&k, FS_KIN_CARTESIAN);
    double pos[3] = {10, 5, 2}, motors[3];
    fs_kinematics_calc_steppers(&k, pos, motors);
    assert_true(motors[0] == 10.0 && motors[1] == 5.0 && motors[2] == 2.0);
    assert_int_equal(fs_kinematics_axis_steppers(&k, 0), 0x1);
}

static void test_moves_outside_the_travel_are_refused_with_the_position(void **state)
{
    (void)state;
    struct fs_kinematics k;
    struct fs_error err = {{0}};
    init(&k, FS_KIN_CARTESIAN);
    double start[4] = {100, 10, 0.3, 0}, end[4] = {250, 10, 0.3, 1};
    assert_int_equal(fs_kinematics_check_move(&k, start, end, &err), -1);
    assert_string_equal(err.msg, "Must home axis first: 250.000 10.000 0.300 [1.000]");
    k.homed_axes = 0x7;
    assert_int_equal(fs_kinematics_check_move(&k, start, end, &err), -1);
    assert_string_equal(err.msg, "Move out of range: 250.000 10.000 0.300 [1.000]");
    double below[4] = {100, 10, -0.1, 0};
    assert_int_equal(fs_kinematics_check_move(&k, start, below, &err), -1);
    double inside[4] = {200, 0, 180, 5};
    assert_int_equal(fs_kinematics_check_move(&k, start, inside, &err), 0);
    /* Only moving axes matter: Y unhomed does not stop an X move. */
    k.homed_axes = 0x1;
    double x_only[4] = {150, 10, 0.3, 0};
    assert_int_equal(fs_kinematics_check_move(&k, start, x_only, &err), 0);
    char homed[4];
    fs_kinematics_homed_string(0x5, homed);
    assert_string_equal(homed, "xz");
}

static void test_gear_ratio_lists_multiply(void **state)
{
    (void)state;
    double r;
    assert_int_equal(fs_rail_parse_gear_ratio("3:1, 2:1", &r), 0);
    assert_true(fabs(r - 6.0) < 1e-12);
    assert_int_equal(fs_rail_parse_gear_ratio("80:16", &r), 0);
    assert_true(fabs(r - 5.0) < 1e-12);
    assert_int_equal(fs_rail_parse_gear_ratio("", &r), 0);
    assert_true(r == 1.0);
    assert_int_equal(fs_rail_parse_gear_ratio("3:", &r), -1);
    assert_int_equal(fs_rail_parse_gear_ratio("3:0", &r), -1);
    assert_int_equal(fs_rail_parse_gear_ratio("3:1 2:1", &r), -1);
}

static int read_rail(const char *text, struct fs_rail_config *rail, struct fs_error *err)
{
    struct fs_config *cfg;
    if (fs_config_load_string(text, "printer.cfg", &cfg, err) < 0)
        return -1;
    int rc = fs_rail_config_read(fs_config_get_section(cfg, "stepper_x"), 300.0, rail, err);
    fs_config_free(cfg);
    return rc;
}

static void test_rail_options_give_step_distance_and_homing_direction(void **state)
{
    (void)state;
    struct fs_rail_config rail;
    struct fs_error err = {{0}};
    const char *ok_text = "[stepper_x]\nstep_pin: PB0\ndir_pin: !PB1\nenable_pin: !PB2\n"
                          "endstop_pin: ^PB3\nmicrosteps: 16\nrotation_distance: 40\n"
                          "gear_ratio: 2:1\nposition_endstop: 200\nposition_max: 200\n"
                          "homing_speed: 20\n";
    if (read_rail(ok_text, &rail, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(fabs(rail.motor.step_dist - 40.0 / (200 * 16 * 2)) < 1e-15);
    assert_int_equal(rail.homing_positive_dir, 1);
    assert_true(rail.second_homing_speed == 10.0 && rail.homing_retract_dist == 5.0);
    assert_true(rail.motor.dir_pin.invert && rail.endstop_pin.pull_up == 1);
}

static void test_rail_mistakes_name_the_file_and_line(void **state)
{
    (void)state;
    struct fs_rail_config rail;
    struct fs_error err = {{0}};
    const char *outside = "[stepper_x]\nstep_pin: PB0\ndir_pin: PB1\nendstop_pin: PB3\n"
                          "microsteps: 16\nrotation_distance: 40\n"
                          "position_endstop: 250\nposition_max: 200\n";
    assert_int_equal(read_rail(outside, &rail, &err), -1);
    assert_non_null(strstr(err.msg, "printer.cfg:"));
    assert_non_null(strstr(err.msg, "position_endstop"));
    assert_non_null(strstr(err.msg, "must lie within"));
    const char *gears = "[stepper_x]\nstep_pin: PB0\ndir_pin: PB1\nendstop_pin: PB3\n"
                        "microsteps: 16\nrotation_distance: 40\ngear_ratio: 3-1\n"
                        "position_endstop: 0\nposition_max: 200\n";
    assert_int_equal(read_rail(gears, &rail, &err), -1);
    assert_non_null(strstr(err.msg, "printer.cfg:7"));
    assert_non_null(strstr(err.msg, "gear_ratio"));
    const char *middle = "[stepper_x]\nstep_pin: PB0\ndir_pin: PB1\nendstop_pin: PB3\n"
                         "microsteps: 16\nrotation_distance: 40\n"
                         "position_endstop: 100\nposition_max: 200\n";
    assert_int_equal(read_rail(middle, &rail, &err), -1);
    assert_non_null(strstr(err.msg, "homing_positive_dir"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corexy_maps_x_and_y_onto_both_motors),
        cmocka_unit_test(test_cartesian_motors_follow_their_axis),
        cmocka_unit_test(test_moves_outside_the_travel_are_refused_with_the_position),
        cmocka_unit_test(test_gear_ratio_lists_multiply),
        cmocka_unit_test(test_rail_options_give_step_distance_and_homing_direction),
        cmocka_unit_test(test_rail_mistakes_name_the_file_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
