/* G-code dispatch: the registry of commands that modules register next to
 * their code, running lines and scripts through it, responses to the user,
 * and the built-in HELP (see gcode.h).
 *
 * Design. Every line of a print goes through one lookup, so commands live in
 * an open-addressing hash table keyed by the upper-case name (FNV-1a, linear
 * probing, at most half full); the parser already upper-cases the name, so a
 * lookup hashes it once and compares a handful of bytes. HELP wants the
 * names sorted, so an index sorted by name is kept beside the table and
 * updated on registration, which happens at configuration time only. */
#include "gcode/gcode.h"

#include <stdarg.h> /* va_list */
#include <stdint.h> /* uint32_t */
#include <stdio.h>  /* vsnprintf, snprintf */
#include <stdlib.h> /* calloc, realloc, free */
#include <string.h> /* strcmp, strlen, memmove, memchr */

#include "core/error.h" /* fs_error_set, fs_error_prefix */

#define GCODE_INITIAL_SLOTS 64
#define GCODE_RESPONSE_STACK 512

struct gcode_entry {
    char name[FS_GCODE_NAME_MAX];
    uint32_t hash;
    fs_gcode_handler fn;
    void *arg;
    char *help; /* owned copy, "" when none */
};

struct fs_gcode {
    struct gcode_entry *entries; /* registration order */
    int count;
    int capacity;
    int *slots; /* entry index + 1, 0 = empty */
    uint32_t slot_mask;
    int *sorted; /* entry indices sorted by name */
    fs_gcode_output_fn output;
    void *output_arg;
    int script_depth;
};

static char to_upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

static uint32_t name_hash(const char *upper_name)
{
    uint32_t h = 2166136261u;
    for (const char *c = upper_name; *c; c++) {
        h ^= (unsigned char)*c;
        h *= 16777619u;
    }
    return h;
}

