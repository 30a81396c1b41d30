/* `failsoft demo`: the main job until the fault-policy work lands. On the
 * simulated printer (demo_rig.h) it heats the hotend to 200 C, homes X,
 * moves X to 100 mm and back to 10 mm, holds the temperature, switches the
 * heater off, and judges the outcome against the plant's truth. It prints a
 * timeline with virtual time stamps and can draw the run as a PNG. */
#ifndef DEMO_H
#define DEMO_H

#include <stdint.h> /* uint64_t, int64_t */
#include <stdio.h>  /* FILE */

#include "core/error.h" /* FS_ERROR_MSG_MAX */


struct demo_options {
    uint64_t seed;
    const char *png_path;   /* NULL: no picture */
    const char *trace_path; /* NULL: no trace of the world */
    FILE *out;              /* timeline and outcome; NULL: silent */
    /* For tests: the X endstop is broken (never reads pressed), so homing
     * must fail and the outcome must say so. */
    int break_x_endstop;
};

struct demo_outcome {
    double target_c;
    int reached_target;       /* a reading within +-2 C of the target */
    double time_to_target_s;  /* from switching the heater on */
    double max_overshoot_c;   /* highest reading above the target, >= 0 */
    double hold_min_c, hold_max_c; /* readings from reaching the target to heater off */
    int homed;
    int64_t homing_error_steps; /* engine minus plant, right after homing */
    double commanded_mm, final_engine_mm, final_plant_mm;
    int shutdowns;            /* MCUs that shut down, restarted or went silent */
    double sim_time_s, wall_time_s;
    int ok;
    char reason[FS_ERROR_MSG_MAX + 64]; /* why not ok */
};

/* Runs the demo. Returns -1 with err only when it could not run (the
 * printer could not be built, a file could not be written); a run whose
 * outcome is wrong returns 0 with o->ok false and o->reason set. */
int demo_run(const struct demo_options *opt, struct demo_outcome *o, struct fs_error *err);

#endif
