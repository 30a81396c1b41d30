/* The print job's state machine and its runner: opening the selected file,
 * reading it line by line through the G-code dispatcher, and ending in
 * complete, cancelled or error. M112 lives here because it must stop the
 * runner itself. The commands around the job are in the neighbouring files
 * (virtual_sdcard.c, pause_resume.c, ...); job.h describes the contract. */
#include "job/job_internal.h"

#include <errno.h>    /* errno */
#include <limits.h>   /* PATH_MAX */
#include <stdio.h>    /* fopen, fgets, fseek, ftell */
#include <stdlib.h>   /* calloc, free, realpath */
#include <string.h>   /* strlen, strncmp, strerror */
#include <sys/stat.h> /* stat, S_ISDIR */

#include "core/error.h"     /* fs_error_set */
#include "core/log.h"       /* fs_log */
#include "core/reactor.h"   /* fs_reactor_now */
#include "fault/fault.h"      /* fs_faults_note_command */
#include "gcode/gcode.h"    /* fs_gcode_run_line, fs_gcode_register */
#include "job/job_deps.h"   /* fs_toolhead_wait_moves */
#include "motion/halt.h"     /* fs_toolhead_is_halted */
#include "printer/printer.h" /* struct fs_printer */

static const char *const state_names[] = {
    [FS_JOB_STANDBY] = "standby",     [FS_JOB_PRINTING] = "printing",
    [FS_JOB_PAUSED] = "paused",       [FS_JOB_COMPLETE] = "complete",
    [FS_JOB_CANCELLED] = "cancelled", [FS_JOB_ERROR] = "error",
};

const char *fs_job_state_name(enum fs_job_state s)
{
    if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
        return "?";
    return state_names[s];
}

double fs_job_now(const struct fs_job *job)
{
    return fs_reactor_now(job->reactor);
}

enum fs_job_state fs_job_state(const struct fs_job *job)
{
    return job->state;
}

const char *fs_job_message(const struct fs_job *job)
{
    return job->stats.message;
}

/* Copies a message for display. Reasons come from error values of up to
 * FS_ERROR_MSG_MAX; one that does not fit the job's buffer is visibly marked
 * with "..." rather than cut without a trace. */
static void copy_message(char *dst, size_t size, const char *src)
{
    int n = snprintf(dst, size, "%s", src);
    if (n >= 0 && (size_t)n >= size && size > 4)
        memcpy(dst + size - 4, "...", 4);
}

static void close_file(struct fs_job *job)
{
    if (job->file.fp)
        fclose(job->file.fp);
    job->file.fp = NULL;
}

void fs_job_set_state(struct fs_job *job, enum fs_job_state state)
{
    job->state = state;
    fs_job_idle_state_changed(job);
}

void fs_job_finish(struct fs_job *job, enum fs_job_state state, const char *message)
{
    int was_printing = job->state == FS_JOB_PRINTING;
    job->pause_requested = 0;
    close_file(job);
    fs_print_stats_end(&job->stats, was_printing, fs_job_now(job));
    copy_message(job->stats.message, sizeof(job->stats.message),
                 state == FS_JOB_ERROR && message ? message : "");
    fs_job_set_state(job, state);
    /* The journal says how it ended, with the pause's heater targets and
     * G-code state still at hand for an interrupted pause. */
    fs_job_journal_note(job);
    fs_job_fault_end(job);
    job->hold.held = job->hold.failed_line = 0;
    job->journal.have_pause_state = 0;
    job->journal.interrupted = 0;
}

/* An end that leaves the job resumable from its journal. A stop that came
 * while a line ran (a shutdown while a move waited for room in the queue)
 * makes that line the one to run again, from the state before it; a stop
 * that is the line itself (M112 or RESTART in the file) does not. */
static void interrupt(struct fs_job *job, const char *reason, int rerun_line)
{
    if (job->state != FS_JOB_PRINTING && job->state != FS_JOB_PAUSED)
        return;
    if (rerun_line && job->in_runner && job->state == FS_JOB_PRINTING) {
        job->file.position = job->journal.line_start_pos;
        job->file.line = job->journal.line_start_line;
        if (job->journal.have_line_start_state) {
            job->journal.pause_state = job->journal.line_start_state;
            job->journal.have_pause_state = 1;
        }
    }
    job->journal.interrupted = 1;
    copy_message(job->journal.interrupted_reason, sizeof(job->journal.interrupted_reason),
                 reason);
    fs_job_finish(job, FS_JOB_ERROR, reason);
}

