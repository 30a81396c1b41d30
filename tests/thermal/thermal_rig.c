/* The thermal tests' simulated printer (see thermal_rig.h). */
#include "thermal_rig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* snprintf */
#include <string.h> /* memset */

#include "core/error.h"  /* struct fs_error */
#include "gcode/gcode.h" /* fs_gcode_* */
#include "mcu/mcu.h"     /* fs_mcu_* */

void rig_options_default(struct rig_options *o)
{
    o->bed_control = FS_HEATER_CONTROL_PID;
    o->fan_hardware_pwm = 1;
    o->fan_invert = 0;
    o->hotend_on_toolboard = 0;
    o->fan_max_power = 1.0;
    o->fan_off_below = 0.0;
    o->fan_kick_start_s = 0.0;
    o->use_guard = 1;
}

void rig_sync_faults(struct thermal_rig *r)
{
    int n = fs_faults_record_count(r->fault_module);
    int cap = (int)(sizeof(r->faults) / sizeof(r->faults[0]));
    r->fault_count = n;
    for (int i = 0; i < n && i < cap; i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(r->fault_module, i);
        struct rig_fault *f = &r->faults[i];
        snprintf(f->heater, sizeof(f->heater), "%s", rec->source);
        snprintf(f->reason, sizeof(f->reason), "%s", rec->evidence);
        f->kind = rec->kind;
        f->time = rec->time;
        f->action = rec->action;
    }
}

int rig_count_kind(struct thermal_rig *r, enum fs_fault_kind kind)
{
    int count = 0;
    for (int i = 0; i < fs_faults_record_count(r->fault_module); i++)
        count += fs_faults_record_at(r->fault_module, i)->kind == kind;
    return count;
}

static void on_shutdown_action(void *arg, const char *reason)
{
    (void)reason;
    struct thermal_rig *r = arg;
    r->shutdowns++;
}

static void on_heaters_off_action(void *arg)
{
    struct thermal_rig *r = arg;
    r->heaters_off_calls++;
    fs_heaters_turn_off_all(r->heaters);
}

static void on_mcu_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                         double eventtime)
{
    (void)m;
    (void)detail;
    (void)eventtime;
    struct thermal_rig *r = arg;
    if (ev == FS_MCU_EVENT_SHUTDOWN && !r->mcu_shutdowns++)
        r->first_mcu_shutdown_time = sim_host_now(&r->host);
}

static void on_output(void *arg, const char *text)
{
    struct thermal_rig *r = arg;
    if (r->response_count < (int)(sizeof(r->responses) / sizeof(r->responses[0])))
        snprintf(r->responses[r->response_count++], sizeof(r->responses[0]), "%s", text);
}

static void add_plant(struct thermal_rig *r, const char *mcu, const char *heater_pin,
                      const char *sensor_pin, double power_w, double capacity, double loss,
                      int *id)
{
    struct fs_error err;
    struct plant_heater_params hp;
    struct plant_thermistor_params tp;
    plant_heater_params_default(&hp);
    plant_thermistor_params_default(&tp);
    hp.power_w = power_w;
    hp.capacity_j_per_k = capacity;
    hp.loss_w_per_k = loss;
    *id = sim_world_add_heater(r->host.world, mcu, heater_pin, sensor_pin, &hp, &tp, &err);
    if (*id < 0)
        fail_msg("plant: %s", err.msg);
}

static struct fs_heater *add_heater(struct thermal_rig *r, const char *name,
                                    struct fs_mcu *mcu, const char *heater_pin,
                                    const char *sensor_pin,
                                    enum fs_heater_control control, double kp, double ki,
                                    double kd, int is_extruder, int use_guard)
{
    struct fs_error err;
    struct fs_heater_params p;
    fs_heater_params_default(&p);
    p.name = name;
    assert_int_equal(fs_sensor_builtin("Generic 3950", &p.sensor), 0);
    p.sensor_mcu = p.heater_mcu = mcu;
    p.sensor_pin = sensor_pin;
    p.heater_pin = heater_pin;
    p.min_temp_c = 0.0;
    p.max_temp_c = is_extruder ? 280.0 : 130.0;
    p.control = control;
    p.pid_kp = kp;
    p.pid_ki = ki;
    p.pid_kd = kd;
    fs_heater_verify_default(&p.verify, is_extruder);
    p.use_guard = use_guard;
    struct fs_heater *h = fs_heaters_add_heater(r->heaters, &p, &err);
    if (!h)
        fail_msg("%s: %s", name, err.msg);
    return h;
}

