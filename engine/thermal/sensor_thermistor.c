/* NTC thermistors: the Steinhart-Hart equation fitted through three
 * datasheet points, and the beta model as its special case c3 = 0. */
#include "thermal/sensor.h"

#include <math.h> /* log, exp, fabs */

#include "core/error.h" /* fs_error_set */

#define KELVIN 273.15

static void set_defaults(struct fs_sensor *s)
{
    s->model = FS_SENSOR_THERMISTOR;
    s->r0_ohm = 0.0;
    s->pullup_ohm = FS_SENSOR_DEFAULT_PULLUP_OHM;
    s->inline_ohm = 0.0;
}

int fs_sensor_thermistor_beta(struct fs_sensor *s, double t_c, double r_ohm, double beta,
                              struct fs_error *err)
{
    if (!(r_ohm > 0.0) || !(beta > 0.0) || !(t_c + KELVIN > 0.0))
        return fs_error_set(err, "thermistor: need a resistance and a beta above 0 "
                                 "(got %g ohm at %g C, beta %g)", r_ohm, t_c, beta);
    set_defaults(s);
    s->c3 = 0.0;
    s->c2 = 1.0 / beta;
    s->c1 = 1.0 / (t_c + KELVIN) - s->c2 * log(r_ohm);
    return 0;
}

int fs_sensor_thermistor_points(struct fs_sensor *s, const double t_c[3],
                                const double r_ohm[3], struct fs_error *err)
{
    double l[3], y[3];
    for (int i = 0; i < 3; i++) {
        if (!(r_ohm[i] > 0.0) || !(t_c[i] + KELVIN > 0.0))
            return fs_error_set(err, "thermistor: point %d (%g C, %g ohm) is not physical",
                                i + 1, t_c[i], r_ohm[i]);
        l[i] = log(r_ohm[i]);
        y[i] = 1.0 / (t_c[i] + KELVIN);
    }
    if (fabs(l[0] - l[1]) < 1e-9 || fabs(l[0] - l[2]) < 1e-9 || fabs(l[1] - l[2]) < 1e-9)
        return fs_error_set(err, "thermistor: the three resistances must differ");
    /* The 3x3 system in c1, c2, c3 solved by differences: subtracting the
     * first equation from the others removes c1, and the two slopes differ
     * only through c3. */
    double g2 = (y[1] - y[0]) / (l[1] - l[0]);
    double g3 = (y[2] - y[0]) / (l[2] - l[0]);
    double c3 = (g3 - g2) / (l[2] - l[1]) / (l[0] + l[1] + l[2]);
    double c2 = g2 - c3 * (l[0] * l[0] + l[0] * l[1] + l[1] * l[1]);
    double c1 = y[0] - (c2 + c3 * l[0] * l[0]) * l[0];
    if (!(c2 > 0.0))
        return fs_error_set(err, "thermistor: the points do not describe an NTC thermistor "
                                 "(resistance must fall as temperature rises)");
    set_defaults(s);
    if (c3 < 0.0) {
        /* A negative c3 bends the curve back on itself outside the points
         * (two temperatures per resistance); the beta model through the
         * outer points is the safer reading of such a datasheet. */
        int lo = 0, hi = 0;
        for (int i = 1; i < 3; i++) {
            lo = t_c[i] < t_c[lo] ? i : lo;
            hi = t_c[i] > t_c[hi] ? i : hi;
        }
        double beta = (l[lo] - l[hi]) / (y[lo] - y[hi]);
        return fs_sensor_thermistor_beta(s, t_c[lo], r_ohm[lo], beta, err);
    }
    s->c1 = c1;
    s->c2 = c2;
    s->c3 = c3;
    return 0;
}

double fs_sensor_thermistor_resistance_to_c(const struct fs_sensor *s, double r_ohm)
{
    double l = log(r_ohm);
    double inv_t = s->c1 + s->c2 * l + s->c3 * l * l * l;
    /* Far outside the fitted range (a short) the sum can reach 0 or below:
     * report an impossible heat rather than a negative kelvin. */
    if (!(inv_t > 1e-6))
        return 1e6;
    return 1.0 / inv_t - KELVIN;
}

double fs_sensor_thermistor_c_to_resistance(const struct fs_sensor *s, double t_c)
{
    double y = 1.0 / (t_c + KELVIN);
    /* Start from the beta solution, then Newton on c1 + c2 x + c3 x^3 = y;
     * with c2 > 0 and c3 >= 0 the function is increasing, so it converges. */
    double x = (y - s->c1) / s->c2;
    for (int i = 0; i < 50 && s->c3 != 0.0; i++) {
        double f = s->c1 + s->c2 * x + s->c3 * x * x * x - y;
        double step = f / (s->c2 + 3.0 * s->c3 * x * x);
        x -= step;
        if (fabs(step) < 1e-12)
            break;
    }
    return exp(x);
}
