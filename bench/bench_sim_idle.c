/* Benchmark: an idle printer in the simulator. Two MCUs (a main board and a
 * toolboard whose crystals are a few tens of ppm apart), each with a heater
 * that stays off (a digital out guarded by max_duration) and a thermistor
 * reporting every 0.3 s, while the engine keeps both clocks in sync. This is
 * the floor under every scenario: how much faster than real time the world,
 * the firmware and the engine's MCU layer run when nothing moves.
 *
 * The rate alone could be flattered by a world that silently stopped doing
 * work, so the engine counts the analog reports it actually received and
 * the run fails if they fall short of one per 0.3 s per MCU, or if an MCU
 * shut down. */
#include <stdint.h> /* uint64_t, int64_t */
#include <stdio.h>  /* fprintf */

#include "bench_common.h" /* bench_parse_options, bench_wall_seconds, bench_report_* */
#include "core/error.h"   /* struct fs_error */
#include "mcu/mcu.h"      /* fs_mcu_* */
#include "sim_host.h"     /* struct sim_host, sim_world_* */

#define BOARD_COUNT 2
#define HEATER_OID 0
#define ADC_OID 1
#define REPORT_PERIOD_S 0.3
#define SAMPLE_COUNT 8

struct board {
    const char *name;
    int64_t clock_error_ppb;
    int64_t power_on_ns;
    struct fs_mcu *mcu;
    struct idle_printer *printer;
    uint32_t rest_ticks; /* between samplings, in the MCU's own ticks */
    uint64_t analog_reports;
};

struct idle_printer {
    struct sim_host host;
    struct board boards[BOARD_COUNT];
    int shutdowns;
};

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    struct idle_printer *p = arg;
    if (ev != FS_MCU_EVENT_SHUTDOWN)
        return;
    p->shutdowns++;
    fprintf(stderr, "bench_sim_idle: mcu '%s' shut down at %.3f: %s\n", fs_mcu_name(m),
            eventtime, detail);
}

static void on_analog(void *arg, const struct fs_msg *msg, double receive_time)
{
    struct board *b = arg;
    b->analog_reports++;
}

/* Starts the thermistor's periodic sampling once the MCU is configured, as
 * the engine's sensor code does: 8 samples 100 us apart every 0.3 s, with
 * the MCU's own range check armed. */
static int start_analog(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct board *b = arg;
    double now = sim_host_now(&b->printer->host);
    uint32_t clock = (uint32_t)fs_mcu_print_time_to_clock(
        m, fs_mcu_estimated_print_time(m, now) + 0.2);
    b->rest_ticks = fs_mcu_seconds_to_ticks(m, REPORT_PERIOD_S);
    char text[256];
    snprintf(text, sizeof(text),
             "query_analog_in oid=%d clock=%u sample_ticks=%u sample_count=%d "
             "rest_ticks=%u bytes_per_report=2 min_value=%d max_value=%d "
             "range_check_count=4",
             ADC_OID, clock, fs_mcu_seconds_to_ticks(m, 0.0001), SAMPLE_COUNT,
             b->rest_ticks, 100 * SAMPLE_COUNT,
             4050 * SAMPLE_COUNT);
    return fs_mcu_send_text(m, text, err);
}

static int configure_board(struct board *b, struct fs_error *err)
{
    struct fs_mcu *m = b->mcu;
    if (fs_mcu_create_oid(m) != HEATER_OID || fs_mcu_create_oid(m) != ADC_OID)
        return fs_error_set(err, "mcu '%s': unexpected oid numbering", b->name);
    if (fs_mcu_add_config_cmd(m, err,
            "config_digital_out oid=%d pin=PA1 value=0 default_value=0 max_duration=%u",
            HEATER_OID, fs_mcu_seconds_to_ticks(m, 2.0)) < 0 ||
        fs_mcu_add_config_cmd(m, err, "set_digital_out_pwm_cycle oid=%d cycle_ticks=%u",
                              HEATER_OID, fs_mcu_seconds_to_ticks(m, 0.1)) < 0 ||
        fs_mcu_add_config_cmd(m, err, "config_analog_in oid=%d pin=PA2", ADC_OID) < 0 ||
        fs_mcu_on_configured(m, start_analog, b, err) < 0 ||
        fs_mcu_register_response(m, "analog_in_state oid=%c next_clock=%u values=%*s",
                                 ADC_OID, on_analog, b, err) < 0)
        return -1;
    return fs_mcu_configure(m, 5.0, err);
}

