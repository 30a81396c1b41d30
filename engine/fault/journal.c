/* The fault journal: one JSON line per fault in <journal_path>/faults.jsonl
 * and a capsule per fault, <journal_path>/fault-<id>-<kind>.json (the
 * configuration, the printer's and the source's state at the fault, and the
 * last capsule_seconds of samples, commands and positions); the newest
 * CAPSULES_KEPT capsules are kept.
 *
 * Atomicity: every file is written whole to a temporary file in the same
 * folder, flushed and fsync'ed, then renamed over its final name (and the
 * folder fsync'ed), so the final name only ever holds a complete file, old
 * or new. The journal is rewritten whole the same way for each new line
 * rather than appended to: an append interrupted by a crash would leave half
 * a line that the next append would glue onto, while a rename cannot leave
 * anything half. Faults are rare (latching and escalation see to that), so
 * the copy costs little; past JOURNAL_ROTATE_BYTES the file is renamed to
 * faults.jsonl.1 and a new one begun. A reader therefore reads the final name
 * and never sees half a line; temporary files (".name.XXXXXX") are ignored.
 *
 * When: files are written from fs_faults_run_deferred (the main loop, where
 * waiting for a disk is allowed), after the fault's own deferred action, so
 * the line lists every action carried out. The states for the capsule are
 * taken inside fs_fault_raise, at the moment of the fault. Errors are logged
 * and announced, never fatal: a full disk must not stop a pause. */
#include "fault/fault_internal.h"

#include <cjson/cJSON.h> /* cJSON_* */
#include <dirent.h>      /* opendir, readdir */
#include <errno.h>       /* errno */
#include <stdio.h>       /* snprintf, fopen */
#include <stdlib.h>      /* mkstemp, malloc, free */
#include <string.h>      /* strerror, strlen */
#include <sys/stat.h>    /* mkdir, stat */
#include <unistd.h>      /* unlink */

#include "core/atomic_file.h" /* fs_atomic_write_parts */
#include "core/error.h" /* fs_error_set */
#include "core/log.h"   /* fs_log */

#define JOURNAL_NAME "faults.jsonl"
#define JOURNAL_ROTATE_BYTES (4L * 1024 * 1024)
/* Capsules kept: the newest ones. A part that faults now and then for
 * months (a glitch a minute is one log record a window) would otherwise
 * fill the disk, while the journal itself is bounded by its rotation. */
#define CAPSULES_KEPT 100

/* The whole of a file, or NULL (absent counts as empty: *len 0). */
static char *read_file(const char *path, size_t *len, struct fs_error *err)
{
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT) {
            char *empty = malloc(1);
            if (empty)
                empty[0] = '\0';
            return empty;
        }
        fs_error_set(err, "journal: reading %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(fp);
                fs_error_set(err, "journal: out of memory reading %s", path);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + *len, 1, cap - *len - 1, fp);
        *len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        fs_error_set(err, "journal: reading %s failed", path);
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}


static int append_line(const char *dir, const char *line, struct fs_error *err)
{
    char path[FS_FAULT_PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, JOURNAL_NAME);
    size_t old_len;
    char *old = read_file(path, &old_len, err);
    if (!old)
        return -1;
    if ((long)old_len > JOURNAL_ROTATE_BYTES) {
        char rotated[sizeof(path) + 8];
        snprintf(rotated, sizeof(rotated), "%s.1", path);
        if (rename(path, rotated) < 0) {
            free(old);
            return fs_error_set(err, "journal: rotating %s: %s", path, strerror(errno));
        }
        old_len = 0;
    }
    const char *parts[3] = {old, line, "\n"};
    size_t lens[3] = {old_len, strlen(line), 1};
    int rc = fs_atomic_write_parts(dir, JOURNAL_NAME, parts, lens, 3, 0, err);
    free(old);
    return rc;
}

