/* Private to the sim port: one simulated MCU and the port's one global, the
 * MCU the core is currently running on. */
#ifndef FW_SIM_PORT_H
#define FW_SIM_PORT_H

#include <stdint.h> /* uint64_t */

#include "fw_sim.h"   /* struct fw_sim_wiring */
#include "instance.h" /* struct fw_instance */

#define FW_SIM_PIN_COUNT 64
#define FW_SIM_CLOCK_FREQ 50000000u
#define FW_SIM_ADC_MAX 4095
#define FW_SIM_PWM_MAX 255

enum fw_sim_pin_mode {
    FW_SIM_PIN_UNUSED,
    FW_SIM_PIN_OUT,
    FW_SIM_PIN_IN,
    FW_SIM_PIN_ADC,
    FW_SIM_PIN_PWM,
};

struct fw_sim_mcu {
    struct fw_instance inst;
    struct fw_sim_wiring wiring;
    uint64_t clock;
    uint8_t powered;
    uint8_t reset_pending; /* `reset` ran: power-cycle once back in the port */
    uint8_t pin_mode[FW_SIM_PIN_COUNT];
    uint8_t pin_pull_up[FW_SIM_PIN_COUNT];
    uint32_t pin_level[FW_SIM_PIN_COUNT]; /* level, or PWM duty */
};

/* The MCU the core is running on; set around every call into the core. */
struct fw_sim_mcu *fw_sim_current(void);

/* Power-on levels for every pin, telling the wiring about those that
 * change. */
void fw_sim_pins_power_on(struct fw_sim_mcu *m);

#endif
