/* The voltage divider every ADC temperature sensor sits in, and the table of
 * built-in sensor types by the names printer.cfg files already use. */
#include "thermal/sensor.h"

#include <math.h>   /* isfinite */
#include <string.h> /* strcmp */

/* A reading at a rail means an open or shorted sensor: keep the resistance
 * finite (so every model gives a number) but far beyond anything real. */
#define SENSOR_MIN_OHM 1e-3
#define SENSOR_MAX_OHM 1e12

static const char *const builtin_names[] = {
    "Generic 3950", "EPCOS 100K B57560G104F", "ATC Semitec 104GT-2", "PT1000", NULL,
};

const char *const *fs_sensor_builtin_names(void) { return builtin_names; }

int fs_sensor_builtin(const char *name, struct fs_sensor *s)
{
    /* Datasheet facts. Generic 3950: 100k at 25 C, beta 3950 K. EPCOS
     * B57560G104F (R/T characteristic 8016): 100k at 25 C, 1.6419k at
     * 150 C, 226.15 ohm at 250 C. ATC Semitec 104GT-2: 126.8k at 20 C,
     * 1.360k at 150 C, 80.65 ohm at 300 C. PT1000: 1000 ohm at 0 C. */
    static const double epcos_t[3] = {25.0, 150.0, 250.0};
    static const double epcos_r[3] = {100000.0, 1641.9, 226.15};
    static const double semitec_t[3] = {20.0, 150.0, 300.0};
    static const double semitec_r[3] = {126800.0, 1360.0, 80.65};
    if (!strcmp(name, "Generic 3950"))
        return fs_sensor_thermistor_beta(s, 25.0, 100000.0, 3950.0, NULL);
    if (!strcmp(name, "EPCOS 100K B57560G104F"))
        return fs_sensor_thermistor_points(s, epcos_t, epcos_r, NULL);
    if (!strcmp(name, "ATC Semitec 104GT-2"))
        return fs_sensor_thermistor_points(s, semitec_t, semitec_r, NULL);
    if (!strcmp(name, "PT1000")) {
        fs_sensor_rtd(s, 1000.0);
        return 0;
    }
    return -1;
}

static double clamp_ohm(double r)
{
    if (!(r > SENSOR_MIN_OHM))
        return SENSOR_MIN_OHM;
    return r < SENSOR_MAX_OHM ? r : SENSOR_MAX_OHM;
}

double fs_sensor_resistance_to_c(const struct fs_sensor *s, double r_ohm)
{
    r_ohm = clamp_ohm(r_ohm);
    return s->model == FS_SENSOR_RTD ? fs_sensor_rtd_resistance_to_c(s, r_ohm)
                                     : fs_sensor_thermistor_resistance_to_c(s, r_ohm);
}

double fs_sensor_c_to_resistance(const struct fs_sensor *s, double t_c)
{
    return s->model == FS_SENSOR_RTD ? fs_sensor_rtd_c_to_resistance(s, t_c)
                                     : fs_sensor_thermistor_c_to_resistance(s, t_c);
}

double fs_sensor_adc_to_c(const struct fs_sensor *s, double adc)
{
    double r;
    if (!(adc > 0.0))
        r = SENSOR_MIN_OHM;
    else if (adc >= 1.0)
        r = SENSOR_MAX_OHM;
    else
        r = s->pullup_ohm * adc / (1.0 - adc) - s->inline_ohm;
    return fs_sensor_resistance_to_c(s, r);
}

double fs_sensor_c_to_adc(const struct fs_sensor *s, double t_c)
{
    double r = fs_sensor_c_to_resistance(s, t_c);
    if (!isfinite(r))
        return r > 0 ? 1.0 : 0.0;
    double total = r + s->inline_ohm;
    if (total <= 0.0)
        return 0.0;
    return total / (total + s->pullup_ohm);
}
