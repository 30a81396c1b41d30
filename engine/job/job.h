/* The print job: one G-code file being printed, its state, its statistics,
 * and the commands around it ([virtual_sdcard], [pause_resume],
 * [idle_timeout], [respond], M73/M117, M112).
 *
 * The job is a state machine:
 *
 *   standby --start--> printing --pause--> paused --resume--> printing
 *   printing --end of file--> complete
 *   printing|paused --CANCEL_PRINT--> cancelled
 *   printing --a line fails / M112--> error ("name.gcode:12: <message>")
 *   printing --hold (a fault)--> printing, no line starts --fault pause--> paused
 *                                                       (lifted, parked, flagged)
 *   (after a restart) standby --JOB_RECOVER (job.json)--> printing
 *
 * Every state but printing and paused has no file open; a new file can be
 * selected and started from any of them, so an error in a line never leaves
 * the machine unusable.
 *
 * The runner contract. The engine is single-threaded and never sleeps, so
 * the job does not own a loop: the program's main loop calls
 * fs_job_run(job, max_lines) again and again. Each call runs at most
 * max_lines lines of the file through fs_gcode_run_line (source
 * "name.gcode:LINE"), and returns early when the job leaves the printing
 * state (paused, complete, cancelled, error) or when the printer has
 * deferred work (fs_printer_has_deferred) for the program loop. A line may block inside its
 * handler (a full move queue waits through fs_reactor_wait_for), which is
 * why fs_job_run must be called from the main loop and never from a timer
 * callback. Between calls the main loop lets the reactor run
 * (fs_reactor_pause), so console commands, timers and MCU traffic keep
 * flowing during a print. fs_job_has_work tells whether calling again at
 * once would do anything; when it says no, the main loop may wait for
 * events. The idle-timeout G-code and a pause requested from a timer
 * (fs_job_request_pause) are also carried out by fs_job_run, since both may
 * wait for moves, which a timer callback must not do.
 *
 * The byte position is the offset of the next line to run: it is advanced
 * before a line is dispatched, so a PAUSE in the file (or M25) resumes after
 * the line that paused, and after each line position/size is the progress.
 *
 * Filament used is counted through fs_job_note_extrusion, which the motion
 * code calls with the commanded E travel of each move (negative for a
 * retraction). That is simpler than diffing toolhead positions around each
 * line: it needs no extra toolhead query per line, is blind to G92 resets,
 * and counts extrusion done by macros called from the file. Only travel made
 * while printing counts (not maintenance moves during a pause). */
#ifndef FS_JOB_H
#define FS_JOB_H

#include <stddef.h> /* size_t */

struct cJSON;
struct fs_config;
struct fs_error;
struct fs_job;
struct fs_printer;

#define FS_JOB_NAME_MAX 256    /* a file name relative to the sdcard folder */
#define FS_JOB_DIR_MAX 1024    /* the sdcard folder */
#define FS_JOB_SCRIPT_MAX 2048 /* idle_timeout gcode */
#define FS_JOB_MESSAGE_MAX 512 /* error reasons, M117 messages */
#define FS_JOB_PREFIX_MAX 32   /* respond default_prefix */

enum fs_job_state {
    FS_JOB_STANDBY,
    FS_JOB_PRINTING,
    FS_JOB_PAUSED,
    FS_JOB_COMPLETE,
    FS_JOB_CANCELLED,
    FS_JOB_ERROR,
};

/* What [idle_timeout] reports: Printing while a job prints, Ready after any
 * activity, Idle once the timeout G-code has run. */
enum fs_idle_state { FS_IDLE_IDLE, FS_IDLE_READY, FS_IDLE_PRINTING };

enum fs_respond_type { FS_RESPOND_ECHO, FS_RESPOND_COMMAND, FS_RESPOND_ERROR };

/* The job's settings, read from printer.cfg by fs_job_config_read or filled
 * by hand (tests, the command line). Strings are copied; a value that does
 * not fit is an error, never truncated. */
struct fs_job_config {
    int has_virtual_sdcard;         /* [virtual_sdcard] present */
    char sdcard_path[FS_JOB_DIR_MAX]; /* path: the folder files are printed from */
    char sdcard_on_error_gcode[FS_JOB_SCRIPT_MAX]; /* on_error_gcode: run when a line fails */
    int has_pause_resume;           /* [pause_resume] present: PAUSE, RESUME, CANCEL_PRINT */
    double recover_velocity;        /* mm/s back to the paused position; 50 */
    double idle_timeout_s;          /* [idle_timeout] timeout; 600 */
    char idle_gcode[FS_JOB_SCRIPT_MAX]; /* "TURN_OFF_HEATERS\nM84" */
    int has_respond;                /* [respond] present: RESPOND, M118 */
    enum fs_respond_type respond_default_type;     /* echo */
    char respond_default_prefix[FS_JOB_PREFIX_MAX]; /* "" = the type's own */
};

