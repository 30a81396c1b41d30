/* Steppers through the simulator with the real firmware in the loop: the
 * engine generates and compresses steps, the link carries them, the
 * firmware times them and the plant axes count the edges. What a user
 * checks: the axis ends exactly where it was sent, every step edge is on
 * time, a long move never overflows the MCU's move queue, corexy and
 * pressure advance land on the right step, and a late flush is reported
 * instead of shutting the MCU down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* sqrt, fabs */
#include <stdio.h>  /* tmpfile, fgets, sscanf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memset, strstr, snprintf */
#include <time.h>   /* timespec_get */

#include "core/error.h"     /* struct fs_error */
#include "mcu/mcu.h"        /* fs_mcu_* */
#include "motion/stepper.h" /* fs_stepper_*, fs_stepsync_* */
#include "sim_host.h"       /* struct sim_host */

#define STEP_DIST 0.0125 /* 80 steps/mm */
#define E_STEP_DIST 0.0025
#define FREQ 50e6
#define MAX_ERROR_TICKS 1250.0 /* the default 25 us */
#define FLUSH_AHEAD_S 0.25
#define RUN_SLICE_S 0.05
#define START_DELAY_S 0.3
#define MAX_STEPPERS 4
#define STEP_PIN_X 16 /* PB0 */

struct rig {
    struct sim_host host;
    struct fs_mcu *mcu, *tool; /* tool: a toolboard, or NULL */
    struct fs_stepsync *sync, *tool_sync;
    struct fs_stepper *steppers[MAX_STEPPERS];
    int axes[MAX_STEPPERS];
    int count;
    int shutdowns;
    char shutdown_reason[128];
    /* Engine-side cost: steps and wall seconds in add_move and flush. */
    uint64_t steps_generated;
    double engine_wall_s;
};

struct axis_spec {
    const char *name, *step, *dir, *enable;
    int invert_dir, enable_active_low;
    double step_dist, max_error_s;
};

static double wall_now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    (void)m;
    (void)eventtime;
    struct rig *r = arg;
    if (ev != FS_MCU_EVENT_SHUTDOWN)
        return;
    r->shutdowns++;
    snprintf(r->shutdown_reason, sizeof(r->shutdown_reason), "%s", detail);
}

static struct fs_pin_desc pin(const char *name, int invert)
{
    struct fs_pin_desc p;
    memset(&p, 0, sizeof(p));
    snprintf(p.mcu, sizeof(p.mcu), "mcu");
    snprintf(p.pin, sizeof(p.pin), "%s", name);
    p.invert = invert;
    return p;
}

/* One MCU with the given axes; reserve leaves that many move-queue slots to
 * other users (0: steppers get them all). With on_toolboard the last axis
 * sits on a second MCU whose crystal is 110 ppm slow and which powered on
 * 3 ms later, as a toolboard's would. */
