/* The per-heater guard: failsoft's fail-soft replacement for the analog
 * input's whole-MCU range check.
 *
 * `config_heater_guard` ties one analog input to one heater output (a
 * digital_out, possibly with software PWM, or a hardware pwm_out).
 * `heater_guard_arm` sets the allowed range of the input's sums and arms
 * the guard; arming again clears a trip. When an armed guard sees a sum
 * outside [min_value, max_value], it holds its output at the output's
 * default value within that same sample (the timer that finished the sum
 * does it, so the pin is off at the sample's clock) and reports
 * `heater_guard_tripped` from a task. The output stays off whatever the
 * host queues until the host arms the guard again. The MCU itself does not
 * shut down: the other heaters, the motion and the link carry on.
 *
 * The host widens the analog input's own range check when it uses a guard;
 * the guard does not touch it. */
#include <stdint.h> /* uint32_t, uint16_t, uint8_t */

#include "heater_guard.h" /* FW_HEATER_GUARD, the adc and output hooks */

#if FW_HEATER_GUARD

#include "basecmd.h" /* fw_oid_alloc, fw_foreach_oid */
#include "command.h" /* FW_DECL_COMMAND, fw_sendf */
#include "sched.h"   /* fw_task_wake, fw_sched_*, FW_DECL_TASK, fw_shutdown */

struct heater_guard {
    void *out;
    uint8_t out_is_pwm;
    uint8_t armed;
    uint8_t tripped;
    uint8_t report_pending;
    uint16_t min_value, max_value;
    uint16_t trip_value;
    uint32_t trip_clock;
    struct fw_task_wake report_wake;
};

static void command_config_heater_guard(const struct fw_args *args);
#define HEATER_GUARD_TYPE ((const void *)command_config_heater_guard)

static void heater_guard_hold(struct heater_guard *g, uint8_t hold)
{
    if (g->out_is_pwm)
        fw_pwm_out_hold(g->out, hold);
    else
        fw_digital_out_hold(g->out, hold);
}

void fw_heater_guard_sample(struct heater_guard *g, uint16_t sum, uint32_t clock)
{
    if (!g->armed || g->tripped || (sum >= g->min_value && sum <= g->max_value))
        return;
    heater_guard_hold(g, 1);
    g->tripped = 1;
    g->trip_value = sum;
    g->trip_clock = clock;
    g->report_pending = 1;
    fw_sched_wake_task(&g->report_wake);
}

static void command_config_heater_guard(const struct fw_args *args)
{
    struct heater_guard *g = fw_oid_alloc(args->v[0], HEATER_GUARD_TYPE, sizeof(*g));
    struct heater_guard **slot = fw_analog_in_guard_slot(args->v[1]);
    if (*slot)
        fw_shutdown("Analog input already has a heater guard");
    g->out = fw_digital_out_find(args->v[2]);
    if (!g->out) {
        g->out = fw_pwm_out_find(args->v[2]);
        g->out_is_pwm = 1;
    }
    if (!g->out)
        fw_shutdown("Heater guard output is not an output");
    *slot = g;
}
FW_DECL_COMMAND(command_config_heater_guard, "config_heater_guard oid=%c adc_oid=%c out_oid=%c");

static void command_heater_guard_arm(const struct fw_args *args)
{
    struct heater_guard *g = fw_oid_lookup(args->v[0], HEATER_GUARD_TYPE);
    g->min_value = args->v[1];
    g->max_value = args->v[2];
    if (g->tripped)
        heater_guard_hold(g, 0);
    g->tripped = 0;
    g->armed = 1;
}
FW_DECL_COMMAND(command_heater_guard_arm, "heater_guard_arm oid=%c min_value=%hu max_value=%hu");

static void heater_guard_task(void)
{
    int oid;
    struct heater_guard *g;
    fw_foreach_oid(oid, g, HEATER_GUARD_TYPE) {
        if (!fw_sched_check_wake(&g->report_wake) || !g->report_pending)
            continue;
        g->report_pending = 0;
        fw_sendf("heater_guard_tripped oid=%c value=%hu clock=%u", oid, g->trip_value,
                 g->trip_clock);
    }
}
FW_DECL_TASK(heater_guard_task);

#else
/* Built without the guard: nothing here (ISO C wants a declaration). */
typedef int heater_guard_absent;
#endif
