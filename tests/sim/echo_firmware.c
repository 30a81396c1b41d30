/* A stand-in for the sim firmware port (fw_sim.h), so the world's loop can be
 * tested on its own: it echoes every byte it receives back to the host
 * (except the single byte 0xAD, answered with the ADC reading of pin P6,
 * high byte first), and one timer toggles pin P5 every 1000 ticks of its
 * 1 MHz clock: a 50 % duty square wave. */
#include <stdlib.h> /* calloc, free */

#include "fw_sim.h"        /* the interface it stands in for */

#define ECHO_FREQ 1000000u
#define ECHO_PERIOD_TICKS 1000u
#define ECHO_TOGGLE_PIN 5u
#define ECHO_ADC_PIN 6u
#define ECHO_ADC_QUERY 0xAD

struct fw_sim_mcu {
    struct fw_sim_wiring wiring;
    int powered;
    uint64_t next_toggle;
    uint32_t level;
};

struct fw_sim_mcu *fw_sim_mcu_new(const struct fw_sim_wiring *wiring)
{
    struct fw_sim_mcu *m = calloc(1, sizeof(*m));
    if (m)
        m->wiring = *wiring;
    return m;
}

void fw_sim_mcu_free(struct fw_sim_mcu *m)
{
    free(m);
}

void fw_sim_mcu_power_on(struct fw_sim_mcu *m, uint64_t clock)
{
    m->powered = 1;
    m->level = 0;
    m->next_toggle = clock + ECHO_PERIOD_TICKS;
}

void fw_sim_mcu_receive(struct fw_sim_mcu *m, uint64_t clock, const uint8_t *data,
                        uint32_t len)
{
    if (len == 1 && data[0] == ECHO_ADC_QUERY) {
        uint16_t v = m->wiring.read_adc(m->wiring.ctx, ECHO_ADC_PIN, clock);
        uint8_t reply[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        m->wiring.console_send(m->wiring.ctx, reply, 2, clock);
        return;
    }
    m->wiring.console_send(m->wiring.ctx, data, len, clock);
}

void fw_sim_mcu_run(struct fw_sim_mcu *m, uint64_t clock)
{
    while (m->powered && m->next_toggle <= clock) {
        m->level ^= 1;
        m->wiring.output_changed(m->wiring.ctx, ECHO_TOGGLE_PIN, m->level, m->next_toggle);
        m->next_toggle += ECHO_PERIOD_TICKS;
    }
}

int fw_sim_mcu_next_wake(const struct fw_sim_mcu *m, uint64_t *clock)
{
    if (!m->powered)
        return 0;
    *clock = m->next_toggle;
    return 1;
}

int fw_sim_mcu_is_shutdown(const struct fw_sim_mcu *m)
{
    (void)m;
    return 0;
}

uint32_t fw_sim_clock_freq(void)
{
    return ECHO_FREQ;
}

int32_t fw_sim_pin_by_name(const char *name)
{
    if (!name || name[0] != 'P' || name[1] < '0' || name[1] > '9')
        return -1;
    int32_t n = 0;
    for (const char *c = name + 1; *c; c++) {
        if (*c < '0' || *c > '9' || n > 63)
            return -1;
        n = n * 10 + (*c - '0');
    }
    return n < 64 ? n : -1;
}
