/* Benchmark: steps through the firmware in the loop. The engine's MCU layer
 * sends one million steps at 10 kHz as queue_step commands over the reliable
 * link; the simulated main board's firmware times every step and the plant
 * axis counts the step edges. It measures what a print's motion costs the
 * simulator: one firmware timer event per step plus the wire traffic.
 *
 * Commands are fed the way a planner's flush would feed them: a timer keeps
 * roughly --lookahead seconds of steps queued ahead of the MCU. The firmware
 * has move_count move records and shuts down on overflow, so every command
 * carries a min_clock: the link holds command i back until command
 * i - move_count + 1 has been loaded (which frees a record), keeping at
 * most move_count commands outstanding however far ahead the feeder runs.
 * req_clock is when the MCU will load the command, so the most urgent goes
 * first.
 *
 * The run counts only if the MCU's step position, the plant's position and
 * its step count all equal the steps sent and no MCU shut down. */
#include <stdint.h> /* uint64_t, uint32_t */
#include <stdio.h>  /* fprintf, snprintf */
#include <string.h> /* memset */

#include "bench_common.h" /* bench_parse_options, bench_wall_seconds, bench_report_* */
#include "core/error.h"   /* struct fs_error */
#include "core/reactor.h" /* struct fs_timer, fs_reactor_timer_set */
#include "mcu/mcu.h"      /* fs_mcu_* */
#include "sim_host.h"     /* struct sim_host, sim_world_* */

#define STEPPER_OID 0
#define STEPS_PER_MM 80.0
#define FEED_PERIOD_S 0.05
#define START_DELAY_S 0.5
/* Commands queued in the link ahead of the MCU at most: well under
 * FS_LINK_MAX_QUEUED_MESSAGES, so a long lookahead at a high rate is held
 * back here instead of failing in fs_link_send. */
#define LINK_QUEUE_BUDGET 2048

struct step_run {
    struct sim_host host;
    struct fs_mcu *mcu;
    int axis_id;
    struct fs_link_queue *queue;
    const struct fs_msgformat *queue_step;
    struct fs_timer feeder;
    double lookahead_s;
    uint64_t steps_total;
    uint32_t steps_per_command;
    uint32_t interval_ticks;
    uint64_t start_clock;    /* the reset_step_clock time base */
    uint64_t commands_total;
    uint64_t commands_sent;
    uint16_t move_count;
    int failed;
    struct fs_error err;
    int shutdowns;
};

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    struct step_run *r = arg;
    if (ev != FS_MCU_EVENT_SHUTDOWN)
        return;
    r->shutdowns++;
    fprintf(stderr, "bench_steps: mcu '%s' shut down at %.3f: %s\n", fs_mcu_name(m), eventtime,
            detail);
}

/* Clock at which command i is loaded by the MCU: its predecessor's last
 * step (the time base itself for the first). */
static uint64_t command_load_clock(const struct step_run *r, uint64_t i)
{
    return r->start_clock + i * r->steps_per_command * (uint64_t)r->interval_ticks;
}

static uint64_t command_min_clock(const struct step_run *r, uint64_t i)
{
    if (i + 1 < r->move_count)
        return 0;
    return command_load_clock(r, i + 1 - r->move_count);
}

static int send_command(struct step_run *r, uint64_t i)
{
    uint64_t done = i * r->steps_per_command;
    uint64_t left = r->steps_total - done;
    uint32_t count = left < r->steps_per_command ? (uint32_t)left : r->steps_per_command;
    const int64_t values[] = {STEPPER_OID, r->interval_ticks, count, 0};
    return fs_mcu_send(r->mcu, r->queue_step, values, r->queue, command_min_clock(r, i),
                       command_load_clock(r, i), &r->err);
}

/* The command the MCU is loading at this clock (0 before the start). */
static uint64_t command_at_clock(const struct step_run *r, uint64_t clock)
{
    if (clock <= r->start_clock)
        return 0;
    return (clock - r->start_clock) / (r->steps_per_command * (uint64_t)r->interval_ticks);
}

/* Queues every command the MCU will load within the lookahead, within the
 * link's budget. */
static double feed_steps(struct fs_timer *t, double now)
{
    struct step_run *r = t->arg;
    double now_pt = fs_mcu_estimated_print_time(r->mcu, now);
    uint64_t horizon = fs_mcu_print_time_to_clock(r->mcu, now_pt + r->lookahead_s);
    uint64_t budget_end =
        command_at_clock(r, fs_mcu_print_time_to_clock(r->mcu, now_pt)) + LINK_QUEUE_BUDGET;
    while (r->commands_sent < r->commands_total && r->commands_sent < budget_end &&
           command_load_clock(r, r->commands_sent) < horizon) {
        if (send_command(r, r->commands_sent) < 0) {
            r->failed = 1;
            return FS_NEVER;
        }
        r->commands_sent++;
    }
    if (r->commands_sent == r->commands_total)
        return FS_NEVER;
    return now + FEED_PERIOD_S;
}

