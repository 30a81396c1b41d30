/* Fault injection in the simulated printer: thermistors, heater cartridges
 * and MCUs (their firmware and their wires) fail on purpose, so tests and
 * scenario files can check what the firmware and the engine make of it.
 *
 * Two ways to drive it, with the same descriptions:
 *  - now: sim_inject_thermistor / sim_inject_heater / sim_inject_mcu apply a
 *    fault at the world's current time (a test calls them between
 *    sim_world_run_until steps);
 *  - scheduled: sim_inject_at(w, t_ns, &injection) applies it at t_ns on the
 *    world's own event queue, in the middle of a run. A scenario line maps
 *    onto one call: "at 120 s: thermistor extruder open for 0.3 s" is
 *      struct sim_injection i = {.target = SIM_INJECT_THERMISTOR,
 *          .heater_id = extruder,
 *          .thermistor = {.kind = SIM_THERMISTOR_OPEN,
 *                         .duration_ns = 300000000}};
 *      sim_inject_at(w, 120000000000, &i, &err);
 *
 * Every fault has a duration: > 0 ends it that long after it starts (on
 * the event queue, so it ends exactly then even in the middle of a run);
 * 0 keeps it until it is ended: sim_inject_*_end() for one kind, or the
 * kind SIM_*_HEALTHY / SIM_MCU_LINK_HEALTHY, which ends every fault of that
 * target (now or scheduled). Injecting a kind that is already active
 * replaces it; its earlier end time no longer applies. Faults of different
 * kinds on one target combine (a loose sensor can be noisy too).
 *
 * Determinism: everything happens at world times, in queue order. Random
 * faults draw from generators derived from the world seed and the target
 * (one per thermistor; the wire's own per-direction generators for byte
 * loss and corruption), so one seed gives one run and another seed a
 * different one. Every start and end writes a trace line
 * ("inject <target> <kind> on ..." / "... off"), and so does every change
 * of an intermittent sensor between its sound and broken states.
 *
 * Cost: nothing is hooked while a target has no fault. A healthy world
 * pays a pointer test per ADC conversion and two flag tests per heater
 * update, and nothing per event (the event loop tells MCU events from the
 * world's own with the one comparison it always made). */
#ifndef SIM_INJECT_H
#define SIM_INJECT_H

#include <stdint.h> /* int64_t */

#include "plant_heater.h" /* struct plant_probe_params */
#include "sim_world.h"    /* struct sim_world, SIM_MCU_NAME_MAX */

struct fs_error;

/* ---- thermistors (the sensor of heater heater_id) ---- */

enum sim_thermistor_fault_kind {
    SIM_THERMISTOR_HEALTHY = 0, /* ends every thermistor fault of the heater,
                                   an open/short set by hand on the plant too */
    SIM_THERMISTOR_OPEN,        /* reads the ADC's full scale (broken wire) */
    SIM_THERMISTOR_SHORT,       /* reads 0 (shorted leads) */
    SIM_THERMISTOR_INTERMITTENT, /* open (or short) in bursts, see below */
    SIM_THERMISTOR_NOISY,       /* random noise on the temperature it reads */
    SIM_THERMISTOR_STUCK,       /* reads one fixed temperature */
    SIM_THERMISTOR_DETACHED,    /* came loose from the block */
    SIM_THERMISTOR_KINDS
};

enum sim_noise_shape {
    SIM_NOISE_GAUSSIAN = 0, /* amplitude_c is the standard deviation */
    SIM_NOISE_UNIFORM,      /* uniform in [-amplitude_c, +amplitude_c) */
};

struct sim_thermistor_fault {
    enum sim_thermistor_fault_kind kind;
    int64_t duration_ns; /* 0: until ended */
    /* INTERMITTENT: bursts of a broken reading, short when burst_short is
     * set, open otherwise. Periodic: broken for burst_on_ns, sound for
     * burst_off_ns, repeating, the first burst starting with the fault.
     * With while_axis_moves: broken at every conversion for which plant axis
     * axis_id has stepped since the previous conversion or within window_ns
     * before (a cable that breaks while the head moves); the axis is
     * watched at the conversions, which is what the firmware sees. */
    int burst_short;
    int64_t burst_on_ns, burst_off_ns;
    int while_axis_moves;
    int axis_id;
    int64_t window_ns;
    /* NOISY: added to the temperature of every conversion. */
    enum sim_noise_shape noise_shape;
    double amplitude_c;
    /* STUCK: reads stuck_c, or with stuck_at_current the temperature the
     * sensor read (without noise) at the moment it stuck. */
    double stuck_c;
    int stuck_at_current;
    /* DETACHED: the bead's own mass and what is left of its contact (see
     * plant_heater.h); all zero means plant_probe_params_default(). */
    struct plant_probe_params probe;
};

