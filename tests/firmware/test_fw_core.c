/* The firmware core as a host sees it through the wire: the dictionary it
 * serves, the ids it dispatches, the link (acks, naks, retransmits,
 * resynchronisation), configuration, timers, shutdown, and that two MCUs in
 * one process keep their own state. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* reading the served dictionary */

#include "fw_sim_test.h" /* fw_sim_mcu_call */
#include "fw_test_host.h" /* the test host */
#include "mcu/frame.h"    /* fs_frame_encode */
#include "mcu/vlq.h"      /* fs_vlq_encode */
#include "basecmd.h"      /* fw_oid_*, fw_move_*, called through fw_sim_mcu_call */
#include "sched.h"        /* fw_sched_add_timer, for the timer tests */

static const char *static_string(struct fw_test_host *h, int64_t id, char *buf, size_t cap)
{
    return fs_msgproto_enum_name(h->proto, "static_string_id", (int32_t)id, buf, cap);
}

/* Sends get_config and returns the decoded `config`. */
static struct fs_msg get_config(struct fw_test_host *h)
{
    struct fs_msg m;
    assert_int_equal(fw_test_host_query(h, "get_config", "config", &m), 0);
    return m;
}

static size_t count_responses(struct fw_test_host *h, const char *name)
{
    struct fs_msg m;
    size_t n = 0;
    while (fw_test_host_find(h, name, &m) == 0)
        n++;
    return n;
}

/* ---- dictionary and ids ---- */

static void test_identify_serves_the_dictionary_in_chunks(void **state)
{
    struct fw_test_host *h = *state;
    /* fw_test_host_new read it with identify until an empty chunk. */
    const char *json = fs_msgproto_json(h->proto);
    assert_non_null(json);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const char *keys[] = {"commands", "responses", "enumerations", "config",
                          "version", "build_versions"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(cJSON_GetObjectItemCaseSensitive(root, keys[i]));
    cJSON *app = cJSON_GetObjectItemCaseSensitive(root, "app");
    assert_true(cJSON_IsString(app));
    assert_string_equal(app->valuestring, "failsoft");
    cJSON_Delete(root);

    double freq = 0;
    assert_int_equal(fs_msgproto_constant(h->proto, "CLOCK_FREQ", &freq), 0);
    assert_true(freq == 50000000.0);
    assert_string_equal(fs_msgproto_constant_str(h->proto, "MCU"), "sim");
    int32_t pin = -1;
    assert_int_equal(fs_msgproto_enum_value(h->proto, "pin", "PB3", &pin), 0);
    assert_int_equal(pin, 19);
    assert_int_equal(fw_sim_pin_by_name("PB3"), 19);
    assert_int_equal(fw_sim_pin_by_name("PE1"), -1);
}

static void test_identify_past_the_end_is_an_empty_chunk(void **state)
{
    struct fw_test_host *h = *state;
    struct fs_msg m;
    assert_int_equal(
        fw_test_host_query(h, "identify offset=1000000 count=40", "identify_response", &m), 0);
    assert_int_equal(fs_msg_get(&m, "offset", -1), 1000000);
    assert_int_equal(fs_msg_get(&m, "data", -1), 0);
}

static void test_get_clock_with_the_dictionary_id_reports_the_clock(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_run_until(h, 123456789);
    const struct fs_msgformat *f = fs_msgproto_lookup(h->proto, "get_clock");
    assert_non_null(f);
    uint8_t content[8];
    size_t n = fs_vlq_encode(content, f->id);
    fw_test_host_mark(h);
    fw_test_host_send_content(h, content, n);
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "clock", &m), 0);
    assert_int_equal(fs_msg_get(&m, "clock", -1), 123456789);
}

static void test_command_id_in_its_negative_form_is_accepted(void **state)
{
    /* Ids 96..127 travel as -32..-1; the firmware takes any id modulo 128,
     * so the negative spelling of a small id reaches the same command. */
    struct fw_test_host *h = *state;
    const struct fs_msgformat *f = fs_msgproto_lookup(h->proto, "get_clock");
    assert_non_null(f);
    uint8_t content[8];
    size_t n = fs_vlq_encode(content, f->id - 128);
    fw_test_host_mark(h);
    fw_test_host_send_content(h, content, n);
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "clock", &m), 0);
}

/* ---- the link ---- */

