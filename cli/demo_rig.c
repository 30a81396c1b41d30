/* The demo printer and its demo-level control; see demo_rig.h. */
#include "demo_rig.h"

#include <math.h>   /* log, llround */
#include <stdarg.h> /* va_list */
#include <stdio.h>  /* snprintf, vsnprintf, fprintf */
#include <stdlib.h> /* realloc, free */
#include <string.h> /* memset, strcmp */

#include "core/error.h"  /* fs_error_set */
#include "demo_motion.h" /* demo_move_plan */
#include "mcu/mcu.h"     /* fs_mcu_* */

/* Toolboard oids. */
#define HEATER_OID 0
#define ADC_OID 1
/* Main board oids. */
#define STEPPER_OID 0
#define ENABLE_OID 1
#define ENDSTOP_OID 2
#define TRSYNC_OID 3

#define TRIGGER_ENDSTOP 1
#define TRIGGER_TIMEOUT 4

#define ADC_SAMPLES 8          /* ADC readings summed into one report */
#define ADC_MAX 4095.0
#define REPORT_S 0.3           /* one temperature report this often */
#define HEATER_MAX_DURATION_S 2.0
#define HEATER_CYCLE_S 0.1     /* software PWM period */
#define COMMAND_LEAD_S 0.1     /* heater changes take effect this far ahead */
#define MOVE_LEAD_S 0.25       /* first step this far ahead: the commands must arrive first */
#define SAMPLE_PERIOD_S 0.01   /* chart samples of the axis */

/* PI gains for the demo hotend, tuned in simulation for no overshoot:
 * full power until 10 C below the target, the integral settles the rest. */
#define PI_KP 0.1   /* duty per C */
#define PI_KI 0.01  /* duty per C*s */

/* Thermistor and divider of the toolboard: 100k NTC, beta 3950, 4.7k. */
#define THERM_R25 100000.0
#define THERM_BETA 3950.0
#define THERM_PULLUP 4700.0

static void remember_error(struct demo_rig *r, const struct fs_error *err)
{
    if (!r->callback_error[0])
        snprintf(r->callback_error, sizeof(r->callback_error), "%s", err->msg);
}

