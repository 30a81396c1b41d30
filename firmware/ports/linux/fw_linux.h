/* The firmware built as a Linux process (`failsoft-mcu`): one MCU whose
 * clock is the host's monotonic clock and whose pins are simulated.
 *
 * This is the port's interface to the program around it (firmware/ports/
 * linux/program): the program owns real time, the pseudo-terminal and the
 * plant models, and calls in here with the MCU clock it has read. The port
 * keeps the 64-bit clock (the core sees its low 32 bits) and hands pin
 * changes and console blocks back through the wiring callbacks. */
#ifndef FW_LINUX_H
#define FW_LINUX_H

#include <stdint.h> /* uint64_t, uint32_t */

#include "fw_simpins.h" /* struct fw_simpins_wiring, FW_SIMPINS_* */

#define FW_LINUX_CLOCK_FREQ 50000000u

struct fw_linux_mcu;

struct fw_linux_wiring {
    /* The pins (PA0..PD15, the same pins as the sim port). */
    struct fw_simpins_wiring pins;
    /* One framed block (5..64 bytes) to the host, with its own context:
     * the pins and the console are usually served by different objects. */
    void (*console_send)(void *console_ctx, const uint8_t *block, uint32_t len);
    void *console_ctx;
};

/* The one MCU of the process; NULL if one already exists or memory ran
 * out. */
struct fw_linux_mcu *fw_linux_mcu_new(const struct fw_linux_wiring *wiring);
void fw_linux_mcu_free(struct fw_linux_mcu *m);

/* Power on at the given clock: state cleared, init hooks run, every pin
 * low and unconfigured. */
void fw_linux_mcu_power_on(struct fw_linux_mcu *m, uint64_t clock);

/* Bytes from the host, received at this clock: parsed, acked and
 * dispatched before the call returns. */
void fw_linux_mcu_receive(struct fw_linux_mcu *m, uint64_t clock, const uint8_t *data,
                          uint32_t len);

/* Runs every timer due at or before this clock, each at its own waketime,
 * then the tasks once at this clock. */
void fw_linux_mcu_run(struct fw_linux_mcu *m, uint64_t clock);

/* The clock of the next timer; returns 0 when none is armed. */
int fw_linux_mcu_next_wake(const struct fw_linux_mcu *m, uint64_t *clock);

/* The clock the firmware has last seen (never goes back). */
uint64_t fw_linux_mcu_clock(const struct fw_linux_mcu *m);
int fw_linux_mcu_is_shutdown(const struct fw_linux_mcu *m);
/* How many times the `reset` command restarted the firmware. */
uint32_t fw_linux_mcu_restarts(const struct fw_linux_mcu *m);

#endif
