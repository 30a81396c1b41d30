/* What a printer's display shows about the job: M73 (progress in percent and
 * remaining minutes, as slicers emit them) and M117 (a message line). The
 * values are kept for the status report; the job's own byte progress stands
 * in while no M73 has been seen. */
#include "job/job_internal.h"

#include <math.h>   /* NAN, INFINITY */

#include "core/error.h"  /* fs_error_set */
#include "gcode/gcode.h" /* fs_gcode_register, fs_gcode_get_float */

void fs_display_status_reset_progress(struct fs_display_status *d)
{
    d->progress = -1.0;
    d->remaining_s = -1.0;
}

void fs_display_status_reset(struct fs_display_status *d)
{
    fs_display_status_reset_progress(d);
    d->message[0] = '\0';
}

static int cmd_m73(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    struct fs_job *job = arg;
    double percent, minutes;
    if (fs_gcode_has(cmd, "P")) {
        if (fs_gcode_get_float(cmd, "P", NAN, 0.0, 100.0, &percent, err) < 0)
            return -1;
        job->display.progress = percent / 100.0;
    }
    if (fs_gcode_has(cmd, "R")) {
        if (fs_gcode_get_float(cmd, "R", NAN, 0.0, INFINITY, &minutes, err) < 0)
            return -1;
        job->display.remaining_s = minutes * 60.0;
    }
    return 0;
}

static int cmd_m117(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    struct fs_job *job = arg;
    if (fs_job_rest_text(cmd, job->display.message, sizeof(job->display.message)) < 0)
        return fs_error_set(err, "M117: message longer than %zu characters",
                            sizeof(job->display.message) - 1);
    return 0;
}

int fs_job_display_register(struct fs_job *job, struct fs_error *err)
{
    if (fs_gcode_register(job->gcode, "M73", cmd_m73, job,
                          "Set the displayed progress (P percent) and remaining time (R minutes)",
                          err) < 0)
        return -1;
    return fs_gcode_register(job->gcode, "M117", cmd_m117, job,
                             "Show a message on the display (empty to clear)", err);
}
