/* G-code lines: parsing one line into a command, and reading its parameters
 * (see gcode.h). The command registry and execution live in dispatch.c.
 *
 * Design. A print file has a million lines, so parsing makes one pass over
 * the line and never allocates: the caller's buffer receives three
 * NUL-terminated regions of at most len + 1 bytes each, the raw line (for
 * logs and errors), the rest of line (after the command name, comments and
 * checksum removed) and the parameter values, which are never longer in
 * total than the rest they come from.
 *
 * The word after the line number decides the grammar. A letter and a number
 * ("G1", "M104", "T0") is a classic command whose parameters are a letter
 * and a value each, spaces optional ("G1X10Y5"): a value ends at whitespace
 * or where a letter follows a digit, so "X10Y5" splits but "Xabc" stays one
 * value and reaches the handler, which names it in its error. Any other word
 * is an extended command with KEY=VALUE parameters, where values may be
 * quoted and a quote protects ';' and '('. Message commands (M117 and the
 * file-name commands) keep their rest of line as text, but ';' still starts
 * a comment there, as every slicer assumes. */
#include "gcode/gcode.h"

#include <limits.h> /* LONG_MAX, INT_MAX */
#include <math.h>   /* isfinite, isnan */
#include <stdlib.h> /* strtod */
#include <string.h> /* memcpy, strnlen, strcmp */

#include "core/error.h" /* fs_error_set */

enum line_kind { KIND_CLASSIC, KIND_EXTENDED, KIND_MESSAGE };

/* Commands whose rest of line is free text (a message, a file name) rather
 * than parameters. */
static const char *const message_commands[] = {"M23", "M28", "M30", "M32", "M117", "M118", NULL};

/* ASCII only, independent of the C locale. */
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }
static char to_upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static int token_len(const char *p)
{
    int n = 0;
    while (p[n] && !is_space(p[n]))
        n++;
    return n;
}

/* The command word at p: its end, and whether it is classic (letter and
 * number, "G29.1" included). Returns NULL when p holds no word. */
static const char *scan_name(const char *p, enum line_kind *kind)
{
    if (!is_alpha(*p))
        return NULL;
    const char *q = p + 1;
    if (is_digit(*q)) {
        while (is_digit(*q))
            q++;
        if (*q == '.' && is_digit(q[1])) {
            q++;
            while (is_digit(*q))
                q++;
        }
        if (*q != '_' && *q != '=') {
            *kind = KIND_CLASSIC;
            return q;
        }
    }
    q = p;
    while (is_word(*q))
        q++;
    *kind = KIND_EXTENDED;
    return q;
}

static int is_message_command(const char *name)
{
    for (int i = 0; message_commands[i]; i++)
        if (strcmp(name, message_commands[i]) == 0)
            return 1;
    return 0;
}

/* Where the code ends: the first ';' outside quotes, or a trailing "*NN"
 * checksum before it. Verifies the checksum against the bytes before '*'. */
static int find_code_end(const char *raw, const char *from, enum line_kind kind,
                         const char **code_end, struct fs_error *err)
{
    const char *end = from;
    const char *last_star = NULL;
    int in_quote = 0;
    for (; *end; end++) {
        if (kind == KIND_EXTENDED && *end == '"') {
            in_quote = !in_quote;
        } else if (in_quote) {
            if (*end == '\\' && end[1])
                end++;
        } else if (*end == ';') {
            break;
        } else if (*end == '*') {
            last_star = end;
        }
    }
    *code_end = end;
    if (!last_star)
        return 0;
    const char *d = last_star + 1;
    unsigned long given = 0;
    int digits = 0;
    while (is_digit(*d) && digits < 6) {
        given = given * 10 + (unsigned long)(*d - '0');
        d++;
        digits++;
    }
    if (digits == 0 || skip_space(d) < end || is_digit(*d))
        return 0; /* not a checksum: the '*' is part of the text */
    unsigned expected = 0;
    for (const char *c = raw; c < last_star; c++)
        expected ^= (unsigned char)*c;
    if (given != expected)
        return fs_error_set(err, "checksum error: expected %u, got %lu", expected, given);
    *code_end = last_star;
    return 0;
}

/* Copies [from, to) into out without paren comments (each becomes a space so
 * that it never joins two words) and trims it. Message commands keep parens. */
static int copy_rest(const char *from, const char *to, enum line_kind kind, char *out,
                     const char **rest, struct fs_error *err)
{
    from = skip_space(from);
    char *o = out;
    int in_quote = 0;
    for (const char *c = from; c < to; c++) {
        if (kind == KIND_EXTENDED && *c == '"')
            in_quote = !in_quote;
        if (in_quote && *c == '\\' && c + 1 < to) {
            *o++ = *c++;
            *o++ = *c;
            continue;
        }
        if (!in_quote && kind != KIND_MESSAGE && *c == '(') {
            const char *close = memchr(c, ')', (size_t)(to - c));
            if (!close)
                return fs_error_set(err, "unclosed '(' comment");
            c = close;
            *o++ = ' ';
            continue;
        }
        *o++ = *c;
    }
    while (o > out && is_space(o[-1]))
        o--;
    *o = '\0';
    *rest = out;
    return 0;
}

