/* Fault injection in the simulated world: every injected fault changes what
 * the firmware's ADC reads or what the plant and the wires do exactly as
 * sim_inject.h specifies, ends when it should, shows in the trace, and is
 * deterministic (one seed, one trace hash; noise changes with the seed).
 * The firmware runs in the loop where the firmware's view is the point: a
 * range check that trips, a link that goes quiet, a restart. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "core/error.h"   /* struct fs_error */
#include "mcu/frame.h"    /* fs_frame_encode, fs_frame_reader */
#include "mcu/msgproto.h" /* fs_msgproto */
#include "mcu/vlq.h"      /* fs_vlq_encode, fs_vlq_decode */
#include "fw_sim.h"       /* fw_sim_clock_freq */
#include "sim_inject.h"   /* sim_inject_* */
#include "sim_world.h"    /* sim_world */

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define MAX_MESSAGES 2048

/* ---- a minimal host, as in test_sim_world_firmware.c ---- */

struct mini_host {
    struct sim_world *world;
    struct fs_transport *transport;
    struct fs_frame_reader reader;
    uint8_t send_seq;
    uint8_t msg[MAX_MESSAGES][FS_FRAME_CONTENT_MAX];
    size_t msg_len[MAX_MESSAGES];
    int msg_count;
    struct fs_msgproto *proto;
};

static void host_receive(void *arg, const uint8_t *data, size_t len, double t)
{
    (void)t;
    struct mini_host *h = arg;
    struct fs_frame frame;
    while (fs_frame_reader_next(&h->reader, &data, &len, &frame)) {
        h->send_seq = frame.seq;
        if (!frame.len || h->msg_count == MAX_MESSAGES)
            continue;
        memcpy(h->msg[h->msg_count], frame.content, frame.len);
        h->msg_len[h->msg_count++] = frame.len;
    }
}

static void host_send_raw(struct mini_host *h, const uint8_t *content, size_t len)
{
    uint8_t block[FS_FRAME_MAX];
    size_t n = fs_frame_encode(block, h->send_seq, content, len);
    assert_true(n > 0);
    h->send_seq = (h->send_seq + 1) & FS_FRAME_SEQ_MASK;
    struct fs_error err;
    assert_int_equal(fs_transport_send(h->transport, block, n, &err), 0);
}

static void run_ms(struct sim_world *w, int64_t ms)
{
    struct fs_error err;
    assert_int_equal(sim_world_run_until(w, sim_world_now_ns(w) + ms * NS_PER_MS, &err), 0);
}

static void host_command(struct mini_host *h, const char *text)
{
    uint8_t content[FS_FRAME_CONTENT_MAX];
    struct fs_error err;
    int n = fs_msgproto_encode_text(h->proto, text, content, sizeof(content), &err);
    if (n < 0)
        fail_msg("%s: %s", text, err.msg);
    host_send_raw(h, content, (size_t)n);
    run_ms(h->world, 5);
}

/* How many messages named `name` arrived since message index `from`; the
 * last of them in *out when out is not NULL. */
static int host_count(struct mini_host *h, int from, const char *name, struct fs_msg *out)
{
    struct fs_error err;
    int count = 0;
    for (int i = from; i < h->msg_count; i++) {
        const uint8_t *p = h->msg[i];
        struct fs_msg m;
        if (fs_msgproto_decode(h->proto, &p, p + h->msg_len[i], &m, &err) < 0)
            continue;
        if (strcmp(m.format->name, name) == 0) {
            count++;
            if (out)
                *out = m;
        }
    }
    return count;
}

/* identify until an empty chunk; returns the dictionary's length, 0 when
 * the MCU does not answer. */
static size_t host_identify(struct mini_host *h, uint8_t *dict, size_t cap)
{
    size_t have = 0;
    for (int tries = 0; tries < 200; tries++) {
        uint8_t content[16];
        size_t n = fs_vlq_encode(content, 1);
        n += fs_vlq_encode(content + n, (int32_t)have);
        n += fs_vlq_encode(content + n, 40);
        int before = h->msg_count;
        host_send_raw(h, content, n);
        run_ms(h->world, 10);
        if (h->msg_count == before)
            continue; /* a nak taught us the sequence, or nobody home */
        const uint8_t *p = h->msg[h->msg_count - 1], *end = p + h->msg_len[h->msg_count - 1];
        uint32_t id, offset;
        assert_int_equal(fs_vlq_decode(&p, end, &id), 0);
        if (id != 0)
            continue; /* something else the MCU had to say */
        assert_int_equal(fs_vlq_decode(&p, end, &offset), 0);
        assert_int_equal(offset, have);
        size_t len = *p++;
        if (!len)
            return have;
        assert_true(have + len <= cap);
        memcpy(dict + have, p, len);
        have += len;
    }
    return 0;
}

