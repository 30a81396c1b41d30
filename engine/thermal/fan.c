/* Fans: speed to output value (max_power, off_below, kick start), and the
 * heater fan's periodic look at its heaters. See fan.h. */
#include "thermal/fan.h"

#include <math.h>   /* isnan */
#include <stdint.h> /* uint64_t */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#include "core/error.h"     /* fs_error_set */
#include "core/log.h"       /* fs_log */
#include "core/reactor.h"   /* fs_reactor_*, fs_timer */
#include "fault/fault.h"    /* fs_fault_raise */
#include "mcu/mcu.h"        /* fs_mcu_estimated_print_time */
#include "mcu/mcu_counter.h" /* fs_mcu_counter_* */
#include "mcu/mcu_output.h" /* fs_mcu_output_* */
#include "thermal/heater.h" /* fs_heater_get_temp */

struct fs_fan {
    char name[FS_FAN_NAME_MAX];
    struct fs_fan_params p;
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_mcu_output *out;
    double speed, power;
    struct fs_timer check;
    /* Tachometer (tach NULL when none). */
    struct fs_mcu_counter *tach;
    struct fs_fan_tachometer_params tp;
    struct fs_fault_source *source;
    double rpm;
    double strong_since; /* print time power reached min_power; NAN below it */
    int stalled, stall_raised;
    int have_report;
    double last_time;
    uint64_t last_count;
};

void fs_fan_params_default(struct fs_fan_params *p)
{
    memset(p, 0, sizeof(*p));
    p->max_power = 1.0;
    p->kick_start_time_s = 0.1;
    p->off_below = 0.0;
    p->cycle_time_s = 0.010;
    p->hardware_pwm = 0;
    p->shutdown_speed = 0.0;
    p->heater_temp_c = 50.0;
    p->fan_speed = 1.0;
}

static double heater_fan_check(struct fs_timer *t, double eventtime)
{
    struct fs_fan *f = t->arg;
    double want = 0.0;
    for (int i = 0; i < f->p.heater_count; i++) {
        double temp, target;
        fs_heater_get_temp(f->p.heaters[i], &temp, &target);
        if (target > 0.0 || (!isnan(temp) && temp > f->p.heater_temp_c))
            want = f->p.fan_speed;
    }
    if (want != f->speed) {
        struct fs_error err;
        if (fs_fan_set_speed(f, want, &err) < 0)
            fs_log(f->log, FS_LOG_WARN, "%s: %s", f->name, err.msg);
    }
    return eventtime + FS_HEATER_FAN_CHECK_S;
}

/* A heater fan starts watching once its MCU can take commands. */
static int on_configured(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    (void)m;
    struct fs_fan *f = arg;
    if (fs_reactor_timer_set(f->reactor, &f->check,
                             fs_reactor_now(f->reactor) + FS_HEATER_FAN_CHECK_S) < 0)
        return fs_error_set(err, "%s: cannot arm its timer", f->name);
    return 0;
}

struct fs_fan *fs_fan_new(struct fs_reactor *reactor, const struct fs_logger *log,
                          const struct fs_fan_params *p, struct fs_error *err)
{
    if (!p->name || strlen(p->name) >= FS_FAN_NAME_MAX || !p->mcu || !p->pin) {
        fs_error_set(err, "fan: a name (under %d characters), an MCU and a pin are needed",
                     FS_FAN_NAME_MAX);
        return NULL;
    }
    struct fs_fan *f = calloc(1, sizeof(*f));
    if (!f) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    memcpy(f->name, p->name, strlen(p->name) + 1);
    f->p = *p;
    f->p.name = f->name;
    f->reactor = reactor;
    f->log = log;
    f->strong_since = NAN;
    fs_timer_init(&f->check, heater_fan_check, f);
    struct fs_mcu_output_params op;
    fs_mcu_output_params_default(&op);
    op.pin = p->pin;
    op.where = p->where;
    op.invert = p->invert;
    op.hardware_pwm = p->hardware_pwm;
    op.cycle_time_s = p->cycle_time_s;
    op.shutdown_value = p->shutdown_speed * p->max_power;
    f->out = fs_mcu_output_new(p->mcu, &op, err);
    if (f->out && p->heater_count > 0 && fs_mcu_on_configured(p->mcu, on_configured, f, err) < 0) {
        fs_mcu_output_free(f->out);
        f->out = NULL;
    }
    if (!f->out) {
        fs_error_prefix(err, "%s: ", p->name);
        free(f);
        return NULL;
    }
    return f;
}

void fs_fan_free(struct fs_fan *f)
{
    if (!f)
        return;
    fs_reactor_timer_cancel(f->reactor, &f->check);
    fs_mcu_counter_free(f->tach);
    fs_mcu_output_free(f->out);
    free(f);
}

const char *fs_fan_name(const struct fs_fan *f) { return f->name; }
int fs_fan_is_heater_fan(const struct fs_fan *f) { return f->p.heater_count > 0; }
double fs_fan_get_speed(const struct fs_fan *f) { return f->speed; }
double fs_fan_get_power(const struct fs_fan *f) { return f->power; }