static int find_param(const struct fs_gcode_command *c, const char *key)
{
    for (int i = 0; i < c->param_count; i++) {
        const char *a = c->params[i].key;
        const char *b = key;
        while (*a && to_upper(*b) == *a) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return i;
    }
    return -1;
}

static int add_param(struct fs_gcode_command *cmd, const char *key, int key_len,
                     const char *value, struct fs_error *err)
{
    if (cmd->param_count >= FS_GCODE_MAX_PARAMS)
        return fs_error_set(err, "%s: more than %d parameters", cmd->name, FS_GCODE_MAX_PARAMS);
    if (key_len >= FS_GCODE_NAME_MAX)
        return fs_error_set(err, "%s: parameter name '%.*s' longer than %d characters",
                            cmd->name, key_len, key, FS_GCODE_NAME_MAX - 1);
    struct fs_gcode_param *p = &cmd->params[cmd->param_count];
    for (int i = 0; i < key_len; i++)
        p->key[i] = to_upper(key[i]);
    p->key[key_len] = '\0';
    if (find_param(cmd, p->key) >= 0)
        return fs_error_set(err, "%s: parameter %s given twice", cmd->name, p->key);
    p->value = value;
    cmd->param_count++;
    return 0;
}

static int parse_classic_params(struct fs_gcode_command *cmd, char *values, struct fs_error *err)
{
    const char *s = cmd->rest;
    char *v = values;
    for (;;) {
        s = skip_space(s);
        if (!*s)
            return 0;
        if (!is_alpha(*s))
            return fs_error_set(err, "%s: malformed parameter '%.*s'", cmd->name,
                                token_len(s), s);
        const char *key = s++;
        const char *start = s;
        /* A letter right after a digit starts the next parameter (X10Y5). */
        while (*s && !is_space(*s) &&
               !(is_alpha(*s) && s > start && (is_digit(s[-1]) || s[-1] == '.')))
            s++;
        size_t n = (size_t)(s - start);
        memcpy(v, start, n);
        v[n] = '\0';
        if (add_param(cmd, key, 1, v, err) < 0)
            return -1;
        v += n + 1;
    }
}

static int parse_extended_params(struct fs_gcode_command *cmd, char *values, struct fs_error *err)
{
    const char *s = cmd->rest;
    char *v = values;
    for (;;) {
        s = skip_space(s);
        if (!*s)
            return 0;
        const char *key = s;
        while (is_word(*s))
            s++;
        if (s == key || *s != '=')
            return fs_error_set(err, "%s: malformed parameter '%.*s' (expected KEY=VALUE)",
                                cmd->name, token_len(key), key);
        int key_len = (int)(s - key);
        s++;
        char *o = v;
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                    s++;
                *o++ = *s++;
            }
            if (*s != '"')
                return fs_error_set(err, "%s: unterminated quote in %.*s", cmd->name, key_len, key);
            s++;
            if (*s && !is_space(*s))
                return fs_error_set(err, "%s: text after the closing quote of %.*s", cmd->name,
                                    key_len, key);
        } else {
            while (*s && !is_space(*s))
                *o++ = *s++;
        }
        *o = '\0';
        if (add_param(cmd, key, key_len, v, err) < 0)
            return -1;
        v = o + 1;
    }
}