static int build_run(struct step_run *r, uint64_t seed, struct fs_error *err)
{
    struct sim_host *h = &r->host;
    if (sim_host_init(h, seed, NULL, err) < 0)
        return -1;
    struct sim_mcu_options opt;
    sim_mcu_options_default(&opt);
    opt.clock_error_ppb = 25000; /* +25 ppm */
    if (sim_host_add_mcu(h, "mcu", &opt, err) < 0)
        return -1;
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.steps_per_mm = STEPS_PER_MM;
    ap.initial_mm = 0.0;
    ap.has_enable_pin = 0;
    ap.endstop_side = PLANT_ENDSTOP_NONE;
    struct sim_axis_pins pins = {"PB0", "PB1", NULL, NULL};
    r->axis_id = sim_world_add_axis(h->world, "mcu", &pins, &ap, err);
    if (r->axis_id < 0 || sim_host_connect(h, 5.0, err) < 0)
        return -1;
    r->mcu = sim_host_mcu(h, "mcu");
    fs_mcu_set_event_handler(r->mcu, on_event, r);
    if (fs_mcu_create_oid(r->mcu) != STEPPER_OID)
        return fs_error_set(err, "unexpected oid numbering");
    if (fs_mcu_add_config_cmd(r->mcu, err,
            "config_stepper oid=%d step_pin=PB0 dir_pin=PB1 invert_step=0 "
            "step_pulse_ticks=%u", STEPPER_OID, fs_mcu_seconds_to_ticks(r->mcu, 0.000002)) < 0 ||
        fs_mcu_configure(r->mcu, 5.0, err) < 0)
        return -1;
    r->move_count = fs_mcu_state(r->mcu)->move_count;
    if (r->move_count < 2)
        return fs_error_set(err, "mcu has %u move records; need at least 2", r->move_count);
    r->queue = fs_mcu_queue_new(r->mcu);
    r->queue_step = fs_mcu_lookup_command(
        r->mcu, "queue_step oid=%c interval=%u count=%hu add=%hi", err);
    if (!r->queue || !r->queue_step)
        return -1;
    return 0;
}

/* The time base and direction go on the stepper's own queue, so they reach
 * the MCU before any of its steps. */
static int start_stepping(struct step_run *r, struct fs_error *err)
{
    const struct fs_msgformat *reset =
        fs_mcu_lookup_command(r->mcu, "reset_step_clock oid=%c clock=%u", err);
    const struct fs_msgformat *dir =
        fs_mcu_lookup_command(r->mcu, "set_next_step_dir oid=%c dir=%c", err);
    if (!reset || !dir)
        return -1;
    double now = sim_host_now(&r->host);
    r->start_clock = fs_mcu_print_time_to_clock(
        r->mcu, fs_mcu_estimated_print_time(r->mcu, now) + START_DELAY_S);
    const int64_t reset_values[] = {STEPPER_OID, (int64_t)(uint32_t)r->start_clock};
    const int64_t dir_values[] = {STEPPER_OID, 1};
    if (fs_mcu_send(r->mcu, reset, reset_values, r->queue, 0, r->start_clock, err) < 0 ||
        fs_mcu_send(r->mcu, dir, dir_values, r->queue, 0, r->start_clock, err) < 0)
        return -1;
    fs_timer_init(&r->feeder, feed_steps, r);
    if (fs_reactor_timer_set(&r->host.reactor, &r->feeder, now) < 0)
        return fs_error_set(err, "cannot arm the feeder timer");
    return 0;
}

/* Runs until the MCU's clock has passed the last step, or something failed. */
static void run_to_last_step(struct step_run *r)
{
    uint64_t end_clock = command_load_clock(r, r->commands_total);
    for (;;) {
        sim_host_run_for(&r->host, 0.1);
        if (r->failed || r->shutdowns)
            return;
        uint64_t clock = sim_world_mcu_clock(r->host.world, "mcu");
        if (r->commands_sent == r->commands_total && clock > end_clock)
            return;
    }
}

