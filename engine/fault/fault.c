/* The fault module: sources, raising, folding, latching, escalation, the
 * actions and the deferred queue (the model is ../shared/FAULTS.md).
 *
 * fs_fault_raise runs wherever a fault is detected — a timer callback, an
 * MCU receive path — so it never waits and never runs G-code: it decides the
 * action, records the fault, does at once what must not wait (the part off,
 * motion stopped, no new job line, the shutdown itself) and queues what may
 * wait (the pause's park, the halt's position read-back, cancel, the
 * on_fault_gcode macro). fs_faults_run_deferred, from the main loop, runs the
 * queue most severe first (FIFO among equals, so a fault's macro runs after
 * its own action).
 *
 * Latching is per source and kind, for faults whose action switched
 * something off (disable and above): while a (source, kind) is latched a new
 * report of it is folded into the active record (folded++, the first
 * evidence kept, nothing re-done). A log or warn fault is a record only: it
 * does not latch (nothing to clear, RESUME not refused), and its repeats
 * within escalate_window fold into it. Escalation counts a source's unfolded
 * faults whose policy is more than log (a logged glitch is a note, not a
 * fault acted on): the escalate_count-th within escalate_window seconds is
 * carried out one step more severe than its policy (a part that is cleared
 * and faults straight back, or faults in several ways, stops looping). */
#include "fault/fault_internal.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf, snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strncmp, memmove */

#include <cjson/cJSON.h> /* cJSON_Delete */

#include "core/error.h"   /* fs_error_set */
#include "core/log.h"     /* fs_log */
#include "core/reactor.h" /* fs_reactor_now */

#define BIT(a) (1u << (a))

double fs_faults_now(const struct fs_faults *f)
{
    return f->reactor && f->reactor->backend.now ? fs_reactor_now(f->reactor) : 0.0;
}

struct fs_faults *fs_faults_new(struct fs_reactor *reactor, const struct fs_logger *log,
                                const struct fs_fault_policy_config *pc, struct fs_error *err)
{
    struct fs_faults *f = calloc(1, sizeof(*f));
    if (!f) {
        fs_error_set(err, "out of memory for the fault module");
        return NULL;
    }
    f->reactor = reactor;
    f->log = log;
    if (pc) {
        f->pc = *pc;
    } else if (fs_fault_policy_read(NULL, &f->pc, err) < 0) {
        free(f);
        return NULL;
    }
    f->next_id = fs_fault_journal_last_id(f->pc.journal_path) + 1;
    f->recorder = fs_fault_recorder_new(f->pc.capsule_seconds);
    if (!f->recorder) {
        free(f);
        fs_error_set(err, "out of memory for the fault recorder");
        return NULL;
    }
    return f;
}

void fs_faults_free(struct fs_faults *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->deferred_count; i++)
        cJSON_Delete(f->deferred[i].snapshot);
    fs_fault_recorder_free(f->recorder);
    free(f);
}

void fs_faults_set_actions(struct fs_faults *f, const struct fs_fault_actions *a)
{
    if (a) {
        f->actions = *a;
        f->has_actions = 1;
    } else {
        f->actions = (struct fs_fault_actions){0};
        f->has_actions = 0;
    }
}

void fs_faults_set_announce(struct fs_faults *f, fs_faults_announce_fn fn, void *arg)
{
    f->announce = fn;
    f->announce_arg = arg;
}

const struct fs_fault_policy_config *fs_faults_policy(const struct fs_faults *f)
{
    return &f->pc;
}

void fs_faults_set_config_text(struct fs_faults *f, const char *path, const char *text)
{
    f->config_path = path;
    f->config_text = text;
}

/* ---- sources ---- */