static uint8_t dict_buf[65536];

static void host_start(struct mini_host *h, struct sim_world *w, const char *mcu)
{
    memset(h, 0, sizeof(*h));
    h->world = w;
    h->transport = sim_world_transport(w, mcu);
    fs_frame_reader_init(&h->reader);
    fs_transport_set_receiver(h->transport, host_receive, h);
    size_t len = host_identify(h, dict_buf, sizeof(dict_buf));
    assert_true(len > 0);
    h->proto = fs_msgproto_new();
    struct fs_error err;
    if (fs_msgproto_load_dictionary(h->proto, dict_buf, len, &err) < 0)
        fail_msg("dictionary: %s", err.msg);
}

/* The thermistor on PA2 sampled 8 times every 100 ms, one sum per report,
 * with the MCU's own range check on sums in [min, max]. */
static void host_sample_adc(struct mini_host *h, int min, int max)
{
    uint32_t f = fw_sim_clock_freq();
    char text[256];
    host_command(h, "allocate_oids count=1");
    host_command(h, "config_analog_in oid=0 pin=PA2");
    host_command(h, "finalize_config crc=0");
    uint32_t start = (uint32_t)sim_world_mcu_clock(h->world, "mcu") + f / 20;
    int n = snprintf(text, sizeof(text),
                     "query_analog_in oid=0 clock=%u sample_ticks=%u sample_count=8 "
                     "rest_ticks=%u", start, f / 10000, f / 10);
    if (strstr(fs_msgproto_lookup_name(h->proto, "query_analog_in")->format,
               "bytes_per_report"))
        n += snprintf(text + n, sizeof(text) - (size_t)n, " bytes_per_report=2");
    snprintf(text + n, sizeof(text) - (size_t)n,
             " min_value=%d max_value=%d range_check_count=1", min, max);
    host_command(h, text);
}

static struct sim_world *new_world(uint64_t seed, int *heater)
{
    struct fs_error err;
    struct sim_world *w = sim_world_new(seed, &err);
    assert_non_null(w);
    assert_int_equal(sim_world_add_mcu(w, "mcu", NULL, &err), 0);
    *heater = sim_world_add_heater(w, "mcu", "PA1", "PA2", NULL, NULL, &err);
    assert_int_equal(*heater, 0);
    run_ms(w, 1); /* powered on: outputs at their power-on levels */
    return w;
}

/* The sound reading of the heater's sensor at the block's temperature. */
static uint16_t sound_adc(struct sim_world *w, int heater)
{
    return plant_thermistor_adc_sound(&sim_world_thermistor(w, heater)->params,
                                      sim_world_heater_temp_c(w, heater));
}

/* The temperature an ADC count stands for (the default beta sensor). */
static double adc_to_c(uint16_t n)
{
    double r = 4700.0 * n / (4095.0 - n);
    return 1.0 / (1.0 / 298.15 + log(r / 100000.0) / 3950.0) - 273.15;
}

static void heat_block(struct sim_world *w, int heater, double drive)
{
    plant_heater_set_drive(sim_world_heater(w, heater), sim_world_now_ns(w), drive);
}

/* The trace so far, read back from its file. */
static char *trace_text(FILE *f)
{
    static char buf[1 << 20];
    fflush(f);
    long len = ftell(f);
    assert_true(len >= 0 && (size_t)len < sizeof(buf));
    rewind(f);
    size_t got = fread(buf, 1, (size_t)len, f);
    buf[got] = '\0';
    return buf;
}

/* ---- thermistors ---- */

