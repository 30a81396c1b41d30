/* The fault module's own state, shared by its files (fault.c, policy.c,
 * recorder.c, journal.c, fault_gcode.c, catalogue_print.c); nothing outside
 * engine/fault includes this. Every array is fixed at fs_faults_new: the
 * module never allocates after configuration, so raising a fault from a
 * timer callback or a receive path cannot fail for lack of memory. */
#ifndef FS_FAULT_INTERNAL_H
#define FS_FAULT_INTERNAL_H

#include "fault/fault.h"

#include <stddef.h> /* size_t */

#include "core/log.h" /* struct fs_logger */

/* Faults of one source remembered for escalation (escalate_count's bound). */
#define FS_FAULT_ESCALATE_MAX 32
/* Deferred work items waiting for the main loop. */
#define FS_FAULT_DEFERRED_MAX 64

/* A source's policy as read from its section (policy.c). */
struct fs_fault_source_policy {
    enum fs_fault_action action[FS_FAULT_KIND_COUNT];
    /* Where the action came from, for the catalogue: "profile", "on_fault",
     * "shutdown_on_error", "floor" (a blanket raised to it), "on_<kind>". */
    const char *origin[FS_FAULT_KIND_COUNT];
    int has_tolerance;
    double tolerance_s;
    char gcode[FS_FAULT_SCRIPT_MAX]; /* on_fault_gcode; "" none */
};

struct fs_fault_source {
    struct fs_faults *owner;
    char name[FS_FAULT_NAME_MAX];
    enum fs_fault_class cls;
    unsigned flags;
    struct fs_fault_source_ops ops;
    void *arg;
    struct fs_fault_source_policy policy;
    /* Latched kinds (bit per kind) and their record ids, for folding. */
    unsigned long active_kinds;
    unsigned long active_id[FS_FAULT_KIND_COUNT];
    /* The last log/warn record per kind (not latched; repeats fold). */
    unsigned long note_id[FS_FAULT_KIND_COUNT];
    /* Times of this source's recent (unfolded) faults, a ring. */
    double fault_times[FS_FAULT_ESCALATE_MAX];
    int fault_time_count, fault_time_next;
};

enum fs_fault_work {
    FS_FAULT_WORK_PAUSE,
    FS_FAULT_WORK_FINISH_HALT,
    FS_FAULT_WORK_CANCEL,
    FS_FAULT_WORK_FINISH_SHUTDOWN, /* after a shutdown: positions read back */
    FS_FAULT_WORK_GCODE,
    FS_FAULT_WORK_JOURNAL, /* the journal line and capsule, after the rest */
};

struct fs_fault_deferred {
    enum fs_fault_work work;
    enum fs_fault_action severity;
    unsigned long record_id;
    struct fs_fault_source *src;
    unsigned untrusted_axes;
    unsigned long order; /* FIFO among equal severities */
    struct cJSON *snapshot; /* JOURNAL: the states taken at the fault */
};

struct fs_fault_recorder; /* recorder.c */

struct fs_faults {
    struct fs_reactor *reactor;
    const struct fs_logger *log;
    struct fs_fault_policy_config pc;
    struct fs_fault_actions actions;
    int has_actions;
    fs_faults_announce_fn announce;
    void *announce_arg;

    struct fs_fault_source sources[FS_FAULT_SOURCES_MAX];
    int source_count;

    /* Records, oldest first. */
    struct fs_fault_record records[FS_FAULT_RECENT_MAX];
    int record_count;
    unsigned long next_id;

    struct fs_fault_deferred deferred[FS_FAULT_DEFERRED_MAX];
    int deferred_count;
    unsigned long deferred_order;
    int running_deferred;

    int shutdown;

    struct fs_fault_recorder *recorder;
    const char *config_path, *config_text;
};

/* policy.c: reads a source's options (section may be NULL). */
int fs_fault_source_policy_read(enum fs_fault_profile profile, enum fs_fault_class cls,
                                unsigned flags, struct fs_config_section *section,
                                struct fs_fault_source_policy *out, struct fs_error *err);
/* "a heater", "an MCU that drives axes", ... for messages. */
const char *fs_fault_class_phrase(enum fs_fault_class cls, unsigned flags);

/* fault.c */
double fs_faults_now(const struct fs_faults *f);
struct fs_fault_record *fs_faults_find_record(struct fs_faults *f, unsigned long id);

/* recorder.c */
struct fs_fault_recorder *fs_fault_recorder_new(double seconds);
void fs_fault_recorder_free(struct fs_fault_recorder *r);
/* Adds the history newest capsule_seconds before `now` to obj as arrays
 * "samples", "commands", "positions". */
void fs_fault_recorder_describe(const struct fs_fault_recorder *r, double now,
                                struct cJSON *obj);

/* journal.c: the printer's and the source's state now, for the capsule
 * (taken inside fs_fault_raise). */
struct cJSON *fs_fault_journal_snapshot(struct fs_faults *f, struct fs_fault_source *src);
/* Writes the capsule and the journal line of rec (fills rec->capsule).
 * Errors are logged and announced, never fatal. */
void fs_fault_journal_write(struct fs_faults *f, struct fs_fault_record *rec,
                            struct cJSON *snapshot);
/* The highest id in the journal (0: none), so ids and capsule names go on
 * across runs instead of overwriting the last run's capsules. */
unsigned long fs_fault_journal_last_id(const char *journal_path);
#endif
