/* The simulated machine behind failsoft-mcu's pins: parsing the command-line
 * specs, giving each pin its role, and turning pin changes and reads into
 * calls on the plant models (heater, thermistor, axis). */
#include <math.h>   /* isfinite */
#include <stdarg.h> /* va_list, for the error messages */
#include <stdio.h>  /* vsnprintf, fprintf */
#include <stdlib.h> /* strtod */
#include <string.h> /* strcmp, strchr, memcpy */

#include "mcu_plant.h" /* the API implemented here */

enum pin_role {
    ROLE_FREE = 0,
    ROLE_HEATER,
    ROLE_SENSOR,
    ROLE_STEP,
    ROLE_DIR,
    ROLE_ENABLE,
    ROLE_ENDSTOP,
};

static const char *const role_names[] = {
    [ROLE_FREE] = "free",     [ROLE_HEATER] = "heater", [ROLE_SENSOR] = "sensor",
    [ROLE_STEP] = "step",     [ROLE_DIR] = "dir",       [ROLE_ENABLE] = "enable",
    [ROLE_ENDSTOP] = "endstop",
};

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

int64_t mcu_plant_clock_to_ns(uint64_t clock)
{
    uint64_t s = clock / FW_LINUX_CLOCK_FREQ, rest = clock % FW_LINUX_CLOCK_FREQ;
    return (int64_t)(s * 1000000000ull + rest * 1000000000ull / FW_LINUX_CLOCK_FREQ);
}

void mcu_plant_init(struct mcu_plant *p)
{
    memset(p, 0, sizeof(*p));
}

/* Copies a spec into buf for tokenising; fails on an empty or oversized
 * one rather than cutting it. */
static int copy_spec(const char *spec, char *buf, char *err, size_t cap)
{
    size_t len = spec ? strlen(spec) : 0;
    if (len == 0)
        return fail(err, cap, "empty spec");
    if (len >= MCU_PLANT_SPEC_MAX)
        return fail(err, cap, "spec longer than %d characters", MCU_PLANT_SPEC_MAX - 1);
    memcpy(buf, spec, len + 1);
    return 0;
}

static int parse_number(const char *key, const char *text, double *out, char *err, size_t cap)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v))
        return fail(err, cap, "%s: '%s' is not a number", key, text);
    *out = v;
    return 0;
}

/* Resolves a pin name and checks it is still free. */
static int claim_pin(struct mcu_plant *p, const char *name, uint8_t *pin, char *err,
                     size_t cap)
{
    int32_t n = fw_simpins_pin_by_name(name);
    if (n < 0)
        return fail(err, cap, "unknown pin '%s' (PA0..PD15)", name);
    uint8_t role = p->pins[n].role;
    if (role != ROLE_FREE)
        return fail(err, cap, "pin %s is already a %s pin", name, role_names[role]);
    *pin = (uint8_t)n;
    return 0;
}

static void bind(struct mcu_plant *p, uint8_t pin, enum pin_role role, int object)
{
    p->pins[pin].role = (uint8_t)role;
    p->pins[pin].object = (uint8_t)object;
}

/* ---- heaters ---- */

static int heater_option(struct plant_heater_params *hp, const char *key, const char *value,
                         char *err, size_t cap)
{
    double v = 0;
    if (parse_number(key, value, &v, err, cap) < 0)
        return -1;
    if (strcmp(key, "ambient_c") == 0) {
        hp->ambient_c = hp->initial_c = v;
        return 0;
    }
    if (v <= 0)
        return fail(err, cap, "%s must be above 0", key);
    if (strcmp(key, "power_w") == 0)
        hp->power_w = v;
    else if (strcmp(key, "capacity_j_per_k") == 0)
        hp->capacity_j_per_k = v;
    else if (strcmp(key, "loss_w_per_k") == 0)
        hp->loss_w_per_k = v;
    else
        return fail(err, cap, "unknown heater option '%s'", key);
    return 0;
}

