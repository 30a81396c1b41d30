/* The printer.cfg reader: turns files (or text) into sections and options.
 *
 * The dialect, line by line:
 *   - `[name]` or `[kind suffix]` at column 0 opens a section; a header
 *     naming a section seen before reopens it, so later options override
 *     earlier ones (a user's printer.cfg often redefines a section that an
 *     included file set up). Within a section, a repeated option also wins.
 *   - `key: value` or `key = value`: the first ':' or '=' splits, the key is
 *     stored lower-case, both sides are trimmed.
 *   - A line that starts with whitespace continues the last option's value;
 *     the lines are trimmed and joined with '\n'. An option whose first line
 *     has no value ("gcode:") starts with its first continuation line, not
 *     with an empty line. Blank lines inside a value are kept only when more
 *     continuation lines follow, so trailing blank lines never end up in a
 *     G-code macro.
 *   - Comments: a line whose first non-blank character is '#' or ';' is
 *     skipped (and does not end a multi-line value); elsewhere, a '#' or ';'
 *     preceded by whitespace starts a comment, so `max_temp: 250  # hot` is
 *     250 while `serial: /dev/by-id/usb#1` keeps its '#'. Klipper's
 *     SAVE_CONFIG block at the end of a file consists of `#*#` lines and is
 *     thereby ignored.
 *   - `[include pattern]` reads the files matching a glob(3) pattern relative
 *     to the including file's directory, in sorted (strcmp) order, at the
 *     point of the include. A pattern without wildcards must match a file; a
 *     pattern with wildcards may match none. Including a file that is still
 *     being read is a cycle and an error naming the chain.
 *
 * Every section and option gets a sequence number in reading order, which
 * the unused-option report sorts by. */
#include "config.h"
#include "config_internal.h"

#include <ctype.h>     /* isspace, tolower */
#include <errno.h>     /* errno */
#include <glob.h>      /* glob, globfree */
#include <stdio.h>     /* FILE, fopen, fread, snprintf */
#include <stdlib.h>    /* malloc, realloc, free, qsort */
#include <string.h>    /* strlen, memcpy, strerror, strchr, strpbrk */
#include <sys/stat.h>  /* fstat, struct stat */

#include "core/error.h" /* fs_error_set */

/* ---- growable strings, bounded by the caller ---- */

struct strbuf {
    char *data;
    size_t len, cap;
};

