/* One heater: readings in, control law, output out, and the host's own
 * fault detection, raised through the fault module. See heater.h. */
#include "thermal/heater.h"

#include <math.h>   /* NAN, isnan, fabs, ceil */
#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#include <cjson/cJSON.h> /* cJSON_Add* (describe) */

#include "core/error.h"    /* fs_error_set, fs_error_prefix */
#include "core/log.h"      /* fs_log */
#include "core/reactor.h"  /* fs_reactor_now */
#include "mcu/mcu.h"       /* fs_mcu_estimated_print_time */
#include "mcu/mcu_adc.h"   /* fs_mcu_adc_* */
#include "mcu/mcu_heater_guard.h" /* fs_mcu_heater_guard_* */
#include "mcu/mcu_output.h" /* fs_mcu_output_* */
#include "fault/fault.h"   /* fs_fault_raise, fs_faults_add_source */

/* A change of power smaller than this is not worth a message: it waits for
 * the next refresh. */
#define HEATER_MIN_CHANGE 0.005
/* Readings further apart than this (a lost report) are not used to grow
 * the integral or take a derivative: the gap says nothing about the rate. */
#define HEATER_MAX_DT_S 2.0
/* Readings kept for the uncommanded-heating window (120 s at 0.3 s), and
 * how many of them one median takes (1.5 s at 0.3 s). */
#define HEATER_HISTORY 512
#define HEATER_MEDIAN 5

/* What one reading says about the sensor. */
enum reading_class {
    READING_GOOD,
    READING_OPEN,
    READING_SHORT,
    READING_OVER,
    READING_UNDER,
};

enum verify_phase {
    VERIFY_IDLE,      /* no target, or target reached and held */
    VERIFY_APPROACH,  /* heating towards a new target */
};

struct fs_heater {
    char name[FS_HEATER_NAME_MAX];
    struct fs_heater_params p;
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_mcu_adc *adc;
    struct fs_mcu_output *out;

    double temp_c, last_time;
    double target_c;
    double power;

    /* PID state. */
    double smoothed_c, integral;
    int have_reading;
    /* Watermark state. */
    int heating;

    /* verify_heater state. */
    enum verify_phase phase;
    double verify_error;
    double goal_c, goal_time;
    double verify_target; /* the target the phase belongs to */

    /* Faults. */
    struct fs_fault_source *src;
    struct fs_mcu_heater_guard *guard;
    double tolerance_s;
    double open_limit, short_limit; /* readings 0..1: above open, below short */
    double min_reading, max_reading; /* min_temp..max_temp as readings */
    enum fs_heater_fault fault;     /* latched: off until cleared */
    char fault_reason[FS_FAULT_EVIDENCE_MAX];
    char evidence[FS_FAULT_EVIDENCE_MAX]; /* the fault being raised */
    double bad_count_s;             /* the leaky counter */
    double bad_run_s;               /* the current run of bad readings */
    double bad_run_worst;           /* its reading furthest from sane, 0..1 */
    enum reading_class bad_run_class;
    enum reading_class reading_class; /* the latest reading's */
    double sane_c;                     /* the latest good reading, NAN before one */
    double latest_value;            /* the latest reading, 0..1 */
    double guard_trip_time;         /* print time of the last trip, 0: none */
    double guard_trip_value;
    /* Uncommanded heating: sane readings while the output is off. */
    double hist_t[HEATER_HISTORY], hist_c[HEATER_HISTORY];
    int hist_head, hist_count;
    int uncommanded_raised;
    int sensor_raised; /* the counter's fault was raised since the last clear */

    fs_heater_control_fn override_fn;
    void *override_arg;
};

void fs_heater_verify_default(struct fs_heater_verify *v, int is_extruder)
{
    v->enabled = 1;
    v->max_error = 120.0;
    v->check_gain_time_s = is_extruder ? 20.0 : 60.0;
    v->hysteresis_c = 5.0;
    v->heating_gain_c = 2.0;
}

