/* Filament sensors and fan tachometers in the simulated printer (see
 * sim_printer_sensors.h). */
#include "sim_printer_sensors.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp */

#include "config/config.h"  /* fs_config_* */
#include "core/error.h"     /* fs_error_set */
#include "plant_fan.h"      /* struct plant_fan */
#include "plant_filament.h" /* struct plant_filament */
#include "sim_printer.h"    /* struct sim_printer, sim_printer_axis */
#include "sim_world.h"      /* sim_world_* */

#define PATHS_MAX 4
#define SENSORS_MAX 8
#define FANS_MAX 8
#define NAME_MAX_ 64
#define ATTACH_NAME "sensors"
#define TOGGLES_PER_DETECTION 2.5

struct sim_sensor_models;

struct sim_filament_path {
    char extruder[NAME_MAX_];
    int axis_id;
    struct plant_filament filament;
};

struct sim_filament_sensor {
    struct sim_sensor_models *owner;
    struct sim_filament_path *path;
    int is_motion;
    int invert;
};

struct sim_fan_model {
    struct sim_sensor_models *owner;
    char name[NAME_MAX_];
    char mcu[32], pin[32];
    int invert;
    struct plant_fan fan;
};

struct sim_sensor_models {
    struct sim_world *world;
    struct sim_filament_path paths[PATHS_MAX];
    int path_count;
    struct sim_filament_sensor sensors[SENSORS_MAX];
    int sensor_count;
    struct sim_fan_model fans[FANS_MAX];
    int fan_count;
};

static double motor_mm(const struct sim_sensor_models *m, const struct sim_filament_path *path)
{
    return sim_world_axis_position_mm(m->world, path->axis_id);
}

static uint8_t filament_input(void *arg, int pin_index, int64_t t_ns)
{
    (void)pin_index;
    (void)t_ns;
    struct sim_filament_sensor *s = arg;
    struct plant_filament *f = &s->path->filament;
    plant_filament_update(f, motor_mm(s->owner, s->path));
    if (s->is_motion)
        return (uint8_t)plant_filament_motion_level(f);
    return (uint8_t)(plant_filament_present(f) ^ (s->invert ? 1 : 0));
}

/* The drive in force since the previous read applies up to now; the pin's
 * level now is the drive from here on. */
static uint8_t tach_input(void *arg, int pin_index, int64_t t_ns)
{
    (void)pin_index;
    struct sim_fan_model *fm = arg;
    int level = plant_fan_tach_level(&fm->fan, t_ns);
    int out = sim_world_pin_level(fm->owner->world, fm->mcu, fm->pin);
    double drive = out < 0 ? (fm->invert ? 1.0 : 0.0) : (double)(out ^ (fm->invert ? 1 : 0));
    plant_fan_set_drive(&fm->fan, t_ns, drive);
    return (uint8_t)level;
}

static struct sim_filament_path *find_path(struct sim_sensor_models *m, const char *extruder)
{
    for (int i = 0; i < m->path_count; i++)
        if (!strcmp(m->paths[i].extruder, extruder))
            return &m->paths[i];
    return NULL;
}

static struct sim_filament_path *open_path(struct sim_sensor_models *m,
                                           const struct sim_printer *p,
                                           struct fs_config_section *s, const char *extruder,
                                           double toggle_mm, struct fs_error *err)
{
    struct sim_filament_path *path = find_path(m, extruder);
    if (path)
        return path;
    int axis = sim_printer_axis(p, extruder);
    if (axis < 0 || m->path_count >= PATHS_MAX) {
        fs_config_error(s, NULL, err, "the simulator has no motor for extruder '%s'", extruder);
        return NULL;
    }
    path = &m->paths[m->path_count++];
    snprintf(path->extruder, sizeof(path->extruder), "%s", extruder);
    path->axis_id = axis;
    struct plant_filament_params fp;
    plant_filament_params_default(&fp);
    if (toggle_mm > 0.0)
        fp.toggle_mm = toggle_mm;
    plant_filament_init(&path->filament, &fp, sim_world_axis_position_mm(m->world, axis));
    return path;
}

static int add_filament_sensor(struct sim_sensor_models *m, const struct sim_printer *p,
                               struct fs_config_section *s, int is_motion, struct fs_error *err)
{
    if (m->sensor_count >= SENSORS_MAX)
        return fs_config_error(s, NULL, err, "the simulator models at most %d filament sensors",
                               SENSORS_MAX);
    struct fs_pin_desc pin;
    const char *extruder = "extruder";
    double detection = 0.0;
    if (fs_config_get_pin(s, "switch_pin", 1, 1, 1, &pin, err) < 0)
        return -1;
    if (is_motion &&
        (fs_config_get_str(s, "extruder", "extruder", &extruder, err) < 0 ||
         fs_config_get_float_above(s, "detection_length", 7.0, 0.0, &detection, err) < 0))
        return -1;
    struct sim_filament_path *path =
        open_path(m, p, s, extruder, detection / TOGGLES_PER_DETECTION, err);
    if (!path)
        return -1;
    struct sim_filament_sensor *fs = &m->sensors[m->sensor_count++];
    fs->owner = m;
    fs->path = path;
    fs->is_motion = is_motion;
    fs->invert = pin.invert;
    static const struct sim_pin_device_ops ops = {NULL, filament_input};
    if (sim_world_add_pin_device(m->world, pin.mcu, pin.pin, 0, &ops, fs, err) < 0)
        return fs_error_prefix(err, "%s: [%s] switch_pin: ", fs_config_section_where(s),
                               fs_config_section_name(s));
    return 0;
}

