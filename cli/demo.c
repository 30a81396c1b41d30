/* The demo's story, its timeline, its outcome and its picture; the printer
 * and the demo-level control it drives are in demo_rig.c. */
#include "demo.h"

#include <errno.h>    /* errno, EEXIST */
#include <math.h>     /* fabs, llround */
#include <stdarg.h>   /* va_list */
#include <string.h>   /* strrchr, memset */
#include <sys/stat.h> /* mkdir */
#include <time.h>     /* clock_gettime */

#include "core/error.h" /* fs_error_set */
#include "demo_rig.h"   /* struct demo_rig, demo_rig_* */
#include "mcu/mcu.h"    /* fs_mcu_identity */
#include "viz_chart.h"  /* viz_chart_* */

#define TARGET_C 200.0
#define BAND_C 2.0
#define HEAT_TIMEOUT_S 240.0
#define HOME_FAST_MM_S 25.0
#define HOME_SLOW_MM_S 2.0
#define HOME_BACKOFF_MM 3.0
#define MOVE_MM_S 50.0
#define MOVE_ACCEL_MM_S2 500.0
#define HOLD_S 15.0
#define COOL_S 8.0

struct demo {
    struct demo_rig rig;
    FILE *out;
    struct demo_outcome *o;
    double heat_on_t, heat_off_t;
    struct viz_marker markers[16];
    int marker_count;
};

static void say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct demo *d, const char *fmt, ...)
{
    if (!d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(d->out, "[%6.1f s] ", demo_rig_now(&d->rig));
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    va_end(ap);
    fflush(d->out);
}

static void mark(struct demo *d, const char *label)
{
    if (d->marker_count >= (int)(sizeof(d->markers) / sizeof(d->markers[0])))
        return;
    struct viz_marker *m = &d->markers[d->marker_count++];
    m->t = demo_rig_now(&d->rig);
    snprintf(m->label, sizeof(m->label), "%s", label);
}

static int fail(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->o->reason, sizeof(d->o->reason), fmt, ap);
    va_end(ap);
    say(d, "stopped: %s", d->o->reason);
    return -1;
}

/* Whether something went wrong behind the story's back. */
static int healthy(struct demo *d)
{
    const char *problem = d->rig.callback_error[0] ? d->rig.callback_error
                          : d->rig.shutdowns       ? d->rig.shutdown_detail
                                                   : NULL;
    if (!problem)
        return 1;
    fail(d, "%s", problem);
    return 0;
}

static double x_engine_mm(const struct demo *d, int64_t count)
{
    return (double)(count + d->rig.x_offset_steps) / DEMO_X_STEPS_PER_MM;
}

static int heat(struct demo *d)
{
    struct demo_rig *r = &d->rig;
    /* A controller needs a reading to start from. */
    while (r->heater.temp_time < 0 && demo_rig_now(r) < 5.0)
        demo_rig_run_for(r, 0.1);
    if (r->heater.temp_time < 0)
        return fail(d, "no temperature report from the toolboard");
    d->heat_on_t = demo_rig_now(r);
    mark(d, "heat to 200 C");
    say(d, "hotend %.1f C, heating to %.0f C (PI control on the toolboard's reports)",
        r->heater.temp_c, TARGET_C);
    demo_rig_set_target(r, TARGET_C);
    double next_say = d->heat_on_t + 10.0;
    while (fabs(r->heater.temp_c - TARGET_C) > BAND_C) {
        demo_rig_run_for(r, 0.1);
        if (!healthy(d))
            return -1;
        double now = demo_rig_now(r);
        if (now - d->heat_on_t > HEAT_TIMEOUT_S)
            return fail(d, "hotend still at %.1f C after %.0f s of heating", r->heater.temp_c,
                        HEAT_TIMEOUT_S);
        if (now >= next_say) {
            say(d, "hotend %.1f C (target %.0f), heater %.0f %%", r->heater.temp_c, TARGET_C,
                r->heater.duty * 100.0);
            next_say += 10.0;
        }
    }
    mark(d, "at target");
    say(d, "hotend %.1f C (target %.0f): within %.0f C after %.1f s", r->heater.temp_c,
        TARGET_C, BAND_C, r->heater.temp_time - d->heat_on_t);
    demo_rig_run_for(r, 3.0);
    return healthy(d) ? 0 : -1;
}

