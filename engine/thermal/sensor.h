/* Temperature sensors read through an ADC: the models that turn a
 * normalised ADC reading (0..1 of full scale) into degrees Celsius and back.
 *
 * Every sensor here sits at the bottom of a voltage divider, a pull-up
 * resistor to the ADC reference above it and optionally an inline resistor
 * in series with it (boards that protect the input), so the ADC reads
 * (R + R_inline) / (R + R_inline + R_pullup). The resistance follows one of
 * two models:
 *   - NTC thermistors: Steinhart-Hart, 1/T = c1 + c2 ln R + c3 (ln R)^3,
 *     fitted through three datasheet points, or the beta model (c3 = 0);
 *   - platinum RTDs (PT1000): Callendar-Van Dusen with the IEC 60751
 *     coefficients.
 * The reverse direction (Celsius -> ADC) exists so that a heater's
 * min_temp/max_temp become the MCU's own range check. */
#ifndef FS_SENSOR_H
#define FS_SENSOR_H

struct fs_error;

#define FS_SENSOR_DEFAULT_PULLUP_OHM 4700.0

enum fs_sensor_model {
    FS_SENSOR_THERMISTOR, /* Steinhart-Hart (beta is its c3 = 0 case) */
    FS_SENSOR_RTD,        /* Callendar-Van Dusen */
};

struct fs_sensor {
    enum fs_sensor_model model;
    double c1, c2, c3;    /* thermistor: Steinhart-Hart coefficients (1/K) */
    double r0_ohm;        /* RTD: resistance at 0 C */
    double pullup_ohm;
    double inline_ohm;
};

/* A thermistor of resistance r_ohm at t_c with the given beta (K). */
int fs_sensor_thermistor_beta(struct fs_sensor *s, double t_c, double r_ohm, double beta,
                              struct fs_error *err);
/* A thermistor through three (temperature, resistance) points. */
int fs_sensor_thermistor_points(struct fs_sensor *s, const double t_c[3],
                                const double r_ohm[3], struct fs_error *err);
/* A platinum RTD with resistance r0_ohm at 0 C (1000 for a PT1000). */
void fs_sensor_rtd(struct fs_sensor *s, double r0_ohm);

/* The built-in sensor_type names ("Generic 3950", "EPCOS 100K B57560G104F",
 * "ATC Semitec 104GT-2", "PT1000"): 0, or -1 if the name is not one. */
int fs_sensor_builtin(const char *name, struct fs_sensor *s);
/* The built-in names, NULL-terminated (for error messages). */
const char *const *fs_sensor_builtin_names(void);

/* Resistance <-> temperature of the element alone. */
double fs_sensor_resistance_to_c(const struct fs_sensor *s, double r_ohm);
double fs_sensor_c_to_resistance(const struct fs_sensor *s, double t_c);

/* The two models, for sensor.c. Resistances here are already clamped. */
double fs_sensor_thermistor_resistance_to_c(const struct fs_sensor *s, double r_ohm);
double fs_sensor_thermistor_c_to_resistance(const struct fs_sensor *s, double t_c);
double fs_sensor_rtd_resistance_to_c(const struct fs_sensor *s, double r_ohm);
double fs_sensor_rtd_c_to_resistance(const struct fs_sensor *s, double t_c);

/* Normalised ADC reading (0..1) <-> temperature, through the divider. A
 * reading at a rail (open or shorted sensor) is clamped to an extreme but
 * finite resistance, so it gives a finite temperature far outside any
 * heater's min_temp..max_temp, which the caller's range check catches. */
double fs_sensor_adc_to_c(const struct fs_sensor *s, double adc);
double fs_sensor_c_to_adc(const struct fs_sensor *s, double t_c);

#endif
