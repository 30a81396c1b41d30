/* An analog input on an MCU (a thermistor's divider): periodic oversampled
 * readings delivered to the owner with the print time they were taken and
 * the value normalised to 0..1 of full scale, plus the MCU's own range
 * check as the last line of defence.
 *
 * Lifecycle: fs_mcu_adc_new at parse time (no MCU contact); the build-config
 * callback takes an oid and adds `config_analog_in`; after every configure
 * `query_analog_in` starts sampling. Both generations of the report are
 * understood: `values=%*s` (batched 16-bit sums) and the legacy `value=%hu`,
 * whichever the MCU's dictionary declares. */
#ifndef FS_MCU_ADC_H
#define FS_MCU_ADC_H

struct fs_error;
struct fs_mcu;
struct fs_mcu_adc;
struct fs_reactor;

/* One reading: print time of the sample (its last conversion) and the sum
 * divided by sample_count * ADC_MAX. */
typedef void (*fs_mcu_adc_fn)(void *arg, double print_time, double value);

struct fs_mcu_adc_params {
    const char *pin;       /* the MCU's pin name ("PA2") */
    const char *where;     /* "printer.cfg:80: [extruder]" for errors, or NULL */
    double sample_time_s;  /* between conversions of one reading */
    int sample_count;      /* conversions summed per reading, 1..255 */
    double report_time_s;  /* between readings */
    /* Range check, normalised 0..1: range_check_count readings in a row
     * outside [min, max] shut the MCU down. min 0 and max 1 disable it. */
    double range_min, range_max;
    int range_check_count; /* 1..255 */
};

/* 8 conversions 1 ms apart every 0.3 s, no range check. */
void fs_mcu_adc_params_default(struct fs_mcu_adc_params *p);

/* Registers with the MCU's build-config and configured phases; the pin text
 * is copied. The reactor dates the start of sampling. */
struct fs_mcu_adc *fs_mcu_adc_new(struct fs_mcu *m, struct fs_reactor *reactor,
                                  const struct fs_mcu_adc_params *p, fs_mcu_adc_fn fn,
                                  void *arg, struct fs_error *err);
void fs_mcu_adc_free(struct fs_mcu_adc *a);

/* Changes the range check; takes effect at the next configure (the MCU has
 * no command to change it on the fly without restarting the sampling). */
void fs_mcu_adc_set_range(struct fs_mcu_adc *a, double range_min, double range_max,
                          int range_check_count);
double fs_mcu_adc_report_time(const struct fs_mcu_adc *a);
struct fs_mcu *fs_mcu_adc_mcu(const struct fs_mcu_adc *a);
/* The analog input's oid on its MCU (-1 before its build-config ran). */
int fs_mcu_adc_oid(const struct fs_mcu_adc *a);
/* A full-scale reading as a sum (sample_count * ADC_MAX; 0 before the
 * build-config ran): how a 0..1 value becomes the MCU's sum units. */
double fs_mcu_adc_full_scale(const struct fs_mcu_adc *a);

#endif