void fs_heater_params_default(struct fs_heater_params *p)
{
    memset(p, 0, sizeof(*p));
    fs_sensor_thermistor_beta(&p->sensor, 25.0, 100000.0, 3950.0, NULL);
    p->min_temp_c = 0.0;
    p->max_temp_c = 300.0;
    p->min_extrude_temp_c = 170.0;
    p->max_power = 1.0;
    p->pwm_cycle_time_s = 0.1;
    p->control = FS_HEATER_CONTROL_PID;
    p->pid_kp = 22.2;
    p->pid_ki = 1.08;
    p->pid_kd = 114.0;
    p->max_delta_c = 2.0;
    p->smooth_time_s = 1.0;
    fs_heater_verify_default(&p->verify, 1);
    p->fault_tolerance_s = 1.0;
    p->uncommanded_rise_c = FS_HEATER_UNCOMMANDED_RISE_C;
    p->uncommanded_time_s = FS_HEATER_UNCOMMANDED_TIME_S;
    p->use_guard = 1;
}

/* ---- faults -------------------------------------------------------------- */

static void send_power(struct fs_heater *h, double power, int force);

/* The floor: off now and kept off. Any context; the fault module's disable
 * op comes here too, for this heater's own faults and for others. */
static void heater_off_latched(struct fs_heater *h, enum fs_heater_fault kind)
{
    if (!h->fault)
        h->fault = kind;
    h->target_c = 0.0;
    h->power = 0.0;
    h->integral = 0.0;
    h->heating = 0;
    h->phase = VERIFY_IDLE;
    send_power(h, 0.0, 1);
}

static enum fs_heater_fault display_kind(enum fs_fault_kind kind)
{
    switch (kind) {
    case FS_FAULT_NOT_HEATING: return FS_HEATER_FAULT_NOT_HEATING;
    case FS_FAULT_RUNAWAY: return FS_HEATER_FAULT_RUNAWAY;
    case FS_FAULT_OVER_TEMPERATURE:
    case FS_FAULT_UNDER_TEMPERATURE: return FS_HEATER_FAULT_OUT_OF_RANGE;
    case FS_FAULT_SENSOR_OPEN:
    case FS_FAULT_SENSOR_SHORT: return FS_HEATER_FAULT_SENSOR;
    case FS_FAULT_UNCOMMANDED_HEATING: return FS_HEATER_FAULT_UNCOMMANDED;
    default: return FS_HEATER_FAULT_OTHER;
    }
}

/* A fault of this heater, first half: off and latched at once (whatever
 * the policy will say), the evidence written into h->evidence and the
 * first one kept for status and refusals. The caller then raises it with
 * a literal fs_fault_raise(h->src, FS_FAULT_<KIND>, "%s", h->evidence), so
 * every raise site can be found by its kind. */
static void latch_off(struct fs_heater *h, enum fs_fault_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void latch_off(struct fs_heater *h, enum fs_fault_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->evidence, sizeof(h->evidence), fmt, ap);
    va_end(ap);
    if (!h->fault)
        snprintf(h->fault_reason, sizeof(h->fault_reason), "%s", h->evidence);
    heater_off_latched(h, display_kind(kind));
}

enum fs_heater_fault fs_heater_fault(const struct fs_heater *h, const char **reason)
{
    if (reason)
        *reason = h->fault_reason;
    return h->fault;
}

static const char *class_name(enum reading_class c)
{
    switch (c) {
    case READING_OPEN: return "past the sensor's open limit";
    case READING_SHORT: return "past the sensor's short limit";
    case READING_OVER: return "above max_temp";
    case READING_UNDER: return "below min_temp";
    default: return "in range";
    }
}

static double reading_c(const struct fs_heater *h, double value)
{
    return fs_sensor_adc_to_c(&h->p.sensor, value);
}

/* The print time now on the sensor's MCU. */
static double sensor_now(const struct fs_heater *h)
{
    return fs_mcu_estimated_print_time(fs_mcu_adc_mcu(h->adc), fs_reactor_now(h->reactor));
}

