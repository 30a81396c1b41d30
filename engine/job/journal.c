/* The job's journal and JOB_RECOVER: what survives a shutdown, a restart
 * or a power loss, and how a print continues from it.
 *
 * <dir>/job.json is one JSON object, replaced as a whole: written to a
 * temporary file in the same folder, flushed, fsync'd and renamed over the
 * old one, so a crash leaves either the old or the new journal, never half
 * of one. It is written when the job starts, on every pause, at the end
 * (complete, cancelled, error), on an emergency stop or an interruption,
 * and every FS_JOB_JOURNAL_PERIOD_S of printing from the runner, between
 * two lines.
 *
 * What makes a journal resumable is a pair that belongs together: the byte
 * of the line to run next and the G-code state in which it must run. Between
 * lines that is the file position and the state now. In a pause it is the
 * state SAVE_GCODE_STATE kept. In an emergency stop inside a line it is the
 * line's own start and the state before it, so the line runs again. What
 * the journal cannot know at the moment of a shutdown is which of the moves
 * queued before the stop had really run (at most FS_TOOLHEAD_MAX_LEAD_S of
 * motion): so once the motors' positions are read back (from the main
 * loop, fs_job_correct_after_shutdown) the journal is rewritten to the line
 * the motors stopped in, as after a halt. Only steppers whose MCU did not
 * answer keep the plan's position, and the journal says which.
 *
 * JOB_RECOVER reads it back (see fs_job_recover in job.h). The file must
 * be the same (size and mtime as recorded): resuming a changed file at a
 * byte offset would print garbage. */
#include "job/job_internal.h"

#include <cjson/cJSON.h> /* cJSON */
#include <errno.h>       /* errno */
#include <math.h>        /* isnan, INFINITY, fmin */
#include <stdio.h>       /* snprintf, fopen, rename */
#include <stdlib.h>      /* free, malloc */
#include <string.h>      /* strcmp, strerror, memcpy */
#include <sys/stat.h>    /* stat */


#include "core/atomic_file.h" /* fs_atomic_write */
#include "core/error.h"      /* fs_error_set */
#include "gcode/gcode.h"     /* fs_gcode_register */
#include "motion/gcode_move.h" /* fs_gcode_move_get_state */
#include "motion/toolhead.h" /* fs_toolhead_homed_axes */
#include "printer/printer.h" /* struct fs_printer */
#include "thermal/heaters.h" /* fs_heaters_*, fs_fan_* */

#define JOURNAL_VERSION 1
#define JOURNAL_MAX_BYTES (64 * 1024)
#define PART_FAN_NAME "fan"
/* JOB_RECOVER's defaults when the journal has no park settings. */
#define RECOVER_Z_LIFT_MM 10.0
#define RECOVER_Z_SPEED 10.0