struct fs_fault_source *fs_faults_add_source(struct fs_faults *f, const char *name,
                                             enum fs_fault_class cls, unsigned flags,
                                             struct fs_config_section *section,
                                             const struct fs_fault_source_ops *ops, void *arg,
                                             struct fs_error *err)
{
    if (!name || !*name || strlen(name) >= FS_FAULT_NAME_MAX) {
        fs_error_set(err, "fault source name '%s' is empty or longer than %d bytes",
                     name ? name : "", FS_FAULT_NAME_MAX - 1);
        return NULL;
    }
    if ((unsigned)cls >= FS_FAULT_CLASS_COUNT) {
        fs_error_set(err, "fault source '%s': unknown class %d", name, (int)cls);
        return NULL;
    }
    if (fs_faults_lookup(f, name)) {
        fs_error_set(err, "fault source '%s' added twice", name);
        return NULL;
    }
    if (f->source_count >= FS_FAULT_SOURCES_MAX) {
        fs_error_set(err, "fault source '%s': more than %d fault sources", name,
                     FS_FAULT_SOURCES_MAX);
        return NULL;
    }
    struct fs_fault_source *s = &f->sources[f->source_count];
    *s = (struct fs_fault_source){0};
    if (fs_fault_source_policy_read(f->pc.profile, cls, flags, section, &s->policy, err) < 0)
        return NULL;
    s->owner = f;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->cls = cls;
    s->flags = flags;
    if (ops)
        s->ops = *ops;
    s->arg = arg;
    f->source_count++;
    return s;
}

struct fs_fault_source *fs_faults_lookup(const struct fs_faults *f, const char *name)
{
    for (int i = 0; f && name && i < f->source_count; i++)
        if (!strcmp(f->sources[i].name, name))
            return (struct fs_fault_source *)&f->sources[i];
    return NULL;
}

int fs_faults_source_count(const struct fs_faults *f) { return f ? f->source_count : 0; }

enum fs_fault_class fs_fault_source_class(const struct fs_fault_source *s) { return s->cls; }

enum fs_fault_action fs_fault_source_action(const struct fs_fault_source *s,
                                            enum fs_fault_kind kind)
{
    if ((unsigned)kind >= FS_FAULT_KIND_COUNT)
        return FS_FAULT_SHUTDOWN;
    return s->policy.action[kind];
}

double fs_fault_source_tolerance(const struct fs_fault_source *s, double def)
{
    return s && s->policy.has_tolerance ? s->policy.tolerance_s : def;
}

int fs_fault_source_is_faulted(const struct fs_fault_source *s)
{
    return s && s->active_kinds != 0;
}

/* ---- records ---- */

struct fs_fault_record *fs_faults_find_record(struct fs_faults *f, unsigned long id)
{
    for (int i = 0; i < f->record_count; i++)
        if (f->records[i].id == id)
            return &f->records[i];
    return NULL;
}

/* A free slot at the end: the oldest cleared record goes first; when every
 * record is active the oldest goes anyway (its latch lives on in its
 * source, so folding, FAULT_CLEAR and RESUME's veto still see it). */
static struct fs_fault_record *new_record(struct fs_faults *f)
{
    if (f->record_count == FS_FAULT_RECENT_MAX) {
        int victim = 0;
        for (int i = 0; i < f->record_count; i++)
            if (!f->records[i].active) {
                victim = i;
                break;
            }
        memmove(&f->records[victim], &f->records[victim + 1],
                (size_t)(f->record_count - victim - 1) * sizeof(f->records[0]));
        f->record_count--;
    }
    struct fs_fault_record *r = &f->records[f->record_count++];
    *r = (struct fs_fault_record){0};
    return r;
}

int fs_faults_record_count(const struct fs_faults *f) { return f ? f->record_count : 0; }

const struct fs_fault_record *fs_faults_record_at(const struct fs_faults *f, int i)
{
    if (!f || i < 0 || i >= f->record_count)
        return NULL;
    return &f->records[i];
}

/* ---- deferred work ---- */

