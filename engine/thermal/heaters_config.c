/* Reading the thermal sections of printer.cfg into heaters, sensors and
 * fans: [extruder] (its heater options; the motion options of the same
 * section belong to the extruder's motion code), [heater_bed],
 * [heater_generic NAME], [temperature_sensor NAME], [thermistor NAME],
 * [verify_heater NAME], [fan] and [heater_fan NAME].
 *
 * Each heater and temperature_sensor becomes a fault source named as its
 * section ("extruder", "heater_bed", "heater_generic chamber",
 * "temperature_sensor board"); the fault module reads on_fault,
 * on_<kind>, on_fault_gcode and fault_tolerance from that section itself.
 * Read here for the detection: uncommanded_heating_rise (15 C) and
 * uncommanded_heating_time (60 s) in a heater's section (see heater.h). */
#include <ctype.h>  /* isdigit */
#include <math.h>   /* NAN, INFINITY */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, strncmp, strlen, memcpy, strtok_r */

#include "config/config.h"            /* fs_config_* */
#include "core/error.h"               /* fs_error_set */
#include "motion/toolhead.h"          /* fs_toolhead_at_queue_end */
#include "printer/printer.h"          /* struct fs_printer, fs_printer_pin_mcu */
#include "thermal/heaters_internal.h" /* struct fs_heaters */

#define SECTION_NAME_MAX 160
#define HEATER_LIST_MAX 512

/* "extruder", "extruder1", ...: not "extruder_stepper". */
/* Whether a message already starts with "file:line: [section]" (a policy
 * the fault module refused names the option's own line), so that the
 * section's place is not put in front of it a second time. */
static int located(const struct fs_error *err)
{
    const char *bracket = strstr(err->msg, ": [");
    if (!bracket || bracket == err->msg)
        return 0;
    const char *p = bracket - 1;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (p > err->msg && isdigit((unsigned char)*p))
        p--;
    return *p == ':' && p > err->msg && !memchr(err->msg, ' ', (size_t)(p - err->msg));
}

static int is_extruder_kind(const char *kind)
{
    if (strncmp(kind, "extruder", 8))
        return 0;
    for (const char *c = kind + 8; *c; c++)
        if (!isdigit((unsigned char)*c))
            return 0;
    return 1;
}

/* A [thermistor NAME] section: three points, or one point and a beta. */
static int read_custom_thermistor(struct fs_config_section *s, struct fs_sensor *out,
                                  struct fs_error *err)
{
    double t[3], r[3];
    if (fs_config_get_float(s, "temperature1", NAN, -273.15, INFINITY, &t[0], err) < 0 ||
        fs_config_get_float_above(s, "resistance1", NAN, 0.0, &r[0], err) < 0)
        return -1;
    if (fs_config_has(s, "beta")) {
        double beta;
        if (fs_config_get_float_above(s, "beta", NAN, 0.0, &beta, err) < 0)
            return -1;
        return fs_sensor_thermistor_beta(out, t[0], r[0], beta, err);
    }
    if (fs_config_get_float(s, "temperature2", NAN, -273.15, INFINITY, &t[1], err) < 0 ||
        fs_config_get_float_above(s, "resistance2", NAN, 0.0, &r[1], err) < 0 ||
        fs_config_get_float(s, "temperature3", NAN, -273.15, INFINITY, &t[2], err) < 0 ||
        fs_config_get_float_above(s, "resistance3", NAN, 0.0, &r[2], err) < 0)
        return -1;
    struct fs_error why;
    if (fs_sensor_thermistor_points(out, t, r, &why) < 0)
        return fs_config_error(s, "resistance3", err, "%s", why.msg);
    return 0;
}