int fs_gcode_parse(const char *line, char *buf, size_t buf_size, struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    cmd->name[0] = '\0';
    cmd->param_count = 0;
    cmd->rest = "";
    cmd->line = "";
    cmd->source = NULL;
    cmd->line_number = -1;

    size_t len = strnlen(line, FS_GCODE_LINE_MAX + 3);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > FS_GCODE_LINE_MAX)
        return fs_error_set(err, "line longer than %d characters", FS_GCODE_LINE_MAX);
    if (buf_size < 3 * (len + 1))
        return fs_error_set(err, "parse buffer of %zu bytes too small for a %zu-character line"
                            " (use FS_GCODE_BUF_SIZE)", buf_size, len);
    char *raw = buf;
    memcpy(raw, line, len);
    raw[len] = '\0';
    cmd->line = raw;
    char *rest_buf = raw + len + 1;
    char *values = rest_buf + len + 1;

    const char *p = skip_space(raw);
    if ((*p == 'N' || *p == 'n') && is_digit(p[1])) {
        long n = 0;
        for (p++; is_digit(*p); p++) {
            if (n > (LONG_MAX - 9) / 10)
                return fs_error_set(err, "line number too large");
            n = n * 10 + (*p - '0');
        }
        cmd->line_number = n;
    }
    /* A paren comment may come before the command word. */
    for (;;) {
        p = skip_space(p);
        if (*p != '(')
            break;
        const char *close = strchr(p, ')');
        if (!close)
            return fs_error_set(err, "unclosed '(' comment");
        p = close + 1;
    }

    enum line_kind kind = KIND_EXTENDED;
    const char *name_end = scan_name(p, &kind);
    if (!name_end)
        name_end = p;
    size_t name_len = (size_t)(name_end - p);
    if (name_len >= FS_GCODE_NAME_MAX)
        return fs_error_set(err, "command name '%.*s' longer than %d characters", (int)name_len,
                            p, FS_GCODE_NAME_MAX - 1);
    for (size_t i = 0; i < name_len; i++)
        cmd->name[i] = to_upper(p[i]);
    cmd->name[name_len] = '\0';
    if (kind == KIND_CLASSIC && is_message_command(cmd->name))
        kind = KIND_MESSAGE;

    const char *code_end;
    if (find_code_end(raw, name_end, kind, &code_end, err) < 0)
        return -1;
    if (name_len == 0) {
        if (copy_rest(p, code_end, KIND_CLASSIC, rest_buf, &cmd->rest, err) < 0)
            return -1;
        if (cmd->rest[0])
            return fs_error_set(err, "malformed command '%.*s'", token_len(cmd->rest), cmd->rest);
        return 0;
    }
    if (kind == KIND_EXTENDED && *name_end && !is_space(*name_end) && name_end != code_end &&
        *name_end != '(')
        return fs_error_set(err, "malformed command name '%.*s'", token_len(p), p);
    if (copy_rest(name_end, code_end, kind, rest_buf, &cmd->rest, err) < 0)
        return -1;
    if (kind == KIND_CLASSIC && parse_classic_params(cmd, values, err) < 0)
        return -1;
    if (kind == KIND_EXTENDED && parse_extended_params(cmd, values, err) < 0)
        return -1;
    return 1;
}

int fs_gcode_has(const struct fs_gcode_command *c, const char *key)
{
    return find_param(c, key) >= 0;
}

const char *fs_gcode_get_str(const struct fs_gcode_command *c, const char *key, const char *dflt)
{
    int i = find_param(c, key);
    return i >= 0 ? c->params[i].value : dflt;
}

/* A plain decimal number: strtod alone would also take "inf", "nan" and hex. */
static int parse_number(const char *s, double *out)
{
    if (!*s)
        return -1;
    for (const char *c = s; *c; c++)
        if (!is_digit(*c) && *c != '.' && *c != '-' && *c != '+' && *c != 'e' && *c != 'E')
            return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int check_bounds(const struct fs_gcode_command *c, const char *key, double v,
                        double minval, double maxval, struct fs_error *err)
{
    if (v < minval)
        return fs_error_set(err, "%s: %s=%g must be at least %g", c->name, key, v, minval);
    if (v > maxval)
        return fs_error_set(err, "%s: %s=%g must be at most %g", c->name, key, v, maxval);
    return 0;
}

int fs_gcode_get_float(const struct fs_gcode_command *c, const char *key, double dflt,
                       double minval, double maxval, double *out, struct fs_error *err)
{
    int i = find_param(c, key);
    if (i < 0) {
        if (isnan(dflt))
            return fs_error_set(err, "%s: missing required parameter %s", c->name, key);
        *out = dflt;
        return 0;
    }
    const struct fs_gcode_param *p = &c->params[i];
    double v;
    if (parse_number(p->value, &v) < 0)
        return fs_error_set(err, "%s: unable to parse %s='%s'", c->name, p->key, p->value);
    if (check_bounds(c, p->key, v, minval, maxval, err) < 0)
        return -1;
    *out = v;
    return 0;
}

int fs_gcode_get_int(const struct fs_gcode_command *c, const char *key, int has_dflt, int dflt,
                     int minval, int maxval, int *out, struct fs_error *err)
{
    int i = find_param(c, key);
    if (i < 0) {
        if (!has_dflt)
            return fs_error_set(err, "%s: missing required parameter %s", c->name, key);
        *out = dflt;
        return 0;
    }
    const struct fs_gcode_param *p = &c->params[i];
    double v;
    /* "S255.0" is an integer too: some slicers write every value as a float. */
    if (parse_number(p->value, &v) < 0 || v < INT_MIN || v > INT_MAX || v != (double)(int)v)
        return fs_error_set(err, "%s: unable to parse %s='%s' as an integer", c->name, p->key,
                            p->value);
    if (check_bounds(c, p->key, v, minval, maxval, err) < 0)
        return -1;
    *out = (int)v;
    return 0;
}