static int build_printer(struct idle_printer *p, uint64_t seed, struct fs_error *err)
{
    struct sim_host *h = &p->host;
    if (sim_host_init(h, seed, NULL, err) < 0)
        return -1;
    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    for (int i = 0; i < BOARD_COUNT; i++) {
        struct board *b = &p->boards[i];
        struct sim_mcu_options opt;
        sim_mcu_options_default(&opt);
        opt.clock_error_ppb = b->clock_error_ppb;
        opt.power_on_ns = b->power_on_ns;
        if (sim_host_add_mcu(h, b->name, &opt, err) < 0 ||
            sim_world_add_heater(h->world, b->name, "PA1", "PA2", &hp, &tp, err) < 0)
            return -1;
    }
    if (sim_host_connect(h, 5.0, err) < 0)
        return -1;
    for (int i = 0; i < BOARD_COUNT; i++) {
        struct board *b = &p->boards[i];
        b->mcu = sim_host_mcu(h, b->name);
        fs_mcu_set_event_handler(b->mcu, on_event, p);
        if (configure_board(b, err) < 0)
            return -1;
    }
    return 0;
}

static uint64_t wire_bytes(struct sim_world *w, const char *mcu, enum sim_wire_direction d)
{
    return sim_world_wire_stats(w, mcu, d)->bytes_sent;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    double seconds = 600.0;
    const struct bench_option options[] = {
        {"--seconds", BENCH_OPTION_DOUBLE, &seconds, "simulated seconds to run"},
        {"--seed", BENCH_OPTION_U64, &seed, "world seed"},
    };
    int parsed = bench_parse_options(argc, argv, options, 2);
    if (parsed)
        return parsed < 0 ? 2 : 0;

    static struct idle_printer p = {
        .boards = {
            {.name = "mcu", .clock_error_ppb = 25000},                    /* +25 ppm */
            {.name = "toolboard", .clock_error_ppb = -20000, .power_on_ns = 3000000},
        },
    };
    for (int i = 0; i < BOARD_COUNT; i++)
        p.boards[i].printer = &p;
    struct fs_error err = {{0}};
    if (build_printer(&p, seed, &err) < 0) {
        fprintf(stderr, "bench_sim_idle: setup failed: %s\n", err.msg);
        return 1;
    }

    struct sim_world_stats before, after;
    sim_world_get_stats(p.host.world, &before);
    uint64_t reports_before[BOARD_COUNT], clock_before[BOARD_COUNT];
    uint64_t bytes_before = 0;
    for (int i = 0; i < BOARD_COUNT; i++) {
        reports_before[i] = p.boards[i].analog_reports;
        clock_before[i] = sim_world_mcu_clock(p.host.world, p.boards[i].name);
        bytes_before += wire_bytes(p.host.world, p.boards[i].name, SIM_WIRE_TO_MCU) +
                        wire_bytes(p.host.world, p.boards[i].name, SIM_WIRE_TO_HOST);
    }
    double sim_start = sim_host_now(&p.host);
    double wall_start = bench_wall_seconds();
    sim_host_run_for(&p.host, seconds);
    double wall = bench_wall_seconds() - wall_start;
    double sim = sim_host_now(&p.host) - sim_start;
    sim_world_get_stats(p.host.world, &after);

    uint64_t reports = 0, expected = 0, bytes = 0;
    int short_of_reports = 0;
    for (int i = 0; i < BOARD_COUNT; i++) {
        const struct board *b = &p.boards[i];
        /* One report per period of the MCU's own clock (its crystal error
         * shifts the count over a long run), less the one that may be in
         * flight at either end. */
        uint64_t ticks = sim_world_mcu_clock(p.host.world, b->name) - clock_before[i];
        uint64_t expected_per_board = ticks / b->rest_ticks;
        uint64_t got = b->analog_reports - reports_before[i];
        reports += got;
        expected += expected_per_board;
        bytes += wire_bytes(p.host.world, b->name, SIM_WIRE_TO_MCU) +
                 wire_bytes(p.host.world, b->name, SIM_WIRE_TO_HOST);
        if (got + 2 < expected_per_board) {
            fprintf(stderr, "bench_sim_idle: mcu '%s' sent %llu analog reports, expected %llu\n",
                    b->name, (unsigned long long)got, (unsigned long long)expected_per_board);
            short_of_reports = 1;
        }
    }
    bytes -= bytes_before;

    bench_report_u64("seed", seed);
    bench_report_double("sim_seconds", sim, 3);
    bench_report_double("wall_seconds", wall, 3);
    bench_report_double("sim_seconds_per_wall_second", sim / wall, 1);
    bench_report_u64("world_events", after.events - before.events);
    bench_report_double("world_events_per_wall_second",
                        (double)(after.events - before.events) / wall, 0);
    bench_report_u64("mcu_wakes", after.mcu_wakes - before.mcu_wakes);
    bench_report_u64("engine_wakes", after.engine_wakes - before.engine_wakes);
    bench_report_u64("wire_bytes", bytes);
    bench_report_u64("analog_reports", reports);
    bench_report_u64("analog_reports_expected", expected);
    bench_report_u64("mcu_shutdowns", (uint64_t)p.shutdowns);
    int ok = !short_of_reports && p.shutdowns == 0;
    bench_report_text("result", ok ? "ok" : "FAILED");
    sim_host_free(&p.host);
    return ok ? 0 : 1;
}
