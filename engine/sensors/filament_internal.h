/* The insides of the filament sensors, shared by filament_sensors.c (the
 * collection, what happens on runout and insert, G-code, status, fan
 * tachometers), filament_switch.c and filament_motion.c. */
#ifndef FS_FILAMENT_INTERNAL_H
#define FS_FILAMENT_INTERNAL_H

#include <stdint.h> /* int64_t */

#include "core/reactor.h"     /* struct fs_timer */
#include "fault/fault.h"      /* FS_FAULT_NAME_MAX */
#include "mcu/mcu_buttons.h"  /* fs_mcu_buttons_fn */

struct fs_config_section;
struct fs_error;
struct fs_printer;

#define FS_FILAMENT_SENSORS_MAX 8
#define FS_FILAMENT_NAME_MAX 64
/* Extruder travel history of a motion sensor: (print time, travel) pairs a
 * tenth of a second apart, enough to span the toolhead's look-ahead. */
#define FS_FILAMENT_TRAVEL_SAMPLES 64
#define FS_FILAMENT_CHECK_S 0.1

struct fs_filament_sensor {
    struct fs_printer *printer;
    char name[FS_FILAMENT_NAME_MAX];        /* "runout" */
    char source_name[FS_FAULT_NAME_MAX];    /* "filament_switch_sensor runout" */
    struct fs_fault_source *source;
    struct fs_mcu_buttons *button;
    int enabled;
    int pause_on_runout;
    const char *runout_gcode, *insert_gcode; /* "" when none; owned by the config */
    double event_delay_s, pause_delay_s;
    int present;
    double last_event_time;
    struct fs_timer gcode_timer;
    const char *pending_gcode;
    const char *pending_source;

    /* Motion sensor. */
    int is_motion;
    double detection_length_mm;
    double step_dist_mm;
    double runout_travel_mm; /* travel at which no toggle since means a jam */
    int was_printing;
    struct fs_timer check;
    struct {
        double print_time, travel_mm;
    } travel[FS_FILAMENT_TRAVEL_SAMPLES];
    int travel_count, travel_head;
};

/* Options both kinds share, the switch on switch_pin (each change goes to
 * on_change with fsn) and the fault source. */
int fs_filament_sensor_init(struct fs_filament_sensor *fsn, struct fs_printer *p,
                            struct fs_config_section *s, fs_mcu_buttons_fn on_change,
                            struct fs_error *err);
void fs_filament_sensor_fini(struct fs_filament_sensor *fsn);
/* The sensor's new reading: runout (while printing) or insert (otherwise)
 * when it changed. */
void fs_filament_sensor_note_present(struct fs_filament_sensor *fsn, double eventtime,
                                     int present);
int fs_filament_sensor_is_printing(const struct fs_filament_sensor *fsn);

/* filament_switch.c / filament_motion.c */
int fs_filament_switch_init(struct fs_filament_sensor *fsn, struct fs_printer *p,
                            struct fs_config_section *s, struct fs_error *err);
int fs_filament_motion_init(struct fs_filament_sensor *fsn, struct fs_printer *p,
                            struct fs_config_section *s, struct fs_error *err);
/* After SET_FILAMENT_SENSOR ENABLE=1: detection starts from here. */
void fs_filament_motion_restart(struct fs_filament_sensor *fsn);

#endif