static int sendf(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sendf(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return fs_mcu_send_text(m, text, err);
}

static uint64_t clock_at(struct fs_mcu *m, double print_time)
{
    return fs_mcu_print_time_to_clock(m, print_time);
}

static double print_time_now(const struct demo_rig *r, struct fs_mcu *m)
{
    return fs_mcu_estimated_print_time(m, sim_host_now(&r->host));
}

double demo_rig_now(const struct demo_rig *r) { return sim_host_now(&r->host); }

void demo_rig_run_for(struct demo_rig *r, double seconds) { sim_host_run_for(&r->host, seconds); }

/* ---- samples ------------------------------------------------------------ */

int demo_samples_add(struct demo_samples *s, double t, double v)
{
    if (s->count == s->capacity) {
        size_t cap = s->capacity ? s->capacity * 2 : 1024;
        struct viz_point *p = realloc(s->points, cap * sizeof(*p));
        if (!p)
            return -1;
        s->points = p;
        s->capacity = cap;
    }
    s->points[s->count++] = (struct viz_point){t, v};
    return 0;
}

void demo_samples_free(struct demo_samples *s)
{
    free(s->points);
    memset(s, 0, sizeof(*s));
}

/* ---- heater ------------------------------------------------------------- */

/* Inverts the divider and the beta model. */
static double adc_sum_to_celsius(uint32_t sum)
{
    double v = (double)sum / (ADC_SAMPLES * ADC_MAX);
    if (v <= 0.0 || v >= 1.0)
        return NAN;
    double ohm = THERM_PULLUP * v / (1.0 - v);
    double inv_t = 1.0 / 298.15 + log(ohm / THERM_R25) / THERM_BETA;
    return 1.0 / inv_t - 273.15;
}

static void heater_output(struct demo_rig *r, double duty)
{
    struct fs_mcu *t = r->tool;
    uint32_t cycle = fs_mcu_seconds_to_ticks(t, HEATER_CYCLE_S);
    uint32_t on_ticks = (uint32_t)llround(duty * cycle);
    struct fs_error err = {{0}};
    uint32_t clock = (uint32_t)clock_at(t, print_time_now(r, t) + COMMAND_LEAD_S);
    if (sendf(t, &err, "queue_digital_out oid=%d clock=%u on_ticks=%u", HEATER_OID, clock,
              on_ticks) < 0)
        remember_error(r, &err);
}

/* Runs on every report, so the output is refreshed every REPORT_S, well
 * inside the firmware's max_duration. */
static void heater_control(struct demo_rig *r, double temp_c, double now)
{
    struct demo_heater *h = &r->heater;
    double dt = h->temp_time < 0 ? 0.0 : now - h->temp_time;
    h->temp_c = temp_c;
    h->temp_time = now;
    if (h->target_c <= 0.0 || isnan(temp_c)) {
        /* A reading the divider cannot produce is no basis for heating; the
         * firmware's own range check shuts the board down soon after. */
        h->duty = 0.0;
        if (!h->off_sent)
            heater_output(r, 0.0);
        h->off_sent = 1;
        return;
    }
    double e = h->target_c - temp_c;
    double u = PI_KP * e + PI_KI * h->integral;
    /* Integrate only while the output is free to act on it, so that the
     * long heat-up at full power does not wind the integral up. */
    if ((u < 1.0 || e < 0.0) && (u > 0.0 || e > 0.0))
        h->integral += e * dt;
    u = PI_KP * e + PI_KI * h->integral;
    h->duty = u < 0.0 ? 0.0 : u > 1.0 ? 1.0 : u;
    heater_output(r, h->duty);
}

void demo_rig_set_target(struct demo_rig *r, double target_c)
{
    r->heater.target_c = target_c;
    r->heater.off_sent = 0;
    if (target_c <= 0.0) {
        r->heater.integral = 0.0;
        heater_output(r, 0.0);
        r->heater.off_sent = 1;
    }
}

/* ---- MCU callbacks ------------------------------------------------------ */

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    struct demo_rig *r = arg;
    const char *what = ev == FS_MCU_EVENT_SHUTDOWN    ? "shut down"
                       : ev == FS_MCU_EVENT_LOST      ? "stopped answering"
                       : ev == FS_MCU_EVENT_RESTARTED ? "restarted"
                                                      : NULL;
    if (!what)
        return;
    r->shutdowns++;
    if (!r->shutdown_detail[0])
        snprintf(r->shutdown_detail, sizeof(r->shutdown_detail), "mcu '%s' %s at %.1f s: %s",
                 fs_mcu_name(m), what, eventtime, detail ? detail : "");
}

static void on_analog(void *arg, const struct fs_msg *msg, double receive_time)
{
    struct demo_rig *r = arg;
    int i = fs_msgformat_param_index(msg->format, "values");
    if (i < 0 || msg->values[i] < 2)
        return;
    /* The newest sum is the last pair of bytes. */
    int64_t b = msg->values[i] - 2;
    uint32_t sum = (uint32_t)(msg->data[i][b] | (msg->data[i][b + 1] << 8));
    double temp_c = adc_sum_to_celsius(sum);
    if (!isnan(temp_c) && demo_samples_add(&r->temps, receive_time, temp_c) < 0)
        snprintf(r->callback_error, sizeof(r->callback_error), "out of memory");
    heater_control(r, temp_c, receive_time);
}

static void on_trsync(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct demo_rig *r = arg;
    if (!fs_msg_get(msg, "can_trigger", 1))
        r->trsync_reason = (int)fs_msg_get(msg, "trigger_reason", 0);
}

static int start_analog(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct demo_rig *r = arg;
    uint32_t clock = (uint32_t)clock_at(m, print_time_now(r, m) + 0.2);
    /* Sums outside 100..4050 per sample for 4 reports in a row mean an
     * open or shorted sensor: the firmware then switches the heater off. */
    return sendf(m, err,
                 "query_analog_in oid=%d clock=%u sample_ticks=%u sample_count=%d "
                 "rest_ticks=%u bytes_per_report=2 min_value=%d max_value=%d "
                 "range_check_count=4",
                 ADC_OID, clock, fs_mcu_seconds_to_ticks(m, 0.0001), ADC_SAMPLES,
                 fs_mcu_seconds_to_ticks(m, REPORT_S), 100 * ADC_SAMPLES, 4050 * ADC_SAMPLES);
}

static double sample_axis(struct fs_timer *t, double eventtime)
{
    struct demo_rig *r = t->arg;
    double mm = sim_world_axis_position_mm(r->host.world, r->axis_id);
    if (demo_samples_add(&r->x_plant, eventtime, mm) < 0)
        return FS_NEVER;
    return eventtime + SAMPLE_PERIOD_S;
}