static void test_open_for_a_duration_ends_on_time_and_is_traced(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    FILE *trace = tmpfile();
    assert_non_null(trace);
    sim_world_trace_start(w, trace);
    struct fs_error err;
    assert_int_equal(sim_world_run_until(w, NS_PER_S, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_OPEN, .duration_ns = 300 * NS_PER_MS};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
    assert_int_equal(sim_world_run_until(w, 1300 * NS_PER_MS - 1, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
    assert_int_equal(sim_world_run_until(w, 1300 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    assert_true(sound_adc(w, h) < 4000);
    const char *text = trace_text(trace);
    assert_non_null(strstr(text, "1.000000000 inject thermistor heater0 open on for "
                                 "0.300000000 s\n"));
    assert_non_null(strstr(text, "1.300000000 inject thermistor heater0 open off\n"));
    sim_world_trace_stop(w);
    fclose(trace);
    sim_world_free(w);
}

static void test_short_lasts_until_the_sensor_is_healthy_again(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_SHORT};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    run_ms(w, 60000);
    assert_int_equal(sim_inject_sensor_adc(w, h), 0);
    assert_int_equal(sim_world_thermistor(w, h)->fault, PLANT_SENSOR_SHORT);
    f.kind = SIM_THERMISTOR_HEALTHY;
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    assert_int_equal(sim_world_thermistor(w, h)->fault, PLANT_SENSOR_OK);
    assert_null(sim_world_thermistor(w, h)->read_hook);
    /* An open set by hand on the plant outlives an unrelated injection;
     * healthy repairs it too. */
    sim_world_thermistor(w, h)->fault = PLANT_SENSOR_OPEN;
    f = (struct sim_thermistor_fault){.kind = SIM_THERMISTOR_NOISY, .amplitude_c = 1.0};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
    assert_int_equal(sim_inject_thermistor_end(w, h, SIM_THERMISTOR_HEALTHY, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    sim_world_free(w);
}

/* "at 2 s: thermistor open for 0.3 s" reaches the firmware: its own range
 * check shuts the MCU down at the first sum taken while the sensor is open,
 * and not before. */
static void test_scheduled_open_trips_the_firmware_range_check(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct mini_host host;
    host_start(&host, w, "mcu");
    host_sample_adc(&host, 0, 8 * 4000);
    struct sim_injection inj = {
        .target = SIM_INJECT_THERMISTOR, .heater_id = h,
        .thermistor = {.kind = SIM_THERMISTOR_OPEN, .duration_ns = 300 * NS_PER_MS}};
    assert_int_equal(sim_inject_at(w, 2 * NS_PER_S, &inj, &err), 0);
    assert_int_equal(sim_world_run_until(w, 2 * NS_PER_S - 1, &err), 0);
    assert_false(sim_world_mcu_is_shutdown(w, "mcu"));
    int reports = host_count(&host, 0, "analog_in_state", NULL);
    assert_true(reports >= 15);
    assert_int_equal(sim_world_run_until(w, 2 * NS_PER_S + 101 * NS_PER_MS, &err), 0);
    assert_true(sim_world_mcu_is_shutdown(w, "mcu"));
    fs_msgproto_free(host.proto);
    sim_world_free(w);
}

static void test_intermittent_bursts_follow_their_on_and_off_times(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    run_ms(w, 500);
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_INTERMITTENT,
                                     .burst_on_ns = 30 * NS_PER_MS,
                                     .burst_off_ns = 170 * NS_PER_MS,
                                     .duration_ns = 1000 * NS_PER_MS};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    int broken = 0;
    for (int ms = 0; ms < 1200; ms++) {
        uint16_t v = sim_inject_sensor_adc(w, h);
        int want_broken = ms < 1000 && ms % 200 < 30;
        if (want_broken)
            assert_int_equal(v, 4095);
        else
            assert_int_equal(v, sound_adc(w, h));
        broken += want_broken;
        run_ms(w, 1);
    }
    assert_int_equal(broken, 5 * 30);
    /* A short burst reads 0. */
    f.burst_short = 1;
    f.duration_ns = 0;
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), 0);
    sim_world_free(w);
}

static void step_axis(struct sim_world *w, int axis, int steps)
{
    struct plant_axis *a = sim_world_axis(w, axis);
    for (int i = 0; i < steps; i++) {
        plant_axis_set_step(a, 1);
        plant_axis_set_step(a, 0);
    }
}

static void test_intermittent_while_the_axis_moves(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.has_enable_pin = 0;
    struct sim_axis_pins pins = {.step = "PB0", .dir = "PB1"};
    int axis = sim_world_add_axis(w, "mcu", &pins, &ap, &err);
    assert_true(axis >= 0);
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_INTERMITTENT,
                                     .while_axis_moves = 1, .axis_id = axis,
                                     .window_ns = 20 * NS_PER_MS};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    run_ms(w, 100);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    /* The head moves for 50 ms, converted every millisecond. */
    for (int ms = 0; ms < 50; ms++) {
        step_axis(w, axis, 8);
        assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
        run_ms(w, 1);
    }
    /* Broken up to 20 ms after the conversion that saw the last step
     * (1 ms ago), then sound. */
    run_ms(w, 18);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
    run_ms(w, 1);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
    run_ms(w, 1);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    run_ms(w, 500);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    sim_world_free(w);
}

static void noise_stats(struct sim_world *w, int h, int n, double *mean, double *sd,
                        double *maxdev)
{
    double sum = 0, sum2 = 0, block = sim_world_heater_temp_c(w, h);
    *maxdev = 0;
    for (int i = 0; i < n; i++) {
        double d = adc_to_c(sim_inject_sensor_adc(w, h)) - block;
        sum += d;
        sum2 += d * d;
        if (fabs(d) > *maxdev)
            *maxdev = fabs(d);
    }
    *mean = sum / n;
    *sd = sqrt(sum2 / n - *mean * *mean);
}

static void test_noise_has_the_asked_spread(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    heat_block(w, h, 0.5);
    run_ms(w, 1000000); /* settled near 130 C */
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_NOISY, .amplitude_c = 2.0};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    double mean, sd, maxdev;
    noise_stats(w, h, 20000, &mean, &sd, &maxdev);
    assert_true(fabs(mean) < 0.1);
    assert_true(fabs(sd - 2.0) < 0.1);
    assert_true(maxdev > 5.0); /* gaussian tails */
    f.noise_shape = SIM_NOISE_UNIFORM;
    f.amplitude_c = 3.0;
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    noise_stats(w, h, 20000, &mean, &sd, &maxdev);
    assert_true(fabs(mean) < 0.1);
    assert_true(fabs(sd - 3.0 / sqrt(3.0)) < 0.1);
    assert_true(maxdev < 3.2 && maxdev > 2.8); /* + a count's worth of rounding */
    assert_int_equal(sim_inject_thermistor_end(w, h, SIM_THERMISTOR_NOISY, &err), 0);
    noise_stats(w, h, 100, &mean, &sd, &maxdev);
    assert_true(maxdev < 0.2);
    sim_world_free(w);
}

/* The firmware samples a noisy sensor for 3 s and reports every sum; the
 * trace (wire bytes included) is a function of the seed. */
static uint64_t noisy_run_hash(uint64_t seed, int noisy)
{
    int h;
    struct sim_world *w = new_world(seed, &h);
    struct fs_error err;
    sim_world_trace_start(w, NULL);
    struct mini_host host;
    host_start(&host, w, "mcu");
    host_sample_adc(&host, 0, 0xffff);
    struct sim_injection inj = {
        .target = SIM_INJECT_THERMISTOR, .heater_id = h,
        .thermistor = {.kind = SIM_THERMISTOR_NOISY, .amplitude_c = 1.5}};
    if (noisy)
        assert_int_equal(sim_inject_at(w, NS_PER_S, &inj, &err), 0);
    run_ms(w, 3000);
    assert_true(host_count(&host, 0, "analog_in_state", NULL) >= 25);
    uint64_t hash = sim_world_trace_hash(w);
    fs_msgproto_free(host.proto);
    sim_world_free(w);
    return hash;
}

static void test_noisy_run_repeats_with_its_seed_and_changes_with_another(void **state)
{
    (void)state;
    uint64_t a = noisy_run_hash(11, 1), b = noisy_run_hash(11, 1), c = noisy_run_hash(12, 1);
    assert_true(a == b);
    assert_true(a != c);
    /* Without the noise the seed makes no difference to this world. */
    assert_true(noisy_run_hash(11, 0) == noisy_run_hash(12, 0));
    assert_true(noisy_run_hash(11, 0) != a);
}

static void test_stuck_reads_a_fixed_or_the_current_temperature(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    const struct plant_thermistor_params *tp = &sim_world_thermistor(w, h)->params;
    heat_block(w, h, 1.0);
    run_ms(w, 20000);
    double t_stuck = sim_world_heater_temp_c(w, h);
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_STUCK, .stuck_at_current = 1};
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    run_ms(w, 30000);
    assert_true(sim_world_heater_temp_c(w, h) > t_stuck + 30.0);
    assert_int_equal(sim_inject_sensor_adc(w, h), plant_thermistor_adc_sound(tp, t_stuck));
    f.stuck_at_current = 0;
    f.stuck_c = 50.0;
    f.duration_ns = NS_PER_S;
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), plant_thermistor_adc_sound(tp, 50.0));
    run_ms(w, 1000);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    sim_world_free(w);
}

