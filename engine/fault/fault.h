/* Faults: the one way any part of the engine stops, pauses, halts, cancels,
 * degrades or shuts the machine down (../shared/FAULTS.md is the model).
 *
 * A module that owns a part registers it once as a *source* at
 * configuration time (its name as in the config, its class, its section,
 * and the operations the fault module may call on it), then reports what it
 * detects with fs_fault_raise(source, kind, evidence). The fault module
 * looks up the source's policy (per-object options over the
 * [fault_policy] profile, never below the safety floor), folds duplicates,
 * escalates repeats, records the fault (journal line + capsule) and carries
 * out the action through the owners of the affected objects: the source's
 * own ops (disable, clear) and the printer's action hooks (pause, halt,
 * cancel, shutdown, macros).
 *
 * Two stages, because faults are detected where waiting is not allowed (a
 * sensor reading arrives in a timer callback, an MCU message in the
 * receive path): fs_fault_raise does at once everything that must not wait
 * (the part off, motion stopped, MCUs told to stop, the job told not to
 * start another line) and queues the rest (park, read back positions, the
 * on_fault_gcode macro), which the program's main loop runs with
 * fs_faults_run_deferred, most severe first.
 *
 * Configuration read here (every option is validated at load, with
 * file:line; a policy below the floor is rejected naming the object, the
 * kind, the floor and why):
 *   per object section: on_fault, on_<kind>, on_fault_gcode,
 *     fault_tolerance, shutdown_on_error, on_error_gcode;
 *   [fault_policy]: profile (failsoft | strict), pause_heaters
 *     (keep | standby | off), pause_standby_temp, pause_heaters_timeout,
 *     park_x, park_y, park_z_lift, park_speed, z_lift_speed,
 *     pause_idle_timeout, escalate_count, escalate_window, journal_path,
 *     capsule_seconds. */
#ifndef FS_FAULT_H
#define FS_FAULT_H

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* FILE */

struct cJSON;
struct fs_gcode;
struct fs_config;
struct fs_config_section;
struct fs_error;
struct fs_faults;
struct fs_fault_source;
struct fs_logger;
struct fs_reactor;

/* The catalogue. Order is not severity; names are the config spellings
 * (on_sensor_open) and the journal's. FS_FAULT_KIND_COUNT entries exist in
 * the catalogue table (catalogue.c), each with how it is detected and which
 * options tune it. */
enum fs_fault_kind {
    FS_FAULT_SENSOR_OPEN,
    FS_FAULT_SENSOR_SHORT,
    FS_FAULT_SENSOR_GLITCH,
    FS_FAULT_OVER_TEMPERATURE,
    FS_FAULT_UNDER_TEMPERATURE,
    FS_FAULT_NOT_HEATING,
    FS_FAULT_RUNAWAY,
    FS_FAULT_UNCOMMANDED_HEATING,
    FS_FAULT_FAN_STALLED,
    FS_FAULT_DRIVER_ERROR,
    FS_FAULT_DRIVER_WARNING,
    FS_FAULT_RUNOUT,
    FS_FAULT_JAM,
    FS_FAULT_COMM_LOST,
    FS_FAULT_MCU_SHUTDOWN,
    FS_FAULT_MCU_RESET,
    FS_FAULT_VERSION_MISMATCH,
    FS_FAULT_TIMING_OVERRUN,
    FS_FAULT_MOVE_OUT_OF_RANGE,
    FS_FAULT_HOMING_FAILED,
    FS_FAULT_COLD_EXTRUDE,
    FS_FAULT_POWER_LOSS,
    FS_FAULT_EMERGENCY_STOP, /* M112: a person asked for a shutdown */
    FS_FAULT_KIND_COUNT
};

/* Actions from mild to severe; the numeric order is the severity order. */
enum fs_fault_action {
    FS_FAULT_LOG,
    FS_FAULT_WARN,
    FS_FAULT_DISABLE,
    FS_FAULT_PAUSE,
    FS_FAULT_HALT,
    FS_FAULT_CANCEL,
    FS_FAULT_SHUTDOWN,
    FS_FAULT_ACTION_COUNT
};

/* What kind of part a source is: decides which kinds it can raise, its
 * floors and its defaults. */
enum fs_fault_class {
    FS_FAULT_CLASS_HEATER,    /* [extruder], [heater_bed], [heater_generic X] */
    FS_FAULT_CLASS_SENSOR,    /* [temperature_sensor X]: no output */
    FS_FAULT_CLASS_FAN,       /* [fan], [heater_fan X], [fan_generic X] */
    FS_FAULT_CLASS_DRIVER,    /* [tmc2209 stepper_x] */
    FS_FAULT_CLASS_FILAMENT,  /* [filament_switch_sensor X], [filament_motion_sensor X] */
    FS_FAULT_CLASS_MCU,       /* [mcu], [mcu X] */
    FS_FAULT_CLASS_MOTION,    /* the toolhead: range, homing, timing, cold extrusion */
    FS_FAULT_CLASS_PRINTER,   /* the machine as a whole: M112, power loss */
    FS_FAULT_CLASS_COUNT
};

