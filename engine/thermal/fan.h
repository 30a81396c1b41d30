/* Fans: the part cooling [fan] driven by M106/M107, and [heater_fan NAME]
 * that runs while any of its heaters is on or still hot.
 *
 * Speed 0..1 becomes an output value through max_power (full speed is
 * max_power), off_below (slower than that is off: many fans stall below a
 * minimum duty) and kick_start_time (a fan starting from standstill gets
 * full power for that long first, so it spins up at low settings). Changes
 * are scheduled FS_FAN_OUTPUT_DELAY_S ahead of the MCU's clock. Fans have no
 * max_duration window: a fan left on is not a hazard.
 *
 * A fan may have a tachometer (fs_fan_add_tachometer: tachometer_pin and
 * friends, read by engine/sensors): its pulses are counted on the MCU and
 * turned into rpm once a second. A fan commanded at min_power or more for
 * spinup_time that turns slower than min_rpm has stalled: it raises
 * fan_stalled on its fault source once, and again only after it recovered
 * (turned fast enough or was commanded below min_power) and stalled anew.
 * Raising is all it does: what follows is the fault policy's business. */
#ifndef FS_FAN_H
#define FS_FAN_H

struct fs_error;
struct fs_fan;
struct fs_fault_source;
struct fs_heater;
struct fs_logger;
struct fs_mcu;
struct fs_reactor;

#define FS_FAN_OUTPUT_DELAY_S 0.1
#define FS_FAN_NAME_MAX 64
#define FS_FAN_MAX_HEATERS 8
/* How often a heater fan looks at its heaters. */
#define FS_HEATER_FAN_CHECK_S 1.0
/* A heater fan starts its checks by itself once its MCU is configured. */

struct fs_fan_params {
    const char *name; /* "fan", "heater_fan hotend_fan" */
    const char *where; /* "printer.cfg:90: [fan]" for MCU errors, or NULL */
    struct fs_mcu *mcu;
    const char *pin;
    int invert;
    double max_power;        /* 0..1 */
    double kick_start_time_s;
    double off_below;        /* 0..1 */
    double cycle_time_s;
    int hardware_pwm;
    double shutdown_speed;   /* 0..1 */
    /* heater_fan only: heaters watched (none for a [fan]). */
    struct fs_heater *heaters[FS_FAN_MAX_HEATERS];
    int heater_count;
    double heater_temp_c;    /* on while a watched heater is above this */
    double fan_speed;        /* the speed it runs at then */
};

/* max_power 1, kick_start 0.1 s, off_below 0, cycle 0.01 s, software PWM,
 * heater_temp 50 C, fan_speed 1. */
void fs_fan_params_default(struct fs_fan_params *p);

struct fs_fan *fs_fan_new(struct fs_reactor *reactor, const struct fs_logger *log,
                          const struct fs_fan_params *p, struct fs_error *err);
void fs_fan_free(struct fs_fan *f);
const char *fs_fan_name(const struct fs_fan *f);
int fs_fan_is_heater_fan(const struct fs_fan *f);

/* Speed 0..1 (clamped); scheduled shortly ahead of the MCU's clock. */
int fs_fan_set_speed(struct fs_fan *f, double speed, struct fs_error *err);
/* The same at a print time (M106 in a print: when the moves queued before it
 * have run); a time too close to the MCU's clock is moved later. */
int fs_fan_set_speed_at(struct fs_fan *f, double print_time, double speed,
                        struct fs_error *err);
double fs_fan_get_speed(const struct fs_fan *f);
/* The output value the pin was last set to (speed after max_power and
 * off_below). */
double fs_fan_get_power(const struct fs_fan *f);

struct fs_fan_tachometer_params {
    struct fs_mcu *mcu;
    const char *pin;
    const char *where;        /* for MCU errors, or NULL */
    int pull_up;              /* '^' 1, '~' -1, 0 none */
    int ppr;                  /* pulses per revolution, 2 on most fans */
    double poll_interval_s;   /* MCU poll period; 0.0015 s counts 2 ppr to 10000 rpm */
    double min_rpm;           /* slower than this at min_power or more: stalled */
    double min_power;         /* 0..1: below this a slow fan is expected */
    double spinup_time_s;     /* the fan may be slow this long after min_power */
};
/* ppr 2, poll 1.5 ms, min_rpm 500, min_power 0.3, spinup 5 s. */
void fs_fan_tachometer_params_default(struct fs_fan_tachometer_params *p);
/* Once per fan, before the MCUs are configured. src (may be NULL) is the
 * fan's fault source, which fan_stalled is raised on. */
int fs_fan_add_tachometer(struct fs_fan *f, const struct fs_fan_tachometer_params *tp,
                          struct fs_fault_source *src, struct fs_error *err);
int fs_fan_has_tachometer(const struct fs_fan *f);
/* Measured speed from the last tachometer report; 0 before the first one
 * and without a tachometer. */
double fs_fan_get_rpm(const struct fs_fan *f);
/* Commanded at min_power or more past spin-up and slower than min_rpm at
 * the last report. */
int fs_fan_is_stalled(const struct fs_fan *f);

#endif
