/* The fault catalogue: every fault kind with how it is detected, what tunes
 * it and which classes of part may raise it; the action and class names; the
 * safety floors (a table, not code paths) and the profiles' defaults.
 *
 * A floor is the mildest action a configuration may ask for. The floor of a
 * (class, flags, kind) is the most severe action among the rows of
 * floor_rows that match it, so a general row ("an MCU fault: pause") and a
 * specific one ("an MCU fault on an MCU that drives axes: halt") sit side by
 * side without an order to get wrong. Whatever matches no row has the floor
 * log. */
#include "fault/fault.h"

#include <stddef.h> /* NULL */
#include <string.h> /* strcmp */

#define CLS(c) (1u << FS_FAULT_CLASS_##c)
#define KIND(k) (1ul << FS_FAULT_##k)

static const struct fs_fault_kind_info catalogue[FS_FAULT_KIND_COUNT] = {
    {FS_FAULT_SENSOR_OPEN, "sensor_open",
     "the reading stays past the sensor's open-circuit limit (on a pull-up an open sensor "
     "reads full scale: an NTC colder than -40 C, or min_temp - 10 C if lower; a PT1000 "
     "hotter than max_temp + 50 C) until a leaky bad-time counter exceeds fault_tolerance "
     "(1 s); the host cuts the power from the first bad reading, the firmware guard at the "
     "sample",
     "fault_tolerance, min_temp, max_temp", CLS(HEATER) | CLS(SENSOR)},
    {FS_FAULT_SENSOR_SHORT, "sensor_short",
     "the reading stays past the sensor's short-circuit limit (reads near 0: an NTC hotter "
     "than max_temp + 50 C, at most 600 C; a PT1000 colder than the cold limit), counted "
     "like sensor_open",
     "fault_tolerance, min_temp, max_temp", CLS(HEATER) | CLS(SENSOR)},
    {FS_FAULT_SENSOR_GLITCH, "sensor_glitch",
     "a run of bad readings (open, short, over, under) ended before the counter exceeded "
     "fault_tolerance; recorded with its length and worst reading. A bad reading adds its "
     "interval to the counter, a good one removes 1/8 of its interval, so repeated glitches "
     "add up to a fault",
     "fault_tolerance, min_temp, max_temp", CLS(HEATER) | CLS(SENSOR)},
    {FS_FAULT_OVER_TEMPERATURE, "over_temperature",
     "a sane reading above the object's max_temp, counted like sensor_open",
     "fault_tolerance, max_temp", CLS(HEATER) | CLS(SENSOR)},
    {FS_FAULT_UNDER_TEMPERATURE, "under_temperature",
     "a sane reading below the object's min_temp, counted like sensor_open",
     "fault_tolerance, min_temp", CLS(HEATER) | CLS(SENSOR)},
    {FS_FAULT_NOT_HEATING, "not_heating",
     "heating was requested but the temperature did not rise by heating_gain within "
     "check_gain_time",
     "[verify_heater] max_error, check_gain_time, hysteresis, heating_gain", CLS(HEATER)},
    {FS_FAULT_RUNAWAY, "runaway",
     "the temperature left a target it had reached by more than hysteresis for long enough "
     "to accumulate max_error",
     "[verify_heater] max_error, check_gain_time, hysteresis, heating_gain", CLS(HEATER)},
    {FS_FAULT_UNCOMMANDED_HEATING, "uncommanded_heating",
     "the output is off (target 0, power 0, or the guard tripped) and the median of 5 sane "
     "readings rose more than uncommanded_heating_rise (15 C) above the lowest such median "
     "within uncommanded_heating_time (60 s, at most 120 s): a stuck switch",
     "uncommanded_heating_rise, uncommanded_heating_time; [fault_policy] power_relay_pin "
     "(switched off by every shutdown)", CLS(HEATER)},
    {FS_FAULT_FAN_STALLED, "fan_stalled",
     "a fan with a tachometer reports fewer revolutions than tachometer_min_rpm while it is "
     "driven",
     "tachometer_pin, tachometer_min_rpm, tachometer_ppr, tachometer_poll_interval", CLS(FAN)},
    {FS_FAULT_DRIVER_ERROR, "driver_error",
     "a stepper driver reports over-temperature shutdown, a short, a reset or under-voltage "
     "in GSTAT/DRV_STATUS",
     "[tmc2209] (GSTAT/DRV_STATUS read every second)", CLS(DRIVER)},
    {FS_FAULT_DRIVER_WARNING, "driver_warning",
     "a stepper driver reports an over-temperature pre-warning or an open load in DRV_STATUS",
     "[tmc2209] (GSTAT/DRV_STATUS read every second)", CLS(DRIVER)},
    {FS_FAULT_RUNOUT, "runout", "a filament switch sensor reports no filament while printing",
     "switch_pin, detection_length", CLS(FILAMENT)},
    {FS_FAULT_JAM, "jam",
     "a filament motion sensor sees no motion over detection_length of extrusion",
     "switch_pin, detection_length", CLS(FILAMENT)},
    {FS_FAULT_COMM_LOST, "comm_lost", "an MCU stops answering the host's clock queries",
     "MCU clock queries unanswered for ~2.5 s", CLS(MCU)},
    {FS_FAULT_MCU_SHUTDOWN, "mcu_shutdown",
     "an MCU reports that it shut down, with its reason", "the MCU firmware's own checks",
     CLS(MCU)},
    {FS_FAULT_MCU_RESET, "mcu_reset",
     "an MCU answers as freshly started (its configuration is gone) without being asked to "
     "restart",
     "none (the MCU's identify and config state)", CLS(MCU)},
    {FS_FAULT_VERSION_MISMATCH, "version_mismatch",
     "at connect, an MCU's firmware or protocol differs from what the host expects or from its "
     "siblings",
     "none (the MCU's data dictionary)", CLS(MCU)},
    {FS_FAULT_TIMING_OVERRUN, "timing_overrun",
     "the host could not deliver step commands in time: their clocks would be in the past",
     "none (the host's move queue timing)", CLS(MOTION)},
    {FS_FAULT_MOVE_OUT_OF_RANGE, "move_out_of_range",
     "a commanded move leaves the axis limits", "position_min/position_max", CLS(MOTION)},
    {FS_FAULT_HOMING_FAILED, "homing_failed",
     "an endstop did not trigger within the homing move, or triggered before it started",
     "position_endstop, homing_speed, homing_retract_dist", CLS(MOTION)},
    {FS_FAULT_COLD_EXTRUDE, "cold_extrude",
     "an extrusion was requested while the extruder is below min_extrude_temp",
     "min_extrude_temp", CLS(MOTION) | CLS(HEATER)},
    {FS_FAULT_POWER_LOSS, "power_loss",
     "the program starts with an unfinished job in its journal (the power, the host or the "
     "program went away mid-print); JOB_RECOVER continues it",
     "[fault_policy] journal_path", CLS(PRINTER)},
    {FS_FAULT_EMERGENCY_STOP, "emergency_stop", "a person asked for an emergency stop",
     "M112", CLS(PRINTER)},
};