void fs_job_format_mtime(const struct stat *st, char *out, size_t size)
{
    snprintf(out, size, "%lld.%09ld", (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
}

int fs_job_set_journal_dir(struct fs_job *job, const char *dir)
{
    if (!dir)
        dir = "";
    if (strlen(dir) >= sizeof(job->journal.dir))
        return -1;
    snprintf(job->journal.dir, sizeof(job->journal.dir), "%s", dir);
    return 0;
}

static int journaling(const struct fs_job *job)
{
    return job->journal.dir[0] != '\0';
}

/* ---- the runner's notes ---- */

void fs_job_journal_line_start(struct fs_job *job)
{
    struct fs_job_checkpoints *c = &job->checkpoints;
    job->journal.line_start_pos = job->file.position;
    job->journal.line_start_line = job->file.line;
    job->journal.have_line_start_state = job->printer->gcode_move != NULL;
    if (!job->journal.have_line_start_state)
        return;
    fs_gcode_move_get_state(job->printer->gcode_move, &job->journal.line_start_state);
    if (!c->ring)
        return;
    struct fs_job_checkpoint *cp = &c->ring[c->next];
    cp->pos = job->file.position;
    cp->line = job->file.line;
    cp->g = job->journal.line_start_state;
    cp->target_count = job->journal.print_targets.count;
    memcpy(cp->targets, job->journal.print_targets.target_c, sizeof(cp->targets));
    c->next = (c->next + 1) % FS_JOB_CHECKPOINTS;
    if (c->count < FS_JOB_CHECKPOINTS)
        c->count++;
}

/* The print's own heater targets, noted after every line that was not
 * stopped by a fault: a faulted heater keeps what the print had asked. */
static void note_print_targets(struct fs_job *job)
{
    struct fs_heaters *hs = job->printer->heaters;
    struct fs_job_heater_targets *pt = &job->journal.print_targets;
    if (!hs || job->hold.held)
        return;
    int n = 0;
    for (int i = 0; i < fs_heaters_count(hs) && n < FS_JOB_HEATERS_MAX; i++) {
        struct fs_heater *h = fs_heaters_at(hs, i);
        if (!fs_heater_has_output(h))
            continue;
        double target;
        fs_heater_get_temp(h, NULL, &target);
        /* Runs after every line: the names rarely change, so compare
         * once and copy only when they do. */
        int same = n < pt->count && !strcmp(pt->name[n], fs_heater_name(h));
        if (fs_heater_fault(h, NULL) != FS_HEATER_FAULT_NONE && same)
            target = pt->target_c[n];
        if (!same)
            snprintf(pt->name[n], sizeof(pt->name[n]), "%s", fs_heater_name(h));
        pt->target_c[n++] = target;
    }
    pt->count = n;
}

void fs_job_journal_after_line(struct fs_job *job)
{
    note_print_targets(job);
    if (!journaling(job) || fs_job_now(job) < job->journal.next_write)
        return;
    job->journal.next_write = fs_job_now(job) + FS_JOB_JOURNAL_PERIOD_S;
    fs_job_journal_note(job);
}

/* ---- writing ---- */

static cJSON *numbers(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static void add_gcode_state(cJSON *obj, const struct fs_gcode_move_state *g)
{
    cJSON *s = cJSON_AddObjectToObject(obj, "gcode_state");
    if (!s)
        return;
    cJSON_AddBoolToObject(s, "absolute_coord", g->absolute_coord);
    cJSON_AddBoolToObject(s, "absolute_extrude", g->absolute_extrude);
    cJSON_AddItemToObject(s, "base", numbers(g->base, 4));
    cJSON_AddItemToObject(s, "homing", numbers(g->homing, 4));
    cJSON_AddItemToObject(s, "position", numbers(g->position, 4));
    double gpos[4];
    for (int i = 0; i < 3; i++)
        gpos[i] = g->position[i] - g->base[i];
    gpos[3] = (g->position[3] - g->base[3]) / g->extrude_factor;
    cJSON_AddItemToObject(s, "gcode_position", numbers(gpos, 4));
    cJSON_AddNumberToObject(s, "speed", g->speed);
    cJSON_AddNumberToObject(s, "speed_factor", g->speed_factor);
    cJSON_AddNumberToObject(s, "extrude_factor", g->extrude_factor);
}

static const char *journal_state(const struct fs_job *job)
{
    if (job->journal.interrupted)
        return "interrupted";
    return fs_job_state_name(job->state);
}

static cJSON *build_journal(struct fs_job *job)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    struct fs_job_status st;
    fs_job_get_status(job, &st);
    cJSON_AddNumberToObject(j, "version", JOURNAL_VERSION);
    cJSON_AddStringToObject(j, "state", journal_state(job));
    cJSON_AddBoolToObject(j, "paused_by_fault", job->fault.active);
    cJSON_AddStringToObject(j, "reason", job->journal.interrupted
                                             ? job->journal.interrupted_reason
                                             : job->stats.message);
    cJSON_AddNumberToObject(j, "time", fs_job_now(job));
    cJSON *f = cJSON_AddObjectToObject(j, "file");
    if (f) {
        cJSON_AddStringToObject(f, "name", job->file.name);
        cJSON_AddStringToObject(f, "path", job->file.path);
        cJSON_AddNumberToObject(f, "size", (double)job->file.size);
        cJSON_AddStringToObject(f, "mtime", job->file.mtime);
        cJSON_AddNumberToObject(f, "position", (double)job->file.position);
        cJSON_AddNumberToObject(f, "line", (double)job->file.line);
    }
    struct fs_gcode_move_state now;
    const struct fs_gcode_move_state *g = NULL;
    if (job->journal.have_pause_state) {
        g = &job->journal.pause_state;
    } else if (job->printer->gcode_move) {
        fs_gcode_move_get_state(job->printer->gcode_move, &now);
        g = &now;
    }
    if (g)
        add_gcode_state(j, g);
    if (job->printer->toolhead) {
        double head[4];
        fs_toolhead_get_position(job->printer->toolhead, head);
        cJSON_AddItemToObject(j, "head_position", numbers(head, 4));
    }
    struct fs_job_heater_targets targets;
    if (job->fault.active)
        targets = job->fault.saved;
    else
        fs_job_read_heater_targets(job, &targets);
    cJSON *h = cJSON_AddObjectToObject(j, "heaters");
    for (int i = 0; h && i < targets.count; i++)
        cJSON_AddNumberToObject(h, targets.name[i], targets.target_c[i]);
    struct fs_fan *fan = job->printer->heaters
                             ? fs_heaters_lookup_fan(job->printer->heaters, PART_FAN_NAME)
                             : NULL;
    if (fan)
        cJSON_AddNumberToObject(j, "fan_speed", fs_fan_get_speed(fan));
    if (job->fault.active) {
        cJSON *p = cJSON_AddObjectToObject(j, "park");
        if (p) {
            cJSON_AddNumberToObject(p, "z_lift", job->fault.park.z_lift);
            cJSON_AddNumberToObject(p, "z_speed", job->fault.park.z_speed);
            cJSON_AddNumberToObject(p, "speed", job->fault.park.speed);
        }
    }
    cJSON *ps = cJSON_AddObjectToObject(j, "print_stats");
    if (ps) {
        cJSON_AddNumberToObject(ps, "print_duration", st.print_duration_s);
        cJSON_AddNumberToObject(ps, "total_duration", st.total_duration_s);
        cJSON_AddNumberToObject(ps, "filament_used", st.filament_used_mm);
    }
    return j;
}

int fs_job_write_journal(struct fs_job *job, struct fs_error *err)
{
    if (!journaling(job))
        return 0;
    cJSON *j = build_journal(job);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return fs_error_set(err, "journal: out of memory");
    int rc = fs_atomic_write(job->journal.dir, FS_JOB_JOURNAL_NAME, text, err);
    if (rc < 0)
        fs_error_prefix(err, "journal: ");
    free(text);
    return rc;
}

void fs_job_journal_note(struct fs_job *job)
{
    struct fs_error err;
    fs_error_clear(&err);
    if (fs_job_write_journal(job, &err) < 0)
        fs_gcode_respond_error(job->gcode, "%s", err.msg);
}

/* ---- after a shutdown ---- */

static char *read_text(const char *path, struct fs_error *err);

int fs_job_needs_shutdown_fix(const struct fs_job *job)
{
    return job->journal.shutdown_pending && journaling(job);
}

static void replace_item(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

/* The line the motors stopped in, from the checkpoints; NULL when none of
 * the recent lines passes there. */
static const struct fs_job_checkpoint *stopped_line(const struct fs_job *job,
                                                    const double head[4], int e_known)
{
    double where[4] = {head[0], head[1], head[2], e_known ? head[3] : NAN};
    int i = fs_job_find_stopped_line(job, where);
    return i < 0 ? NULL : &job->checkpoints.ring[i];
}

static int correct_journal(struct fs_job *job, cJSON *j, const double head[4], int e_known,
                           const char *unread, struct fs_error *err)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "state");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "file");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(f, "line");
    /* Only the journal the shutdown wrote: nothing else may be rewound. */
    if (!cJSON_IsString(state) || strcmp(state->valuestring, "interrupted") ||
        !cJSON_IsString(path) || strcmp(path->valuestring, job->file.path) ||
        !cJSON_IsNumber(line))
        return fs_error_set(err, "journal: not the one the shutdown wrote; left as it is");
    double journal_line = line->valuedouble;
    const struct fs_job_checkpoint *cp = stopped_line(job, head, e_known);
    /* M112 in the file asked for the stop there: going back to a line
     * before it would run it again and stop the recovery the same way. */
    int rewind = cp && !job->journal.shutdown_in_line;
    if (rewind) {
        replace_item(f, "position", cJSON_CreateNumber((double)cp->pos));
        replace_item(f, "line", cJSON_CreateNumber((double)cp->line));
        cJSON_DeleteItemFromObjectCaseSensitive(j, "gcode_state");
        add_gcode_state(j, &cp->g);
        /* The targets before that line too: lines read ahead of the motors
         * (the end's M104 S0) run again after JOB_RECOVER. */
        cJSON *heaters = cJSON_GetObjectItemCaseSensitive(j, "heaters");
        const struct fs_job_heater_targets *pt = &job->journal.print_targets;
        for (int k = 0; cJSON_IsObject(heaters) && k < pt->count && k < cp->target_count; k++)
            replace_item(heaters, pt->name[k], cJSON_CreateNumber(cp->targets[k]));
    }
    replace_item(j, "head_position", numbers(head, 4));
    cJSON *rb = cJSON_CreateObject();
    if (rb) {
        cJSON_AddBoolToObject(rb, "motors_read", !unread[0]);
        cJSON_AddStringToObject(rb, "not_read", unread);
        cJSON_AddNumberToObject(rb, "journal_line", journal_line);
        cJSON_AddNumberToObject(rb, "stopped_in_line", cp ? (double)cp->line + 1 : -1.0);
        cJSON_AddBoolToObject(rb, "rewound", rewind);
        replace_item(j, "shutdown_read_back", rb);
    }
    if (rewind)
        fs_gcode_respond_info(job->gcode, "shutdown: the motors stopped in %s:%ld (head Z "
                              "%.3f); the journal continues from there", job->file.name,
                              cp->line + 1, head[2]);
    else
        fs_gcode_respond_info(job->gcode, "shutdown: the head stopped at Z %.3f; the journal "
                              "keeps its line (%s)", head[2],
                              cp ? "the file's own M112 is not run again"
                                 : "no recent line passes there");
    if (unread[0])
        fs_gcode_respond_error(job->gcode, "shutdown: not read back, the plan's position is "
                               "kept for: %s", unread);
    return 0;
}

