/* The world's event loop with a stand-in firmware (echo_firmware.c): bytes
 * cross the wire in the time the baud rate allows, firmware timers drive a
 * heater pin and the plant follows, the engine's reactor runs on virtual
 * time, MCU clocks follow their crystal error and power, link faults lose
 * bytes, and the same seed gives the same trace. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "core/error.h"   /* struct fs_error */
#include "core/reactor.h" /* fs_reactor */
#include "sim_world.h"    /* sim_world */

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

struct received {
    uint8_t data[4096];
    size_t len;
    double first_time, last_time;
};

static void record(void *arg, const uint8_t *data, size_t len, double t)
{
    struct received *r = arg;
    if (!r->len)
        r->first_time = t;
    r->last_time = t;
    assert_true(r->len + len <= sizeof(r->data));
    memcpy(r->data + r->len, data, len);
    r->len += len;
}

static struct sim_world *world_with_mcu(uint64_t seed, struct received *rx)
{
    struct fs_error err;
    struct sim_world *w = sim_world_new(seed, &err);
    assert_non_null(w);
    assert_int_equal(sim_world_add_mcu(w, "mcu", NULL, &err), 0);
    if (rx)
        fs_transport_set_receiver(sim_world_transport(w, "mcu"), record, rx);
    return w;
}

static void test_echo_of_ten_bytes_takes_two_times_400us(void **state)
{
    (void)state;
    struct received rx = {0};
    struct sim_world *w = world_with_mcu(1, &rx);
    struct fs_error err;
    const uint8_t msg[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(fs_transport_send(sim_world_transport(w, "mcu"), msg, 10, &err), 0);
    /* The MCU has all ten bytes only when the last one has crossed. */
    assert_int_equal(sim_world_run_until(w, 399999, &err), 0);
    assert_int_equal(sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU)->bytes_delivered, 0);
    assert_int_equal(sim_world_run_until(w, 400000, &err), 0);
    assert_int_equal(sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU)->bytes_delivered, 10);
    assert_int_equal(rx.len, 0);
    assert_int_equal(sim_world_run_until(w, NS_PER_MS, &err), 0);
    assert_int_equal(rx.len, 10);
    assert_memory_equal(rx.data, msg, 10);
    assert_true(rx.first_time == 800000 / 1e9);
    sim_world_free(w);
}

static void test_firmware_pwm_heats_to_half_power_equilibrium(void **state)
{
    (void)state;
    struct received rx = {0};
    struct sim_world *w = world_with_mcu(1, &rx);
    struct fs_error err;
    struct plant_heater_params hp;
    plant_heater_params_default(&hp);
    hp.capacity_j_per_k = 2.0; /* tau 11 s, so a minute or two settles */
    int h = sim_world_add_heater(w, "mcu", "P5", "P6", &hp, NULL, &err);
    assert_int_equal(h, 0);
    assert_int_equal(sim_world_run_until(w, 150 * NS_PER_S, &err), 0);
    double expected = hp.ambient_c + 0.5 * hp.power_w / hp.loss_w_per_k;
    double temp = sim_world_heater_temp_c(w, h);
    assert_true(fabs(temp - expected) < 0.01 * expected);

    /* The firmware's ADC reading is the thermistor at that temperature. */
    const uint8_t query = 0xAD;
    fs_transport_send(sim_world_transport(w, "mcu"), &query, 1, &err);
    assert_int_equal(sim_world_run_until(w, 151 * NS_PER_S, &err), 0);
    assert_int_equal(rx.len, 2);
    unsigned adc = (unsigned)rx.data[0] << 8 | rx.data[1];
    unsigned want = plant_thermistor_adc(sim_world_thermistor(w, h),
                                         sim_world_heater_temp_c(w, h));
    assert_true(adc + 2 >= want && adc <= want + 2); /* drifts < 1 count in 1 ms */

    struct sim_world_stats st;
    sim_world_get_stats(w, &st);
    assert_int_equal(st.now_ns, 151 * NS_PER_S);
    assert_true(st.mcu_wakes >= 150000);
    sim_world_free(w);
}

