/* The job's settings from printer.cfg: [virtual_sdcard] path,
 * on_error_gcode, [pause_resume] recover_velocity, [idle_timeout] timeout and gcode,
 * [respond] default_type and default_prefix. Kept apart from the job itself
 * so that a job can be made without a configuration file (tests, a
 * command-line print). */
#include "job/job.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* getenv */
#include <string.h> /* strlen, memcpy */

#include "config/config.h" /* fs_config_get_* */
#include "core/error.h"    /* fs_error_set */

#define DEFAULT_IDLE_GCODE "TURN_OFF_HEATERS\nM84"

void fs_job_config_defaults(struct fs_job_config *c)
{
    memset(c, 0, sizeof(*c));
    c->recover_velocity = 50.0;
    c->idle_timeout_s = 600.0;
    memcpy(c->idle_gcode, DEFAULT_IDLE_GCODE, sizeof(DEFAULT_IDLE_GCODE));
    c->respond_default_type = FS_RESPOND_ECHO;
}

static int copy_option(struct fs_config_section *s, const char *option, const char *value,
                       char *out, size_t size, struct fs_error *err)
{
    size_t n = strlen(value);
    if (n >= size)
        return fs_config_error(s, option, err, "longer than %zu characters", size - 1);
    memcpy(out, value, n + 1);
    return 0;
}

/* "~/gcodes" is how printer.cfg files name a folder in the user's home; a
 * relative path is relative to the file it is written in
 * (fs_config_get_path). */
static int read_sdcard_path(struct fs_config_section *s, struct fs_job_config *c,
                            struct fs_error *err)
{
    char path[FS_JOB_DIR_MAX];
    if (fs_config_get_path(s, "path", NULL, path, sizeof(path), err) < 0)
        return -1;
    c->has_virtual_sdcard = 1;
    const char *on_error;
    if (copy_option(s, "path", path, c->sdcard_path, sizeof(c->sdcard_path), err) < 0
        || fs_config_get_str(s, "on_error_gcode", "", &on_error, err) < 0)
        return -1;
    return copy_option(s, "on_error_gcode", on_error, c->sdcard_on_error_gcode,
                       sizeof(c->sdcard_on_error_gcode), err);
}

static int read_respond(struct fs_config_section *s, struct fs_job_config *c,
                        struct fs_error *err)
{
    static const char *const types[] = {"echo", "command", "error", NULL};
    const char *prefix;
    int type;
    if (fs_config_get_choice(s, "default_type", types, "echo", &type, err) < 0
        || fs_config_get_str(s, "default_prefix", "", &prefix, err) < 0)
        return -1;
    c->has_respond = 1;
    c->respond_default_type = (enum fs_respond_type)type;
    return copy_option(s, "default_prefix", prefix, c->respond_default_prefix,
                       sizeof(c->respond_default_prefix), err);
}

int fs_job_config_read(struct fs_config *cfg, struct fs_job_config *out, struct fs_error *err)
{
    struct fs_config_section *s;
    fs_job_config_defaults(out);
    if ((s = fs_config_get_section(cfg, "virtual_sdcard")) && read_sdcard_path(s, out, err) < 0)
        return -1;
    if ((s = fs_config_get_section(cfg, "pause_resume"))) {
        out->has_pause_resume = 1;
        if (fs_config_get_float_above(s, "recover_velocity", 50.0, 0.0,
                                      &out->recover_velocity, err) < 0)
            return -1;
    }
    if ((s = fs_config_get_section(cfg, "idle_timeout"))) {
        const char *gcode;
        if (fs_config_get_float_above(s, "timeout", 600.0, 0.0, &out->idle_timeout_s, err) < 0
            || fs_config_get_str(s, "gcode", DEFAULT_IDLE_GCODE, &gcode, err) < 0
            || copy_option(s, "gcode", gcode, out->idle_gcode, sizeof(out->idle_gcode), err) < 0)
            return -1;
    }
    if ((s = fs_config_get_section(cfg, "respond")) && read_respond(s, out, err) < 0)
        return -1;
    return 0;
}
