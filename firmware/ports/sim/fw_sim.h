/* The firmware built for the simulator: any number of MCU instances in one
 * process, each with its own state, its clock driven by the simulator's
 * virtual time and its pins wired to the plant through callbacks.
 *
 * Clocks here are 64-bit MCU ticks (the firmware itself sees the low 32
 * bits). The simulator decides how virtual time maps to each MCU's clock
 * (nominal CLOCK_FREQ plus a crystal error); the port only ever sees ticks. */
#ifndef FW_SIM_H
#define FW_SIM_H

#include <stdint.h> /* uint64_t */

struct fw_sim_mcu;

struct fw_sim_wiring {
    void *ctx;
    /* A digital output changed (heater, step, dir, enable...). */
    void (*output_changed)(void *ctx, uint32_t pin, uint32_t value, uint64_t clock);
    /* A hardware PWM duty changed, 0..PWM_MAX. */
    void (*pwm_changed)(void *ctx, uint32_t pin, uint32_t value, uint64_t clock);
    /* Level of a digital input (endstop...) at this clock. */
    uint8_t (*read_input)(void *ctx, uint32_t pin, uint64_t clock);
    /* One ADC conversion, 0..ADC_MAX, at this clock. */
    uint16_t (*read_adc)(void *ctx, uint32_t pin, uint64_t clock);
    /* One framed block from the MCU to the host. */
    void (*console_send)(void *ctx, const uint8_t *block, uint32_t len, uint64_t clock);
    /* The firmware restarted itself (`reset`); outputs are at power-on
     * levels again. May be NULL. */
    void (*restarted)(void *ctx, uint64_t clock);
};

struct fw_sim_mcu *fw_sim_mcu_new(const struct fw_sim_wiring *wiring);
void fw_sim_mcu_free(struct fw_sim_mcu *m);

/* Power on (or power-cycle) at the given clock: state cleared, init hooks
 * run, outputs at power-on levels. */
void fw_sim_mcu_power_on(struct fw_sim_mcu *m, uint64_t clock);

/* Bytes from the host arrive at this clock; they are parsed, acked and
 * dispatched before the call returns. */
void fw_sim_mcu_receive(struct fw_sim_mcu *m, uint64_t clock, const uint8_t *data,
                        uint32_t len);

/* Runs every timer due at or before this clock, then the tasks. */
void fw_sim_mcu_run(struct fw_sim_mcu *m, uint64_t clock);

/* The clock of the next timer; returns 0 when no timer is armed. */
int fw_sim_mcu_next_wake(const struct fw_sim_mcu *m, uint64_t *clock);

int fw_sim_mcu_is_shutdown(const struct fw_sim_mcu *m);

/* The nominal clock frequency and pin numbers of the sim firmware, as its
 * data dictionary declares them. */
uint32_t fw_sim_clock_freq(void);
/* Returns the pin number for a name such as "PA3", or -1. */
int32_t fw_sim_pin_by_name(const char *name);

#endif
