/* MCU pins wired to the plant: which pin drives or reads which heater,
 * thermistor, fan or axis, and what happens on each change.
 *
 * A pin has at most one role. Output changes reach the plant at the virtual
 * time of the MCU clock they happened at, so a heater sees the exact on-time
 * of a software PWM and an axis counts every step edge. */
#include "sim_world_impl.h"

#include <ctype.h>  /* isdigit */
#include <stdlib.h> /* strtoul */

int sim_pins_parse(const char *pin, uint32_t *out, struct fs_error *err)
{
    if (!pin || !*pin)
        return fs_error_set(err, "sim: empty pin name");
    int32_t n;
    if (isdigit((unsigned char)pin[0])) {
        char *end;
        unsigned long v = strtoul(pin, &end, 10);
        n = (*end || v > INT32_MAX) ? -1 : (int32_t)v;
    } else {
        n = fw_sim_pin_by_name(pin);
    }
    if (n < 0)
        return fs_error_set(err, "sim: unknown pin '%s'", pin);
    if (n >= SIM_MCU_PINS_MAX)
        return fs_error_set(err, "sim: pin '%s' (%d) beyond the %d pins the world models",
                            pin, n, SIM_MCU_PINS_MAX);
    *out = (uint32_t)n;
    return 0;
}

static const char *const role_names[] = {
    [SIM_PIN_FREE] = "free", [SIM_PIN_HEATER] = "heater", [SIM_PIN_SENSOR] = "sensor",
    [SIM_PIN_FAN] = "fan",   [SIM_PIN_STEP] = "step",     [SIM_PIN_DIR] = "dir",
    [SIM_PIN_ENABLE] = "enable", [SIM_PIN_ENDSTOP] = "endstop", [SIM_PIN_SWITCH] = "switch",
    [SIM_PIN_DEVICE] = "device",
};