static void defer(struct fs_faults *f, enum fs_fault_work work, enum fs_fault_action severity,
                  const struct fs_fault_record *rec, struct fs_fault_source *src,
                  unsigned untrusted, cJSON *snapshot)
{
    struct fs_fault_deferred d = {work,     severity, rec->id, src, untrusted,
                                  f->deferred_order++, snapshot};
    if (f->deferred_count < FS_FAULT_DEFERRED_MAX) {
        f->deferred[f->deferred_count++] = d;
        return;
    }
    /* Full: a more severe item replaces the mildest; a milder one is lost,
     * and the log says so. */
    int mild = 0;
    for (int i = 1; i < f->deferred_count; i++)
        if (f->deferred[i].severity < f->deferred[mild].severity)
            mild = i;
    if (f->deferred[mild].severity < severity) {
        fs_log(f->log, FS_LOG_ERROR, "fault: deferred queue full, dropped work of fault %lu",
               f->deferred[mild].record_id);
        cJSON_Delete(f->deferred[mild].snapshot);
        f->deferred[mild] = d;
    } else {
        fs_log(f->log, FS_LOG_ERROR, "fault: deferred queue full, dropped work of fault %lu",
               rec->id);
        cJSON_Delete(snapshot);
    }
}

int fs_faults_has_work(const struct fs_faults *f) { return f && f->deferred_count > 0; }

static int take_next(struct fs_faults *f, struct fs_fault_deferred *out)
{
    if (!f->deferred_count)
        return 0;
    int best = 0;
    for (int i = 1; i < f->deferred_count; i++) {
        const struct fs_fault_deferred *a = &f->deferred[i], *b = &f->deferred[best];
        if (a->severity > b->severity || (a->severity == b->severity && a->order < b->order))
            best = i;
    }
    *out = f->deferred[best];
    f->deferred[best] = f->deferred[--f->deferred_count];
    return 1;
}

static void report_failure(struct fs_faults *f, const char *what,
                           const struct fs_fault_record *rec, const struct fs_error *e)
{
    char line[FS_FAULT_EVIDENCE_MAX + 2 * FS_FAULT_NAME_MAX + 256];
    snprintf(line, sizeof(line), "!! fault: %s %s: %s failed: %.300s", rec ? rec->source : "?",
             rec ? fs_fault_kind_name(rec->kind) : "?", what, e->msg);
    fs_log(f->log, FS_LOG_ERROR, "%s", line);
    if (f->announce)
        f->announce(f->announce_arg, line);
}

static void run_one(struct fs_faults *f, const struct fs_fault_deferred *d)
{
    struct fs_fault_record *rec = fs_faults_find_record(f, d->record_id);
    const struct fs_fault_actions *a = &f->actions;
    struct fs_error e = {{0}};
    int rc = 0;
    const char *what = "";
    /* After a shutdown only the macro, the journal and the shutdown's own
     * read-back may still run: there is nothing left to pause, halt or
     * cancel. */
    if (f->shutdown && d->work != FS_FAULT_WORK_GCODE && d->work != FS_FAULT_WORK_JOURNAL &&
        d->work != FS_FAULT_WORK_FINISH_SHUTDOWN)
        return;
    switch (d->work) {
    case FS_FAULT_WORK_PAUSE:
        what = "pause";
        if (a->pause)
            rc = a->pause(a->arg, &e);
        break;
    case FS_FAULT_WORK_FINISH_HALT:
        what = "halt";
        if (a->finish_halt)
            rc = a->finish_halt(a->arg, d->untrusted_axes, &e);
        break;
    case FS_FAULT_WORK_CANCEL:
        what = "cancel";
        if (a->cancel)
            rc = a->cancel(a->arg, &e);
        break;
    case FS_FAULT_WORK_FINISH_SHUTDOWN:
        what = "reading positions back after the shutdown";
        if (a->finish_shutdown)
            rc = a->finish_shutdown(a->arg, &e);
        break;
    case FS_FAULT_WORK_GCODE:
        what = "on_fault_gcode";
        if (a->run_gcode && rec && d->src)
            rc = a->run_gcode(a->arg, d->src->policy.gcode, rec, &e);
        break;
    case FS_FAULT_WORK_JOURNAL:
        fs_fault_journal_write(f, rec, d->snapshot);
        break;
    }
    if (rc < 0)
        report_failure(f, what, rec, &e);
}