static void test_clock_follows_ppm_power_on_delay_and_power_cycle(void **state)
{
    (void)state;
    struct fs_error err;
    struct sim_world *w = sim_world_new(3, &err);
    struct sim_mcu_options opt;
    sim_mcu_options_default(&opt);
    opt.clock_error_ppb = 100000; /* +100 ppm */
    opt.power_on_ns = 5 * NS_PER_MS;
    assert_int_equal(sim_world_add_mcu(w, "board", &opt, &err), 0);
    assert_int_equal(sim_world_add_mcu(w, "board", &opt, &err), -1);
    assert_non_null(strstr(err.msg, "board"));
    int h = sim_world_add_heater(w, "board", "P5", "P6", NULL, NULL, &err);
    assert_int_equal(h, 0);
    assert_int_equal(sim_world_run_until(w, 4 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_world_mcu_clock(w, "board"), 0);
    assert_int_equal(sim_world_run_until(w, 5 * NS_PER_MS + NS_PER_S, &err), 0);
    assert_int_equal(sim_world_mcu_clock(w, "board"), 1000100);
    /* The toggle timer ran on the fast clock: 1000 toggles, the last one
     * left the pin low (an even count). */
    assert_int_equal(sim_world_pin_level(w, "board", "P5"), 0);
    assert_int_equal(sim_world_run_until(w, 5 * NS_PER_MS + NS_PER_S + 999000, &err), 0);
    assert_int_equal(sim_world_pin_level(w, "board", "P5"), 1);

    assert_int_equal(sim_world_mcu_power_off(w, "board", &err), 0);
    assert_int_equal(sim_world_pin_level(w, "board", "P5"), 0);
    assert_true(sim_world_heater_drive(w, h) == 0.0);
    assert_int_equal(sim_world_mcu_clock(w, "board"), 0);
    assert_int_equal(sim_world_run_until(w, 2 * NS_PER_S, &err), 0);
    assert_int_equal(sim_world_pin_level(w, "board", "P5"), 0);
    assert_int_equal(sim_world_mcu_power_on(w, "board", &err), 0);
    assert_int_equal(sim_world_run_until(w, 3 * NS_PER_S, &err), 0);
    assert_int_equal(sim_world_mcu_clock(w, "board"), 1000100);
    assert_int_equal(sim_world_mcu_power_off(w, "nope", &err), -1);

    /* A supply dropout of 50 ms: the clock restarts when power returns. */
    assert_int_equal(sim_world_mcu_power_cycle(w, "board", 50 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_world_run_until(w, 3 * NS_PER_S + 49 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_world_mcu_clock(w, "board"), 0);
    assert_int_equal(sim_world_run_until(w, 4 * NS_PER_S + 50 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_world_mcu_clock(w, "board"), 1000100);

    opt.clock_error_ppb = -1000000000; /* a clock that stands still */
    assert_int_equal(sim_world_add_mcu(w, "broken", &opt, &err), -1);
    assert_non_null(strstr(err.msg, "clock error"));
    sim_world_free(w);
}

#define PROBE_WAKE_S 0.0123456789

struct engine_probe {
    struct fs_timer timer;
    struct fs_reactor *reactor;
    struct fs_transport *transport;
    int fired;
    double fired_at;
};

static double probe_fire(struct fs_timer *t, double eventtime)
{
    struct engine_probe *p = (struct engine_probe *)t;
    p->fired++;
    p->fired_at = fs_reactor_now(p->reactor);
    /* The reactor is never handed a time before the timer's waketime. */
    assert_true(eventtime >= PROBE_WAKE_S);
    const uint8_t ping = 0x42;
    fs_transport_send(p->transport, &ping, 1, NULL);
    return FS_NEVER;
}

static int got_bytes(void *arg)
{
    return ((struct received *)arg)->len > 0;
}

static void test_engine_reactor_runs_on_virtual_time(void **state)
{
    (void)state;
    struct received rx = {0};
    struct sim_world *w = world_with_mcu(5, &rx);
    struct fs_reactor r;
    struct fs_reactor_backend be = sim_world_reactor_backend(w);
    fs_reactor_init(&r, &be);
    sim_world_attach_reactor(w, &r);
    struct engine_probe p = {.reactor = &r, .transport = sim_world_transport(w, "mcu")};
    fs_timer_init(&p.timer, probe_fire, NULL);
    /* A waketime that is not a whole number of nanoseconds. */
    fs_reactor_timer_set(&r, &p.timer, PROBE_WAKE_S);
    assert_int_equal(fs_reactor_wait_for(&r, got_bytes, &rx, 1.0), 0);
    assert_int_equal(p.fired, 1);
    assert_true(p.fired_at >= PROBE_WAKE_S && p.fired_at < PROBE_WAKE_S + 2e-9);
    /* The ping went out when the timer fired and came back 80 us later. */
    assert_true(fabs(rx.first_time - (p.fired_at + 80e-6)) < 2e-9);
    fs_reactor_pause(&r, 2.5);
    assert_true(fs_reactor_now(&r) == 2.5);
    assert_int_equal(sim_world_now_ns(w), 2500000000LL);
    fs_reactor_free(&r);
    sim_world_free(w);
}

static void test_cut_wire_loses_bytes_until_restored(void **state)
{
    (void)state;
    struct received rx = {0};
    struct sim_world *w = world_with_mcu(9, &rx);
    struct fs_error err;
    struct fs_transport *t = sim_world_transport(w, "mcu");
    const uint8_t msg[4] = {1, 2, 3, 4};
    assert_int_equal(sim_world_wire_set_cut(w, "mcu", SIM_WIRE_TO_HOST, 1), 0);
    fs_transport_send(t, msg, 4, &err);
    sim_world_run_until(w, 10 * NS_PER_MS, &err);
    assert_int_equal(rx.len, 0);
    assert_int_equal(sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_HOST)->bytes_cut, 4);
    sim_world_wire_set_cut(w, "mcu", SIM_WIRE_TO_HOST, 0);
    fs_transport_send(t, msg, 4, &err);
    sim_world_run_until(w, 20 * NS_PER_MS, &err);
    assert_int_equal(rx.len, 4);
    assert_int_equal(sim_world_wire_set_cut(w, "nope", SIM_WIRE_TO_HOST, 1), -1);
    sim_world_free(w);
}

/* A run with lossy, noisy wires in both directions; returns the trace hash
 * and what arrived. */
static uint64_t noisy_run(uint64_t seed, struct received *rx)
{
    struct fs_error err;
    struct sim_world *w = world_with_mcu(seed, rx);
    sim_world_add_heater(w, "mcu", "P5", "P6", NULL, NULL, &err);
    sim_world_trace_start(w, NULL);
    sim_world_wire_set_drop(w, "mcu", SIM_WIRE_TO_MCU, 0.1);
    sim_world_wire_set_corrupt(w, "mcu", SIM_WIRE_TO_HOST, 0.1);
    struct fs_transport *t = sim_world_transport(w, "mcu");
    uint8_t block[32];
    for (int i = 0; i < 100; i++) {
        for (size_t j = 0; j < sizeof(block); j++)
            block[j] = (uint8_t)(i + j);
        fs_transport_send(t, block, sizeof(block), &err);
        sim_world_run_until(w, (i + 1) * 10 * NS_PER_MS, &err);
    }
    sim_world_run_until(w, 3 * NS_PER_S, &err);
    uint64_t hash = sim_world_trace_hash(w);
    sim_world_free(w);
    return hash;
}

static void test_same_seed_same_trace_hash(void **state)
{
    (void)state;
    static struct received a, b, c;
    uint64_t ha = noisy_run(77, &a), hb = noisy_run(77, &b), hc = noisy_run(78, &c);
    assert_true(ha == hb);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_true(a.len < 3200); /* the drops happened */
    assert_true(ha != hc);
}

static unsigned query_adc(struct sim_world *w, struct received *rx)
{
    struct fs_error err;
    const uint8_t query = 0xAD;
    rx->len = 0;
    fs_transport_send(sim_world_transport(w, "mcu"), &query, 1, &err);
    sim_world_run_until(w, sim_world_now_ns(w) + NS_PER_MS, &err);
    assert_int_equal(rx->len, 2);
    return (unsigned)rx->data[0] << 8 | rx->data[1];
}

static void test_sensor_fault_hooks_reach_the_firmware_adc(void **state)
{
    (void)state;
    struct received rx = {0};
    struct sim_world *w = world_with_mcu(1, &rx);
    struct fs_error err;
    int h = sim_world_add_heater(w, "mcu", "P7", "P6", NULL, NULL, &err);
    assert_int_equal(sim_world_add_heater(w, "mcu", "P8", "P6", NULL, NULL, &err), -1);
    unsigned room = query_adc(w, &rx);
    assert_true(room > 100 && room < 4000);
    sim_world_thermistor(w, h)->fault = PLANT_SENSOR_OPEN;
    assert_int_equal(query_adc(w, &rx), 4095);
    sim_world_thermistor(w, h)->fault = PLANT_SENSOR_SHORT;
    assert_int_equal(query_adc(w, &rx), 0);
    sim_world_thermistor(w, h)->fault = PLANT_SENSOR_OK;
    assert_int_equal(query_adc(w, &rx), room);
    sim_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_of_ten_bytes_takes_two_times_400us),
        cmocka_unit_test(test_firmware_pwm_heats_to_half_power_equilibrium),
        cmocka_unit_test(test_clock_follows_ppm_power_on_delay_and_power_cycle),
        cmocka_unit_test(test_engine_reactor_runs_on_virtual_time),
        cmocka_unit_test(test_cut_wire_loses_bytes_until_restored),
        cmocka_unit_test(test_sensor_fault_hooks_reach_the_firmware_adc),
        cmocka_unit_test(test_same_seed_same_trace_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
