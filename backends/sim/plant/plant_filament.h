/* The filament path of one extruder: a spool whose filament the extruder's
 * gear pushes, a runout switch the filament holds pressed, and a motion
 * sensor whose output toggles as the filament moves through it.
 *
 * The filament follows the gear (the motor position, in mm of filament)
 * unless it is jammed (it stops although the motor turns) or gone (its
 * tail has passed the sensors: the switch is released and the motion
 * sensor stops toggling). The model is advanced to a motor position
 * whenever a sensor is read or a fault is injected, so it costs nothing
 * between reads. */
#ifndef PLANT_FILAMENT_H
#define PLANT_FILAMENT_H

struct plant_filament_params {
    double toggle_mm; /* filament per level change of the motion sensor */
};

/* A level change every 2.88 mm (a 7 mm detection_length sees two or three). */
void plant_filament_params_default(struct plant_filament_params *p);

struct plant_filament {
    struct plant_filament_params params;
    double motor_mm;    /* motor position at the last update */
    double fed_mm;      /* filament moved through the sensors so far */
    double tail_mm;     /* fed_mm at which the tail passes the sensors */
    int jammed;
    int gone;
};

void plant_filament_init(struct plant_filament *f, const struct plant_filament_params *p,
                         double motor_mm);
/* Brings the filament up to this motor position. */
void plant_filament_update(struct plant_filament *f, double motor_mm);
/* The runout switch: 1 while filament is in it. */
int plant_filament_present(const struct plant_filament *f);
/* The motion sensor's output level. */
int plant_filament_motion_level(const struct plant_filament *f);

/* Faults, at the given motor position. The spool ends after_mm more of
 * feeding (0: now). */
void plant_filament_run_out(struct plant_filament *f, double motor_mm, double after_mm);
void plant_filament_set_jammed(struct plant_filament *f, double motor_mm, int jammed);
/* New filament loaded: present, moving, endless. */
void plant_filament_reload(struct plant_filament *f, double motor_mm);

#endif
