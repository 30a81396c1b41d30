/* The simulated printer: MCUs running the real firmware (the sim port), the
 * wires between them and the host, and the physics on their pins, all driven
 * by one discrete-event loop in virtual time (int64 nanoseconds).
 *
 * The engine sees this world only through the interfaces it would see on a
 * real machine: one fs_transport per MCU, and the fs_reactor_backend whose
 * wait() advances virtual time. Without an engine the world runs on its own
 * with sim_world_run_until().
 *
 * Every run is deterministic: events at the same nanosecond run in the order
 * they were queued, random faults come from generators seeded from the world
 * seed, and a trace (optional) hashes every line it writes so two runs can be
 * compared with one number.
 *
 * Objects are fixed-size and owned by the world; ids returned by the add
 * functions are small integers valid for the world's lifetime. */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdint.h> /* int64_t, uint64_t */
#include <stdio.h>  /* FILE */

#include "core/reactor.h"   /* struct fs_reactor, fs_reactor_backend */
#include "core/transport.h" /* struct fs_transport */
#include "plant_axis.h"       /* struct plant_axis, plant_axis_params */
#include "plant_heater.h"     /* struct plant_heater, plant_heater_params */
#include "plant_thermistor.h" /* struct plant_thermistor, plant_thermistor_params */
#include "sim_wire.h"         /* struct sim_wire_stats */

struct fs_error;
struct sim_world;

#define SIM_WORLD_MCUS_MAX 8
#define SIM_WORLD_HEATERS_MAX 16
#define SIM_WORLD_AXES_MAX 16
#define SIM_WORLD_SWITCHES_MAX 16
#define SIM_SWITCH_AXES_MAX 3
#define SIM_WORLD_DEVICE_PINS_MAX 64
#define SIM_MCU_NAME_MAX 32
#define SIM_MCU_PINS_MAX 256

struct sim_mcu_options {
    int64_t clock_error_ppb; /* crystal error; 1 ppm = 1000 ppb, |err| < 10 % */
    int64_t power_on_ns;     /* delay from sim_world_add_mcu to power-on */
    uint32_t baud;           /* both directions of its wire */
    uint32_t pwm_max;        /* full scale of hardware PWM values */
};

/* Exact crystal, powered on at once, 250000 baud, PWM_MAX 255. */
void sim_mcu_options_default(struct sim_mcu_options *o);

enum sim_wire_direction {
    SIM_WIRE_TO_MCU = 0,
    SIM_WIRE_TO_HOST = 1,
};

struct sim_axis_pins {
    const char *step, *dir;
    const char *enable;  /* NULL: no enable pin */
    const char *endstop; /* NULL: no endstop input */
};

struct sim_world_stats {
    int64_t now_ns;
    uint64_t events;          /* world events processed */
    uint64_t mcu_wakes;       /* firmware timer runs */
    uint64_t wire_deliveries; /* runs of bytes delivered */
    uint64_t engine_wakes;    /* batches of engine timers run */
};

struct sim_world *sim_world_new(uint64_t seed, struct fs_error *err);
void sim_world_free(struct sim_world *w);

/* Adds an MCU running the sim firmware; it powers on after opt->power_on_ns
 * (opt may be NULL for the defaults). */
int sim_world_add_mcu(struct sim_world *w, const char *name,
                      const struct sim_mcu_options *opt, struct fs_error *err);
/* The host's end of the MCU's wire, or NULL for an unknown name. */
struct fs_transport *sim_world_transport(struct sim_world *w, const char *mcu);

/* Pins are named as the sim firmware names them ("PA3") or by number ("12").
 * Each returns the new object's id, or -1 with err filled. */
int sim_world_add_heater(struct sim_world *w, const char *mcu, const char *heater_pin,
                         const char *sensor_pin, const struct plant_heater_params *hp,
                         const struct plant_thermistor_params *tp, struct fs_error *err);
/* A fan on a pin that cools the given heater. */
int sim_world_add_fan(struct sim_world *w, const char *mcu, const char *pin,
                      int heater_id, struct fs_error *err);
int sim_world_add_axis(struct sim_world *w, const char *mcu,
                       const struct sim_axis_pins *pins,
                       const struct plant_axis_params *ap, struct fs_error *err);
/* A limit switch on a carriage whose position is a linear combination of
 * motor positions: sum(coef[i] * position_mm(axis[i])). A corexy X carriage
 * is 0.5 * (A + B); a cartesian one is its own axis with coef 1. The switch
 * may sit on another MCU than the motors. It is pressed at or beyond
 * position_mm (towards the min side when at_max is 0). */
struct sim_switch_spec {
    int axis_count;
    int axis[SIM_SWITCH_AXES_MAX];
    double coef[SIM_SWITCH_AXES_MAX];
    double position_mm;
    int at_max;
    uint8_t pressed_level;
};
int sim_world_add_switch(struct sim_world *w, const char *mcu, const char *pin,
                         const struct sim_switch_spec *spec, struct fs_error *err);
