/* The world with the real sim firmware in the loop: an MCU answers identify
 * through its transport and hands over a data dictionary the engine can
 * load; commands sent over the wire switch a heater pin (and the heater warms
 * up) or set a PWM duty, move an axis by exact step counts in both
 * directions, and read an endstop that closes at its switch position; a
 * power cycle drops the outputs; the same seed gives the same trace. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "core/error.h"   /* struct fs_error */
#include "core/reactor.h"  /* fs_reactor */
#include "mcu/frame.h"    /* fs_frame_encode, fs_frame_reader */
#include "mcu/link.h"     /* fs_link */
#include "mcu/msgproto.h" /* fs_msgproto */
#include "mcu/vlq.h"      /* fs_vlq_encode, fs_vlq_decode */
#include "fw_sim.h"       /* fw_sim_clock_freq */
#include "sim_trace.h"    /* sim_trace_fnv1a */
#include "sim_world.h"    /* sim_world */

#define NS_PER_MS 1000000LL
#define MAX_MESSAGES 256

/* Just enough of a host: frames outgoing content with the sequence the MCU
 * expects (every MCU block carries it) and keeps every non-empty block. */
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
        if (!frame.len)
            continue;
        assert_true(h->msg_count < MAX_MESSAGES);
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

static void host_run_ms(struct mini_host *h, int64_t ms)
{
    struct fs_error err;
    assert_int_equal(
        sim_world_run_until(h->world, sim_world_now_ns(h->world) + ms * NS_PER_MS, &err), 0);
}

static void host_command(struct mini_host *h, const char *text)
{
    uint8_t content[FS_FRAME_CONTENT_MAX];
    struct fs_error err;
    int n = fs_msgproto_encode_text(h->proto, text, content, sizeof(content), &err);
    if (n < 0)
        fail_msg("%s: %s", text, err.msg);
    host_send_raw(h, content, (size_t)n);
    host_run_ms(h, 5);
}

/* The last received message named `name`, decoded, or fails. */
static void host_last(struct mini_host *h, const char *name, struct fs_msg *out)
{
    struct fs_error err;
    for (int i = h->msg_count - 1; i >= 0; i--) {
        const uint8_t *p = h->msg[i];
        if (fs_msgproto_decode(h->proto, &p, p + h->msg_len[i], out, &err) < 0)
            continue;
        if (strcmp(out->format->name, name) == 0)
            return;
    }
    fail_msg("no '%s' received", name);
}

/* identify until an empty chunk; returns the dictionary's length. */
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
        host_run_ms(h, 10);
        if (h->msg_count == before)
            continue; /* a nak taught us the sequence: ask again */
        const uint8_t *p = h->msg[h->msg_count - 1], *end = p + h->msg_len[h->msg_count - 1];
        uint32_t id, offset;
        assert_int_equal(fs_vlq_decode(&p, end, &id), 0);
        assert_int_equal(id, 0); /* identify_response */
        assert_int_equal(fs_vlq_decode(&p, end, &offset), 0);
        assert_int_equal(offset, have);
        size_t len = *p++;
        assert_true(p + len == end);
        if (!len)
            return have;
        assert_true(have + len <= cap);
        memcpy(dict + have, p, len);
        have += len;
    }
    fail_msg("identify did not finish");
    return 0;
}

static void host_start(struct mini_host *h, struct sim_world *w, const char *mcu)
{
    memset(h, 0, sizeof(*h));
    h->world = w;
    h->transport = sim_world_transport(w, mcu);
    fs_frame_reader_init(&h->reader);
    fs_transport_set_receiver(h->transport, host_receive, h);
    static uint8_t dict[65536];
    size_t len = host_identify(h, dict, sizeof(dict));
    h->proto = fs_msgproto_new();
    struct fs_error err;
    if (fs_msgproto_load_dictionary(h->proto, dict, len, &err) < 0)
        fail_msg("dictionary: %s", err.msg);
}