int fs_heater_clear_fault(struct fs_heater *h, struct fs_error *err)
{
    if (!h->have_reading)
        return fs_error_set(err, "%s has no reading yet", h->name);
    double age = sensor_now(h) - h->last_time;
    if (age > FS_HEATER_STALE_S)
        return fs_error_set(err, "%s: the latest reading is %.1f s old (stale)", h->name, age);
    if (h->reading_class != READING_GOOD)
        return fs_error_set(err, "%s reads %.1f C (ADC %.4f), %s", h->name, h->temp_c,
                            h->latest_value, class_name(h->reading_class));
    if (h->guard_trip_time > 0.0 && h->guard_trip_time >= h->last_time)
        return fs_error_set(err, "%s: the MCU's heater guard tripped at ADC %.4f (%.1f C) "
                            "after the latest reading", h->name, h->guard_trip_value,
                            reading_c(h, h->guard_trip_value));
    if (fs_mcu_heater_guard_is_tripped(h->guard)) {
        struct fs_error why;
        if (fs_mcu_heater_guard_rearm(h->guard, &why) < 0)
            return fs_error_set(err, "%s: cannot re-arm the heater guard: %s", h->name, why.msg);
    }
    h->fault = FS_HEATER_FAULT_NONE;
    h->fault_reason[0] = '\0';
    h->phase = VERIFY_IDLE;
    h->verify_error = 0.0;
    h->verify_target = 0.0;
    h->bad_count_s = 0.0;
    h->uncommanded_raised = 0;
    h->sensor_raised = 0;
    h->hist_count = 0;
    return 0;
}

/* ---- the fault source's ops ------------------------------------------------- */

static void op_disable(void *arg, enum fs_fault_kind kind)
{
    heater_off_latched(arg, display_kind(kind));
}

static int op_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    (void)kind;
    return fs_heater_clear_fault(arg, err);
}

static unsigned op_untrusted_axes(void *arg, enum fs_fault_kind kind)
{
    (void)arg;
    (void)kind;
    return 0;
}

static void op_describe(void *arg, cJSON *obj)
{
    struct fs_heater *h = arg;
    if (h->have_reading)
        cJSON_AddNumberToObject(obj, "temperature", h->temp_c);
    else
        cJSON_AddNullToObject(obj, "temperature");
    cJSON_AddNumberToObject(obj, "reading", h->latest_value);
    cJSON_AddNumberToObject(obj, "target", h->target_c);
    cJSON_AddNumberToObject(obj, "power", h->power);
    cJSON_AddStringToObject(obj, "guard", !fs_mcu_heater_guard_is_active(h->guard) ? "absent"
                                          : fs_mcu_heater_guard_is_tripped(h->guard) ? "tripped"
                                                                                   : "armed");
    cJSON_AddBoolToObject(obj, "latched", h->fault != FS_HEATER_FAULT_NONE);
}

static const struct fs_fault_source_ops heater_ops = {
    op_disable, op_clear, op_untrusted_axes, op_describe,
};

/* ---- sensor checks -------------------------------------------------------------- */

/* temp is reading_c(h, value), converted once per reading by the caller. */
static enum reading_class classify(const struct fs_heater *h, double value, double temp)
{
    if (value > h->open_limit)
        return READING_OPEN;
    if (value < h->short_limit)
        return READING_SHORT;
    if (temp > h->p.max_temp_c)
        return READING_OVER;
    if (temp < h->p.min_temp_c)
        return READING_UNDER;
    return READING_GOOD;
}

static enum fs_fault_kind class_kind(enum reading_class c)
{
    switch (c) {
    case READING_OPEN: return FS_FAULT_SENSOR_OPEN;
    case READING_SHORT: return FS_FAULT_SENSOR_SHORT;
    case READING_OVER: return FS_FAULT_OVER_TEMPERATURE;
    default: return FS_FAULT_UNDER_TEMPERATURE;
    }
}

/* How far a reading is from the sane band, to keep a run's worst. */
static double badness(const struct fs_heater *h, double value)
{
    if (value > h->max_reading)
        return value - h->max_reading;
    if (value < h->min_reading)
        return h->min_reading - value;
    return 0.0;
}

