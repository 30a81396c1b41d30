/* The linux port's pins: outputs and PWM report their changes to the
 * wiring (the plant models in the program), inputs and ADC channels ask it
 * for a level at the current clock. Nothing here touches real hardware. */
#include "fw_linux_port.h" /* struct fw_linux_mcu, fw_linux_current */
#include "hal.h"           /* the GPIO part of the HAL, implemented here */
#include "sched.h"         /* fw_shutdown */

static struct fw_linux_mcu *pin_setup(uint32_t pin, enum fw_linux_pin_mode mode)
{
    if (pin >= FW_LINUX_PIN_COUNT)
        fw_shutdown("Invalid pin");
    struct fw_linux_mcu *m = fw_linux_current();
    m->pin_mode[pin] = (uint8_t)mode;
    return m;
}

/* The plant hears about real changes, and about every pin that becomes an
 * output: before that it floated, and a driver's enable input with its
 * pull-up reads a floating pin as high, whatever level we last stored. */
static void drive_level(struct fw_linux_mcu *m, uint32_t pin, uint32_t value, int setup)
{
    if (pin >= FW_LINUX_PIN_COUNT || (m->pin_level[pin] == value && !setup))
        return;
    m->pin_level[pin] = value;
    if (m->pin_mode[pin] == FW_LINUX_PIN_PWM) {
        if (m->wiring.pwm_changed)
            m->wiring.pwm_changed(m->wiring.ctx, pin, value, m->clock);
    } else if (m->wiring.output_changed) {
        m->wiring.output_changed(m->wiring.ctx, pin, value, m->clock);
    }
}

static void set_level(struct fw_linux_mcu *m, uint32_t pin, uint32_t value)
{
    drive_level(m, pin, value, 0);
}

void fw_linux_pins_power_on(struct fw_linux_mcu *m)
{
    for (uint32_t pin = 0; pin < FW_LINUX_PIN_COUNT; pin++) {
        m->pin_mode[pin] = FW_LINUX_PIN_UNUSED;
        set_level(m, pin, 0);
        m->pin_pull_up[pin] = 0;
    }
}

struct hal_gpio_out hal_gpio_out_setup(uint32_t pin, uint32_t value)
{
    struct fw_linux_mcu *m = pin_setup(pin, FW_LINUX_PIN_OUT);
    drive_level(m, pin, !!value, 1);
    return (struct hal_gpio_out){pin};
}

void hal_gpio_out_write(struct hal_gpio_out g, uint32_t value)
{
    set_level(fw_linux_current(), g.pin, !!value);
}

void hal_gpio_out_toggle(struct hal_gpio_out g)
{
    struct fw_linux_mcu *m = fw_linux_current();
    if (g.pin < FW_LINUX_PIN_COUNT)
        set_level(m, g.pin, !m->pin_level[g.pin]);
}

struct hal_gpio_in hal_gpio_in_setup(uint32_t pin, int32_t pull_up)
{
    struct fw_linux_mcu *m = pin_setup(pin, FW_LINUX_PIN_IN);
    m->pin_pull_up[pin] = pull_up > 0;
    return (struct hal_gpio_in){pin};
}

uint8_t hal_gpio_in_read(struct hal_gpio_in g)
{
    struct fw_linux_mcu *m = fw_linux_current();
    if (g.pin >= FW_LINUX_PIN_COUNT)
        return 0;
    int level = m->wiring.read_input ? m->wiring.read_input(m->wiring.ctx, g.pin, m->clock)
                                     : -1;
    /* Undriven, an input reads as its pull resistor leaves it. */
    if (level < 0)
        return m->pin_pull_up[g.pin];
    return level ? 1 : 0;
}

struct hal_gpio_adc hal_gpio_adc_setup(uint32_t pin)
{
    pin_setup(pin, FW_LINUX_PIN_ADC);
    return (struct hal_gpio_adc){pin};
}

uint32_t hal_gpio_adc_sample(struct hal_gpio_adc g)
{
    /* Conversions are instantaneous: the value is computed on read. */
    return 0;
}

uint16_t hal_gpio_adc_read(struct hal_gpio_adc g)
{
    struct fw_linux_mcu *m = fw_linux_current();
    if (g.pin >= FW_LINUX_PIN_COUNT || !m->wiring.read_adc)
        return 0;
    uint16_t v = m->wiring.read_adc(m->wiring.ctx, g.pin, m->clock);
    return v > FW_LINUX_ADC_MAX ? FW_LINUX_ADC_MAX : v;
}

void hal_gpio_adc_cancel_sample(struct hal_gpio_adc g)
{
}

struct hal_gpio_pwm hal_gpio_pwm_setup(uint32_t pin, uint32_t cycle_ticks, uint32_t value)
{
    struct fw_linux_mcu *m = pin_setup(pin, FW_LINUX_PIN_PWM);
    drive_level(m, pin, value > FW_LINUX_PWM_MAX ? FW_LINUX_PWM_MAX : value, 1);
    return (struct hal_gpio_pwm){pin};
}

void hal_gpio_pwm_write(struct hal_gpio_pwm g, uint32_t value)
{
    set_level(fw_linux_current(), g.pin, value > FW_LINUX_PWM_MAX ? FW_LINUX_PWM_MAX : value);
}
