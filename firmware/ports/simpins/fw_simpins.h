/* Simulated pins, shared by the ports whose pins are wired to models
 * instead of silicon (sim and linux): the pin state of one MCU, the GPIO
 * part of the HAL over it (simpins_gpio.c), and the pin names and ranges
 * both boards declare in their dictionaries (simpins_board.c). Sharing the
 * pins is what lets a printer configuration written for the simulator run
 * unchanged against `failsoft-mcu`.
 *
 * Each port keeps its own clock, console and instance handling; it gives
 * this module the pins of the MCU the core is running on through
 * fw_simpins_current(), and the clock through the pointer it passes to
 * fw_simpins_init(). */
#ifndef FW_SIMPINS_H
#define FW_SIMPINS_H

#include <stdint.h> /* uint64_t, uint32_t, uint16_t, uint8_t */

#define FW_SIMPINS_COUNT 64 /* PA0..PD15 */
#define FW_SIMPINS_ADC_MAX 4095
#define FW_SIMPINS_PWM_MAX 255

enum fw_simpins_mode {
    FW_SIMPINS_UNUSED,
    FW_SIMPINS_OUT,
    FW_SIMPINS_IN,
    FW_SIMPINS_ADC,
    FW_SIMPINS_PWM,
};

/* What the pins are wired to; any callback may be NULL. */
struct fw_simpins_wiring {
    void *ctx;
    /* A digital output changed level (heater, step, dir, enable...). */
    void (*output_changed)(void *ctx, uint32_t pin, uint32_t value, uint64_t clock);
    /* A hardware PWM duty changed, 0..FW_SIMPINS_PWM_MAX. */
    void (*pwm_changed)(void *ctx, uint32_t pin, uint32_t value, uint64_t clock);
    /* Level (0 or 1) of a digital input (endstop) at this clock, or -1
     * when nothing drives the pin: it then reads as its pull-up leaves it. */
    int (*read_input)(void *ctx, uint32_t pin, uint64_t clock);
    /* One ADC conversion, 0..FW_SIMPINS_ADC_MAX, at this clock. */
    uint16_t (*read_adc)(void *ctx, uint32_t pin, uint64_t clock);
};

struct fw_simpins {
    struct fw_simpins_wiring wiring;
    const uint64_t *clock; /* the owning MCU's clock, advanced by its port */
    uint8_t mode[FW_SIMPINS_COUNT];
    uint8_t pull_up[FW_SIMPINS_COUNT];
    uint32_t level[FW_SIMPINS_COUNT]; /* level, or PWM duty */
};

/* Binds the pins to their wiring (NULL: nothing wired) and to the clock of
 * the MCU that owns them, which must outlive them. */
void fw_simpins_init(struct fw_simpins *p, const struct fw_simpins_wiring *wiring,
                     const uint64_t *clock);

/* Every pin low and unconfigured, telling the wiring about those that
 * change. */
void fw_simpins_power_on(struct fw_simpins *p);

/* The pin number of a name such as "PA3" (PA0..PD15), or -1. */
int32_t fw_simpins_pin_by_name(const char *name);

/* Implemented by each port: the pins of the MCU the core is running on. */
struct fw_simpins *fw_simpins_current(void);

#endif