void fs_job_config_defaults(struct fs_job_config *c);
/* Reads [virtual_sdcard], [pause_resume], [idle_timeout] and [respond] from
 * cfg into out (defaults first). Errors name file:line and the option. */
int fs_job_config_read(struct fs_config *cfg, struct fs_job_config *out, struct fs_error *err);

/* Creates the job and registers its G-code commands on p->gcode; arms the
 * idle timer on p->reactor. p->gcode and p->reactor are required;
 * p->toolhead and p->heaters are used when present. The caller stores the
 * result in p->job (the motion code finds fs_job_note_extrusion there). */
int fs_job_new(struct fs_printer *p, const struct fs_job_config *c, struct fs_job **out,
               struct fs_error *err);
/* The dispatcher keeps pointers to the job in its handlers and cannot drop
 * them: free the dispatcher first, or run no command after this. */
void fs_job_free(struct fs_job *job);

/* The runner (see the contract above). Returns the number of file lines
 * run. Errors in lines are not returned: they put the job in its error
 * state, are reported to the G-code output as "!! name.gcode:12: ..." and
 * are available from fs_job_message. */
int fs_job_run(struct fs_job *job, int max_lines);
int fs_job_has_work(const struct fs_job *job);

/* Control, shared by the G-code commands and by other modules (the fault
 * module pauses and cancels through these, so there is one pause path).
 * Selecting a file takes a name relative to the [virtual_sdcard] folder;
 * a name that resolves outside it (.., symlinks) is refused. Selecting
 * while printing or paused is refused. */
int fs_job_select_file(struct fs_job *job, const char *name, struct fs_error *err);
/* For the program's own command line (`failsoft sim FILE`): any local file,
 * whoever runs the program may read it anyway. Never reachable from G-code. */
int fs_job_select_path(struct fs_job *job, const char *path, struct fs_error *err);
/* Starts the selected file from its current position (M24, SDCARD_PRINT_FILE). */
int fs_job_start(struct fs_job *job, struct fs_error *err);
/* M26: only while not printing. */
int fs_job_set_position(struct fs_job *job, long position, struct fs_error *err);
/* Waits for the queued moves, runs SAVE_GCODE_STATE NAME=PAUSE_STATE and
 * pauses. Pausing a paused job is not an error. Must not be called from a
 * timer callback (it waits for moves). */
int fs_job_pause(struct fs_job *job, struct fs_error *err);
/* The same pause, asked for where waiting is not allowed (a timer callback,
 * a fault detected while a reading arrives): no further line is started,
 * and the next fs_job_run pauses. A pause that then fails ends the job in
 * error, since whoever asked for it wanted the print to stop. */
void fs_job_request_pause(struct fs_job *job);
/* Runs RESTORE_GCODE_STATE NAME=PAUSE_STATE MOVE=1 MOVE_SPEED=velocity and
 * continues from the saved byte; velocity <= 0 uses recover_velocity.
 * Refused when not paused or when the resume check says no. After a fault
 * pause (fs_job_fault_pause) it first heats every heater back to its saved
 * target and waits ("RESUME: heating extruder to 210 C"), moves the head up
 * to the paused Z + z_lift, across to the paused X Y at velocity, down to
 * the paused Z at z_speed, then restores the G-code state without a move;
 * a line a fault stopped runs again. */
int fs_job_resume(struct fs_job *job, double velocity, struct fs_error *err);
/* Ends a printing or paused job: cancelled, file closed. */
int fs_job_cancel(struct fs_job *job, struct fs_error *err);
/* SDCARD_RESET_FILE: closes the file and returns to standby. */
int fs_job_reset_file(struct fs_job *job, struct fs_error *err);
/* M112 and any other emergency: the job stops at once in the error state
 * with reason, then the emergency handler is called with it. */
void fs_job_emergency_stop(struct fs_job *job, const char *reason);

/* ---- fault actions (the fault module's pause, engine/fault/fault.h) ----
 *
 * A fault is raised where waiting is not allowed, so its pause comes in two
 * steps. fs_job_hold (immediate, any context, even inside a line's handler)
 * stops the runner: no further line starts and fs_job_run returns when the
 * running line ends. If that line then FAILS (the fault was raised inside
 * it: a cold extrusion, a move out of range), it is not a job error: the
 * byte position goes back to the line's start so that it runs again after
 * RESUME. A hold never pauses by itself; the fault module's deferred pause
 * (fs_job_fault_pause, from the main loop) does, so there is one pause with
 * one park. fs_job_release drops a hold that did not end in a pause; a line
 * that failed under it then ends the job in error, as it would have
 * without the hold. */