/* sensor_type, sensor_pin, pullup_resistor, inline_resistor. */
static int read_sensor(struct fs_printer *pr, struct fs_config_section *s,
                       struct fs_heater_params *hp, struct fs_pin_desc *pin,
                       struct fs_error *err)
{
    const char *type;
    if (fs_config_get_str(s, "sensor_type", NULL, &type, err) < 0)
        return -1;
    if (fs_sensor_builtin(type, &hp->sensor) < 0) {
        char name[SECTION_NAME_MAX];
        snprintf(name, sizeof(name), "thermistor %s", type);
        struct fs_config_section *ts = fs_config_get_section(pr->config, name);
        if (!ts) {
            char known[256] = "";
            for (const char *const *n = fs_sensor_builtin_names(); *n; n++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s'%s'",
                         known[0] ? ", " : "", *n);
            return fs_config_error(s, "sensor_type", err,
                                   "unknown sensor '%s' (known: %s, or a [thermistor %s] "
                                   "section)", type, known, type);
        }
        if (read_custom_thermistor(ts, &hp->sensor, err) < 0)
            return -1;
    }
    if (fs_config_get_float_above(s, "pullup_resistor", FS_SENSOR_DEFAULT_PULLUP_OHM, 0.0,
                                  &hp->sensor.pullup_ohm, err) < 0 ||
        fs_config_get_float(s, "inline_resistor", 0.0, 0.0, INFINITY, &hp->sensor.inline_ohm,
                            err) < 0)
        return -1;
    if (fs_config_get_pin(s, "sensor_pin", 1, 0, 0, pin, err) < 0 ||
        fs_printer_pin_mcu(pr, s, "sensor_pin", pin, &hp->sensor_mcu, err) < 0)
        return -1;
    hp->sensor_pin = pin->pin;
    return 0;
}

static int read_verify(struct fs_printer *pr, const char *heater_name, int is_extruder,
                       struct fs_heater_verify *v, struct fs_error *err)
{
    fs_heater_verify_default(v, is_extruder);
    char name[SECTION_NAME_MAX];
    snprintf(name, sizeof(name), "verify_heater %s", heater_name);
    struct fs_config_section *s = fs_config_get_section(pr->config, name);
    if (!s)
        return 0;
    if (fs_config_get_float_above(s, "max_error", v->max_error, 0.0, &v->max_error, err) < 0 ||
        fs_config_get_float(s, "check_gain_time", v->check_gain_time_s, 1.0, INFINITY,
                            &v->check_gain_time_s, err) < 0 ||
        fs_config_get_float(s, "hysteresis", v->hysteresis_c, 0.0, INFINITY, &v->hysteresis_c,
                            err) < 0 ||
        fs_config_get_float_above(s, "heating_gain", v->heating_gain_c, 0.0,
                                  &v->heating_gain_c, err) < 0)
        return -1;
    return 0;
}

/* The options every heater section shares. */
static int read_heater(struct fs_heaters *h, struct fs_config_section *s, const char *name,
                       int is_extruder, struct fs_error *err)
{
    struct fs_printer *pr = h->printer;
    struct fs_heater_params hp;
    fs_heater_params_default(&hp);
    hp.name = name;
    char where[FS_PRINTER_WHERE_MAX];
    hp.where = fs_printer_section_context(s, where, sizeof(where));
    struct fs_pin_desc sensor_pin, heater_pin;
    if (read_sensor(pr, s, &hp, &sensor_pin, err) < 0)
        return -1;
    if (fs_config_get_pin(s, "heater_pin", 1, 1, 0, &heater_pin, err) < 0 ||
        fs_printer_pin_mcu(pr, s, "heater_pin", &heater_pin, &hp.heater_mcu, err) < 0)
        return -1;
    hp.heater_pin = heater_pin.pin;
    hp.heater_invert = heater_pin.invert;
    if (fs_config_get_float(s, "min_temp", NAN, -273.15, INFINITY, &hp.min_temp_c, err) < 0 ||
        fs_config_get_float_above(s, "max_temp", NAN, hp.min_temp_c, &hp.max_temp_c, err) < 0)
        return -1;
    if (is_extruder &&
        fs_config_get_float(s, "min_extrude_temp", 170.0, hp.min_temp_c, hp.max_temp_c,
                            &hp.min_extrude_temp_c, err) < 0)
        return -1;
    if (!is_extruder)
        hp.min_extrude_temp_c = hp.min_temp_c;
    if (fs_config_get_float_above(s, "max_power", 1.0, 0.0, &hp.max_power, err) < 0)
        return -1;
    if (hp.max_power > 1.0)
        return fs_config_error(s, "max_power", err, "expected a number in (0, 1], got %g",
                               hp.max_power);
    if (fs_config_get_float_above(s, "pwm_cycle_time", 0.1, 0.0, &hp.pwm_cycle_time_s, err) < 0 ||
        fs_config_get_float_above(s, "smooth_time", 1.0, 0.0, &hp.smooth_time_s, err) < 0)
        return -1;
    static const char *const controls[] = {"pid", "watermark", NULL};
    int control;
    if (fs_config_get_choice(s, "control", controls, NULL, &control, err) < 0)
        return -1;
    if (control == 0) {
        hp.control = FS_HEATER_CONTROL_PID;
        if (fs_config_get_float(s, "pid_Kp", NAN, 0.0, INFINITY, &hp.pid_kp, err) < 0 ||
            fs_config_get_float(s, "pid_Ki", NAN, 0.0, INFINITY, &hp.pid_ki, err) < 0 ||
            fs_config_get_float(s, "pid_Kd", NAN, 0.0, INFINITY, &hp.pid_kd, err) < 0)
            return -1;
    } else {
        hp.control = FS_HEATER_CONTROL_WATERMARK;
        if (fs_config_get_float_above(s, "max_delta", 2.0, 0.0, &hp.max_delta_c, err) < 0)
            return -1;
    }
    if (read_verify(pr, name, is_extruder, &hp.verify, err) < 0)
        return -1;
    if (fs_config_get_float_above(s, "uncommanded_heating_rise", FS_HEATER_UNCOMMANDED_RISE_C,
                                  0.0, &hp.uncommanded_rise_c, err) < 0 ||
        fs_config_get_float_above(s, "uncommanded_heating_time", FS_HEATER_UNCOMMANDED_TIME_S,
                                  0.0, &hp.uncommanded_time_s, err) < 0)
        return -1;
    if (hp.uncommanded_time_s > FS_HEATER_UNCOMMANDED_TIME_MAX_S)
        return fs_config_error(s, "uncommanded_heating_time", err,
                               "at most %.0f s (the readings kept), got %g",
                               FS_HEATER_UNCOMMANDED_TIME_MAX_S, hp.uncommanded_time_s);
    hp.faults = pr->faults;
    hp.fault_source = fs_config_section_name(s);
    hp.section = s;
    if (!fs_heaters_add_heater(h, &hp, err))
        return located(err) ? -1
                            : fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                                              fs_config_section_name(s));
    return 0;
}

