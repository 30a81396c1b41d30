/* [virtual_sdcard]: a folder on the host that plays the SD card. Files are
 * named relative to it, and a name that resolves outside it (through "..",
 * an absolute path or a symbolic link) is refused, so the G-code channel
 * cannot be used to read the rest of the host's files. Commands: M20 list,
 * M23 select, M24 start/resume, M25 pause, M26 set position, M27 status,
 * SDCARD_PRINT_FILE, SDCARD_RESET_FILE. */
#include "job/job_internal.h"

#include <dirent.h>   /* opendir, readdir */
#include <errno.h>    /* errno, ENOENT */
#include <limits.h>   /* PATH_MAX */
#include <math.h>     /* NAN, INFINITY */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* realpath, qsort, calloc */
#include <string.h>   /* strcmp, strlen, strrchr */
#include <strings.h>  /* strcasecmp */
#include <sys/stat.h> /* stat, lstat */

#include "core/error.h"  /* fs_error_set, fs_error_prefix */
#include "gcode/gcode.h" /* fs_gcode_register, fs_gcode_respond */

#define SDCARD_LIST_MAX 512 /* files M20 lists */
#define SDCARD_DEPTH_MAX 8  /* sub-folders M20 descends into */

static int path_inside(const char *dir, const char *path)
{
    size_t dl = strlen(dir);
    if (dl == 1 && dir[0] == '/')
        return 1;
    return strncmp(path, dir, dl) == 0 && path[dl] == '/';
}

int fs_job_select_file(struct fs_job *job, const char *name, struct fs_error *err)
{
    char joined[PATH_MAX], resolved[PATH_MAX];
    struct stat st;
    if (!job->cfg.has_virtual_sdcard)
        return fs_error_set(err, "no [virtual_sdcard] section in the configuration");
    if (job->state == FS_JOB_PRINTING || job->state == FS_JOB_PAUSED)
        return fs_error_set(err, "a print is running; cancel it first");
    /* Hosts address the card's root as "/": that slash is not the host's. */
    while (*name == '/')
        name++;
    if (!*name)
        return fs_error_set(err, "no file name given");
    if (strlen(name) >= FS_JOB_NAME_MAX)
        return fs_error_set(err, "file name '%.40s...' is too long", name);
    if (snprintf(joined, sizeof(joined), "%s/%s", job->sdcard_dir, name) >= (int)sizeof(joined))
        return fs_error_set(err, "file name '%s' is too long", name);
    if (!realpath(joined, resolved)) {
        if (errno == ENOENT)
            return fs_error_set(err, "no file '%s' in the virtual_sdcard folder", name);
        return fs_error_set(err, "unable to open '%s': %s", name, strerror(errno));
    }
    if (!path_inside(job->sdcard_dir, resolved))
        return fs_error_set(err, "'%s' is outside the virtual_sdcard folder", name);
    if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
        return fs_error_set(err, "'%s' is not a file", name);
    return fs_job_open_file(job, resolved, name, err);
}

int fs_job_select_path(struct fs_job *job, const char *path, struct fs_error *err)
{
    char resolved[PATH_MAX];
    struct stat st;
    if (job->state == FS_JOB_PRINTING || job->state == FS_JOB_PAUSED)
        return fs_error_set(err, "a print is running; cancel it first");
    if (!realpath(path, resolved))
        return fs_error_set(err, "unable to open '%s': %s", path, strerror(errno));
    if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
        return fs_error_set(err, "'%s' is not a file", path);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (strlen(name) >= FS_JOB_NAME_MAX)
        return fs_error_set(err, "file name '%.40s...' is too long", name);
    return fs_job_open_file(job, resolved, name, err);
}

/* ---- M20: listing ---- */

struct sdcard_entry {
    char name[FS_JOB_NAME_MAX];
    long size;
};

struct sdcard_list {
    struct sdcard_entry *entries;
    int count;
    int left_out;
};

static int is_gcode_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".gcode") || !strcasecmp(dot, ".g")
                   || !strcasecmp(dot, ".gco"));
}

static void list_add(struct sdcard_list *l, const char *rel, long size)
{
    if (l->count >= SDCARD_LIST_MAX) {
        l->left_out++;
        return;
    }
    struct sdcard_entry *e = &l->entries[l->count++];
    memcpy(e->name, rel, strlen(rel) + 1);
    e->size = size;
}

static void list_walk(const char *abs_dir, const char *rel_dir, int depth,
                      struct sdcard_list *l)
{
    DIR *d = opendir(abs_dir);
    if (!d)
        return;
    const struct dirent *de;
    while ((de = readdir(d))) {
        char abs[PATH_MAX], rel[FS_JOB_NAME_MAX];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(abs, sizeof(abs), "%s/%s", abs_dir, de->d_name) >= (int)sizeof(abs)
            || snprintf(rel, sizeof(rel), "%s%s%s", rel_dir, *rel_dir ? "/" : "",
                        de->d_name) >= (int)sizeof(rel))
            continue; /* a name M23 could not select anyway */
        /* Linked folders are not entered: they may loop or lead outside. */
        if (lstat(abs, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth < SDCARD_DEPTH_MAX)
                list_walk(abs, rel, depth + 1, l);
            continue;
        }
        if (stat(abs, &st) == 0 && S_ISREG(st.st_mode) && is_gcode_name(de->d_name))
            list_add(l, rel, (long)st.st_size);
    }
    closedir(d);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct sdcard_entry *)a)->name,
                  ((const struct sdcard_entry *)b)->name);
}