int fs_fan_set_speed(struct fs_fan *f, double speed, struct fs_error *err)
{
    return fs_fan_set_speed_at(f, 0.0, speed, err);
}

int fs_fan_set_speed_at(struct fs_fan *f, double print_time, double speed,
                        struct fs_error *err)
{
    speed = speed < 0.0 ? 0.0 : speed > 1.0 ? 1.0 : speed;
    if (speed < f->p.off_below)
        speed = 0.0;
    double power = speed * f->p.max_power;
    struct fs_mcu *m = fs_mcu_output_mcu(f->out);
    double when = fs_mcu_estimated_print_time(m, fs_reactor_now(f->reactor)) +
                  FS_FAN_OUTPUT_DELAY_S;
    if (print_time > when)
        when = print_time;
    /* Spinning up from a standstill (or from much slower) to a low speed:
     * full power first, then the asked-for value. */
    if (f->p.kick_start_time_s > 0.0 && power > 0.0 && power < f->p.max_power &&
        (f->power == 0.0 || power - f->power > 0.5 * f->p.max_power)) {
        if (fs_mcu_output_set(f->out, when, f->p.max_power, err) < 0)
            return -1;
        when += f->p.kick_start_time_s;
    }
    if (fs_mcu_output_set(f->out, when, power, err) < 0)
        return -1;
    /* Spin-up is timed from when the output reaches min_power. */
    if (power < f->tp.min_power)
        f->strong_since = NAN;
    else if (isnan(f->strong_since))
        f->strong_since = when;
    f->speed = speed;
    f->power = power;
    return 0;
}

/* ---- tachometer ---------------------------------------------------------- */

void fs_fan_tachometer_params_default(struct fs_fan_tachometer_params *p)
{
    memset(p, 0, sizeof(*p));
    p->ppr = 2;
    p->poll_interval_s = 0.0015;
    p->min_rpm = 500.0;
    p->min_power = 0.3;
    p->spinup_time_s = 5.0;
}

static void check_stall(struct fs_fan *f, double report_time)
{
    int strong = !isnan(f->strong_since) && report_time - f->strong_since >= f->tp.spinup_time_s;
    f->stalled = strong && f->rpm < f->tp.min_rpm;
    if (!f->stalled) {
        if (!strong || f->rpm >= f->tp.min_rpm)
            f->stall_raised = 0;
        return;
    }
    if (f->stall_raised)
        return;
    f->stall_raised = 1;
    fs_fault_raise(f->source, FS_FAULT_FAN_STALLED,
                   "%.0f rpm, below tachometer_min_rpm %.0f, with the fan at power %.2f for "
                   "%.1f s", f->rpm, f->tp.min_rpm, f->power, report_time - f->strong_since);
}

/* Level changes over the time between two reports: two per pulse. */
static void on_tach_report(void *arg, const struct fs_mcu_counter_report *r)
{
    struct fs_fan *f = arg;
    if (r->restarted || !f->have_report) {
        f->have_report = 1;
        f->last_time = r->time;
        f->last_count = r->count;
        return;
    }
    double dt = r->time - f->last_time;
    if (!(dt > 0.0))
        return;
    double revs = (double)(r->count - f->last_count) / (2.0 * f->tp.ppr);
    f->rpm = revs * 60.0 / dt;
    f->last_time = r->time;
    f->last_count = r->count;
    check_stall(f, r->time);
}

int fs_fan_add_tachometer(struct fs_fan *f, const struct fs_fan_tachometer_params *tp,
                          struct fs_fault_source *src, struct fs_error *err)
{
    if (f->tach)
        return fs_error_set(err, "%s: already has a tachometer", f->name);
    if (tp->ppr < 1 || !(tp->min_rpm >= 0.0) || !(tp->spinup_time_s >= 0.0))
        return fs_error_set(err, "%s: bad tachometer parameters", f->name);
    struct fs_mcu_counter_params cp;
    fs_mcu_counter_params_default(&cp);
    cp.pin = tp->pin;
    cp.where = tp->where;
    cp.pull_up = tp->pull_up;
    cp.poll_time_s = tp->poll_interval_s;
    f->tp = *tp;
    f->tp.pin = NULL;
    f->tp.where = NULL;
    f->source = src;
    /* A fan already at min_power was so since start. */
    f->strong_since = f->power >= tp->min_power ? 0.0 : NAN;
    f->tach = fs_mcu_counter_new(tp->mcu, f->reactor, &cp, on_tach_report, f, err);
    if (!f->tach)
        return fs_error_prefix(err, "%s: tachometer: ", f->name);
    return 0;
}

int fs_fan_has_tachometer(const struct fs_fan *f) { return f->tach != NULL; }
double fs_fan_get_rpm(const struct fs_fan *f) { return f->rpm; }
int fs_fan_is_stalled(const struct fs_fan *f) { return f->stalled; }

