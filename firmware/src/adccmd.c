/* Analog inputs (thermistors and the like): periodic oversampled readings
 * reported to the host, with the MCU's own last-line range check.
 *
 * `query_analog_in` starts a cycle at clock: sample_count conversions
 * sample_ticks apart are summed; the sum is range-checked and queued for the
 * host; the next cycle starts rest_ticks after this one began. The current
 * protocol batches sums, bytes_per_report bytes per `analog_in_state` (each
 * sum 16-bit little-endian, oldest first); the legacy one (FW_ADC_LEGACY)
 * reports every sum on its own. next_clock in a report is the start of the
 * cycle after its newest sum, which is how the host dates the values.
 *
 * Range check, as the reference firmware does it: a sum outside
 * [min_value, max_value] counts as invalid; range_check_count invalid sums
 * in a row shut the MCU down with "ADC out of range" (0 behaves like 1: the
 * first one does); a valid sum resets the count. The offending sum is still
 * reported, and sampling carries on through shutdown so the host keeps
 * seeing temperatures. Sums saturate at 0xFFFF instead of wrapping, so an
 * oversized sample_count cannot turn a hot reading into an in-range one. */
#include <stdint.h> /* uint32_t, uint16_t, uint8_t */

#include "basecmd.h" /* fw_oid_alloc, fw_oid_lookup, fw_foreach_oid */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "hal.h"     /* hal_gpio_adc_* */
#include "heater_guard.h" /* FW_HEATER_GUARD, fw_heater_guard_sample */
#include "sched.h"   /* fw_timer, fw_sched_*, FW_DECL_TASK, FW_DECL_SHUTDOWN */

#ifndef FW_ADC_LEGACY
#define FW_ADC_LEGACY 0
#endif

/* Fits one analog_in_state in a 59-byte block with room for the message
 * id, oid, next_clock and length byte. */
#define ADC_MAX_REPORT_BYTES 48
#define ADC_BYTES_PER_SUM 2

struct analog_in {
    struct fw_timer timer; /* first: the timer callback casts back */
    struct hal_gpio_adc pin;
    uint32_t sample_ticks, rest_ticks;
    uint32_t cycle_start; /* the running cycle, or the next one between cycles */
    uint32_t sum;
    uint16_t min_value, max_value;
    uint8_t sample_count;
    uint8_t samples_taken;
    uint8_t range_check_count;
    uint8_t invalid_count;
    uint8_t bytes_per_report;
    uint8_t data_count; /* bytes of sums collected for the next report */
    uint8_t report_ready;
    uint32_t report_next_clock;
    uint8_t data[ADC_MAX_REPORT_BYTES];
    struct fw_task_wake report_wake;
#if FW_HEATER_GUARD
    struct heater_guard *guard; /* NULL: no guard watches this input */
#endif
};

static void command_config_analog_in(const struct fw_args *args);
#define ANALOG_IN_TYPE ((const void *)command_config_analog_in)

/* Stores one finished sum for the report task. A report the task has not
 * sent yet is overwritten rather than grown past its buffer. */
static void analog_in_collect(struct analog_in *a, uint16_t sum)
{
    if (a->report_ready) {
        a->report_ready = 0;
        a->data_count = 0;
    }
    a->data[a->data_count++] = sum & 0xff;
    a->data[a->data_count++] = sum >> 8;
    if (a->data_count + ADC_BYTES_PER_SUM > a->bytes_per_report) {
        a->report_ready = 1;
        a->report_next_clock = a->cycle_start;
        fw_sched_wake_task(&a->report_wake);
    }
}

static uint_fast8_t analog_in_event(struct fw_timer *t)
{
    struct analog_in *a = (struct analog_in *)t;
    uint32_t wait = hal_gpio_adc_sample(a->pin);
    if (wait) {
        t->waketime += wait;
        return FW_SF_RESCHEDULE;
    }
    a->sum += hal_gpio_adc_read(a->pin);
    if (++a->samples_taken < a->sample_count) {
        t->waketime += a->sample_ticks;
        return FW_SF_RESCHEDULE;
    }
    uint16_t sum = a->sum > 0xffff ? 0xffff : a->sum;
#if FW_HEATER_GUARD
    /* Before anything else: the guard's heater goes off at this sample. */
    if (a->guard)
        fw_heater_guard_sample(a->guard, sum, t->waketime);
#endif
    a->sum = 0;
    a->samples_taken = 0;
    a->cycle_start += a->rest_ticks;
    t->waketime = a->cycle_start;
    analog_in_collect(a, sum);
    if (sum >= a->min_value && sum <= a->max_value) {
        a->invalid_count = 0;
    } else if (++a->invalid_count >= a->range_check_count) {
        a->invalid_count = 0;
        /* Returns: the report above still goes out, and the shutdown hook
         * re-arms this timer (whose waketime is already final). */
        fw_try_shutdown("ADC out of range");
    }
    return FW_SF_RESCHEDULE;
}