static void build_rig2(struct rig *r, const struct axis_spec *specs, int count,
                       int64_t clock_error_ppb, int reserve, int on_toolboard)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    assert_int_equal(sim_host_init(h, 7, NULL, &err), 0);
    struct sim_mcu_options opt;
    sim_mcu_options_default(&opt);
    opt.clock_error_ppb = clock_error_ppb;
    assert_int_equal(sim_host_add_mcu(h, "mcu", &opt, &err), 0);
    if (on_toolboard) {
        struct sim_mcu_options tool_opt;
        sim_mcu_options_default(&tool_opt);
        tool_opt.clock_error_ppb = -110000;
        tool_opt.power_on_ns = 3000000;
        assert_int_equal(sim_host_add_mcu(h, "toolboard", &tool_opt, &err), 0);
    }
    for (int i = 0; i < count; i++) {
        const char *mcu_name = on_toolboard && i == count - 1 ? "toolboard" : "mcu";
        struct plant_axis_params ap;
        plant_axis_params_default(&ap);
        ap.steps_per_mm = 1.0 / specs[i].step_dist;
        ap.initial_mm = 0.0;
        ap.invert_dir = specs[i].invert_dir;
        ap.has_enable_pin = specs[i].enable != NULL;
        ap.enable_active_low = specs[i].enable_active_low;
        ap.endstop_side = PLANT_ENDSTOP_NONE;
        struct sim_axis_pins pins = {specs[i].step, specs[i].dir, specs[i].enable, NULL};
        r->axes[i] = sim_world_add_axis(h->world, mcu_name, &pins, &ap, &err);
        assert_true(r->axes[i] >= 0);
    }
    if (sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("connect: %s", err.msg);
    r->mcu = sim_host_mcu(h, "mcu");
    fs_mcu_set_event_handler(r->mcu, on_event, r);
    r->sync = fs_stepsync_new(r->mcu, &err);
    assert_non_null(r->sync);
    fs_stepsync_set_reactor(r->sync, &h->reactor);
    assert_int_equal(fs_stepsync_reserve_slots(r->sync, reserve, &err), 0);
    if (on_toolboard) {
        r->tool = sim_host_mcu(h, "toolboard");
        fs_mcu_set_event_handler(r->tool, on_event, r);
        r->tool_sync = fs_stepsync_new(r->tool, &err);
        assert_non_null(r->tool_sync);
        fs_stepsync_set_reactor(r->tool_sync, &h->reactor);
    }
    for (int i = 0; i < count; i++) {
        struct fs_stepper_params p;
        memset(&p, 0, sizeof(p));
        p.name = specs[i].name;
        int on_tool = on_toolboard && i == count - 1;
        p.mcu = on_tool ? r->tool : r->mcu;
        p.sync = on_tool ? r->tool_sync : r->sync;
        p.step_pin = pin(specs[i].step, 0);
        p.dir_pin = pin(specs[i].dir, specs[i].invert_dir);
        p.has_enable = specs[i].enable != NULL;
        if (p.has_enable)
            p.enable_pin = pin(specs[i].enable, specs[i].enable_active_low);
        p.step_dist = specs[i].step_dist;
        p.max_error_s = specs[i].max_error_s;
        r->steppers[i] = fs_stepper_new(&p, &err);
        if (!r->steppers[i])
            fail_msg("stepper: %s", err.msg);
    }
    r->count = count;
    if (fs_mcu_configure(r->mcu, 5.0, &err) < 0 ||
        (r->tool && fs_mcu_configure(r->tool, 5.0, &err) < 0))
        fail_msg("configure: %s", err.msg);
}

static void build_rig(struct rig *r, const struct axis_spec *specs, int count,
                      int64_t clock_error_ppb, int reserve)
{
    build_rig2(r, specs, count, clock_error_ppb, reserve, 0);
}

static void free_rig(struct rig *r)
{
    sim_host_free(&r->host);
    for (int i = 0; i < r->count; i++)
        fs_stepper_free(r->steppers[i]);
    fs_stepsync_free(r->sync);
    fs_stepsync_free(r->tool_sync);
}

static double now_print_time(struct rig *r)
{
    return fs_mcu_estimated_print_time(r->mcu, sim_host_now(&r->host));
}

/* A symmetric trapezoid over distance from rest to rest (or from/to the
 * given speeds), as a planner would hand it over. */
static struct fs_trapezoid trapezoid(double print_time, double distance, double v_max,
                                     double accel, double start_v, double end_v)
{
    struct fs_trapezoid m = {.print_time = print_time, .start_v = start_v, .accel = accel};
    double d_acc = (v_max * v_max - start_v * start_v) / (2 * accel);
    double d_dec = (v_max * v_max - end_v * end_v) / (2 * accel);
    if (d_acc + d_dec > distance) {
        v_max = sqrt((2 * accel * distance + start_v * start_v + end_v * end_v) / 2);
        d_acc = (v_max * v_max - start_v * start_v) / (2 * accel);
        d_dec = (v_max * v_max - end_v * end_v) / (2 * accel);
    }
    m.cruise_v = v_max;
    m.accel_t = (v_max - start_v) / accel;
    m.decel_t = (v_max - end_v) / accel;
    m.cruise_t = (distance - d_acc - d_dec) / v_max;
    if (m.cruise_t < 0)
        m.cruise_t = 0;
    return m;
}

