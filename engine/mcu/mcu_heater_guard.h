/* The per-heater guard of failsoft's firmware, seen from the host: the MCU
 * watches one analog input and, the moment a reading leaves its allowed
 * range, switches off only the heater output tied to it (not the whole MCU)
 * and reports the reading. The output stays off, whatever the host sends,
 * until the host re-arms the guard.
 *
 * Firmware commands (failsoft's own, declared in its dictionary; Klipper's
 * firmware lacks them):
 *   config_heater_guard oid=%c adc_oid=%c out_oid=%c
 *   heater_guard_arm oid=%c min_value=%hu max_value=%hu
 *   -> heater_guard_tripped oid=%c value=%hu clock=%u
 * min/max are in the analog input's sum units, like query_analog_in's.
 *
 * The guard is created at parse time for every heater; at build time it
 * checks the MCU's dictionary. When the MCU offers the guard, the analog
 * input's own whole-MCU range check is widened to never trip (the guard
 * takes its place, per heater). When it does not (Klipper firmware), the
 * guard is inactive, the analog input keeps the MCU's range check as the
 * last line of defence, and the host must detect faults itself before it
 * trips. */
#ifndef FS_MCU_HEATER_GUARD_H
#define FS_MCU_HEATER_GUARD_H

struct fs_error;
struct fs_mcu_adc;
struct fs_mcu_heater_guard;
struct fs_mcu_output;

/* The guard switched the output off: value is the offending reading
 * normalised 0..1 (like fs_mcu_adc_fn's), print_time when it was taken. */
typedef void (*fs_mcu_heater_guard_fn)(void *arg, double print_time, double value);

/* adc and out must be on the same MCU (otherwise the guard is inactive and
 * this is not an error). range_min..range_max normalised 0..1. */
struct fs_mcu_heater_guard *fs_mcu_heater_guard_new(struct fs_mcu_adc *adc,
                                                    struct fs_mcu_output *out,
                                                    double range_min, double range_max,
                                                    fs_mcu_heater_guard_fn on_trip, void *arg,
                                                    struct fs_error *err);
void fs_mcu_heater_guard_free(struct fs_mcu_heater_guard *g);
/* Known once the MCU is configured: the firmware offers the guard. */
int fs_mcu_heater_guard_is_active(const struct fs_mcu_heater_guard *g);
/* Tripped and not re-armed since. */
int fs_mcu_heater_guard_is_tripped(const struct fs_mcu_heater_guard *g);
/* Re-arms after a trip (the host judged the reading sane again). */
int fs_mcu_heater_guard_rearm(struct fs_mcu_heater_guard *g, struct fs_error *err);

#endif
