/* `failsoft demo`, the main job: the fail-soft story on the demo printer
 * (scenarios/configs/demo_fault.cfg: main board and toolboard, firmware in
 * the loop). It prints a shipped slicer file; mid-print the hotend's
 * thermistor opens, the toolboard's firmware cuts that heater at its pin,
 * the fault module pauses and parks (the bed stays hot, the axes stay
 * homed); after a maintenance move and the repair, FAULT_CLEAR and RESUME
 * finish the print. It prints a timeline in simulated time and an outcome
 * that checks what a user would check, and can draw the run as a PNG. */
#ifndef DEMO_H
#define DEMO_H

#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* FILE */

#include "core/error.h"  /* FS_ERROR_MSG_MAX */
#include "fault/fault.h" /* FS_FAULT_EVIDENCE_MAX */

struct demo_options {
    uint64_t seed;
    const char *png_path;   /* NULL: no picture */
    const char *trace_path; /* NULL: no trace of the world */
    FILE *out;              /* timeline and outcome; NULL: silent */
    /* For tests: the thermistor is never repaired, so FAULT_CLEAR and
     * RESUME are refused and the outcome must fail. */
    int never_repair;
};

/* One line of the verdict. */
struct demo_check {
    const char *what;
    int ok;
    char detail[200];
};

#define DEMO_CHECKS_MAX 12

struct demo_outcome {
    int completed;                /* the job reached "complete" */
    double final_pos[3];          /* the engine's toolhead at the end */
    double plant_pos[3];          /* where the head physically is */
    double expected_pos[3];       /* what the file commands */
    double extruded_mm, expected_extrusion_mm;
    int fault_raised;             /* extruder sensor_open */
    char fault_action[16];
    char fault_evidence[FS_FAULT_EVIDENCE_MAX];
    double pin_off_latency_s;     /* thermistor open to the pin's last drive; -1 unknown */
    int paused;
    double park_pos[3];
    double bed_target_c, bed_max_dev_c; /* during the pause */
    double bed_pin_duty, hotend_pin_duty; /* measured at the pins during the pause */
    int homed_throughout;
    int resume_refused_while_open;
    int journal_lines;            /* faults.jsonl lines for the fault */
    double sim_time_s, wall_time_s;
    struct demo_check checks[DEMO_CHECKS_MAX];
    int check_count;
    int ok;
    char reason[FS_ERROR_MSG_MAX + 64]; /* the first failed check, or why the story stopped */
};

/* Runs the demo. Returns -1 with err only when it could not run (the
 * printer could not be built, a file could not be written); a run whose
 * outcome is wrong returns 0 with o->ok false and o->reason set. */
int demo_run(const struct demo_options *opt, struct demo_outcome *o, struct fs_error *err);

#endif