static int home(struct demo *d)
{
    struct demo_rig *r = &d->rig;
    struct fs_error err = {{0}};
    int64_t before, fast, slow;
    mark(d, "homing X");
    say(d, "X homing: position unknown; fast pass toward the min endstop at %.0f mm/s",
        HOME_FAST_MM_S);
    if (demo_rig_read_x_count(r, &before, &err) < 0 ||
        demo_rig_home_pass(r, DEMO_X_MAX_MM * 1.1, HOME_FAST_MM_S, &fast, &err) < 0)
        return fail(d, "%s", err.msg);
    say(d, "X endstop hit after %.2f mm of travel; backing off %.0f mm",
        (double)(before - fast) / DEMO_X_STEPS_PER_MM, HOME_BACKOFF_MM);
    if (demo_rig_move_steps(r, llround(HOME_BACKOFF_MM * DEMO_X_STEPS_PER_MM), 10.0, 200.0,
                            &err) < 0)
        return fail(d, "%s", err.msg);
    say(d, "X slow pass at %.0f mm/s", HOME_SLOW_MM_S);
    if (demo_rig_home_pass(r, HOME_BACKOFF_MM * 2, HOME_SLOW_MM_S, &slow, &err) < 0)
        return fail(d, "%s", err.msg);
    /* The slow pass stops within the step that pressed the switch: that
     * step count is machine position 0. */
    r->x_offset_steps = -slow;
    r->homed = 1;
    d->o->homed = 1;
    int64_t plant = sim_world_axis_position_steps(r->host.world, r->axis_id);
    d->o->homing_error_steps = (slow + r->x_offset_steps) - plant;
    mark(d, "homed");
    if (d->o->homing_error_steps == 0)
        say(d, "X homed: endstop triggered at %.2f mm, plant agrees", x_engine_mm(d, slow));
    else
        say(d, "X homed at %.2f mm, but the plant is at %.3f mm (%lld steps off)",
            x_engine_mm(d, slow), (double)plant / DEMO_X_STEPS_PER_MM,
            (long long)d->o->homing_error_steps);
    return healthy(d) ? 0 : -1;
}

static int move_to(struct demo *d, double target_mm)
{
    struct demo_rig *r = &d->rig;
    struct fs_error err = {{0}};
    int64_t count;
    char label[32];
    snprintf(label, sizeof(label), "X to %.0f", target_mm);
    if (demo_rig_read_x_count(r, &count, &err) < 0)
        return fail(d, "%s", err.msg);
    int64_t target_steps = llround(target_mm * DEMO_X_STEPS_PER_MM);
    mark(d, label);
    say(d, "X moving %.2f -> %.2f mm at up to %.0f mm/s, %.0f mm/s^2", x_engine_mm(d, count),
        target_mm, MOVE_MM_S, MOVE_ACCEL_MM_S2);
    if (demo_rig_move_steps(r, target_steps - (count + r->x_offset_steps), MOVE_MM_S,
                            MOVE_ACCEL_MM_S2, &err) < 0 ||
        demo_rig_read_x_count(r, &count, &err) < 0)
        return fail(d, "%s", err.msg);
    say(d, "X at %.2f mm (plant %.2f mm)", x_engine_mm(d, count),
        sim_world_axis_position_mm(r->host.world, r->axis_id));
    d->o->commanded_mm = target_mm;
    demo_rig_run_for(r, 2.0);
    return healthy(d) ? 0 : -1;
}

static int hold_and_cool(struct demo *d)
{
    struct demo_rig *r = &d->rig;
    say(d, "holding %.0f C for %.0f s", TARGET_C, HOLD_S);
    for (int i = 0; i < 3; i++) {
        demo_rig_run_for(r, HOLD_S / 3);
        if (!healthy(d))
            return -1;
        say(d, "hotend %.1f C (target %.0f), heater %.0f %%", r->heater.temp_c, TARGET_C,
            r->heater.duty * 100.0);
    }
    d->heat_off_t = demo_rig_now(r);
    mark(d, "heater off");
    demo_rig_set_target(r, 0.0);
    say(d, "heater off");
    demo_rig_run_for(r, COOL_S);
    say(d, "hotend %.1f C, cooling", r->heater.temp_c);
    return healthy(d) ? 0 : -1;
}