/* Applies f to the sensor of heater_id now. Returns 0, or -1 with err for
 * an unknown heater or axis, a negative duration, a burst without a
 * positive on and off time, a negative noise amplitude, or a bead without a
 * meaning. */
int sim_inject_thermistor(struct sim_world *w, int heater_id,
                          const struct sim_thermistor_fault *f, struct fs_error *err);
int sim_inject_thermistor_end(struct sim_world *w, int heater_id,
                              enum sim_thermistor_fault_kind kind, struct fs_error *err);

/* ---- heater cartridges and their switches ---- */

enum sim_heater_fault_kind {
    SIM_HEATER_HEALTHY = 0, /* ends every heater fault of the heater */
    SIM_HEATER_DEAD,        /* no heat at all whatever the drive */
    SIM_HEATER_WEAK,        /* power scaled, optionally decaying */
    SIM_HEATER_STUCK_ON,    /* welded MOSFET: full power whatever the pin */
    SIM_HEATER_DISCONNECTED, /* wires cut: plant_heater.disconnected */
    SIM_HEATER_KINDS
};

struct sim_heater_fault {
    enum sim_heater_fault_kind kind;
    int64_t duration_ns; /* 0: until ended */
    /* WEAK: the power is power_factor times the rated power from the start
     * of the fault; with decay_tau_s > 0 the factor then decays
     * exponentially towards final_factor with that time constant. */
    double power_factor;
    double final_factor;
    double decay_tau_s;
};

int sim_inject_heater(struct sim_world *w, int heater_id, const struct sim_heater_fault *f,
                      struct fs_error *err);
int sim_inject_heater_end(struct sim_world *w, int heater_id,
                          enum sim_heater_fault_kind kind, struct fs_error *err);

/* ---- MCUs and their wires ---- */

enum sim_mcu_fault_kind {
    SIM_MCU_LINK_HEALTHY = 0, /* ends every link fault of the MCU */
    SIM_MCU_LINK_CUT,  /* bytes vanish in the chosen directions */
    SIM_MCU_CORRUPT,   /* each byte has one bit flipped with a probability */
    SIM_MCU_DROP,      /* each byte is lost with a probability */
    SIM_MCU_RESET,     /* the firmware restarts on its own, power stays on:
                          outputs at power-on levels, clock from 0, not
                          configured; instant, duration ignored */
    SIM_MCU_POWER_LOSS, /* its supply drops out for duration_ns (> 0) */
    SIM_MCU_KINDS
};

/* Which directions of the wire a link fault hits. */
enum sim_link_dirs {
    SIM_LINK_BOTH = 0,
    SIM_LINK_TO_MCU_ONLY,
    SIM_LINK_TO_HOST_ONLY,
};

struct sim_mcu_fault {
    enum sim_mcu_fault_kind kind;
    int64_t duration_ns; /* 0: until ended */
    enum sim_link_dirs dirs;
    double probability; /* CORRUPT, DROP: per byte, 0..1 */
};

int sim_inject_mcu(struct sim_world *w, const char *mcu, const struct sim_mcu_fault *f,
                   struct fs_error *err);
int sim_inject_mcu_end(struct sim_world *w, const char *mcu, enum sim_mcu_fault_kind kind,
                       struct fs_error *err);

/* ---- scheduled ---- */

enum sim_inject_target {
    SIM_INJECT_THERMISTOR,
    SIM_INJECT_HEATER,
    SIM_INJECT_MCU,
};

struct sim_injection {
    enum sim_inject_target target;
    int heater_id;              /* THERMISTOR, HEATER */
    char mcu[SIM_MCU_NAME_MAX]; /* MCU */
    struct sim_thermistor_fault thermistor;
    struct sim_heater_fault heater;
    struct sim_mcu_fault mcu_fault;
};

/* Applies inj at t_ns (the current instant when t_ns is not in the future),
 * as the matching call above would. The description is checked now: a bad
 * one is refused here with err rather than failing mid-run. */
int sim_inject_at(struct sim_world *w, int64_t t_ns, const struct sim_injection *inj,
                  struct fs_error *err);
/* Applies inj now. */
int sim_inject(struct sim_world *w, const struct sim_injection *inj, struct fs_error *err);

/* What the sensor of heater_id reads now: one conversion exactly as the
 * firmware's would be at this instant (a noisy sensor draws its noise, an
 * intermittent one looks at its axis). For tests and tools. */
uint16_t sim_inject_sensor_adc(struct sim_world *w, int heater_id);

/* Names for traces and messages ("open", "stuck_on", "link_cut"...). */
const char *sim_thermistor_fault_name(enum sim_thermistor_fault_kind kind);
const char *sim_heater_fault_name(enum sim_heater_fault_kind kind);
const char *sim_mcu_fault_name(enum sim_mcu_fault_kind kind);

#endif