void rig_build(struct thermal_rig *r, uint64_t seed, const struct rig_options *o)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err;
    struct sim_host *h = &r->host;
    const char *hotend_mcu = o->hotend_on_toolboard ? "toolboard" : "mcu";
    if (sim_host_init(h, seed, NULL, &err) < 0 || sim_host_add_mcu(h, "mcu", NULL, &err) < 0)
        fail_msg("sim: %s", err.msg);
    if (o->hotend_on_toolboard) {
        struct sim_mcu_options tool;
        sim_mcu_options_default(&tool);
        tool.clock_error_ppb = -110000;
        if (sim_host_add_mcu(h, "toolboard", &tool, &err) < 0)
            fail_msg("sim: %s", err.msg);
    }
    add_plant(r, hotend_mcu, RIG_HOTEND_HEATER_PIN, RIG_HOTEND_SENSOR_PIN, 40.0, 10.0, 0.16,
              &r->hotend_id);
    add_plant(r, "mcu", RIG_BED_HEATER_PIN, RIG_BED_SENSOR_PIN, 200.0, 350.0, 0.9, &r->bed_id);
    if (sim_world_add_fan(h->world, "mcu", RIG_FAN_PIN, r->hotend_id, &err) < 0)
        fail_msg("fan: %s", err.msg);
    if (sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("connect: %s", err.msg);
    r->mcu = sim_host_mcu(h, "mcu");
    r->hotend_mcu = sim_host_mcu(h, hotend_mcu);
    for (int i = 0; i < h->mcu_count; i++)
        fs_mcu_set_event_handler(h->mcus[i], on_mcu_event, r);

    r->heaters = fs_heaters_create(&h->reactor, NULL, &err);
    assert_non_null(r->heaters);
    r->fault_module = fs_faults_new(&h->reactor, NULL, NULL, &err);
    if (!r->fault_module)
        fail_msg("faults: %s", err.msg);
    struct fs_fault_actions actions = {0};
    actions.arg = r;
    actions.shutdown = on_shutdown_action;
    actions.heaters_off = on_heaters_off_action;
    fs_faults_set_actions(r->fault_module, &actions);
    fs_heaters_set_faults(r->heaters, r->fault_module);
    /* The usual hotend and bed gains of printer.cfg files. */
    r->extruder = add_heater(r, "extruder", r->hotend_mcu, RIG_HOTEND_HEATER_PIN,
                             RIG_HOTEND_SENSOR_PIN,
                             FS_HEATER_CONTROL_PID, 22.2, 1.08, 114.0, 1, o->use_guard);
    r->bed = add_heater(r, "heater_bed", r->mcu, RIG_BED_HEATER_PIN, RIG_BED_SENSOR_PIN,
                        o->bed_control, 54.0, 0.8, 700.0, 0, o->use_guard);
    struct fs_fan_params fp;
    fs_fan_params_default(&fp);
    fp.name = "fan";
    fp.mcu = r->mcu;
    fp.pin = RIG_FAN_PIN;
    fp.hardware_pwm = o->fan_hardware_pwm;
    fp.invert = o->fan_invert;
    fp.max_power = o->fan_max_power;
    fp.off_below = o->fan_off_below;
    fp.kick_start_time_s = o->fan_kick_start_s;
    r->fan = fs_heaters_add_fan(r->heaters, &fp, &err);
    if (!r->fan)
        fail_msg("fan: %s", err.msg);

    r->gcode = fs_gcode_new(&err);
    assert_non_null(r->gcode);
    fs_gcode_set_output(r->gcode, on_output, r);
    if (fs_heaters_register_gcode(r->heaters, r->gcode, &err) < 0)
        fail_msg("gcode: %s", err.msg);
    for (int i = 0; i < h->mcu_count; i++)
        if (fs_mcu_configure(h->mcus[i], 5.0, &err) < 0)
            fail_msg("configure: %s", err.msg);
    /* First readings. */
    rig_run(r, 1.0);
}

void rig_free(struct thermal_rig *r)
{
    fs_heaters_free(r->heaters);
    fs_faults_free(r->fault_module);
    fs_gcode_free(r->gcode);
    sim_host_free(&r->host);
}

void rig_run(struct thermal_rig *r, double seconds)
{
    sim_host_run_for(&r->host, seconds);
    rig_sync_faults(r);
}

int rig_gcode(struct thermal_rig *r, const char *line, struct fs_error *err)
{
    return fs_gcode_run_line(r->gcode, line, "test", err);
}

double rig_plant_c(struct thermal_rig *r, int heater_id)
{
    return sim_world_heater_temp_c(r->host.world, heater_id);
}

double rig_reading_c(const struct fs_heater *h)
{
    double temp;
    fs_heater_get_temp(h, &temp, NULL);
    return temp;
}

void rig_set_target(struct thermal_rig *r, struct fs_heater *h, double target_c)
{
    (void)r;
    struct fs_error err;
    if (fs_heater_set_target(h, target_c, &err) < 0)
        fail_msg("set target: %s", err.msg);
}

double rig_hold_error(struct thermal_rig *r, struct fs_heater *h, int heater_id,
                      double target_c, double seconds)
{
    double worst = 0.0;
    for (double t = 0.0; t < seconds; t += 0.5) {
        rig_run(r, 0.5);
        double e1 = fabs(rig_plant_c(r, heater_id) - target_c);
        double e2 = fabs(rig_reading_c(h) - target_c);
        worst = e1 > worst ? e1 : worst;
        worst = e2 > worst ? e2 : worst;
    }
    return worst;
}
