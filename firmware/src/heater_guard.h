/* The per-heater guard's hooks into the analog input and output modules
 * (heater_guard.c is the guard itself). The guard is failsoft's own: a
 * build with FW_HEATER_GUARD 0 has none of it, like the reference
 * firmware, and the hooks compile away. */
#ifndef FW_HEATER_GUARD_H
#define FW_HEATER_GUARD_H

#include <stdint.h> /* uint32_t, uint16_t, uint8_t */

#ifndef FW_HEATER_GUARD
#define FW_HEATER_GUARD 1
#endif

#if FW_HEATER_GUARD
struct heater_guard;

/* adccmd.c calls this with every finished sum of an analog input that has
 * a guard, at the clock of its last conversion (a timer context). */
void fw_heater_guard_sample(struct heater_guard *g, uint16_t sum, uint32_t clock);

/* adccmd.c: where an analog input keeps its guard (shuts down with
 * "Invalid oid type" when oid is not an analog input). */
struct heater_guard **fw_analog_in_guard_slot(uint8_t oid);

/* gpiocmds.c / pwmcmds.c: the output object of oid, or NULL when oid is
 * not of that kind. */
void *fw_digital_out_find(uint8_t oid);
void *fw_pwm_out_find(uint8_t oid);
/* Holding an output puts it at its default value (its safe, "off" level:
 * what a shutdown would set) at once and keeps it there whatever queued or
 * immediate changes say, until released; a released output stays at its
 * default until the host's next change. */
void fw_digital_out_hold(void *out, uint8_t hold);
void fw_pwm_out_hold(void *out, uint8_t hold);
#endif

#endif