static void add_move(struct rig *r, int i, const struct fs_trapezoid *m, double start_pos,
                     double ratio, double pa)
{
    struct fs_error err = {{0}};
    int64_t before = fs_stepper_step_count(r->steppers[i]);
    double t0 = wall_now();
    if (fs_stepper_add_move(r->steppers[i], m, start_pos, ratio, pa, &err) < 0)
        fail_msg("add_move: %s", err.msg);
    r->engine_wall_s += wall_now() - t0;
    int64_t n = fs_stepper_step_count(r->steppers[i]) - before;
    r->steps_generated += (uint64_t)(n < 0 ? -n : n);
}

static int flush_all(struct rig *r, double print_time, struct fs_error *err)
{
    double t0 = wall_now();
    for (int i = 0; i < r->count; i++)
        if (fs_stepper_flush(r->steppers[i], print_time, err) < 0)
            return -1;
    r->engine_wall_s += wall_now() - t0;
    return 0;
}

/* The toolhead's part: keep FLUSH_AHEAD_S of steps flushed ahead of the
 * MCU while the world runs, until end_print_time has passed. */
static void run_until(struct rig *r, double end_print_time)
{
    struct fs_error err = {{0}};
    while (now_print_time(r) < end_print_time + 0.1) {
        if (flush_all(r, now_print_time(r) + FLUSH_AHEAD_S, &err) < 0)
            fail_msg("flush: %s", err.msg);
        sim_host_run_for(&r->host, RUN_SLICE_S);
        if (r->shutdowns)
            fail_msg("mcu shut down: %s", r->shutdown_reason);
    }
}

static int64_t mcu_position(struct rig *r, int i)
{
    struct fs_error err = {{0}};
    int64_t steps = 0;
    if (fs_stepper_sync_after_stop(r->steppers[i], &steps, &err) < 0)
        fail_msg("position: %s", err.msg);
    return steps;
}

static void report_throughput(const struct rig *r, const char *what)
{
    if (r->engine_wall_s > 0)
        print_message("%s: %llu steps generated+compressed+queued in %.4f s of engine time "
                      "(%.0f steps/s)\n", what, (unsigned long long)r->steps_generated,
                      r->engine_wall_s, (double)r->steps_generated / r->engine_wall_s);
}

/* ---- one axis, 100 mm: exact end, every edge on time -------------------- */

/* Ideal time (s into the move) at which the position crosses x, by
 * bisection on the trapezoid: independent of the stepper's own solver. */