int fs_job_correct_after_shutdown(struct fs_job *job, const double head[4], int e_known,
                                  const char *unread, struct fs_error *err)
{
    if (!fs_job_needs_shutdown_fix(job))
        return 0;
    job->journal.shutdown_pending = 0;
    char path[FS_JOB_DIR_MAX + 32];
    snprintf(path, sizeof(path), "%s/" FS_JOB_JOURNAL_NAME, job->journal.dir);
    char *text = read_text(path, err);
    if (!text)
        return fs_error_prefix(err, "journal after the shutdown: ");
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        return fs_error_set(err, "%s: not valid JSON", path);
    int rc = correct_journal(job, j, head, e_known, unread ? unread : "", err);
    char *out = rc == 0 ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (rc < 0)
        return -1;
    if (!out)
        return fs_error_set(err, "journal: out of memory");
    rc = fs_atomic_write(job->journal.dir, FS_JOB_JOURNAL_NAME, out, err);
    free(out);
    return rc < 0 ? fs_error_prefix(err, "journal: ") : 0;
}

/* ---- reading: JOB_RECOVER ---- */

static char *read_text(const char *path, struct fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? (fs_error_set(err, "no journal: %s does not exist", path), NULL)
                               : (fs_error_set(err, "%s: %s", path, strerror(errno)), NULL);
    char *buf = malloc(JOURNAL_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, JOURNAL_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf || n > JOURNAL_MAX_BYTES) {
        free(buf);
        fs_error_set(err, "%s: larger than %d bytes", path, JOURNAL_MAX_BYTES);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int get_number(const cJSON *obj, const char *key, double *out, struct fs_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        return fs_error_set(err, "journal: '%s' missing or not a number", key);
    *out = v->valuedouble;
    return 0;
}

static int get_numbers(const cJSON *obj, const char *key, double *out, int n,
                       struct fs_error *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return fs_error_set(err, "journal: '%s' is not an array of %d numbers", key, n);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(v))
            return fs_error_set(err, "journal: '%s' is not an array of %d numbers", key, n);
        out[i] = v->valuedouble;
    }
    return 0;
}

