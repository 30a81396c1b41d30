/* Firmware retraction: G10/G11 and their settings; see
 * firmware_retraction.h.
 *
 * The filament moves go through the G-code move layer as a relative G1 E
 * wrapped in SAVE/RESTORE_GCODE_STATE, so they queue behind the moves
 * before them like any extrusion, and the G-code E coordinate does not
 * change: a slicer's absolute E values stay valid across a retraction.
 * G11 pushes back what G10 actually pulled (even if RETRACT_LENGTH changed
 * in between) plus the extra length; a second G10 or G11 does nothing. */
#include "motion/firmware_retraction.h"

#include <math.h>   /* INFINITY */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */

#include "config/config.h" /* fs_config_get_float */
#include "core/error.h"    /* fs_error_set */
#include "gcode/gcode.h"   /* fs_gcode_* */

#define RETRACTION_STATE "_FIRMWARE_RETRACTION"
#define RETRACTION_SCRIPT_MAX 256

struct fs_firmware_retraction {
    struct fs_gcode *g;
    double retract_length_mm, retract_speed_mm_s;
    double unretract_extra_mm, unretract_speed_mm_s;
    double retracted_mm; /* pulled back by the last G10; 0 when not retracted */
    int is_retracted;
};

/* One relative E move that leaves the G-code state (and E coordinate) as
 * it was. */
static int move_filament(struct fs_firmware_retraction *fr, const char *who, double e_mm,
                         double speed_mm_s, struct fs_error *err)
{
    if (e_mm == 0.0)
        return 0;
    char script[RETRACTION_SCRIPT_MAX];
    snprintf(script, sizeof(script),
             "SAVE_GCODE_STATE NAME=" RETRACTION_STATE "\n"
             "M83\n"
             "G1 E%.6f F%.6f\n"
             "RESTORE_GCODE_STATE NAME=" RETRACTION_STATE,
             e_mm, speed_mm_s * 60.0);
    return fs_gcode_run_script(fr->g, script, who, err);
}

static int cmd_g10(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                   struct fs_error *err)
{
    (void)g;
    (void)c;
    struct fs_firmware_retraction *fr = arg;
    if (fr->is_retracted)
        return 0;
    if (move_filament(fr, "G10", -fr->retract_length_mm, fr->retract_speed_mm_s, err) < 0)
        return -1;
    fr->retracted_mm = fr->retract_length_mm;
    fr->is_retracted = 1;
    return 0;
}

static int cmd_g11(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                   struct fs_error *err)
{
    (void)g;
    (void)c;
    struct fs_firmware_retraction *fr = arg;
    if (!fr->is_retracted)
        return 0;
    if (move_filament(fr, "G11", fr->retracted_mm + fr->unretract_extra_mm,
                      fr->unretract_speed_mm_s, err) < 0)
        return -1;
    fr->retracted_mm = 0.0;
    fr->is_retracted = 0;
    return 0;
}

static int cmd_set_retraction(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                              struct fs_error *err)
{
    (void)g;
    struct fs_firmware_retraction *fr = arg;
    double length, speed, extra, unspeed;
    /* Every value is checked before any is taken: a bad one changes nothing. */
    if (fs_gcode_get_float(c, "RETRACT_LENGTH", fr->retract_length_mm, 0.0, INFINITY, &length,
                           err) < 0 ||
        fs_gcode_get_float(c, "RETRACT_SPEED", fr->retract_speed_mm_s, 1e-6, INFINITY, &speed,
                           err) < 0 ||
        fs_gcode_get_float(c, "UNRETRACT_EXTRA_LENGTH", fr->unretract_extra_mm, 0.0, INFINITY,
                           &extra, err) < 0 ||
        fs_gcode_get_float(c, "UNRETRACT_SPEED", fr->unretract_speed_mm_s, 1e-6, INFINITY,
                           &unspeed, err) < 0)
        return -1;
    fr->retract_length_mm = length;
    fr->retract_speed_mm_s = speed;
    fr->unretract_extra_mm = extra;
    fr->unretract_speed_mm_s = unspeed;
    return 0;
}

static int cmd_get_retraction(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                              struct fs_error *err)
{
    (void)c;
    (void)err;
    struct fs_firmware_retraction *fr = arg;
    fs_gcode_respond_info(g, "RETRACT_LENGTH=%.5f RETRACT_SPEED=%.5f "
                          "UNRETRACT_EXTRA_LENGTH=%.5f UNRETRACT_SPEED=%.5f",
                          fr->retract_length_mm, fr->retract_speed_mm_s, fr->unretract_extra_mm,
                          fr->unretract_speed_mm_s);
    return 0;
}

static const struct {
    const char *name;
    fs_gcode_handler fn;
    const char *help;
} commands[] = {
    {"G10", cmd_g10, "Retract the filament by retract_length"},
    {"G11", cmd_g11, "Undo the retraction, plus unretract_extra_length"},
    {"SET_RETRACTION", cmd_set_retraction,
     "Set RETRACT_LENGTH, RETRACT_SPEED, UNRETRACT_EXTRA_LENGTH, UNRETRACT_SPEED"},
    {"GET_RETRACTION", cmd_get_retraction, "Report the firmware retraction settings"},
};

struct fs_firmware_retraction *fs_firmware_retraction_new(struct fs_config_section *s,
                                                          struct fs_gcode *g,
                                                          struct fs_error *err)
{
    struct fs_firmware_retraction *fr = calloc(1, sizeof(*fr));
    if (!fr) {
        fs_error_set(err, "firmware_retraction: out of memory");
        return NULL;
    }
    fr->g = g;
    if (fs_config_get_float(s, "retract_length", 0.0, 0.0, INFINITY, &fr->retract_length_mm,
                            err) < 0 ||
        fs_config_get_float_above(s, "retract_speed", 20.0, 0.0, &fr->retract_speed_mm_s,
                                  err) < 0 ||
        fs_config_get_float(s, "unretract_extra_length", 0.0, 0.0, INFINITY,
                            &fr->unretract_extra_mm, err) < 0 ||
        fs_config_get_float_above(s, "unretract_speed", 10.0, 0.0, &fr->unretract_speed_mm_s,
                                  err) < 0) {
        free(fr);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (fs_gcode_register(g, commands[i].name, commands[i].fn, fr, commands[i].help,
                              err) < 0) {
            free(fr);
            return NULL;
        }
    }
    return fr;
}

void fs_firmware_retraction_free(struct fs_firmware_retraction *fr) { free(fr); }
