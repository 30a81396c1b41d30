/* The job's inner state, shared by the files of engine/job only: job.c (the
 * state machine and the runner), virtual_sdcard.c, print_stats.c,
 * display_status.c, respond.c, pause_resume.c and idle_timeout.c. Nothing
 * outside engine/job includes this. */
#ifndef FS_JOB_INTERNAL_H
#define FS_JOB_INTERNAL_H

#include <stdio.h> /* FILE */

#include "core/reactor.h" /* struct fs_timer */
#include "job/job.h"      /* the public side */
#include "motion/gcode_move.h" /* struct fs_gcode_move_state */

struct fs_gcode;
struct fs_gcode_command;

/* The file being printed. fp is open only while printing or paused (or
 * selected and not yet started). */
struct fs_job_file {
    FILE *fp;
    char name[FS_JOB_NAME_MAX]; /* as selected, relative to the sdcard folder */
    char path[FS_JOB_DIR_MAX + FS_JOB_NAME_MAX]; /* resolved, for the journal */
    char mtime[32]; /* "seconds.nanoseconds" when opened: a changed file is not resumed */
    long size;
    long position; /* offset of the next line */
    long line;     /* number of the last line read (1-based) */
};

struct fs_print_stats {
    int started;               /* a job ran since the last reset */
    double start_time;         /* reactor time of the start */
    double end_time;           /* reactor time of the end, when ended */
    int ended;
    double printing_since;     /* start of the current printing stretch */
    double print_duration_s;   /* closed printing stretches */
    double filament_used_mm;
    char message[FS_JOB_MESSAGE_MAX];
};

struct fs_display_status {
    double progress;  /* M73 P as 0..1, or -1 */
    double remaining_s; /* M73 R, or -1 */
    char message[FS_JOB_MESSAGE_MAX];
};

struct fs_idle_timeout {
    struct fs_timer timer;
    enum fs_idle_state state;
    double last_activity;
    int due;     /* the timeout passed; fs_job_run runs the G-code */
    int running; /* the idle G-code is running */
};

#define FS_JOB_HEATERS_MAX 16

/* Heater targets the job brings back (fault pause, JOB_RECOVER). */
struct fs_job_heater_targets {
    int count;
    char name[FS_JOB_HEATERS_MAX][64];
    double target_c[FS_JOB_HEATERS_MAX];
};

/* A fault pause in progress (fault_pause.c). */
struct fs_job_fault_pause {
    int active;
    int after_halt; /* fs_job_halt_pause: the G-code state comes from a checkpoint */
    struct fs_job_park park;
    double paused_pos[4]; /* toolhead position where printing stopped */
    struct fs_job_heater_targets saved;
    struct fs_timer heaters_off_timer;
};

/* A hold (fs_job_hold) and the line it may have caught failing. */
struct fs_job_hold_state {
    int held;
    int failed_line;     /* the running line failed under the hold: rewound */
    char failed_source[FS_JOB_NAME_MAX + 24]; /* "name.gcode:12" */
    char failure[FS_JOB_MESSAGE_MAX];         /* its error */
};

/* Where each recent line started: its byte, its number and the G-code state
 * before it (whose position is where its moves start). After a halt drops
 * the queued moves, the line during which the motors stopped is found here
 * (fault_pause.c). A ring: the newest FS_JOB_CHECKPOINTS lines, enough for
 * the moves the toolhead plans ahead (FS_TOOLHEAD_MAX_LEAD_S). */
#define FS_JOB_CHECKPOINTS 1024
struct fs_job_checkpoint {
    long pos, line;
    struct fs_gcode_move_state g;
    /* The print's heater targets before the line (journal.print_targets'
     * values, in its order): lines read ahead of the motors may have
     * changed them (the end's M104 S0) though their moves never ran. */
    int target_count;
    double targets[FS_JOB_HEATERS_MAX];
};
struct fs_job_checkpoints {
    struct fs_job_checkpoint *ring; /* FS_JOB_CHECKPOINTS, allocated with the job */
    int count;                      /* valid entries, newest at next - 1 */
    int next;
};

struct fs_job_journal {
    char dir[FS_JOB_DIR_MAX];
    double next_write;   /* reactor time of the next periodic write */
    /* The line running now: where it started and the state before it, so
     * that an emergency stop inside it journals a line to run again. */
    long line_start_pos, line_start_line;
    struct fs_gcode_move_state line_start_state;
    int have_line_start_state;
    /* The state saved by the last pause (the journal of a paused job). */
    struct fs_gcode_move_state pause_state;
    int have_pause_state;
    char interrupted_reason[FS_JOB_MESSAGE_MAX];
    int interrupted;     /* ended by an emergency stop or a restart */
    /* Ended by an emergency stop while printing: the journal's line may be
     * ahead of the motors until fs_job_correct_after_shutdown. */
    int shutdown_pending;
    int shutdown_in_line; /* the stop was the running line itself (M112) */
    /* Heater targets as the print last set them (after each line): a heater
     * a fault switched off has lost its target by the time the pause runs. */
    struct fs_job_heater_targets print_targets;
};

struct fs_job {
    struct fs_printer *printer;
    struct fs_gcode *gcode;
    struct fs_reactor *reactor;
    struct fs_job_config cfg;
    char sdcard_dir[FS_JOB_DIR_MAX]; /* cfg.sdcard_path resolved */

