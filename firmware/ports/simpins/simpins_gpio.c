/* The GPIO part of the HAL for simulated pins: outputs and PWM report
 * their changes to the wiring, inputs and ADC channels ask it for a level
 * at the current clock. Nothing here touches real hardware. */
#include <stddef.h> /* NULL */

#include "fw_simpins.h" /* struct fw_simpins, fw_simpins_current */
#include "hal.h"        /* the GPIO part of the HAL, implemented here */
#include "sched.h"      /* fw_shutdown */

void fw_simpins_init(struct fw_simpins *p, const struct fw_simpins_wiring *wiring,
                     const uint64_t *clock)
{
    *p = (struct fw_simpins){.clock = clock};
    if (wiring)
        p->wiring = *wiring;
}

static struct fw_simpins *pin_setup(uint32_t pin, enum fw_simpins_mode mode)
{
    if (pin >= FW_SIMPINS_COUNT)
        fw_shutdown("Invalid pin");
    struct fw_simpins *p = fw_simpins_current();
    p->mode[pin] = (uint8_t)mode;
    return p;
}

static void report_level(struct fw_simpins *p, uint32_t pin, uint32_t value)
{
    p->level[pin] = value;
    if (p->mode[pin] == FW_SIMPINS_PWM) {
        if (p->wiring.pwm_changed)
            p->wiring.pwm_changed(p->wiring.ctx, pin, value, *p->clock);
    } else if (p->wiring.output_changed) {
        p->wiring.output_changed(p->wiring.ctx, pin, value, *p->clock);
    }
}

/* The wiring only hears about real changes, so a re-written level costs
 * the models nothing. */
static void set_level(struct fw_simpins *p, uint32_t pin, uint32_t value)
{
    if (pin >= FW_SIMPINS_COUNT || p->level[pin] == value)
        return;
    report_level(p, pin, value);
}

/* A pin set up as an output goes from floating to driven even when its
 * level stays 0, and the wiring must hear it: a driver's enable line with a
 * pull-up is disabled until the MCU drives it low. */
static void drive_level(struct fw_simpins *p, uint32_t pin, uint32_t value)
{
    if (pin < FW_SIMPINS_COUNT)
        report_level(p, pin, value);
}

/* A pin is reported in the mode it had (a PWM pin as a duty of 0) before
 * it is unconfigured. */
void fw_simpins_power_on(struct fw_simpins *p)
{
    for (uint32_t pin = 0; pin < FW_SIMPINS_COUNT; pin++) {
        set_level(p, pin, 0);
        p->mode[pin] = FW_SIMPINS_UNUSED;
        p->pull_up[pin] = 0;
    }
}

static uint32_t clamp_duty(uint32_t value)
{
    return value > FW_SIMPINS_PWM_MAX ? FW_SIMPINS_PWM_MAX : value;
}

struct hal_gpio_out hal_gpio_out_setup(uint32_t pin, uint32_t value)
{
    struct fw_simpins *p = pin_setup(pin, FW_SIMPINS_OUT);
    drive_level(p, pin, !!value);
    return (struct hal_gpio_out){pin};
}

void hal_gpio_out_write(struct hal_gpio_out g, uint32_t value)
{
    set_level(fw_simpins_current(), g.pin, !!value);
}

void hal_gpio_out_toggle(struct hal_gpio_out g)
{
    struct fw_simpins *p = fw_simpins_current();
    if (g.pin < FW_SIMPINS_COUNT)
        set_level(p, g.pin, !p->level[g.pin]);
}

struct hal_gpio_in hal_gpio_in_setup(uint32_t pin, int32_t pull_up)
{
    struct fw_simpins *p = pin_setup(pin, FW_SIMPINS_IN);
    p->pull_up[pin] = pull_up > 0;
    return (struct hal_gpio_in){pin};
}

uint8_t hal_gpio_in_read(struct hal_gpio_in g)
{
    struct fw_simpins *p = fw_simpins_current();
    if (g.pin >= FW_SIMPINS_COUNT)
        return 0;
    int level = p->wiring.read_input ? p->wiring.read_input(p->wiring.ctx, g.pin, *p->clock)
                                     : -1;
    /* Undriven, an input reads as its pull resistor leaves it. */
    if (level < 0)
        return p->pull_up[g.pin];
    return level ? 1 : 0;
}

struct hal_gpio_adc hal_gpio_adc_setup(uint32_t pin)
{
    pin_setup(pin, FW_SIMPINS_ADC);
    return (struct hal_gpio_adc){pin};
}

uint32_t hal_gpio_adc_sample(struct hal_gpio_adc g)
{
    /* Conversions are instantaneous: the value is computed on read. */
    return 0;
}

uint16_t hal_gpio_adc_read(struct hal_gpio_adc g)
{
    struct fw_simpins *p = fw_simpins_current();
    if (g.pin >= FW_SIMPINS_COUNT || !p->wiring.read_adc)
        return 0;
    uint16_t v = p->wiring.read_adc(p->wiring.ctx, g.pin, *p->clock);
    return v > FW_SIMPINS_ADC_MAX ? FW_SIMPINS_ADC_MAX : v;
}

void hal_gpio_adc_cancel_sample(struct hal_gpio_adc g)
{
}

struct hal_gpio_pwm hal_gpio_pwm_setup(uint32_t pin, uint32_t cycle_ticks, uint32_t value)
{
    struct fw_simpins *p = pin_setup(pin, FW_SIMPINS_PWM);
    drive_level(p, pin, clamp_duty(value));
    return (struct hal_gpio_pwm){pin};
}

void hal_gpio_pwm_write(struct hal_gpio_pwm g, uint32_t value)
{
    set_level(fw_simpins_current(), g.pin, clamp_duty(value));
}