static double crossing_time(const struct fs_trapezoid *m, double x)
{
    double lo = 0, hi = fs_trapezoid_duration(m);
    for (int i = 0; i < 80; i++) {
        double mid = 0.5 * (lo + hi);
        if (fs_trapezoid_distance(m, mid) < x)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void test_trapezoid_move_lands_exactly_and_every_edge_is_on_time(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec x = {"stepper_x", "PB0", "PB1", "PB2", 0, 1, STEP_DIST, 0};
    build_rig(r, &x, 1, 0, 0);
    struct fs_error err = {{0}};
    struct sim_world *w = r->host.world;

    /* MCU clock of a world time: exact crystal, 20 ns a tick. */
    int64_t t_ref = sim_world_now_ns(w);
    double clock_ref = (double)sim_world_mcu_clock(w, "mcu");
    FILE *trace = tmpfile();
    assert_non_null(trace);
    sim_world_trace_start(w, trace);

    double pt0 = now_print_time(r) + START_DELAY_S;
    assert_int_equal(fs_stepper_set_enable(r->steppers[0], pt0 - 0.1, 1, &err), 0);
    struct fs_trapezoid m = trapezoid(pt0, 100.0, 150.0, 3000.0, 0, 0);
    add_move(r, 0, &m, 0.0, 1.0, 0.0);
    run_until(r, pt0 + fs_trapezoid_duration(&m));
    sim_world_trace_stop(w);

    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_position_steps(w, r->axes[0]), 8000);
    assert_int_equal(sim_world_axis_step_count(w, r->axes[0]), 8000);
    assert_int_equal(sim_world_axis(w, r->axes[0])->ignored_steps, 0);
    assert_int_equal(fs_stepper_step_count(r->steppers[0]), 8000);
    assert_true(fabs(fs_stepper_get_position(r->steppers[0]) - 100.0) < 1e-9);
    assert_int_equal(mcu_position(r, 0), 8000);

    /* Every rising edge of the step pin against its ideal time. */
    rewind(trace);
    char line[256], expect[32];
    snprintf(expect, sizeof(expect), "mcu pin %d=1", STEP_PIN_X);
    int edges = 0;
    double worst = 0;
    while (fgets(line, sizeof(line), trace)) {
        if (!strstr(line, expect))
            continue;
        long long s, ns;
        assert_int_equal(sscanf(line, "%lld.%lld", &s, &ns), 2);
        int64_t t = s * 1000000000LL + ns;
        double clock = clock_ref + (double)(t - t_ref) / 20.0;
        edges++;
        double ideal = (pt0 + crossing_time(&m, (edges - 0.5) * STEP_DIST)) * FREQ;
        double e = fabs(clock - ideal);
        if (e > worst)
            worst = e;
        if (e > MAX_ERROR_TICKS + 1.0)
            fail_msg("step %d at clock %.0f is %.0f ticks from its ideal %.1f", edges, clock,
                     clock - ideal, ideal);
    }
    fclose(trace);
    assert_int_equal(edges, 8000);
    struct fs_stepper_stats st;
    fs_stepper_get_stats(r->steppers[0], &st);
    print_message("100 mm move: 8000 steps in %llu queue_step commands, worst edge %.2f us "
                  "from ideal\n", (unsigned long long)st.queue_steps_sent, worst / FREQ * 1e6);
    report_throughput(r, "100 mm move");
    free_rig(r);
    free(r);
}

/* ---- more commands than the MCU has move slots -------------------------- */

static int learn_move_count(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec x = {"stepper_x", "PB0", "PB1", NULL, 0, 0, STEP_DIST, 0};
    build_rig(r, &x, 1, 0, 0);
    int n = fs_mcu_state(r->mcu)->move_count;
    free_rig(r);
    free(r);
    return n;
}

static void run_long_move_with_tight_error(int reserve_all_but, int expect_more_than)
{
    struct rig *r = calloc(1, sizeof(*r));
    /* 0.04 us error: few steps share a command. */
    const struct axis_spec x = {"stepper_x", "PB0", "PB1", NULL, 0, 0, STEP_DIST, 4e-8};
    int move_count = learn_move_count();
    int reserve = reserve_all_but ? move_count - reserve_all_but : 0;
    build_rig(r, &x, 1, 25000, reserve);
    double pt0 = now_print_time(r) + START_DELAY_S;
    /* 200 mm accelerating and braking gently: 16000 steps, none at a
     * steady rate. */
    struct fs_trapezoid m = trapezoid(pt0, 200.0, 80.0, 30.0, 0, 0);
    add_move(r, 0, &m, 0.0, 1.0, 0.0);
    /* All of it at once: the link must hold back what the MCU has no
     * room for yet, or the firmware shuts down with "Move queue overflow". */
    struct fs_error err = {{0}};
    double end = pt0 + fs_trapezoid_duration(&m);
    if (flush_all(r, end + 1.0, &err) < 0)
        fail_msg("flush: %s", err.msg);
    run_until(r, end);
    struct fs_stepper_stats st;
    fs_stepper_get_stats(r->steppers[0], &st);
    print_message("move_count %d, %d slots for steppers: %llu queue_step commands\n",
                  move_count, move_count - reserve, (unsigned long long)st.queue_steps_sent);
    assert_true(st.queue_steps_sent > (uint64_t)expect_more_than);
    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]), 16000);
    assert_int_equal(mcu_position(r, 0), 16000);
    report_throughput(r, "200 mm move, 0.04 us error");
    free_rig(r);
    free(r);
}