    enum fs_job_state state;
    struct fs_job_file file;
    int in_runner;       /* a file line is being run */
    int pause_requested; /* fs_job_request_pause: the runner pauses next */

    fs_job_emergency_fn emergency_fn;
    void *emergency_arg;
    fs_job_resume_check_fn resume_check_fn;
    void *resume_check_arg;

    struct fs_print_stats stats;
    struct fs_display_status display;
    struct fs_idle_timeout idle;
    struct fs_job_hold_state hold;
    struct fs_job_fault_pause fault;
    struct fs_job_journal journal;
    struct fs_job_checkpoints checkpoints;
};

double fs_job_now(const struct fs_job *job);
/* Closes the file and moves to an end state (complete, cancelled, error);
 * message is kept for the error state. */
void fs_job_finish(struct fs_job *job, enum fs_job_state state, const char *message);
void fs_job_set_state(struct fs_job *job, enum fs_job_state state);
/* Opens an already checked path as the job's file (state standby). */
int fs_job_open_file(struct fs_job *job, const char *path, const char *name,
                     struct fs_error *err);

/* The pause every pause starts with: queued moves done, SAVE_GCODE_STATE,
 * statistics, state PAUSED (pause_resume.c). 1 when a halt stopped the
 * motors while the queued moves ran out: nothing is saved and the job stays
 * printing and held, for the halt's own pause (fs_job_halt_pause). */
int fs_job_pause_common(struct fs_job *job, struct fs_error *err);

/* Fault pause and its resume (fault_pause.c). */
void fs_job_fault_init(struct fs_job *job);
/* Ends a fault pause's timers and flag (resume, cancel, end of job). */
void fs_job_fault_end(struct fs_job *job);
/* RESUME after a fault pause: reheat, come back above the print, lower Z,
 * RESTORE_GCODE_STATE (without its own move). */
int fs_job_fault_resume(struct fs_job *job, double velocity, struct fs_error *err);
/* Heater targets: read them all, bring them back and wait. */
void fs_job_read_heater_targets(struct fs_job *job, struct fs_job_heater_targets *out);
int fs_job_reheat(struct fs_job *job, const struct fs_job_heater_targets *t, const char *who,
                  struct fs_error *err);
/* The head back to pos[0..2] without dragging across the print: up to
 * travel_z (at least the current Z), across at speed, down at z_speed. */
int fs_job_return_head(struct fs_job *job, const double pos[3], double travel_z, double speed,
                       double z_speed, struct fs_error *err);
/* The highest Z the head may go to (position_max of Z), INFINITY when unknown. */
double fs_job_z_max(const struct fs_job *job);

/* The newest checkpoint (index into the ring) whose line's path passes
 * through stopped (fault_pause.c); -1 when none does. stopped[3] NAN: E
 * unknown, X Y Z alone decide. */
int fs_job_find_stopped_line(const struct fs_job *job, const double stopped[4]);

/* The journal (journal.c). */
struct stat;
/* A file's mtime as text, exact to the nanosecond (a JSON number is not). */
void fs_job_format_mtime(const struct stat *st, char *out, size_t size);
void fs_job_journal_line_start(struct fs_job *job);
void fs_job_journal_after_line(struct fs_job *job);
/* Writes the journal, reporting an I/O error to the console. */
void fs_job_journal_note(struct fs_job *job);
int fs_job_recover_register(struct fs_job *job, struct fs_error *err);

/* Carries out a fs_job_request_pause; from fs_job_run only. */
void fs_job_run_requested_pause(struct fs_job *job);

/* Per-concern command registration, each beside its commands. */
int fs_job_sdcard_register(struct fs_job *job, struct fs_error *err);
int fs_job_pause_resume_register(struct fs_job *job, struct fs_error *err);
int fs_job_display_register(struct fs_job *job, struct fs_error *err);
int fs_job_respond_register(struct fs_job *job, struct fs_error *err);
int fs_job_idle_register(struct fs_job *job, struct fs_error *err);
void fs_job_idle_init(struct fs_job *job);
void fs_job_idle_stop(struct fs_job *job);
/* Runs the idle G-code when its timeout has passed; from fs_job_run only. */
void fs_job_idle_run_due(struct fs_job *job);
void fs_job_idle_state_changed(struct fs_job *job);

/* Print statistics follow the state machine. */
void fs_print_stats_reset(struct fs_print_stats *s);
void fs_print_stats_start(struct fs_print_stats *s, double now);
void fs_print_stats_pause(struct fs_print_stats *s, double now);
void fs_print_stats_resume(struct fs_print_stats *s, double now);
void fs_print_stats_end(struct fs_print_stats *s, int was_printing, double now);
double fs_print_stats_print_duration(const struct fs_print_stats *s, int printing, double now);
double fs_print_stats_total_duration(const struct fs_print_stats *s, double now);

void fs_display_status_reset(struct fs_display_status *d);
/* M73 values belong to one print: a new start forgets them. */
void fs_display_status_reset_progress(struct fs_display_status *d);

/* The text after a command's name (M23 file, M117/M118 message), without
 * surrounding blanks, copied into out; -1 when it does not fit. */
int fs_job_rest_text(const struct fs_gcode_command *cmd, char *out, size_t out_size);
/* A bounded copy of a parameter value (the parser already removed its
 * quotes); -1 when it does not fit. */
int fs_job_copy_text(const char *value, char *out, size_t out_size);

#endif
