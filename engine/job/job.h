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
 * state (paused, complete, cancelled, error). A line may block inside its
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
 * Refused when not paused or when the resume check says no. */
int fs_job_resume(struct fs_job *job, double velocity, struct fs_error *err);
/* Ends a printing or paused job: cancelled, file closed. */
int fs_job_cancel(struct fs_job *job, struct fs_error *err);
/* SDCARD_RESET_FILE: closes the file and returns to standby. */
int fs_job_reset_file(struct fs_job *job, struct fs_error *err);
/* M112 and any other emergency: the job stops at once in the error state
 * with reason, then the emergency handler is called with it. */
void fs_job_emergency_stop(struct fs_job *job, const char *reason);

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
};
void fs_job_get_status(const struct fs_job *job, struct fs_job_status *out);
/* Adds the status to a JSON object: state, file, position, size, progress,
 * print_duration, total_duration, filament_used, message, display_message,
 * display_progress, remaining, idle_state. Returns -1 if cJSON ran out of
 * memory. */
int fs_job_status_to_json(const struct fs_job *job, struct cJSON *obj);

#endif