static cJSON *line_json(const struct fs_fault_record *rec)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)rec->id);
    cJSON_AddNumberToObject(o, "time", rec->time);
    cJSON_AddStringToObject(o, "source", rec->source);
    cJSON_AddStringToObject(o, "kind", fs_fault_kind_name(rec->kind));
    cJSON_AddStringToObject(o, "evidence", rec->evidence);
    cJSON_AddStringToObject(o, "policy", fs_fault_action_name(rec->policy));
    cJSON_AddStringToObject(o, "action", fs_fault_action_name(rec->action));
    cJSON_AddBoolToObject(o, "escalated", rec->escalated);
    cJSON_AddNumberToObject(o, "folded", rec->folded);
    cJSON *done = cJSON_AddArrayToObject(o, "actions");
    for (int a = 0; a < FS_FAULT_ACTION_COUNT; a++)
        if (rec->carried & (1u << a))
            cJSON_AddItemToArray(done, cJSON_CreateString(fs_fault_action_name(
                                           (enum fs_fault_action)a)));
    cJSON *pos = cJSON_AddObjectToObject(o, "position_valid");
    cJSON_AddBoolToObject(pos, "x", (rec->axes_valid & FS_FAULT_AXIS_X) != 0);
    cJSON_AddBoolToObject(pos, "y", (rec->axes_valid & FS_FAULT_AXIS_Y) != 0);
    cJSON_AddBoolToObject(pos, "z", (rec->axes_valid & FS_FAULT_AXIS_Z) != 0);
    cJSON_AddStringToObject(o, "capsule", rec->capsule);
    return o;
}

cJSON *fs_fault_journal_snapshot(struct fs_faults *f, struct fs_fault_source *src)
{
    cJSON *snap = cJSON_CreateObject();
    if (!snap)
        return NULL;
    cJSON *printer = cJSON_AddObjectToObject(snap, "printer");
    cJSON *source = cJSON_AddObjectToObject(snap, "source");
    if (printer && f->actions.describe)
        f->actions.describe(f->actions.arg, printer);
    if (source && src && src->ops.describe)
        src->ops.describe(src->arg, source);
    return snap;
}

/* Removes the capsules CAPSULES_KEPT or more ids older than newest_id.
 * Failures are ignored: a capsule left behind is only disk space. */
