/* The world's insides, shared by the files that make it up and by no one
 * else: sim_world.c (the event loop and the engine's backend), sim_mcu.c (an
 * MCU: firmware, clock, wire, power) and sim_pins.c (pins wired to the
 * plant). */
#ifndef SIM_WORLD_IMPL_H
#define SIM_WORLD_IMPL_H

#include "core/error.h" /* struct fs_error */
#include "fw_sim.h"     /* struct fw_sim_mcu */
#include "sim_clock.h"  /* struct sim_clock */
#include "sim_events.h" /* struct sim_events */
#include "sim_trace.h"  /* struct sim_trace */
#include "sim_wire.h"   /* struct sim_wire */
#include "sim_world.h"  /* the public API */

/* An MCU's events come first, before SIM_EV_TRACE_TICK: the loop tells them
 * from the world's own with one comparison. */
enum sim_event_kind {
    SIM_EV_POWER_ON,   /* target: mcu, arg: power generation */
    SIM_EV_MCU_WAKE,   /* target: mcu, arg: wake generation */
    SIM_EV_WIRE_TO_MCU,  /* target: mcu, arg: byte count */
    SIM_EV_WIRE_TO_HOST, /* target: mcu, arg: byte count */
    SIM_EV_TRACE_TICK, /* target: world, arg: trace generation */
    SIM_EV_INJECT,     /* target: world, arg: fault injection action (sim_inject.c) */
};

enum sim_pin_role {
    SIM_PIN_FREE = 0,
    SIM_PIN_HEATER,
    SIM_PIN_SENSOR,
    SIM_PIN_FAN,
    SIM_PIN_STEP,
    SIM_PIN_DIR,
    SIM_PIN_ENABLE,
    SIM_PIN_ENDSTOP,
    SIM_PIN_SWITCH, /* a carriage switch (struct sim_switch_obj) */
    SIM_PIN_DEVICE, /* a device model (struct sim_device_obj) */
};

struct sim_pin {
    uint8_t role;
    uint8_t level;       /* last output level (PWM: value > 0) */
    uint8_t input_level; /* what a free input reads */
    int16_t object;      /* heater or axis id */
};

struct sim_mcu {
    struct sim_world *world;
    int index;
    char name[SIM_MCU_NAME_MAX];
    struct sim_mcu_options options;
    struct sim_clock clock;
    struct fw_sim_mcu *fw;
    int powered;
    uint64_t power_gen;  /* invalidates a pending power-on */
    uint64_t wake_gen;   /* invalidates superseded wake events */
    int64_t wake_ns;     /* the pending wake, or -1 */
    struct sim_wire wire[2]; /* indexed by enum sim_wire_direction */
    struct fs_transport transport;
    struct sim_pin pins[SIM_MCU_PINS_MAX];
};

struct sim_heater_obj {
    struct plant_heater heater;
    struct plant_thermistor sensor;
    struct sim_mcu *mcu;
};

struct sim_axis_obj {
    struct plant_axis axis;
    struct sim_mcu *mcu;
};

struct sim_switch_obj {
    struct sim_switch_spec spec;
    int stuck_open;
};

struct sim_device_obj {
    struct sim_pin_device_ops ops;
    void *arg;
    uint8_t pin_index; /* which of the device's pins, passed to the ops */
};

struct sim_world {
    uint64_t seed;
    int64_t now_ns;
    struct sim_events events;
    struct fs_reactor *reactor;
    struct sim_trace trace;
    uint64_t trace_gen;
    struct sim_world_stats stats;
    int failed;
    struct fs_error error; /* why it failed */

    struct sim_mcu *mcus[SIM_WORLD_MCUS_MAX];
    int mcu_count;
    struct sim_heater_obj heaters[SIM_WORLD_HEATERS_MAX];
    int heater_count;
    struct sim_axis_obj axes[SIM_WORLD_AXES_MAX];
    int axis_count;
    struct sim_switch_obj switches[SIM_WORLD_SWITCHES_MAX];
    int switch_count;
    struct sim_device_obj devices[SIM_WORLD_DEVICE_PINS_MAX];
    int device_count;
    struct {
        char name[SIM_ATTACHED_NAME_MAX];
        void *obj;
        void (*free_fn)(void *obj);
    } attached[SIM_WORLD_ATTACHED_MAX];
    int attached_count;
    struct sim_inject_state *inject; /* NULL until the first fault injection */
};

/* sim_world.c */
void sim_world_schedule(struct sim_world *w, int64_t t_ns, enum sim_event_kind kind,
                        void *target, uint64_t arg);
struct sim_mcu *sim_world_find_mcu(struct sim_world *w, const char *name);
struct sim_mcu *sim_world_find_mcu_err(struct sim_world *w, const char *name,
                                       struct fs_error *err);

/* sim_mcu.c */
struct sim_mcu *sim_mcu_new(struct sim_world *w, int index, const char *name,
                            const struct sim_mcu_options *opt, struct fs_error *err);
void sim_mcu_free(struct sim_mcu *m);
void sim_mcu_handle_event(struct sim_mcu *m, const struct sim_event *ev);
void sim_mcu_power_off(struct sim_mcu *m);
void sim_mcu_power_on(struct sim_mcu *m);
/* The firmware restarts with power kept on (a watchdog or brown-out
 * reset): as power-on, but nothing is lost on the plant's side. */
void sim_mcu_reset(struct sim_mcu *m);
/* The virtual time of an MCU clock, kept within (-inf, now]. */
int64_t sim_mcu_time_of_clock(const struct sim_mcu *m, uint64_t clock);

/* sim_inject.c */
void sim_inject_handle_event(struct sim_world *w, const struct sim_event *ev);
void sim_inject_free_state(struct sim_world *w);

/* sim_pins.c */
int sim_pins_parse(const char *pin, uint32_t *out, struct fs_error *err);
void sim_pins_output(struct sim_mcu *m, uint32_t pin, uint32_t level, double fraction,
                     int64_t t_ns);
uint8_t sim_pins_read_input(struct sim_mcu *m, uint32_t pin);
uint16_t sim_pins_read_adc(struct sim_mcu *m, uint32_t pin, int64_t t_ns);
/* Power gone or firmware restarted: every output pin reads 0 again. */
void sim_pins_reset_outputs(struct sim_mcu *m, int64_t t_ns);

#endif