/* count steps in one direction, 0.1 ms apart, starting 100 ms from now
 * (the four commands take 5 ms each to send), then wait for them. */
static void move(struct mini_host *h, int dir, int count)
{
    char text[128];
    uint32_t start = (uint32_t)sim_world_mcu_clock(h->world, "mcu") + fw_sim_clock_freq() / 10;
    snprintf(text, sizeof(text), "reset_step_clock oid=0 clock=%u", start);
    host_command(h, text);
    snprintf(text, sizeof(text), "set_next_step_dir oid=0 dir=%d", dir);
    host_command(h, text);
    snprintf(text, sizeof(text), "queue_step oid=0 interval=5000 count=%d add=0", count);
    host_command(h, text);
    host_run_ms(h, 100 + count / 10 + 10);
}

static struct sim_world *new_world(void)
{
    struct fs_error err;
    struct sim_world *w = sim_world_new(11, &err);
    assert_non_null(w);
    struct sim_mcu_options opt;
    sim_mcu_options_default(&opt);
    opt.clock_error_ppb = -20000;
    assert_int_equal(sim_world_add_mcu(w, "mcu", &opt, &err), 0);
    return w;
}

static void test_mcu_answers_identify_with_its_dictionary(void **state)
{
    (void)state;
    struct sim_world *w = new_world();
    struct mini_host h;
    host_start(&h, w, "mcu");
    double freq;
    assert_int_equal(fs_msgproto_constant(h.proto, "CLOCK_FREQ", &freq), 0);
    assert_true(freq == fw_sim_clock_freq());
    assert_string_equal(fs_msgproto_constant_str(h.proto, "MCU"), "sim");
    assert_non_null(fs_msgproto_lookup(h.proto, "get_clock"));

    /* Its clock answers with the world's mapping (-20 ppm). */
    host_command(&h, "get_clock");
    struct fs_msg m;
    host_last(&h, "clock", &m);
    uint64_t now_clock = sim_world_mcu_clock(w, "mcu");
    uint32_t reported = (uint32_t)fs_msg_get(&m, "clock", -1);
    assert_true(reported < (uint32_t)now_clock);
    assert_true((uint32_t)now_clock - reported < fw_sim_clock_freq() / 50); /* < 20 ms */
    fs_msgproto_free(h.proto);
    sim_world_free(w);
}

static void test_set_digital_out_heats_the_heater(void **state)
{
    (void)state;
    struct sim_world *w = new_world();
    struct fs_error err;
    int heater = sim_world_add_heater(w, "mcu", "PA1", "PA2", NULL, NULL, &err);
    assert_int_equal(heater, 0);
    struct mini_host h;
    host_start(&h, w, "mcu");
    assert_int_equal(sim_world_pin_level(w, "mcu", "PA1"), 0);
    host_command(&h, "set_digital_out pin=PA1 value=1");
    assert_int_equal(sim_world_pin_level(w, "mcu", "PA1"), 1);
    assert_true(sim_world_heater_drive(w, heater) == 1.0);
    double before = sim_world_heater_temp_c(w, heater);
    host_run_ms(&h, 10000);
    assert_true(sim_world_heater_temp_c(w, heater) > before + 10.0);
    host_command(&h, "set_digital_out pin=PA1 value=0");
    assert_true(sim_world_heater_drive(w, heater) == 0.0);
    fs_msgproto_free(h.proto);
    sim_world_free(w);
}

