/* Platinum RTDs (PT1000 and kin) by the Callendar-Van Dusen equation with
 * the IEC 60751 coefficients:
 *   R(T) = R0 (1 + A T + B T^2)                   for T >= 0 C
 *   R(T) = R0 (1 + A T + B T^2 + C (T - 100) T^3)  for T < 0 C
 * Printers care about 0..500 C, where the quadratic has a closed-form
 * inverse; below 0 C the small C term is handled by Newton steps. */
#include "thermal/sensor.h"

#include <math.h> /* sqrt, fabs */

#define CVD_A 3.9083e-3
#define CVD_B -5.775e-7
#define CVD_C -4.183e-12

void fs_sensor_rtd(struct fs_sensor *s, double r0_ohm)
{
    s->model = FS_SENSOR_RTD;
    s->c1 = s->c2 = s->c3 = 0.0;
    s->r0_ohm = r0_ohm;
    s->pullup_ohm = FS_SENSOR_DEFAULT_PULLUP_OHM;
    s->inline_ohm = 0.0;
}

double fs_sensor_rtd_c_to_resistance(const struct fs_sensor *s, double t_c)
{
    double r = 1.0 + CVD_A * t_c + CVD_B * t_c * t_c;
    if (t_c < 0.0)
        r += CVD_C * (t_c - 100.0) * t_c * t_c * t_c;
    return s->r0_ohm * r;
}

double fs_sensor_rtd_resistance_to_c(const struct fs_sensor *s, double r_ohm)
{
    double ratio = r_ohm / s->r0_ohm;
    double disc = CVD_A * CVD_A - 4.0 * CVD_B * (1.0 - ratio);
    /* Beyond the parabola's vertex (about 3380 C) there is no real root:
     * the reading is impossible, report it as extreme heat. */
    if (disc < 0.0)
        return 1e6;
    double t = (-CVD_A + sqrt(disc)) / (2.0 * CVD_B);
    for (int i = 0; i < 20 && t < 0.0; i++) {
        double f = fs_sensor_rtd_c_to_resistance(s, t) - r_ohm;
        double d = s->r0_ohm * (CVD_A + 2.0 * CVD_B * t +
                                CVD_C * (4.0 * t * t * t - 300.0 * t * t));
        double step = f / d;
        t -= step;
        if (fabs(step) < 1e-9)
            break;
    }
    return t;
}