static void command_config_analog_in(const struct fw_args *args)
{
    struct hal_gpio_adc pin = hal_gpio_adc_setup(args->v[1]);
    struct analog_in *a = fw_oid_alloc(args->v[0], ANALOG_IN_TYPE, sizeof(*a));
    a->pin = pin;
    a->timer.func = analog_in_event;
}
FW_DECL_COMMAND(command_config_analog_in, "config_analog_in oid=%c pin=%u");

#if FW_HEATER_GUARD
struct heater_guard **fw_analog_in_guard_slot(uint8_t oid)
{
    struct analog_in *a = fw_oid_lookup(oid, ANALOG_IN_TYPE);
    return &a->guard;
}
#endif

/* Stops any cycle in progress and forgets unsent sums. */
static void analog_in_stop(struct analog_in *a)
{
    fw_sched_del_timer(&a->timer);
    hal_gpio_adc_cancel_sample(a->pin);
    a->sum = 0;
    a->samples_taken = 0;
    a->invalid_count = 0;
    a->data_count = 0;
    a->report_ready = 0;
    fw_sched_check_wake(&a->report_wake);
}

static void analog_in_start(struct analog_in *a, const uint32_t *v, uint8_t bytes_per_report,
                            uint32_t range_at)
{
    analog_in_stop(a);
    a->cycle_start = v[1];
    a->sample_ticks = v[2];
    a->sample_count = v[3];
    a->rest_ticks = v[4];
    a->bytes_per_report = bytes_per_report;
    a->min_value = v[range_at];
    a->max_value = v[range_at + 1];
    a->range_check_count = v[range_at + 2];
    if (!a->sample_count || !a->rest_ticks)
        return;
    a->timer.waketime = a->cycle_start;
    fw_sched_add_timer(&a->timer);
}

#if FW_ADC_LEGACY
static void command_query_analog_in(const struct fw_args *args)
{
    struct analog_in *a = fw_oid_lookup(args->v[0], ANALOG_IN_TYPE);
    analog_in_start(a, args->v, ADC_BYTES_PER_SUM, 5);
}
FW_DECL_COMMAND(command_query_analog_in,
                "query_analog_in oid=%c clock=%u sample_ticks=%u sample_count=%c rest_ticks=%u"
                " min_value=%hu max_value=%hu range_check_count=%c");
#else
static void command_query_analog_in(const struct fw_args *args)
{
    struct analog_in *a = fw_oid_lookup(args->v[0], ANALOG_IN_TYPE);
    if (args->v[3] && args->v[5] > ADC_MAX_REPORT_BYTES)
        fw_shutdown("Invalid analog_in bytes_per_report");
    analog_in_start(a, args->v, args->v[5], 6);
}
FW_DECL_COMMAND(command_query_analog_in,
                "query_analog_in oid=%c clock=%u sample_ticks=%u sample_count=%c rest_ticks=%u"
                " bytes_per_report=%c min_value=%hu max_value=%hu range_check_count=%c");
#endif

static void analog_in_report(uint8_t oid, struct analog_in *a)
{
#if FW_ADC_LEGACY
    fw_sendf("analog_in_state oid=%c next_clock=%u value=%hu", oid, a->report_next_clock,
             a->data[0] | a->data[1] << 8);
#else
    fw_sendf("analog_in_state oid=%c next_clock=%u values=%*s", oid, a->report_next_clock,
             (int)a->data_count, (const uint8_t *)a->data);
#endif
    a->data_count = 0;
    a->report_ready = 0;
}

static void analog_in_task(void)
{
    int oid;
    struct analog_in *a;
    fw_foreach_oid(oid, a, ANALOG_IN_TYPE) {
        if (fw_sched_check_wake(&a->report_wake) && a->report_ready)
            analog_in_report(oid, a);
    }
}
FW_DECL_TASK(analog_in_task);

/* Reports go on in shutdown (the host needs temperatures most then), but the
 * cycle in progress is abandoned: the next one starts at its own slot. */
static void analog_in_shutdown(void)
{
    uint32_t now = fw_timer_read_time();
    int oid;
    struct analog_in *a;
    fw_foreach_oid(oid, a, ANALOG_IN_TYPE) {
        hal_gpio_adc_cancel_sample(a->pin);
        if (!a->sample_count || !a->rest_ticks)
            continue;
        if (a->samples_taken) {
            a->cycle_start += a->rest_ticks;
            a->sum = 0;
            a->samples_taken = 0;
        }
        if (fw_timer_is_before(a->cycle_start, now))
            a->cycle_start += ((now - a->cycle_start) / a->rest_ticks + 1) * a->rest_ticks;
        a->timer.waketime = a->cycle_start;
        fw_sched_add_timer(&a->timer);
    }
}
FW_DECL_SHUTDOWN(analog_in_shutdown);