static size_t block_with(struct fw_test_host *h, const char *cmd, uint8_t seq, uint8_t *block)
{
    uint8_t content[FS_FRAME_CONTENT_MAX];
    int n = fw_test_host_encode(h, cmd, content, sizeof(content));
    assert_true(n > 0);
    return fs_frame_encode(block, seq, content, (size_t)n);
}

static void test_out_of_sequence_block_is_naked_and_not_run(void **state)
{
    struct fw_test_host *h = *state;
    uint8_t block[FS_FRAME_MAX];
    size_t n = block_with(h, "emergency_stop", (uint8_t)((h->seq + 3) & 15), block);
    fw_test_host_mark(h);
    fw_test_host_send_raw(h, block, n);
    int seq = -1;
    assert_int_equal(fw_test_host_count_acks(h, &seq), 1);
    assert_int_equal(seq, h->seq); /* the nak names the block it still wants */
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    assert_int_equal(count_responses(h, "shutdown"), 0);

    /* The link carries on from the expected sequence. */
    struct fs_msg m;
    assert_int_equal(fw_test_host_query(h, "get_clock", "clock", &m), 0);
}

static void test_retransmitted_block_runs_once(void **state)
{
    struct fw_test_host *h = *state;
    uint8_t block[FS_FRAME_MAX];
    size_t n = block_with(h, "get_clock", h->seq, block);
    int next = (h->seq + 1) & 15;
    fw_test_host_mark(h);
    fw_test_host_send_raw(h, block, n);
    fw_test_host_send_raw(h, block, n); /* as if our ack had been lost */
    int seq = -1;
    assert_int_equal(fw_test_host_count_acks(h, &seq), 2);
    assert_int_equal(seq, next);
    assert_int_equal(count_responses(h, "clock"), 1);
}

static void test_corrupt_block_is_dropped_and_the_next_accepted(void **state)
{
    struct fw_test_host *h = *state;
    uint8_t block[FS_FRAME_MAX];
    size_t n = block_with(h, "get_clock", h->seq, block);
    uint8_t bad[FS_FRAME_MAX];
    memcpy(bad, block, n);
    bad[2] ^= 0x01; /* the id byte: the CRC no longer matches */
    /* Line noise: a runt block, then a lone sync byte between blocks.
     * (Noise whose first byte is a plausible length makes the MCU wait for
     * that many bytes first; the host's retransmit covers that case.) */
    const uint8_t noise[] = {0x02, 0x10, 0x99, 0x7e};

    fw_test_host_mark(h);
    fw_test_host_send_raw(h, bad, n);
    assert_int_equal(count_responses(h, "clock"), 0);
    fw_test_host_mark(h);
    int seq = -1;
    fw_test_host_send_raw(h, noise, sizeof(noise));
    fw_test_host_send_raw(h, (const uint8_t[]){0x7e}, 1);
    fw_test_host_send_raw(h, block, n);
    assert_true(fw_test_host_count_acks(h, &seq) >= 1);
    assert_int_equal(seq, (h->seq + 1) & 15);
    assert_int_equal(count_responses(h, "clock"), 1);
}

static void test_a_block_split_across_deliveries_is_assembled(void **state)
{
    struct fw_test_host *h = *state;
    uint8_t block[FS_FRAME_MAX];
    size_t n = block_with(h, "get_clock", h->seq, block);
    fw_test_host_mark(h);
    for (size_t i = 0; i < n; i++)
        fw_test_host_send_raw(h, &block[i], 1);
    assert_int_equal(count_responses(h, "clock"), 1);
}

static void test_a_burst_of_a_full_receive_window_is_all_run(void **state)
{
    /* The host may have RECEIVE_WINDOW bytes (and 12 blocks) in flight;
     * they can arrive in one go. */
    struct fw_test_host *h = *state;
    double window = 0;
    assert_int_equal(fs_msgproto_constant(h->proto, "RECEIVE_WINDOW", &window), 0);
    uint8_t get_clock[8];
    int one = fw_test_host_encode(h, "get_clock", get_clock, sizeof(get_clock));
    assert_int_equal(one, 1);
    uint8_t content[11];
    memset(content, get_clock[0], sizeof(content));
    uint8_t burst[512];
    size_t used = 0, blocks = 0;
    while (blocks < 12 && used + FS_FRAME_MIN + sizeof(content) <= (size_t)window) {
        used += fs_frame_encode(burst + used, (uint8_t)((h->seq + blocks) & 15), content,
                                sizeof(content));
        blocks++;
    }
    assert_int_equal(used, 192); /* the whole window */
    h->seq = (uint8_t)((h->seq + blocks) & 15);
    fw_test_host_mark(h);
    fw_test_host_send_raw(h, burst, used);
    int seq = -1;
    assert_int_equal(fw_test_host_count_acks(h, &seq), blocks);
    assert_int_equal(seq, h->seq);
    assert_int_equal(count_responses(h, "clock"), blocks * sizeof(content));
}

