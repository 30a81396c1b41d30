/* Analog inputs on an MCU: configuration, the sampling query and the
 * decoding of both report generations into dated, normalised readings. */
#include "mcu/mcu_adc.h"

#include <math.h>   /* floor, ceil */
#include <stdint.h> /* uint32_t, uint64_t */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strlen, memcpy */

#include "core/error.h" /* fs_error_set */
#include "core/reactor.h" /* fs_reactor_now */
#include "mcu/mcu.h"    /* fs_mcu_* */

#define ADC_REPORT_FORMAT "analog_in_state oid=%c next_clock=%u values=%*s"
#define ADC_LEGACY_REPORT_FORMAT "analog_in_state oid=%c next_clock=%u value=%hu"
/* Queries are sent this far ahead of the MCU's clock so they never land in
 * its past. */
#define ADC_START_DELAY_S 0.2
#define ADC_PIN_MAX 32

struct fs_mcu_adc {
    struct fs_mcu *mcu;
    struct fs_reactor *reactor;
    char pin[ADC_PIN_MAX];
    struct fs_mcu_adc_params p;
    fs_mcu_adc_fn fn;
    void *arg;
    int oid;
    int legacy;
    double adc_max;
    uint32_t sample_ticks, rest_ticks;
};

void fs_mcu_adc_params_default(struct fs_mcu_adc_params *p)
{
    p->pin = NULL;
    p->where = NULL;
    p->sample_time_s = 0.001;
    p->sample_count = 8;
    p->report_time_s = 0.3;
    p->range_min = 0.0;
    p->range_max = 1.0;
    p->range_check_count = 4;
}

/* The date of one sum: its cycle began `back` cycles before next_clock, and
 * its last conversion came sample_count - 1 sample intervals later. */
static void deliver(struct fs_mcu_adc *a, uint32_t next_clock, int back, uint32_t sum)
{
    uint64_t next = fs_mcu_clock32_to_64(a->mcu, next_clock);
    uint64_t cycle = (uint64_t)back * a->rest_ticks;
    uint64_t start = next > cycle ? next - cycle : 0;
    uint64_t clock = start + (uint64_t)(a->p.sample_count - 1) * a->sample_ticks;
    double value = (double)sum / ((double)a->p.sample_count * a->adc_max);
    a->fn(a->arg, fs_mcu_clock_to_print_time(a->mcu, clock), value);
}

static void on_report(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct fs_mcu_adc *a = arg;
    uint32_t next_clock = (uint32_t)fs_msg_get(msg, "next_clock", 0);
    if (a->legacy) {
        deliver(a, next_clock, 1, (uint32_t)fs_msg_get(msg, "value", 0));
        return;
    }
    int i = fs_msgformat_param_index(msg->format, "values");
    if (i < 0)
        return;
    int count = (int)(msg->values[i] / 2);
    for (int k = 0; k < count; k++) {
        uint32_t sum = (uint32_t)(msg->data[i][2 * k] | (msg->data[i][2 * k + 1] << 8));
        deliver(a, next_clock, count - k, sum);
    }
}

static int build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_adc *a = arg;
    const struct fs_msgproto *proto = fs_mcu_msgproto(m);
    if (fs_msgproto_constant(proto, "ADC_MAX", &a->adc_max) < 0 || !(a->adc_max > 0))
        return fs_error_set(err, "mcu '%s': the dictionary declares no ADC_MAX",
                            fs_mcu_name(m));
    a->legacy = !fs_msgproto_lookup(proto, ADC_REPORT_FORMAT);
    a->sample_ticks = fs_mcu_seconds_to_ticks(m, a->p.sample_time_s);
    a->rest_ticks = fs_mcu_seconds_to_ticks(m, a->p.report_time_s);
    a->oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_analog_in oid=%d pin=%s", a->oid, a->pin) < 0)
        return -1;
    return fs_mcu_register_response(m, a->legacy ? ADC_LEGACY_REPORT_FORMAT : ADC_REPORT_FORMAT,
                                    a->oid, on_report, a, err);
}