static void prune_capsules(const char *dir, unsigned long newest_id)
{
    if (newest_id <= CAPSULES_KEPT)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long id;
        int n = 0;
        size_t len = strlen(e->d_name);
        if (sscanf(e->d_name, "fault-%lu-%n", &id, &n) != 1 || n == 0 || len < 5 ||
            strcmp(e->d_name + len - 5, ".json") || id + CAPSULES_KEPT > newest_id)
            continue;
        char path[FS_FAULT_PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static int write_capsule(struct fs_faults *f, struct fs_fault_record *rec, cJSON *snapshot,
                         struct fs_error *err)
{
    char name[FS_FAULT_NAME_MAX + 64];
    snprintf(name, sizeof(name), "fault-%lu-%s.json", rec->id, fs_fault_kind_name(rec->kind));
    cJSON *cap = cJSON_CreateObject();
    cJSON_AddItemToObject(cap, "fault", line_json(rec));
    cJSON *cfg = cJSON_AddObjectToObject(cap, "config");
    if (f->config_text) {
        cJSON_AddStringToObject(cfg, "path", f->config_path ? f->config_path : "");
        cJSON_AddStringToObject(cfg, "text", f->config_text);
    }
    cJSON *printer = snapshot ? cJSON_DetachItemFromObject(snapshot, "printer") : NULL;
    cJSON *source = snapshot ? cJSON_DetachItemFromObject(snapshot, "source") : NULL;
    cJSON_AddItemToObject(cap, "printer", printer ? printer : cJSON_CreateObject());
    cJSON_AddItemToObject(cap, "source", source ? source : cJSON_CreateObject());
    cJSON *hist = cJSON_AddObjectToObject(cap, "history");
    cJSON_AddNumberToObject(hist, "seconds", f->pc.capsule_seconds);
    fs_fault_recorder_describe(f->recorder, rec->time, hist);
    char *text = cJSON_Print(cap);
    cJSON_Delete(cap);
    if (!text)
        return fs_error_set(err, "journal: out of memory for capsule %s", name);
    const char *parts[2] = {text, "\n"};
    size_t lens[2] = {strlen(text), 1};
    int rc = fs_atomic_write_parts(f->pc.journal_path, name, parts, lens, 2, 0, err);
    free(text);
    if (rc == 0) {
        snprintf(rec->capsule, sizeof(rec->capsule), "%s", name);
        prune_capsules(f->pc.journal_path, rec->id);
    }
    return rc;
}

void fs_fault_journal_write(struct fs_faults *f, struct fs_fault_record *rec, cJSON *snapshot)
{
    if (!f->pc.journal_path[0] || !rec)
        return;
    struct fs_error err = {{0}};
    if (fs_atomic_ensure_folder(f->pc.journal_path, &err) == 0 && write_capsule(f, rec, snapshot, &err) == 0) {
        cJSON *line = line_json(rec);
        char *text = line ? cJSON_PrintUnformatted(line) : NULL;
        cJSON_Delete(line);
        int rc = text ? append_line(f->pc.journal_path, text, &err)
                      : fs_error_set(&err, "journal: out of memory");
        free(text);
        if (rc == 0)
            return;
    }
    char msg[FS_ERROR_MSG_MAX + 64];
    snprintf(msg, sizeof(msg), "!! fault journal: %s", err.msg);
    fs_log(f->log, FS_LOG_ERROR, "%s", msg);
    if (f->announce)
        f->announce(f->announce_arg, msg);
}

static int for_each_in(const char *path, int (*fn)(void *arg, const struct cJSON *entry),
                       void *arg, struct fs_error *err)
{
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text)
        return -1;
    int rc = 0, lineno = 0;
    for (char *line = text; rc == 0 && *line;) {
        char *end = strchr(line, '\n');
        lineno++;
        /* By construction every line ends in '\n'; one that does not is a
         * file someone else wrote, and it is not read half. */
        if (!end) {
            rc = fs_error_set(err, "%s:%d: line without an end (not a journal written here)",
                              path, lineno);
            break;
        }
        *end = '\0';
        cJSON *entry = cJSON_Parse(line);
        if (!entry)
            rc = fs_error_set(err, "%s:%d: not JSON", path, lineno);
        else
            rc = fn(arg, entry);
        cJSON_Delete(entry);
        line = end + 1;
    }
    free(text);
    return rc;
}

int fs_fault_journal_for_each(const char *journal_path,
                              int (*fn)(void *arg, const struct cJSON *entry), void *arg,
                              struct fs_error *err)
{
    char path[FS_FAULT_PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", journal_path, JOURNAL_NAME);
    return for_each_in(path, fn, arg, err);
}

static int last_id(void *arg, const struct cJSON *entry)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(entry, "id");
    if (cJSON_IsNumber(id) && id->valuedouble >= *(double *)arg)
        *(double *)arg = id->valuedouble;
    return 0;
}

unsigned long fs_fault_journal_last_id(const char *journal_path)
{
    double id = 0;
    struct fs_error err;
    if (!journal_path[0])
        return 0;
    /* The rotated journal too: a crash between rotating and writing the
     * new journal leaves only it, and ids starting again at 1 would give
     * new capsules the names of old ones. */
    char rotated[FS_FAULT_PATH_MAX + 64];
    snprintf(rotated, sizeof(rotated), "%s/%s.1", journal_path, JOURNAL_NAME);
    if (for_each_in(rotated, last_id, &id, &err) < 0)
        id = 0;
    double newest = id;
    if (fs_fault_journal_for_each(journal_path, last_id, &newest, &err) < 0)
        newest = id;
    return (unsigned long)newest;
}