/* The carriage position a switch sees, in mm. */
double sim_world_switch_position_mm(struct sim_world *w, int switch_id);
/* Fault hook: the switch is broken and always reads released. */
int sim_world_switch_set_stuck_open(struct sim_world *w, int switch_id, int stuck);

/* A device model on an MCU pin (a filament switch, a fan's tachometer, a
 * stepper driver's UART): the world tells it every level the firmware
 * drives on the pin and asks it the level whenever the firmware reads the
 * pin, so a device whose output is a function of time (a tachometer's
 * pulses, a UART reply) costs no events. pin_index tells a device with
 * several pins which one is meant. Either op may be NULL. */
struct sim_pin_device_ops {
    void (*output)(void *arg, int pin_index, uint8_t level, int64_t t_ns);
    uint8_t (*input)(void *arg, int pin_index, int64_t t_ns);
};
int sim_world_add_pin_device(struct sim_world *w, const char *mcu, const char *pin,
                             int pin_index, const struct sim_pin_device_ops *ops, void *arg,
                             struct fs_error *err);

/* Models kept by the world (a device model's state): obj is freed with
 * free_fn when the world is, after its MCUs, and found again by name. */
#define SIM_WORLD_ATTACHED_MAX 8
#define SIM_ATTACHED_NAME_MAX 32
int sim_world_attach(struct sim_world *w, const char *name, void *obj,
                     void (*free_fn)(void *obj), struct fs_error *err);
/* The object attached under name, or NULL. */
void *sim_world_attached(struct sim_world *w, const char *name);

/* Sets the level an unattached input pin reads (a switch, a sensor). */
int sim_world_set_input(struct sim_world *w, const char *mcu, const char *pin,
                        uint8_t level, struct fs_error *err);

/* The plant objects, for queries and fault hooks (NULL for a bad id). The
 * heater's temperature is brought up to the current time first. */
struct plant_heater *sim_world_heater(struct sim_world *w, int heater_id);
struct plant_thermistor *sim_world_thermistor(struct sim_world *w, int heater_id);
struct plant_axis *sim_world_axis(struct sim_world *w, int axis_id);
double sim_world_heater_temp_c(struct sim_world *w, int heater_id);
/* The heater pin's output: its level (0/1) or hardware PWM duty (0..1). */
double sim_world_heater_drive(struct sim_world *w, int heater_id);
int64_t sim_world_axis_position_steps(struct sim_world *w, int axis_id);
double sim_world_axis_position_mm(struct sim_world *w, int axis_id);
uint64_t sim_world_axis_step_count(struct sim_world *w, int axis_id);
/* The level an output pin was last driven to (PWM: value > 0), or -1. */
int sim_world_pin_level(struct sim_world *w, const char *mcu, const char *pin);

/* The engine side: the backend to build the engine's reactor with, then the
 * reactor itself so the world can run its timers. */
struct fs_reactor_backend sim_world_reactor_backend(struct sim_world *w);
void sim_world_attach_reactor(struct sim_world *w, struct fs_reactor *r);

/* Runs every event up to and including t_ns (engine timers too, when a
 * reactor is attached); afterwards the world's time is t_ns. Returns -1 when
 * the world failed (event queue full). */
int sim_world_run_until(struct sim_world *w, int64_t t_ns, struct fs_error *err);
int64_t sim_world_now_ns(const struct sim_world *w);

/* The MCU's clock now, and whether its firmware is shut down. */
uint64_t sim_world_mcu_clock(struct sim_world *w, const char *mcu);
int sim_world_mcu_is_shutdown(struct sim_world *w, const char *mcu);
/* Power: off drops its outputs to 0 (the plant sees that) and loses bytes
 * sent to it; on starts it afresh with its clock at 0 again. */
int sim_world_mcu_power_off(struct sim_world *w, const char *mcu, struct fs_error *err);
int sim_world_mcu_power_on(struct sim_world *w, const char *mcu, struct fs_error *err);
/* Off now, on again off_ns later (as if its supply dropped out). */
int sim_world_mcu_power_cycle(struct sim_world *w, const char *mcu, int64_t off_ns,
                              struct fs_error *err);

/* Link fault hooks, per direction of one MCU's wire. */
int sim_world_wire_set_cut(struct sim_world *w, const char *mcu,
                           enum sim_wire_direction dir, int cut);
int sim_world_wire_set_drop(struct sim_world *w, const char *mcu,
                            enum sim_wire_direction dir, double probability);
int sim_world_wire_set_corrupt(struct sim_world *w, const char *mcu,
                               enum sim_wire_direction dir, double probability);
const struct sim_wire_stats *sim_world_wire_stats(struct sim_world *w, const char *mcu,
                                                  enum sim_wire_direction dir);

/* Trace: wire bytes, pin changes and heater temperatures once a second, to
 * out (may be NULL: hash only). Starting resets the hash. */
void sim_world_trace_start(struct sim_world *w, FILE *out);
void sim_world_trace_stop(struct sim_world *w);
uint64_t sim_world_trace_hash(const struct sim_world *w);

void sim_world_get_stats(const struct sim_world *w, struct sim_world_stats *out);

#endif