static void test_more_commands_than_move_count_completes(void **state)
{
    (void)state;
    run_long_move_with_tight_error(0, learn_move_count());
}

static void test_few_slots_hold_commands_back_without_overflow(void **state)
{
    (void)state;
    /* Other outputs took all but 64 slots: the steppers' commands take
     * turns in them. */
    run_long_move_with_tight_error(64, 64 * 20);
}

static void test_too_few_slots_is_reported_instead_of_overflowing(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec x = {"stepper_x", "PB0", "PB1", NULL, 0, 0, STEP_DIST, 4e-8};
    build_rig(r, &x, 1, 0, learn_move_count() - 4);
    double pt0 = now_print_time(r) + START_DELAY_S;
    struct fs_trapezoid m = trapezoid(pt0, 200.0, 80.0, 30.0, 0, 0);
    add_move(r, 0, &m, 0.0, 1.0, 0.0);
    struct fs_error err = {{0}};
    assert_int_equal(flush_all(r, pt0 + fs_trapezoid_duration(&m) + 1.0, &err), -1);
    assert_non_null(strstr(err.msg, "stepper_x: mcu 'mcu' move queue full"));
    sim_host_run_for(&r->host, fs_trapezoid_duration(&m) + 1.0);
    assert_int_equal(r->shutdowns, 0);
    /* What went out before the error ran; the rest was dropped and the
     * stepper's count says so. */
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]),
                     fs_stepper_step_count(r->steppers[0]));
    assert_true(fs_stepper_step_count(r->steppers[0]) < 16000);
    free_rig(r);
    free(r);
}

/* ---- corexy ------------------------------------------------------------- */

static void test_corexy_pair_lands_exactly(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec ab[2] = {
        {"stepper_a", "PA0", "PA1", NULL, 0, 0, STEP_DIST, 0},
        {"stepper_b", "PA2", "PA3", NULL, 1, 0, STEP_DIST, 0}, /* '!' on its dir pin */
    };
    build_rig(r, ab, 2, 25000, 0);
    double pt = now_print_time(r) + START_DELAY_S;
    /* Along +Y 40 mm: a = x + y, b = x - y. */
    struct fs_trapezoid m1 = trapezoid(pt, 40.0, 200.0, 3000.0, 0, 0);
    add_move(r, 0, &m1, 0.0, 1.0, 0.0);
    add_move(r, 1, &m1, 0.0, -1.0, 0.0);
    pt += fs_trapezoid_duration(&m1);
    /* Then 25 mm towards (0.6, 0.8)... back and forth: direction (x, y) =
     * (-0.8, 0.6) gives a ratio -0.2, b ratio -1.4. */
    struct fs_trapezoid m2 = trapezoid(pt, 25.0, 120.0, 2000.0, 0, 0);
    add_move(r, 0, &m2, 40.0, -0.2, 0.0);
    add_move(r, 1, &m2, -40.0, -1.4, 0.0);
    pt += fs_trapezoid_duration(&m2);
    run_until(r, pt);
    /* a: 40 - 5 = 35 mm, b: -40 - 35 = -75 mm. */
    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]), 2800);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[1]), -6000);
    assert_int_equal(fs_stepper_step_count(r->steppers[0]), 2800);
    assert_int_equal(fs_stepper_step_count(r->steppers[1]), -6000);
    assert_true(fabs(fs_stepper_get_position(r->steppers[1]) + 75.0) < 1e-9);
    assert_int_equal(mcu_position(r, 0), 2800);
    assert_int_equal(mcu_position(r, 1), -6000);
    report_throughput(r, "corexy");
    free_rig(r);
    free(r);
}