static int read_temperature_sensor(struct fs_heaters *h, struct fs_config_section *s,
                                   struct fs_error *err)
{
    struct fs_heater_params hp;
    fs_heater_params_default(&hp);
    hp.name = fs_config_section_suffix(s);
    char where[FS_PRINTER_WHERE_MAX];
    hp.where = fs_printer_section_context(s, where, sizeof(where));
    hp.verify.enabled = 0;
    struct fs_pin_desc pin;
    if (read_sensor(h->printer, s, &hp, &pin, err) < 0)
        return -1;
    if (fs_config_get_float(s, "min_temp", -273.15, -273.15, INFINITY, &hp.min_temp_c, err) < 0 ||
        fs_config_get_float_above(s, "max_temp", 99999.0, hp.min_temp_c, &hp.max_temp_c,
                                  err) < 0)
        return -1;
    hp.faults = h->printer->faults;
    hp.fault_source = fs_config_section_name(s);
    hp.section = s;
    if (!fs_heaters_add_heater(h, &hp, err))
        return located(err) ? -1
                            : fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                                              fs_config_section_name(s));
    return 0;
}

static int read_fan(struct fs_heaters *h, struct fs_config_section *s, int is_heater_fan,
                    struct fs_error *err)
{
    struct fs_printer *pr = h->printer;
    struct fs_fan_params fp;
    fs_fan_params_default(&fp);
    fp.name = fs_config_section_name(s);
    char where[FS_PRINTER_WHERE_MAX];
    fp.where = fs_printer_section_context(s, where, sizeof(where));
    struct fs_pin_desc pin;
    if (fs_config_get_pin(s, "pin", 1, 1, 0, &pin, err) < 0 ||
        fs_printer_pin_mcu(pr, s, "pin", &pin, &fp.mcu, err) < 0)
        return -1;
    fp.pin = pin.pin;
    fp.invert = pin.invert;
    if (fs_config_get_float_above(s, "max_power", fp.max_power, 0.0, &fp.max_power, err) < 0 ||
        fs_config_get_float(s, "kick_start_time", fp.kick_start_time_s, 0.0, INFINITY,
                            &fp.kick_start_time_s, err) < 0 ||
        fs_config_get_float(s, "off_below", fp.off_below, 0.0, 1.0, &fp.off_below, err) < 0 ||
        fs_config_get_float_above(s, "cycle_time", fp.cycle_time_s, 0.0, &fp.cycle_time_s,
                                  err) < 0 ||
        fs_config_get_bool(s, "hardware_pwm", fp.hardware_pwm, &fp.hardware_pwm, err) < 0 ||
        fs_config_get_float(s, "shutdown_speed", is_heater_fan ? 1.0 : 0.0, 0.0, 1.0,
                            &fp.shutdown_speed, err) < 0)
        return -1;
    if (fp.max_power > 1.0)
        return fs_config_error(s, "max_power", err, "expected a number in (0, 1], got %g",
                               fp.max_power);
    if (is_heater_fan) {
        const char *list;
        if (fs_config_get_str(s, "heater", "extruder", &list, err) < 0 ||
            fs_config_get_float(s, "heater_temp", fp.heater_temp_c, -INFINITY, INFINITY,
                                &fp.heater_temp_c, err) < 0 ||
            fs_config_get_float(s, "fan_speed", fp.fan_speed, 0.0, 1.0, &fp.fan_speed, err) < 0)
            return -1;
        char buf[HEATER_LIST_MAX];
        if (strlen(list) >= sizeof(buf))
            return fs_config_error(s, "heater", err, "list too long");
        memcpy(buf, list, strlen(list) + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ", \n", &save); tok;
             tok = strtok_r(NULL, ", \n", &save)) {
            struct fs_heater *heater = fs_heaters_lookup(h, tok);
            if (!heater)
                return fs_config_error(s, "heater", err, "no heater named '%s'", tok);
            if (fp.heater_count >= FS_FAN_MAX_HEATERS)
                return fs_config_error(s, "heater", err, "at most %d heaters",
                                       FS_FAN_MAX_HEATERS);
            fp.heaters[fp.heater_count++] = heater;
        }
        if (!fp.heater_count)
            return fs_config_error(s, "heater", err, "name at least one heater");
    }
    if (!fs_heaters_add_fan(h, &fp, err))
        return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                               fs_config_section_name(s));
    return 0;
}

