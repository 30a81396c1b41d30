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

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint32_t */

#include "config/config.h" /* struct fs_config, struct fs_pin_desc */
#include "core/reactor.h"   /* struct fs_timer */

struct fs_error;
struct fs_gcode;
struct fs_logger;
struct fs_mcu;
struct fs_reactor;
struct fs_toolhead;
struct fs_heaters;
struct fs_job;
struct fs_stepsync;
struct fs_transport;
struct fs_firmware_retraction;
struct fs_gcode_move;
struct fs_homing;
struct fs_macro;
struct fs_tmc_drivers;
struct fs_filament_sensors;
struct fs_faults;
struct fs_fault_source;
struct fs_mcu_output;

#define FS_PRINTER_MAX_MCUS 8
/* Scripts waiting for the program loop (fs_printer_queue_script). */
#define FS_PRINTER_SCRIPTS_MAX 8
#define FS_PRINTER_SCRIPT_SOURCE_MAX 96

/* RESTART and FIRMWARE_RESTART cannot rebuild the printer from inside their
 * own handler (it belongs to the printer being torn down): the handler
 * records the request and the program loop that owns the printer carries
 * it out (see printer_gcode.h). */
enum fs_restart_request {
    FS_RESTART_NONE,
    FS_RESTART_HOST,     /* re-read the configuration, rebuild, reuse MCUs */
    FS_RESTART_FIRMWARE, /* the same after resetting every MCU */
};

/* [mcu] restart_method, for MCUs whose firmware has no `reset` command. */
enum fs_mcu_restart_method {
    FS_MCU_RESTART_UNSET = -1,
    FS_MCU_RESTART_ARDUINO,
    FS_MCU_RESTART_CHEETAH,
    FS_MCU_RESTART_COMMAND,
    FS_MCU_RESTART_RPI_USB,
};

struct fs_printer {
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_config *config;
    struct fs_gcode *gcode;
    struct fs_mcu *mcus[FS_PRINTER_MAX_MCUS];
    int mcu_count;
    struct fs_stepsync *stepsyncs[FS_PRINTER_MAX_MCUS]; /* per MCU, when used */
    enum fs_mcu_restart_method restart_methods[FS_PRINTER_MAX_MCUS];
    unsigned mcu_lost_mask; /* bit i: mcus[i] stopped answering clock queries */
    /* Modules, NULL while absent. */
    struct fs_toolhead *toolhead;
    struct fs_heaters *heaters;
    struct fs_job *job;
    struct fs_gcode_move *gcode_move;
    struct fs_firmware_retraction *firmware_retraction;
    struct fs_homing *homing;
    struct fs_macro **macros;
    int macro_count;
    struct fs_tmc_drivers *tmc_drivers;           /* [tmc2209 X] */
    struct fs_filament_sensors *filament_sensors; /* filament sensors, fan tachometers */
    /* Every stop, pause, halt or shutdown decision goes through it
     * (engine/fault); made first, before any module that raises faults. */
    struct fs_faults *faults;
    struct fs_fault_source *printer_fault_source; /* M112, power loss */
    /* An MCU as a fault source (fault_actions.c): the axes it steps. */
    struct fs_printer_mcu_fault {
        struct fs_printer *p;
        int index;
        unsigned axes;
    } mcu_faults[FS_PRINTER_MAX_MCUS];
    char *config_text; /* every config file, for fault capsules */
    /* Notes the toolhead's position for fault capsules (fault_actions.c). */
    struct fs_timer position_timer;
    int position_timer_armed;
    /* [fault_policy] power_relay_pin: on from configure, off by the MCU's own
     * shutdown (its default), so every shutdown cuts the heaters' supply. */
    struct fs_mcu_output *power_relay;
    /* Scripts queued by timers and receive paths (runout_gcode), run by the
     * program loop through fs_printer_run_deferred. */
    struct fs_printer_script {
        const char *script; /* owned by the configuration */
        char source[FS_PRINTER_SCRIPT_SOURCE_MAX];
    } scripts[FS_PRINTER_SCRIPTS_MAX];
    int script_count;
    /* Set once the printer shut down (Klipper's behaviour until the fault
     * module routes faults through policies). */
    int is_shutdown;
    char shutdown_reason[256];
    /* Set once every MCU is configured (fs_printer_start succeeded). */
    int is_ready;
    enum fs_restart_request restart_request;
};

/* How the printer reaches its MCUs: the simulator's wires, serial ports,
 * or nothing at all (checking a configuration). */
struct fs_printer_backend {
    void *ctx;
    /* The host end of MCU `name`'s link; serial and baud as configured. */
    struct fs_transport *(*open_mcu)(void *ctx, const char *name, const char *serial,
                                     uint32_t baud, struct fs_error *err);
};

/* Phase 1: reads and validates the whole configuration, creating every
 * module; reports every unknown section or option. No MCU is contacted. */
int fs_printer_init(struct fs_printer *p, struct fs_reactor *reactor,
                    const struct fs_logger *log, struct fs_config *cfg,
                    const struct fs_printer_backend *backend, struct fs_error *err);
/* Phases 2..5: connect, build, configure, ready. */
int fs_printer_start(struct fs_printer *p, double timeout_s, struct fs_error *err);
void fs_printer_free(struct fs_printer *p);

/* Everything off on every MCU (emergency_stop), heaters off, the job in
 * its error state; the reason is kept for reports. Safe from timers. */
void fs_printer_shutdown(struct fs_printer *p, const char *reason);

/* Work that must not run where it is found (a timer callback, an MCU's
 * receive path: nothing may wait there) but in the program loop between
 * turns: the fault module's deferred actions, then queued scripts.
 * fs_printer_queue_script keeps the pointer (a configuration string) and
 * copies source; -1 when the queue is full (the script is dropped and
 * logged). The program loop calls fs_printer_run_deferred whenever
 * fs_printer_has_deferred says so, before the next file line. */
int fs_printer_queue_script(struct fs_printer *p, const char *script, const char *source);
int fs_printer_has_deferred(const struct fs_printer *p);
void fs_printer_run_deferred(struct fs_printer *p);

/* The stepsync of an MCU that drives steppers (made on first use). */
struct fs_stepsync *fs_printer_stepsync(struct fs_printer *p, struct fs_mcu *mcu,
                                        struct fs_error *err);

/* "printer.cfg:58: [stepper_x]": where MCU objects made from section s come
 * from, for errors found only once the MCU is known (fs_mcu_on_build_config_at).
 * Written into buf (a long path is cut with "..."); returns buf. */
#define FS_PRINTER_WHERE_MAX 320
const char *fs_printer_section_context(const struct fs_config_section *s, char *buf,
                                       size_t size);

/* The MCU named in a config ("mcu", "toolboard"), or NULL. */
struct fs_mcu *fs_printer_mcu(const struct fs_printer *p, const char *name);
/* The MCU of a pin read from an option, or -1 with
 * "printer.cfg:12: [stepper_x] step_pin: no [mcu toolbord] section". */
int fs_printer_pin_mcu(const struct fs_printer *p, const struct fs_config_section *s,
                       const char *option, const struct fs_pin_desc *pin,
                       struct fs_mcu **out, struct fs_error *err);

#endif
