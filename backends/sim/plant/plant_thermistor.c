/* The beta-model thermistor behind a pull-up divider. */
#include "plant_thermistor.h"

#include <math.h>   /* exp, lround */
#include <stddef.h> /* NULL */

void plant_thermistor_params_default(struct plant_thermistor_params *p)
{
    p->r25_ohm = 100000.0;
    p->beta = 3950.0;
    p->pullup_ohm = 4700.0;
    p->adc_max = 4095;
}

void plant_thermistor_init(struct plant_thermistor *t,
                           const struct plant_thermistor_params *p)
{
    t->params = *p;
    t->fault = PLANT_SENSOR_OK;
    t->read_hook = NULL;
    t->read_hook_arg = NULL;
}

double plant_thermistor_resistance_ohm(const struct plant_thermistor_params *p,
                                       double temp_c)
{
    double t_k = temp_c + PLANT_KELVIN_OFFSET;
    const double t25_k = 25.0 + PLANT_KELVIN_OFFSET;
    return p->r25_ohm * exp(p->beta * (1.0 / t_k - 1.0 / t25_k));
}

uint16_t plant_thermistor_adc(const struct plant_thermistor *t, double temp_c)
{
    if (t->fault == PLANT_SENSOR_OPEN)
        return t->params.adc_max;
    if (t->fault == PLANT_SENSOR_SHORT)
        return 0;
    if (t->read_hook)
        return t->read_hook(t->read_hook_arg, t, temp_c);
    return plant_thermistor_adc_sound(&t->params, temp_c);
}

uint16_t plant_thermistor_adc_sound(const struct plant_thermistor_params *p, double temp_c)
{
    /* Below absolute zero the formula is meaningless; read as a short so a
     * broken model cannot produce a plausible value. */
    if (!(temp_c > -PLANT_KELVIN_OFFSET))
        return 0;
    double r = plant_thermistor_resistance_ohm(p, temp_c);
    double v = (double)p->adc_max * r / (r + p->pullup_ohm);
    long counts = lround(v);
    if (counts < 0)
        counts = 0;
    if (counts > p->adc_max)
        counts = p->adc_max;
    return (uint16_t)counts;
}