/* ---- pressure advance --------------------------------------------------- */

static void test_pressure_advance_nets_the_extrusion_distance(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec e = {"extruder", "PA4", "PA5", NULL, 0, 0, E_STEP_DIST, 0};
    build_rig(r, &e, 1, 0, 0);
    const double pa = 0.05;
    double pt = now_print_time(r) + START_DELAY_S;
    /* Three extruding moves joined at speed, with different extrusion
     * ratios, so pressure advance jumps at each junction; then a
     * retraction. Net: 1.0 + 0.6 + 0.25 - 0.75 = 1.1 mm (the coordinate
     * ends at -0.5 after a G92 E0 on the way). */
    struct fs_trapezoid m1 = trapezoid(pt, 20.0, 60.0, 3000.0, 0, 30.0);
    add_move(r, 0, &m1, 0.0, 0.05, pa);
    pt += fs_trapezoid_duration(&m1);
    struct fs_trapezoid m2 = trapezoid(pt, 30.0, 80.0, 3000.0, 30.0, 20.0);
    add_move(r, 0, &m2, 1.0, 0.02, pa);
    pt += fs_trapezoid_duration(&m2);
    /* G92 E0 between two moves joined at speed: renames, moves nothing. */
    fs_stepper_set_position(r->steppers[0], 0.0);
    struct fs_trapezoid m3 = trapezoid(pt, 5.0, 50.0, 3000.0, 20.0, 0.0);
    add_move(r, 0, &m3, 0.0, 0.05, pa);
    pt += fs_trapezoid_duration(&m3);
    struct fs_trapezoid m4 = trapezoid(pt, 0.75, 40.0, 1000.0, 0, 0);
    add_move(r, 0, &m4, 0.25, -1.0, pa);
    pt += fs_trapezoid_duration(&m4);
    run_until(r, pt);
    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]), 440);
    assert_int_equal(fs_stepper_step_count(r->steppers[0]), 440);
    assert_true(fabs(fs_stepper_get_position(r->steppers[0]) + 0.5) < 1e-9);
    assert_int_equal(mcu_position(r, 0), 440);
    /* The junction jumps really moved the motor back and forth. */
    assert_true(sim_world_axis_step_count(r->host.world, r->axes[0]) > 440);
    print_message("pressure advance: net 440 steps, %llu steps taken\n",
                  (unsigned long long)sim_world_axis_step_count(r->host.world, r->axes[0]));
    free_rig(r);
    free(r);
}

/* ---- too fast ----------------------------------------------------------- */

static void test_steps_too_fast_are_refused_not_sent(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec x = {"stepper_x", "PB0", "PB1", NULL, 0, 0, STEP_DIST, 0};
    build_rig(r, &x, 1, 0, 0);
    /* 5000 mm/s at 80 steps/mm is 400 kHz; 2 us pulses allow 250 kHz. */
    double pt = now_print_time(r) + START_DELAY_S;
    struct fs_trapezoid m = trapezoid(pt, 100.0, 5000.0, 500000.0, 0, 0);
    add_move(r, 0, &m, 0.0, 1.0, 0.0);
    struct fs_error err = {{0}};
    assert_int_equal(flush_all(r, pt + fs_trapezoid_duration(&m), &err), -1);
    assert_non_null(strstr(err.msg, "stepper_x: steps too fast"));
    sim_host_run_for(&r->host, 0.5);
    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]),
                     fs_stepper_step_count(r->steppers[0]));
    free_rig(r);
    free(r);
}

/* ---- a toolboard -------------------------------------------------------- */

