/* The plant's fault hooks behave like the physics they stand for: a weak
 * cartridge settles where its reduced power balances the losses, a dying
 * one follows its decay exactly however often it is advanced, a welded
 * switch heats with the pin off, and a thermistor that came loose follows
 * its own small mass, far below a heating block. References are a fine
 * Runge-Kutta integration of the same equations, written here. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "plant_heater.h"     /* plant_heater */
#include "plant_thermistor.h" /* plant_thermistor */

#define NS_PER_S 1000000000LL

/* The two-mass system the header documents, with the decaying power. */
struct ref {
    double c, p, k, amb, s0, sf, lam; /* block */
    double cs, kb, ka;                /* bead */
};

static void ref_deriv(const struct ref *r, double t, const double y[2], double dy[2])
{
    double s = r->sf + (r->s0 - r->sf) * exp(-r->lam * t);
    dy[0] = (r->p * s - r->k * (y[0] - r->amb)) / r->c;
    dy[1] = (-r->kb * (y[1] - y[0]) - r->ka * (y[1] - r->amb)) / r->cs;
}

static void ref_run(const struct ref *r, double y[2], double seconds)
{
    const double h = 1e-3;
    long n = lround(seconds / h);
    for (long i = 0; i < n; i++) {
        double t = i * h, k1[2], k2[2], k3[2], k4[2], tmp[2];
        ref_deriv(r, t, y, k1);
        for (int j = 0; j < 2; j++)
            tmp[j] = y[j] + h / 2 * k1[j];
        ref_deriv(r, t + h / 2, tmp, k2);
        for (int j = 0; j < 2; j++)
            tmp[j] = y[j] + h / 2 * k2[j];
        ref_deriv(r, t + h / 2, tmp, k3);
        for (int j = 0; j < 2; j++)
            tmp[j] = y[j] + h * k3[j];
        ref_deriv(r, t + h, tmp, k4);
        for (int j = 0; j < 2; j++)
            y[j] += h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
    }
}

static void test_weak_cartridge_settles_at_its_reduced_power(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater h;
    plant_heater_init(&h, &p, 0);
    plant_heater_set_drive(&h, 0, 1.0);
    plant_heater_set_power_scale(&h, 0, 0.5, 0.0, 0.0);
    plant_heater_advance(&h, 3000 * NS_PER_S);
    double expected = p.ambient_c + 0.5 * p.power_w / p.loss_w_per_k;
    assert_true(fabs(h.temp_c - expected) < 1e-6);
    assert_true(fabs(plant_heater_equilibrium_c(&h, 1.0, 0.0) - expected) < 1e-9);
    /* Dead: back to the room whatever the drive. */
    plant_heater_set_power_scale(&h, 3000 * NS_PER_S, 0.0, 0.0, 0.0);
    plant_heater_advance(&h, 6000 * NS_PER_S);
    assert_true(fabs(h.temp_c - p.ambient_c) < 1e-6);
}

static void test_dying_cartridge_follows_its_decay_exactly(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater coarse, fine;
    plant_heater_init(&coarse, &p, 0);
    plant_heater_init(&fine, &p, 0);
    plant_heater_set_drive(&coarse, 0, 1.0);
    plant_heater_set_drive(&fine, 0, 1.0);
    plant_heater_set_power_scale(&coarse, 0, 1.0, 0.2, 60.0);
    plant_heater_set_power_scale(&fine, 0, 1.0, 0.2, 60.0);
    plant_heater_advance(&coarse, 300 * NS_PER_S);
    for (int64_t t = 0; t <= 300 * NS_PER_S; t += 7000000)
        plant_heater_advance(&fine, t);
    plant_heater_advance(&fine, 300 * NS_PER_S);
    struct ref r = {.c = p.capacity_j_per_k, .p = p.power_w, .k = p.loss_w_per_k,
                    .amb = p.ambient_c, .s0 = 1.0, .sf = 0.2, .lam = 1.0 / 60.0,
                    .cs = 1.0, .kb = 0.0, .ka = 1.0};
    double y[2] = {p.initial_c, p.initial_c};
    ref_run(&r, y, 300.0);
    assert_true(fabs(coarse.temp_c - y[0]) < 1e-6);
    assert_true(fabs(fine.temp_c - coarse.temp_c) < 1e-9);
    assert_true(fabs(coarse.power_scale - (0.2 + 0.8 * exp(-5.0))) < 1e-12);
    /* It rose, then sank towards what a fifth of the power holds. */
    assert_true(coarse.temp_c < 100.0 && coarse.temp_c > 50.0);
}

static void test_welded_switch_heats_with_the_pin_off(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater h;
    plant_heater_init(&h, &p, 0);
    plant_heater_set_stuck_on(&h, 0, 1);
    plant_heater_set_drive(&h, 10 * NS_PER_S, 0.0);
    plant_heater_advance(&h, 60 * NS_PER_S);
    double eq = p.ambient_c + p.power_w / p.loss_w_per_k;
    double tau = p.capacity_j_per_k / p.loss_w_per_k;
    assert_true(fabs(h.temp_c - (eq + (p.initial_c - eq) * exp(-60.0 / tau))) < 1e-9);
    plant_heater_set_stuck_on(&h, 60 * NS_PER_S, 0);
    double at_release = h.temp_c;
    plant_heater_advance(&h, 70 * NS_PER_S);
    assert_true(h.temp_c < at_release);
}