/* Upper-cases name into out; -1 when it cannot be a command name. */
static int normalize_name(const char *name, char out[FS_GCODE_NAME_MAX])
{
    size_t n = strlen(name);
    if (n == 0 || n >= FS_GCODE_NAME_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = to_upper(name[i]);
        int ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 (c == '.' && i > 0);
        if (!ok)
            return -1;
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

static const struct gcode_entry *lookup(const struct fs_gcode *g, const char *upper_name)
{
    uint32_t h = name_hash(upper_name);
    for (uint32_t i = h & g->slot_mask;; i = (i + 1) & g->slot_mask) {
        int slot = g->slots[i];
        if (slot == 0)
            return NULL;
        const struct gcode_entry *e = &g->entries[slot - 1];
        if (e->hash == h && strcmp(e->name, upper_name) == 0)
            return e;
    }
}

static void slot_insert(int *slots, uint32_t mask, uint32_t hash, int index)
{
    uint32_t i = hash & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = index + 1;
}

static int grow(struct fs_gcode *g, struct fs_error *err)
{
    int cap = g->capacity ? g->capacity * 2 : GCODE_INITIAL_SLOTS / 2;
    struct gcode_entry *entries = realloc(g->entries, (size_t)cap * sizeof(*entries));
    if (!entries)
        return fs_error_set(err, "out of memory for G-code commands");
    g->entries = entries;
    int *sorted = realloc(g->sorted, (size_t)cap * sizeof(*sorted));
    if (!sorted)
        return fs_error_set(err, "out of memory for G-code commands");
    g->sorted = sorted;
    uint32_t nslots = (uint32_t)cap * 2;
    int *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return fs_error_set(err, "out of memory for G-code commands");
    for (int i = 0; i < g->count; i++)
        slot_insert(slots, nslots - 1, g->entries[i].hash, i);
    free(g->slots);
    g->slots = slots;
    g->slot_mask = nslots - 1;
    g->capacity = cap;
    return 0;
}

static int cmd_help(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    fs_gcode_respond_info(g, "Available commands:");
    for (int i = 0; i < g->count; i++) {
        const char *help = fs_gcode_command_help(g, i);
        if (help[0])
            fs_gcode_respond_info(g, "%s: %s", fs_gcode_command_name(g, i), help);
        else
            fs_gcode_respond_info(g, "%s", fs_gcode_command_name(g, i));
    }
    return 0;
}

struct fs_gcode *fs_gcode_new(struct fs_error *err)
{
    struct fs_gcode *g = calloc(1, sizeof(*g));
    if (!g) {
        fs_error_set(err, "out of memory for the G-code dispatcher");
        return NULL;
    }
    if (grow(g, err) < 0 ||
        fs_gcode_register(g, "HELP", cmd_help, NULL, "List the available commands", err) < 0) {
        fs_gcode_free(g);
        return NULL;
    }
    return g;
}

void fs_gcode_free(struct fs_gcode *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->count; i++)
        free(g->entries[i].help);
    free(g->entries);
    free(g->sorted);
    free(g->slots);
    free(g);
}

void fs_gcode_set_output(struct fs_gcode *g, fs_gcode_output_fn fn, void *arg)
{
    g->output = fn;
    g->output_arg = arg;
}

int fs_gcode_register(struct fs_gcode *g, const char *name, fs_gcode_handler fn, void *arg,
                      const char *help, struct fs_error *err)
{
    char upper[FS_GCODE_NAME_MAX];
    if (!name || normalize_name(name, upper) < 0)
        return fs_error_set(err, "G-code command name '%s' is not valid (letters, digits and"
                            " '_', at most %d characters)", name ? name : "", FS_GCODE_NAME_MAX - 1);
    if (!fn)
        return fs_error_set(err, "G-code command '%s' registered without a handler", upper);
    if (lookup(g, upper))
        return fs_error_set(err, "G-code command '%s' is already registered", upper);
    if (g->count * 2 + 2 > (int)(g->slot_mask + 1) || g->count >= g->capacity)
        if (grow(g, err) < 0)
            return -1;
    char *help_copy = strdup(help ? help : "");
    if (!help_copy)
        return fs_error_set(err, "out of memory for G-code commands");
    int index = g->count;
    struct gcode_entry *e = &g->entries[index];
    memcpy(e->name, upper, sizeof(upper));
    e->hash = name_hash(upper);
    e->fn = fn;
    e->arg = arg;
    e->help = help_copy;
    slot_insert(g->slots, g->slot_mask, e->hash, index);
    int pos = index;
    while (pos > 0 && strcmp(g->entries[g->sorted[pos - 1]].name, upper) > 0)
        pos--;
    memmove(&g->sorted[pos + 1], &g->sorted[pos], (size_t)(index - pos) * sizeof(int));
    g->sorted[pos] = index;
    g->count++;
    return 0;
}

int fs_gcode_is_registered(const struct fs_gcode *g, const char *name)
{
    char upper[FS_GCODE_NAME_MAX];
    if (!name || normalize_name(name, upper) < 0)
        return 0;
    return lookup(g, upper) != NULL;
}

static int fail_in(const char *source, struct fs_error *err)
{
    if (source && source[0])
        return fs_error_prefix(err, "%s: ", source);
    return -1;
}

int fs_gcode_run_line(struct fs_gcode *g, const char *line, const char *source,
                      struct fs_error *err)
{
    char buf[FS_GCODE_BUF_SIZE];
    struct fs_gcode_command cmd;
    int r = fs_gcode_parse(line, buf, sizeof(buf), &cmd, err);
    if (r <= 0)
        return r < 0 ? fail_in(source, err) : 0;
    cmd.source = source;
    const struct gcode_entry *e = lookup(g, cmd.name);
    if (!e) {
        fs_error_set(err, "Unknown command: '%s'", cmd.name);
        return fail_in(source, err);
    }
    fs_error_clear(err);
    if (e->fn(e->arg, g, &cmd, err) < 0) {
        /* A handler that forgot to say why still gets a message to act on. */
        if (err && !err->msg[0])
            fs_error_set(err, "%s failed", cmd.name);
        return fail_in(source, err);
    }
    return 0;
}

int fs_gcode_run_script(struct fs_gcode *g, const char *script, const char *source,
                        struct fs_error *err)
{
    if (!source || !source[0])
        source = "script";
    if (g->script_depth >= FS_GCODE_SCRIPT_DEPTH_MAX)
        return fs_error_set(err, "%s: scripts nested more than %d deep", source,
                            FS_GCODE_SCRIPT_DEPTH_MAX);
    g->script_depth++;
    int result = 0;
    int number = 1;
    for (const char *p = script; *p; number++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char where[256];
        snprintf(where, sizeof(where), "%s:%d", source, number);
        if (len > FS_GCODE_LINE_MAX + 1) {
            result = fs_error_set(err, "%s: line longer than %d characters", where,
                                  FS_GCODE_LINE_MAX);
            break;
        }
        char line[FS_GCODE_LINE_MAX + 2];
        memcpy(line, p, len);
        line[len] = '\0';
        if (fs_gcode_run_line(g, line, where, err) < 0) {
            result = -1;
            break;
        }
        p = nl ? nl + 1 : p + len;
    }
    g->script_depth--;
    return result;
}

/* Sends text with prefix before every line: a multi-line message stays
 * recognisable as info or error on each of its lines. */
static void respond_prefixed(struct fs_gcode *g, const char *prefix, const char *fmt, va_list ap)
{
    if (!g->output)
        return;
    char stack[GCODE_RESPONSE_STACK];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(stack, sizeof(stack), fmt, ap);
    char *text = stack;
    if (n >= (int)sizeof(stack)) {
        text = malloc((size_t)n + 1);
        if (text)
            vsnprintf(text, (size_t)n + 1, fmt, ap2);
        else
            text = stack; /* truncated beats silent */
    }
    va_end(ap2);
    if (n < 0) {
        g->output(g->output_arg, "!! unprintable response");
        return;
    }
    if (!prefix[0]) {
        g->output(g->output_arg, text);
    } else {
        size_t plen = strlen(prefix);
        for (const char *p = text;;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            char line_stack[GCODE_RESPONSE_STACK];
            char *line = line_stack;
            if (plen + len + 1 > sizeof(line_stack))
                line = malloc(plen + len + 1);
            if (line) {
                memcpy(line, prefix, plen);
                memcpy(line + plen, p, len);
                line[plen + len] = '\0';
                g->output(g->output_arg, line);
                if (line != line_stack)
                    free(line);
            }
            if (!nl)
                break;
            p = nl + 1;
        }
    }
    if (text != stack)
        free(text);
}

void fs_gcode_respond(struct fs_gcode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_prefixed(g, "", fmt, ap);
    va_end(ap);
}

void fs_gcode_respond_info(struct fs_gcode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_prefixed(g, "// ", fmt, ap);
    va_end(ap);
}

void fs_gcode_respond_error(struct fs_gcode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_prefixed(g, "!! ", fmt, ap);
    va_end(ap);
}

int fs_gcode_command_count(const struct fs_gcode *g) { return g->count; }

const char *fs_gcode_command_name(const struct fs_gcode *g, int i)
{
    if (i < 0 || i >= g->count)
        return NULL;
    return g->entries[g->sorted[i]].name;
}

const char *fs_gcode_command_help(const struct fs_gcode *g, int i)
{
    if (i < 0 || i >= g->count)
        return NULL;
    return g->entries[g->sorted[i]].help;
}