void fs_faults_run_deferred(struct fs_faults *f)
{
    /* A macro may raise a fault (FAULT_TEST) or run the loop again: the new
     * work joins the queue and this loop picks it up by severity. */
    if (!f || f->running_deferred)
        return;
    f->running_deferred = 1;
    struct fs_fault_deferred d;
    while (take_next(f, &d)) {
        run_one(f, &d);
        cJSON_Delete(d.snapshot);
    }
    f->running_deferred = 0;
}

/* ---- raising ---- */

/* Counts this fault in the source's ring and says whether it is the
 * escalate_count-th within escalate_window. */
static int escalates(struct fs_faults *f, struct fs_fault_source *s, double now)
{
    s->fault_times[s->fault_time_next] = now;
    s->fault_time_next = (s->fault_time_next + 1) % FS_FAULT_ESCALATE_MAX;
    if (s->fault_time_count < FS_FAULT_ESCALATE_MAX)
        s->fault_time_count++;
    int recent = 0;
    for (int i = 0; i < s->fault_time_count; i++)
        if (now - s->fault_times[i] <= f->pc.escalate_window_s)
            recent++;
    return recent >= f->pc.escalate_count;
}

/* One step up the severity order, except that a halt goes to shutdown:
 * cancel would end the job but stop holding the motion that the halt
 * stopped, which is less, not more, for a part that keeps faulting. */
static enum fs_fault_action escalate(enum fs_fault_action a)
{
    if (a == FS_FAULT_HALT)
        return FS_FAULT_SHUTDOWN;
    return a < FS_FAULT_SHUTDOWN ? (enum fs_fault_action)(a + 1) : a;
}

static void announce(struct fs_faults *f, const struct fs_fault_record *rec, const char *note)
{
    char line[FS_FAULT_EVIDENCE_MAX + 2 * FS_FAULT_NAME_MAX + 256];
    snprintf(line, sizeof(line), "!! fault: %s %s: %s -> %s%s", rec->source,
             fs_fault_kind_name(rec->kind), rec->evidence, fs_fault_action_name(rec->action),
             note);
    fs_log(f->log, rec->action >= FS_FAULT_HALT ? FS_LOG_ERROR : FS_LOG_WARN, "%s", line);
    if (f->announce)
        f->announce(f->announce_arg, line);
}

static int job_active(const struct fs_faults *f)
{
    return f->actions.job_active && f->actions.job_active(f->actions.arg);
}

/* Does at once what the action needs done now and queues the rest; returns
 * a note for the announcement when the action was carried out differently
 * from its name (a pause with no job). */