/* The loose bead, driven by a dying cartridge (both exponentials at once),
 * against the numerical reference, and then with the decay rate equal to
 * the block's own rate, the one case the formula treats apart. */
static void check_probe(double tau_s, double fan)
{
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater h;
    plant_heater_init(&h, &p, 0);
    plant_heater_set_drive(&h, 0, 1.0);
    plant_heater_set_fan(&h, 0, fan);
    struct plant_probe_params pp;
    plant_probe_params_default(&pp);
    assert_int_equal(plant_heater_detach_probe(&h, 0, &pp), 0);
    plant_heater_set_power_scale(&h, 0, 1.0, 0.5, tau_s);
    for (int64_t t = 0; t <= 200 * NS_PER_S; t += 333333333)
        plant_heater_advance(&h, t);
    plant_heater_advance(&h, 200 * NS_PER_S);
    struct ref r = {.c = p.capacity_j_per_k, .p = p.power_w,
                    .k = p.loss_w_per_k + fan * p.fan_loss_w_per_k, .amb = p.ambient_c,
                    .s0 = 1.0, .sf = 0.5, .lam = 1.0 / tau_s,
                    .cs = pp.capacity_j_per_k, .kb = pp.to_block_w_per_k,
                    .ka = pp.to_ambient_w_per_k};
    double y[2] = {p.initial_c, p.initial_c};
    ref_run(&r, y, 200.0);
    assert_true(fabs(h.temp_c - y[0]) < 1e-6);
    assert_true(fabs(h.probe_temp_c - y[1]) < 1e-5);
    assert_true(plant_heater_sensed_c(&h) == h.probe_temp_c);
}

static void test_loose_thermistor_follows_its_own_mass(void **state)
{
    (void)state;
    check_probe(80.0, 0.0);
    /* tau = C / k_loss: the decay and the block share one rate. */
    check_probe(20.0 / 0.18, 0.0);
    check_probe(45.0, 1.0);
}

static void test_loose_thermistor_reads_far_below_a_heating_block(void **state)
{
    (void)state;
    struct plant_heater_params p;
    plant_heater_params_default(&p);
    struct plant_heater h;
    plant_heater_init(&h, &p, 0);
    struct plant_probe_params pp;
    plant_probe_params_default(&pp);
    assert_int_equal(plant_heater_detach_probe(&h, 0, &pp), 0);
    plant_heater_set_drive(&h, 0, 1.0);
    plant_heater_advance(&h, 300 * NS_PER_S);
    assert_true(h.temp_c > 200.0);
    assert_true(h.probe_temp_c < 70.0);
    assert_true(h.probe_temp_c > p.ambient_c + 5.0); /* it still feels something */
    /* Put back, it reads the block again. */
    plant_heater_attach_probe(&h, 300 * NS_PER_S);
    assert_true(plant_heater_sensed_c(&h) == h.temp_c);
    /* A bead without mass or contact has no meaning. */
    pp.capacity_j_per_k = 0.0;
    assert_int_equal(plant_heater_detach_probe(&h, 300 * NS_PER_S, &pp), -1);
    pp.capacity_j_per_k = 1.0;
    pp.to_block_w_per_k = pp.to_ambient_w_per_k = 0.0;
    assert_int_equal(plant_heater_detach_probe(&h, 300 * NS_PER_S, &pp), -1);
    assert_false(h.probe_detached);
}

static uint16_t read_at_fixed(void *arg, const struct plant_thermistor *t, double temp_c)
{
    (void)temp_c;
    return plant_thermistor_adc_sound(&t->params, *(double *)arg);
}

static void test_thermistor_hook_decides_unless_open_or_short(void **state)
{
    (void)state;
    struct plant_thermistor_params p;
    plant_thermistor_params_default(&p);
    struct plant_thermistor t;
    plant_thermistor_init(&t, &p);
    assert_int_equal(plant_thermistor_adc(&t, 200.0), plant_thermistor_adc_sound(&p, 200.0));
    double fixed = 25.0;
    t.read_hook = read_at_fixed;
    t.read_hook_arg = &fixed;
    assert_int_equal(plant_thermistor_adc(&t, 200.0), plant_thermistor_adc_sound(&p, 25.0));
    assert_int_not_equal(plant_thermistor_adc(&t, 200.0),
                         plant_thermistor_adc_sound(&p, 200.0));
    t.fault = PLANT_SENSOR_OPEN;
    assert_int_equal(plant_thermistor_adc(&t, 200.0), p.adc_max);
    t.fault = PLANT_SENSOR_SHORT;
    assert_int_equal(plant_thermistor_adc(&t, 200.0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weak_cartridge_settles_at_its_reduced_power),
        cmocka_unit_test(test_dying_cartridge_follows_its_decay_exactly),
        cmocka_unit_test(test_welded_switch_heats_with_the_pin_off),
        cmocka_unit_test(test_loose_thermistor_follows_its_own_mass),
        cmocka_unit_test(test_loose_thermistor_reads_far_below_a_heating_block),
        cmocka_unit_test(test_thermistor_hook_decides_unless_open_or_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