static void test_every_command_of_a_block_runs_in_order(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_mark(h);
    assert_int_equal(fw_test_host_send(h, "get_clock; get_config; get_uptime"), 0);
    struct fs_msg m;
    assert_int_equal(fw_test_host_next(h, &m), 0);
    assert_string_equal(m.format->name, "clock");
    assert_int_equal(fw_test_host_next(h, &m), 0);
    assert_string_equal(m.format->name, "config");
    assert_int_equal(fw_test_host_next(h, &m), 0);
    assert_string_equal(m.format->name, "uptime");
}

/* ---- configuration ---- */

static void test_config_round_trip_reports_the_crc(void **state)
{
    struct fw_test_host *h = *state;
    struct fs_msg m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 0);
    assert_int_equal(fs_msg_get(&m, "move_count", -1), 0);

    assert_int_equal(fw_test_host_send(h, "allocate_oids count=3"), 0);
    assert_int_equal(fw_test_host_send(h, "finalize_config crc=3735928559"), 0);
    m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 1);
    assert_int_equal(fs_msg_get(&m, "crc", -1), 3735928559u);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 0);
    assert_true(fs_msg_get(&m, "move_count", -1) > 100);
}

static void test_config_reset_clears_the_configuration_and_keeps_the_link(void **state)
{
    struct fw_test_host *h = *state;
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=3; finalize_config crc=42"), 0);
    assert_int_equal(fw_test_host_send(h, "emergency_stop"), 0);
    assert_int_equal(fw_test_host_send(h, "config_reset"), 0);
    struct fs_msg m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 0);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 0);
    /* A fresh configuration is accepted again. */
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=2; finalize_config crc=7"), 0);
    m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "crc", -1), 7);
}

/* ---- timers and shutdown ---- */

struct timer_probe {
    struct fw_timer timer;
    int runs;
    uint32_t run_at[4];
};

static uint_fast8_t probe_event(struct fw_timer *t)
{
    struct timer_probe *p = (struct timer_probe *)t;
    if (p->runs < 4)
        p->run_at[p->runs] = fw_timer_read_time();
    p->runs++;
    return FW_SF_DONE;
}

static void add_probe(void *ctx)
{
    struct timer_probe *p = ctx;
    p->timer.func = probe_event;
    fw_sched_add_timer(&p->timer);
}

static void test_timer_runs_at_its_exact_clock(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_run_until(h, 1000);
    struct timer_probe p = {.timer.waketime = 5000};
    fw_sim_mcu_call(h->mcu, add_probe, &p);
    uint64_t wake = 0;
    assert_int_equal(fw_sim_mcu_next_wake(h->mcu, &wake), 1);
    assert_int_equal(wake, 5000);
    fw_test_host_run_until(h, 4999);
    assert_int_equal(p.runs, 0);
    fw_test_host_run_until(h, 9000); /* late call: the timer still sees 5000 */
    assert_int_equal(p.runs, 1);
    assert_int_equal(p.run_at[0], 5000);
    assert_int_equal(fw_sim_mcu_next_wake(h->mcu, &wake), 0);
}

static void test_timer_in_the_past_shuts_down_with_timer_too_close(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_run_until(h, 100000);
    struct timer_probe p = {.timer.waketime = 90000};
    fw_test_host_mark(h);
    fw_sim_mcu_call(h->mcu, add_probe, &p);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "shutdown", &m), 0);
    assert_int_equal(fs_msg_get(&m, "clock", -1), 100000);
    char buf[64];
    const char *reason = static_string(h, fs_msg_get(&m, "static_string_id", -1), buf, sizeof(buf));
    assert_non_null(reason);
    assert_string_equal(reason, "Timer too close");
    fw_test_host_run_until(h, 200000);
    assert_int_equal(p.runs, 0);
}