int mcu_plant_add_heater(struct mcu_plant *p, const char *spec, char *err, size_t cap)
{
    char buf[MCU_PLANT_SPEC_MAX];
    if (copy_spec(spec, buf, err, cap) < 0)
        return -1;
    if (p->heater_count == MCU_PLANT_HEATERS_MAX)
        return fail(err, cap, "more than %d heaters", MCU_PLANT_HEATERS_MAX);
    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    tp.adc_max = FW_SIMPINS_ADC_MAX;

    char *save = NULL;
    char *pins = strtok_r(buf, ",", &save);
    char *colon = pins ? strchr(pins, ':') : NULL;
    if (!colon)
        return fail(err, cap, "heater '%s': expected HEATER_PIN:SENSOR_PIN first", spec);
    *colon = '\0';
    for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
        char *eq = strchr(opt, '=');
        if (!eq)
            return fail(err, cap, "heater option '%s': expected key=value", opt);
        *eq = '\0';
        if (heater_option(&hp, opt, eq + 1, err, cap) < 0)
            return -1;
    }
    uint8_t out_pin, adc_pin;
    if (claim_pin(p, pins, &out_pin, err, cap) < 0)
        return -1;
    if (strcmp(pins, colon + 1) == 0)
        return fail(err, cap, "heater and sensor on one pin %s", pins);
    if (claim_pin(p, colon + 1, &adc_pin, err, cap) < 0)
        return -1;
    int id = p->heater_count++;
    struct mcu_plant_heater *h = &p->heaters[id];
    plant_heater_init(&h->heater, &hp, 0);
    plant_thermistor_init(&h->sensor, &tp);
    h->heater_pin = out_pin;
    h->sensor_pin = adc_pin;
    bind(p, out_pin, ROLE_HEATER, id);
    bind(p, adc_pin, ROLE_SENSOR, id);
    return 0;
}

/* ---- axes ---- */

struct axis_spec {
    const char *pin[4]; /* step, dir, enable, endstop */
    double steps_per_mm, length_mm, position_mm;
    int position_given, side_max, invert_dir;
};

static const char *const axis_pin_keys[4] = {"step", "dir", "enable", "endstop"};
static const enum pin_role axis_pin_roles[4] = {ROLE_STEP, ROLE_DIR, ROLE_ENABLE,
                                                ROLE_ENDSTOP};

static int axis_option(struct axis_spec *a, const char *key, const char *value, char *err,
                       size_t cap)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(key, axis_pin_keys[i]) == 0) {
            a->pin[i] = value;
            return 0;
        }
    }
    if (strcmp(key, "endstop_side") == 0) {
        if (strcmp(value, "min") != 0 && strcmp(value, "max") != 0)
            return fail(err, cap, "endstop_side: '%s' is neither min nor max", value);
        a->side_max = strcmp(value, "max") == 0;
        return 0;
    }
    double v = 0;
    if (parse_number(key, value, &v, err, cap) < 0)
        return -1;
    if (strcmp(key, "position_mm") == 0) {
        a->position_mm = v;
        a->position_given = 1;
    } else if (strcmp(key, "invert_dir") == 0) {
        a->invert_dir = v != 0;
    } else if (strcmp(key, "steps_per_mm") == 0 || strcmp(key, "length_mm") == 0) {
        if (v <= 0)
            return fail(err, cap, "%s must be above 0", key);
        *(key[0] == 's' ? &a->steps_per_mm : &a->length_mm) = v;
    } else {
        return fail(err, cap, "unknown axis option '%s'", key);
    }
    return 0;
}