static void test_detached_thermistor_reads_far_below_a_heating_block(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_DETACHED};
    run_ms(w, 1000);
    assert_int_equal(sim_inject_thermistor(w, h, &f, &err), 0);
    heat_block(w, h, 1.0);
    for (int s = 0; s < 180; s++) {
        run_ms(w, 1000);
        double block = sim_world_heater_temp_c(w, h);
        double reads = adc_to_c(sim_inject_sensor_adc(w, h));
        assert_true(reads <= block + 0.5);
        if (s >= 30)
            assert_true(reads < block - 0.5 * (block - 20.0));
    }
    double block = sim_world_heater_temp_c(w, h);
    assert_true(block > 180.0);
    assert_true(adc_to_c(sim_inject_sensor_adc(w, h)) < 60.0);
    /* Put back, it reads the block at once. */
    assert_int_equal(sim_inject_thermistor_end(w, h, SIM_THERMISTOR_DETACHED, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    sim_world_free(w);
}

/* ---- heaters, driven by the firmware's pin ---- */

static void test_heater_dead_weak_and_stuck_on(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct mini_host host;
    host_start(&host, w, "mcu");
    const struct plant_heater_params *hp = &sim_world_heater(w, h)->params;

    struct sim_heater_fault dead = {.kind = SIM_HEATER_DEAD, .duration_ns = 60 * NS_PER_S};
    assert_int_equal(sim_inject_heater(w, h, &dead, &err), 0);
    host_command(&host, "set_digital_out pin=PA1 value=1");
    assert_true(sim_world_heater_drive(w, h) == 1.0);
    run_ms(w, 59000);
    assert_true(fabs(sim_world_heater_temp_c(w, h) - hp->ambient_c) < 1e-9);
    run_ms(w, 10000); /* alive again: it heats */
    assert_true(sim_world_heater_temp_c(w, h) > hp->ambient_c + 10.0);

    struct sim_heater_fault weak = {.kind = SIM_HEATER_WEAK, .power_factor = 0.25};
    assert_int_equal(sim_inject_heater(w, h, &weak, &err), 0);
    run_ms(w, 3000000);
    double eq = hp->ambient_c + 0.25 * hp->power_w / hp->loss_w_per_k;
    assert_true(fabs(sim_world_heater_temp_c(w, h) - eq) < 0.01);
    assert_int_equal(sim_inject_heater_end(w, h, SIM_HEATER_WEAK, &err), 0);
    host_command(&host, "set_digital_out pin=PA1 value=0");
    run_ms(w, 3000000);
    assert_true(fabs(sim_world_heater_temp_c(w, h) - hp->ambient_c) < 0.01);

    /* Welded: the pin is off, the cartridge heats at full power. */
    struct sim_heater_fault stuck = {.kind = SIM_HEATER_STUCK_ON, .duration_ns = 30 * NS_PER_S};
    assert_int_equal(sim_inject_heater(w, h, &stuck, &err), 0);
    assert_int_equal(sim_world_pin_level(w, "mcu", "PA1"), 0);
    run_ms(w, 30000);
    double tau = hp->capacity_j_per_k / hp->loss_w_per_k;
    double full = hp->ambient_c + hp->power_w / hp->loss_w_per_k;
    double after = full + (hp->ambient_c - full) * exp(-30.0 / tau);
    assert_true(fabs(sim_world_heater_temp_c(w, h) - after) < 0.01);
    run_ms(w, 10000);
    assert_true(sim_world_heater_temp_c(w, h) < after); /* released: it cools */
    assert_false(sim_world_mcu_is_shutdown(w, "mcu"));
    fs_msgproto_free(host.proto);
    sim_world_free(w);
}

static void test_dying_heater_decays_towards_its_final_power(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    heat_block(w, h, 1.0);
    struct sim_heater_fault f = {.kind = SIM_HEATER_WEAK, .power_factor = 1.0,
                                 .final_factor = 0.1, .decay_tau_s = 100.0};
    assert_int_equal(sim_inject_heater(w, h, &f, &err), 0);
    run_ms(w, 100000);
    assert_true(fabs(sim_world_heater(w, h)->power_scale - (0.1 + 0.9 * exp(-1.0))) < 1e-9);
    /* Dead on top of dying, then dead ends: the decay has gone on. */
    struct sim_heater_fault dead = {.kind = SIM_HEATER_DEAD, .duration_ns = 100 * NS_PER_S};
    assert_int_equal(sim_inject_heater(w, h, &dead, &err), 0);
    assert_true(sim_world_heater(w, h)->power_scale == 0.0);
    run_ms(w, 100000);
    assert_true(fabs(sim_world_heater(w, h)->power_scale - (0.1 + 0.9 * exp(-2.0))) < 1e-9);
    run_ms(w, 5000000);
    double eq = 20.0 + 0.1 * 40.0 / 0.18;
    assert_true(fabs(sim_world_heater_temp_c(w, h) - eq) < 0.01);
    sim_world_free(w);
}

/* ---- MCUs ---- */

static void test_link_cut_for_a_duration(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct mini_host host;
    host_start(&host, w, "mcu");
    struct sim_mcu_fault f = {.kind = SIM_MCU_LINK_CUT, .duration_ns = 1000 * NS_PER_MS};
    assert_int_equal(sim_inject_mcu(w, "mcu", &f, &err), 0);
    int before = host.msg_count;
    host_command(&host, "get_clock");
    run_ms(w, 900);
    assert_int_equal(host.msg_count, before);
    const struct sim_wire_stats *to_mcu = sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU);
    assert_true(to_mcu->bytes_cut > 0);
    run_ms(w, 200);
    /* Restored: the lost block is sent again (as a host would) and answered. */
    size_t len = host_identify(&host, dict_buf, sizeof(dict_buf));
    assert_true(len > 0);
    before = host.msg_count;
    host_command(&host, "get_clock");
    run_ms(w, 20);
    assert_int_equal(host_count(&host, before, "clock", NULL), 1);
    fs_msgproto_free(host.proto);
    sim_world_free(w);
}