static int cmd_m20(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    struct fs_job *job = arg;
    struct sdcard_list l = {0};
    l.entries = calloc(SDCARD_LIST_MAX, sizeof(*l.entries));
    if (!l.entries)
        return fs_error_set(err, "M20: out of memory");
    list_walk(job->sdcard_dir, "", 0, &l);
    qsort(l.entries, (size_t)l.count, sizeof(*l.entries), entry_cmp);
    fs_gcode_respond(g, "Begin file list");
    for (int i = 0; i < l.count; i++)
        fs_gcode_respond(g, "%s %ld", l.entries[i].name, l.entries[i].size);
    fs_gcode_respond(g, "End file list");
    if (l.left_out)
        fs_gcode_respond_info(g, "%d more files not listed (at most %d)", l.left_out,
                              SDCARD_LIST_MAX);
    free(l.entries);
    return 0;
}

/* ---- selecting, starting, position ---- */

static int cmd_m23(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    struct fs_job *job = arg;
    char name[FS_JOB_NAME_MAX];
    if (fs_job_rest_text(cmd, name, sizeof(name)) < 0)
        return fs_error_set(err, "M23: file name too long");
    if (fs_job_select_file(job, name, err) < 0)
        return fs_error_prefix(err, "M23: ");
    fs_gcode_respond(g, "File opened:%s Size:%ld", job->file.name, job->file.size);
    fs_gcode_respond(g, "File selected");
    return 0;
}

static int cmd_m24(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    struct fs_job *job = arg;
    int rc = job->state == FS_JOB_PAUSED ? fs_job_resume(job, 0, err) : fs_job_start(job, err);
    return rc < 0 ? fs_error_prefix(err, "M24: ") : 0;
}

static int cmd_m25(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    return fs_job_pause(arg, err) < 0 ? fs_error_prefix(err, "M25: ") : 0;
}

static int cmd_m26(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    double pos;
    if (fs_gcode_get_float(cmd, "S", NAN, 0, 1e15, &pos, err) < 0)
        return -1;
    return fs_job_set_position(arg, (long)pos, err) < 0 ? fs_error_prefix(err, "M26: ") : 0;
}

static int cmd_m27(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    const struct fs_job *job = arg;
    if (!job->file.fp)
        fs_gcode_respond(g, "Not SD printing.");
    else
        fs_gcode_respond(g, "SD printing byte %ld/%ld", job->file.position, job->file.size);
    return 0;
}

static int cmd_sdcard_print_file(void *arg, struct fs_gcode *g,
                                 const struct fs_gcode_command *cmd, struct fs_error *err)
{
    struct fs_job *job = arg;
    char name[FS_JOB_NAME_MAX];
    const char *value = fs_gcode_get_str(cmd, "FILENAME", NULL);
    if (!value)
        return fs_error_set(err, "SDCARD_PRINT_FILE: FILENAME= is required");
    if (fs_job_copy_text(value, name, sizeof(name)) < 0)
        return fs_error_set(err, "SDCARD_PRINT_FILE: file name too long");
    if (fs_job_select_file(job, name, err) < 0 || fs_job_start(job, err) < 0)
        return fs_error_prefix(err, "SDCARD_PRINT_FILE: ");
    return 0;
}

static int cmd_sdcard_reset_file(void *arg, struct fs_gcode *g,
                                 const struct fs_gcode_command *cmd, struct fs_error *err)
{
    return fs_job_reset_file(arg, err) < 0 ? fs_error_prefix(err, "SDCARD_RESET_FILE: ") : 0;
}

static const struct {
    const char *name;
    fs_gcode_handler fn;
    const char *help;
} sdcard_commands[] = {
    {"M20", cmd_m20, "List the files of the virtual SD card"},
    {"M23", cmd_m23, "Select a file of the virtual SD card"},
    {"M24", cmd_m24, "Start or resume the selected file"},
    {"M25", cmd_m25, "Pause the print"},
    {"M26", cmd_m26, "Set the byte position in the selected file (S)"},
    {"M27", cmd_m27, "Report the byte position of the print"},
    {"SDCARD_PRINT_FILE", cmd_sdcard_print_file, "Select a file and start printing it"},
    {"SDCARD_RESET_FILE", cmd_sdcard_reset_file, "Close the file and clear the job"},
};

int fs_job_sdcard_register(struct fs_job *job, struct fs_error *err)
{
    for (size_t i = 0; i < sizeof(sdcard_commands) / sizeof(sdcard_commands[0]); i++)
        if (fs_gcode_register(job->gcode, sdcard_commands[i].name, sdcard_commands[i].fn, job,
                              sdcard_commands[i].help, err) < 0)
            return -1;
    return 0;
}