static int read_gcode_state(const cJSON *j, struct fs_gcode_move_state *g,
                            struct fs_error *err)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "gcode_state");
    if (!cJSON_IsObject(s))
        return 0; /* a printer without motion: refused once the machine is checked */
    g->absolute_coord = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "absolute_coord"));
    g->absolute_extrude = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "absolute_extrude"));
    if (get_numbers(s, "base", g->base, 4, err) < 0 ||
        get_numbers(s, "homing", g->homing, 4, err) < 0 ||
        get_numbers(s, "position", g->position, 4, err) < 0 ||
        get_number(s, "speed", &g->speed, err) < 0 ||
        get_number(s, "speed_factor", &g->speed_factor, err) < 0 ||
        get_number(s, "extrude_factor", &g->extrude_factor, err) < 0)
        return -1;
    if (!(g->extrude_factor > 0.0) || !(g->speed_factor > 0.0) || !(g->speed > 0.0))
        return fs_error_set(err, "journal: gcode_state has a factor or speed <= 0");
    return 1;
}

struct recovery {
    char name[FS_JOB_NAME_MAX];
    char path[FS_JOB_DIR_MAX + FS_JOB_NAME_MAX];
    double size, position;
    char mtime[32];
    struct fs_gcode_move_state g;
    int have_g;
    struct fs_job_heater_targets targets;
    double fan_speed; /* NAN: none recorded */
    double z_lift, z_speed, speed;
    double print_duration, total_duration, filament_used;
};