static int claim_axis_pins(struct mcu_plant *p, const struct axis_spec *a, uint8_t *nums,
                           char *err, size_t cap)
{
    /* Claim every pin before binding any, so a failure leaves no half axis. */
    for (int i = 0; i < 4; i++) {
        if (!a->pin[i])
            continue;
        if (claim_pin(p, a->pin[i], &nums[i], err, cap) < 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (a->pin[j] && nums[j] == nums[i])
                return fail(err, cap, "axis uses pin %s twice", a->pin[i]);
    }
    return 0;
}

int mcu_plant_add_axis(struct mcu_plant *p, const char *spec, char *err, size_t cap)
{
    char buf[MCU_PLANT_SPEC_MAX];
    if (copy_spec(spec, buf, err, cap) < 0)
        return -1;
    if (p->axis_count == MCU_PLANT_AXES_MAX)
        return fail(err, cap, "more than %d axes", MCU_PLANT_AXES_MAX);
    struct axis_spec a = {.steps_per_mm = 80, .length_mm = 200};
    char *save = NULL;
    for (char *opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(opt, '=');
        if (!eq)
            return fail(err, cap, "axis option '%s': expected key=value", opt);
        *eq = '\0';
        if (axis_option(&a, opt, eq + 1, err, cap) < 0)
            return -1;
    }
    if (!a.pin[0] || !a.pin[1])
        return fail(err, cap, "axis '%s': step= and dir= are required", spec);
    uint8_t nums[4] = {0};
    if (claim_axis_pins(p, &a, nums, err, cap) < 0)
        return -1;

    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.steps_per_mm = a.steps_per_mm;
    ap.invert_dir = a.invert_dir;
    ap.has_enable_pin = a.pin[2] != NULL;
    ap.initial_mm = a.position_given ? a.position_mm : a.length_mm / 2;
    ap.endstop_side = !a.pin[3] ? PLANT_ENDSTOP_NONE
                      : a.side_max ? PLANT_ENDSTOP_MAX : PLANT_ENDSTOP_MIN;
    ap.endstop_mm = a.side_max ? a.length_mm : 0;
    int id = p->axis_count++;
    plant_axis_init(&p->axes[id].axis, &ap);
    p->axes[id].length_mm = a.length_mm;
    for (int i = 0; i < 4; i++)
        if (a.pin[i])
            bind(p, nums[i], axis_pin_roles[i], id);
    return 0;
}

/* ---- wiring ---- */

static void output_changed(void *ctx, uint32_t pin, uint32_t value, uint64_t clock)
{
    struct mcu_plant *p = ctx;
    if (pin >= FW_SIMPINS_COUNT)
        return;
    struct mcu_plant_pin *pp = &p->pins[pin];
    struct plant_axis *axis = &p->axes[pp->object].axis;
    switch (pp->role) {
    case ROLE_HEATER:
        plant_heater_set_drive(&p->heaters[pp->object].heater, mcu_plant_clock_to_ns(clock),
                               value ? 1.0 : 0.0);
        break;
    case ROLE_STEP:
        plant_axis_set_step(axis, (uint8_t)value);
        break;
    case ROLE_DIR:
        plant_axis_set_dir(axis, (uint8_t)value);
        break;
    case ROLE_ENABLE:
        plant_axis_set_enable(axis, (uint8_t)value);
        break;
    default:
        break;
    }
}

static void pwm_changed(void *ctx, uint32_t pin, uint32_t value, uint64_t clock)
{
    struct mcu_plant *p = ctx;
    if (pin >= FW_SIMPINS_COUNT || p->pins[pin].role != ROLE_HEATER)
        return;
    plant_heater_set_drive(&p->heaters[p->pins[pin].object].heater,
                           mcu_plant_clock_to_ns(clock), (double)value / FW_SIMPINS_PWM_MAX);
}

static int read_input(void *ctx, uint32_t pin, uint64_t clock)
{
    struct mcu_plant *p = ctx;
    if (pin >= FW_SIMPINS_COUNT || p->pins[pin].role != ROLE_ENDSTOP)
        return -1;
    return plant_axis_endstop_level(&p->axes[p->pins[pin].object].axis);
}

static uint16_t read_adc(void *ctx, uint32_t pin, uint64_t clock)
{
    struct mcu_plant *p = ctx;
    if (pin >= FW_SIMPINS_COUNT || p->pins[pin].role != ROLE_SENSOR)
        return 0;
    struct mcu_plant_heater *h = &p->heaters[p->pins[pin].object];
    plant_heater_advance(&h->heater, mcu_plant_clock_to_ns(clock));
    return plant_thermistor_adc(&h->sensor, h->heater.temp_c);
}

struct fw_linux_wiring mcu_plant_wiring(struct mcu_plant *p)
{
    return (struct fw_linux_wiring){
        .pins = {
            .ctx = p,
            .output_changed = output_changed,
            .pwm_changed = pwm_changed,
            .read_input = read_input,
            .read_adc = read_adc,
        },
    };
}

void mcu_plant_print(struct mcu_plant *p, uint64_t clock, FILE *out)
{
    double t_s = (double)mcu_plant_clock_to_ns(clock) * 1e-9;
    for (int i = 0; i < p->heater_count; i++) {
        struct mcu_plant_heater *h = &p->heaters[i];
        plant_heater_advance(&h->heater, mcu_plant_clock_to_ns(clock));
        fprintf(out, "%.3f heater%d T=%.2f drive=%.3f\n", t_s, i, h->heater.temp_c,
                h->heater.drive);
    }
    for (int i = 0; i < p->axis_count; i++) {
        const struct plant_axis *a = &p->axes[i].axis;
        fprintf(out, "%.3f axis%d pos=%.4fmm steps=%lld endstop=%d enabled=%d\n", t_s, i,
                plant_axis_position_mm(a), (long long)a->position_steps,
                plant_axis_endstop_triggered(a), plant_axis_is_enabled(a));
    }
}
