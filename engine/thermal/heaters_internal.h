/* The heaters collection's insides, shared by the files of engine/thermal
 * that build it (heaters.c, heaters_config.c, thermal_gcode.c,
 * pid_calibrate.c) and by nobody else. */
#ifndef FS_HEATERS_INTERNAL_H
#define FS_HEATERS_INTERNAL_H

#include "thermal/heaters.h" /* FS_HEATERS_MAX, FS_FANS_MAX */

/* Part-fan changes waiting for the moves queued before them (the toolhead
 * keeps at most this many waiting callbacks too). */
#define FS_HEATERS_FAN_REQUESTS 32

struct fs_heaters_fan_request {
    struct fs_heaters *h;
    struct fs_fan *fan;
    double speed;
    int waiting;
};

struct fs_heaters {
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_printer *printer; /* NULL on the parameter path */
    struct fs_gcode *gcode;     /* where the commands were registered */
    struct fs_heater *heaters[FS_HEATERS_MAX];
    int heater_count;
    struct fs_fan *fans[FS_FANS_MAX];
    int fan_count;
    struct fs_faults *faults;   /* where heaters register (may be NULL) */
    fs_heaters_time_fn move_time_fn;
    void *move_time_arg;
    struct fs_heaters_fan_request fan_requests[FS_HEATERS_FAN_REQUESTS];
};

#endif
