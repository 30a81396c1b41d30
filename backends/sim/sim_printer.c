/* Building the simulated physical printer from a printer.cfg. */
#include "sim_printer.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp */

#include "config/config.h" /* fs_config_* */
#include "core/error.h"    /* fs_error_set */
#include "sim_printer_drivers.h" /* sim_printer_add_drivers */
#include "sim_printer_sensors.h" /* sim_printer_add_sensors */

/* Where an unhomed carriage starts, as a fraction of its travel: away from
 * both ends so that homing has to travel, and not a round number. */
#define START_FRACTION 0.37

struct heater_physics {
    double power_w, capacity_j_per_k, loss_w_per_k;
};

static const struct heater_physics hotend_physics = {40.0, 10.0, 0.16};
static const struct heater_physics bed_physics = {200.0, 350.0, 0.9};
static const struct heater_physics chamber_physics = {100.0, 3000.0, 1.2};

static int read_steps_per_mm(struct fs_config_section *s, double *out, struct fs_error *err)
{
    double rotation, full_steps = 200, microsteps = 16, gear = 1.0;
    if (fs_config_get_float_above(s, "rotation_distance", NAN, 0.0, &rotation, err) < 0 ||
        fs_config_get_float_above(s, "full_steps_per_rotation", 200, 0.0, &full_steps, err) < 0 ||
        fs_config_get_float_above(s, "microsteps", NAN, 0.0, &microsteps, err) < 0)
        return -1;
    if (fs_config_has(s, "gear_ratio")) {
        const char *text;
        if (fs_config_get_str(s, "gear_ratio", NULL, &text, err) < 0)
            return -1;
        /* "3:1, 80:20": the product of each stage's ratio. */
        const char *p = text;
        while (*p) {
            double a, b;
            int n = 0;
            if (sscanf(p, " %lf : %lf%n", &a, &b, &n) != 2 || b <= 0)
                return fs_config_error(s, "gear_ratio", err, "expected 'a:b, c:d', got '%s'",
                                       text);
            gear *= a / b;
            p += n;
            while (*p == ' ' || *p == ',')
                p++;
        }
    }
    *out = full_steps * microsteps * gear / rotation;
    return 0;
}

static const char *pin_name(const struct fs_pin_desc *pin, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", pin->pin);
    return buf;
}

static int add_motor(struct sim_host *h, struct sim_printer *p, struct fs_config_section *s,
                     double start_mm, struct fs_error *err)
{
    if (p->stepper_count >= SIM_PRINTER_MAX_STEPPERS)
        return fs_error_set(err, "sim: more than %d steppers", SIM_PRINTER_MAX_STEPPERS);
    struct fs_pin_desc step, dir, enable;
    int has_enable = fs_config_has(s, "enable_pin");
    if (fs_config_get_pin(s, "step_pin", 1, 1, 0, &step, err) < 0 ||
        fs_config_get_pin(s, "dir_pin", 1, 1, 0, &dir, err) < 0 ||
        (has_enable && fs_config_get_pin(s, "enable_pin", 1, 1, 0, &enable, err) < 0))
        return -1;
    if (strcmp(step.mcu, dir.mcu) || (has_enable && strcmp(step.mcu, enable.mcu)))
        return fs_config_error(s, "dir_pin", err, "step, dir and enable pins must be on one mcu");
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    if (read_steps_per_mm(s, &ap.steps_per_mm, err) < 0)
        return -1;
    ap.invert_dir = dir.invert;
    ap.enable_active_low = has_enable ? enable.invert : 0;
    ap.initial_mm = start_mm;
    ap.endstop_side = PLANT_ENDSTOP_NONE;
    char sbuf[32], dbuf[32], ebuf[32];
    struct sim_axis_pins pins = {pin_name(&step, sbuf, sizeof(sbuf)),
                                 pin_name(&dir, dbuf, sizeof(dbuf)),
                                 has_enable ? pin_name(&enable, ebuf, sizeof(ebuf)) : NULL,
                                 NULL};
    int id = sim_world_add_axis(h->world, step.mcu, &pins, &ap, err);
    if (id < 0)
        return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                               fs_config_section_name(s));
    snprintf(p->steppers[p->stepper_count].name, sizeof(p->steppers[0].name), "%s",
             fs_config_section_name(s));
    p->steppers[p->stepper_count++].axis_id = id;
    return id;
}

struct rail {
    double min, max, endstop, start;
    int has_endstop;
    struct fs_pin_desc endstop_pin;
};

