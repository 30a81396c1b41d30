/* TMC2209 stepper drivers on their UART ([tmc2209 stepper_x]): configured
 * at start-up, watched once a second, and reported to the fault module
 * when they say something is wrong.
 *
 * At connect each UART wire becomes a tmcuart object on the MCU of its
 * uart_pin (drivers sharing a wire are told apart by uart_address). After
 * every configure each driver is set up: GSTAT cleared (the power-on reset
 * flag), GCONF (pdn_disable, mstep_reg_select, multistep_filt, spreadCycle
 * or stealthChop), CHOPCONF (microsteps of the stepper's section, toff,
 * hysteresis, blank time, vsense, interpolation), IHOLD_IRUN (from the
 * currents and sense_resistor), TPOWERDOWN, TPWMTHRS, PWMCONF, each write
 * confirmed by IFCNT counting it (a driver that does not answer is
 * reported once and set up again every second until it does: the chip
 * runs from the motor supply). Then every second GSTAT and DRV_STATUS
 * are read (two transfers per driver per second) and decoded:
 *   driver_error: ot, s2ga, s2gb, s2vsa, s2vsb (DRV_STATUS), drv_err,
 *     uv_cp, reset (GSTAT: an unexpected reset means every setting is back
 *     at its default; FAULT_CLEAR writes them again), and a driver that no
 *     longer answers;
 *   driver_warning: otpw, ola, olb (open load is only believed while the
 *     motor moves: the chip cannot judge it at standstill, and at high
 *     speed the back-EMF makes it report open load falsely too).
 * A fault is raised once per new bit, with both register values and the
 * bit names as evidence, on the source "tmc2209 stepper_x" (class driver;
 * X/Y/Z flags from the stepper; on corexy stepper_x and stepper_y both
 * move X and Y). driver_error makes the stepper's axes untrustworthy;
 * disable marks the driver unavailable; clear re-reads the chip (and sets
 * it up again after a reset) and refuses while a bit is still set.
 *
 * Options: uart_pin, tx_pin, uart_address, run_current, hold_current,
 * sense_resistor, stealthchop_threshold, interpolate, and the register
 * overrides driver_TOFF, driver_HSTRT, driver_HEND, driver_TBL,
 * driver_IHOLDDELAY, driver_TPOWERDOWN, driver_MULTISTEP_FILT,
 * driver_PWM_OFS, driver_PWM_GRAD, driver_PWM_FREQ, driver_PWM_AUTOSCALE,
 * driver_PWM_AUTOGRAD, driver_PWM_REG, driver_PWM_LIM, driver_SGTHRS.
 * Other driver_* options, select_pins and diag_pin are refused by name.
 *
 * G-code: DUMP_TMC STEPPER= reads and prints every register;
 * SET_TMC_CURRENT STEPPER= [CURRENT=] [HOLDCURRENT=] changes the currents
 * (within the sense range chosen for run_current); INIT_TMC STEPPER=
 * writes every setting again. */
#ifndef FS_TMC2209_H
#define FS_TMC2209_H

#include <stdint.h> /* uint32_t */

struct fs_error;
struct fs_printer;
struct fs_tmc2209;
struct fs_tmc_drivers;

/* Every [tmc2209 X] section of the printer's configuration (none: an
 * empty set). Registers DUMP_TMC when there is at least one. */
struct fs_tmc_drivers *fs_tmc_drivers_new(struct fs_printer *p, struct fs_error *err);
void fs_tmc_drivers_free(struct fs_tmc_drivers *d);

/* By stepper name ("stepper_x"), or NULL. */
struct fs_tmc2209 *fs_tmc_drivers_lookup(const struct fs_tmc_drivers *d, const char *stepper);

/* Set up since the last configure, every write confirmed. */
int fs_tmc2209_is_ready(const struct fs_tmc2209 *t);
/* The value last written to reg (the host's copy), for checks. */
uint32_t fs_tmc2209_written(const struct fs_tmc2209 *t, uint8_t reg);
/* The value last read from reg; -1 when never read. */
int fs_tmc2209_last_read(const struct fs_tmc2209 *t, uint8_t reg, uint32_t *value);
/* UART transfers sent so far (for the cost of the periodic checks). */
unsigned long fs_tmc2209_transfers(const struct fs_tmc2209 *t);

#endif