/* The leaky counter. Returns whether the reading was bad. */
static int check_reading(struct fs_heater *h, double dt, double value, double temp)
{
    enum reading_class c = classify(h, value, temp);
    h->reading_class = c;
    if (c == READING_GOOD) {
        h->sane_c = temp;
        if (h->bad_run_s > 0.0 && !h->sensor_raised)
            fs_fault_raise(h->src, FS_FAULT_SENSOR_GLITCH,
                           "%s: %s for %.1f s (worst reading %.1f C, ADC %.4f), under the "
                           "%.1f s tolerance (count now %.2f s)",
                           h->name, class_name(h->bad_run_class), h->bad_run_s,
                           reading_c(h, h->bad_run_worst), h->bad_run_worst, h->tolerance_s,
                           h->bad_count_s);
        h->bad_run_s = 0.0;
        h->bad_count_s -= dt * FS_HEATER_LEAK_FRACTION;
        if (h->bad_count_s < 0.0)
            h->bad_count_s = 0.0;
        return 0;
    }
    if (h->bad_run_s == 0.0 || badness(h, value) > badness(h, h->bad_run_worst)) {
        h->bad_run_worst = value;
        h->bad_run_class = c;
    }
    h->bad_run_s += dt;
    h->bad_count_s += dt;
    /* Raised even when the heater is off for another fault already: the
     * sensor's state is news of its own (and FAULT_CLEAR must see it). */
    if (h->bad_count_s > h->tolerance_s && !h->sensor_raised) {
        h->sensor_raised = 1;
        latch_off(h, class_kind(c),
                  "%s reads %.1f C (ADC %.4f), %s (limits: open ADC > %.4f, short ADC < "
                  "%.4f, %.1f..%.1f C) for %.1f s; bad time %.2f s > fault_tolerance %.1f s",
                  h->name, temp, value, class_name(c), h->open_limit,
                  h->short_limit, h->p.min_temp_c, h->p.max_temp_c, h->bad_run_s,
                  h->bad_count_s, h->tolerance_s);
        switch (c) {
        case READING_OPEN:
            fs_fault_raise(h->src, FS_FAULT_SENSOR_OPEN, "%s", h->evidence);
            break;
        case READING_SHORT:
            fs_fault_raise(h->src, FS_FAULT_SENSOR_SHORT, "%s", h->evidence);
            break;
        case READING_OVER:
            fs_fault_raise(h->src, FS_FAULT_OVER_TEMPERATURE, "%s", h->evidence);
            break;
        case READING_UNDER:
        case READING_GOOD:
            fs_fault_raise(h->src, FS_FAULT_UNDER_TEMPERATURE, "%s", h->evidence);
            break;
        }
    }
    return 1;
}

/* The median of the HEATER_MEDIAN readings ending i readings before the
 * newest. */
