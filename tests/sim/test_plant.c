/* The plant models behave like the physics they stand for: a heater settles
 * where its power balances its losses, a thermistor reads what the beta
 * formula and the divider predict, an axis counts steps in the direction the
 * dir pin says, and an endstop closes at its switch position. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "plant_axis.h"       /* plant_axis */
#include "plant_heater.h"     /* plant_heater */
#include "plant_thermistor.h" /* plant_thermistor */

#define NS_PER_S 1000000000LL

static void test_heater_full_power_settles_at_power_over_loss(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater h;
    plant_heater_init(&h, &p, 0);
    plant_heater_set_drive(&h, 0, 1.0);
    /* Ten time constants, advanced in 1 ms steps as a world would. */
    int64_t end = (int64_t)(10.0 * p.capacity_j_per_k / p.loss_w_per_k) * NS_PER_S;
    for (int64_t t = 0; t <= end; t += 1000000)
        plant_heater_advance(&h, t);
    double expected = p.ambient_c + p.power_w / p.loss_w_per_k;
    assert_true(fabs(h.temp_c - expected) <= 0.01 * expected);
}

static void test_heater_result_does_not_depend_on_step_size(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater coarse, fine;
    plant_heater_init(&coarse, &p, 0);
    plant_heater_init(&fine, &p, 0);
    plant_heater_set_drive(&coarse, 0, 0.5);
    plant_heater_set_drive(&fine, 0, 0.5);
    plant_heater_advance(&coarse, 30 * NS_PER_S);
    for (int64_t t = 0; t <= 30 * NS_PER_S; t += 10000000)
        plant_heater_advance(&fine, t);
    /* One time constant's worth of exponential approach, analytically. */
    double tau = p.capacity_j_per_k / p.loss_w_per_k;
    double eq = p.ambient_c + 0.5 * p.power_w / p.loss_w_per_k;
    double expected = eq + (p.initial_c - eq) * exp(-30.0 / tau);
    assert_true(fabs(coarse.temp_c - expected) < 1e-9);
    assert_true(fabs(fine.temp_c - expected) < 1e-6);
}

static void test_heater_fan_and_disconnect_cool_it(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater h;
    plant_heater_init(&h, &p, 0);
    plant_heater_set_drive(&h, 0, 1.0);
    plant_heater_set_fan(&h, 0, 1.0);
    plant_heater_advance(&h, 2000 * NS_PER_S);
    double with_fan = p.ambient_c + p.power_w / (p.loss_w_per_k + p.fan_loss_w_per_k);
    assert_true(fabs(h.temp_c - with_fan) < 0.01);
    h.disconnected = 1;
    plant_heater_advance(&h, 4000 * NS_PER_S);
    assert_true(fabs(h.temp_c - p.ambient_c) < 0.01);
}

static double beta_adc(double temp_c)
{
    double r = 100000.0 * exp(3950.0 * (1.0 / (temp_c + 273.15) - 1.0 / 298.15));
    return 4095.0 * r / (r + 4700.0);
}

static void test_thermistor_adc_matches_beta_formula(void **state)
{
    (void)state;
    struct plant_thermistor_params p;
    plant_thermistor_params_default(&p);
    struct plant_thermistor t;
    plant_thermistor_init(&t, &p);
    assert_true(fabs(plant_thermistor_resistance_ohm(&p, 25.0) - 100000.0) < 1e-6);
    const double temps[] = {0.0, 25.0, 60.0, 110.0, 200.0, 250.0, 300.0};
    for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
        double want = beta_adc(temps[i]);
        assert_true(fabs(plant_thermistor_adc(&t, temps[i]) - want) <= 0.5);
    }
    /* Hotter means less resistance, so the reading falls. */
    assert_true(plant_thermistor_adc(&t, 200.0) < plant_thermistor_adc(&t, 100.0));
}

static void test_thermistor_faults_read_full_scale_and_zero(void **state)
{
    (void)state;
    struct plant_thermistor_params p;
    plant_thermistor_params_default(&p);
    struct plant_thermistor t;
    plant_thermistor_init(&t, &p);
    t.fault = PLANT_SENSOR_OPEN;
    assert_int_equal(plant_thermistor_adc(&t, 25.0), 4095);
    t.fault = PLANT_SENSOR_SHORT;
    assert_int_equal(plant_thermistor_adc(&t, 25.0), 0);
}

