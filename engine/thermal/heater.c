/* One heater: readings in, control law, output out, and the host's own
 * checks (verify_heater and the min/max_temp range). See heater.h. */
#include "thermal/heater.h"

#include <math.h>   /* NAN, isnan, fabs */
#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#include "core/error.h"    /* fs_error_set, fs_error_prefix */
#include "core/log.h"      /* fs_log */
#include "core/reactor.h"  /* fs_reactor_now */
#include "mcu/mcu.h"       /* fs_mcu_estimated_print_time */
#include "mcu/mcu_adc.h"   /* fs_mcu_adc_* */
#include "mcu/mcu_output.h" /* fs_mcu_output_* */

/* A change of power smaller than this is not worth a message: it waits for
 * the next refresh. */
#define HEATER_MIN_CHANGE 0.005
/* Readings further apart than this (a lost report) are not used to grow
 * the integral or take a derivative: the gap says nothing about the rate. */
#define HEATER_MAX_DT_S 2.0
/* The MCU's range check: this many readings in a row out of range (1.2 s
 * at 0.3 s) before it shuts down, long after the host has acted. */
#define HEATER_RANGE_CHECK_COUNT 4

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

    enum fs_heater_fault fault;
    char fault_reason[160];
    fs_heater_fault_fn fault_fn;
    void *fault_arg;

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
}

/* ---- faults -------------------------------------------------------------- */

static void raise_fault(struct fs_heater *h, enum fs_heater_fault kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void raise_fault(struct fs_heater *h, enum fs_heater_fault kind, const char *fmt, ...)
{
    if (h->fault)
        return;
    h->fault = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->fault_reason, sizeof(h->fault_reason), fmt, ap);
    va_end(ap);
    h->target_c = 0.0;
    h->phase = VERIFY_IDLE;
    fs_log(h->log, FS_LOG_ERROR, "%s", h->fault_reason);
    if (h->fault_fn)
        h->fault_fn(h->fault_arg, h->name, kind, h->fault_reason);
}

enum fs_heater_fault fs_heater_fault(const struct fs_heater *h, const char **reason)
{
    if (reason)
        *reason = h->fault_reason;
    return h->fault;
}

void fs_heater_clear_fault(struct fs_heater *h)
{
    h->fault = FS_HEATER_FAULT_NONE;
    h->fault_reason[0] = '\0';
    h->phase = VERIFY_IDLE;
    h->verify_error = 0.0;
    h->verify_target = 0.0;
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
    if (target != h->verify_target) {
        h->verify_target = target;
        start_approach(h, t, temp);
        return;
    }
    h->verify_error += (low - temp) * dt;
    if (h->phase == VERIFY_APPROACH) {
        if (temp >= h->goal_c) {
            start_approach(h, t, temp);
        } else if (t >= h->goal_time) {
            raise_fault(h, FS_HEATER_FAULT_NOT_HEATING,
                        "Heater %s not heating at expected rate (%.1f C after the last "
                        "check, goal %.1f C)", h->name, temp, h->goal_c);
        }
        return;
    }
    if (h->verify_error >= v->max_error)
        raise_fault(h, FS_HEATER_FAULT_RUNAWAY,
                    "Heater %s not heating at expected rate (%.1f C, %.1f C below target "
                    "for too long)", h->name, temp, low - temp);
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
    double temp = fs_sensor_adc_to_c(&h->p.sensor, value);
    double dt = h->have_reading ? print_time - h->last_time : 0.0;
    if (dt < 0.0 || dt > HEATER_MAX_DT_S)
        dt = 0.0;
    if (!h->have_reading)
        h->smoothed_c = temp;
    h->have_reading = 1;
    h->temp_c = temp;
    h->last_time = print_time;
    if (temp < h->p.min_temp_c || temp > h->p.max_temp_c)
        raise_fault(h, FS_HEATER_FAULT_OUT_OF_RANGE,
                    "Heater %s temperature out of range (%.1f C, allowed %.1f..%.1f C)",
                    h->name, temp, h->p.min_temp_c, h->p.max_temp_c);
    if (!h->out)
        return;
    double power = control(h, print_time, dt, temp);
    verify_update(h, print_time, dt, temp);
    if (h->fault)
        power = 0.0;
    h->power = power;
    send_power(h, power, 0);
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

    struct fs_mcu_adc_params ap;
    fs_mcu_adc_params_default(&ap);
    ap.pin = p->sensor_pin;
    ap.where = p->where;
    /* The MCU's limits are the sensor's min/max_temp as readings; an NTC
     * reads lower when hotter, an RTD higher, so order them. */
    double a = fs_sensor_c_to_adc(&p->sensor, p->min_temp_c);
    double b = fs_sensor_c_to_adc(&p->sensor, p->max_temp_c);
    ap.range_min = a < b ? a : b;
    ap.range_max = a < b ? b : a;
    ap.range_check_count = HEATER_RANGE_CHECK_COUNT;
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
    }
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
    fs_mcu_adc_free(h->adc);
    fs_mcu_output_free(h->out);
    free(h);
}

void fs_heater_set_fault_handler(struct fs_heater *h, fs_heater_fault_fn fn, void *arg)
{
    h->fault_fn = fn;
    h->fault_arg = arg;
}

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

int fs_heater_can_extrude(const struct fs_heater *h)
{
    return !isnan(h->temp_c) && h->temp_c >= h->p.min_extrude_temp_c;
}

double fs_heater_min_extrude_temp(const struct fs_heater *h) { return h->p.min_extrude_temp_c; }
double fs_heater_max_temp(const struct fs_heater *h) { return h->p.max_temp_c; }
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
