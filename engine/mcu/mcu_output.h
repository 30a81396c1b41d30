/* A PWM-capable output on an MCU (heater, fan): values 0..1 scheduled at
 * print times, either as software PWM on a digital pin
 * (`config_digital_out` + `set_digital_out_pwm_cycle` + `queue_digital_out`)
 * or as hardware PWM (`config_pwm_out` + `queue_pwm_out`).
 *
 * max_duration is the MCU's dead-man switch: while the output is away from
 * its shutdown value, the next change must reach the MCU within
 * max_duration or it shuts down and drops the pin. This object does not
 * refresh by itself; its owner re-sends (fs_mcu_output_set with the same
 * value) well inside that window. `invert` is applied here, so owners speak
 * in "power" (0 off, 1 full) whatever the wiring. */
#ifndef FS_MCU_OUTPUT_H
#define FS_MCU_OUTPUT_H

struct fs_error;
struct fs_mcu;
struct fs_mcu_output;

struct fs_mcu_output_params {
    const char *pin;        /* the MCU's pin name */
    const char *where;      /* "printer.cfg:80: [extruder]" for errors, or NULL */
    int invert;             /* the pin is active low */
    int hardware_pwm;       /* config_pwm_out instead of software PWM */
    double cycle_time_s;    /* PWM period */
    double max_duration_s;  /* 0: no dead-man window */
    double start_value;     /* power at configuration, 0..1 */
    double shutdown_value;  /* power the MCU falls back to: 0 or 1 (software
                               PWM), 0..1 (hardware) */
};

/* Software PWM, 0.1 s cycle, no max_duration, off at start and shutdown. */
void fs_mcu_output_params_default(struct fs_mcu_output_params *p);

struct fs_mcu_output *fs_mcu_output_new(struct fs_mcu *m,
                                        const struct fs_mcu_output_params *p,
                                        struct fs_error *err);
void fs_mcu_output_free(struct fs_mcu_output *o);

/* Schedules a power (clamped to 0..1) at a print time. Times must not go
 * backwards: the MCU applies changes in the order they arrive. */
int fs_mcu_output_set(struct fs_mcu_output *o, double print_time, double value,
                      struct fs_error *err);
/* The last value scheduled and its print time (0, 0 before any). */
double fs_mcu_output_last_value(const struct fs_mcu_output *o);
double fs_mcu_output_last_time(const struct fs_mcu_output *o);
struct fs_mcu *fs_mcu_output_mcu(const struct fs_mcu_output *o);
/* The output's oid on its MCU (-1 before its build-config ran). */
int fs_mcu_output_oid(const struct fs_mcu_output *o);

#endif