enum fs_fault_profile {
    FS_FAULT_PROFILE_FAILSOFT, /* default: pause on recoverable faults */
    FS_FAULT_PROFILE_STRICT,   /* every fault shuts down, like the common host */
};

enum fs_fault_pause_heaters {
    FS_FAULT_PAUSE_HEATERS_KEEP,    /* other heaters keep their targets */
    FS_FAULT_PAUSE_HEATERS_STANDBY, /* hotends drop to pause_standby_temp */
    FS_FAULT_PAUSE_HEATERS_OFF,     /* all off after pause_heaters_timeout */
};

/* Source flags, known when the source is added. */
#define FS_FAULT_SOURCE_DRIVES_AXES 0x1u /* an MCU with X/Y/Z steppers on it */
#define FS_FAULT_SOURCE_AXIS_X 0x2u      /* a driver of an X (Y, Z) stepper */
#define FS_FAULT_SOURCE_AXIS_Y 0x4u
#define FS_FAULT_SOURCE_AXIS_Z 0x8u
#define FS_FAULT_SOURCE_COOLS_HEATER 0x10u /* a heater_fan: its stall lets heat creep */

#define FS_FAULT_AXIS_X 0x1u
#define FS_FAULT_AXIS_Y 0x2u
#define FS_FAULT_AXIS_Z 0x4u

#define FS_FAULT_NAME_MAX 64
#define FS_FAULT_EVIDENCE_MAX 256
#define FS_FAULT_SCRIPT_MAX 2048
#define FS_FAULT_PATH_MAX 1024
/* Sources per printer, faults remembered for FAULTS, deferred work queue. */
#define FS_FAULT_SOURCES_MAX 64
#define FS_FAULT_RECENT_MAX 64

/* ---- the catalogue (catalogue.c) ----------------------------------------- */

struct fs_fault_kind_info {
    enum fs_fault_kind kind;
    const char *name;      /* "sensor_open" */
    const char *detected;  /* how it is detected, one sentence */
    const char *tuned_by;  /* options that tune it ("fault_tolerance, min_temp") */
    unsigned classes;      /* bit (1 << class) per class that can raise it */
};
const struct fs_fault_kind_info *fs_fault_kind_info(enum fs_fault_kind kind);
const char *fs_fault_kind_name(enum fs_fault_kind kind);
/* -1 for an unknown name. */
int fs_fault_kind_from_name(const char *name);
const char *fs_fault_action_name(enum fs_fault_action a);
int fs_fault_action_from_name(const char *name);
const char *fs_fault_class_name(enum fs_fault_class c);
/* Whether a source of class cls can raise kind (the catalogue's classes). */
int fs_fault_class_can_raise(enum fs_fault_class cls, enum fs_fault_kind kind);
/* The floor table itself, row by row (for the catalogue and the tests): a
 * row applies to classes (bit per class) raising kinds (bit per kind) with
 * at least one of flags_any set (0: any flags). -1 past the last row. */
int fs_fault_floor_row_count(void);
int fs_fault_floor_row(int i, unsigned *classes, unsigned long *kinds, unsigned *flags_any,
                       enum fs_fault_action *floor, const char **why);

/* The safety floor: the mildest action allowed for kind on a source of this
 * class with these flags, and why (a sentence for errors and the
 * catalogue). */
enum fs_fault_action fs_fault_floor(enum fs_fault_class cls, unsigned source_flags,
                                    enum fs_fault_kind kind, const char **why);
/* The default action of a profile, before per-object options; never below
 * the floor. */
enum fs_fault_action fs_fault_default_action(enum fs_fault_profile profile,
                                             enum fs_fault_class cls, unsigned source_flags,
                                             enum fs_fault_kind kind);

/* ---- the module ------------------------------------------------------------ */

