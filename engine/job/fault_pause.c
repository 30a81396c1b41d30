/* The fault module's pause and its resume: the job side of FAULTS.md's
 * "pause" action. A person's PAUSE only saves the G-code state and stops
 * (pause_resume.c); a fault pause also gets the nozzle off the print (Z
 * lift, then park), puts the other heaters in the configured state, keeps
 * the machine homed with its motors on, and on RESUME brings everything
 * back in the order that cannot damage the print: heaters at their targets
 * first, then the head across at a safe height, then down onto the print,
 * then the G-code state, then the file from the saved byte.
 *
 * Why the moves go through the toolhead rather than G-code lines: the
 * pause must not depend on the G-code state it is saving (relative mode, a
 * speed factor, G92 offsets), and the toolhead speaks machine coordinates,
 * which is what park_x/park_y and position_max are. */
#include "job/job_internal.h"

#include <math.h>   /* isnan, INFINITY, fmax, fmin */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, strncmp, memcpy */

#include "core/error.h"      /* fs_error_set */
#include "core/log.h"        /* fs_log */
#include "gcode/gcode.h"     /* fs_gcode_run_line, fs_gcode_respond */
#include "motion/gcode_move.h" /* fs_gcode_move_set_state */
#include "motion/rail.h"     /* struct fs_rail_config */
#include "motion/toolhead.h" /* fs_toolhead_move */
#include "printer/printer.h" /* struct fs_printer */
#include "thermal/heaters.h" /* fs_heaters_* */

#define PAUSE_STATE_NAME "PAUSE_STATE"

int fs_job_paused_by_fault(const struct fs_job *job)
{
    return job->state == FS_JOB_PAUSED && job->fault.active;
}

/* ---- heaters ---- */

void fs_job_read_heater_targets(struct fs_job *job, struct fs_job_heater_targets *out)
{
    struct fs_heaters *hs = job->printer->heaters;
    out->count = 0;
    for (int i = 0; hs && i < fs_heaters_count(hs) && out->count < FS_JOB_HEATERS_MAX; i++) {
        struct fs_heater *h = fs_heaters_at(hs, i);
        if (!fs_heater_has_output(h))
            continue;
        double target;
        fs_heater_get_temp(h, NULL, &target);
        /* A heater a fault switched off lost its target on the way: the
         * print's own, noted after the last line, is the one to come back. */
        if (target <= 0.0) {
            const struct fs_job_heater_targets *pt = &job->journal.print_targets;
            for (int k = 0; k < pt->count; k++)
                if (!strcmp(pt->name[k], fs_heater_name(h)))
                    target = pt->target_c[k];
        }
        snprintf(out->name[out->count], sizeof(out->name[0]), "%s", fs_heater_name(h));
        out->target_c[out->count++] = target;
    }
}

static int is_hotend(const struct fs_heater *h)
{
    return !strncmp(fs_heater_name(h), "extruder", 8);
}

static void heaters_standby(struct fs_job *job, double standby_c)
{
    struct fs_heaters *hs = job->printer->heaters;
    for (int i = 0; hs && i < fs_heaters_count(hs); i++) {
        struct fs_heater *h = fs_heaters_at(hs, i);
        double target;
        fs_heater_get_temp(h, NULL, &target);
        if (!fs_heater_has_output(h) || !is_hotend(h) || target <= standby_c)
            continue;
        struct fs_error err;
        fs_error_clear(&err);
        if (fs_heater_set_target(h, standby_c, &err) < 0)
            fs_gcode_respond_error(job->gcode, "pause: %s", err.msg);
    }
}

static double heaters_off_fn(struct fs_timer *t, double now)
{
    struct fs_job *job = t->arg;
    (void)now;
    if (fs_job_paused_by_fault(job) && job->printer->heaters) {
        fs_heaters_turn_off_all(job->printer->heaters);
        fs_gcode_respond_error(job->gcode, "paused by fault: heaters off after %.0f s "
                               "(RESUME heats them again)", job->fault.park.heaters_timeout_s);
    }
    return FS_NEVER;
}

static void heaters_follow_policy(struct fs_job *job, const struct fs_job_park *park)
{
    switch (park->heaters) {
    case FS_JOB_PAUSE_HEATERS_KEEP:
        break;
    case FS_JOB_PAUSE_HEATERS_STANDBY:
        heaters_standby(job, park->standby_temp_c);
        break;
    case FS_JOB_PAUSE_HEATERS_OFF:
        fs_reactor_timer_set(job->reactor, &job->fault.heaters_off_timer,
                             fs_job_now(job) + park->heaters_timeout_s);
        break;
    }
}