void fs_job_hold(struct fs_job *job);
void fs_job_release(struct fs_job *job);
int fs_job_is_held(const struct fs_job *job);

/* How other heaters behave during a fault pause (the order of
 * enum fs_fault_pause_heaters). */
enum fs_job_pause_heaters {
    FS_JOB_PAUSE_HEATERS_KEEP,    /* targets unchanged */
    FS_JOB_PAUSE_HEATERS_STANDBY, /* hotends (heaters named extruder*) above
                                   * standby_temp_c drop to it; the bed keeps */
    FS_JOB_PAUSE_HEATERS_OFF,     /* every heater off after heaters_timeout_s */
};

/* Where and how a fault pause parks ([fault_policy]). */
struct fs_job_park {
    double x, y;           /* park position; NAN: that axis does not move */
    double z_lift;         /* mm above the paused Z, clipped to position_max */
    double speed;          /* XY mm/s */
    double z_speed;        /* Z mm/s (lift, and the way down on resume) */
    enum fs_job_pause_heaters heaters;
    double standby_temp_c;
    double heaters_timeout_s;
    double idle_timeout_s; /* idle timeout while fault-paused; 0: never */
};

/* The fault module's pause; main loop only (it waits for moves). The
 * queued moves complete, SAVE_GCODE_STATE NAME=PAUSE_STATE, every heater's
 * target is saved (a heater the fault switched off keeps the target the
 * print had asked for), the head lifts by z_lift at z_speed and moves to
 * x/y at speed, heaters follow park->heaters, and the job is PAUSED with
 * "paused by fault" set (status "paused_by_fault"). The machine stays homed
 * with motors on: console moves (G0/G1, G28 X) are the job's business only
 * in that the idle timeout follows park->idle_timeout_s, announced. Without
 * a running print it does nothing (returns 0). Pausing a job a person
 * already paused adds the heater policy and the flag, without moving. A
 * failed lift or park leaves the job paused and returns -1. */
int fs_job_fault_pause(struct fs_job *job, const struct fs_job_park *park, struct fs_error *err);
int fs_job_paused_by_fault(const struct fs_job *job);
/* The pause after a halt (the fault module's finish_halt, once
 * fs_toolhead_halt_finish has read the motors' positions back). The halt
 * dropped moves the job had already queued, so the file position is
 * behind the lines read: the job finds the recent line whose path passes
 * through where the motors stopped (within FS_JOB_HALT_MATCH_MM, E
 * included) and goes back to its start, with the G-code state from before
 * it. It is then paused like fs_job_fault_pause but without the lift and
 * park (motion is refused until the halt is acknowledged, and an untrusted
 * axis must not move), and RESUME brings the head to that line's start (up,
 * across, down) and runs it again: the part of that one line done before
 * the halt is printed twice, nothing is skipped. While the toolhead is
 * halted the runner starts no line, and a line that fails because of the
 * halt runs again, whether or not the job was held. */
#define FS_JOB_HALT_MATCH_MM 0.05
/* E is looser: the extruder motor runs ahead of the nominal E by pressure
 * advance (0.04 s at 5 mm/s of filament is 0.2 mm). It only tells apart
 * two lines that cross at different extrusion lengths. */
#define FS_JOB_HALT_MATCH_E_MM 0.5
int fs_job_halt_pause(struct fs_job *job, const struct fs_job_park *park, struct fs_error *err);

/* The job's journal: <dir>/job.json, replaced atomically (temporary file in
 * the same folder, flushed, fsync'd, renamed) on every pause, every
 * emergency stop or interruption, at the end (state complete or cancelled)
 * and every FS_JOB_JOURNAL_PERIOD_S of printing. It holds the file (path,
 * size, mtime, byte position of the line to run next), the G-code state,
 * heater targets, the part fan, and the print statistics: enough for
 * JOB_RECOVER to continue the print after a restart. "" turns it off (the
 * default). The path is copied; -1 when it does not fit. */
#define FS_JOB_JOURNAL_PERIOD_S 10.0
#define FS_JOB_JOURNAL_NAME "job.json"
int fs_job_set_journal_dir(struct fs_job *job, const char *dir);
/* Writes the journal now (state as it stands); -1 with err on an I/O error
 * (also reported to the console when the journal is written on its own). */
int fs_job_write_journal(struct fs_job *job, struct fs_error *err);
/* Whether the journal describes a job that did not end (paused, printing
 * or interrupted): what a program start reports as a power loss. what
 * (may be NULL) gets "name.gcode at byte 1234 (interrupted: reason)". */
