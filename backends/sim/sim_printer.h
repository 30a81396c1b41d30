/* The physical printer a printer.cfg describes, built in the simulator: one
 * simulated MCU per [mcu] section, a plant motor per stepper (steps per mm
 * from rotation_distance, microsteps, gear ratio; direction and enable
 * polarity from the pins), limit switches on the carriages where the
 * endstops are (following the kinematics: corexy X sees (A + B) / 2), and a
 * heater block with its thermistor per heater.
 *
 * The configuration says nothing about physics, so heaters get plausible
 * defaults by kind (a 40 W hotend, a 200 W bed) and the carriages start at
 * a deterministic, unhomed position inside their travel. The sections are
 * only read here (values the engine validates itself); reading marks them
 * used, which is harmless since the engine reads the same ones. */
#ifndef SIM_PRINTER_H
#define SIM_PRINTER_H

#include "sim_host.h" /* struct sim_host */

struct fs_config;
struct fs_error;

#define SIM_PRINTER_MAX_STEPPERS 8
#define SIM_PRINTER_MAX_HEATERS 8

enum sim_printer_kinematics { SIM_KIN_CARTESIAN, SIM_KIN_COREXY };

struct sim_printer {
    enum sim_printer_kinematics kinematics;
    int stepper_count;
    struct {
        char name[32]; /* "stepper_x", "extruder" */
        int axis_id;
    } steppers[SIM_PRINTER_MAX_STEPPERS];
    int heater_count;
    struct {
        char name[48]; /* "extruder", "heater_bed", "heater_generic chamber" */
        int heater_id;
    } heaters[SIM_PRINTER_MAX_HEATERS];
    int switch_ids[3]; /* x, y, z carriage switches, -1 when none */
};

/* Adds the printer's MCUs and plant to h (before sim_host_connect). */
int sim_printer_build(struct sim_host *h, struct fs_config *cfg, struct sim_printer *out,
                      struct fs_error *err);

/* The toolhead's physical position (x, y, z, e in mm) from the motors. */
void sim_printer_position(const struct sim_printer *p, struct sim_world *w, double pos[4]);
/* Plant id of a stepper's motor or a heater by config name, or -1. */
int sim_printer_axis(const struct sim_printer *p, const char *stepper);
int sim_printer_heater(const struct sim_printer *p, const char *heater);

#endif
