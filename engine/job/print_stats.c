/* Print statistics and the job's status report: how long the job has been
 * printing (pauses excluded) and running (pauses included), how much
 * filament it used, and the state and file position a user or the JSON API
 * sees. Durations are kept as closed stretches plus the start of the open
 * one, so reading them never needs a timer. */
#include "job/job_internal.h"

#include <cjson/cJSON.h> /* cJSON_Add*ToObject */
#include <string.h>      /* memset */

void fs_print_stats_reset(struct fs_print_stats *s)
{
    memset(s, 0, sizeof(*s));
}

void fs_print_stats_start(struct fs_print_stats *s, double now)
{
    /* Starting again after M26 (a resumed power-loss job) is a new run. */
    fs_print_stats_reset(s);
    s->started = 1;
    s->start_time = now;
    s->printing_since = now;
}

void fs_print_stats_pause(struct fs_print_stats *s, double now)
{
    s->print_duration_s += now - s->printing_since;
}

void fs_print_stats_resume(struct fs_print_stats *s, double now)
{
    s->printing_since = now;
}

void fs_print_stats_end(struct fs_print_stats *s, int was_printing, double now)
{
    if (!s->started || s->ended)
        return;
    if (was_printing)
        s->print_duration_s += now - s->printing_since;
    s->ended = 1;
    s->end_time = now;
}

double fs_print_stats_print_duration(const struct fs_print_stats *s, int printing, double now)
{
    return s->print_duration_s + (printing ? now - s->printing_since : 0.0);
}

double fs_print_stats_total_duration(const struct fs_print_stats *s, double now)
{
    if (!s->started)
        return 0.0;
    return (s->ended ? s->end_time : now) - s->start_time;
}

void fs_job_note_extrusion(struct fs_job *job, double delta_mm)
{
    if (job && job->state == FS_JOB_PRINTING)
        job->stats.filament_used_mm += delta_mm;
}

void fs_job_get_status(const struct fs_job *job, struct fs_job_status *out)
{
    double now = fs_job_now(job);
    int printing = job->state == FS_JOB_PRINTING;
    memset(out, 0, sizeof(*out));
    out->state = job->state;
    out->file = job->file.name;
    out->size = job->file.size;
    out->position = job->file.position;
    if (job->state == FS_JOB_COMPLETE)
        out->progress = 1.0;
    else if (job->file.size > 0)
        out->progress = (double)job->file.position / (double)job->file.size;
    out->print_duration_s = fs_print_stats_print_duration(&job->stats, printing, now);
    out->total_duration_s = fs_print_stats_total_duration(&job->stats, now);
    out->filament_used_mm = job->stats.filament_used_mm;
    out->message = job->stats.message;
    out->display_message = job->display.message;
    out->display_progress = job->display.progress >= 0 ? job->display.progress : out->progress;
    out->remaining_s = job->display.remaining_s;
    out->idle_state = job->idle.state;
    out->paused_by_fault = fs_job_paused_by_fault(job);
}

int fs_job_status_to_json(const struct fs_job *job, struct cJSON *obj)
{
    struct fs_job_status st;
    fs_job_get_status(job, &st);
    if (!cJSON_AddStringToObject(obj, "state", fs_job_state_name(st.state))
        || !cJSON_AddStringToObject(obj, "file", st.file)
        || !cJSON_AddNumberToObject(obj, "position", (double)st.position)
        || !cJSON_AddNumberToObject(obj, "size", (double)st.size)
        || !cJSON_AddNumberToObject(obj, "progress", st.progress)
        || !cJSON_AddNumberToObject(obj, "print_duration", st.print_duration_s)
        || !cJSON_AddNumberToObject(obj, "total_duration", st.total_duration_s)
        || !cJSON_AddNumberToObject(obj, "filament_used", st.filament_used_mm)
        || !cJSON_AddStringToObject(obj, "message", st.message)
        || !cJSON_AddStringToObject(obj, "display_message", st.display_message)
        || !cJSON_AddNumberToObject(obj, "display_progress", st.display_progress)
        || !cJSON_AddNumberToObject(obj, "remaining", st.remaining_s)
        || !cJSON_AddStringToObject(obj, "idle_state", fs_job_idle_state_name(st.idle_state))
        || !cJSON_AddBoolToObject(obj, "paused_by_fault", st.paused_by_fault))
        return -1;
    return 0;
}