static void test_stepper_commands_move_the_axis_and_close_the_endstop(void **state)
{
    (void)state;
    struct sim_world *w = new_world();
    struct fs_error err;
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.initial_mm = 1.0;
    ap.endstop_mm = 0.5; /* 40 steps below the start at 80 steps/mm */
    ap.endstop_trigger_level = 1;
    struct sim_axis_pins pins = {.step = "PB0", .dir = "PB1", .endstop = "PB2"};
    int axis = sim_world_add_axis(w, "mcu", &pins, &ap, &err);
    assert_int_equal(axis, 0);
    assert_int_equal(sim_world_add_axis(w, "mcu", &pins, &ap, &err), -1);
    assert_non_null(strstr(err.msg, "already"));
    struct mini_host h;
    host_start(&h, w, "mcu");
    host_command(&h, "allocate_oids count=2");
    host_command(&h, "config_stepper oid=0 step_pin=PB0 dir_pin=PB1 invert_step=0 "
                     "step_pulse_ticks=100");
    host_command(&h, "config_endstop oid=1 pin=PB2 pull_up=0");
    host_command(&h, "finalize_config crc=0");
    host_command(&h, "endstop_query_state oid=1");
    struct fs_msg m;
    host_last(&h, "endstop_state", &m);
    assert_int_equal(fs_msg_get(&m, "pin_value", -1), 0);

    move(&h, 1, 100);
    move(&h, 0, 130);
    assert_false(sim_world_mcu_is_shutdown(w, "mcu"));
    assert_int_equal(sim_world_axis_step_count(w, axis), 230);
    assert_int_equal(sim_world_axis_position_steps(w, axis), 80 + 100 - 130);
    assert_true(sim_world_axis_position_mm(w, axis) == 50.0 / 80.0);

    /* Ten more steps down reach the switch exactly, not one step before. */
    move(&h, 0, 9);
    host_command(&h, "endstop_query_state oid=1");
    host_last(&h, "endstop_state", &m);
    assert_int_equal(fs_msg_get(&m, "pin_value", -1), 0);
    move(&h, 0, 1);
    assert_int_equal(sim_world_axis_position_steps(w, axis), 40);
    host_command(&h, "endstop_query_state oid=1");
    host_last(&h, "endstop_state", &m);
    assert_int_equal(fs_msg_get(&m, "pin_value", -1), 1);
    assert_false(sim_world_mcu_is_shutdown(w, "mcu"));
    fs_msgproto_free(h.proto);
    sim_world_free(w);
}

static void test_hardware_pwm_sets_a_partial_heater_drive(void **state)
{
    (void)state;
    struct sim_world *w = new_world();
    struct fs_error err;
    int heater = sim_world_add_heater(w, "mcu", "PA1", "PA2", NULL, NULL, &err);
    struct mini_host h;
    host_start(&h, w, "mcu");
    host_command(&h, "allocate_oids count=1");
    host_command(&h, "config_pwm_out oid=0 pin=PA1 cycle_ticks=50000 value=0 "
                     "default_value=0 max_duration=0");
    host_command(&h, "finalize_config crc=0");
    char text[96];
    uint32_t when = (uint32_t)sim_world_mcu_clock(w, "mcu") + fw_sim_clock_freq() / 100;
    snprintf(text, sizeof(text), "queue_pwm_out oid=0 clock=%u value=51", when);
    host_command(&h, text);
    host_run_ms(&h, 20);
    assert_false(sim_world_mcu_is_shutdown(w, "mcu"));
    assert_true(fabs(sim_world_heater_drive(w, heater) - 51.0 / 255.0) < 1e-12);
    fs_msgproto_free(h.proto);
    sim_world_free(w);
}

static void test_power_cycle_drops_outputs_and_mcu_answers_again(void **state)
{
    (void)state;
    struct sim_world *w = new_world();
    struct fs_error err;
    int heater = sim_world_add_heater(w, "mcu", "PA1", "PA2", NULL, NULL, &err);
    struct mini_host h;
    host_start(&h, w, "mcu");
    host_command(&h, "set_digital_out pin=PA1 value=1");
    assert_true(sim_world_heater_drive(w, heater) == 1.0);
    assert_int_equal(sim_world_mcu_power_off(w, "mcu", &err), 0);
    assert_true(sim_world_heater_drive(w, heater) == 0.0);
    int before = h.msg_count;
    host_command(&h, "get_clock");
    assert_int_equal(h.msg_count, before); /* nobody home */
    assert_int_equal(sim_world_mcu_power_on(w, "mcu", &err), 0);
    host_run_ms(&h, 1);
    assert_true(sim_world_mcu_clock(w, "mcu") < fw_sim_clock_freq() / 100);
    uint8_t dict[65536];
    assert_true(host_identify(&h, dict, sizeof(dict)) > 0);
    assert_true(sim_world_heater_drive(w, heater) == 0.0);
    fs_msgproto_free(h.proto);
    sim_world_free(w);
}

