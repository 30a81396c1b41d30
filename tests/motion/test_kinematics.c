/* Kinematics on their own: corexy motor mapping, the range check and its
 * messages, and the gear ratio option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h> /* fabs */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corexy_maps_x_and_y_onto_both_motors),
        cmocka_unit_test(test_cartesian_motors_follow_their_axis),
        cmocka_unit_test(test_moves_outside_the_travel_are_refused_with_the_position),
        cmocka_unit_test(test_gear_ratio_lists_multiply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