static uint_fast8_t probe_reschedule_late(struct fw_timer *t)
{
    struct timer_probe *p = (struct timer_probe *)t;
    p->runs++;
    t->waketime -= 50000000; /* a second behind: time was lost */
    return FW_SF_RESCHEDULE;
}

static void add_late_probe(void *ctx)
{
    struct timer_probe *p = ctx;
    p->timer.func = probe_reschedule_late;
    fw_sched_add_timer(&p->timer);
}

static void test_timer_rescheduled_far_in_the_past_shuts_down(void **state)
{
    struct fw_test_host *h = *state;
    struct timer_probe p = {.timer.waketime = 10000};
    fw_sim_mcu_call(h->mcu, add_late_probe, &p);
    fw_test_host_mark(h);
    fw_test_host_run_until(h, 20000);
    assert_int_equal(p.runs, 1);
    assert_true(fw_sim_mcu_is_shutdown(h->mcu));
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "shutdown", &m), 0);
    char buf[64];
    assert_string_equal(static_string(h, fs_msg_get(&m, "static_string_id", -1), buf, sizeof(buf)),
                        "Rescheduled timer in the past");
    uint64_t wake;
    assert_int_equal(fw_sim_mcu_next_wake(h->mcu, &wake), 0);
}

static void test_commands_in_shutdown_get_is_shutdown(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_mark(h);
    assert_int_equal(fw_test_host_send(h, "emergency_stop"), 0);
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "shutdown", &m), 0);
    int64_t reason_id = fs_msg_get(&m, "static_string_id", -1);
    char buf[64];
    assert_string_equal(static_string(h, reason_id, buf, sizeof(buf)), "Command request");

    assert_int_equal(fw_test_host_query(h, "allocate_oids count=4", "is_shutdown", &m), 0);
    assert_int_equal(fs_msg_get(&m, "static_string_id", -1), reason_id);
    /* Queries keep working, and the refused command did not run. */
    m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 1);
    assert_int_equal(fw_test_host_query(h, "get_clock", "clock", &m), 0);
}

static void test_clear_shutdown_lets_commands_run_again(void **state)
{
    struct fw_test_host *h = *state;
    assert_int_equal(fw_test_host_send(h, "emergency_stop"), 0);
    assert_int_equal(fw_test_host_send(h, "clear_shutdown"), 0);
    assert_false(fw_sim_mcu_is_shutdown(h->mcu));
    fw_test_host_mark(h);
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=2; finalize_config crc=9"), 0);
    assert_int_equal(count_responses(h, "is_shutdown"), 0);
    struct fs_msg m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 1);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 0);
}

static void test_uptime_counts_clock_wraps(void **state)
{
    struct fw_test_host *h = *state;
    uint64_t clock = (3ull << 32) + 12345;
    fw_test_host_run_until(h, clock);
    struct fs_msg m;
    assert_int_equal(fw_test_host_query(h, "get_uptime", "uptime", &m), 0);
    assert_int_equal(fs_msg_get(&m, "high", -1), 3);
    assert_int_equal(fs_msg_get(&m, "clock", -1), 12345);
}

static void test_stats_are_reported_every_five_seconds(void **state)
{
    struct fw_test_host *h = *state;
    fw_test_host_mark(h);
    for (uint64_t t = 1; t <= 11; t++)
        fw_test_host_run_until(h, t * 50000000ull);
    assert_int_equal(count_responses(h, "stats"), 2);
}

static void test_reset_restarts_the_mcu(void **state)
{
    struct fw_test_host *h = *state;
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=2; finalize_config crc=9"), 0);
    fw_test_host_mark(h);
    /* What follows reset in its block belongs to the MCU that is gone. */
    assert_int_equal(fw_test_host_send(h, "reset; get_clock"), 0);
    assert_int_equal(h->restarts, 1);
    assert_int_equal(count_responses(h, "clock"), 0);
    /* A restarted MCU expects sequence 0 again and has no configuration. */
    struct fs_msg m = get_config(h);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 0);
}

/* ---- objects and move records ---- */

static const int type_a = 0, type_b = 0; /* two distinct type tags */

static void alloc_and_misuse_oid(void *ctx)
{
    int *reached = ctx;
    assert_non_null(fw_oid_alloc(1, &type_a, 24));
    assert_non_null(fw_oid_lookup(1, &type_a));
    *reached = 1;
    fw_oid_lookup(1, &type_b); /* does not return */
    *reached = 2;
}