/* The range as sums: widen outwards so a reading exactly at a limit passes. */
static void range_sums(const struct fs_mcu_adc *a, long *lo, long *hi)
{
    double full = (double)a->p.sample_count * a->adc_max;
    *lo = (long)floor(a->p.range_min * full);
    *hi = (long)ceil(a->p.range_max * full);
    *lo = *lo < 0 ? 0 : *lo > 0xffff ? 0xffff : *lo;
    *hi = *hi < 0 ? 0 : *hi > 0xffff ? 0xffff : *hi;
}

static int start_sampling(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_adc *a = arg;
    double start = fs_mcu_estimated_print_time(m, fs_reactor_now(a->reactor)) +
                   ADC_START_DELAY_S;
    uint32_t clock = (uint32_t)fs_mcu_print_time_to_clock(m, start);
    long lo, hi;
    range_sums(a, &lo, &hi);
    char text[256];
    snprintf(text, sizeof(text),
             "query_analog_in oid=%d clock=%u sample_ticks=%u sample_count=%d rest_ticks=%u"
             "%s min_value=%ld max_value=%ld range_check_count=%d",
             a->oid, clock, a->sample_ticks, a->p.sample_count, a->rest_ticks,
             a->legacy ? "" : " bytes_per_report=2", lo, hi, a->p.range_check_count);
    return fs_mcu_send_text(m, text, err);
}

struct fs_mcu_adc *fs_mcu_adc_new(struct fs_mcu *m, struct fs_reactor *reactor,
                                  const struct fs_mcu_adc_params *p, fs_mcu_adc_fn fn,
                                  void *arg, struct fs_error *err)
{
    if (!p->pin || strlen(p->pin) >= ADC_PIN_MAX) {
        fs_error_set(err, "mcu '%s': analog input needs a pin name under %d characters",
                     fs_mcu_name(m), ADC_PIN_MAX);
        return NULL;
    }
    if (p->sample_count < 1 || p->sample_count > 255 || !(p->sample_time_s > 0) ||
        !(p->report_time_s > p->sample_time_s * p->sample_count) ||
        p->range_check_count < 1 || p->range_check_count > 255) {
        fs_error_set(err, "mcu '%s': analog input %s: bad sampling parameters", fs_mcu_name(m),
                     p->pin);
        return NULL;
    }
    struct fs_mcu_adc *a = calloc(1, sizeof(*a));
    if (!a) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    a->mcu = m;
    a->reactor = reactor;
    a->p = *p;
    memcpy(a->pin, p->pin, strlen(p->pin) + 1);
    a->p.pin = a->pin;
    a->fn = fn;
    a->arg = arg;
    a->oid = -1;
    if (fs_mcu_on_build_config_at(m, p->where, build_config, a, err) < 0 ||
        fs_mcu_on_configured(m, start_sampling, a, err) < 0) {
        free(a);
        return NULL;
    }
    return a;
}

void fs_mcu_adc_free(struct fs_mcu_adc *a) { free(a); }

void fs_mcu_adc_set_range(struct fs_mcu_adc *a, double range_min, double range_max,
                          int range_check_count)
{
    a->p.range_min = range_min;
    a->p.range_max = range_max;
    a->p.range_check_count = range_check_count;
}

double fs_mcu_adc_report_time(const struct fs_mcu_adc *a) { return a->p.report_time_s; }
struct fs_mcu *fs_mcu_adc_mcu(const struct fs_mcu_adc *a) { return a->mcu; }
int fs_mcu_adc_oid(const struct fs_mcu_adc *a) { return a->oid; }

double fs_mcu_adc_full_scale(const struct fs_mcu_adc *a)
{
    return (double)a->p.sample_count * a->adc_max;
}
