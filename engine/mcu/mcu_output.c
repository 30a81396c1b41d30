/* PWM outputs on an MCU: configuration of software or hardware PWM and the
 * timed value commands, with inversion applied on the way out. */
#include "mcu/mcu_output.h"

#include <math.h>   /* lround */
#include <stdint.h> /* int64_t, uint32_t */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#include "core/error.h" /* fs_error_set */
#include "mcu/mcu.h"    /* fs_mcu_* */

#define OUTPUT_PIN_MAX 32

struct fs_mcu_output {
    struct fs_mcu *mcu;
    char pin[OUTPUT_PIN_MAX];
    struct fs_mcu_output_params p;
    int oid;
    const struct fs_msgformat *queue_cmd;
    uint32_t cycle_ticks;
    double pwm_max;
    double last_value, last_time;
};

void fs_mcu_output_params_default(struct fs_mcu_output_params *p)
{
    p->pin = NULL;
    p->where = NULL;
    p->invert = 0;
    p->hardware_pwm = 0;
    p->cycle_time_s = 0.1;
    p->max_duration_s = 0.0;
    p->start_value = 0.0;
    p->shutdown_value = 0.0;
}

static double clamp01(double v) { return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

/* The pin's duty for a power. */
static double pin_duty(const struct fs_mcu_output *o, double value)
{
    value = clamp01(value);
    return o->p.invert ? 1.0 - value : value;
}

static int build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_output *o = arg;
    o->oid = fs_mcu_create_oid(m);
    o->cycle_ticks = fs_mcu_seconds_to_ticks(m, o->p.cycle_time_s);
    uint32_t max_ticks = fs_mcu_seconds_to_ticks(m, o->p.max_duration_s);
    double start = pin_duty(o, o->p.start_value), dflt = pin_duty(o, o->p.shutdown_value);
    if (o->p.hardware_pwm) {
        if (fs_msgproto_constant(fs_mcu_msgproto(m), "PWM_MAX", &o->pwm_max) < 0 ||
            !(o->pwm_max > 0))
            return fs_error_set(err, "mcu '%s': the dictionary declares no PWM_MAX",
                                fs_mcu_name(m));
        o->queue_cmd = fs_mcu_lookup_command(m, "queue_pwm_out oid=%c clock=%u value=%hu", err);
        if (!o->queue_cmd)
            return -1;
        return fs_mcu_add_config_cmd(m, err,
            "config_pwm_out oid=%d pin=%s cycle_ticks=%u value=%ld default_value=%ld "
            "max_duration=%u", o->oid, o->pin, o->cycle_ticks, lround(start * o->pwm_max),
            lround(dflt * o->pwm_max), max_ticks);
    }
    o->queue_cmd = fs_mcu_lookup_command(m, "queue_digital_out oid=%c clock=%u on_ticks=%u",
                                         err);
    if (!o->queue_cmd)
        return -1;
    /* Software PWM starts and falls back to a plain level: round. */
    if (fs_mcu_add_config_cmd(m, err,
            "config_digital_out oid=%d pin=%s value=%d default_value=%d max_duration=%u",
            o->oid, o->pin, start >= 0.5, dflt >= 0.5, max_ticks) < 0)
        return -1;
    return fs_mcu_add_config_cmd(m, err, "set_digital_out_pwm_cycle oid=%d cycle_ticks=%u",
                                 o->oid, o->cycle_ticks);
}

struct fs_mcu_output *fs_mcu_output_new(struct fs_mcu *m,
                                        const struct fs_mcu_output_params *p,
                                        struct fs_error *err)
{
    if (!p->pin || strlen(p->pin) >= OUTPUT_PIN_MAX) {
        fs_error_set(err, "mcu '%s': output needs a pin name under %d characters",
                     fs_mcu_name(m), OUTPUT_PIN_MAX);
        return NULL;
    }
    if (!(p->cycle_time_s > 0.0) || !(p->max_duration_s >= 0.0)) {
        fs_error_set(err, "mcu '%s': output %s: cycle time must be above 0", fs_mcu_name(m),
                     p->pin);
        return NULL;
    }
    struct fs_mcu_output *o = calloc(1, sizeof(*o));
    if (!o) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    o->mcu = m;
    o->p = *p;
    memcpy(o->pin, p->pin, strlen(p->pin) + 1);
    o->p.pin = o->pin;
    o->oid = -1;
    o->last_value = clamp01(p->start_value);
    if (fs_mcu_on_build_config_at(m, p->where, build_config, o, err) < 0) {
        free(o);
        return NULL;
    }
    return o;
}

void fs_mcu_output_free(struct fs_mcu_output *o) { free(o); }

int fs_mcu_output_set(struct fs_mcu_output *o, double print_time, double value,
                      struct fs_error *err)
{
    if (!o->queue_cmd)
        return fs_error_set(err, "mcu '%s': output %s is not configured yet",
                            fs_mcu_name(o->mcu), o->pin);
    if (print_time < o->last_time)
        print_time = o->last_time;
    uint64_t clock = fs_mcu_print_time_to_clock(o->mcu, print_time);
    double duty = pin_duty(o, value);
    int64_t v[3] = {o->oid, (int64_t)(uint32_t)clock, 0};
    if (o->p.hardware_pwm)
        v[2] = lround(duty * o->pwm_max);
    else
        v[2] = lround(duty * o->cycle_ticks);
    if (fs_mcu_send(o->mcu, o->queue_cmd, v, NULL, 0, clock, err) < 0)
        return -1;
    o->last_value = clamp01(value);
    o->last_time = print_time;
    return 0;
}

double fs_mcu_output_last_value(const struct fs_mcu_output *o) { return o->last_value; }
double fs_mcu_output_last_time(const struct fs_mcu_output *o) { return o->last_time; }
struct fs_mcu *fs_mcu_output_mcu(const struct fs_mcu_output *o) { return o->mcu; }
int fs_mcu_output_oid(const struct fs_mcu_output *o) { return o->oid; }