static void test_reset_restarts_the_firmware_with_power_kept(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    FILE *trace = tmpfile();
    sim_world_trace_start(w, trace);
    struct mini_host host;
    host_start(&host, w, "mcu");
    host_command(&host, "allocate_oids count=1");
    host_command(&host, "finalize_config crc=7");
    host_command(&host, "set_digital_out pin=PA1 value=1");
    struct fs_msg m;
    int before = host.msg_count;
    host_command(&host, "get_config");
    assert_int_equal(host_count(&host, before, "config", &m), 1);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 1);
    run_ms(w, 2000);
    assert_true(sim_world_mcu_clock(w, "mcu") > fw_sim_clock_freq());
    assert_true(sim_world_heater_drive(w, h) == 1.0);

    struct sim_injection inj = {.target = SIM_INJECT_MCU, .mcu = "mcu",
                                .mcu_fault = {.kind = SIM_MCU_RESET}};
    assert_int_equal(sim_inject_at(w, sim_world_now_ns(w) + 10 * NS_PER_MS, &inj, &err), 0);
    run_ms(w, 11);
    /* Outputs at power-on levels, clock from 0, not configured. */
    assert_true(sim_world_heater_drive(w, h) == 0.0);
    assert_true(sim_world_mcu_clock(w, "mcu") < fw_sim_clock_freq() / 100);
    assert_true(strstr(trace_text(trace), "inject mcu mcu reset on\n") != NULL);
    assert_true(strstr(trace_text(trace), "mcu reset\n") != NULL);
    assert_null(strstr(trace_text(trace), "mcu power off"));
    assert_true(host_identify(&host, dict_buf, sizeof(dict_buf)) > 0);
    before = host.msg_count;
    host_command(&host, "get_config");
    assert_int_equal(host_count(&host, before, "config", &m), 1);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 0);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 0);
    sim_world_trace_stop(w);
    fclose(trace);
    fs_msgproto_free(host.proto);
    sim_world_free(w);
}