static int read_rail(struct fs_config_section *s, struct rail *r, struct fs_error *err)
{
    if (fs_config_get_float(s, "position_min", 0.0, -INFINITY, INFINITY, &r->min, err) < 0 ||
        fs_config_get_float(s, "position_max", NAN, -INFINITY, INFINITY, &r->max, err) < 0)
        return -1;
    r->has_endstop = fs_config_has(s, "endstop_pin");
    if (r->has_endstop &&
        (fs_config_get_pin(s, "endstop_pin", 1, 1, 1, &r->endstop_pin, err) < 0 ||
         fs_config_get_float(s, "position_endstop", NAN, -INFINITY, INFINITY, &r->endstop,
                             err) < 0))
        return -1;
    r->start = r->min + START_FRACTION * (r->max - r->min);
    return 0;
}

static int add_switch(struct sim_host *h, struct sim_printer *p, int index,
                      const struct rail *r, const int *axes, const double *coefs, int n,
                      struct fs_error *err)
{
    p->switch_ids[index] = -1;
    if (!r->has_endstop)
        return 0;
    struct sim_switch_spec spec = {0};
    spec.axis_count = n;
    for (int i = 0; i < n; i++) {
        spec.axis[i] = axes[i];
        spec.coef[i] = coefs[i];
    }
    spec.position_mm = r->endstop;
    spec.at_max = r->endstop > 0.5 * (r->min + r->max);
    spec.pressed_level = r->endstop_pin.invert ? 0 : 1;
    int id = sim_world_add_switch(h->world, r->endstop_pin.mcu, r->endstop_pin.pin, &spec, err);
    if (id < 0)
        return -1;
    p->switch_ids[index] = id;
    return 0;
}

static int add_mcus(struct sim_host *h, struct fs_config *cfg, struct fs_error *err)
{
    int index = 0;
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        if (strcmp(fs_config_section_kind(s), "mcu"))
            continue;
        const char *name = fs_config_section_suffix(s)[0] ? fs_config_section_suffix(s) : "mcu";
        struct sim_mcu_options opt;
        sim_mcu_options_default(&opt);
        /* Crystals a few tens of ppm apart, boards powered a little apart:
         * the clock sync has real work to do. */
        opt.clock_error_ppb = (index % 2 ? -1 : 1) * (15000 + 11000 * index);
        opt.power_on_ns = 1000000LL * index;
        if (sim_host_add_mcu(h, name, &opt, err) < 0)
            return -1;
        index++;
    }
    if (!index)
        return fs_error_set(err, "the configuration has no [mcu] section");
    return 0;
}

static int add_axes(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                    struct fs_error *err)
{
    struct fs_config_section *printer = fs_config_get_section(cfg, "printer");
    if (!printer)
        return fs_error_set(err, "the configuration has no [printer] section");
    static const char *const kinematics[] = {"cartesian", "corexy", NULL};
    int kin;
    if (fs_config_get_choice(printer, "kinematics", kinematics, NULL, &kin, err) < 0)
        return -1;
    p->kinematics = kin ? SIM_KIN_COREXY : SIM_KIN_CARTESIAN;
    static const char *const names[3] = {"stepper_x", "stepper_y", "stepper_z"};
    struct fs_config_section *secs[3];
    struct rail rails[3];
    for (int i = 0; i < 3; i++) {
        secs[i] = fs_config_get_section(cfg, names[i]);
        if (!secs[i])
            return fs_error_set(err, "the configuration has no [%s] section", names[i]);
        if (read_rail(secs[i], &rails[i], err) < 0)
            return -1;
    }
    int ids[3];
    if (p->kinematics == SIM_KIN_COREXY) {
        double x = rails[0].start, y = rails[1].start;
        ids[0] = add_motor(h, p, secs[0], x + y, err);
        ids[1] = add_motor(h, p, secs[1], x - y, err);
    } else {
        ids[0] = add_motor(h, p, secs[0], rails[0].start, err);
        ids[1] = add_motor(h, p, secs[1], rails[1].start, err);
    }
    ids[2] = add_motor(h, p, secs[2], rails[2].start, err);
    if (ids[0] < 0 || ids[1] < 0 || ids[2] < 0)
        return -1;
    if (p->kinematics == SIM_KIN_COREXY) {
        const int ab[2] = {ids[0], ids[1]};
        const double cx[2] = {0.5, 0.5}, cy[2] = {0.5, -0.5};
        if (add_switch(h, p, 0, &rails[0], ab, cx, 2, err) < 0 ||
            add_switch(h, p, 1, &rails[1], ab, cy, 2, err) < 0)
            return -1;
    } else {
        const double one = 1.0;
        if (add_switch(h, p, 0, &rails[0], &ids[0], &one, 1, err) < 0 ||
            add_switch(h, p, 1, &rails[1], &ids[1], &one, 1, err) < 0)
            return -1;
    }
    const double one = 1.0;
    return add_switch(h, p, 2, &rails[2], &ids[2], &one, 1, err);
}