static const char *carry_out(struct fs_faults *f, struct fs_fault_source *s,
                             struct fs_fault_record *rec, unsigned untrusted)
{
    const struct fs_fault_actions *a = &f->actions;
    const char *note = "";
    if (rec->action >= FS_FAULT_DISABLE) {
        if (s->ops.disable)
            s->ops.disable(s->arg, rec->kind);
        rec->carried |= BIT(FS_FAULT_DISABLE);
    }
    switch (rec->action) {
    case FS_FAULT_LOG:
    case FS_FAULT_WARN:
    case FS_FAULT_DISABLE:
    case FS_FAULT_ACTION_COUNT:
        break;
    case FS_FAULT_PAUSE:
        if (!job_active(f)) {
            note = s->ops.disable ? " (no job is printing: the part is disabled, nothing to pause)"
                                  : " (no job is printing: nothing to pause)";
            break;
        }
        if (a->stop_job_lines)
            a->stop_job_lines(a->arg);
        rec->carried |= BIT(FS_FAULT_PAUSE);
        defer(f, FS_FAULT_WORK_PAUSE, FS_FAULT_PAUSE, rec, s, 0, NULL);
        break;
    case FS_FAULT_HALT:
        if (a->halt_motion)
            a->halt_motion(a->arg);
        if (a->heaters_off)
            a->heaters_off(a->arg);
        rec->carried |= BIT(FS_FAULT_HALT);
        defer(f, FS_FAULT_WORK_FINISH_HALT, FS_FAULT_HALT, rec, s, untrusted, NULL);
        break;
    case FS_FAULT_CANCEL:
        if (!job_active(f)) {
            note = s->ops.disable ? " (no job is printing: the part is disabled, nothing to "
                                    "cancel)"
                                  : " (no job is printing: nothing to cancel)";
            break;
        }
        if (a->stop_job_lines)
            a->stop_job_lines(a->arg);
        rec->carried |= BIT(FS_FAULT_CANCEL);
        defer(f, FS_FAULT_WORK_CANCEL, FS_FAULT_CANCEL, rec, s, 0, NULL);
        break;
    case FS_FAULT_SHUTDOWN: {
        char reason[FS_FAULT_EVIDENCE_MAX + 2 * FS_FAULT_NAME_MAX + 8];
        snprintf(reason, sizeof(reason), "%s %s: %s", rec->source,
                 fs_fault_kind_name(rec->kind), rec->evidence);
        f->shutdown = 1;
        if (a->shutdown)
            a->shutdown(a->arg, reason);
        rec->carried |= BIT(FS_FAULT_SHUTDOWN);
        /* The stop itself did not wait; where the motors stopped is asked
         * from the main loop. One shutdown per printer: later faults are
         * recorded only, so this is queued once. */
        defer(f, FS_FAULT_WORK_FINISH_SHUTDOWN, FS_FAULT_SHUTDOWN, rec, s, 0, NULL);
        break;
    }
    }
    return note;
}