static int strbuf_add(struct strbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static void strbuf_reset(struct strbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Hands the text over to the caller and leaves b empty. */
static char *strbuf_take(struct strbuf *b)
{
    char *s = b->data ? b->data : calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static char *where_dup(const char *path, int line)
{
    int n = snprintf(NULL, 0, "%s:%d", path, line);
    char *s = malloc((size_t)n + 1);
    if (s)
        snprintf(s, (size_t)n + 1, "%s:%d", path, line);
    return s;
}

/* ---- reader state ---- */

/* A file being read, for cycle detection: files are identified by device
 * and inode so that "a.cfg" and "./x/../a.cfg" are the same file. */
struct open_file {
    const char *path;
    dev_t dev;
    ino_t ino;
    int has_id; /* text given in memory has no identity */
};

struct reader {
    struct fs_config *cfg;
    struct fs_error *err;
    struct open_file stack[FS_CONFIG_INCLUDE_DEPTH_MAX];
    int depth;
};

/* Where one file's reading stands: the section lines go to and the option
 * whose value is still being collected. */
struct file_state {
    struct reader *r;
    const char *path;
    const char *base_dir; /* "" or ending in '/' */
    int lineno;
    struct fs_config_section *section; /* NULL before the first header */
    int in_include;                    /* after an [include] header */
    int have_option;
    char opt_name[FS_CONFIG_NAME_MAX + 1];
    char *opt_where;
    unsigned opt_seq;
    struct strbuf value, raw;
    /* Blank and comment lines after the last value line: part of the value
     * only if a continuation line follows. */
    int pending_blank;
    struct strbuf pending_raw;
};

static int oom(struct file_state *st)
{
    return fs_error_set(st->r->err, "%s:%d: out of memory", st->path, st->lineno);
}

static void file_state_free(struct file_state *st)
{
    free(st->opt_where);
    free(st->value.data);
    free(st->raw.data);
    free(st->pending_raw.data);
}

static struct fs_config_section *section_new(struct file_state *st, const char *kind,
                                             size_t kind_len, const char *suffix)
{
    struct fs_config *cfg = st->r->cfg;
    if (cfg->section_count >= FS_CONFIG_SECTIONS_MAX) {
        fs_error_set(st->r->err, "%s:%d: more than %d sections", st->path, st->lineno,
                     FS_CONFIG_SECTIONS_MAX);
        return NULL;
    }
    if (cfg->section_count == cfg->section_cap) {
        int cap = cfg->section_cap ? cfg->section_cap * 2 : 16;
        struct fs_config_section **v = realloc(cfg->sections, (size_t)cap * sizeof(*v));
        if (!v)
            goto nomem;
        cfg->sections = v;
        cfg->section_cap = cap;
    }
    struct fs_config_section *s = calloc(1, sizeof(*s));
    if (!s)
        goto nomem;
    cfg->sections[cfg->section_count++] = s;
    s->kind = dup_range(kind, kind_len);
    s->suffix = dup_range(suffix, strlen(suffix));
    s->where = where_dup(st->path, st->lineno);
    size_t name_len = kind_len + (suffix[0] ? 1 + strlen(suffix) : 0);
    s->name = malloc(name_len + 1);
    if (!s->kind || !s->suffix || !s->where || !s->name)
        goto nomem;
    snprintf(s->name, name_len + 1, "%s%s%s", s->kind, suffix[0] ? " " : "", suffix);
    s->seq = cfg->next_seq++;
    return s;
nomem:
    oom(st);
    return NULL;
}

/* Stores the option collected so far, replacing an earlier one of the same
 * name in the section. */
static int option_commit(struct file_state *st)
{
    if (!st->have_option)
        return 0;
    st->have_option = 0;
    st->pending_blank = 0;
    strbuf_reset(&st->pending_raw);
    struct fs_config_section *s = st->section;
    struct fs_config_option *o = fs_config_find_option(s, st->opt_name);
    if (!o) {
        struct fs_config *cfg = st->r->cfg;
        if (cfg->total_options >= FS_CONFIG_OPTIONS_MAX)
            return fs_error_set(st->r->err, "%s: more than %d options", st->opt_where,
                                FS_CONFIG_OPTIONS_MAX);
        if (s->option_count == s->option_cap) {
            int cap = s->option_cap ? s->option_cap * 2 : 8;
            struct fs_config_option *v = realloc(s->options, (size_t)cap * sizeof(*v));
            if (!v)
                return oom(st);
            s->options = v;
            s->option_cap = cap;
        }
        o = &s->options[s->option_count++];
        memset(o, 0, sizeof(*o));
        cfg->total_options++;
        o->name = dup_range(st->opt_name, strlen(st->opt_name));
        if (!o->name)
            return oom(st);
    }
    free(o->value);
    free(o->raw);
    free(o->where);
    o->value = strbuf_take(&st->value);
    o->raw = strbuf_take(&st->raw);
    o->where = st->opt_where;
    st->opt_where = NULL;
    o->seq = st->opt_seq;
    o->used = 0;
    if (!o->value || !o->raw)
        return oom(st);
    return 0;
}

static int value_add(struct file_state *st, const char *p, size_t n)
{
    if (st->value.len + n > FS_CONFIG_VALUE_MAX)
        return fs_error_set(st->r->err, "%s:%d: [%s] %s: value longer than %d bytes",
                            st->path, st->lineno, st->section->name, st->opt_name,
                            FS_CONFIG_VALUE_MAX);
    if (strbuf_add(&st->value, p, n) < 0)
        return oom(st);
    return 0;
}

static const char *trim_left(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Length of p[0..n) without trailing whitespace. */
static size_t trim_right(const char *p, size_t n)
{
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    return n;
}

/* ---- one line ---- */

static int load_file(struct reader *r, const char *path, const char *from_where);

static int has_wildcard(const char *pattern) { return strpbrk(pattern, "*?[") != NULL; }

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The include directory is taken literally, so glob characters in it are
 * escaped; only the user's pattern may contain wildcards. */
static int include_glob(struct file_state *st, const char *pattern)
{
    struct fs_error *err = st->r->err;
    char full[2 * FS_CONFIG_LINE_MAX + 8];
    size_t n = 0;
    if (pattern[0] != '/') {
        for (const char *d = st->base_dir; *d; d++) {
            if (n + 2 >= sizeof(full))
                break;
            if (strchr("*?[\\", *d))
                full[n++] = '\\';
            full[n++] = *d;
        }
    }
    int w = snprintf(full + n, sizeof(full) - n, "%s", pattern);
    if (w < 0 || (size_t)w >= sizeof(full) - n)
        return fs_error_set(err, "%s:%d: include '%s': path too long", st->path, st->lineno,
                            pattern);
    glob_t g;
    int rc = glob(full, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        if (has_wildcard(pattern))
            return 0;
        return fs_error_set(err, "%s:%d: include '%s': no such file '%s'", st->path,
                            st->lineno, pattern, full);
    }
    if (rc != 0)
        return fs_error_set(err, "%s:%d: include '%s': cannot list '%s'", st->path,
                            st->lineno, pattern, full);
    /* glob sorts by the locale's collation; strcmp order is the same on
     * every machine. */
    qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), compare_paths);
    char from[FS_CONFIG_LINE_MAX];
    snprintf(from, sizeof(from), "%s:%d", st->path, st->lineno);
    int result = 0;
    for (size_t i = 0; i < g.gl_pathc && result == 0; i++)
        result = load_file(st->r, g.gl_pathv[i], from);
    globfree(&g);
    return result;
}

static int handle_header(struct file_state *st, char *line, size_t len)
{
    struct fs_error *err = st->r->err;
    if (line[len - 1] != ']')
        return fs_error_set(err, "%s:%d: section header must end with ']', got '%s'",
                            st->path, st->lineno, line);
    line[len - 1] = '\0';
    const char *inner = trim_left(line + 1);
    size_t inner_len = trim_right(inner, strlen(inner));
    line[(size_t)(inner - line) + inner_len] = '\0';
    if (inner_len == 0)
        return fs_error_set(err, "%s:%d: empty section name", st->path, st->lineno);
    if (inner_len > FS_CONFIG_NAME_MAX)
        return fs_error_set(err, "%s:%d: section name longer than %d bytes", st->path,
                            st->lineno, FS_CONFIG_NAME_MAX);
    size_t kind_len = 0;
    while (kind_len < inner_len && !isspace((unsigned char)inner[kind_len]))
        kind_len++;
    const char *suffix = trim_left(inner + kind_len);
    if (kind_len == 7 && memcmp(inner, "include", 7) == 0) {
        if (!suffix[0])
            return fs_error_set(err, "%s:%d: [include] needs a file name or pattern",
                                st->path, st->lineno);
        st->section = NULL;
        st->in_include = 1;
        return include_glob(st, suffix);
    }
    st->in_include = 0;
    char name[FS_CONFIG_NAME_MAX + 2];
    snprintf(name, sizeof(name), "%.*s%s%s", (int)kind_len, inner, suffix[0] ? " " : "",
             suffix);
    st->section = fs_config_find_section(st->r->cfg, name);
    if (!st->section)
        st->section = section_new(st, inner, kind_len, suffix);
    return st->section ? 0 : -1;
}

static int handle_option(struct file_state *st, const char *line, const char *raw_line)
{
    struct fs_error *err = st->r->err;
    if (!st->section) {
        if (st->in_include)
            return fs_error_set(err, "%s:%d: options are not allowed in an [include] section",
                                st->path, st->lineno);
        return fs_error_set(err, "%s:%d: option before the first [section]: '%s'", st->path,
                            st->lineno, line);
    }
    const char *sep = strpbrk(line, ":=");
    if (!sep)
        return fs_error_set(err, "%s:%d: [%s] expected 'option: value' or 'option = value', "
                            "got '%s'", st->path, st->lineno, st->section->name, line);
    size_t key_len = trim_right(line, (size_t)(sep - line));
    if (key_len == 0)
        return fs_error_set(err, "%s:%d: [%s] missing option name before '%c'", st->path,
                            st->lineno, st->section->name, *sep);
    if (key_len > FS_CONFIG_NAME_MAX)
        return fs_error_set(err, "%s:%d: [%s] option name longer than %d bytes", st->path,
                            st->lineno, st->section->name, FS_CONFIG_NAME_MAX);
    for (size_t i = 0; i < key_len; i++)
        st->opt_name[i] = (char)tolower((unsigned char)line[i]);
    st->opt_name[key_len] = '\0';
    st->have_option = 1;
    st->opt_seq = st->r->cfg->next_seq++;
    st->opt_where = where_dup(st->path, st->lineno);
    if (!st->opt_where)
        return oom(st);
    strbuf_reset(&st->value);
    strbuf_reset(&st->raw);
    const char *value = trim_left(sep + 1);
    if (value_add(st, value, strlen(value)) < 0)
        return -1;
    if (strbuf_add(&st->raw, raw_line, strlen(raw_line)) < 0)
        return oom(st);
    return 0;
}

static int handle_continuation(struct file_state *st, const char *text, const char *raw_line)
{
    /* An empty first line ("gcode:") is not part of the value. */
    if (st->value.len > 0) {
        for (int i = 0; i <= st->pending_blank; i++)
            if (value_add(st, "\n", 1) < 0)
                return -1;
    }
    if (value_add(st, text, strlen(text)) < 0)
        return -1;
    if (strbuf_add(&st->raw, st->pending_raw.data ? st->pending_raw.data : "",
                   st->pending_raw.len) < 0 ||
        strbuf_add(&st->raw, "\n", 1) < 0 || strbuf_add(&st->raw, raw_line, strlen(raw_line)) < 0)
        return oom(st);
    st->pending_blank = 0;
    strbuf_reset(&st->pending_raw);
    return 0;
}

/* Remembers a blank or comment line that may turn out to be inside a value. */
static int hold_pending(struct file_state *st, const char *raw_line, int blank)
{
    if (!st->have_option)
        return 0;
    if (st->pending_raw.len + strlen(raw_line) > FS_CONFIG_VALUE_MAX)
        return fs_error_set(st->r->err, "%s:%d: [%s] %s: value longer than %d bytes",
                            st->path, st->lineno, st->section->name, st->opt_name,
                            FS_CONFIG_VALUE_MAX);
    st->pending_blank += blank;
    if (strbuf_add(&st->pending_raw, "\n", 1) < 0 ||
        strbuf_add(&st->pending_raw, raw_line, strlen(raw_line)) < 0)
        return oom(st);
    return 0;
}

static int handle_line(struct file_state *st, const char *raw_line)
{
    char line[FS_CONFIG_LINE_MAX + 1];
    size_t len = strlen(raw_line);
    memcpy(line, raw_line, len + 1);
    const char *first = trim_left(line);
    if (*first == '#' || *first == ';')
        return hold_pending(st, raw_line, 0);
    for (size_t i = 0; i < len; i++) {
        if ((line[i] == '#' || line[i] == ';') &&
            (i == 0 || isspace((unsigned char)line[i - 1]))) {
            len = i;
            break;
        }
    }
    len = trim_right(line, len);
    line[len] = '\0';
    if (len == 0)
        return hold_pending(st, raw_line, 1);
    int indented = isspace((unsigned char)line[0]);
    if (indented && st->have_option)
        return handle_continuation(st, first, raw_line);
    if (option_commit(st) < 0)
        return -1;
    if (line[0] == '[')
        return handle_header(st, line, len);
    return handle_option(st, first, raw_line);
}

/* Splits text into lines; the caller has checked for NUL bytes. */
static int parse_text(struct reader *r, const char *path, const char *base_dir,
                      const char *text)
{
    struct file_state st = {.r = r, .path = path, .base_dir = base_dir};
    char line[FS_CONFIG_LINE_MAX + 1];
    int result = 0;
    for (const char *pos = text; *pos && result == 0;) {
        const char *eol = strchr(pos, '\n');
        size_t n = eol ? (size_t)(eol - pos) : strlen(pos);
        st.lineno++;
        if (n > 0 && pos[n - 1] == '\r')
            n--;
        if (n > FS_CONFIG_LINE_MAX) {
            result = fs_error_set(r->err, "%s:%d: line longer than %d bytes", path, st.lineno,
                                  FS_CONFIG_LINE_MAX);
            break;
        }
        memcpy(line, pos, n);
        line[n] = '\0';
        result = handle_line(&st, line);
        pos = eol ? eol + 1 : pos + strlen(pos);
    }
    if (result == 0)
        result = option_commit(&st);
    file_state_free(&st);
    return result;
}

/* ---- files ---- */

static int file_add(struct reader *r, const char *path, char *text, const char *from)
{
    struct fs_config *cfg = r->cfg;
    if (cfg->file_count >= FS_CONFIG_FILES_MAX) {
        free(text);
        return fs_error_set(r->err, "%s: more than %d configuration files", from ? from : path,
                            FS_CONFIG_FILES_MAX);
    }
    if (cfg->file_count == cfg->file_cap) {
        int cap = cfg->file_cap ? cfg->file_cap * 2 : 4;
        struct fs_config_file *v = realloc(cfg->files, (size_t)cap * sizeof(*v));
        if (!v) {
            free(text);
            return fs_error_set(r->err, "%s: out of memory", path);
        }
        cfg->files = v;
        cfg->file_cap = cap;
    }
    char *p = dup_range(path, strlen(path));
    if (!p) {
        free(text);
        return fs_error_set(r->err, "%s: out of memory", path);
    }
    cfg->files[cfg->file_count].path = p;
    cfg->files[cfg->file_count].text = text;
    cfg->file_count++;
    return 0;
}

/* Rejects text a person could not have meant as a config file. */
static int text_check(struct reader *r, const char *path, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return 0;
    int line = 1;
    for (const char *p = text; p < nul; p++)
        line += *p == '\n';
    return fs_error_set(r->err, "%s:%d: NUL byte in the text (not a text file?)", path, line);
}

static int read_whole(struct reader *r, FILE *f, const char *path, char **out, size_t *len)
{
    char *buf = malloc(FS_CONFIG_FILE_MAX + 2);
    if (!buf)
        return fs_error_set(r->err, "%s: out of memory", path);
    size_t n = fread(buf, 1, FS_CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        int e = errno;
        free(buf);
        return fs_error_set(r->err, "cannot read '%s': %s", path, strerror(e));
    }
    if (n > FS_CONFIG_FILE_MAX) {
        free(buf);
        return fs_error_set(r->err, "%s: larger than %d bytes", path, FS_CONFIG_FILE_MAX);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int cycle_error(struct reader *r, const char *path, const char *from)
{
    char chain[FS_ERROR_MSG_MAX];
    size_t n = 0;
    chain[0] = '\0';
    for (int i = 0; i < r->depth; i++) {
        int w = snprintf(chain + n, sizeof(chain) - n, "%s -> ", r->stack[i].path);
        if (w < 0 || (size_t)w >= sizeof(chain) - n)
            break;
        n += (size_t)w;
    }
    return fs_error_set(r->err, "%s: include cycle: %s%s", from, chain, path);
}

static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    if (n >= cap)
        n = 0;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* from_where: "file:line" of the include, NULL for the top file. */
static int load_file(struct reader *r, const char *path, const char *from_where)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (from_where)
            return fs_error_set(r->err, "%s: include: cannot open '%s': %s", from_where, path,
                                strerror(e));
        return fs_error_set(r->err, "cannot open '%s': %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0) {
        for (int i = 0; i < r->depth; i++) {
            if (r->stack[i].has_id && r->stack[i].dev == sb.st_dev &&
                r->stack[i].ino == sb.st_ino) {
                fclose(f);
                return cycle_error(r, path, from_where);
            }
        }
    }
    if (r->depth >= FS_CONFIG_INCLUDE_DEPTH_MAX) {
        fclose(f);
        return fs_error_set(r->err, "%s: includes nested more than %d deep", from_where,
                            FS_CONFIG_INCLUDE_DEPTH_MAX);
    }
    char *text = NULL;
    size_t len = 0;
    int rc = read_whole(r, f, path, &text, &len);
    fclose(f);
    if (rc < 0)
        return -1;
    if (text_check(r, path, text, len) < 0) {
        free(text);
        return -1;
    }
    if (file_add(r, path, text, from_where) < 0)
        return -1;
    const struct fs_config_file *file = &r->cfg->files[r->cfg->file_count - 1];
    r->stack[r->depth] = (struct open_file){file->path, sb.st_dev, sb.st_ino, 1};
    r->depth++;
    char base_dir[FS_CONFIG_LINE_MAX];
    dir_of(file->path, base_dir, sizeof(base_dir));
    rc = parse_text(r, file->path, base_dir, file->text);
    r->depth--;
    return rc;
}

static int finish(struct fs_config *cfg, int rc, struct fs_config **out)
{
    if (rc < 0) {
        fs_config_free(cfg);
        *out = NULL;
        return -1;
    }
    *out = cfg;
    return 0;
}

int fs_config_load(const char *path, struct fs_config **out, struct fs_error *err)
{
    *out = NULL;
    struct fs_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return fs_error_set(err, "%s: out of memory", path);
    struct reader r = {.cfg = cfg, .err = err};
    return finish(cfg, load_file(&r, path, NULL), out);
}

int fs_config_load_string(const char *text, const char *name, struct fs_config **out,
                          struct fs_error *err)
{
    *out = NULL;
    size_t len = strlen(text);
    if (len > FS_CONFIG_FILE_MAX)
        return fs_error_set(err, "%s: larger than %d bytes", name, FS_CONFIG_FILE_MAX);
    struct fs_config *cfg = calloc(1, sizeof(*cfg));
    char *copy = dup_range(text, len);
    if (!cfg || !copy) {
        free(cfg);
        free(copy);
        return fs_error_set(err, "%s: out of memory", name);
    }
    struct reader r = {.cfg = cfg, .err = err};
    if (file_add(&r, name, copy, NULL) < 0)
        return finish(cfg, -1, out);
    const struct fs_config_file *file = &cfg->files[0];
    r.stack[0] = (struct open_file){file->path, 0, 0, 0};
    r.depth = 1;
    return finish(cfg, parse_text(&r, file->path, "", file->text), out);
}
