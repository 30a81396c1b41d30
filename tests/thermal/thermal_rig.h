/* A small simulated printer for the thermal tests: one MCU running the real
 * firmware, a hotend (40 W, 10 J/K) and a bed (200 W, 350 J/K) each with a
 * 100k/3950 thermistor on a 4.7k pull-up, and a part fan blowing on the
 * hotend — the same physics the simulated printer gives a printer.cfg —
 * with the engine's heaters built from parameter structs, registered as
 * fault sources with a fault module of the failsoft profile whose printer
 * actions only count what they were asked to do. */
#ifndef THERMAL_RIG_H
#define THERMAL_RIG_H

#include "fault/fault.h"     /* struct fs_faults, enum fs_fault_kind */
#include "sim_host.h"        /* struct sim_host */
#include "thermal/heaters.h" /* struct fs_heaters */

struct fs_gcode;

#define RIG_HOTEND_HEATER_PIN "PA1"
#define RIG_HOTEND_SENSOR_PIN "PA2"
#define RIG_BED_HEATER_PIN "PA3"
#define RIG_BED_SENSOR_PIN "PA4"
#define RIG_FAN_PIN "PA5"

/* A copy of one of the fault module's records (glitches included). */
struct rig_fault {
    char heater[64];
    enum fs_fault_kind kind;
    char reason[256];
    double time;
    enum fs_fault_action action;
};

struct thermal_rig {
    struct sim_host host;
    struct fs_mcu *mcu, *hotend_mcu;
    struct fs_heaters *heaters;
    struct fs_heater *extruder, *bed;
    struct fs_fan *fan;
    struct fs_gcode *gcode;
    int hotend_id, bed_id;
    struct fs_faults *fault_module;
    /* The records, refreshed by rig_run. */
    struct rig_fault faults[8];
    int fault_count;
    int mcu_shutdowns;
    /* What the fault module asked of the printer. */
    int shutdowns, heaters_off_calls;
    double first_mcu_shutdown_time; /* host time, 0: none */
    char responses[64][256];
    int response_count;
};

struct rig_options {
    enum fs_heater_control bed_control;
    int fan_hardware_pwm, fan_invert;
    /* The hotend on a second MCU, toolboard, whose crystal runs 110 ppm
     * slow: its clock is mapped onto the main MCU's print time. */
    int hotend_on_toolboard;
    double fan_max_power, fan_off_below, fan_kick_start_s;
    /* The heaters use the firmware's guard (1) or not, as on the
     * reference firmware (0). */
    int use_guard;
};
void rig_options_default(struct rig_options *o);

/* Builds, connects and configures; fails the test on any error. */
void rig_build(struct thermal_rig *r, uint64_t seed, const struct rig_options *o);
void rig_free(struct thermal_rig *r);
void rig_run(struct thermal_rig *r, double seconds);
/* Copies the fault module's records into r->faults / r->fault_count. */
void rig_sync_faults(struct thermal_rig *r);
/* How many records of kind (any source). */
int rig_count_kind(struct thermal_rig *r, enum fs_fault_kind kind);
/* Runs a G-code line; returns its status, err filled on failure. */
int rig_gcode(struct thermal_rig *r, const char *line, struct fs_error *err);
double rig_plant_c(struct thermal_rig *r, int heater_id);
double rig_reading_c(const struct fs_heater *h);
void rig_set_target(struct thermal_rig *r, struct fs_heater *h, double target_c);

/* Runs `seconds` and returns the largest |plant - target| and
 * |reading - target| seen, sampled every 0.5 s. */
double rig_hold_error(struct thermal_rig *r, struct fs_heater *h, int heater_id,
                      double target_c, double seconds);

#endif