static void test_two_mcus_keep_their_own_clocks_and_wires(void **state)
{
    (void)state;
    struct fs_error err;
    struct sim_world *w = sim_world_new(2, &err);
    struct sim_mcu_options opt;
    sim_mcu_options_default(&opt);
    opt.clock_error_ppb = 50000;
    assert_int_equal(sim_world_add_mcu(w, "main", &opt, &err), 0);
    opt.clock_error_ppb = -50000;
    opt.power_on_ns = 2 * NS_PER_MS;
    opt.baud = 1000000;
    assert_int_equal(sim_world_add_mcu(w, "toolboard", &opt, &err), 0);
    int bed = sim_world_add_heater(w, "main", "PA1", "PA2", NULL, NULL, &err);
    int hotend = sim_world_add_heater(w, "toolboard", "PA1", "PA2", NULL, NULL, &err);
    assert_true(bed >= 0 && hotend >= 0);
    struct mini_host a, b;
    host_start(&a, w, "main");
    host_start(&b, w, "toolboard");
    assert_int_equal(sim_world_run_until(w, NS_PER_MS * 1002, &err), 0);
    uint64_t f = fw_sim_clock_freq();
    assert_int_equal(sim_world_mcu_clock(w, "main"), f * 1002 / 1000 * 1000050 / 1000000);
    assert_int_equal(sim_world_mcu_clock(w, "toolboard"), f * 999950 / 1000000);
    /* A command to one board switches only that board's heater. */
    host_command(&b, "set_digital_out pin=PA1 value=1");
    assert_true(sim_world_heater_drive(w, hotend) == 1.0);
    assert_true(sim_world_heater_drive(w, bed) == 0.0);
    fs_msgproto_free(a.proto);
    fs_msgproto_free(b.proto);
    sim_world_free(w);
}

struct link_probe {
    int responses; /* answers for the offset asked for */
    uint32_t want;
};

static void link_receive(void *arg, const uint8_t *content, size_t len, double t)
{
    (void)t;
    struct link_probe *p = arg;
    const uint8_t *pos = content, *end = content + len;
    uint32_t id, offset;
    /* A late answer to an earlier question does not count. */
    if (fs_vlq_decode(&pos, end, &id) == 0 && id == 0 &&
        fs_vlq_decode(&pos, end, &offset) == 0 && offset == p->want)
        p->responses++;
}

static int link_got_response(void *arg)
{
    return ((struct link_probe *)arg)->responses > 0;
}

/* The engine's own reliable link, on the engine's reactor driven by the
 * world, talks to the firmware through a noisy wire. Corrupt blocks are
 * retransmitted by the link; a lost answer is asked for again, as the
 * protocol expects of a host. */