/* One fault as recorded (FAULTS, the journal, on_fault_gcode's parameters). */
struct fs_fault_record {
    unsigned long id;                  /* 1, 2, ...; with a journal, after its last id */
    double time;                       /* host monotonic seconds (reactor) */
    char source[FS_FAULT_NAME_MAX];    /* "extruder", "mcu toolboard" */
    enum fs_fault_kind kind;
    char evidence[FS_FAULT_EVIDENCE_MAX];
    enum fs_fault_action policy;       /* what the configuration asked for */
    enum fs_fault_action action;       /* what was done (escalation applied) */
    int escalated;
    int folded;                        /* duplicate reports folded into this one */
    int active;                        /* latched (disable and above): not cleared yet */
    unsigned axes_valid;               /* FS_FAULT_AXIS_* still trustworthy after it */
    char capsule[FS_FAULT_PATH_MAX];   /* capsule file, "" when none was written */
    unsigned carried;                  /* bit (1 << action) per action carried out */
    int acked;                         /* a halt acknowledged (FAULT_ACK) */
};

/* What the fault module may ask of the part a source stands for. Any
 * member may be NULL. */
struct fs_fault_source_ops {
    /* Switch the part off and keep it off (disable and every stronger
     * action). Any context: must not wait. */
    void (*disable)(void *arg, enum fs_fault_kind kind);
    /* FAULT_CLEAR: re-enable the part; refuse (-1, err says what still
     * reads bad) while the cause persists. */
    int (*clear)(void *arg, enum fs_fault_kind kind, struct fs_error *err);
    /* Axes whose position this fault makes untrustworthy (FS_FAULT_AXIS_*). */
    unsigned (*untrusted_axes)(void *arg, enum fs_fault_kind kind);
    /* Current state for the capsule (may add members to obj). Called
     * inside fs_fault_raise when a journal is configured: must not wait. */
    void (*describe)(void *arg, struct cJSON *obj);
};

/* The printer's side: how actions reach the job, the motion and the MCUs.
 * Immediate hooks run inside fs_fault_raise (any context, must not wait);
 * deferred hooks run from fs_faults_run_deferred (main loop, may wait). */
struct fs_fault_actions {
    void *arg;
    /* Immediate. */
    void (*stop_job_lines)(void *arg);                  /* no further line starts */
    void (*halt_motion)(void *arg);                     /* discard queued steps now */
    void (*heaters_off)(void *arg);                     /* every heater off now */
    void (*shutdown)(void *arg, const char *reason);    /* emergency_stop everywhere */
    /* Deferred. */
    int (*pause)(void *arg, struct fs_error *err);      /* save, lift, park, heaters */
    int (*finish_halt)(void *arg, unsigned untrusted_axes, struct fs_error *err);
    int (*cancel)(void *arg, struct fs_error *err);
    /* Once after a shutdown (the MCUs already stopped): read the motors'
     * positions back and let the job's journal say where printing really
     * stopped. Runs although a shutdown skips the deferred pause, halt and
     * cancel. */
    int (*finish_shutdown)(void *arg, struct fs_error *err);
    int (*run_gcode)(void *arg, const char *script, const struct fs_fault_record *rec,
                     struct fs_error *err);
    /* Queries. */
    unsigned (*homed_axes)(void *arg);
    int (*job_active)(void *arg);                       /* printing or paused */
    /* Printer state for capsules; called inside fs_fault_raise (when a
     * journal is configured): must not wait. */
    void (*describe)(void *arg, struct cJSON *obj);
};

struct fs_fault_policy_config {
    enum fs_fault_profile profile;
    enum fs_fault_pause_heaters pause_heaters;
    double pause_standby_temp_c;   /* 150 */
    double pause_heaters_timeout_s; /* 600: OFF turns heaters off after this */
    double park_x, park_y;         /* NAN: do not move that axis */
    double park_z_lift;            /* 10 mm, clipped to position_max */
    double park_speed, z_lift_speed; /* 100, 10 mm/s */
    double pause_idle_timeout_s;   /* 0: the idle timeout never fires in a fault pause */
    int escalate_count;            /* 3 faults of a source ... */
    double escalate_window_s;      /* ... within 60 s escalate */
    char journal_path[FS_FAULT_PATH_MAX]; /* folder; "" = no files */
    double capsule_seconds;        /* 10 s of history per capsule */
};

/* Reads [fault_policy] (defaults when absent). Relative journal_path is
 * resolved against the config file's folder. */
int fs_fault_policy_read(struct fs_config *cfg, struct fs_fault_policy_config *out,
                         struct fs_error *err);

struct fs_faults *fs_faults_new(struct fs_reactor *reactor, const struct fs_logger *log,
                                const struct fs_fault_policy_config *pc, struct fs_error *err);
void fs_faults_free(struct fs_faults *f);
void fs_faults_set_actions(struct fs_faults *f, const struct fs_fault_actions *a);
/* Where "!!" announcements go (the G-code console); may be NULL. */
typedef void (*fs_faults_announce_fn)(void *arg, const char *line);
void fs_faults_set_announce(struct fs_faults *f, fs_faults_announce_fn fn, void *arg);
const struct fs_fault_policy_config *fs_faults_policy(const struct fs_faults *f);