static const char *const action_names[FS_FAULT_ACTION_COUNT] = {
    "log", "warn", "disable", "pause", "halt", "cancel", "shutdown",
};

static const char *const class_names[FS_FAULT_CLASS_COUNT] = {
    "heater", "sensor", "fan", "driver", "filament", "mcu", "motion", "printer",
};

/* One floor: applies to sources of a class in cls with at least one of
 * flags_any set (0: any flags) raising a kind in kinds. */
struct floor_row {
    unsigned cls;
    unsigned long kinds;
    unsigned flags_any;
    enum fs_fault_action floor;
    const char *why;
};

#define ALL_CLASSES ((1u << FS_FAULT_CLASS_COUNT) - 1u)
#define HEATER_KINDS                                                                         \
    (KIND(SENSOR_OPEN) | KIND(SENSOR_SHORT) | KIND(OVER_TEMPERATURE) |                       \
     KIND(UNDER_TEMPERATURE) | KIND(NOT_HEATING) | KIND(RUNAWAY))
#define MCU_LOSS_KINDS (KIND(COMM_LOST) | KIND(MCU_SHUTDOWN) | KIND(MCU_RESET))
#define AXIS_FLAGS (FS_FAULT_SOURCE_AXIS_X | FS_FAULT_SOURCE_AXIS_Y | FS_FAULT_SOURCE_AXIS_Z)

