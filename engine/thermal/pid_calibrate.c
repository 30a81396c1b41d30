/* Relay auto-tuning of PID gains (see pid_calibrate.h). */
#include "thermal/pid_calibrate.h"

#include <math.h>   /* M_PI */
#include <string.h> /* memset */

#include "core/error.h"   /* fs_error_set */
#include "core/reactor.h" /* fs_reactor_now, fs_reactor_wait_for */
#include "thermal/heater.h"  /* fs_heater_* */
#include "thermal/heaters.h" /* fs_heaters_reactor */

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct relay {
    struct fs_heater *heater;
    double target_c, max_power;
    int heating;
    /* Extremes since the last switch, and switch-on times. */
    double peak_high, peak_low;
    double last_on_time; /* -1 before the first switch-on */
    int cycles;  /* complete cycles seen, the first included */
    double sum_period, sum_amplitude;
    int measured;
};

static double relay_control(void *arg, double print_time, double temp_c, double target_c)
{
    (void)target_c;
    struct relay *r = arg;
    if (temp_c > r->peak_high)
        r->peak_high = temp_c;
    if (temp_c < r->peak_low)
        r->peak_low = temp_c;
    if (r->heating && temp_c >= r->target_c) {
        r->heating = 0;
        r->peak_low = temp_c;
    } else if (!r->heating && temp_c <= r->target_c - FS_PID_CALIBRATE_BAND_C) {
        r->heating = 1;
        /* One cycle ends at each switch-on: its high peak came during the
         * off phase just ended, its low peak just now. */
        if (r->last_on_time >= 0.0) {
            if (r->cycles >= 1 && r->measured < FS_PID_CALIBRATE_CYCLES) {
                r->sum_period += print_time - r->last_on_time;
                r->sum_amplitude += (r->peak_high - r->peak_low) / 2.0;
                r->measured++;
            }
            r->cycles++;
        }
        r->last_on_time = print_time;
        r->peak_high = temp_c;
    }
    return r->heating ? r->max_power : 0.0;
}

static int relay_done(void *arg)
{
    const struct relay *r = arg;
    return r->measured >= FS_PID_CALIBRATE_CYCLES || fs_heater_fault(r->heater, NULL);
}

int fs_pid_calibrate(struct fs_heaters *hs, struct fs_heater *heater, double target_c,
                     double timeout_s, struct fs_pid_calibrate_result *out,
                     struct fs_error *err)
{
    if (!fs_heater_has_output(heater))
        return fs_error_set(err, "%s is a temperature sensor, not a heater",
                            fs_heater_name(heater));
    struct relay r;
    memset(&r, 0, sizeof(r));
    r.heater = heater;
    r.target_c = target_c;
    r.max_power = fs_heater_max_power(heater);
    r.heating = 1;
    r.peak_high = -1e9;
    r.peak_low = 1e9;
    r.last_on_time = -1.0;
    /* The target keeps verify_heater and M105 informed; the relay ignores
     * the configured control law. */
    if (fs_heater_set_target(heater, target_c, err) < 0)
        return -1;
    fs_heater_set_control_override(heater, relay_control, &r);
    struct fs_reactor *reactor = fs_heaters_reactor(hs);
    int rc = fs_reactor_wait_for(reactor, relay_done, &r, fs_reactor_now(reactor) + timeout_s);
    fs_heater_set_control_override(heater, NULL, NULL);
    fs_heater_set_target(heater, 0.0, NULL);
    const char *reason;
    if (fs_heater_fault(heater, &reason))
        return fs_error_set(err, "PID_CALIBRATE stopped: %s", reason);
    if (rc < 0 || r.measured < FS_PID_CALIBRATE_CYCLES)
        return fs_error_set(err, "PID_CALIBRATE %s: no steady oscillation around %.1f C "
                                 "within %.0f s", fs_heater_name(heater), target_c, timeout_s);
    double tu = r.sum_period / r.measured;
    double amplitude = r.sum_amplitude / r.measured;
    if (!(amplitude > 0.0) || !(tu > 0.0))
        return fs_error_set(err, "PID_CALIBRATE %s: the oscillation could not be measured",
                            fs_heater_name(heater));
    double ku = 4.0 * (r.max_power / 2.0) / (M_PI * amplitude);
    double kp = 0.6 * ku, ti = tu / 2.0, td = tu / 8.0;
    out->ku = ku;
    out->tu_s = tu;
    out->amplitude_c = amplitude;
    out->kp = kp * FS_HEATER_PID_PARAM_BASE;
    out->ki = kp / ti * FS_HEATER_PID_PARAM_BASE;
    out->kd = kp * td * FS_HEATER_PID_PARAM_BASE;
    return 0;
}