static int copy_string(const cJSON *obj, const char *key, char *out, size_t size,
                       struct fs_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
        return fs_error_set(err, "journal: '%s' missing or too long", key);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

static int parse_recovery(const cJSON *j, struct recovery *r, struct fs_error *err)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "state");
    if (!cJSON_IsString(state))
        return fs_error_set(err, "journal: no state");
    const char *s = state->valuestring;
    if (strcmp(s, "paused") && strcmp(s, "printing") && strcmp(s, "interrupted"))
        return fs_error_set(err, "the journal's job ended (%s): nothing to recover", s);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "file");
    if (copy_string(f, "name", r->name, sizeof(r->name), err) < 0 ||
        copy_string(f, "path", r->path, sizeof(r->path), err) < 0 ||
        get_number(f, "size", &r->size, err) < 0 ||
        copy_string(f, "mtime", r->mtime, sizeof(r->mtime), err) < 0 ||
        get_number(f, "position", &r->position, err) < 0 ||
        (r->have_g = read_gcode_state(j, &r->g, err)) < 0)
        return -1;
    r->targets.count = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "heaters")) {
        if (!cJSON_IsNumber(h) || !h->string || r->targets.count >= FS_JOB_HEATERS_MAX ||
            strlen(h->string) >= sizeof(r->targets.name[0]))
            return fs_error_set(err, "journal: bad heaters entry");
        snprintf(r->targets.name[r->targets.count], sizeof(r->targets.name[0]), "%s",
                 h->string);
        r->targets.target_c[r->targets.count++] = h->valuedouble;
    }
    const cJSON *fan = cJSON_GetObjectItemCaseSensitive(j, "fan_speed");
    r->fan_speed = cJSON_IsNumber(fan) ? fan->valuedouble : NAN;
    const cJSON *park = cJSON_GetObjectItemCaseSensitive(j, "park");
    r->z_lift = RECOVER_Z_LIFT_MM;
    r->z_speed = RECOVER_Z_SPEED;
    r->speed = NAN;
    if (cJSON_IsObject(park) && (get_number(park, "z_lift", &r->z_lift, err) < 0 ||
                                 get_number(park, "z_speed", &r->z_speed, err) < 0 ||
                                 get_number(park, "speed", &r->speed, err) < 0))
        return -1;
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "print_stats");
    r->print_duration = r->total_duration = r->filament_used = 0.0;
    if (cJSON_IsObject(ps) && (get_number(ps, "print_duration", &r->print_duration, err) < 0 ||
                               get_number(ps, "total_duration", &r->total_duration, err) < 0 ||
                               get_number(ps, "filament_used", &r->filament_used, err) < 0))
        return -1;
    return 0;
}

