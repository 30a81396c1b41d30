/* The simulated machine behind failsoft-mcu's pins: heaters with their
 * thermistors and stepper axes with their endstops, built from command-line
 * specs and driven by the firmware through the port's wiring callbacks.
 *
 * Spec syntax (also in `failsoft-mcu --help`):
 *   heater:  HEATER_PIN:SENSOR_PIN[,power_w=W][,capacity_j_per_k=C]
 *            [,loss_w_per_k=K][,ambient_c=T]
 *   axis:    step=PIN,dir=PIN[,enable=PIN][,endstop=PIN][,steps_per_mm=N]
 *            [,length_mm=L][,position_mm=X][,endstop_side=min|max]
 *            [,invert_dir=0|1]
 * An axis's endstop sits at 0 mm (min side) or at length_mm (max side) and
 * reads high while pressed; the axis starts at position_mm, by default in
 * the middle. Enable is active low. Plant time is the MCU clock converted to
 * nanoseconds, so the models follow the firmware's own time exactly. */
#ifndef MCU_PLANT_H
#define MCU_PLANT_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t, uint64_t */
#include <stdio.h>  /* FILE */

#include "fw_linux.h"        /* struct fw_linux_wiring, FW_SIMPINS_COUNT */
#include "plant_axis.h"      /* struct plant_axis */
#include "plant_heater.h"    /* struct plant_heater */
#include "plant_thermistor.h" /* struct plant_thermistor */

#define MCU_PLANT_HEATERS_MAX 8
#define MCU_PLANT_AXES_MAX 8
#define MCU_PLANT_SPEC_MAX 256 /* longest spec accepted */

struct mcu_plant_heater {
    struct plant_heater heater;
    struct plant_thermistor sensor;
    uint8_t heater_pin, sensor_pin;
};

struct mcu_plant_axis {
    struct plant_axis axis;
    double length_mm;
};

struct mcu_plant_pin {
    uint8_t role;   /* enum in mcu_plant.c; 0 = free */
    uint8_t object; /* index of the heater or axis */
};

struct mcu_plant {
    struct mcu_plant_heater heaters[MCU_PLANT_HEATERS_MAX];
    struct mcu_plant_axis axes[MCU_PLANT_AXES_MAX];
    int heater_count, axis_count;
    struct mcu_plant_pin pins[FW_SIMPINS_COUNT];
};

void mcu_plant_init(struct mcu_plant *p);

/* Add one object from its spec; -1 with a message in err (cap bytes) on a
 * bad spec, an unknown or already used pin, or too many objects. */
int mcu_plant_add_heater(struct mcu_plant *p, const char *spec, char *err, size_t cap);
int mcu_plant_add_axis(struct mcu_plant *p, const char *spec, char *err, size_t cap);

/* The callbacks for the port, except console_send, which the caller adds. */
struct fw_linux_wiring mcu_plant_wiring(struct mcu_plant *p);

/* One line per object: temperatures, drive, positions, endstops, at the
 * given MCU clock. */
void mcu_plant_print(struct mcu_plant *p, uint64_t clock, FILE *out);

/* MCU ticks to plant nanoseconds. */
int64_t mcu_plant_clock_to_ns(uint64_t clock);

#endif