static void log_sink(void *arg, enum fs_log_level level, const char *msg)
{
    fprintf(arg, "engine %s: %s\n", fs_log_level_name(level), msg);
}

/* ---- building the printer ------------------------------------------------ */

static int add_plant(struct demo_rig *r, struct fs_error *err)
{
    struct sim_world *w = r->host.world;
    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    /* A 50 W hotend with a light block: about a minute to 200 C, like a
     * common one, rather than the plant default's three. */
    hp.power_w = 50.0;
    hp.capacity_j_per_k = 10.0;
    r->heater_id = sim_world_add_heater(w, "toolboard", "PA1", "PA2", &hp, &tp, err);
    if (r->heater_id < 0)
        return -1;

    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.steps_per_mm = DEMO_X_STEPS_PER_MM;
    ap.initial_mm = 57.3; /* wherever the last session left it */
    ap.endstop_side = PLANT_ENDSTOP_MIN;
    ap.endstop_mm = 0.0;
    struct sim_axis_pins pins = {"PB0", "PB1", "PB2", "PB3"};
    r->axis_id = sim_world_add_axis(w, "mcu", &pins, &ap, err);
    return r->axis_id < 0 ? -1 : 0;
}

static int configure_toolboard(struct demo_rig *r, struct fs_error *err)
{
    struct fs_mcu *t = r->tool;
    if (fs_mcu_create_oid(t) != HEATER_OID || fs_mcu_create_oid(t) != ADC_OID)
        return fs_error_set(err, "demo: unexpected toolboard oids");
    if (fs_mcu_add_config_cmd(t, err,
                              "config_digital_out oid=%d pin=PA1 value=0 default_value=0 "
                              "max_duration=%u",
                              HEATER_OID, fs_mcu_seconds_to_ticks(t, HEATER_MAX_DURATION_S)) < 0 ||
        fs_mcu_add_config_cmd(t, err, "set_digital_out_pwm_cycle oid=%d cycle_ticks=%u",
                              HEATER_OID, fs_mcu_seconds_to_ticks(t, HEATER_CYCLE_S)) < 0 ||
        fs_mcu_add_config_cmd(t, err, "config_analog_in oid=%d pin=PA2", ADC_OID) < 0 ||
        fs_mcu_on_configured(t, start_analog, r, err) < 0 ||
        fs_mcu_register_response(t, "analog_in_state oid=%c next_clock=%u values=%*s",
                                 ADC_OID, on_analog, r, err) < 0)
        return -1;
    return fs_mcu_configure(t, 5.0, err);
}

static int configure_main(struct demo_rig *r, struct fs_error *err)
{
    struct fs_mcu *m = r->main;
    for (int i = 0; i <= TRSYNC_OID; i++)
        if (fs_mcu_create_oid(m) != i)
            return fs_error_set(err, "demo: unexpected main board oids");
    /* The driver is enabled from configuration on (enable is active low). */
    if (fs_mcu_add_config_cmd(m, err,
                              "config_stepper oid=%d step_pin=PB0 dir_pin=PB1 invert_step=0 "
                              "step_pulse_ticks=%u",
                              STEPPER_OID, fs_mcu_seconds_to_ticks(m, 0.000002)) < 0 ||
        fs_mcu_add_config_cmd(m, err,
                              "config_digital_out oid=%d pin=PB2 value=0 default_value=1 "
                              "max_duration=0",
                              ENABLE_OID) < 0 ||
        fs_mcu_add_config_cmd(m, err, "config_endstop oid=%d pin=PB3 pull_up=0",
                              ENDSTOP_OID) < 0 ||
        fs_mcu_add_config_cmd(m, err, "config_trsync oid=%d", TRSYNC_OID) < 0 ||
        fs_mcu_register_response(m,
                                 "trsync_state oid=%c can_trigger=%c trigger_reason=%c "
                                 "clock=%u",
                                 TRSYNC_OID, on_trsync, r, err) < 0)
        return -1;
    return fs_mcu_configure(m, 5.0, err);
}