static int load_recovery(struct fs_job *job, struct recovery *r, struct fs_error *err)
{
    char path[FS_JOB_DIR_MAX + 32];
    if (!journaling(job))
        return fs_error_set(err, "no journal: [fault_policy] journal_path is not set");
    snprintf(path, sizeof(path), "%s/" FS_JOB_JOURNAL_NAME, job->journal.dir);
    char *text = read_text(path, err);
    if (!text)
        return -1;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        return fs_error_set(err, "%s: not valid JSON", path);
    int rc = parse_recovery(j, r, err);
    cJSON_Delete(j);
    return rc < 0 ? fs_error_prefix(err, "%s: ", path) : 0;
}

int fs_job_journal_unfinished(const struct fs_job *job, char *what, size_t size)
{
    char path[FS_JOB_DIR_MAX + 32];
    struct fs_error err;
    if (!journaling(job))
        return 0;
    snprintf(path, sizeof(path), "%s/" FS_JOB_JOURNAL_NAME, job->journal.dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    char *text = read_text(path, &err);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "state");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(j, "file");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(file, "name");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(file, "position");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
    int unfinished = cJSON_IsString(state) &&
                     (!strcmp(state->valuestring, "paused") ||
                      !strcmp(state->valuestring, "printing") ||
                      !strcmp(state->valuestring, "interrupted"));
    if (unfinished && what)
        snprintf(what, size, "%s at byte %.0f (%s%s%s)",
                 cJSON_IsString(name) ? name->valuestring : "?",
                 cJSON_IsNumber(pos) ? pos->valuedouble : -1.0, state->valuestring,
                 cJSON_IsString(reason) && reason->valuestring[0] ? ": " : "",
                 cJSON_IsString(reason) ? reason->valuestring : "");
    cJSON_Delete(j);
    return unfinished;
}

static int check_file_unchanged(const struct recovery *r, struct fs_error *err)
{
    struct stat st;
    if (stat(r->path, &st) != 0)
        return fs_error_set(err, "the print file %s: %s", r->path, strerror(errno));
    char mtime[32];
    fs_job_format_mtime(&st, mtime, sizeof(mtime));
    if ((double)st.st_size != r->size || strcmp(mtime, r->mtime))
        return fs_error_set(err, "the print file %s changed since the journal was written "
                            "(size %lld, was %.0f; modified %s, was %s): it cannot be resumed "
                            "at a byte offset", r->path, (long long)st.st_size, r->size, mtime,
                            r->mtime);
    return 0;
}