static void test_power_loss_for_a_duration(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct mini_host host;
    host_start(&host, w, "mcu");
    host_command(&host, "set_digital_out pin=PA1 value=1");
    struct sim_mcu_fault f = {.kind = SIM_MCU_POWER_LOSS, .duration_ns = 500 * NS_PER_MS};
    assert_int_equal(sim_inject_mcu(w, "mcu", &f, &err), 0);
    assert_true(sim_world_heater_drive(w, h) == 0.0);
    assert_int_equal(sim_world_mcu_clock(w, "mcu"), 0);
    run_ms(w, 500);
    assert_true(sim_world_mcu_clock(w, "mcu") < fw_sim_clock_freq() / 1000);
    assert_true(host_identify(&host, dict_buf, sizeof(dict_buf)) > 0);
    fs_msgproto_free(host.proto);
    sim_world_free(w);
}

static void test_corruption_and_loss_for_a_duration(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(5, &h);
    struct fs_error err;
    struct mini_host host;
    host_start(&host, w, "mcu");
    const struct sim_wire_stats *up = sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_HOST);
    const struct sim_wire_stats *down = sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU);
    struct sim_mcu_fault f = {.kind = SIM_MCU_CORRUPT, .probability = 1.0,
                              .dirs = SIM_LINK_TO_MCU_ONLY, .duration_ns = 500 * NS_PER_MS};
    uint64_t sent0 = down->bytes_sent, corrupted0 = down->bytes_corrupted;
    assert_int_equal(sim_inject_mcu(w, "mcu", &f, &err), 0);
    f.kind = SIM_MCU_DROP;
    f.dirs = SIM_LINK_TO_HOST_ONLY;
    f.probability = 0.5;
    f.duration_ns = 0;
    assert_int_equal(sim_inject_mcu(w, "mcu", &f, &err), 0);
    for (int i = 0; i < 20; i++)
        host_command(&host, "get_clock");
    /* Every byte to the MCU had a bit flipped. */
    assert_int_equal(down->bytes_corrupted - corrupted0, down->bytes_sent - sent0);
    assert_true(down->bytes_corrupted - corrupted0 > 100);
    assert_int_equal(down->bytes_dropped, 0);
    assert_int_equal(up->bytes_corrupted, 0);
    run_ms(w, 500); /* corruption over */
    uint64_t corrupted = down->bytes_corrupted, dropped = up->bytes_dropped;
    for (int i = 0; i < 20; i++)
        host_command(&host, "get_clock");
    assert_int_equal(down->bytes_corrupted, corrupted);
    assert_true(up->bytes_dropped > dropped); /* the loss has no end yet */
    assert_int_equal(sim_inject_mcu_end(w, "mcu", SIM_MCU_LINK_HEALTHY, &err), 0);
    dropped = up->bytes_dropped;
    for (int i = 0; i < 20; i++)
        host_command(&host, "get_clock");
    assert_int_equal(up->bytes_dropped, dropped);
    fs_msgproto_free(host.proto);
    sim_world_free(w);
}

