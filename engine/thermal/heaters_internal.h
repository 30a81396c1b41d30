/* The heaters collection's insides, shared by the files of engine/thermal
 * that build it (heaters.c, heaters_config.c, thermal_gcode.c,
 * pid_calibrate.c) and by nobody else. */
#ifndef FS_HEATERS_INTERNAL_H
#define FS_HEATERS_INTERNAL_H

#include "thermal/heaters.h" /* FS_HEATERS_MAX, FS_FANS_MAX */

struct fs_heaters {
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_printer *printer; /* NULL on the parameter path */
    struct fs_gcode *gcode;     /* where the commands were registered */
    struct fs_heater *heaters[FS_HEATERS_MAX];
    int heater_count;
    struct fs_fan *fans[FS_FANS_MAX];
    int fan_count;
    fs_heater_fault_fn fault_fn;
    void *fault_arg;
    fs_heaters_time_fn move_time_fn;
    void *move_time_arg;
};

#endif
