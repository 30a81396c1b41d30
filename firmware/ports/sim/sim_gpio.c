/* The sim port's pins: outputs and PWM report their changes to the wiring,
 * inputs and ADC channels ask the wiring for a level at the current clock. */
#include "hal.h"     /* the GPIO part of the HAL, implemented here */
#include "sched.h"   /* fw_shutdown */
#include "fw_sim_port.h" /* struct fw_sim_mcu, fw_sim_current */

static struct fw_sim_mcu *pin_setup(uint32_t pin, enum fw_sim_pin_mode mode)
{
    if (pin >= FW_SIM_PIN_COUNT)
        fw_shutdown("Invalid pin");
    struct fw_sim_mcu *m = fw_sim_current();
    m->pin_mode[pin] = (uint8_t)mode;
    return m;
}

static void report_level(struct fw_sim_mcu *m, uint32_t pin, uint32_t value)
{
    m->pin_level[pin] = value;
    if (m->pin_mode[pin] == FW_SIM_PIN_PWM) {
        if (m->wiring.pwm_changed)
            m->wiring.pwm_changed(m->wiring.ctx, pin, value, m->clock);
    } else if (m->wiring.output_changed) {
        m->wiring.output_changed(m->wiring.ctx, pin, value, m->clock);
    }
}

/* The plant only hears about real changes, so a re-written level costs
 * nothing in the simulation. */
static void set_level(struct fw_sim_mcu *m, uint32_t pin, uint32_t value)
{
    if (pin >= FW_SIM_PIN_COUNT || m->pin_level[pin] == value)
        return;
    report_level(m, pin, value);
}

/* A pin set up as an output goes from floating to driven even when its
 * level stays 0, and the plant must hear it: a driver's enable line with a
 * pull-up is disabled until the MCU drives it low. */
static void drive_level(struct fw_sim_mcu *m, uint32_t pin, uint32_t value)
{
    if (pin < FW_SIM_PIN_COUNT)
        report_level(m, pin, value);
}

void fw_sim_pins_power_on(struct fw_sim_mcu *m)
{
    for (uint32_t pin = 0; pin < FW_SIM_PIN_COUNT; pin++) {
        set_level(m, pin, 0);
        m->pin_mode[pin] = FW_SIM_PIN_UNUSED;
        m->pin_pull_up[pin] = 0;
    }
}

struct hal_gpio_out hal_gpio_out_setup(uint32_t pin, uint32_t value)
{
    struct fw_sim_mcu *m = pin_setup(pin, FW_SIM_PIN_OUT);
    drive_level(m, pin, !!value);
    return (struct hal_gpio_out){pin};
}

void hal_gpio_out_write(struct hal_gpio_out g, uint32_t value)
{
    set_level(fw_sim_current(), g.pin, !!value);
}

void hal_gpio_out_toggle(struct hal_gpio_out g)
{
    struct fw_sim_mcu *m = fw_sim_current();
    if (g.pin < FW_SIM_PIN_COUNT)
        set_level(m, g.pin, !m->pin_level[g.pin]);
}

struct hal_gpio_in hal_gpio_in_setup(uint32_t pin, int32_t pull_up)
{
    struct fw_sim_mcu *m = pin_setup(pin, FW_SIM_PIN_IN);
    m->pin_pull_up[pin] = pull_up > 0;
    return (struct hal_gpio_in){pin};
}

uint8_t hal_gpio_in_read(struct hal_gpio_in g)
{
    struct fw_sim_mcu *m = fw_sim_current();
    if (g.pin >= FW_SIM_PIN_COUNT)
        return 0;
    /* Unwired, an input reads as its pull resistor leaves it. */
    if (!m->wiring.read_input)
        return m->pin_pull_up[g.pin];
    return m->wiring.read_input(m->wiring.ctx, g.pin, m->clock) ? 1 : 0;
}

struct hal_gpio_adc hal_gpio_adc_setup(uint32_t pin)
{
    pin_setup(pin, FW_SIM_PIN_ADC);
    return (struct hal_gpio_adc){pin};
}

uint32_t hal_gpio_adc_sample(struct hal_gpio_adc g)
{
    /* Conversions are instantaneous in the simulation. */
    return 0;
}

uint16_t hal_gpio_adc_read(struct hal_gpio_adc g)
{
    struct fw_sim_mcu *m = fw_sim_current();
    if (g.pin >= FW_SIM_PIN_COUNT || !m->wiring.read_adc)
        return 0;
    uint16_t v = m->wiring.read_adc(m->wiring.ctx, g.pin, m->clock);
    return v > FW_SIM_ADC_MAX ? FW_SIM_ADC_MAX : v;
}

void hal_gpio_adc_cancel_sample(struct hal_gpio_adc g)
{
}

struct hal_gpio_pwm hal_gpio_pwm_setup(uint32_t pin, uint32_t cycle_ticks, uint32_t value)
{
    struct fw_sim_mcu *m = pin_setup(pin, FW_SIM_PIN_PWM);
    drive_level(m, pin, value > FW_SIM_PWM_MAX ? FW_SIM_PWM_MAX : value);
    return (struct hal_gpio_pwm){pin};
}

void hal_gpio_pwm_write(struct hal_gpio_pwm g, uint32_t value)
{
    set_level(fw_sim_current(), g.pin, value > FW_SIM_PWM_MAX ? FW_SIM_PWM_MAX : value);
}