void fs_fault_vraise(struct fs_fault_source *s, enum fs_fault_kind kind, const char *fmt,
                     va_list ap)
{
    if (!s || (unsigned)kind >= FS_FAULT_KIND_COUNT)
        return;
    struct fs_faults *f = s->owner;
    char evidence[FS_FAULT_EVIDENCE_MAX];
    vsnprintf(evidence, sizeof(evidence), fmt ? fmt : "", ap);

    if (s->active_kinds & (1ul << kind)) {
        struct fs_fault_record *r = fs_faults_find_record(f, s->active_id[kind]);
        if (r)
            r->folded++;
        fs_log(f->log, FS_LOG_DEBUG, "fault: %s %s folded: %s", s->name,
               fs_fault_kind_name(kind), evidence);
        return;
    }

    double now = fs_faults_now(f);
    /* A log or warn fault switched nothing off and does not latch; its
     * repeats within escalate_window fold into it so that a warning that
     * recurs every second is one record (and one announcement) a window. */
    if (s->policy.action[kind] <= FS_FAULT_WARN && s->note_id[kind]) {
        struct fs_fault_record *r = fs_faults_find_record(f, s->note_id[kind]);
        if (r && r->action <= FS_FAULT_WARN && now - r->time <= f->pc.escalate_window_s) {
            r->folded++;
            fs_log(f->log, FS_LOG_DEBUG, "fault: %s %s folded: %s", s->name,
                   fs_fault_kind_name(kind), evidence);
            return;
        }
    }
    struct fs_fault_record *rec = new_record(f);
    rec->id = f->next_id++;
    rec->time = now;
    snprintf(rec->source, sizeof(rec->source), "%s", s->name);
    rec->kind = kind;
    snprintf(rec->evidence, sizeof(rec->evidence), "%s", evidence);
    rec->policy = s->policy.action[kind];
    rec->action = rec->policy;
    if (rec->policy > FS_FAULT_LOG && escalates(f, s, now) && rec->action < FS_FAULT_SHUTDOWN) {
        rec->action = escalate(rec->policy);
        rec->escalated = 1;
    }
    if (rec->action >= FS_FAULT_DISABLE) {
        rec->active = 1;
        s->active_kinds |= 1ul << kind;
        s->active_id[kind] = rec->id;
    } else {
        s->note_id[kind] = rec->id;
    }

    unsigned untrusted = s->ops.untrusted_axes ? s->ops.untrusted_axes(s->arg, kind) : 0;
    unsigned homed = f->actions.homed_axes ? f->actions.homed_axes(f->actions.arg) : 0;

    /* Once shut down, nothing is left to act on: later faults are recorded. */
    const char *note = "";
    if (f->shutdown)
        note = " (already shut down: recorded only)";
    else
        note = carry_out(f, s, rec, untrusted);
    rec->axes_valid = f->shutdown ? 0 : (homed & ~untrusted & 7u);
    /* A pause or cancel with no job, on a part with nothing to switch off
     * or check (the toolhead: a cold extrusion or a move out of range typed
     * at the console): nothing is held, so nothing latches. A latch there
     * would fold the same fault of a later print into this record, and
     * that print would not pause; it would also refuse a later RESUME. */
    if ((rec->action == FS_FAULT_PAUSE || rec->action == FS_FAULT_CANCEL) &&
        !(rec->carried & (BIT(FS_FAULT_PAUSE) | BIT(FS_FAULT_CANCEL))) && !f->shutdown &&
        !s->ops.disable && !s->ops.clear) {
        rec->active = 0;
        s->active_kinds &= ~(1ul << kind);
        s->active_id[kind] = 0;
    }

    char escalation[160] = "";
    if (rec->escalated)
        snprintf(escalation, sizeof(escalation),
                 " (escalated from %s: %d faults of %s within %g s)",
                 fs_fault_action_name(rec->policy), f->pc.escalate_count, s->name,
                 f->pc.escalate_window_s);
    char notes[400];
    snprintf(notes, sizeof(notes), "%s%s", escalation, note);
    if (rec->action >= FS_FAULT_WARN)
        announce(f, rec, notes);
    else
        fs_log(f->log, FS_LOG_INFO, "fault: %s %s: %s -> log%s", rec->source,
               fs_fault_kind_name(kind), rec->evidence, notes);

    if (s->policy.gcode[0])
        defer(f, FS_FAULT_WORK_GCODE, rec->action, rec, s, 0, NULL);
    if (f->pc.journal_path[0])
        defer(f, FS_FAULT_WORK_JOURNAL, rec->action, rec, s, 0,
              fs_fault_journal_snapshot(f, s));
}

void fs_fault_raise(struct fs_fault_source *src, enum fs_fault_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fs_fault_vraise(src, kind, fmt, ap);
    va_end(ap);
}

/* ---- after a fault ---- */

static int clear_source(struct fs_faults *f, struct fs_fault_source *s, struct fs_error *err)
{
    for (int k = 0; k < FS_FAULT_KIND_COUNT; k++) {
        if (!(s->active_kinds & (1ul << k)))
            continue;
        if (s->ops.clear) {
            struct fs_error e = {{0}};
            if (s->ops.clear(s->arg, (enum fs_fault_kind)k, &e) < 0)
                return fs_error_set(err, "FAULT_CLEAR: %s", e.msg[0] ? e.msg : s->name);
        }
        struct fs_fault_record *r = fs_faults_find_record(f, s->active_id[k]);
        if (r)
            r->active = 0;
        s->active_kinds &= ~(1ul << k);
        s->active_id[k] = 0;
    }
    return 0;
}

int fs_faults_clear(struct fs_faults *f, struct fs_fault_source *src, struct fs_error *err)
{
    if (src)
        return clear_source(f, src, err);
    int rc = 0;
    struct fs_error first = {{0}};
    /* Every source that agrees is cleared; the first refusal is reported. */
    for (int i = 0; i < f->source_count; i++) {
        struct fs_error e = {{0}};
        if (clear_source(f, &f->sources[i], &e) < 0 && rc == 0) {
            rc = -1;
            first = e;
        }
    }
    if (rc < 0 && err)
        *err = first;
    return rc;
}