static void test_engine_link_reaches_firmware_through_noisy_wire(void **state)
{
    (void)state;
    struct sim_world *w = new_world();
    struct fs_error err;
    struct fs_reactor r;
    struct fs_reactor_backend be = sim_world_reactor_backend(w);
    fs_reactor_init(&r, &be);
    sim_world_attach_reactor(w, &r);
    sim_world_wire_set_corrupt(w, "mcu", SIM_WIRE_TO_MCU, 0.03);
    sim_world_wire_set_drop(w, "mcu", SIM_WIRE_TO_HOST, 0.005);
    struct fs_link *link = fs_link_new(&r, sim_world_transport(w, "mcu"), "mcu", &err);
    assert_non_null(link);
    struct link_probe probe = {0};
    fs_link_set_receiver(link, link_receive, &probe);
    int answered = 0;
    for (uint32_t offset = 0; offset < 400; offset += 40) {
        uint8_t msg[16];
        size_t n = fs_vlq_encode(msg, 1);
        n += fs_vlq_encode(msg + n, (int32_t)offset);
        n += fs_vlq_encode(msg + n, 40);
        probe.want = offset;
        for (int attempt = 0; attempt < 20 && !probe.responses; attempt++) {
            assert_int_equal(fs_link_send(link, fs_link_default_queue(link), msg, n, 0, 0,
                                          &err), 0);
            fs_reactor_wait_for(&r, link_got_response, &probe, fs_reactor_now(&r) + 1.0);
        }
        answered += probe.responses > 0;
        probe.responses = 0;
    }
    assert_int_equal(answered, 10);
    struct fs_link_stats st;
    fs_link_get_stats(link, &st);
    /* The noise was real and the link repaired it. */
    assert_true(sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU)->bytes_corrupted > 0);
    assert_true(sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_HOST)->bytes_dropped > 0);
    assert_true(st.bytes_retransmit > 0);
    fs_link_free(link);
    fs_reactor_free(&r);
    sim_world_free(w);
}

/* identify, a heater switched on for a while, and a few clock queries, with
 * the trace going to a file; returns the hash and checks it is the hash of
 * exactly what was written. */
static uint64_t traced_run(uint64_t seed)
{
    struct fs_error err;
    struct sim_world *w = sim_world_new(seed, &err);
    struct sim_mcu_options opt;
    sim_mcu_options_default(&opt);
    opt.clock_error_ppb = 35000;
    sim_world_add_mcu(w, "mcu", &opt, &err);
    sim_world_add_heater(w, "mcu", "PA1", "PA2", NULL, NULL, &err);
    FILE *f = tmpfile();
    assert_non_null(f);
    sim_world_trace_start(w, f);
    sim_world_wire_set_corrupt(w, "mcu", SIM_WIRE_TO_HOST, 0.002);
    struct mini_host h;
    host_start(&h, w, "mcu");
    host_command(&h, "set_digital_out pin=PA1 value=1");
    for (int i = 0; i < 20; i++) {
        host_command(&h, "get_clock");
        host_run_ms(&h, 200);
    }
    uint64_t hash = sim_world_trace_hash(w);
    sim_world_free(w);

    static char text[1 << 20];
    rewind(f);
    size_t n = fread(text, 1, sizeof(text), f);
    assert_true(n > 0 && n < sizeof(text));
    fclose(f);
    assert_true(hash == sim_trace_fnv1a(SIM_TRACE_FNV_OFFSET, text, n));
    /* Temperatures once a second. */
    assert_non_null(strstr(text, "4.000000000 mcu heater0 T="));
    fs_msgproto_free(h.proto);
    return hash;
}

static void test_same_seed_same_trace_with_firmware(void **state)
{
    (void)state;
    uint64_t a = traced_run(5), b = traced_run(5);
    assert_true(a == b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcu_answers_identify_with_its_dictionary),
        cmocka_unit_test(test_set_digital_out_heats_the_heater),
        cmocka_unit_test(test_stepper_commands_move_the_axis_and_close_the_endstop),
        cmocka_unit_test(test_hardware_pwm_sets_a_partial_heater_drive),
        cmocka_unit_test(test_power_cycle_drops_outputs_and_mcu_answers_again),
        cmocka_unit_test(test_same_seed_same_trace_with_firmware),
        cmocka_unit_test(test_two_mcus_keep_their_own_clocks_and_wires),
        cmocka_unit_test(test_engine_link_reaches_firmware_through_noisy_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
