/* The printer: the objects one configuration makes, and how they find each
 * other.
 *
 * Start-up runs in phases so that a configuration can be checked without any
 * hardware: (1) parse — every module reads its sections and validates them
 * (`failsoft check` stops here, after fs_config_check_unused); (2) connect —
 * each MCU identifies itself; (3) build — modules add their MCU config
 * commands (fs_mcu_on_build_config, where clock frequencies are known);
 * (4) configure — config sent or reused by CRC; (5) ready — modules start
 * their periodic work (fs_mcu_on_configured). The printer owns every module;
 * modules hold pointers to the printer, never to each other's internals. */
#ifndef FS_PRINTER_H
#define FS_PRINTER_H

#include "config/config.h" /* struct fs_config, struct fs_pin_desc */

struct fs_error;
struct fs_gcode;
struct fs_logger;
struct fs_mcu;
struct fs_reactor;
struct fs_toolhead;
struct fs_heaters;
struct fs_job;

#define FS_PRINTER_MAX_MCUS 8

struct fs_printer {
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_config *config;
    struct fs_gcode *gcode;
    struct fs_mcu *mcus[FS_PRINTER_MAX_MCUS];
    int mcu_count;
    /* Modules, NULL while absent. */
    struct fs_toolhead *toolhead;
    struct fs_heaters *heaters;
    struct fs_job *job;
};

/* The MCU named in a config ("mcu", "toolboard"), or NULL. */
struct fs_mcu *fs_printer_mcu(const struct fs_printer *p, const char *name);
/* The MCU of a pin read from an option, or -1 with
 * "printer.cfg:12: [stepper_x] step_pin: no [mcu toolbord] section". */
int fs_printer_pin_mcu(const struct fs_printer *p, const struct fs_config_section *s,
                       const char *option, const struct fs_pin_desc *pin,
                       struct fs_mcu **out, struct fs_error *err);

#endif