static void emergency_stop(struct fs_job *job, const char *reason, int rerun_line)
{
    /* A pause waited for its moves: its journal is exact. A print cut off
     * while moving is corrected once the motors are read back. A second
     * call (the shutdown that M112 started) finds the job ended already. */
    if (job->state == FS_JOB_PRINTING) {
        job->journal.shutdown_pending = 1;
        job->journal.shutdown_in_line = !rerun_line && job->in_runner;
    }
    interrupt(job, reason, rerun_line);
    fs_log(job->printer->log, FS_LOG_ERROR, "%s", reason);
    if (job->emergency_fn)
        job->emergency_fn(job->emergency_arg, reason);
}

void fs_job_emergency_stop(struct fs_job *job, const char *reason)
{
    emergency_stop(job, reason, 1);
}

void fs_job_interrupt(struct fs_job *job, const char *reason)
{
    interrupt(job, reason, 0);
}

/* M112 needs no queue to drain and no state to save: it stops the job and
 * hands over to the emergency handler before anything else runs. */
static int cmd_m112(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    emergency_stop(arg, "Emergency stop (M112)", 0);
    return 0;
}

void fs_job_set_emergency_handler(struct fs_job *job, fs_job_emergency_fn fn, void *arg)
{
    job->emergency_fn = fn;
    job->emergency_arg = arg;
}

void fs_job_set_resume_check(struct fs_job *job, fs_job_resume_check_fn fn, void *arg)
{
    job->resume_check_fn = fn;
    job->resume_check_arg = arg;
}

static int resolve_sdcard_dir(struct fs_job *job, struct fs_error *err)
{
    char resolved[PATH_MAX];
    struct stat st;
    const char *path = job->cfg.sdcard_path;
    if (!realpath(path, resolved))
        return fs_error_set(err, "[virtual_sdcard] path '%s': %s", path, strerror(errno));
    if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode))
        return fs_error_set(err, "[virtual_sdcard] path '%s' is not a folder", path);
    if (strlen(resolved) >= sizeof(job->sdcard_dir))
        return fs_error_set(err, "[virtual_sdcard] path '%s' is too long", path);
    memcpy(job->sdcard_dir, resolved, strlen(resolved) + 1);
    return 0;
}

static int register_all(struct fs_job *job, struct fs_error *err)
{
    if (!fs_gcode_is_registered(job->gcode, "M112")
        && fs_gcode_register(job->gcode, "M112", cmd_m112, job,
                             "Emergency stop: stop everything at once", err) < 0)
        return -1;
    if (job->cfg.has_virtual_sdcard && fs_job_sdcard_register(job, err) < 0)
        return -1;
    if (job->cfg.has_pause_resume && fs_job_pause_resume_register(job, err) < 0)
        return -1;
    if (job->cfg.has_respond && fs_job_respond_register(job, err) < 0)
        return -1;
    if (fs_job_recover_register(job, err) < 0)
        return -1;
    if (fs_job_display_register(job, err) < 0)
        return -1;
    return fs_job_idle_register(job, err);
}

int fs_job_new(struct fs_printer *p, const struct fs_job_config *c, struct fs_job **out,
               struct fs_error *err)
{
    *out = NULL;
    if (!p->gcode || !p->reactor)
        return fs_error_set(err, "job: the printer has no G-code dispatcher or reactor");
    struct fs_job *job = calloc(1, sizeof(*job));
    if (!job)
        return fs_error_set(err, "job: out of memory");
    job->printer = p;
    job->gcode = p->gcode;
    job->reactor = p->reactor;
    job->cfg = *c;
    job->state = FS_JOB_STANDBY;
    fs_job_idle_init(job);
    fs_job_fault_init(job);
    job->checkpoints.ring = calloc(FS_JOB_CHECKPOINTS, sizeof(*job->checkpoints.ring));
    if (!job->checkpoints.ring) {
        free(job);
        return fs_error_set(err, "job: out of memory");
    }
    fs_print_stats_reset(&job->stats);
    fs_display_status_reset(&job->display);
    if ((c->has_virtual_sdcard && resolve_sdcard_dir(job, err) < 0)
        || register_all(job, err) < 0) {
        /* The dispatcher cannot unregister: a failed start-up tears the
         * whole printer down, dispatcher included, before any command runs. */
        fs_job_idle_stop(job);
        free(job->checkpoints.ring);
        free(job);
        return -1;
    }
    *out = job;
    return 0;
}