int fs_faults_check_resume(const struct fs_faults *f, struct fs_error *err)
{
    if (!f)
        return 0;
    if (f->shutdown)
        return fs_error_set(err, "refused: the printer is shut down (RESTART or "
                                 "FIRMWARE_RESTART first)");
    /* A fault whose action was disable meant "the job goes on without that
     * part": it stays latched (the part stays off) but does not hold a
     * pause that something else caused, or the job could never go on while
     * the part stays broken. */
    for (int i = 0; i < f->record_count; i++) {
        const struct fs_fault_record *r = &f->records[i];
        if (!r->active || r->action < FS_FAULT_PAUSE)
            continue;
        /* A board is brought back by MCU_RECONNECT, which clears its fault;
         * FAULT_CLEAR alone is refused until then. */
        const struct fs_fault_source *s = fs_faults_lookup(f, r->source);
        if (s && s->cls == FS_FAULT_CLASS_MCU)
            return fs_error_set(err,
                                "refused: fault %s %s is still active (%s); "
                                "MCU_RECONNECT MCU=%s once it answers again",
                                r->source, fs_fault_kind_name(r->kind), r->evidence,
                                strncmp(r->source, "mcu ", 4) ? r->source : r->source + 4);
        return fs_error_set(err,
                            "refused: fault %s %s is still active (%s); "
                            "FAULT_CLEAR SOURCE=\"%s\" once it is fixed",
                            r->source, fs_fault_kind_name(r->kind), r->evidence, r->source);
    }
    /* Latches whose record was dropped from the list: their action is not
     * known any more, so they refuse. */
    for (int i = 0; i < f->source_count; i++)
        for (int k = 0; k < FS_FAULT_KIND_COUNT; k++)
            if ((f->sources[i].active_kinds & (1ul << k)) &&
                !fs_faults_find_record((struct fs_faults *)f, f->sources[i].active_id[k]))
                return fs_error_set(err,
                                    "refused: fault %s %s is still active; "
                                    "FAULT_CLEAR SOURCE=\"%s\" once it is fixed",
                                    f->sources[i].name, fs_fault_kind_name((enum fs_fault_kind)k),
                                    f->sources[i].name);
    return 0;
}

int fs_faults_is_shutdown(const struct fs_faults *f) { return f && f->shutdown; }

int fs_faults_ack(struct fs_faults *f)
{
    int n = 0;
    for (int i = 0; f && i < f->record_count; i++) {
        struct fs_fault_record *r = &f->records[i];
        if (r->active && (r->carried & BIT(FS_FAULT_HALT)) && !r->acked) {
            r->acked = 1;
            n++;
        }
    }
    return n;
}

int fs_faults_check_motion(const struct fs_faults *f, struct fs_error *err)
{
    if (!f)
        return 0;
    if (f->shutdown)
        return fs_error_set(err, "the printer is shut down (RESTART or FIRMWARE_RESTART first)");
    for (int i = 0; i < f->record_count; i++) {
        const struct fs_fault_record *r = &f->records[i];
        if (r->active && (r->carried & BIT(FS_FAULT_HALT)) && !r->acked)
            return fs_error_set(err,
                                "motion halted by fault %s %s (%s): FAULT_ACK to allow "
                                "maintenance moves, or FAULT_CLEAR",
                                r->source, fs_fault_kind_name(r->kind), r->evidence);
    }
    return 0;
}

int fs_faults_in_fault_stop(const struct fs_faults *f)
{
    for (int i = 0; f && i < f->record_count; i++) {
        const struct fs_fault_record *r = &f->records[i];
        if (r->active && (r->carried & (BIT(FS_FAULT_PAUSE) | BIT(FS_FAULT_HALT))))
            return 1;
    }
    return 0;
}