static void test_extruder_on_a_toolboard_follows_the_main_timeline(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec xe[2] = {
        {"stepper_x", "PB0", "PB1", NULL, 0, 0, STEP_DIST, 0},
        {"extruder", "PA4", "PA5", NULL, 0, 0, E_STEP_DIST, 0},
    };
    build_rig2(r, xe, 2, 25000, 0, 1);
    /* Back-and-forth extruding moves for a while, with crystals 135 ppm
     * apart: the extruder's commands keep reaching the toolboard in time
     * (no shutdown) and its steps land exactly. */
    double pt = now_print_time(r) + START_DELAY_S;
    double x = 0, e = 0;
    for (int i = 0; i < 60; i++) {
        double dist = 40.0, dir = i % 2 ? -1.0 : 1.0;
        struct fs_trapezoid m = trapezoid(pt, dist, 100.0, 2000.0, 0, 0);
        add_move(r, 0, &m, x, dir, 0.0);
        add_move(r, 1, &m, e, 0.04, 0.03);
        x += dir * dist;
        e += 0.04 * dist;
        pt += fs_trapezoid_duration(&m) + 0.1;
        run_until(r, pt - 0.5); /* keep flushing while the moves are queued */
    }
    run_until(r, pt);
    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]), 0);
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[1]), 38400);
    assert_int_equal(mcu_position(r, 1), 38400);
    assert_true(fabs(e - 96.0) < 1e-9);
    free_rig(r);
    free(r);
}

/* ---- a late flush ------------------------------------------------------- */

static void test_late_flush_reports_timing_overrun_instead_of_sending(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    const struct axis_spec x = {"stepper_x", "PB0", "PB1", NULL, 0, 0, STEP_DIST, 0};
    build_rig(r, &x, 1, 0, 0);
    double pt = now_print_time(r) + 0.1;
    struct fs_trapezoid m = trapezoid(pt, 10.0, 100.0, 3000.0, 0, 0);
    add_move(r, 0, &m, 0.0, 1.0, 0.0);
    sim_host_run_for(&r->host, 0.2); /* the toolhead dozed off */
    struct fs_error err = {{0}};
    assert_int_equal(fs_stepper_flush(r->steppers[0], pt + fs_trapezoid_duration(&m), &err), -1);
    assert_non_null(strstr(err.msg, "stepper_x: step scheduled in the past (timing overrun)"));
    sim_host_run_for(&r->host, 0.5);
    assert_int_equal(r->shutdowns, 0);
    assert_int_equal(sim_world_axis_step_count(r->host.world, r->axes[0]), 0);
    /* Nothing went out, and the stepper says so. */
    assert_int_equal(fs_stepper_step_count(r->steppers[0]), 0);
    /* It recovers: the next move starts on a fresh time base. */
    pt = now_print_time(r) + START_DELAY_S;
    struct fs_trapezoid m2 = trapezoid(pt, 5.0, 100.0, 3000.0, 0, 0);
    add_move(r, 0, &m2, 10.0, 1.0, 0.0);
    run_until(r, pt + fs_trapezoid_duration(&m2));
    assert_int_equal(sim_world_axis_position_steps(r->host.world, r->axes[0]), 400);
    assert_int_equal(r->shutdowns, 0);
    free_rig(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trapezoid_move_lands_exactly_and_every_edge_is_on_time),
        cmocka_unit_test(test_more_commands_than_move_count_completes),
        cmocka_unit_test(test_few_slots_hold_commands_back_without_overflow),
        cmocka_unit_test(test_too_few_slots_is_reported_instead_of_overflowing),
        cmocka_unit_test(test_corexy_pair_lands_exactly),
        cmocka_unit_test(test_pressure_advance_nets_the_extrusion_distance),
        cmocka_unit_test(test_extruder_on_a_toolboard_follows_the_main_timeline),
        cmocka_unit_test(test_steps_too_fast_are_refused_not_sent),
        cmocka_unit_test(test_late_flush_reports_timing_overrun_instead_of_sending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
