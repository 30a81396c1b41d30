/* Private to the linux port: the MCU's state and the port's one global,
 * the MCU the core is running on. */
#ifndef FW_LINUX_PORT_H
#define FW_LINUX_PORT_H

#include <stdint.h> /* uint64_t, uint32_t, uint8_t */

#include "fw_linux.h" /* struct fw_linux_wiring, FW_LINUX_PIN_COUNT */
#include "instance.h" /* struct fw_instance */

enum fw_linux_pin_mode {
    FW_LINUX_PIN_UNUSED,
    FW_LINUX_PIN_OUT,
    FW_LINUX_PIN_IN,
    FW_LINUX_PIN_ADC,
    FW_LINUX_PIN_PWM,
};

struct fw_linux_mcu {
    struct fw_instance inst;
    struct fw_linux_wiring wiring;
    uint64_t clock;
    uint8_t powered;
    uint8_t reset_pending; /* `reset` ran: power-cycle once out of the core */
    uint32_t restarts;
    uint8_t pin_mode[FW_LINUX_PIN_COUNT];
    uint8_t pin_pull_up[FW_LINUX_PIN_COUNT];
    uint32_t pin_level[FW_LINUX_PIN_COUNT]; /* level, or PWM duty */
};

/* The MCU the core is running on. */
struct fw_linux_mcu *fw_linux_current(void);

/* Every pin low and unconfigured, telling the wiring about those that
 * change. */
void fw_linux_pins_power_on(struct fw_linux_mcu *m);

#endif
