/* [pause_resume]: the one place where a print pauses, resumes and is
 * cancelled. PAUSE, M25 and M600-style macros go through fs_job_pause; the
 * fault module's pause (fault_pause.c) starts with the same
 * fs_job_pause_common and adds its lift, park and heater policy, and RESUME
 * hands a fault pause over to it. The G-code state (position,
 * absolute/relative modes, speed factor) is saved and restored by the G-code
 * move module's SAVE_GCODE_STATE / RESTORE_GCODE_STATE, run through the
 * dispatcher like any other command, so the job needs no knowledge of it. */
#include "job/job_internal.h"

#include <math.h>  /* INFINITY */
#include <stdio.h> /* snprintf */

#include "core/error.h"      /* fs_error_set, fs_error_prefix */
#include "gcode/gcode.h"     /* fs_gcode_run_line, fs_gcode_register */
#include "job/job_deps.h"    /* fs_toolhead_wait_moves */
#include "motion/gcode_move.h" /* fs_gcode_move_get_state */
#include "motion/halt.h"     /* fs_toolhead_is_halted */
#include "printer/printer.h" /* struct fs_printer */

#define PAUSE_STATE_NAME "PAUSE_STATE"

int fs_job_pause_common(struct fs_job *job, struct fs_error *err)
{
    /* The saved position must be where the head really is, not where the
     * queue will take it. */
    if (job->printer->toolhead)
        fs_toolhead_wait_moves(job->printer->toolhead);
    /* A halt meanwhile dropped the moves still queued: the state now is
     * the plan's, past lines that never ran. Saving it would skip them;
     * the halt's pause finds the line the motors stopped in instead. */
    if (job->printer->toolhead && fs_toolhead_is_halted(job->printer->toolhead)) {
        fs_job_hold(job);
        return 1;
    }
    if (fs_gcode_run_line(job->gcode, "SAVE_GCODE_STATE NAME=" PAUSE_STATE_NAME, "PAUSE",
                          err) < 0)
        return -1;
    /* The journal of a paused job carries the state saved here. */
    job->journal.have_pause_state = job->printer->gcode_move != NULL;
    if (job->printer->gcode_move)
        fs_gcode_move_get_state(job->printer->gcode_move, &job->journal.pause_state);
    job->pause_requested = 0;
    job->hold.held = 0; /* a hold ends in this pause */
    fs_print_stats_pause(&job->stats, fs_job_now(job));
    fs_job_set_state(job, FS_JOB_PAUSED);
    return 0;
}

int fs_job_pause(struct fs_job *job, struct fs_error *err)
{
    if (job->state == FS_JOB_PAUSED) {
        fs_gcode_respond_info(job->gcode, "Print already paused");
        return 0;
    }
    if (job->state != FS_JOB_PRINTING)
        return fs_error_set(err, "no print is running");
    int rc = fs_job_pause_common(job, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        fs_gcode_respond_info(job->gcode, "PAUSE: a halt stopped the motors; the print "
                              "pauses at the line they stopped in");
        return 0;
    }
    fs_job_journal_note(job);
    return 0;
}

void fs_job_request_pause(struct fs_job *job)
{
    if (job->state == FS_JOB_PRINTING)
        job->pause_requested = 1;
}

void fs_job_run_requested_pause(struct fs_job *job)
{
    struct fs_error err;
    if (!job->pause_requested)
        return;
    job->pause_requested = 0;
    fs_error_clear(&err);
    if (job->state != FS_JOB_PRINTING || fs_job_pause(job, &err) == 0)
        return;
    fs_error_prefix(&err, "pause failed: ");
    fs_job_finish(job, FS_JOB_ERROR, err.msg);
    fs_gcode_respond_error(job->gcode, "%s", job->stats.message);
}

int fs_job_resume(struct fs_job *job, double velocity, struct fs_error *err)
{
    char line[96];
    if (job->state != FS_JOB_PAUSED)
        return fs_error_set(err, "the print is not paused");
    if (job->resume_check_fn && job->resume_check_fn(job->resume_check_arg, err) < 0)
        return -1;
    if (velocity <= 0)
        velocity = job->cfg.recover_velocity;
    if (job->fault.active) {
        if (fs_job_fault_resume(job, velocity, err) < 0)
            return -1;
    } else {
        snprintf(line, sizeof(line), "RESTORE_GCODE_STATE NAME=" PAUSE_STATE_NAME
                 " MOVE=1 MOVE_SPEED=%.3f", velocity);
        if (fs_gcode_run_line(job->gcode, line, "RESUME", err) < 0)
            return -1;
    }
    if (job->hold.failed_line)
        fs_gcode_respond_info(job->gcode, "RESUME: running %s again",
                              job->hold.failed_source);
    job->hold.failed_line = 0;
    job->journal.have_pause_state = 0;
    fs_job_fault_end(job);
    fs_print_stats_resume(&job->stats, fs_job_now(job));
    fs_job_set_state(job, FS_JOB_PRINTING);
    return 0;
}

int fs_job_cancel(struct fs_job *job, struct fs_error *err)
{
    if (job->state != FS_JOB_PRINTING && job->state != FS_JOB_PAUSED) {
        fs_gcode_respond_info(job->gcode, "No print to cancel");
        return 0;
    }
    fs_job_finish(job, FS_JOB_CANCELLED, NULL);
    fs_gcode_respond_info(job->gcode, "Print cancelled");
    return 0;
}

static int cmd_pause(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                     struct fs_error *err)
{
    return fs_job_pause(arg, err) < 0 ? fs_error_prefix(err, "PAUSE: ") : 0;
}

static int cmd_resume(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                      struct fs_error *err)
{
    struct fs_job *job = arg;
    double velocity;
    if (fs_gcode_get_float(cmd, "VELOCITY", job->cfg.recover_velocity, 1e-3, INFINITY,
                           &velocity, err) < 0)
        return -1;
    return fs_job_resume(job, velocity, err) < 0 ? fs_error_prefix(err, "RESUME: ") : 0;
}

static int cmd_cancel_print(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                            struct fs_error *err)
{
    return fs_job_cancel(arg, err) < 0 ? fs_error_prefix(err, "CANCEL_PRINT: ") : 0;
}

static const struct {
    const char *name;
    fs_gcode_handler fn;
    const char *help;
} pause_resume_commands[] = {
    {"PAUSE", cmd_pause, "Pause the print, saving the G-code state"},
    {"RESUME", cmd_resume, "Resume the paused print (VELOCITY= back to the saved position)"},
    {"CANCEL_PRINT", cmd_cancel_print, "Cancel the print"},
};

int fs_job_pause_resume_register(struct fs_job *job, struct fs_error *err)
{
    for (size_t i = 0; i < sizeof(pause_resume_commands) / sizeof(pause_resume_commands[0]);
         i++)
        if (fs_gcode_register(job->gcode, pause_resume_commands[i].name,
                              pause_resume_commands[i].fn, job, pause_resume_commands[i].help,
                              err) < 0)
            return -1;
    return 0;
}