static int story(struct demo *d)
{
    if (heat(d) < 0 || home(d) < 0 || move_to(d, 100.0) < 0 || move_to(d, 10.0) < 0)
        return -1;
    return hold_and_cool(d);
}

/* ---- outcome ---------------------------------------------------------------- */

/* Temperature figures from the recorded reports. */
static void judge_temperature(struct demo *d)
{
    struct demo_outcome *o = d->o;
    const struct demo_samples *s = &d->rig.temps;
    double end = d->heat_off_t > 0 ? d->heat_off_t : demo_rig_now(&d->rig);
    o->hold_min_c = 1e9;
    o->hold_max_c = -1e9;
    for (size_t i = 0; i < s->count; i++) {
        double t = s->points[i].t, v = s->points[i].v;
        if (t < d->heat_on_t || d->heat_on_t <= 0 || t > end)
            continue;
        if (v - o->target_c > o->max_overshoot_c)
            o->max_overshoot_c = v - o->target_c;
        if (!o->reached_target && fabs(v - o->target_c) <= BAND_C) {
            o->reached_target = 1;
            o->time_to_target_s = t - d->heat_on_t;
        }
        if (o->reached_target) {
            o->hold_min_c = v < o->hold_min_c ? v : o->hold_min_c;
            o->hold_max_c = v > o->hold_max_c ? v : o->hold_max_c;
        }
    }
}

static void judge(struct demo *d)
{
    struct demo_outcome *o = d->o;
    struct demo_rig *r = &d->rig;
    judge_temperature(d);
    struct fs_error err = {{0}};
    int64_t count = 0;
    int have_count = demo_rig_read_x_count(r, &count, &err) == 0;
    o->final_engine_mm = have_count ? x_engine_mm(d, count) : NAN;
    o->final_plant_mm = sim_world_axis_position_mm(r->host.world, r->axis_id);
    o->shutdowns = r->shutdowns;
    o->sim_time_s = demo_rig_now(r);
    if (o->reason[0])
        return; /* the story stopped early and said why */
    double step_mm = 1.0 / DEMO_X_STEPS_PER_MM;
    if (!o->reached_target)
        snprintf(o->reason, sizeof(o->reason), "the hotend never came within %.0f C of %.0f C",
                 BAND_C, o->target_c);
    else if (o->max_overshoot_c > BAND_C || o->hold_min_c < o->target_c - BAND_C)
        snprintf(o->reason, sizeof(o->reason),
                 "the hotend left the +-%.0f C band while holding (%.1f .. %.1f C)", BAND_C,
                 o->hold_min_c, o->hold_max_c);
    else if (!o->homed || o->homing_error_steps != 0)
        snprintf(o->reason, sizeof(o->reason), "X homed %lld steps away from the plant",
                 (long long)o->homing_error_steps);
    else if (!have_count)
        snprintf(o->reason, sizeof(o->reason), "X position unreadable: %s", err.msg);
    else if (fabs(o->final_engine_mm - o->commanded_mm) > step_mm + 1e-9 ||
             fabs(o->final_plant_mm - o->commanded_mm) > step_mm + 1e-9)
        snprintf(o->reason, sizeof(o->reason),
                 "X ended at %.3f mm (plant %.3f mm), commanded %.3f mm", o->final_engine_mm,
                 o->final_plant_mm, o->commanded_mm);
    else if (o->shutdowns)
        snprintf(o->reason, sizeof(o->reason), "%s", r->shutdown_detail);
    o->ok = !o->reason[0];
}

static void print_outcome(const struct demo_outcome *o, FILE *out)
{
    if (!out)
        return;
    fprintf(out, "\noutcome\n");
    if (o->reached_target) {
        fprintf(out, "  time to target      %.1f s (first reading within +-%.0f C of %.0f C)\n",
                o->time_to_target_s, BAND_C, o->target_c);
        fprintf(out, "  max overshoot       %.2f C\n", o->max_overshoot_c);
        fprintf(out, "  while holding       %.1f .. %.1f C\n", o->hold_min_c, o->hold_max_c);
    } else {
        fprintf(out, "  time to target      not reached\n");
    }
    if (o->homed)
        fprintf(out, "  homing error        %lld steps (engine vs plant)\n",
                (long long)o->homing_error_steps);
    else
        fprintf(out, "  homing error        not homed\n");
    fprintf(out, "  final X             engine %.3f mm, plant %.3f mm (commanded %.3f mm)\n",
            o->final_engine_mm, o->final_plant_mm, o->commanded_mm);
    fprintf(out, "  MCU shutdowns       %d\n", o->shutdowns);
    fprintf(out, "  simulated time      %.1f s\n", o->sim_time_s);
    fprintf(out, "  wall time           %.2f s\n", o->wall_time_s);
    if (o->ok)
        fprintf(out, "result: OK\n");
    else
        fprintf(out, "result: FAILED: %s\n", o->reason);
    fflush(out);
}