/* Resolves a pin and checks that it is still free. */
static int claim_pin(struct sim_mcu *m, const char *name, uint32_t *pin,
                     struct fs_error *err)
{
    if (sim_pins_parse(name, pin, err) < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    uint8_t role = m->pins[*pin].role;
    if (role != SIM_PIN_FREE)
        return fs_error_set(err, "sim: mcu '%s' pin '%s' is already a %s pin", m->name,
                            name, role_names[role]);
    return 0;
}

static void bind(struct sim_mcu *m, uint32_t pin, enum sim_pin_role role, int object)
{
    m->pins[pin].role = (uint8_t)role;
    m->pins[pin].object = (int16_t)object;
}

int sim_world_add_heater(struct sim_world *w, const char *mcu, const char *heater_pin,
                         const char *sensor_pin, const struct plant_heater_params *hp,
                         const struct plant_thermistor_params *tp, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (w->heater_count == SIM_WORLD_HEATERS_MAX)
        return fs_error_set(err, "sim: more than %d heaters", SIM_WORLD_HEATERS_MAX);
    uint32_t out_pin, adc_pin;
    if (claim_pin(m, heater_pin, &out_pin, err) < 0)
        return -1;
    if (claim_pin(m, sensor_pin, &adc_pin, err) < 0)
        return -1;
    if (out_pin == adc_pin)
        return fs_error_set(err, "sim: mcu '%s': heater and sensor on one pin", mcu);
    struct plant_heater_params hdef;
    struct plant_thermistor_params tdef;
    if (!hp) {
        plant_heater_params_default(&hdef);
        hp = &hdef;
    }
    if (!tp) {
        plant_thermistor_params_default(&tdef);
        tp = &tdef;
    }
    int id = w->heater_count++;
    struct sim_heater_obj *h = &w->heaters[id];
    plant_heater_init(&h->heater, hp, w->now_ns);
    plant_thermistor_init(&h->sensor, tp);
    h->mcu = m;
    bind(m, out_pin, SIM_PIN_HEATER, id);
    bind(m, adc_pin, SIM_PIN_SENSOR, id);
    return id;
}

int sim_world_add_fan(struct sim_world *w, const char *mcu, const char *pin,
                      int heater_id, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (heater_id < 0 || heater_id >= w->heater_count)
        return fs_error_set(err, "sim: fan for unknown heater %d", heater_id);
    uint32_t p;
    if (claim_pin(m, pin, &p, err) < 0)
        return -1;
    bind(m, p, SIM_PIN_FAN, heater_id);
    return 0;
}

int sim_world_add_axis(struct sim_world *w, const char *mcu,
                       const struct sim_axis_pins *pins,
                       const struct plant_axis_params *ap, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (w->axis_count == SIM_WORLD_AXES_MAX)
        return fs_error_set(err, "sim: more than %d axes", SIM_WORLD_AXES_MAX);
    struct plant_axis_params params;
    if (ap)
        params = *ap;
    else
        plant_axis_params_default(&params);
    params.has_enable_pin = pins->enable != NULL;
    if (!pins->endstop)
        params.endstop_side = PLANT_ENDSTOP_NONE;
    /* Claim every pin before binding any, so a failure leaves no half axis. */
    const char *names[4] = {pins->step, pins->dir, pins->enable, pins->endstop};
    const enum sim_pin_role roles[4] = {SIM_PIN_STEP, SIM_PIN_DIR, SIM_PIN_ENABLE,
                                        SIM_PIN_ENDSTOP};
    uint32_t nums[4];
    for (int i = 0; i < 4; i++) {
        if (!names[i])
            continue;
        if (claim_pin(m, names[i], &nums[i], err) < 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (names[j] && nums[j] == nums[i])
                return fs_error_set(err, "sim: mcu '%s': axis uses pin '%s' twice", mcu,
                                    names[i]);
    }
    int id = w->axis_count++;
    plant_axis_init(&w->axes[id].axis, &params);
    w->axes[id].mcu = m;
    for (int i = 0; i < 4; i++)
        if (names[i])
            bind(m, nums[i], roles[i], id);
    return id;
}

int sim_world_add_switch(struct sim_world *w, const char *mcu, const char *pin,
                         const struct sim_switch_spec *spec, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (w->switch_count == SIM_WORLD_SWITCHES_MAX)
        return fs_error_set(err, "sim: more than %d switches", SIM_WORLD_SWITCHES_MAX);
    if (spec->axis_count < 1 || spec->axis_count > SIM_SWITCH_AXES_MAX)
        return fs_error_set(err, "sim: a switch follows 1..%d axes, not %d",
                            SIM_SWITCH_AXES_MAX, spec->axis_count);
    for (int i = 0; i < spec->axis_count; i++)
        if (spec->axis[i] < 0 || spec->axis[i] >= w->axis_count)
            return fs_error_set(err, "sim: switch on unknown axis %d", spec->axis[i]);
    uint32_t p;
    if (claim_pin(m, pin, &p, err) < 0)
        return -1;
    int id = w->switch_count++;
    w->switches[id].spec = *spec;
    w->switches[id].stuck_open = 0;
    bind(m, p, SIM_PIN_SWITCH, id);
    return id;
}

double sim_world_switch_position_mm(struct sim_world *w, int switch_id)
{
    if (switch_id < 0 || switch_id >= w->switch_count)
        return 0.0;
    const struct sim_switch_spec *sp = &w->switches[switch_id].spec;
    double pos = 0.0;
    for (int i = 0; i < sp->axis_count; i++)
        pos += sp->coef[i] * plant_axis_position_mm(&w->axes[sp->axis[i]].axis);
    return pos;
}

int sim_world_switch_set_stuck_open(struct sim_world *w, int switch_id, int stuck)
{
    if (switch_id < 0 || switch_id >= w->switch_count)
        return -1;
    w->switches[switch_id].stuck_open = stuck;
    return 0;
}

int sim_world_add_pin_device(struct sim_world *w, const char *mcu, const char *pin,
                             int pin_index, const struct sim_pin_device_ops *ops, void *arg,
                             struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    if (w->device_count >= SIM_WORLD_DEVICE_PINS_MAX)
        return fs_error_set(err, "sim: more than %d device pins", SIM_WORLD_DEVICE_PINS_MAX);
    if (pin_index < 0 || pin_index > 255)
        return fs_error_set(err, "sim: device pin index %d outside 0..255", pin_index);
    uint32_t p;
    if (claim_pin(m, pin, &p, err) < 0)
        return -1;
    int id = w->device_count++;
    w->devices[id].ops = *ops;
    w->devices[id].arg = arg;
    w->devices[id].pin_index = (uint8_t)pin_index;
    bind(m, p, SIM_PIN_DEVICE, id);
    return id;
}

static uint8_t switch_level(struct sim_world *w, int id)
{
    const struct sim_switch_obj *s = &w->switches[id];
    double pos = sim_world_switch_position_mm(w, id);
    /* Half a nanometre of slack keeps an exact landing on the switch
     * position from depending on float rounding. */
    int pressed = s->spec.at_max ? pos >= s->spec.position_mm - 5e-7
                                 : pos <= s->spec.position_mm + 5e-7;
    if (s->stuck_open)
        pressed = 0;
    return pressed ? s->spec.pressed_level : (uint8_t)!s->spec.pressed_level;
}

int sim_world_set_input(struct sim_world *w, const char *mcu, const char *pin,
                        uint8_t level, struct fs_error *err)
{
    struct sim_mcu *m = sim_world_find_mcu_err(w, mcu, err);
    if (!m)
        return -1;
    uint32_t p;
    if (sim_pins_parse(pin, &p, err) < 0)
        return -1;
    m->pins[p].input_level = level ? 1 : 0;
    return 0;
}

void sim_pins_output(struct sim_mcu *m, uint32_t pin, uint32_t level, double fraction,
                     int64_t t_ns)
{
    struct sim_world *w = m->world;
    if (pin >= SIM_MCU_PINS_MAX)
        return;
    struct sim_pin *p = &m->pins[pin];
    p->level = (uint8_t)level;
    if (w->trace.enabled) {
        if (fraction > 0.0 && fraction < 1.0)
            sim_trace_line(&w->trace, w->now_ns, "%s pin %u pwm=%.6f", m->name,
                           (unsigned)pin, fraction);
        else
            sim_trace_line(&w->trace, w->now_ns, "%s pin %u=%u", m->name, (unsigned)pin,
                           (unsigned)level);
    }
    switch (p->role) {
    case SIM_PIN_HEATER:
        plant_heater_set_drive(&w->heaters[p->object].heater, t_ns, fraction);
        break;
    case SIM_PIN_FAN:
        plant_heater_set_fan(&w->heaters[p->object].heater, t_ns, fraction);
        break;
    case SIM_PIN_STEP:
        plant_axis_set_step(&w->axes[p->object].axis, (uint8_t)level);
        break;
    case SIM_PIN_DIR:
        plant_axis_set_dir(&w->axes[p->object].axis, (uint8_t)level);
        break;
    case SIM_PIN_ENABLE:
        plant_axis_set_enable(&w->axes[p->object].axis, (uint8_t)level);
        break;
    case SIM_PIN_DEVICE: {
        const struct sim_device_obj *d = &w->devices[p->object];
        if (d->ops.output)
            d->ops.output(d->arg, d->pin_index, (uint8_t)level, t_ns);
        break;
    }
    default:
        break;
    }
}

uint8_t sim_pins_read_input(struct sim_mcu *m, uint32_t pin)
{
    if (pin >= SIM_MCU_PINS_MAX)
        return 0;
    const struct sim_pin *p = &m->pins[pin];
    if (p->role == SIM_PIN_ENDSTOP)
        return plant_axis_endstop_level(&m->world->axes[p->object].axis);
    if (p->role == SIM_PIN_SWITCH)
        return switch_level(m->world, p->object);
    if (p->role == SIM_PIN_DEVICE) {
        const struct sim_device_obj *d = &m->world->devices[p->object];
        if (d->ops.input)
            return d->ops.input(d->arg, d->pin_index, m->world->now_ns) ? 1 : 0;
    }
    return p->input_level;
}

uint16_t sim_pins_read_adc(struct sim_mcu *m, uint32_t pin, int64_t t_ns)
{
    if (pin >= SIM_MCU_PINS_MAX)
        return 0;
    const struct sim_pin *p = &m->pins[pin];
    if (p->role != SIM_PIN_SENSOR)
        return 0;
    struct sim_heater_obj *h = &m->world->heaters[p->object];
    plant_heater_advance(&h->heater, t_ns);
    return plant_thermistor_adc(&h->sensor, h->heater.temp_c);
}

void sim_pins_reset_outputs(struct sim_mcu *m, int64_t t_ns)
{
    for (uint32_t pin = 0; pin < SIM_MCU_PINS_MAX; pin++) {
        struct sim_pin *p = &m->pins[pin];
        if (p->role == SIM_PIN_SENSOR || p->role == SIM_PIN_ENDSTOP)
            continue;
        if (p->level || p->role == SIM_PIN_HEATER || p->role == SIM_PIN_FAN)
            sim_pins_output(m, pin, 0, 0.0, t_ns);
    }
}

/* ---- queries ---- */

struct plant_heater *sim_world_heater(struct sim_world *w, int heater_id)
{
    if (heater_id < 0 || heater_id >= w->heater_count)
        return NULL;
    struct plant_heater *h = &w->heaters[heater_id].heater;
    plant_heater_advance(h, w->now_ns);
    return h;
}

struct plant_thermistor *sim_world_thermistor(struct sim_world *w, int heater_id)
{
    if (heater_id < 0 || heater_id >= w->heater_count)
        return NULL;
    return &w->heaters[heater_id].sensor;
}

struct plant_axis *sim_world_axis(struct sim_world *w, int axis_id)
{
    if (axis_id < 0 || axis_id >= w->axis_count)
        return NULL;
    return &w->axes[axis_id].axis;
}

double sim_world_heater_temp_c(struct sim_world *w, int heater_id)
{
    struct plant_heater *h = sim_world_heater(w, heater_id);
    return h ? h->temp_c : 0.0;
}

double sim_world_heater_drive(struct sim_world *w, int heater_id)
{
    struct plant_heater *h = sim_world_heater(w, heater_id);
    return h ? h->drive : 0.0;
}

int64_t sim_world_axis_position_steps(struct sim_world *w, int axis_id)
{
    struct plant_axis *a = sim_world_axis(w, axis_id);
    return a ? a->position_steps : 0;
}

double sim_world_axis_position_mm(struct sim_world *w, int axis_id)
{
    struct plant_axis *a = sim_world_axis(w, axis_id);
    return a ? plant_axis_position_mm(a) : 0.0;
}

uint64_t sim_world_axis_step_count(struct sim_world *w, int axis_id)
{
    struct plant_axis *a = sim_world_axis(w, axis_id);
    return a ? a->step_count : 0;
}

int sim_world_pin_level(struct sim_world *w, const char *mcu, const char *pin)
{
    struct sim_mcu *m = sim_world_find_mcu(w, mcu);
    uint32_t p;
    if (!m || sim_pins_parse(pin, &p, NULL) < 0)
        return -1;
    return m->pins[p].level;
}