static int add_fan(struct sim_sensor_models *m, struct fs_config_section *s,
                   struct fs_error *err)
{
    if (m->fan_count >= FANS_MAX)
        return fs_config_error(s, NULL, err, "the simulator models at most %d tachometers",
                               FANS_MAX);
    struct fs_pin_desc pin, tach;
    int ppr;
    if (fs_config_get_pin(s, "pin", 1, 1, 0, &pin, err) < 0 ||
        fs_config_get_pin(s, "tachometer_pin", 1, 0, 1, &tach, err) < 0 ||
        fs_config_get_int(s, "tachometer_ppr", 2, 1, 100, &ppr, err) < 0)
        return -1;
    struct sim_fan_model *fm = &m->fans[m->fan_count++];
    fm->owner = m;
    snprintf(fm->name, sizeof(fm->name), "%s", fs_config_section_name(s));
    snprintf(fm->mcu, sizeof(fm->mcu), "%s", pin.mcu);
    snprintf(fm->pin, sizeof(fm->pin), "%s", pin.pin);
    fm->invert = pin.invert;
    struct plant_fan_params fp;
    plant_fan_params_default(&fp);
    fp.ppr = ppr;
    plant_fan_init(&fm->fan, &fp, sim_world_now_ns(m->world));
    static const struct sim_pin_device_ops ops = {NULL, tach_input};
    if (sim_world_add_pin_device(m->world, tach.mcu, tach.pin, 0, &ops, fm, err) < 0)
        return fs_error_prefix(err, "%s: [%s] tachometer_pin: ", fs_config_section_where(s),
                               fs_config_section_name(s));
    return 0;
}

static int wants_models(struct fs_config *cfg)
{
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        if (!strcmp(kind, "filament_switch_sensor") || !strcmp(kind, "filament_motion_sensor") ||
            fs_config_has(s, "tachometer_pin"))
            return 1;
    }
    return 0;
}

int sim_printer_add_sensors(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err)
{
    if (!wants_models(cfg))
        return 0;
    struct sim_sensor_models *m = calloc(1, sizeof(*m));
    if (!m)
        return fs_error_set(err, "sim: out of memory for sensor models");
    m->world = h->world;
    if (sim_world_attach(h->world, ATTACH_NAME, m, free, err) < 0) {
        free(m);
        return -1;
    }
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        int rc = 0;
        if (!strcmp(kind, "filament_switch_sensor"))
            rc = add_filament_sensor(m, p, s, 0, err);
        else if (!strcmp(kind, "filament_motion_sensor"))
            rc = add_filament_sensor(m, p, s, 1, err);
        else if (fs_config_has(s, "tachometer_pin"))
            rc = add_fan(m, s, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- lookups and fault injection ------------------------------------------- */

static struct sim_sensor_models *models(struct sim_world *w)
{
    return sim_world_attached(w, ATTACH_NAME);
}

struct plant_filament *sim_printer_filament(struct sim_world *w, const char *extruder)
{
    struct sim_sensor_models *m = models(w);
    struct sim_filament_path *path = m ? find_path(m, extruder) : NULL;
    return path ? &path->filament : NULL;
}

static struct sim_fan_model *find_fan(struct sim_world *w, const char *fan)
{
    struct sim_sensor_models *m = models(w);
    for (int i = 0; m && i < m->fan_count; i++)
        if (!strcmp(m->fans[i].name, fan))
            return &m->fans[i];
    return NULL;
}

struct plant_fan *sim_printer_fan(struct sim_world *w, const char *fan)
{
    struct sim_fan_model *fm = find_fan(w, fan);
    return fm ? &fm->fan : NULL;
}

static struct sim_filament_path *path_of(struct sim_world *w, const char *extruder)
{
    struct sim_sensor_models *m = models(w);
    return m ? find_path(m, extruder) : NULL;
}

int sim_printer_filament_run_out(struct sim_world *w, const char *extruder, double after_mm)
{
    struct sim_filament_path *path = path_of(w, extruder);
    if (!path)
        return -1;
    plant_filament_run_out(&path->filament, sim_world_axis_position_mm(w, path->axis_id),
                           after_mm);
    return 0;
}

int sim_printer_filament_jam(struct sim_world *w, const char *extruder, int jammed)
{
    struct sim_filament_path *path = path_of(w, extruder);
    if (!path)
        return -1;
    plant_filament_set_jammed(&path->filament, sim_world_axis_position_mm(w, path->axis_id),
                              jammed);
    return 0;
}

int sim_printer_filament_reload(struct sim_world *w, const char *extruder)
{
    struct sim_filament_path *path = path_of(w, extruder);
    if (!path)
        return -1;
    plant_filament_reload(&path->filament, sim_world_axis_position_mm(w, path->axis_id));
    return 0;
}

int sim_printer_fan_stall(struct sim_world *w, const char *fan, int stalled)
{
    struct sim_fan_model *fm = find_fan(w, fan);
    if (!fm)
        return -1;
    plant_fan_set_stalled(&fm->fan, sim_world_now_ns(w), stalled);
    return 0;
}