static int add_heater(struct sim_host *h, struct sim_printer *p, struct fs_config_section *s,
                      const struct heater_physics *phys, struct fs_error *err)
{
    if (p->heater_count >= SIM_PRINTER_MAX_HEATERS)
        return fs_error_set(err, "sim: more than %d heaters", SIM_PRINTER_MAX_HEATERS);
    struct fs_pin_desc heater, sensor;
    double pullup;
    if (fs_config_get_pin(s, "heater_pin", 1, 1, 0, &heater, err) < 0 ||
        fs_config_get_pin(s, "sensor_pin", 1, 0, 1, &sensor, err) < 0 ||
        fs_config_get_float_above(s, "pullup_resistor", 4700.0, 0.0, &pullup, err) < 0)
        return -1;
    if (strcmp(heater.mcu, sensor.mcu))
        return fs_config_error(s, "sensor_pin", err,
                               "the simulator needs a heater and its sensor on one mcu");
    struct plant_heater_params hp;
    plant_heater_params_default(&hp);
    hp.power_w = phys->power_w;
    hp.capacity_j_per_k = phys->capacity_j_per_k;
    hp.loss_w_per_k = phys->loss_w_per_k;
    struct plant_thermistor_params tp;
    plant_thermistor_params_default(&tp);
    tp.pullup_ohm = pullup;
    int id = sim_world_add_heater(h->world, heater.mcu, heater.pin, sensor.pin, &hp, &tp, err);
    if (id < 0)
        return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                               fs_config_section_name(s));
    snprintf(p->heaters[p->heater_count].name, sizeof(p->heaters[0].name), "%s",
             fs_config_section_name(s));
    p->heaters[p->heater_count++].heater_id = id;
    return id;
}

static int add_extruder_and_heaters(struct sim_host *h, struct fs_config *cfg,
                                    struct sim_printer *p, struct fs_error *err)
{
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        if (!strcmp(kind, "extruder") || !strncmp(kind, "extruder", 8)) {
            if (fs_config_has(s, "step_pin") && add_motor(h, p, s, 0.0, err) < 0)
                return -1;
            if (fs_config_has(s, "heater_pin") && add_heater(h, p, s, &hotend_physics, err) < 0)
                return -1;
        } else if (!strcmp(kind, "heater_bed")) {
            if (add_heater(h, p, s, &bed_physics, err) < 0)
                return -1;
        } else if (!strcmp(kind, "heater_generic")) {
            if (add_heater(h, p, s, &chamber_physics, err) < 0)
                return -1;
        }
    }
    return 0;
}

int sim_printer_build(struct sim_host *h, struct fs_config *cfg, struct sim_printer *out,
                      struct fs_error *err)
{
    memset(out, 0, sizeof(*out));
    if (add_mcus(h, cfg, err) < 0 || add_axes(h, cfg, out, err) < 0 ||
        add_extruder_and_heaters(h, cfg, out, err) < 0 ||
        sim_printer_add_drivers(h, cfg, out, err) < 0 ||
        sim_printer_add_sensors(h, cfg, out, err) < 0)
        return fs_error_prefix(err, "simulated printer: ");
    return 0;
}

int sim_printer_axis(const struct sim_printer *p, const char *stepper)
{
    for (int i = 0; i < p->stepper_count; i++)
        if (!strcmp(p->steppers[i].name, stepper))
            return p->steppers[i].axis_id;
    return -1;
}

int sim_printer_heater(const struct sim_printer *p, const char *heater)
{
    for (int i = 0; i < p->heater_count; i++)
        if (!strcmp(p->heaters[i].name, heater))
            return p->heaters[i].heater_id;
    return -1;
}

void sim_printer_position(const struct sim_printer *p, struct sim_world *w, double pos[4])
{
    int ax = sim_printer_axis(p, "stepper_x"), ay = sim_printer_axis(p, "stepper_y");
    int az = sim_printer_axis(p, "stepper_z"), ae = sim_printer_axis(p, "extruder");
    double a = ax >= 0 ? sim_world_axis_position_mm(w, ax) : 0.0;
    double b = ay >= 0 ? sim_world_axis_position_mm(w, ay) : 0.0;
    if (p->kinematics == SIM_KIN_COREXY) {
        pos[0] = 0.5 * (a + b);
        pos[1] = 0.5 * (a - b);
    } else {
        pos[0] = a;
        pos[1] = b;
    }
    pos[2] = az >= 0 ? sim_world_axis_position_mm(w, az) : 0.0;
    pos[3] = ae >= 0 ? sim_world_axis_position_mm(w, ae) : 0.0;
}