static int check_homed(struct fs_job *job, struct fs_error *err)
{
    struct fs_toolhead *th = job->printer->toolhead;
    if (!th || !job->printer->gcode_move)
        return fs_error_set(err, "the printer has no toolhead");
    unsigned homed = fs_toolhead_homed_axes(th);
    if ((homed & 0x7u) != 0x7u)
        return fs_error_set(err, "home the axes first: G28 X Y, then G28 Z or, when homing Z "
                            "would hit the print, SET_KINEMATIC_POSITION Z=<the journal's "
                            "head_position Z>");
    return 0;
}

int fs_job_recover(struct fs_job *job, double z_lift, struct fs_error *err)
{
    struct recovery r;
    if (job->state == FS_JOB_PRINTING || job->state == FS_JOB_PAUSED)
        return fs_error_set(err, "a print is running");
    if (load_recovery(job, &r, err) < 0 || check_file_unchanged(&r, err) < 0 ||
        check_homed(job, err) < 0)
        return -1;
    if (!r.have_g)
        return fs_error_set(err, "the journal has no G-code state to continue from");
    if (!isnan(z_lift))
        r.z_lift = z_lift;
    if (fs_job_open_file(job, r.path, r.name, err) < 0 ||
        fs_job_set_position(job, (long)r.position, err) < 0)
        return -1;
    if (fs_job_reheat(job, &r.targets, "JOB_RECOVER", err) < 0)
        return fs_error_prefix(err, "reheating: ");
    struct fs_fan *fan = job->printer->heaters
                             ? fs_heaters_lookup_fan(job->printer->heaters, PART_FAN_NAME)
                             : NULL;
    if (fan && !isnan(r.fan_speed) && fs_fan_set_speed(fan, r.fan_speed, err) < 0)
        return -1;
    double speed = isnan(r.speed) ? job->cfg.recover_velocity : r.speed;
    double travel_z = fmin(r.g.position[2] + r.z_lift, fs_job_z_max(job));
    if (fs_job_return_head(job, r.g.position, travel_z, speed, r.z_speed, err) < 0)
        return fs_error_prefix(err, "moving back: ");
    fs_gcode_move_set_state(job->printer->gcode_move, &r.g);
    /* The statistics go on from the journal's. */
    double now = fs_job_now(job);
    fs_print_stats_start(&job->stats, now - r.total_duration);
    job->stats.printing_since = now;
    job->stats.print_duration_s = r.print_duration;
    job->stats.filament_used_mm = r.filament_used;
    fs_display_status_reset_progress(&job->display);
    job->checkpoints.count = 0;
    job->journal.shutdown_pending = 0;
    fs_job_set_state(job, FS_JOB_PRINTING);
    job->journal.next_write = now + FS_JOB_JOURNAL_PERIOD_S;
    fs_gcode_respond_info(job->gcode, "JOB_RECOVER: %s from byte %ld", job->file.name,
                          job->file.position);
    fs_job_journal_note(job);
    return 0;
}

static int cmd_job_recover(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                           struct fs_error *err)
{
    (void)g;
    double z_lift = NAN;
    if (fs_gcode_has(cmd, "Z_LIFT") &&
        fs_gcode_get_float(cmd, "Z_LIFT", NAN, 0.0, INFINITY, &z_lift, err) < 0)
        return -1;
    return fs_job_recover(arg, z_lift, err) < 0 ? fs_error_prefix(err, "JOB_RECOVER: ") : 0;
}

int fs_job_recover_register(struct fs_job *job, struct fs_error *err)
{
    return fs_gcode_register(job->gcode, "JOB_RECOVER", cmd_job_recover, job,
                             "Continue the print of the job journal after a restart "
                             "(home first) [Z_LIFT=]", err);
}