/* An MCU that only drives an extruder counts as not driving axes: lost
 * extruder steps under-extrude, but the head's position stays known, so a
 * pause (and a person looking) is enough. */
static const struct floor_row floor_rows[] = {
    {CLS(HEATER), HEATER_KINDS, 0, FS_FAULT_DISABLE,
     "a heater without a trustworthy reading can start a fire"},
    {ALL_CLASSES, KIND(UNCOMMANDED_HEATING), 0, FS_FAULT_SHUTDOWN,
     "the heater output is not under control"},
    {CLS(MCU), MCU_LOSS_KINDS, 0, FS_FAULT_PAUSE, "nothing on it is under control"},
    {CLS(MCU), MCU_LOSS_KINDS, FS_FAULT_SOURCE_DRIVES_AXES, FS_FAULT_HALT,
     "nothing on it is under control"},
    {CLS(DRIVER), KIND(DRIVER_ERROR), 0, FS_FAULT_PAUSE,
     "the extruder's steps may be lost: the extrusion is no longer what the job asked for"},
    {CLS(DRIVER), KIND(DRIVER_ERROR), AXIS_FLAGS, FS_FAULT_HALT, "its position may be lost"},
    {ALL_CLASSES, KIND(TIMING_OVERRUN), 0, FS_FAULT_HALT,
     "steps can no longer be placed in time"},
    {ALL_CLASSES, KIND(EMERGENCY_STOP), 0, FS_FAULT_SHUTDOWN, "a person asked for it"},
    {ALL_CLASSES, KIND(VERSION_MISMATCH), 0, FS_FAULT_SHUTDOWN,
     "the host cannot trust a firmware it does not understand"},
};

const struct fs_fault_kind_info *fs_fault_kind_info(enum fs_fault_kind kind)
{
    if ((unsigned)kind >= FS_FAULT_KIND_COUNT)
        return NULL;
    return &catalogue[kind];
}

const char *fs_fault_kind_name(enum fs_fault_kind kind)
{
    const struct fs_fault_kind_info *k = fs_fault_kind_info(kind);
    return k ? k->name : "?";
}

int fs_fault_kind_from_name(const char *name)
{
    for (int i = 0; name && i < FS_FAULT_KIND_COUNT; i++)
        if (!strcmp(catalogue[i].name, name))
            return i;
    return -1;
}

const char *fs_fault_action_name(enum fs_fault_action a)
{
    return (unsigned)a < FS_FAULT_ACTION_COUNT ? action_names[a] : "?";
}

int fs_fault_action_from_name(const char *name)
{
    for (int i = 0; name && i < FS_FAULT_ACTION_COUNT; i++)
        if (!strcmp(action_names[i], name))
            return i;
    return -1;
}

const char *fs_fault_class_name(enum fs_fault_class c)
{
    return (unsigned)c < FS_FAULT_CLASS_COUNT ? class_names[c] : "?";
}

int fs_fault_class_can_raise(enum fs_fault_class cls, enum fs_fault_kind kind)
{
    const struct fs_fault_kind_info *k = fs_fault_kind_info(kind);
    return k && (unsigned)cls < FS_FAULT_CLASS_COUNT && (k->classes & (1u << cls));
}

int fs_fault_floor_row_count(void)
{
    return (int)(sizeof(floor_rows) / sizeof(floor_rows[0]));
}

int fs_fault_floor_row(int i, unsigned *classes, unsigned long *kinds, unsigned *flags_any,
                       enum fs_fault_action *floor, const char **why)
{
    if (i < 0 || i >= fs_fault_floor_row_count())
        return -1;
    const struct floor_row *r = &floor_rows[i];
    if (classes)
        *classes = r->cls;
    if (kinds)
        *kinds = r->kinds;
    if (flags_any)
        *flags_any = r->flags_any;
    if (floor)
        *floor = r->floor;
    if (why)
        *why = r->why;
    return 0;
}