static double history_median(const struct fs_heater *h, int i)
{
    double v[HEATER_MEDIAN];
    for (int j = 0; j < HEATER_MEDIAN; j++) {
        double x = h->hist_c[(h->hist_head - 1 - i - j + 2 * HEATER_HISTORY) % HEATER_HISTORY];
        int k = j;
        for (; k > 0 && v[k - 1] > x; k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
    return v[HEATER_MEDIAN / 2];
}

/* Sane readings while the output is off: the lowest of the last
 * uncommanded_time_s against the latest, both as medians of
 * HEATER_MEDIAN readings, so that one implausible reading (a sum that
 * straddled a sensor glitch reads anything) can neither make nor hide a
 * rise. Real uncommanded heating lasts; the median only delays it by half
 * its span. */
static void check_uncommanded(struct fs_heater *h, double t, double temp, int output_off)
{
    if (!h->out)
        return;
    if (!output_off) {
        h->hist_count = 0;
        h->uncommanded_raised = 0;
        return;
    }
    h->hist_t[h->hist_head] = t;
    h->hist_c[h->hist_head] = temp;
    h->hist_head = (h->hist_head + 1) % HEATER_HISTORY;
    if (h->hist_count < HEATER_HISTORY)
        h->hist_count++;
    if (h->hist_count < HEATER_MEDIAN)
        return;
    double now = history_median(h, 0);
    double low = now, low_t = t;
    for (int i = 1; i + HEATER_MEDIAN <= h->hist_count; i++) {
        int k = (h->hist_head - 1 - i + HEATER_HISTORY) % HEATER_HISTORY;
        if (t - h->hist_t[k] > h->p.uncommanded_time_s)
            break;
        double m = history_median(h, i);
        if (m < low) {
            low = m;
            low_t = h->hist_t[k];
        }
    }
    if (now - low > h->p.uncommanded_rise_c && !h->uncommanded_raised) {
        h->uncommanded_raised = 1;
        latch_off(h, FS_FAULT_UNCOMMANDED_HEATING,
                  "%s rose from %.1f C to %.1f C in %.1f s with its output off "
                  "(uncommanded_heating_rise %.1f C within uncommanded_heating_time %.0f s)",
                  h->name, low, now, t - low_t, h->p.uncommanded_rise_c,
                  h->p.uncommanded_time_s);
        fs_fault_raise(h->src, FS_FAULT_UNCOMMANDED_HEATING, "%s", h->evidence);
    }
}

/* The guard cut the pin at a sample: the host's power follows at once;
 * the readings decide glitch or fault. */
static void on_guard_trip(void *arg, double print_time, double value)
{
    struct fs_heater *h = arg;
    h->guard_trip_time = print_time;
    h->guard_trip_value = value;
    fs_log(h->log, FS_LOG_WARN, "heater %s: the MCU's guard switched it off (ADC %.4f, %.1f C)",
           h->name, value, reading_c(h, value));
    h->power = 0.0;
    send_power(h, 0.0, 1);
}

/* ---- control laws -------------------------------------------------------- */

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static double pid_update(struct fs_heater *h, double dt, double temp)
{
    double kp = h->p.pid_kp / FS_HEATER_PID_PARAM_BASE;
    double ki = h->p.pid_ki / FS_HEATER_PID_PARAM_BASE;
    double kd = h->p.pid_kd / FS_HEATER_PID_PARAM_BASE;
    double prev_smoothed = h->smoothed_c;
    double deriv = 0.0;
    if (dt > 0.0) {
        double alpha = dt / (h->p.smooth_time_s + dt);
        h->smoothed_c += alpha * (temp - h->smoothed_c);
        deriv = (h->smoothed_c - prev_smoothed) / dt;
    }
    double e = h->target_c - temp;
    double integral = h->integral + e * dt;
    /* Anti-windup: the integral alone never asks for more than max_power. */
    double integral_max = ki > 0.0 ? h->p.max_power / ki : 0.0;
    integral = clamp(integral, 0.0, integral_max);
    double co = kp * e + ki * integral - kd * deriv;
    double bounded = clamp(co, 0.0, h->p.max_power);
    /* While saturated, only let the integral move back towards usefulness. */
    if (co == bounded || (co > bounded && integral < h->integral) ||
        (co < bounded && integral > h->integral))
        h->integral = integral;
    return bounded;
}

static double watermark_update(struct fs_heater *h, double temp)
{
    if (h->heating && temp >= h->target_c + h->p.max_delta_c)
        h->heating = 0;
    else if (!h->heating && temp <= h->target_c - h->p.max_delta_c)
        h->heating = 1;
    return h->heating ? h->p.max_power : 0.0;
}

static double control(struct fs_heater *h, double print_time, double dt, double temp)
{
    if (h->override_fn)
        return clamp(h->override_fn(h->override_arg, print_time, temp, h->target_c), 0.0,
                     h->p.max_power);
    if (h->p.control == FS_HEATER_CONTROL_WATERMARK)
        return h->target_c > 0.0 ? watermark_update(h, temp) : 0.0;
    double power = pid_update(h, dt, temp);
    return h->target_c > 0.0 ? power : 0.0;
}

/* ---- verify_heater ------------------------------------------------------- */

static void start_approach(struct fs_heater *h, double t, double temp)
{
    h->phase = VERIFY_APPROACH;
    h->goal_c = temp + h->p.verify.heating_gain_c;
    h->goal_time = t + h->p.verify.check_gain_time_s;
    h->verify_error = 0.0;
}

/* Near the target all is well; below it, the shortfall accumulates, and
 * while approaching a new target the heater must gain heating_gain_c
 * every check_gain_time_s. */
static void verify_update(struct fs_heater *h, double t, double dt, double temp)
{
    const struct fs_heater_verify *v = &h->p.verify;
    double target = h->target_c;
    if (!v->enabled || target <= 0.0) {
        h->phase = VERIFY_IDLE;
        h->verify_error = 0.0;
        h->verify_target = target;
        return;
    }
    double low = target - v->hysteresis_c;
    if (temp >= low) {
        h->phase = VERIFY_IDLE;
        if (temp <= target + v->hysteresis_c)
            h->verify_error = 0.0;
        h->verify_target = target;
        return;
    }
    /* A new target starts an approach, but does not restart a running
     * one: targets changed more often than check_gain_time would otherwise
     * keep a dead heater's check from ever expiring. */
    if (target != h->verify_target) {
        h->verify_target = target;
        if (h->phase != VERIFY_APPROACH) {
            start_approach(h, t, temp);
            return;
        }
    }
    h->verify_error += (low - temp) * dt;
    if (h->phase == VERIFY_APPROACH) {
        if (temp >= h->goal_c) {
            start_approach(h, t, temp);
        } else if (t >= h->goal_time) {
            latch_off(h, FS_FAULT_NOT_HEATING,
                      "Heater %s not heating at expected rate (%.1f C after the last "
                      "check, goal %.1f C by now; check_gain_time %.0f s, heating_gain "
                      "%.1f C)", h->name, temp, h->goal_c, v->check_gain_time_s,
                      v->heating_gain_c);
            fs_fault_raise(h->src, FS_FAULT_NOT_HEATING, "%s", h->evidence);
        }
        return;
    }
    if (h->verify_error >= v->max_error) {
        latch_off(h, FS_FAULT_RUNAWAY,
                  "Heater %s not heating at expected rate (%.1f C, %.1f C below target "
                  "%.1f C for too long: error %.0f C*s >= max_error %.0f)", h->name, temp,
                  low - temp, target, h->verify_error, v->max_error);
        fs_fault_raise(h->src, FS_FAULT_RUNAWAY, "%s", h->evidence);
    }
}

/* ---- readings and output ------------------------------------------------- */

static void send_power(struct fs_heater *h, double power, int force)
{
    /* Readings only flow once the MCUs are configured: before that there
     * is nothing to switch off. */
    if (!h->out || !h->have_reading)
        return;
    struct fs_mcu *m = fs_mcu_output_mcu(h->out);
    double now = fs_mcu_estimated_print_time(m, fs_reactor_now(h->reactor));
    double when = now + FS_HEATER_OUTPUT_DELAY_S;
    double last = fs_mcu_output_last_value(h->out);
    double last_time = fs_mcu_output_last_time(h->out);
    if (!force && fabs(power - last) < HEATER_MIN_CHANGE &&
        when < last_time + FS_HEATER_REFRESH_S)
        return;
    /* Off is the pin's default: the MCU has no window to keep open. */
    if (!force && power == 0.0 && last == 0.0)
        return;
    struct fs_error err;
    if (fs_mcu_output_set(h->out, when, power, &err) < 0)
        fs_log(h->log, FS_LOG_WARN, "heater %s: %s", h->name, err.msg);
}

static void on_reading(void *arg, double print_time, double value)
{
    struct fs_heater *h = arg;
    double dt = h->have_reading ? print_time - h->last_time : 0.0;
    if (dt < 0.0 || dt > HEATER_MAX_DT_S)
        dt = 0.0;
    /* The first reading (or one after a gap) counts for one interval. */
    double interval = dt > 0.0 ? dt : fs_mcu_adc_report_time(h->adc);
    double temp = reading_c(h, value);
    double power_before = h->power;
    h->latest_value = value;
    if (!h->have_reading)
        h->smoothed_c = temp;
    h->have_reading = 1;
    h->temp_c = temp;
    h->last_time = print_time;
    /* The capsule's history: what this sensor read in the last seconds. */
    fs_faults_note_sample(h->p.faults, h->name, fs_reactor_now(h->reactor), temp);
    if (check_reading(h, interval, value, temp)) {
        /* A bad reading says nothing about the heat: no control, no
         * verify, and no power until the readings are sane again. */
        if (h->out) {
            h->power = 0.0;
            send_power(h, 0.0, 0);
        }
        return;
    }
    if (!h->out)
        return;
    if (fs_mcu_heater_guard_is_tripped(h->guard) && !h->fault) {
        struct fs_error err;
        if (fs_mcu_heater_guard_rearm(h->guard, &err) < 0)
            fs_log(h->log, FS_LOG_WARN, "heater %s: %s", h->name, err.msg);
    }
    check_uncommanded(h, print_time, temp,
                      power_before == 0.0 || fs_mcu_heater_guard_is_tripped(h->guard));
    double power = control(h, print_time, dt, temp);
    verify_update(h, print_time, dt, temp);
    if (h->fault)
        power = 0.0;
    h->power = power;
    send_power(h, power, 0);
}

/* The open and short limits as readings (see heater.h). */
static void sensor_limits(struct fs_heater *h)
{
    double cold = FS_HEATER_COLD_LIMIT_C;
    if (h->p.min_temp_c - 10.0 < cold)
        cold = h->p.min_temp_c - 10.0;
    if (cold < FS_HEATER_COLD_LIMIT_MIN_C)
        cold = FS_HEATER_COLD_LIMIT_MIN_C;
    double hot = h->p.max_temp_c + FS_HEATER_HOT_MARGIN_C;
    if (hot > FS_HEATER_HOT_LIMIT_MAX_C)
        hot = FS_HEATER_HOT_LIMIT_MAX_C;
    double a = fs_sensor_c_to_adc(&h->p.sensor, cold), b = fs_sensor_c_to_adc(&h->p.sensor, hot);
    h->open_limit = a > b ? a : b;
    h->short_limit = a > b ? b : a;
    a = fs_sensor_c_to_adc(&h->p.sensor, h->p.min_temp_c);
    b = fs_sensor_c_to_adc(&h->p.sensor, h->p.max_temp_c);
    h->min_reading = a < b ? a : b;
    h->max_reading = a < b ? b : a;
}

struct fs_heater *fs_heater_new(struct fs_reactor *reactor, const struct fs_logger *log,
                                const struct fs_heater_params *p, struct fs_error *err)
{
    if (!p->name || strlen(p->name) >= FS_HEATER_NAME_MAX) {
        fs_error_set(err, "heater: a name under %d characters is needed", FS_HEATER_NAME_MAX);
        return NULL;
    }
    if (!p->sensor_mcu || !p->sensor_pin) {
        fs_error_set(err, "heater %s: no sensor pin", p->name);
        return NULL;
    }
    if (!(p->max_temp_c > p->min_temp_c)) {
        fs_error_set(err, "heater %s: max_temp must be above min_temp", p->name);
        return NULL;
    }
    if (!(p->uncommanded_rise_c > 0.0) || !(p->uncommanded_time_s > 0.0) ||
        p->uncommanded_time_s > FS_HEATER_UNCOMMANDED_TIME_MAX_S || !(p->fault_tolerance_s > 0.0)) {
        fs_error_set(err, "heater %s: uncommanded_heating_rise must be above 0, "
                     "uncommanded_heating_time in (0, %.0f] s, fault_tolerance above 0",
                     p->name, FS_HEATER_UNCOMMANDED_TIME_MAX_S);
        return NULL;
    }
    struct fs_heater *h = calloc(1, sizeof(*h));
    if (!h) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    memcpy(h->name, p->name, strlen(p->name) + 1);
    h->p = *p;
    h->p.name = h->name;
    h->reactor = reactor;
    h->log = log;
    h->temp_c = NAN;
    h->sane_c = NAN;
    sensor_limits(h);

    struct fs_mcu_adc_params ap;
    fs_mcu_adc_params_default(&ap);
    ap.pin = p->sensor_pin;
    ap.where = p->where;
    /* The MCU's limits are the sensor's min/max_temp as readings; an NTC
     * reads lower when hotter, an RTD higher (sensor_limits orders them).
     * The count is set below, once the tolerance is known. */
    ap.range_min = h->min_reading;
    ap.range_max = h->max_reading;
    h->adc = fs_mcu_adc_new(p->sensor_mcu, reactor, &ap, on_reading, h, err);
    if (!h->adc)
        goto fail;
    if (p->heater_mcu) {
        struct fs_mcu_output_params op;
        fs_mcu_output_params_default(&op);
        op.pin = p->heater_pin;
        op.where = p->where;
        op.invert = p->heater_invert;
        op.cycle_time_s = p->pwm_cycle_time_s;
        op.max_duration_s = FS_HEATER_MAX_DURATION_S;
        h->out = fs_mcu_output_new(p->heater_mcu, &op, err);
        if (!h->out)
            goto fail;
        /* Made after the analog input and the output: it needs their oids. */
        if (p->use_guard &&
            !(h->guard = fs_mcu_heater_guard_new(h->adc, h->out, h->min_reading, h->max_reading,
                                                 on_guard_trip, h, err)))
            goto fail;
    }
    h->tolerance_s = p->fault_tolerance_s;
    if (p->faults) {
        h->src = fs_faults_add_source(p->faults, p->fault_source ? p->fault_source : h->name,
                                      h->out ? FS_FAULT_CLASS_HEATER : FS_FAULT_CLASS_SENSOR, 0,
                                      p->section, &heater_ops, h, err);
        if (!h->src) {
            /* The fault module's message already names the file, the line
             * and the object. */
            fs_heater_free(h);
            return NULL;
        }
        h->tolerance_s = fs_fault_source_tolerance(h->src, p->fault_tolerance_s);
    }
    /* Without the guard the MCU's own check must not trip before the host
     * has decided: the whole tolerance in readings, plus the margin. */
    double count = ceil(h->tolerance_s / ap.report_time_s) + FS_HEATER_RANGE_CHECK_MARGIN;
    fs_mcu_adc_set_range(h->adc, ap.range_min, ap.range_max, count > 255.0 ? 255 : (int)count);
    return h;
fail:
    fs_error_prefix(err, "heater %s: ", p->name);
    fs_heater_free(h);
    return NULL;
}

void fs_heater_free(struct fs_heater *h)
{
    if (!h)
        return;
    fs_mcu_heater_guard_free(h->guard);
    fs_mcu_adc_free(h->adc);
    fs_mcu_output_free(h->out);
    free(h);
}

struct fs_fault_source *fs_heater_fault_source(const struct fs_heater *h) { return h->src; }
struct fs_mcu_heater_guard *fs_heater_guard(const struct fs_heater *h) { return h->guard; }

const char *fs_heater_name(const struct fs_heater *h) { return h->name; }
int fs_heater_has_output(const struct fs_heater *h) { return h->out != NULL; }

void fs_heater_get_temp(const struct fs_heater *h, double *temp_c, double *target_c)
{
    if (temp_c)
        *temp_c = h->temp_c;
    if (target_c)
        *target_c = h->target_c;
}

double fs_heater_get_power(const struct fs_heater *h) { return h->power; }
double fs_heater_last_reading_time(const struct fs_heater *h) { return h->last_time; }

int fs_heater_set_target(struct fs_heater *h, double target_c, struct fs_error *err)
{
    if (!h->out)
        return fs_error_set(err, "%s is a temperature sensor, not a heater", h->name);
    if (h->fault && target_c > 0.0)
        return fs_error_set(err, "Heater %s is off after a fault (%s); clear the fault first",
                            h->name, h->fault_reason);
    if (target_c != 0.0 && (target_c < h->p.min_temp_c || target_c > h->p.max_temp_c))
        return fs_error_set(err, "Requested temperature (%.1f) out of range (%.1f:%.1f)",
                            target_c, h->p.min_temp_c, h->p.max_temp_c);
    h->target_c = target_c;
    if (target_c <= 0.0) {
        /* Off now rather than at the next reading. */
        h->power = 0.0;
        h->integral = 0.0;
        h->heating = 0;
        send_power(h, 0.0, 1);
    }
    return 0;
}

/* While a run of bad readings is still within its tolerance, the block's
 * temperature is the latest good reading: a broken wire reads -138 C but
 * the nozzle has not cooled, and calling that a cold extrusion would raise
 * a second fault for the sensor's. Once the sensor's fault is raised the
 * heater is off and nothing extrudes. */
int fs_heater_can_extrude(const struct fs_heater *h)
{
    double temp = h->temp_c;
    if (h->reading_class != READING_GOOD) {
        if (h->sensor_raised || h->fault)
            return 0;
        temp = h->sane_c;
    }
    return !isnan(temp) && temp >= h->p.min_extrude_temp_c;
}

double fs_heater_min_extrude_temp(const struct fs_heater *h) { return h->p.min_extrude_temp_c; }
double fs_heater_max_power(const struct fs_heater *h) { return h->p.max_power; }

void fs_heater_set_pid(struct fs_heater *h, double kp, double ki, double kd)
{
    h->p.control = FS_HEATER_CONTROL_PID;
    h->p.pid_kp = kp;
    h->p.pid_ki = ki;
    h->p.pid_kd = kd;
    h->integral = 0.0;
}

void fs_heater_get_pid(const struct fs_heater *h, double *kp, double *ki, double *kd)
{
    *kp = h->p.pid_kp;
    *ki = h->p.pid_ki;
    *kd = h->p.pid_kd;
}

void fs_heater_set_control_override(struct fs_heater *h, fs_heater_control_fn fn, void *arg)
{
    h->override_fn = fn;
    h->override_arg = arg;
    h->integral = 0.0;
    h->heating = 0;
}
