/* [idle_timeout]: when nothing has happened for `timeout` seconds and no job
 * is printing, run `gcode` (by default TURN_OFF_HEATERS and M84), so a
 * printer left alone does not keep its heaters and motors on.
 *
 * Why the G-code is not run by the timer: M84 may wait for queued moves,
 * and a timer callback must not wait (reactor.h). The timer only marks the
 * timeout as due; fs_job_run, which the main loop calls, runs it. Activity
 * only records its time; the timer re-checks that time when it fires, so a
 * busy console costs nothing per command. A paused job does not hold the
 * timeout off: a pause left alone for that long is an abandoned printer.
 * A pause caused by a fault is different: the machine was kept homed on
 * purpose, so there the fault policy's pause_idle_timeout applies instead
 * (0: never), and the pause announces which (fault_pause.c). */
#include "job/job_internal.h"

#include <math.h> /* INFINITY */

#include "core/error.h"      /* fs_error_clear */
#include "core/log.h"        /* fs_log */
#include "core/reactor.h"    /* fs_reactor_timer_set */
#include "gcode/gcode.h"     /* fs_gcode_run_script, fs_gcode_register */
#include "job/job_deps.h"    /* fs_heaters_turn_off_all */
#include "printer/printer.h" /* struct fs_printer */

static const char *const idle_state_names[] = {
    [FS_IDLE_IDLE] = "Idle", [FS_IDLE_READY] = "Ready", [FS_IDLE_PRINTING] = "Printing"};

const char *fs_job_idle_state_name(enum fs_idle_state s)
{
    if ((unsigned)s >= sizeof(idle_state_names) / sizeof(idle_state_names[0]))
        return "?";
    return idle_state_names[s];
}

enum fs_idle_state fs_job_idle_state(const struct fs_job *job)
{
    return job->idle.state;
}

/* FS_NEVER while a fault pause suspends the timeout. */
static double idle_deadline(const struct fs_job *job)
{
    double timeout = job->cfg.idle_timeout_s;
    if (fs_job_paused_by_fault(job)) {
        timeout = job->fault.park.idle_timeout_s;
        if (!(timeout > 0.0))
            return FS_NEVER;
    }
    return job->idle.last_activity + timeout;
}

static double idle_timer_fn(struct fs_timer *t, double now)
{
    struct fs_job *job = t->arg;
    if (job->state == FS_JOB_PRINTING)
        return FS_NEVER; /* re-armed when the job stops printing */
    if (idle_deadline(job) >= FS_NEVER)
        return FS_NEVER; /* re-armed when the fault pause ends */
    if (now < idle_deadline(job))
        return idle_deadline(job);
    job->idle.due = 1;
    return FS_NEVER;
}

void fs_job_note_activity(struct fs_job *job)
{
    if (!job || job->idle.running)
        return;
    job->idle.last_activity = fs_job_now(job);
    job->idle.due = 0;
    if (job->state == FS_JOB_PRINTING)
        return;
    job->idle.state = FS_IDLE_READY;
    if (job->idle.timer.waketime >= FS_NEVER && idle_deadline(job) < FS_NEVER)
        fs_reactor_timer_set(job->reactor, &job->idle.timer, idle_deadline(job));
}

void fs_job_idle_state_changed(struct fs_job *job)
{
    if (job->state == FS_JOB_PRINTING) {
        job->idle.state = FS_IDLE_PRINTING;
        job->idle.due = 0;
        fs_reactor_timer_cancel(job->reactor, &job->idle.timer);
        return;
    }
    fs_job_note_activity(job);
}

void fs_job_idle_run_due(struct fs_job *job)
{
    struct fs_error err;
    if (!job->idle.due || job->state == FS_JOB_PRINTING)
        return;
    /* Due before a fault pause suspended it: not any more. */
    if (idle_deadline(job) >= FS_NEVER) {
        job->idle.due = 0;
        return;
    }
    job->idle.due = 0;
    fs_error_clear(&err);
    /* The script's own commands (heaters off, motors off) are not activity
     * that should start the countdown again. */
    job->idle.running = 1;
    int rc = fs_gcode_run_script(job->gcode, job->cfg.idle_gcode, "idle_timeout", &err);
    job->idle.running = 0;
    if (rc < 0) {
        fs_log(job->printer->log, FS_LOG_ERROR, "idle_timeout gcode: %s", err.msg);
        fs_gcode_respond_error(job->gcode, "idle_timeout: %s", err.msg);
    }
    job->idle.state = FS_IDLE_IDLE;
}

void fs_job_idle_init(struct fs_job *job)
{
    fs_timer_init(&job->idle.timer, idle_timer_fn, job);
    job->idle.state = FS_IDLE_READY;
}

void fs_job_idle_stop(struct fs_job *job)
{
    fs_reactor_timer_cancel(job->reactor, &job->idle.timer);
}

static int cmd_set_idle_timeout(void *arg, struct fs_gcode *g,
                                const struct fs_gcode_command *cmd, struct fs_error *err)
{
    struct fs_job *job = arg;
    double timeout;
    if (fs_gcode_get_float(cmd, "TIMEOUT", job->cfg.idle_timeout_s, 1e-3, INFINITY, &timeout,
                           err) < 0)
        return -1;
    job->cfg.idle_timeout_s = timeout;
    fs_gcode_respond_info(g, "idle_timeout: timeout set to %.2f s", timeout);
    /* The countdown restarts with the new length. */
    fs_reactor_timer_cancel(job->reactor, &job->idle.timer);
    fs_job_note_activity(job);
    return 0;
}

static int cmd_turn_off_heaters(void *arg, struct fs_gcode *g,
                                const struct fs_gcode_command *cmd, struct fs_error *err)
{
    const struct fs_job *job = arg;
    if (job->printer->heaters)
        fs_heaters_turn_off_all(job->printer->heaters);
    return 0;
}

int fs_job_idle_register(struct fs_job *job, struct fs_error *err)
{
    if (fs_gcode_register(job->gcode, "SET_IDLE_TIMEOUT", cmd_set_idle_timeout, job,
                          "Set the idle timeout (TIMEOUT= seconds)", err) < 0)
        return -1;
    /* The heaters module may own TURN_OFF_HEATERS; the default idle G-code
     * needs it either way. */
    if (!fs_gcode_is_registered(job->gcode, "TURN_OFF_HEATERS")
        && fs_gcode_register(job->gcode, "TURN_OFF_HEATERS", cmd_turn_off_heaters, job,
                             "Turn every heater off", err) < 0)
        return -1;
    fs_job_note_activity(job);
    return 0;
}