enum fs_fault_action fs_fault_floor(enum fs_fault_class cls, unsigned source_flags,
                                    enum fs_fault_kind kind, const char **why)
{
    enum fs_fault_action floor = FS_FAULT_LOG;
    const char *reason = "no safety floor: the configuration decides";
    for (int i = 0; i < fs_fault_floor_row_count(); i++) {
        const struct floor_row *r = &floor_rows[i];
        if ((unsigned)cls >= FS_FAULT_CLASS_COUNT || !(r->cls & (1u << cls)))
            continue;
        if ((unsigned)kind >= FS_FAULT_KIND_COUNT || !(r->kinds & (1ul << kind)))
            continue;
        if (r->flags_any && !(r->flags_any & source_flags))
            continue;
        if (r->floor > floor) {
            floor = r->floor;
            reason = r->why;
        }
    }
    if (why)
        *why = reason;
    return floor;
}

static enum fs_fault_action failsoft_default(enum fs_fault_class cls, enum fs_fault_kind kind)
{
    switch (kind) {
    case FS_FAULT_SENSOR_GLITCH:
        return FS_FAULT_LOG;
    case FS_FAULT_SENSOR_OPEN:
    case FS_FAULT_SENSOR_SHORT:
    case FS_FAULT_OVER_TEMPERATURE:
    case FS_FAULT_UNDER_TEMPERATURE:
    case FS_FAULT_NOT_HEATING:
    case FS_FAULT_RUNAWAY:
        /* A temperature_sensor has no output to switch off: its faults are
         * news, not danger. */
        return cls == FS_FAULT_CLASS_SENSOR ? FS_FAULT_WARN : FS_FAULT_PAUSE;
    case FS_FAULT_DRIVER_WARNING:
    case FS_FAULT_POWER_LOSS:
        /* power_loss is news of what already happened, found at start:
         * nothing is running to pause. */
        return FS_FAULT_WARN;
    case FS_FAULT_DRIVER_ERROR:
    case FS_FAULT_COMM_LOST:
    case FS_FAULT_MCU_SHUTDOWN:
    case FS_FAULT_MCU_RESET:
        return FS_FAULT_LOG; /* the floor decides (halt or pause) */
    case FS_FAULT_TIMING_OVERRUN:
        return FS_FAULT_HALT;
    case FS_FAULT_UNCOMMANDED_HEATING:
    case FS_FAULT_EMERGENCY_STOP:
    case FS_FAULT_VERSION_MISMATCH:
        return FS_FAULT_SHUTDOWN;
    case FS_FAULT_FAN_STALLED:
    case FS_FAULT_RUNOUT:
    case FS_FAULT_JAM:
    case FS_FAULT_MOVE_OUT_OF_RANGE:
    case FS_FAULT_HOMING_FAILED:
    case FS_FAULT_COLD_EXTRUDE:
    case FS_FAULT_KIND_COUNT:
        break;
    }
    return FS_FAULT_PAUSE;
}

enum fs_fault_action fs_fault_default_action(enum fs_fault_profile profile,
                                             enum fs_fault_class cls, unsigned source_flags,
                                             enum fs_fault_kind kind)
{
    enum fs_fault_action a;
    if (profile == FS_FAULT_PROFILE_STRICT) {
        if (kind == FS_FAULT_SENSOR_GLITCH)
            a = FS_FAULT_LOG;
        else if (kind == FS_FAULT_DRIVER_WARNING || kind == FS_FAULT_POWER_LOSS)
            a = FS_FAULT_WARN;
        else
            a = FS_FAULT_SHUTDOWN;
    } else {
        a = failsoft_default(cls, kind);
        /* A stalled part-cooling fan spoils overhangs; a stalled heater fan
         * lets heat creep up and jams the hotend: only that one pauses. */
        if (kind == FS_FAULT_FAN_STALLED && !(source_flags & FS_FAULT_SOURCE_COOLS_HEATER))
            a = FS_FAULT_WARN;
    }
    enum fs_fault_action floor = fs_fault_floor(cls, source_flags, kind, NULL);
    return a < floor ? floor : a;
}