int demo_rig_init(struct demo_rig *r, uint64_t seed, FILE *trace, FILE *log_out,
                  struct fs_error *err)
{
    memset(r, 0, sizeof(*r));
    r->heater.temp_time = -1.0;
    r->log = (struct fs_logger){log_sink, log_out, FS_LOG_WARN};
    if (sim_host_init(&r->host, seed, log_out ? &r->log : NULL, err) < 0)
        return -1;
    if (trace)
        sim_world_trace_start(r->host.world, trace);
    struct sim_mcu_options main_opt, tool_opt;
    sim_mcu_options_default(&main_opt);
    sim_mcu_options_default(&tool_opt);
    /* Crystals a few ppm apart, as on real boards: clock sync has work. */
    main_opt.clock_error_ppb = 12000;
    tool_opt.clock_error_ppb = -7000;
    tool_opt.power_on_ns = 2000000;
    if (sim_host_add_mcu(&r->host, "mcu", &main_opt, err) < 0 ||
        sim_host_add_mcu(&r->host, "toolboard", &tool_opt, err) < 0 || add_plant(r, err) < 0)
        return -1;
    if (sim_host_connect(&r->host, 5.0, err) < 0)
        return -1;
    r->main = sim_host_mcu(&r->host, "mcu");
    r->tool = sim_host_mcu(&r->host, "toolboard");
    fs_mcu_set_event_handler(r->main, on_event, r);
    fs_mcu_set_event_handler(r->tool, on_event, r);
    if (configure_main(r, err) < 0 || configure_toolboard(r, err) < 0)
        return -1;
    fs_timer_init(&r->sample_timer, sample_axis, r);
    if (fs_reactor_timer_set(&r->host.reactor, &r->sample_timer, demo_rig_now(r)) < 0)
        return fs_error_set(err, "demo: cannot arm the sampling timer");
    return 0;
}

void demo_rig_free(struct demo_rig *r)
{
    if (r->host.world) {
        fs_reactor_timer_cancel(&r->host.reactor, &r->sample_timer);
        sim_world_trace_stop(r->host.world);
    }
    sim_host_free(&r->host);
    demo_samples_free(&r->temps);
    demo_samples_free(&r->x_plant);
}

/* ---- motion ------------------------------------------------------------- */

int demo_rig_read_x_count(struct demo_rig *r, int64_t *count, struct fs_error *err)
{
    struct fs_mcu_reply reply;
    char text[64];
    snprintf(text, sizeof(text), "stepper_get_position oid=%d", STEPPER_OID);
    if (fs_mcu_query(r->main, text, "stepper_position oid=%c pos=%i", STEPPER_OID, &reply, 1.0,
                     err) < 0)
        return -1;
    *count = fs_msg_get(&reply.msg, "pos", 0);
    return 0;
}

static void x_limits(const struct demo_rig *r, double speed_mm_s, double accel_mm_s2,
                     struct demo_move_limits *lim)
{
    lim->steps_per_mm = DEMO_X_STEPS_PER_MM;
    lim->speed_mm_s = speed_mm_s;
    lim->accel_mm_s2 = accel_mm_s2;
    lim->clock_freq = fs_mcu_clock_freq(r->main);
    lim->tolerance_s = 0.000020;
    /* Twice the step pulse, so a pulse always ends before the next one. */
    lim->min_interval = fs_mcu_seconds_to_ticks(r->main, 0.000004);
}

/* Starts a planned move at start_clock in the given direction. */
static int queue_move(struct demo_rig *r, const struct demo_move_plan *p, uint64_t start_clock,
                      int positive, struct fs_error *err)
{
    struct fs_mcu *m = r->main;
    if (sendf(m, err, "reset_step_clock oid=%d clock=%u", STEPPER_OID,
              (uint32_t)start_clock) < 0 ||
        sendf(m, err, "set_next_step_dir oid=%d dir=%d", STEPPER_OID, positive) < 0)
        return -1;
    for (size_t i = 0; i < p->segment_count; i++) {
        const struct demo_step_segment *s = &p->segments[i];
        if (sendf(m, err, "queue_step oid=%d interval=%u count=%u add=%d", STEPPER_OID,
                  s->interval, s->count, s->add) < 0)
            return -1;
    }
    return 0;
}

static int trsync_fired(void *arg)
{
    const struct demo_rig *r = arg;
    return r->trsync_reason != 0 || r->callback_error[0];
}

