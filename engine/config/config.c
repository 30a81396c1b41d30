/* printer.cfg after reading: sections and options by name and in order, the
 * error helper that gives every message its file:line, and the report of
 * everything nobody read (typos), which is why getters mark what they read. */
#include "config.h"
#include "config_internal.h"

#include <stdarg.h>  /* va_list */
#include <stdio.h>   /* snprintf, vsnprintf */
#include <stdlib.h>  /* free, malloc, qsort */
#include <string.h>  /* strcmp, strlen */
#include <strings.h> /* strcasecmp */

#include "core/error.h" /* fs_error_set */

void fs_config_free(struct fs_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->section_count; i++) {
        struct fs_config_section *s = cfg->sections[i];
        for (int j = 0; j < s->option_count; j++) {
            free(s->options[j].name);
            free(s->options[j].value);
            free(s->options[j].raw);
            free(s->options[j].where);
        }
        free(s->options);
        free(s->name);
        free(s->kind);
        free(s->suffix);
        free(s->where);
        free(s);
    }
    free(cfg->sections);
    for (int i = 0; i < cfg->file_count; i++) {
        free(cfg->files[i].path);
        free(cfg->files[i].text);
    }
    free(cfg->files);
    free(cfg);
}

struct fs_config_option *fs_config_find_option(const struct fs_config_section *s,
                                               const char *name)
{
    for (int i = 0; i < s->option_count; i++)
        if (strcasecmp(s->options[i].name, name) == 0)
            return &s->options[i];
    return NULL;
}

struct fs_config_section *fs_config_find_section(const struct fs_config *cfg,
                                                 const char *name)
{
    for (int i = 0; i < cfg->section_count; i++)
        if (strcmp(cfg->sections[i]->name, name) == 0)
            return cfg->sections[i];
    return NULL;
}

int fs_config_section_count(const struct fs_config *cfg) { return cfg->section_count; }

struct fs_config_section *fs_config_section_at(struct fs_config *cfg, int i)
{
    if (i < 0 || i >= cfg->section_count)
        return NULL;
    return cfg->sections[i];
}

struct fs_config_section *fs_config_get_section(struct fs_config *cfg, const char *name)
{
    struct fs_config_section *s = fs_config_find_section(cfg, name);
    if (s)
        s->known = 1;
    return s;
}

const char *fs_config_section_name(const struct fs_config_section *s) { return s->name; }
const char *fs_config_section_kind(const struct fs_config_section *s) { return s->kind; }
const char *fs_config_section_suffix(const struct fs_config_section *s) { return s->suffix; }
const char *fs_config_section_where(const struct fs_config_section *s) { return s->where; }

int fs_config_has(const struct fs_config_section *s, const char *option)
{
    return fs_config_find_option(s, option) != NULL;
}

int fs_config_option_count(const struct fs_config_section *s) { return s->option_count; }

static const struct fs_config_option *option_at(const struct fs_config_section *s, int i)
{
    if (i < 0 || i >= s->option_count)
        return NULL;
    return &s->options[i];
}

const char *fs_config_option_name(const struct fs_config_section *s, int i)
{
    const struct fs_config_option *o = option_at(s, i);
    return o ? o->name : NULL;
}

const char *fs_config_option_where(const struct fs_config_section *s, int i)
{
    const struct fs_config_option *o = option_at(s, i);
    return o ? o->where : NULL;
}

const char *fs_config_option_raw(const struct fs_config_section *s, int i)
{
    const struct fs_config_option *o = option_at(s, i);
    return o ? o->raw : NULL;
}

int fs_config_file_count(const struct fs_config *cfg) { return cfg->file_count; }

const char *fs_config_file_path(const struct fs_config *cfg, int i)
{
    return i >= 0 && i < cfg->file_count ? cfg->files[i].path : NULL;
}

const char *fs_config_file_text(const struct fs_config *cfg, int i)
{
    return i >= 0 && i < cfg->file_count ? cfg->files[i].text : NULL;
}

int fs_config_error(const struct fs_config_section *s, const char *option,
                    struct fs_error *err, const char *fmt, ...)
{
    char msg[FS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const struct fs_config_option *o = option ? fs_config_find_option(s, option) : NULL;
    const char *where = o ? o->where : s->where;
    if (option)
        return fs_error_set(err, "%s: [%s] %s: %s", where, s->name, option, msg);
    return fs_error_set(err, "%s: [%s] %s", where, s->name, msg);
}

/* ---- the unused report ---- */

struct unused {
    unsigned seq;
    const struct fs_config_section *section;
    const struct fs_config_option *option; /* NULL: the whole section */
};

static int compare_unused(const void *a, const void *b)
{
    unsigned x = ((const struct unused *)a)->seq, y = ((const struct unused *)b)->seq;
    return (x > y) - (x < y);
}

static void describe_unused(const struct unused *u, char *buf, size_t cap)
{
    if (u->option)
        snprintf(buf, cap, "%s: [%s] unknown option '%s'", u->option->where, u->section->name,
                 u->option->name);
    else
        snprintf(buf, cap, "%s: unknown section [%s]", u->section->where, u->section->name);
}

/* An unknown section is one problem, not one per option it holds. */
static int collect_unused(const struct fs_config *cfg, struct unused *list)
{
    int n = 0;
    for (int i = 0; i < cfg->section_count; i++) {
        const struct fs_config_section *s = cfg->sections[i];
        if (!s->known) {
            list[n++] = (struct unused){s->seq, s, NULL};
            continue;
        }
        for (int j = 0; j < s->option_count; j++)
            if (!s->options[j].used)
                list[n++] = (struct unused){s->options[j].seq, s, &s->options[j]};
    }
    return n;
}

int fs_config_check_unused(const struct fs_config *cfg, struct fs_error *err)
{
    struct unused *list =
        malloc(((size_t)cfg->section_count + (size_t)cfg->total_options + 1) * sizeof(*list));
    if (!list)
        return fs_error_set(err, "out of memory checking the configuration");
    int n = collect_unused(cfg, list);
    if (n == 0) {
        free(list);
        return 0;
    }
    qsort(list, (size_t)n, sizeof(*list), compare_unused);
    /* All problems fit unless there are dozens; then the message says how
     * many more there are rather than cutting a line in half. */
    char msg[FS_ERROR_MSG_MAX];
    const size_t reserve = 40;
    size_t len = 0;
    int shown = 0;
    msg[0] = '\0';
    for (; shown < n; shown++) {
        char line[FS_ERROR_MSG_MAX];
        describe_unused(&list[shown], line, sizeof(line));
        size_t need = strlen(line) + (len ? 1 : 0);
        if (len + need + reserve >= sizeof(msg))
            break;
        len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s", len ? "\n" : "", line);
    }
    if (shown < n)
        snprintf(msg + len, sizeof(msg) - len, "%s... and %d more", len ? "\n" : "", n - shown);
    free(list);
    return fs_error_set(err, "%s", msg);
}