/* ---- picture ---------------------------------------------------------------- */

static int make_parent_dirs(const char *path, struct fs_error *err)
{
    char dir[512];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return fs_error_set(err, "demo: path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) < 0 && errno != EEXIST)
            return fs_error_set(err, "demo: cannot create %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return fs_error_set(err, "demo: cannot create %s: %s", dir, strerror(errno));
    return 0;
}

static int draw(struct demo *d, const char *path, uint64_t seed, struct fs_error *err)
{
    static struct viz_chart c; /* large; one demo at a time */
    char title[VIZ_TEXT_MAX];
    snprintf(title, sizeof(title), "failsoft demo on the simulated printer (seed %llu): %s",
             (unsigned long long)seed, d->o->ok ? "OK" : "FAILED");
    const struct demo_samples *temps = &d->rig.temps, *x = &d->rig.x_plant;
    if (make_parent_dirs(path, err) < 0 || viz_chart_init(&c, title, 1200, 720, err) < 0 ||
        viz_chart_add_panel(&c, "hotend (C)", err) < 0 ||
        viz_chart_add_series(&c, 0, "hotend, as reported by the toolboard", temps->points,
                             temps->count, err) < 0 ||
        viz_chart_add_ref_line(&c, 0, "target 200 C", TARGET_C, err) < 0 ||
        viz_chart_add_panel(&c, "X (mm)", err) < 0 ||
        viz_chart_add_series(&c, 1, "X position of the axis (plant)", x->points, x->count,
                             err) < 0)
        return -1;
    /* From 0 with headroom above the target, as a person would scale it. */
    c.panels[0].y_min = 0.0;
    c.panels[0].y_max = TARGET_C * 1.2;
    c.panels[0].series[0].color = (struct viz_color){214, 39, 40};
    c.panels[1].series[0].color = (struct viz_color){31, 119, 180};
    for (int i = 0; i < d->marker_count; i++)
        if (viz_chart_add_marker(&c, d->markers[i].t, d->markers[i].label, err) < 0)
            return -1;
    return viz_chart_render_png(&c, path, err);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int demo_run(const struct demo_options *opt, struct demo_outcome *o, struct fs_error *err)
{
    static struct demo d; /* the world is large; one demo at a time */
    memset(&d, 0, sizeof(d));
    memset(o, 0, sizeof(*o));
    d.out = opt->out;
    d.o = o;
    o->target_c = TARGET_C;
    double wall_start = wall_seconds();
    FILE *trace = NULL;
    if (opt->trace_path && !(trace = fopen(opt->trace_path, "w")))
        return fs_error_set(err, "demo: cannot write %s: %s", opt->trace_path, strerror(errno));
    if (demo_rig_init(&d.rig, opt->seed, trace, stderr, err) < 0) {
        fs_error_prefix(err, "demo: building the simulated printer: ");
        demo_rig_free(&d.rig);
        if (trace)
            fclose(trace);
        return -1;
    }
    if (opt->break_x_endstop)
        sim_world_axis(d.rig.host.world, d.rig.axis_id)->endstop_stuck_open = 1;
    say(&d, "printer ready: 'mcu' (X axis, endstop) and 'toolboard' (hotend) configured");
    story(&d);
    judge(&d);
    o->wall_time_s = wall_seconds() - wall_start;
    print_outcome(o, d.out);
    int rc = 0;
    if (opt->png_path) {
        rc = draw(&d, opt->png_path, opt->seed, err);
        if (rc == 0 && d.out)
            fprintf(d.out, "picture: %s\n", opt->png_path);
    }
    demo_rig_free(&d.rig);
    if (trace && fclose(trace) != 0 && rc == 0)
        rc = fs_error_set(err, "demo: cannot write %s", opt->trace_path);
    return rc;
}