static void test_oid_lookup_with_the_wrong_type_shuts_down(void **state)
{
    struct fw_test_host *h = *state;
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=2"), 0);
    int reached = 0;
    fw_test_host_mark(h);
    fw_sim_mcu_call(h->mcu, alloc_and_misuse_oid, &reached);
    assert_int_equal(reached, 1);
    struct fs_msg m;
    assert_int_equal(fw_test_host_find(h, "shutdown", &m), 0);
    char buf[64];
    assert_string_equal(static_string(h, fs_msg_get(&m, "static_string_id", -1), buf, sizeof(buf)),
                        "Invalid oid type");
}

struct move_probe {
    uint32_t allocated;
};

static void request_move_size(void *ctx)
{
    fw_move_request_size(40);
}

static void alloc_all_moves(void *ctx)
{
    struct move_probe *p = ctx;
    void *first = fw_move_alloc();
    p->allocated++;
    fw_move_free(first); /* a freed record is handed out again */
    for (;;) {
        fw_move_alloc(); /* shuts down when none is left */
        p->allocated++;
    }
}

static void test_move_queue_holds_move_count_records(void **state)
{
    struct fw_test_host *h = *state;
    fw_sim_mcu_call(h->mcu, request_move_size, NULL);
    assert_int_equal(fw_test_host_send(h, "allocate_oids count=2; finalize_config crc=1"), 0);
    struct fs_msg m = get_config(h);
    int64_t move_count = fs_msg_get(&m, "move_count", -1);
    /* Records of 40 bytes from a 32 KiB pool. */
    assert_true(move_count > 700 && move_count <= 32768 / 40);

    struct move_probe p = {0};
    fw_test_host_mark(h);
    fw_sim_mcu_call(h->mcu, alloc_all_moves, &p);
    assert_int_equal(p.allocated, move_count + 1);
    assert_int_equal(fw_test_host_find(h, "shutdown", &m), 0);
    char buf[64];
    assert_string_equal(static_string(h, fs_msg_get(&m, "static_string_id", -1), buf, sizeof(buf)),
                        "Move queue overflow");
}

/* ---- instances ---- */

static void test_two_instances_keep_separate_state(void **state)
{
    struct fw_test_host *a = *state;
    struct fw_test_host *b = fw_test_host_new();
    assert_non_null(b);
    assert_int_equal(fw_test_host_send(a, "allocate_oids count=3; finalize_config crc=77"), 0);
    assert_int_equal(fw_test_host_send(b, "emergency_stop"), 0);

    struct fs_msg m = get_config(b);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 0);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 1);
    m = get_config(a);
    assert_int_equal(fs_msg_get(&m, "is_config", -1), 1);
    assert_int_equal(fs_msg_get(&m, "crc", -1), 77);
    assert_int_equal(fs_msg_get(&m, "is_shutdown", -1), 0);
    assert_false(fw_sim_mcu_is_shutdown(a->mcu));
    fw_test_host_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fw_test_host_setup, fw_test_host_teardown)
        T(test_identify_serves_the_dictionary_in_chunks),
        T(test_identify_past_the_end_is_an_empty_chunk),
        T(test_get_clock_with_the_dictionary_id_reports_the_clock),
        T(test_command_id_in_its_negative_form_is_accepted),
        T(test_out_of_sequence_block_is_naked_and_not_run),
        T(test_retransmitted_block_runs_once),
        T(test_corrupt_block_is_dropped_and_the_next_accepted),
        T(test_a_block_split_across_deliveries_is_assembled),
        T(test_a_burst_of_a_full_receive_window_is_all_run),
        T(test_every_command_of_a_block_runs_in_order),
        T(test_config_round_trip_reports_the_crc),
        T(test_config_reset_clears_the_configuration_and_keeps_the_link),
        T(test_timer_runs_at_its_exact_clock),
        T(test_timer_in_the_past_shuts_down_with_timer_too_close),
        T(test_timer_rescheduled_far_in_the_past_shuts_down),
        T(test_commands_in_shutdown_get_is_shutdown),
        T(test_clear_shutdown_lets_commands_run_again),
        T(test_uptime_counts_clock_wraps),
        T(test_stats_are_reported_every_five_seconds),
        T(test_reset_restarts_the_mcu),
        T(test_oid_lookup_with_the_wrong_type_shuts_down),
        T(test_move_queue_holds_move_count_records),
        T(test_two_instances_keep_separate_state),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