int demo_rig_home_pass(struct demo_rig *r, double max_mm, double speed_mm_s,
                       int64_t *count_at_stop, struct fs_error *err)
{
    struct fs_mcu *m = r->main;
    struct demo_move_limits lim;
    x_limits(r, speed_mm_s, 500.0, &lim);
    struct demo_move_plan plan;
    if (demo_move_plan(&plan, (uint32_t)llround(max_mm * DEMO_X_STEPS_PER_MM), &lim, err) < 0)
        return -1;
    double start_pt = print_time_now(r, m) + MOVE_LEAD_S;
    uint64_t start = clock_at(m, start_pt);
    uint64_t deadline = start + plan.end_ticks + fs_mcu_seconds_to_ticks(m, 0.5);
    r->trsync_reason = 0;
    /* The order matters: the stepper listens to the trsync before the
     * endstop can pull it, and both before the first step. */
    int rc = sendf(m, err,
                   "trsync_start oid=%d report_clock=%u report_ticks=%u expire_reason=%d",
                   TRSYNC_OID, (uint32_t)start, fs_mcu_seconds_to_ticks(m, 0.1),
                   TRIGGER_TIMEOUT);
    if (rc == 0)
        rc = sendf(m, err, "stepper_stop_on_trigger oid=%d trsync_oid=%d", STEPPER_OID,
                   TRSYNC_OID);
    if (rc == 0)
        rc = sendf(m, err, "trsync_set_timeout oid=%d clock=%u", TRSYNC_OID,
                   (uint32_t)deadline);
    if (rc == 0)
        rc = sendf(m, err,
                   "endstop_home oid=%d clock=%u sample_ticks=%u sample_count=4 rest_ticks=%u "
                   "pin_value=1 trsync_oid=%d trigger_reason=%d",
                   ENDSTOP_OID, (uint32_t)start, fs_mcu_seconds_to_ticks(m, 0.000015),
                   fs_mcu_seconds_to_ticks(m, 0.0001), TRSYNC_OID, TRIGGER_ENDSTOP);
    if (rc == 0)
        rc = queue_move(r, &plan, start, 0, err);
    double wait_s = MOVE_LEAD_S + plan.duration_s + 2.0;
    demo_move_plan_free(&plan);
    if (rc < 0)
        return -1;
    fs_reactor_wait_for(&r->host.reactor, trsync_fired, r, demo_rig_now(r) + wait_s);
    /* Whatever happened, the endstop stops sampling. */
    if (sendf(m, err,
              "endstop_home oid=%d clock=0 sample_ticks=0 sample_count=0 rest_ticks=0 "
              "pin_value=0 trsync_oid=%d trigger_reason=0",
              ENDSTOP_OID, TRSYNC_OID) < 0)
        return -1;
    if (r->callback_error[0])
        return fs_error_set(err, "%s", r->callback_error);
    if (r->trsync_reason != TRIGGER_ENDSTOP)
        return fs_error_set(err, "X homing: the endstop did not trigger within %.0f mm (%s)",
                            max_mm,
                            r->trsync_reason == TRIGGER_TIMEOUT ? "trsync timed out"
                                                                : "no trsync report");
    return demo_rig_read_x_count(r, count_at_stop, err);
}

int demo_rig_move_steps(struct demo_rig *r, int64_t steps, double speed_mm_s,
                        double accel_mm_s2, struct fs_error *err)
{
    if (steps == 0)
        return 0;
    struct fs_mcu *m = r->main;
    struct demo_move_limits lim;
    x_limits(r, speed_mm_s, accel_mm_s2, &lim);
    struct demo_move_plan plan;
    uint64_t n = (uint64_t)(steps < 0 ? -steps : steps);
    if (n > UINT32_MAX)
        return fs_error_set(err, "demo: a move of %lld steps is too long", (long long)steps);
    if (demo_move_plan(&plan, (uint32_t)n, &lim, err) < 0)
        return -1;
    double start_pt = print_time_now(r, m) + MOVE_LEAD_S;
    double end_pt = start_pt + plan.duration_s;
    int rc = queue_move(r, &plan, clock_at(m, start_pt), steps > 0, err);
    demo_move_plan_free(&plan);
    if (rc < 0)
        return -1;
    /* Past the last step and its pulse, with room for the clock estimate. */
    while (print_time_now(r, m) < end_pt + 0.02 && !r->callback_error[0] && !r->shutdowns)
        demo_rig_run_for(r, 0.02);
    if (r->callback_error[0])
        return fs_error_set(err, "%s", r->callback_error);
    if (r->shutdowns)
        return fs_error_set(err, "%s", r->shutdown_detail);
    return 0;
}
