/* Sensor conversions against datasheet values: what a user checks when a
 * printer reads 5 C off — the named sensor types at points their datasheets
 * print, both directions, and the divider with pull-up and inline resistors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs, exp */
#include <string.h> /* strstr */

#include "core/error.h"     /* struct fs_error */
#include "thermal/sensor.h" /* fs_sensor_* */

#define TOLERANCE_C 0.5

static struct fs_sensor builtin(const char *name)
{
    struct fs_sensor s;
    assert_int_equal(fs_sensor_builtin(name, &s), 0);
    return s;
}

/* Resistance -> temperature and back, within 0.5 C / the same margin. */
static void check_point(const struct fs_sensor *s, double t_c, double r_ohm)
{
    double got_c = fs_sensor_resistance_to_c(s, r_ohm);
    if (fabs(got_c - t_c) > TOLERANCE_C)
        fail_msg("%.1f ohm read as %.2f C, datasheet %.1f C", r_ohm, got_c, t_c);
    double got_r = fs_sensor_c_to_resistance(s, t_c);
    double back_c = fs_sensor_resistance_to_c(s, got_r);
    if (fabs(back_c - t_c) > 1e-6)
        fail_msg("%.1f C -> %.1f ohm -> %.4f C", t_c, got_r, back_c);
}

/* Through the divider: a reading for t_c gives t_c back, and it is the
 * reading the divider formula predicts for the datasheet resistance. */
static void check_adc(const struct fs_sensor *s, double t_c, double r_ohm)
{
    double total = r_ohm + s->inline_ohm;
    double adc = total / (total + s->pullup_ohm);
    double got_c = fs_sensor_adc_to_c(s, adc);
    if (fabs(got_c - t_c) > TOLERANCE_C)
        fail_msg("ADC %.5f read as %.2f C, datasheet %.1f C", adc, got_c, t_c);
    double back = fs_sensor_c_to_adc(s, t_c);
    assert_true(fabs(fs_sensor_adc_to_c(s, back) - t_c) < 1e-6);
}

static void test_generic_3950_matches_its_beta_curve(void **state)
{
    (void)state;
    struct fs_sensor s = builtin("Generic 3950");
    check_point(&s, 25.0, 100000.0);
    /* R(T) = R25 exp(beta (1/T - 1/T25)), the model's own definition. */
    for (double t = 0.0; t <= 300.0; t += 50.0) {
        double r = 100000.0 * exp(3950.0 * (1.0 / (t + 273.15) - 1.0 / 298.15));
        check_point(&s, t, r);
        check_adc(&s, t, r);
    }
}

static void test_epcos_b57560g104f_reads_its_datasheet_table(void **state)
{
    (void)state;
    struct fs_sensor s = builtin("EPCOS 100K B57560G104F");
    check_point(&s, 25.0, 100000.0);
    check_point(&s, 150.0, 1641.9);
    check_point(&s, 250.0, 226.15);
    /* B25/100 = 4092 K is defined by R100 = R25 exp(B (1/373.15 - 1/298.15)). */
    check_point(&s, 100.0, 100000.0 * exp(4092.0 * (1.0 / 373.15 - 1.0 / 298.15)));
    check_adc(&s, 200.0, fs_sensor_c_to_resistance(&s, 200.0));
    check_adc(&s, 150.0, 1641.9);
}

static void test_semitec_104gt2_reads_its_datasheet_table(void **state)
{
    (void)state;
    struct fs_sensor s = builtin("ATC Semitec 104GT-2");
    check_point(&s, 20.0, 126800.0);
    check_point(&s, 150.0, 1360.0);
    check_point(&s, 300.0, 80.65);
    /* R25 = 100k; B25/85 = 4267 K defines R85. */
    check_point(&s, 25.0, 100000.0);
    check_point(&s, 85.0, 100000.0 * exp(4267.0 * (1.0 / 358.15 - 1.0 / 298.15)));
    check_adc(&s, 250.0, fs_sensor_c_to_resistance(&s, 250.0));
}

static void test_pt1000_follows_iec_60751(void **state)
{
    (void)state;
    struct fs_sensor s = builtin("PT1000");
    /* IEC 60751 table values for Pt1000 (ten times Pt100's). */
    check_point(&s, 0.0, 1000.0);
    check_point(&s, 100.0, 1385.06);
    check_point(&s, 200.0, 1758.56);
    check_point(&s, 300.0, 2120.52);
    check_point(&s, 400.0, 2470.92);
    check_point(&s, -50.0, 803.06);
    check_adc(&s, 250.0, fs_sensor_c_to_resistance(&s, 250.0));
    check_adc(&s, 25.0, 1097.35);
}

static void test_custom_three_point_thermistor_reproduces_its_points(void **state)
{
    (void)state;
    struct fs_sensor s;
    struct fs_error err;
    const double t[3] = {25.0, 150.0, 250.0};
    const double r[3] = {100000.0, 1641.9, 226.15};
    assert_int_equal(fs_sensor_thermistor_points(&s, t, r, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(fs_sensor_resistance_to_c(&s, r[i]) - t[i]) < 0.01);
    const double bad_r[3] = {100.0, 1000.0, 10000.0}; /* rises with temperature */
    assert_int_equal(fs_sensor_thermistor_points(&s, t, bad_r, &err), -1);
    assert_non_null(strstr(err.msg, "NTC"));
}

static void test_pullup_and_inline_resistor_shift_the_reading(void **state)
{
    (void)state;
    struct fs_sensor s = builtin("Generic 3950");
    double r200 = fs_sensor_c_to_resistance(&s, 200.0);
    s.pullup_ohm = 2200.0;
    s.inline_ohm = 100.0;
    check_adc(&s, 200.0, r200);
    /* Without accounting for the inline resistor the same reading would
     * look several degrees colder: the correction matters. */
    double adc = fs_sensor_c_to_adc(&s, 200.0);
    s.inline_ohm = 0.0;
    assert_true(fs_sensor_adc_to_c(&s, adc) < 195.0);
}

static void test_open_and_shorted_sensors_read_far_out_of_range(void **state)
{
    (void)state;
    struct fs_sensor ntc = builtin("Generic 3950");
    struct fs_sensor rtd = builtin("PT1000");
    assert_true(fs_sensor_adc_to_c(&ntc, 1.0) < -100.0); /* open NTC: "cold" */
    assert_true(fs_sensor_adc_to_c(&ntc, 0.0) > 1000.0); /* shorted NTC: "hot" */
    assert_true(fs_sensor_adc_to_c(&rtd, 1.0) > 1000.0);
    assert_true(fs_sensor_adc_to_c(&rtd, 0.0) < -100.0);
}

static void test_unknown_sensor_name_is_refused(void **state)
{
    (void)state;
    struct fs_sensor s;
    assert_int_equal(fs_sensor_builtin("Generic 3950 ", &s), -1);
    assert_int_equal(fs_sensor_builtin("EPCOS", &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic_3950_matches_its_beta_curve),
        cmocka_unit_test(test_epcos_b57560g104f_reads_its_datasheet_table),
        cmocka_unit_test(test_semitec_104gt2_reads_its_datasheet_table),
        cmocka_unit_test(test_pt1000_follows_iec_60751),
        cmocka_unit_test(test_custom_three_point_thermistor_reproduces_its_points),
        cmocka_unit_test(test_pullup_and_inline_resistor_shift_the_reading),
        cmocka_unit_test(test_open_and_shorted_sensors_read_far_out_of_range),
        cmocka_unit_test(test_unknown_sensor_name_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
