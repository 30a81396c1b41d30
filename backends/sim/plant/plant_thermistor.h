/* An NTC thermistor read through a voltage divider by an ADC.
 *
 * The thermistor follows the beta model,
 *   R(T) = R25 * exp(beta * (1/T - 1/298.15 K)),
 * and sits between the ADC input and ground with a pull-up resistor to the
 * ADC reference, so the ADC reads ADC_MAX * R / (R + R_pullup), rounded to
 * the nearest count. Open and shorted sensors are fault hooks: an open
 * sensor reads ADC_MAX, a shorted one 0, exactly as on a real board.
 * Faults that need more than a temperature (time, random noise, the state
 * of another part) go through a read hook that the simulator's fault
 * injection installs only while such a fault is active, so a healthy sensor
 * costs one pointer test per conversion. */
#ifndef PLANT_THERMISTOR_H
#define PLANT_THERMISTOR_H

#include <stdint.h> /* uint16_t */

#define PLANT_KELVIN_OFFSET 273.15

struct plant_thermistor_params {
    double r25_ohm;    /* resistance at 25 C */
    double beta;       /* K */
    double pullup_ohm;
    uint16_t adc_max;  /* full-scale ADC count */
};

enum plant_sensor_fault {
    PLANT_SENSOR_OK = 0,
    PLANT_SENSOR_OPEN,  /* broken wire: infinite resistance */
    PLANT_SENSOR_SHORT, /* shorted leads: zero resistance */
};

struct plant_thermistor;
/* Returns the ADC count for a conversion with the block at temp_c. */
typedef uint16_t (*plant_thermistor_read_hook)(void *arg, const struct plant_thermistor *t,
                                               double temp_c);

struct plant_thermistor {
    struct plant_thermistor_params params;
    enum plant_sensor_fault fault; /* wins over the hook */
    plant_thermistor_read_hook read_hook; /* NULL: none */
    void *read_hook_arg;
};

/* 100k at 25 C, beta 3950, 4.7k pull-up, 12-bit ADC (4095). */
void plant_thermistor_params_default(struct plant_thermistor_params *p);
void plant_thermistor_init(struct plant_thermistor *t,
                           const struct plant_thermistor_params *p);

/* The sensor's resistance at a temperature, ignoring faults. */
double plant_thermistor_resistance_ohm(const struct plant_thermistor_params *p,
                                       double temp_c);

/* What the ADC reads with the sensor at temp_c, faults included. */
uint16_t plant_thermistor_adc(const struct plant_thermistor *t, double temp_c);
/* What a sound sensor at temp_c reads, whatever the faults. */
uint16_t plant_thermistor_adc_sound(const struct plant_thermistor_params *p, double temp_c);

#endif