static void step(struct plant_axis *a, int n)
{
    for (int i = 0; i < n; i++) {
        plant_axis_set_step(a, 1);
        plant_axis_set_step(a, 0);
    }
}

static void test_axis_counts_steps_with_direction(void **state)
{
    (void)state;
    struct plant_axis_params p;
    plant_axis_params_default(&p);
    p.endstop_side = PLANT_ENDSTOP_NONE;
    struct plant_axis a;
    plant_axis_init(&a, &p);
    plant_axis_set_enable(&a, 0); /* active low: enabled */
    plant_axis_set_dir(&a, 1);
    step(&a, 800);
    assert_int_equal(a.position_steps, 800);
    assert_true(fabs(plant_axis_position_mm(&a) - 10.0) < 1e-12);
    plant_axis_set_dir(&a, 0);
    step(&a, 300);
    assert_int_equal(a.position_steps, 500);
    assert_int_equal(a.step_count, 1100);
    /* Holding the step pin high is one edge, not many. */
    plant_axis_set_step(&a, 1);
    plant_axis_set_step(&a, 1);
    plant_axis_set_step(&a, 0);
    assert_int_equal(a.position_steps, 499);
}

static void test_axis_inverted_dir_and_disabled_driver(void **state)
{
    (void)state;
    struct plant_axis_params p;
    plant_axis_params_default(&p);
    p.invert_dir = 1;
    struct plant_axis a;
    plant_axis_init(&a, &p);
    plant_axis_set_dir(&a, 1);
    step(&a, 5); /* power-on: disabled */
    assert_int_equal(a.position_steps, 0);
    assert_int_equal(a.ignored_steps, 5);
    plant_axis_set_enable(&a, 0);
    step(&a, 5);
    assert_int_equal(a.position_steps, -5);
}

static void test_endstop_triggers_at_switch_position(void **state)
{
    (void)state;
    struct plant_axis_params p;
    plant_axis_params_default(&p);
    p.initial_mm = 1.0;
    p.endstop_side = PLANT_ENDSTOP_MIN;
    p.endstop_mm = 0.5;
    p.endstop_trigger_level = 0;
    struct plant_axis a;
    plant_axis_init(&a, &p);
    plant_axis_set_enable(&a, 0);
    plant_axis_set_dir(&a, 0);
    step(&a, 39); /* 1.0 mm - 39/80 mm: one step short of the switch */
    assert_false(plant_axis_endstop_triggered(&a));
    assert_int_equal(plant_axis_endstop_level(&a), 1);
    step(&a, 1);
    assert_true(plant_axis_endstop_triggered(&a));
    assert_int_equal(plant_axis_endstop_level(&a), 0);
    step(&a, 10); /* beyond the switch it stays pressed */
    assert_true(plant_axis_endstop_triggered(&a));
    a.endstop_stuck_open = 1;
    assert_false(plant_axis_endstop_triggered(&a));
}

static void test_max_endstop_triggers_at_or_above(void **state)
{
    (void)state;
    struct plant_axis_params p;
    plant_axis_params_default(&p);
    p.has_enable_pin = 0;
    p.steps_per_mm = 100.0;
    p.endstop_side = PLANT_ENDSTOP_MAX;
    p.endstop_mm = 0.1;
    struct plant_axis a;
    plant_axis_init(&a, &p);
    plant_axis_set_dir(&a, 1);
    step(&a, 9);
    assert_false(plant_axis_endstop_triggered(&a));
    step(&a, 1);
    assert_true(plant_axis_endstop_triggered(&a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heater_full_power_settles_at_power_over_loss),
        cmocka_unit_test(test_heater_result_does_not_depend_on_step_size),
        cmocka_unit_test(test_heater_fan_and_disconnect_cool_it),
        cmocka_unit_test(test_thermistor_adc_matches_beta_formula),
        cmocka_unit_test(test_thermistor_faults_read_full_scale_and_zero),
        cmocka_unit_test(test_axis_counts_steps_with_direction),
        cmocka_unit_test(test_axis_inverted_dir_and_disabled_driver),
        cmocka_unit_test(test_endstop_triggers_at_switch_position),
        cmocka_unit_test(test_max_endstop_triggers_at_or_above),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