/* Adds a source and reads its policy from section (NULL: profile defaults
 * only). Rejects, with file:line, a policy below the floor, an unknown
 * action or an on_<kind> the class cannot raise. */
struct fs_fault_source *fs_faults_add_source(struct fs_faults *f, const char *name,
                                             enum fs_fault_class cls, unsigned flags,
                                             struct fs_config_section *section,
                                             const struct fs_fault_source_ops *ops, void *arg,
                                             struct fs_error *err);
struct fs_fault_source *fs_faults_lookup(const struct fs_faults *f, const char *name);
int fs_faults_source_count(const struct fs_faults *f);
enum fs_fault_class fs_fault_source_class(const struct fs_fault_source *s);
/* The effective action for kind (options, profile and floor applied). */
enum fs_fault_action fs_fault_source_action(const struct fs_fault_source *s,
                                            enum fs_fault_kind kind);
/* fault_tolerance in seconds, or def when the section does not set it. */
double fs_fault_source_tolerance(const struct fs_fault_source *s, double def);
/* Latched: a fault of this source with an action of disable or more, not
 * yet cleared (log and warn faults do not latch). */
int fs_fault_source_is_faulted(const struct fs_fault_source *s);

/* THE way to report a fault. src NULL (an object built without a fault
 * module, e.g. in unit tests) only logs. Safe from any context. */
void fs_fault_raise(struct fs_fault_source *src, enum fs_fault_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fs_fault_vraise(struct fs_fault_source *src, enum fs_fault_kind kind, const char *fmt,
                     va_list ap);

/* Deferred work (pause, halt read-back, macros), most severe first. */
int fs_faults_has_work(const struct fs_faults *f);
void fs_faults_run_deferred(struct fs_faults *f);

/* FAULT_CLEAR: clears the latched faults of a source (all sources when
 * NULL) once its clear op agrees; -1 with the reason otherwise. */
int fs_faults_clear(struct fs_faults *f, struct fs_fault_source *src, struct fs_error *err);
/* RESUME's veto: -1 naming the first latched fault whose action was pause
 * or stronger (a part disabled under on_fault: disable stays off but does
 * not hold the job). */
int fs_faults_check_resume(const struct fs_faults *f, struct fs_error *err);
/* Shut down: only FIRMWARE_RESTART/RESTART get the machine back. */
int fs_faults_is_shutdown(const struct fs_faults *f);
/* Halted and not yet acknowledged (FAULT_ACK or FAULT_CLEAR): new motion is
 * refused with err naming the fault. */
int fs_faults_check_motion(const struct fs_faults *f, struct fs_error *err);
/* FAULT_ACK: every active halt is acknowledged; maintenance moves are
 * allowed again (the faults stay latched). Returns how many were. */
int fs_faults_ack(struct fs_faults *f);
/* In a pause or halt caused by a fault (the idle timeout asks this). */
int fs_faults_in_fault_stop(const struct fs_faults *f);

/* Records, newest last: active ones and the recent cleared ones. */
int fs_faults_record_count(const struct fs_faults *f);
const struct fs_fault_record *fs_faults_record_at(const struct fs_faults *f, int i);

/* History for capsules: sensor samples, commands run, toolhead positions.
 * Cheap (ring buffers); the newest capsule_seconds are kept. */
void fs_faults_note_sample(struct fs_faults *f, const char *source, double time, double value);
void fs_faults_note_command(struct fs_faults *f, double time, const char *line);
void fs_faults_note_position(struct fs_faults *f, double time, const double pos[4]);
/* The configuration text for capsules (the caller keeps it alive). */
void fs_faults_set_config_text(struct fs_faults *f, const char *path, const char *text);

/* Reads the journal in journal_path (faults.jsonl), calling fn for each
 * line, oldest first; stops at fn's first non-zero return and returns it.
 * An absent journal has no lines. */
int fs_fault_journal_for_each(const char *journal_path,
                              int (*fn)(void *arg, const struct cJSON *entry), void *arg,
                              struct fs_error *err);

/* G-code: FAULTS, FAULT_CLEAR [SOURCE=], FAULT_ACK (a halt acknowledged:
 * maintenance moves allowed), FAULT_TEST SOURCE= KIND= [EVIDENCE=]. */
int fs_faults_register_gcode(struct fs_faults *f, struct fs_gcode *g, struct fs_error *err);

/* The catalogue and effective policies as JSON (`failsoft faults --json`)
 * and as text; f NULL: catalogue only. */
struct cJSON *fs_faults_catalogue_json(const struct fs_faults *f);
int fs_faults_catalogue_print(const struct fs_faults *f, FILE *out);

#endif