int fs_job_journal_unfinished(const struct fs_job *job, char *what, size_t size);
/* Ends a printing or paused job because the printer is going away
 * (RESTART, FIRMWARE_RESTART): like an emergency stop without the
 * emergency handler. The journal keeps the job resumable (state
 * "interrupted"), where fs_job_cancel would mark it cancelled. A restart is
 * a command, so a line running it is not run again; an emergency stop
 * (fs_job_emergency_stop) while a line runs journals that line's start,
 * except M112 itself. */
void fs_job_interrupt(struct fs_job *job, const char *reason);
/* After a shutdown in the middle of a print (M112 or any fault whose
 * action is shutdown): the journal written at the stop holds the line read
 * last, but the MCUs dropped up to FS_TOOLHEAD_MAX_LEAD_S of moves queued
 * behind it. Once the motors' positions are read back (head: X Y Z E from
 * them), fs_job_correct_after_shutdown finds the line the motors stopped
 * in as fs_job_halt_pause does and rewrites job.json atomically: the byte
 * and number of that line, the G-code state from before it, head_position
 * = head, and "shutdown_read_back" saying what was read (unread: the
 * steppers whose MCU did not answer, "" when all did; their position is
 * the plan's; e_known 0: the extruder's was not read, and X Y Z alone
 * find the line). When no recent line passes through head, the journal's line
 * stays and only head_position changes; so it does after M112 in the file
 * (rewinding before it would run it again). fs_job_needs_shutdown_fix says
 * whether there is such a journal to correct (once per shutdown). */
int fs_job_needs_shutdown_fix(const struct fs_job *job);
int fs_job_correct_after_shutdown(struct fs_job *job, const double head[4], int e_known,
                                  const char *unread, struct fs_error *err);
/* JOB_RECOVER: continues the print the journal describes, after a restart.
 * The person first homes X and Y and gives Z (G28, or SET_KINEMATIC_POSITION
 * Z=<the journal's head_z> when homing Z would hit the print). Refused when
 * a print is running, the journal is missing or ended (complete,
 * cancelled), the file changed (size or mtime), or an axis is not homed.
 * Then: the file is opened at the saved byte, heaters are brought back to
 * their targets and waited for, the part fan is restored, the G-code state
 * too, and the head comes back like RESUME after a fault pause (up to the
 * saved Z + z_lift, across, down), and the job prints. */
int fs_job_recover(struct fs_job *job, double z_lift, struct fs_error *err);

/* Hooks. The emergency handler is how M112 reaches whoever shuts the
 * machine down (the fault module); without one, M112 only stops the job. */
typedef void (*fs_job_emergency_fn)(void *arg, const char *reason);
void fs_job_set_emergency_handler(struct fs_job *job, fs_job_emergency_fn fn, void *arg);
/* A veto on RESUME (a latched fault): return -1 with err filled to refuse. */
typedef int (*fs_job_resume_check_fn)(void *arg, struct fs_error *err);
void fs_job_set_resume_check(struct fs_job *job, fs_job_resume_check_fn fn, void *arg);
/* Called by the motion code for every move with its commanded E travel. */
void fs_job_note_extrusion(struct fs_job *job, double delta_mm);
/* Called for any activity that should hold the idle timeout off (moves
 * queued from the console, heaters set). */
void fs_job_note_activity(struct fs_job *job);

/* State and status. Strings point into the job and stay valid until the
 * job changes state or file. */
enum fs_job_state fs_job_state(const struct fs_job *job);
const char *fs_job_state_name(enum fs_job_state s);
const char *fs_job_message(const struct fs_job *job);
enum fs_idle_state fs_job_idle_state(const struct fs_job *job);
const char *fs_job_idle_state_name(enum fs_idle_state s);

struct fs_job_status {
    enum fs_job_state state;
    const char *file;      /* name as selected, "" when none */
    long size;             /* bytes */
    long position;         /* byte offset of the next line */
    double progress;       /* 0..1 by bytes */
    double print_duration_s; /* time spent printing, pauses excluded */
    double total_duration_s; /* since the start, pauses included */
    double filament_used_mm;
    const char *message;   /* the error reason, "" otherwise */
    const char *display_message;  /* M117 */
    double display_progress;      /* M73 P as 0..1, else progress */
    double remaining_s;           /* M73 R, or -1 */
    enum fs_idle_state idle_state;
    int paused_by_fault;          /* paused by the fault module (fs_job_fault_pause) */
};
void fs_job_get_status(const struct fs_job *job, struct fs_job_status *out);
/* Adds the status to a JSON object: state, file, position, size, progress,
 * print_duration, total_duration, filament_used, message, display_message,
 * display_progress, remaining, idle_state, paused_by_fault. Returns -1 if
 * cJSON ran out of memory. */
int fs_job_status_to_json(const struct fs_job *job, struct cJSON *obj);

#endif
