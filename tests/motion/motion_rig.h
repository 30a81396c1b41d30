/* The simulated printer the motion tests drive through G-code: the real
 * firmware on every MCU of a printer.cfg, and by hand the part of
 * struct fs_printer that motion needs (toolhead, homing, G-code move; on
 * request the heaters, firmware retraction and a fault module whose halts
 * go to the toolhead for real). Built here once so that the tests differ
 * only in what they check. */
#ifndef MOTION_RIG_H
#define MOTION_RIG_H

#include <stdint.h>

#include "core/error.h"      /* struct fs_error */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_printer.h"     /* struct sim_host, struct sim_printer */

/* A cartesian printer on one MCU with an unheated extruder (its section
 * last, so that a test can append extruder options). The rails are kept
 * short so that a homing pass that never triggers ends after a few
 * simulated seconds. */
#define MOTION_RIG_CARTESIAN_CFG \
    "[printer]\n" \
    "kinematics: cartesian\n" \
    "max_velocity: 300\n" \
    "max_accel: 3000\n" \
    "max_z_velocity: 15\n" \
    "max_z_accel: 100\n" \
    "[mcu]\n" \
    "serial: /dev/null\n" \
    "[stepper_x]\n" \
    "step_pin: PB0\ndir_pin: PB1\nenable_pin: !PB2\nendstop_pin: ^PB3\n" \
    "microsteps: 16\nrotation_distance: 40\n" \
    "position_endstop: 0\nposition_max: 120\nhoming_speed: 50\nsecond_homing_speed: 10\n" \
    "[stepper_y]\n" \
    "step_pin: PB4\ndir_pin: !PB5\nenable_pin: !PB6\nendstop_pin: ^PB7\n" \
    "microsteps: 16\nrotation_distance: 40\n" \
    "position_endstop: 0\nposition_max: 120\nhoming_speed: 50\nsecond_homing_speed: 10\n" \
    "[stepper_z]\n" \
    "step_pin: PB8\ndir_pin: PB9\nenable_pin: !PB10\nendstop_pin: ^PB11\n" \
    "microsteps: 16\nrotation_distance: 8\n" \
    "position_endstop: 0\nposition_max: 50\nhoming_speed: 10\n" \
    "homing_retract_dist: 2\nsecond_homing_speed: 2\n" \
    "[extruder]\n" \
    "step_pin: PC2\ndir_pin: PC3\nenable_pin: !PC4\n" \
    "microsteps: 16\nrotation_distance: 33.5\n" \
    "nozzle_diameter: 0.4\nfilament_diameter: 1.75\n" \
    "max_extrude_only_distance: 100\n"

/* The extruder's heater, appended to the config above for the
 * cold-extrusion check. */
#define MOTION_RIG_HEATED_EXTRUDER_CFG \
    "heater_pin: PC5\nsensor_type: Generic 3950\nsensor_pin: PC6\n" \
    "control: watermark\nmin_temp: 0\nmax_temp: 280\nmin_extrude_temp: 170\n"

struct fs_config;

struct motion_rig {
    struct sim_host host;
    struct sim_printer sp;
    struct fs_config *cfg;
    struct fs_printer printer;
    /* The G-code output's newest line (M114 and the like). */
    char last_output[1024];
    /* MCU shutdowns, the newest one's reason. */
    int shutdowns;
    char shutdown_reason[128];
    /* What the fault module asked of the printer (with .faults only). */
    int pauses, halts, finished_halts;
    /* The error of the newest motion_rig_run. */
    struct fs_error err;
};

struct motion_rig_options {
    /* The printer.cfg text, or when NULL the file at cfg_path. */
    const char *cfg_text;
    const char *cfg_path;
    uint64_t seed;
    /* Build the heaters (for min_extrude_temp and the like). */
    int heaters;
    /* Build firmware retraction when the config has its section. */
    int firmware_retraction;
    /* Move-queue slots of the main MCU kept from the steppers, to try
     * them on a small move queue. */
    int reserved_slots;
    /* A fault module with the config's policy: halts stop the toolhead
     * for real, a pause is only counted. */
    int faults;
};

/* Builds, connects and configures; fails the test on any error. */
void motion_rig_build(struct motion_rig *r, const struct motion_rig_options *o);
void motion_rig_destroy(struct motion_rig *r);
/* Runs a line; returns its status, the error in r->err. */
int motion_rig_run(struct motion_rig *r, const char *line);
/* Runs a line that must succeed. */
void motion_rig_ok(struct motion_rig *r, const char *line);

#endif