/* Heaters and sensors first: heater fans name them. */
static int read_all(struct fs_heaters *h, struct fs_error *err)
{
    struct fs_config *cfg = h->printer->config;
    int n = fs_config_section_count(cfg);
    for (int i = 0; i < n; i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        int rc = 0;
        if (is_extruder_kind(kind))
            rc = read_heater(h, s, kind, 1, err);
        else if (!strcmp(kind, "heater_bed"))
            rc = read_heater(h, s, "heater_bed", 0, err);
        else if (!strcmp(kind, "heater_generic"))
            rc = read_heater(h, s, fs_config_section_suffix(s), 0, err);
        else if (!strcmp(kind, "temperature_sensor"))
            rc = read_temperature_sensor(h, s, err);
        if (rc < 0)
            return -1;
    }
    /* A [thermistor] nobody uses is still checked, and a [verify_heater]
     * must name a heater. */
    for (int i = 0; i < n; i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        if (!strcmp(kind, "thermistor")) {
            struct fs_sensor unused;
            fs_config_get_section(cfg, fs_config_section_name(s));
            if (read_custom_thermistor(s, &unused, err) < 0)
                return -1;
        } else if (!strcmp(kind, "verify_heater")) {
            struct fs_heater *heater = fs_heaters_lookup(h, fs_config_section_suffix(s));
            if (!heater || !fs_heater_has_output(heater))
                return fs_config_error(s, NULL, err, "no heater named '%s'",
                                       fs_config_section_suffix(s));
        }
    }
    for (int i = 0; i < n; i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        int rc = 0;
        if (!strcmp(kind, "fan"))
            rc = read_fan(h, s, 0, err);
        else if (!strcmp(kind, "heater_fan"))
            rc = read_fan(h, s, 1, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The toolhead may be made after the heaters: look it up at each use. */
static int toolhead_time(void *arg, fs_heaters_time_done_fn done, void *done_arg,
                         struct fs_error *err)
{
    struct fs_printer *p = arg;
    if (!p->toolhead) {
        done(done_arg, 0.0);
        return 0;
    }
    return fs_toolhead_at_queue_end(p->toolhead, done, done_arg, err);
}

struct fs_heaters *fs_heaters_new(struct fs_printer *p, struct fs_error *err)
{
    struct fs_heaters *h = fs_heaters_create(p->reactor, p->log, err);
    if (!h)
        return NULL;
    h->printer = p;
    fs_heaters_set_move_time_source(h, toolhead_time, p);
    if (read_all(h, err) < 0 || (p->gcode && fs_heaters_register_gcode(h, p->gcode, err) < 0)) {
        fs_heaters_free(h);
        return NULL;
    }
    return h;
}