void fs_job_free(struct fs_job *job)
{
    if (!job)
        return;
    fs_job_idle_stop(job);
    fs_reactor_timer_cancel(job->reactor, &job->fault.heaters_off_timer);
    close_file(job);
    free(job->checkpoints.ring);
    free(job);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int copy_span(const char *s, size_t n, char *out, size_t out_size)
{
    if (n >= out_size)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int fs_job_rest_text(const struct fs_gcode_command *cmd, char *out, size_t out_size)
{
    const char *s = cmd->rest ? cmd->rest : "";
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    return copy_span(s, n, out, out_size);
}

int fs_job_copy_text(const char *value, char *out, size_t out_size)
{
    return copy_span(value, strlen(value), out, out_size);
}

/* ---- the runner ---- */

static int at_end(FILE *fp)
{
    int c = getc(fp);
    if (c == EOF)
        return 1;
    ungetc(c, fp);
    return 0;
}

static int is_comment_line(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == ';';
}

static void skip_rest_of_line(FILE *fp)
{
    int c;
    while ((c = getc(fp)) != EOF && c != '\n')
        ;
}

/* Reads the next line into buf (without its line ending). Returns 1 for a
 * line, 0 at the end of the file, -1 with err filled. */
static int read_line(struct fs_job *job, char *buf, size_t size, struct fs_error *err)
{
    FILE *fp = job->file.fp;
    if (!fgets(buf, (int)size, fp)) {
        if (ferror(fp))
            return fs_error_set(err, "%s:%ld: read error", job->file.name, job->file.line + 1);
        return 0;
    }
    job->file.line++;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n' && n == size - 1 && !at_end(fp)) {
        /* Slicers write their settings as comments, some of them long; a
         * comment carries no command, so only the code must fit. */
        if (!is_comment_line(buf))
            return fs_error_set(err, "%s:%ld: line longer than %d characters",
                                job->file.name, job->file.line, FS_GCODE_LINE_MAX);
        skip_rest_of_line(fp);
        buf[0] = '\0';
        n = 0;
    }
    long pos = ftell(fp);
    if (pos < 0)
        return fs_error_set(err, "%s:%ld: %s", job->file.name, job->file.line, strerror(errno));
    job->file.position = pos;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 1;
}

/* [virtual_sdcard] on_error_gcode: the owner's way to make the machine safe
 * (heaters off, head parked) when a print stops on a bad line. Its own
 * failure is reported, never turned into a second job error. */
static void run_on_error_gcode(struct fs_job *job)
{
    struct fs_error err;
    if (!job->cfg.sdcard_on_error_gcode[0])
        return;
    fs_error_clear(&err);
    if (fs_gcode_run_script(job->gcode, job->cfg.sdcard_on_error_gcode, "on_error_gcode",
                            &err) < 0)
        fs_gcode_respond_error(job->gcode, "%s", err.msg);
}

/* The dispatcher already puts the source in front of its messages; the job
 * adds it only where it is missing, so the reason reads
 * "name.gcode:12: <message>" exactly once. */
static void line_error(struct fs_job *job, const char *source, const char *msg)
{
    char reason[FS_ERROR_MSG_MAX];
    size_t sl = strlen(source);
    if (sl == 0 || (strncmp(msg, source, sl) == 0 && msg[sl] == ':'))
        copy_message(reason, sizeof(reason), msg);
    else if (snprintf(reason, sizeof(reason), "%s: %s", source, msg) >= (int)sizeof(reason))
        memcpy(reason + sizeof(reason) - 4, "...", 4);
    fs_job_finish(job, FS_JOB_ERROR, reason);
    fs_gcode_respond_error(job->gcode, "%s", job->stats.message);
    fs_log(job->printer->log, FS_LOG_ERROR, "print stopped: %s", job->stats.message);
    run_on_error_gcode(job);
}

/* A line failed while the job was held: a fault raised inside it (a cold
 * extrusion, a move out of range) stopped it, and the fault's pause will
 * follow. The line runs again after RESUME, so it is not an error. */
static void rewind_failed_line(struct fs_job *job, const char *source, const char *msg)
{
    job->file.position = job->journal.line_start_pos;
    job->file.line = job->journal.line_start_line;
    if (fseek(job->file.fp, job->file.position, SEEK_SET) != 0) {
        line_error(job, source, "cannot seek back to the line that failed");
        return;
    }
    job->hold.failed_line = 1;
    snprintf(job->hold.failed_source, sizeof(job->hold.failed_source), "%s", source);
    copy_message(job->hold.failure, sizeof(job->hold.failure), msg);
    fs_gcode_respond_info(job->gcode, "%s: %s (held by a fault: it runs again after RESUME)",
                          source, msg);
}

static int motion_halted(const struct fs_job *job)
{
    return job->printer->toolhead && fs_toolhead_is_halted(job->printer->toolhead);
}

void fs_job_hold(struct fs_job *job)
{
    if (job && job->state == FS_JOB_PRINTING)
        job->hold.held = 1;
}

int fs_job_is_held(const struct fs_job *job)
{
    return job->hold.held;
}

void fs_job_release(struct fs_job *job)
{
    if (!job->hold.held)
        return;
    job->hold.held = 0;
    if (!job->hold.failed_line || job->state != FS_JOB_PRINTING)
        return;
    /* No pause came: the line's failure stands, as it would have unheld. */
    job->hold.failed_line = 0;
    line_error(job, job->hold.failed_source, job->hold.failure);
}

static void complete(struct fs_job *job)
{
    /* The file is done when its last move is, so the durations include it. */
    if (job->printer->toolhead)
        fs_toolhead_wait_moves(job->printer->toolhead);
    /* Ended meanwhile (a shutdown interrupted it, a fault cancelled it):
     * that end stands, and its journal. */
    if (job->state != FS_JOB_PRINTING)
        return;
    /* A halt meanwhile dropped the last moves: not done. The halt's pause
     * goes back to the line the motors stopped in. */
    if (motion_halted(job)) {
        job->hold.held = 1;
        return;
    }
    fs_job_finish(job, FS_JOB_COMPLETE, NULL);
    fs_gcode_respond(job->gcode, "Done printing file");
}

int fs_job_run(struct fs_job *job, int max_lines)
{
    char line[FS_GCODE_LINE_MAX + 3]; /* the longest line, "\r\n" and NUL */
    char source[FS_JOB_NAME_MAX + 24];
    struct fs_error err;
    int ran = 0;

    fs_job_idle_run_due(job);
    fs_job_run_requested_pause(job);
    while (ran < max_lines && job->state == FS_JOB_PRINTING && !job->hold.held) {
        if (motion_halted(job)) {
            /* A halt stopped the motors: nothing more runs until the
             * fault module's pause (fs_job_halt_pause). */
            job->hold.held = 1;
            break;
        }
        if (job->pause_requested) {
            /* Asked for while the last line waited on the move queue. */
            fs_job_run_requested_pause(job);
            break;
        }
        fs_error_clear(&err);
        fs_job_journal_line_start(job);
        int r = read_line(job, line, sizeof(line), &err);
        if (r < 0) {
            line_error(job, "", err.msg);
            break;
        }
        if (r == 0) {
            complete(job);
            break;
        }
        ran++;
        snprintf(source, sizeof(source), "%s:%ld", job->file.name, job->file.line);
        fs_faults_note_command(job->printer->faults, fs_job_now(job), line);
        job->in_runner = 1;
        int rc = fs_gcode_run_line(job->gcode, line, source, &err);
        job->in_runner = 0;
        /* A line that failed after ending the job (CANCEL_PRINT in a macro)
         * leaves the end state it chose. */
        if (rc < 0 && (job->hold.held || motion_halted(job)) && job->state == FS_JOB_PRINTING) {
            job->hold.held = 1;
            rewind_failed_line(job, source, err.msg);
        }
        else if (rc < 0 && (job->state == FS_JOB_PRINTING || job->state == FS_JOB_PAUSED))
            line_error(job, source, err.msg);
        else if (rc < 0)
            fs_gcode_respond_error(job->gcode, "%s", err.msg);
        else if (job->state == FS_JOB_PRINTING)
            fs_job_journal_after_line(job);
        /* Work found by a timer during the line (a fault's pause, a
         * sensor's macro) goes before the next line. */
        if (fs_printer_has_deferred(job->printer))
            break;
    }
    return ran;
}

int fs_job_has_work(const struct fs_job *job)
{
    return (job->state == FS_JOB_PRINTING && !job->hold.held) || job->idle.due ||
           job->pause_requested;
}

/* ---- selecting and starting ---- */

int fs_job_start(struct fs_job *job, struct fs_error *err)
{
    if (job->state == FS_JOB_PRINTING)
        return fs_error_set(err, "a print is already running");
    if (job->state == FS_JOB_PAUSED)
        return fs_error_set(err, "the print is paused; use RESUME");
    if (!job->file.fp)
        return fs_error_set(err, "no file selected");
    fs_print_stats_start(&job->stats, fs_job_now(job));
    fs_display_status_reset_progress(&job->display);
    job->hold.held = job->hold.failed_line = 0;
    job->checkpoints.count = 0;
    job->journal.shutdown_pending = 0;
    fs_job_set_state(job, FS_JOB_PRINTING);
    job->journal.next_write = fs_job_now(job) + FS_JOB_JOURNAL_PERIOD_S;
    fs_job_journal_note(job);
    return 0;
}

/* Line numbers in sources must stay true after M26 moves the position, so
 * the lines before it are counted once. */
static int count_lines_before(FILE *fp, long position, long *lines)
{
    char chunk[4096];
    long done = 0, count = 0;
    if (fseek(fp, 0, SEEK_SET) != 0)
        return -1;
    while (done < position) {
        size_t want = sizeof(chunk);
        if ((long)want > position - done)
            want = (size_t)(position - done);
        size_t got = fread(chunk, 1, want, fp);
        if (got == 0)
            return -1;
        for (size_t i = 0; i < got; i++)
            count += chunk[i] == '\n';
        done += (long)got;
    }
    *lines = count;
    return 0;
}

int fs_job_set_position(struct fs_job *job, long position, struct fs_error *err)
{
    if (job->state == FS_JOB_PRINTING)
        return fs_error_set(err, "cannot set the position while printing");
    if (!job->file.fp)
        return fs_error_set(err, "no file selected");
    if (position < 0 || position > job->file.size)
        return fs_error_set(err, "position %ld is outside the file (0..%ld)", position,
                            job->file.size);
    long lines = 0;
    if (count_lines_before(job->file.fp, position, &lines) < 0
        || fseek(job->file.fp, position, SEEK_SET) != 0)
        return fs_error_set(err, "%s: cannot seek to %ld", job->file.name, position);
    job->file.position = position;
    job->file.line = lines;
    return 0;
}

int fs_job_open_file(struct fs_job *job, const char *path, const char *name,
                     struct fs_error *err)
{
    if (strlen(name) >= sizeof(job->file.name))
        return fs_error_set(err, "file name '%s' is too long", name);
    if (strlen(path) >= sizeof(job->file.path))
        return fs_error_set(err, "path of '%s' is too long", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fs_error_set(err, "unable to open '%s': %s", name, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        fclose(fp);
        return fs_error_set(err, "unable to read '%s': %s", name, strerror(errno));
    }
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return fs_error_set(err, "unable to read '%s'", name);
    }
    close_file(job);
    job->file.fp = fp;
    memcpy(job->file.name, name, strlen(name) + 1);
    memcpy(job->file.path, path, strlen(path) + 1);
    fs_job_format_mtime(&st, job->file.mtime, sizeof(job->file.mtime));
    job->file.size = size;
    job->file.position = 0;
    job->file.line = 0;
    fs_print_stats_reset(&job->stats);
    fs_job_set_state(job, FS_JOB_STANDBY);
    return 0;
}

int fs_job_reset_file(struct fs_job *job, struct fs_error *err)
{
    if (job->in_runner)
        return fs_error_set(err, "cannot reset the file it is printing from");
    close_file(job);
    job->file.name[0] = '\0';
    job->file.size = job->file.position = job->file.line = 0;
    fs_print_stats_reset(&job->stats);
    fs_display_status_reset_progress(&job->display);
    fs_job_set_state(job, FS_JOB_STANDBY);
    return 0;
}