static int read_position(struct step_run *r, int64_t *pos, struct fs_error *err)
{
    struct fs_mcu_reply reply;
    char text[64];
    snprintf(text, sizeof(text), "stepper_get_position oid=%d", STEPPER_OID);
    if (fs_mcu_query(r->mcu, text, "stepper_position oid=%c pos=%i", STEPPER_OID, &reply, 1.0,
                     err) < 0)
        return -1;
    *pos = fs_msg_get(&reply.msg, "pos", 0);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, steps = 1000000, per_command = 100;
    double rate_hz = 10000.0, lookahead_s = 1.0;
    const struct bench_option options[] = {
        {"--steps", BENCH_OPTION_U64, &steps, "steps to take"},
        {"--rate", BENCH_OPTION_DOUBLE, &rate_hz, "steps per second"},
        {"--per-command", BENCH_OPTION_U64, &per_command, "steps per queue_step"},
        {"--lookahead", BENCH_OPTION_DOUBLE, &lookahead_s, "seconds queued ahead"},
        {"--seed", BENCH_OPTION_U64, &seed, "world seed"},
    };
    int parsed = bench_parse_options(argc, argv, options, 5);
    if (parsed)
        return parsed < 0 ? 2 : 0;
    if (steps < 1 || steps > INT32_MAX || per_command < 1 || per_command > UINT16_MAX) {
        fprintf(stderr, "bench_steps: --steps must be 1..%d, --per-command 1..%u\n",
                INT32_MAX, UINT16_MAX);
        return 2;
    }

    static struct step_run r;
    memset(&r, 0, sizeof(r));
    r.lookahead_s = lookahead_s;
    r.steps_total = steps;
    r.steps_per_command = (uint32_t)per_command;
    r.commands_total = (steps + per_command - 1) / per_command;
    struct fs_error err = {{0}};
    if (build_run(&r, seed, &err) < 0) {
        fprintf(stderr, "bench_steps: setup failed: %s\n", err.msg);
        return 1;
    }
    r.interval_ticks = fs_mcu_seconds_to_ticks(r.mcu, 1.0 / rate_hz);

    struct sim_world *w = r.host.world;
    uint64_t to_mcu_before = sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU)->bytes_sent;
    uint64_t to_host_before = sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_HOST)->bytes_sent;
    struct sim_world_stats before, after;
    sim_world_get_stats(w, &before);
    double sim_start = sim_host_now(&r.host);
    double wall_start = bench_wall_seconds();
    if (start_stepping(&r, &err) < 0) {
        fprintf(stderr, "bench_steps: %s\n", err.msg);
        return 1;
    }
    run_to_last_step(&r);
    double wall = bench_wall_seconds() - wall_start;
    double sim = sim_host_now(&r.host) - sim_start;
    sim_world_get_stats(w, &after);
    uint64_t to_mcu = sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_MCU)->bytes_sent - to_mcu_before;
    uint64_t to_host =
        sim_world_wire_stats(w, "mcu", SIM_WIRE_TO_HOST)->bytes_sent - to_host_before;
    struct fs_link_stats link;
    fs_link_get_stats(fs_mcu_link(r.mcu), &link);

    int64_t mcu_pos = 0;
    if (r.failed) {
        fprintf(stderr, "bench_steps: feeding steps failed: %s\n", r.err.msg);
    } else if (read_position(&r, &mcu_pos, &err) < 0) {
        fprintf(stderr, "bench_steps: %s\n", err.msg);
        r.failed = 1;
    }
    int64_t plant_pos = sim_world_axis_position_steps(w, r.axis_id);
    uint64_t plant_steps = sim_world_axis_step_count(w, r.axis_id);
    int ok = !r.failed && !r.shutdowns && mcu_pos == (int64_t)steps &&
             plant_pos == (int64_t)steps && plant_steps == steps;

    bench_report_u64("seed", seed);
    bench_report_u64("steps", steps);
    bench_report_double("step_rate_hz", rate_hz, 1);
    bench_report_u64("steps_per_command", per_command);
    bench_report_u64("commands", r.commands_sent);
    bench_report_u64("mcu_move_count", r.move_count);
    bench_report_double("sim_seconds", sim, 3);
    bench_report_double("wall_seconds", wall, 3);
    bench_report_double("sim_seconds_per_wall_second", sim / wall, 1);
    bench_report_double("steps_per_wall_second", (double)plant_steps / wall, 0);
    bench_report_u64("world_events", after.events - before.events);
    bench_report_u64("wire_bytes_to_mcu", to_mcu);
    bench_report_u64("wire_bytes_to_host", to_host);
    bench_report_u64("link_bytes_retransmitted", link.bytes_retransmit);
    bench_report_u64("mcu_position", (uint64_t)mcu_pos);
    bench_report_u64("plant_position_steps", (uint64_t)plant_pos);
    bench_report_u64("plant_step_count", plant_steps);
    bench_report_u64("mcu_shutdowns", (uint64_t)r.shutdowns);
    bench_report_text("result", ok ? "ok" : "FAILED");
    sim_host_free(&r.host);
    return ok ? 0 : 1;
}