static void report_wait(void *arg, const struct fs_heaters *h)
{
    struct fs_job *job = arg;
    char temps[256];
    fs_heaters_format_temps(h, temps, sizeof(temps));
    fs_gcode_respond(job->gcode, "%s", temps);
}

int fs_job_reheat(struct fs_job *job, const struct fs_job_heater_targets *t, const char *who,
                  struct fs_error *err)
{
    struct fs_heaters *hs = job->printer->heaters;
    struct fs_heater *wait_for[FS_JOB_HEATERS_MAX];
    if (!hs)
        return 0;
    /* Every heater is switched on before the first wait, so they heat
     * together. A target kept through the pause is set again to no effect. */
    for (int k = 0; k < t->count; k++) {
        struct fs_heater *h = fs_heaters_lookup(hs, t->name[k]);
        wait_for[k] = NULL;
        if (!h || t->target_c[k] <= 0.0)
            continue;
        /* A heater a fault disabled (on_fault: disable) stays off: the job
         * was to go on without it, and it refuses a target until cleared. */
        if (fs_heater_fault(h, NULL) != FS_HEATER_FAULT_NONE) {
            fs_gcode_respond_info(job->gcode, "%s: %s stays off (disabled by a fault; "
                                  "FAULT_CLEAR it to heat it again)", who, t->name[k]);
            continue;
        }
        double target;
        fs_heater_get_temp(h, NULL, &target);
        if (target != t->target_c[k] && fs_heater_set_target(h, t->target_c[k], err) < 0)
            return -1;
        wait_for[k] = h;
    }
    for (int k = 0; k < t->count; k++) {
        if (!wait_for[k])
            continue;
        double temp;
        fs_heater_get_temp(wait_for[k], &temp, NULL);
        double lo = t->target_c[k] - FS_HEATERS_WAIT_TOLERANCE_C;
        double hi = t->target_c[k] + FS_HEATERS_WAIT_TOLERANCE_C;
        if (temp >= lo && temp <= hi)
            continue;
        fs_gcode_respond_info(job->gcode, "%s: heating %s to %.0f C", who, t->name[k],
                              t->target_c[k]);
        if (fs_heaters_wait(hs, wait_for[k], lo, hi, INFINITY, report_wait, job, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- moves ---- */

double fs_job_z_max(const struct fs_job *job)
{
    struct fs_toolhead *th = job->printer->toolhead;
    const struct fs_rail_config *z = th ? fs_toolhead_rail(th, 2) : NULL;
    return z ? z->position_max : INFINITY;
}

static int move_to(struct fs_job *job, const double xyz[3], double speed, struct fs_error *err)
{
    double pos[4];
    fs_toolhead_get_position(job->printer->toolhead, pos);
    if (pos[0] == xyz[0] && pos[1] == xyz[1] && pos[2] == xyz[2])
        return 0;
    memcpy(pos, xyz, 3 * sizeof(double));
    return fs_toolhead_move(job->printer->toolhead, pos, speed, err);
}

int fs_job_return_head(struct fs_job *job, const double pos[3], double travel_z, double speed,
                       double z_speed, struct fs_error *err)
{
    struct fs_toolhead *th = job->printer->toolhead;
    double now[4];
    if (!th)
        return 0;
    fs_toolhead_get_position(th, now);
    /* Never lower before crossing: a maintenance move may have left the
     * head above the travel height, and the way down is over the print. */
    double z = fmax(travel_z, now[2]);
    double up[3] = {now[0], now[1], z};
    double across[3] = {pos[0], pos[1], z};
    if (move_to(job, up, z_speed, err) < 0 || move_to(job, across, speed, err) < 0 ||
        move_to(job, pos, z_speed, err) < 0)
        return -1;
    fs_toolhead_wait_moves(th);
    return 0;
}

static int lift_and_park(struct fs_job *job, const struct fs_job_park *park,
                         struct fs_error *err)
{
    struct fs_toolhead *th = job->printer->toolhead;
    double pos[4];
    if (!th)
        return 0;
    fs_toolhead_get_position(th, pos);
    double lifted[3] = {pos[0], pos[1], fmax(pos[2], fmin(pos[2] + park->z_lift,
                                                          fs_job_z_max(job)))};
    double parked[3] = {isnan(park->x) ? pos[0] : park->x, isnan(park->y) ? pos[1] : park->y,
                        lifted[2]};
    if (move_to(job, lifted, park->z_speed, err) < 0 ||
        move_to(job, parked, park->speed, err) < 0)
        return fs_error_prefix(err, "pause: park: ");
    fs_toolhead_wait_moves(th);
    return 0;
}

/* ---- the pause ---- */

static void announce_idle(struct fs_job *job, const struct fs_job_park *park)
{
    if (park->idle_timeout_s <= 0.0)
        fs_gcode_respond_error(job->gcode, "paused by fault: idle timeout suspended");
    else
        fs_gcode_respond_error(job->gcode, "paused by fault: idle timeout in %.0f s turns off "
                               "motors (homing will be lost)", park->idle_timeout_s);
}

int fs_job_fault_pause(struct fs_job *job, const struct fs_job_park *park, struct fs_error *err)
{
    if (job->state == FS_JOB_PAUSED) {
        if (job->fault.active)
            return 0;
        /* A person paused first: the head is where they left it. */
        fs_job_read_heater_targets(job, &job->fault.saved);
        memcpy(job->fault.paused_pos, job->journal.pause_state.position,
               sizeof(job->fault.paused_pos));
        job->fault.active = 1;
        job->fault.park = *park;
        heaters_follow_policy(job, park);
        fs_job_idle_state_changed(job);
        announce_idle(job, park);
        fs_job_journal_note(job);
        return 0;
    }
    if (job->state != FS_JOB_PRINTING) {
        job->hold.held = 0;
        return 0;
    }
    /* Targets before the wait for the queued moves: a heater that faults
     * meanwhile must still come back to the print's target on RESUME. */
    fs_job_read_heater_targets(job, &job->fault.saved);
    job->fault.active = 1;
    job->fault.park = *park;
    int common = fs_job_pause_common(job, err);
    if (common != 0) {
        /* > 0: a halt came while the moves ran out; its pause takes over. */
        job->fault.active = 0;
        return common < 0 ? -1 : 0;
    }
    memcpy(job->fault.paused_pos, job->journal.pause_state.position,
           sizeof(job->fault.paused_pos));
    int rc = lift_and_park(job, park, err);
    heaters_follow_policy(job, park);
    announce_idle(job, park);
    if (job->hold.failed_line)
        fs_gcode_respond_info(job->gcode, "paused by fault: %s runs again after RESUME",
                              job->hold.failed_source);
    fs_log(job->printer->log, FS_LOG_INFO, "job paused by a fault at %s byte %ld",
           job->file.name, job->file.position);
    fs_job_journal_note(job);
    return rc;
}

/* ---- the pause after a halt ---- */

/* Whether p lies on the straight path from a to b (X Y Z within tol_mm,
 * E within the travel's span give or take FS_JOB_HALT_MATCH_E_MM, unless
 * p's E is unknown: NAN): the moves of one line, seen from where the
 * motors stopped. */
static int on_segment(const double a[4], const double b[4], const double p[4], double tol_mm)
{
    double d[3], w[3], dd = 0.0, wd = 0.0;
    for (int i = 0; i < 3; i++) {
        d[i] = b[i] - a[i];
        w[i] = p[i] - a[i];
        dd += d[i] * d[i];
        wd += w[i] * d[i];
    }
    double t = dd > 0.0 ? fmin(1.0, fmax(0.0, wd / dd)) : 0.0;
    double dist2 = 0.0;
    for (int i = 0; i < 3; i++) {
        double e = a[i] + t * d[i] - p[i];
        dist2 += e * e;
    }
    double e_lo = fmin(a[3], b[3]) - FS_JOB_HALT_MATCH_E_MM;
    double e_hi = fmax(a[3], b[3]) + FS_JOB_HALT_MATCH_E_MM;
    return dist2 <= tol_mm * tol_mm && (isnan(p[3]) || (p[3] >= e_lo && p[3] <= e_hi));
}

/* The newest line whose moves pass through where the motors stopped; -1
 * when none does. A line that was stopped halfway runs again from its
 * start; a stop between two lines matches the later one, which starts
 * exactly there. */
int fs_job_find_stopped_line(const struct fs_job *job, const double stopped[4])
{
    const struct fs_job_checkpoints *c = &job->checkpoints;
    const double *end = NULL;
    for (int k = 0; k < c->count; k++) {
        int i = (c->next - 1 - k + 2 * FS_JOB_CHECKPOINTS) % FS_JOB_CHECKPOINTS;
        const double *start = c->ring[i].g.position;
        if (on_segment(start, end ? end : start, stopped, FS_JOB_HALT_MATCH_MM))
            return i;
        end = start;
    }
    return -1;
}

/* The print's targets as they were before the line that runs again: the
 * lines read after it (up to the planner's lead, e.g. the end's M104 S0)
 * run again after RESUME and set theirs then. */
static void targets_before_line(const struct fs_job *job, const struct fs_job_checkpoint *cp,
                                struct fs_job_heater_targets *saved)
{
    const struct fs_job_heater_targets *pt = &job->journal.print_targets;
    for (int k = 0; k < saved->count; k++)
        for (int j = 0; j < pt->count && j < cp->target_count; j++)
            if (!strcmp(pt->name[j], saved->name[k]))
                saved->target_c[k] = cp->targets[j];
}

int fs_job_halt_pause(struct fs_job *job, const struct fs_job_park *park, struct fs_error *err)
{
    struct fs_toolhead *th = job->printer->toolhead;
    if (job->state == FS_JOB_PAUSED)
        return fs_job_fault_pause(job, park, err);
    if (job->state != FS_JOB_PRINTING || !th || !job->printer->gcode_move) {
        job->hold.held = 0;
        return 0;
    }
    double stopped[4];
    fs_toolhead_get_position(th, stopped);
    int i = fs_job_find_stopped_line(job, stopped);
    if (i >= 0) {
        const struct fs_job_checkpoint *cp = &job->checkpoints.ring[i];
        if (fseek(job->file.fp, cp->pos, SEEK_SET) != 0)
            return fs_error_set(err, "%s: cannot seek back to byte %ld", job->file.name, cp->pos);
        job->file.position = cp->pos;
        job->file.line = cp->line;
        job->journal.pause_state = cp->g;
        fs_gcode_respond_error(job->gcode, "halted: the motors stopped in %s:%ld; it runs "
                               "again from its start after RESUME", job->file.name,
                               cp->line + 1);
    } else {
        /* Nothing recent passes there (a move made outside the file): the
         * file goes on from the next line, the head from where it is. */
        fs_gcode_move_get_state(job->printer->gcode_move, &job->journal.pause_state);
        fs_gcode_respond_error(job->gcode, "halted away from the file's path: RESUME continues "
                               "with %s:%ld from where the head stopped", job->file.name,
                               job->file.line + 1);
    }
    job->journal.have_pause_state = 1;
    job->hold.failed_line = 0;
    job->hold.held = 0;
    memcpy(job->fault.paused_pos, job->journal.pause_state.position,
           sizeof(job->fault.paused_pos));
    fs_job_read_heater_targets(job, &job->fault.saved);
    if (i >= 0)
        targets_before_line(job, &job->checkpoints.ring[i], &job->fault.saved);
    job->fault.active = 1;
    job->fault.after_halt = 1;
    job->fault.park = *park;
    job->pause_requested = 0;
    fs_print_stats_pause(&job->stats, fs_job_now(job));
    fs_job_set_state(job, FS_JOB_PAUSED);
    /* No lift or park: motion is refused until the halt is acknowledged,
     * and an axis the fault made untrustworthy must not move at all.
     * RESUME goes up from wherever the head is then. */
    heaters_follow_policy(job, park);
    announce_idle(job, park);
    fs_job_journal_note(job);
    return 0;
}

void fs_job_fault_end(struct fs_job *job)
{
    if (!job->fault.active)
        return;
    job->fault.active = 0;
    job->fault.after_halt = 0;
    fs_reactor_timer_cancel(job->reactor, &job->fault.heaters_off_timer);
    /* Back to the ordinary idle timeout. */
    fs_reactor_timer_cancel(job->reactor, &job->idle.timer);
    fs_job_idle_state_changed(job);
}

void fs_job_fault_init(struct fs_job *job)
{
    fs_timer_init(&job->fault.heaters_off_timer, heaters_off_fn, job);
}

int fs_job_fault_resume(struct fs_job *job, double velocity, struct fs_error *err)
{
    const struct fs_job_park *park = &job->fault.park;
    fs_reactor_timer_cancel(job->reactor, &job->fault.heaters_off_timer);
    const double *p = job->fault.paused_pos;
    double travel_z = fmin(p[2] + park->z_lift, fs_job_z_max(job));
    if (fs_job_reheat(job, &job->fault.saved, "RESUME", err) < 0) {
        fs_error_prefix(err, "reheating: ");
    } else if (fs_job_return_head(job, p, travel_z, velocity, park->z_speed, err) < 0) {
        fs_error_prefix(err, "moving back: ");
    } else if (job->fault.after_halt) {
        /* The state before the line that runs again, not SAVE_GCODE_STATE's
         * (taken after lines whose moves the halt dropped). */
        fs_gcode_move_set_state(job->printer->gcode_move, &job->journal.pause_state);
        return 0;
    } else {
        return fs_gcode_run_line(job->gcode,
                                 "RESTORE_GCODE_STATE NAME=" PAUSE_STATE_NAME " MOVE=0",
                                 "RESUME", err);
    }
    /* Still paused: the heaters this resume switched on must not stay on
     * longer than the pause policy allows. */
    heaters_follow_policy(job, park);
    return -1;
}