/* ---- the API's rules ---- */

static void test_a_later_injection_replaces_the_earlier_end(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct sim_injection inj = {
        .target = SIM_INJECT_THERMISTOR, .heater_id = h,
        .thermistor = {.kind = SIM_THERMISTOR_OPEN, .duration_ns = NS_PER_S}};
    assert_int_equal(sim_inject_at(w, NS_PER_S, &inj, &err), 0);
    assert_int_equal(sim_inject_at(w, 1500 * NS_PER_MS, &inj, &err), 0);
    assert_int_equal(sim_world_run_until(w, 999 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    assert_int_equal(sim_world_run_until(w, 2200 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095); /* the first end is void */
    assert_int_equal(sim_world_run_until(w, 2500 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    /* A healthy injection ends what another scheduled. */
    inj.thermistor.duration_ns = 0;
    assert_int_equal(sim_inject_at(w, 3 * NS_PER_S, &inj, &err), 0);
    inj.thermistor.kind = SIM_THERMISTOR_HEALTHY;
    assert_int_equal(sim_inject_at(w, 4 * NS_PER_S, &inj, &err), 0);
    assert_int_equal(sim_world_run_until(w, 3500 * NS_PER_MS, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), 4095);
    assert_int_equal(sim_world_run_until(w, 4 * NS_PER_S, &err), 0);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    sim_world_free(w);
}

static void test_bad_descriptions_are_refused_at_once(void **state)
{
    (void)state;
    int h;
    struct sim_world *w = new_world(1, &h);
    struct fs_error err;
    struct sim_thermistor_fault t = {.kind = SIM_THERMISTOR_OPEN};
    assert_int_equal(sim_inject_thermistor(w, 3, &t, &err), -1);
    assert_non_null(strstr(err.msg, "unknown heater 3"));
    t.duration_ns = -1;
    assert_int_equal(sim_inject_thermistor(w, h, &t, &err), -1);
    assert_non_null(strstr(err.msg, "negative duration"));
    t = (struct sim_thermistor_fault){.kind = SIM_THERMISTOR_INTERMITTENT, .burst_on_ns = 5};
    assert_int_equal(sim_inject_thermistor(w, h, &t, &err), -1);
    assert_non_null(strstr(err.msg, "burst"));
    t = (struct sim_thermistor_fault){.kind = SIM_THERMISTOR_INTERMITTENT,
                                      .while_axis_moves = 1, .axis_id = 0};
    assert_int_equal(sim_inject_thermistor(w, h, &t, &err), -1);
    assert_non_null(strstr(err.msg, "unknown axis 0"));
    t = (struct sim_thermistor_fault){.kind = SIM_THERMISTOR_NOISY, .amplitude_c = -1};
    assert_int_equal(sim_inject_thermistor(w, h, &t, &err), -1);
    t = (struct sim_thermistor_fault){.kind = SIM_THERMISTOR_DETACHED,
                                      .probe = {.capacity_j_per_k = 1.0}};
    assert_int_equal(sim_inject_thermistor(w, h, &t, &err), -1);
    struct sim_heater_fault hf = {.kind = SIM_HEATER_WEAK, .power_factor = -0.5};
    assert_int_equal(sim_inject_heater(w, h, &hf, &err), -1);
    struct sim_mcu_fault mf = {.kind = SIM_MCU_DROP, .probability = 1.5};
    assert_int_equal(sim_inject_mcu(w, "mcu", &mf, &err), -1);
    mf.probability = 0.5;
    assert_int_equal(sim_inject_mcu(w, "toolboard", &mf, &err), -1);
    assert_non_null(strstr(err.msg, "toolboard"));
    mf = (struct sim_mcu_fault){.kind = SIM_MCU_POWER_LOSS};
    assert_int_equal(sim_inject_mcu(w, "mcu", &mf, &err), -1);
    assert_int_equal(sim_inject_mcu_end(w, "mcu", SIM_MCU_RESET, &err), -1);
    struct sim_injection inj = {.target = SIM_INJECT_MCU, .mcu = "nope",
                                .mcu_fault = {.kind = SIM_MCU_LINK_CUT}};
    assert_int_equal(sim_inject_at(w, NS_PER_S, &inj, &err), -1);
    /* Nothing was applied. */
    run_ms(w, 2000);
    assert_int_equal(sim_inject_sensor_adc(w, h), sound_adc(w, h));
    assert_string_equal(sim_thermistor_fault_name(SIM_THERMISTOR_DETACHED), "detached");
    assert_string_equal(sim_heater_fault_name(SIM_HEATER_STUCK_ON), "stuck_on");
    assert_string_equal(sim_mcu_fault_name(SIM_MCU_LINK_CUT), "link_cut");
    sim_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_for_a_duration_ends_on_time_and_is_traced),
        cmocka_unit_test(test_short_lasts_until_the_sensor_is_healthy_again),
        cmocka_unit_test(test_scheduled_open_trips_the_firmware_range_check),
        cmocka_unit_test(test_intermittent_bursts_follow_their_on_and_off_times),
        cmocka_unit_test(test_intermittent_while_the_axis_moves),
        cmocka_unit_test(test_noise_has_the_asked_spread),
        cmocka_unit_test(test_noisy_run_repeats_with_its_seed_and_changes_with_another),
        cmocka_unit_test(test_stuck_reads_a_fixed_or_the_current_temperature),
        cmocka_unit_test(test_detached_thermistor_reads_far_below_a_heating_block),
        cmocka_unit_test(test_heater_dead_weak_and_stuck_on),
        cmocka_unit_test(test_dying_heater_decays_towards_its_final_power),
        cmocka_unit_test(test_link_cut_for_a_duration),
        cmocka_unit_test(test_reset_restarts_the_firmware_with_power_kept),
        cmocka_unit_test(test_power_loss_for_a_duration),
        cmocka_unit_test(test_corruption_and_loss_for_a_duration),
        cmocka_unit_test(test_a_later_injection_replaces_the_earlier_end),
        cmocka_unit_test(test_bad_descriptions_are_refused_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
