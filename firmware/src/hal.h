/* What a port (sim, linux, a real MCU) provides to the firmware core: time,
 * the console link, pins and the instance being run.
 *
 * Pin numbers are the values of the `pin` enumeration the port declares.
 * Setup functions shut down with "Invalid pin" (or similar) on a pin the
 * port lacks. */
#ifndef FW_HAL_H
#define FW_HAL_H

#include <stdint.h> /* uint32_t */

struct fw_instance;

/* The instance whose state the core is operating on. A port running one MCU
 * has one; the simulator switches it before each call into the core. */
struct fw_instance *hal_instance(void);

uint32_t hal_timer_read_time(void);
/* The earliest timer changed: the port re-arms its wake-up. */
void hal_timer_kick(void);

/* One framed block (5..64 bytes) to the host. */
void hal_console_send(const uint8_t *block, uint32_t len);

/* The `reset` command: restart the MCU as if power-cycled. */
void hal_reset(void);

struct hal_gpio_out { uint32_t pin; };
struct hal_gpio_out hal_gpio_out_setup(uint32_t pin, uint32_t value);
void hal_gpio_out_write(struct hal_gpio_out g, uint32_t value);
void hal_gpio_out_toggle(struct hal_gpio_out g);

struct hal_gpio_in { uint32_t pin; };
struct hal_gpio_in hal_gpio_in_setup(uint32_t pin, int32_t pull_up);
uint8_t hal_gpio_in_read(struct hal_gpio_in g);

/* ADC: hal_gpio_adc_sample starts or polls a conversion, returning 0 when a
 * value is ready to read, else the ticks to wait before polling again. */
struct hal_gpio_adc { uint32_t pin; };
struct hal_gpio_adc hal_gpio_adc_setup(uint32_t pin);
uint32_t hal_gpio_adc_sample(struct hal_gpio_adc g);
uint16_t hal_gpio_adc_read(struct hal_gpio_adc g);
void hal_gpio_adc_cancel_sample(struct hal_gpio_adc g);

struct hal_gpio_pwm { uint32_t pin; };
struct hal_gpio_pwm hal_gpio_pwm_setup(uint32_t pin, uint32_t cycle_ticks, uint32_t value);
void hal_gpio_pwm_write(struct hal_gpio_pwm g, uint32_t value);

#endif
