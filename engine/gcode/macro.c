/* G-code macros: compiling a template once, rendering it per call, and the
 * command that runs the rendered script (see macro.h).
 *
 * Design. fs_macro_new compiles the body into a flat program: TEXT copies a
 * span of the body, EMIT prints an expression, JUMP_UNLESS and JUMP
 * implement if/elif/else (each branch ends with a JUMP to its endif; the
 * pending JUMPs of one if are chained through their targets until endif
 * patches them). Expressions become a tree of nodes in one array, built by a
 * recursive-descent parser whose precedence follows Jinja2: or < and < not <
 * comparison < + - < * / < unary minus < filters bind to the unary
 * expression (`-x|int` is `(-x)|int`). Syntax errors are found once, when the
 * configuration loads, not in the middle of a print. Parse and evaluation
 * depths are bounded, so the stack a hostile template can use is too. */
#include "gcode/macro.h"

#include <math.h>   /* nearbyint, pow, isfinite, trunc */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, realloc, free, strtod */
#include <string.h> /* strlen, memcpy, strncmp, strcmp */

#include "core/error.h"   /* fs_error_set */
#include "gcode/gcode.h"  /* fs_gcode_register, fs_gcode_run_script, fs_gcode_get_str */

#define MACRO_IF_DEPTH_MAX 32
#define MACRO_EXPR_DEPTH_MAX 32
#define MACRO_EVAL_DEPTH_MAX 64
#define MACRO_PATH_MAX 128

enum expr_op {
    E_NUMBER, E_STRING, E_BOOL, E_PARAM, E_RAWPARAMS, E_PRINTER,
    E_NEG, E_NOT, E_ADD, E_SUB, E_MUL, E_DIV,
    E_LT, E_LE, E_GT, E_GE, E_EQ, E_NE, E_AND, E_OR,
    E_TO_FLOAT, E_TO_INT, E_DEFAULT, E_ROUND,
};

struct expr {
    enum expr_op op;
    int a, b;      /* operands (node indices), -1 when unused */
    double number; /* E_NUMBER, E_BOOL */
    int is_int;    /* E_NUMBER written without a decimal point */
    int height;    /* longest path to a leaf: bounds evaluation's recursion */
    char *text;    /* E_STRING literal, E_PARAM key, E_PRINTER path */
};

enum instr_op { I_TEXT, I_EMIT, I_JUMP_UNLESS, I_JUMP };

struct instr {
    enum instr_op op;
    int line;     /* template line, for errors */
    size_t start; /* I_TEXT: span of the body; otherwise: the tag's text */
    size_t len;
    int expr;
    int target; /* I_JUMP_UNLESS, I_JUMP: next instruction when taken */
};

struct fs_macro {
    char name[FS_GCODE_NAME_MAX];
    char *description;
    char *body;
    struct instr *code;
    int code_count, code_cap;
    struct expr *exprs;
    int expr_count, expr_cap;
    /* Set by fs_macro_register; depth counts calls in progress. */
    fs_macro_lookup_fn lookup;
    void *lookup_arg;
    int depth;
};

/* ---- values ---- */

void fs_macro_value_float(struct fs_macro_value *v, double x)
{
    v->kind = FS_MACRO_FLOAT;
    v->number = x;
    v->str[0] = '\0';
}

void fs_macro_value_int(struct fs_macro_value *v, long x)
{
    v->kind = FS_MACRO_INT;
    v->number = (double)x;
    v->str[0] = '\0';
}

void fs_macro_value_bool(struct fs_macro_value *v, int b)
{
    v->kind = FS_MACRO_BOOL;
    v->number = b ? 1 : 0;
    v->str[0] = '\0';
}

int fs_macro_value_string(struct fs_macro_value *v, const char *text, struct fs_error *err)
{
    size_t n = strlen(text);
    if (n >= sizeof(v->str))
        return fs_error_set(err, "text of %zu characters is longer than %d", n,
                            FS_MACRO_STR_MAX - 1);
    v->kind = FS_MACRO_STRING;
    v->number = 0;
    memcpy(v->str, text, n + 1);
    return 0;
}

static void value_undefined(struct fs_macro_value *v, const char *what, const char *name)
{
    v->kind = FS_MACRO_UNDEFINED;
    v->number = 0;
    snprintf(v->str, sizeof(v->str), "%s%s", what, name);
}

/* ---- compiling ---- */

struct parser {
    struct fs_macro *m;
    const char *s; /* expression text */
    size_t pos, end;
    int depth;
    struct fs_error *err;
};

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_ident(char c) { return is_ident_start(c) || is_digit(c); }
static char to_upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

static int new_expr(struct parser *p, enum expr_op op, int a, int b)
{
    struct fs_macro *m = p->m;
    /* "1+1+1+..." parses without nesting but evaluates recursively. */
    int height = 1;
    if (a >= 0 && m->exprs[a].height + 1 > height)
        height = m->exprs[a].height + 1;
    if (b >= 0 && m->exprs[b].height + 1 > height)
        height = m->exprs[b].height + 1;
    if (height > MACRO_EVAL_DEPTH_MAX)
        return fs_error_set(p->err, "expression nested more than %d deep", MACRO_EVAL_DEPTH_MAX);
    if (m->expr_count == m->expr_cap) {
        int cap = m->expr_cap ? m->expr_cap * 2 : 32;
        struct expr *e = realloc(m->exprs, (size_t)cap * sizeof(*e));
        if (!e)
            return fs_error_set(p->err, "out of memory");
        m->exprs = e;
        m->expr_cap = cap;
    }
    struct expr *e = &m->exprs[m->expr_count];
    e->op = op;
    e->a = a;
    e->b = b;
    e->number = 0;
    e->is_int = 0;
    e->height = height;
    e->text = NULL;
    return m->expr_count++;
}

static int new_text_expr(struct parser *p, enum expr_op op, const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return fs_error_set(p->err, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    int i = new_expr(p, op, -1, -1);
    if (i < 0) {
        free(copy);
        return -1;
    }
    p->m->exprs[i].text = copy;
    return i;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->end && is_space(p->s[p->pos]))
        p->pos++;
}

static char peek(struct parser *p)
{
    skip_ws(p);
    return p->pos < p->end ? p->s[p->pos] : '\0';
}

/* Consumes op when the text continues with it. */
static int accept(struct parser *p, const char *op)
{
    skip_ws(p);
    size_t n = strlen(op);
    if (p->end - p->pos < n || strncmp(p->s + p->pos, op, n) != 0)
        return 0;
    p->pos += n;
    return 1;
}

/* Consumes the keyword when it stands as a whole word. */
static int accept_word(struct parser *p, const char *word)
{
    skip_ws(p);
    size_t n = strlen(word);
    if (p->end - p->pos < n || strncmp(p->s + p->pos, word, n) != 0)
        return 0;
    if (p->pos + n < p->end && is_ident(p->s[p->pos + n]))
        return 0;
    p->pos += n;
    return 1;
}

static size_t ident_len(const struct parser *p)
{
    size_t n = 0;
    while (p->pos + n < p->end && is_ident(p->s[p->pos + n]))
        n++;
    return n;
}

static int parse_error_here(struct parser *p, const char *what)
{
    if (p->pos >= p->end)
        return fs_error_set(p->err, "%s at the end of the expression", what);
    return fs_error_set(p->err, "%s at '%.*s'", what, (int)(p->end - p->pos), p->s + p->pos);
}

static int parse_expr(struct parser *p);
static int parse_unary(struct parser *p, int with_filters);

static int parse_number(struct parser *p)
{
    size_t start = p->pos;
    int is_int = 1;
    while (p->pos < p->end && is_digit(p->s[p->pos]))
        p->pos++;
    if (p->pos < p->end && p->s[p->pos] == '.' && p->pos + 1 < p->end &&
        is_digit(p->s[p->pos + 1])) {
        is_int = 0;
        p->pos++;
        while (p->pos < p->end && is_digit(p->s[p->pos]))
            p->pos++;
    }
    /* An exponent only when digits follow it: "1e3", "2.5E-2". */
    size_t x = p->pos;
    if (x < p->end && (p->s[x] == 'e' || p->s[x] == 'E')) {
        x++;
        if (x < p->end && (p->s[x] == '+' || p->s[x] == '-'))
            x++;
        if (x < p->end && is_digit(p->s[x])) {
            is_int = 0;
            while (x < p->end && is_digit(p->s[x]))
                x++;
            p->pos = x;
        }
    }
    char text[64];
    size_t n = p->pos - start;
    if (n >= sizeof(text))
        return fs_error_set(p->err, "number '%.*s' too long", (int)n, p->s + start);
    memcpy(text, p->s + start, n);
    text[n] = '\0';
    int i = new_expr(p, E_NUMBER, -1, -1);
    if (i < 0)
        return -1;
    p->m->exprs[i].number = strtod(text, NULL);
    p->m->exprs[i].is_int = is_int;
    return i;
}

static int parse_string(struct parser *p)
{
    char quote = p->s[p->pos++];
    char text[FS_MACRO_STR_MAX];
    size_t n = 0;
    while (p->pos < p->end && p->s[p->pos] != quote) {
        char c = p->s[p->pos++];
        if (c == '\\' && p->pos < p->end) {
            c = p->s[p->pos++];
            if (c == 'n')
                c = '\n';
        }
        if (n + 1 >= sizeof(text))
            return fs_error_set(p->err, "string longer than %d characters", FS_MACRO_STR_MAX - 1);
        text[n++] = c;
    }
    if (p->pos >= p->end)
        return fs_error_set(p->err, "unterminated string");
    p->pos++;
    return new_text_expr(p, E_STRING, text, n);
}

/* params.X, printer.a.b.c, rawparams, True, False. */
static int parse_name(struct parser *p)
{
    size_t n = ident_len(p);
    const char *word = p->s + p->pos;
    if ((n == 4 && (strncmp(word, "True", 4) == 0 || strncmp(word, "true", 4) == 0)) ||
        (n == 5 && (strncmp(word, "False", 5) == 0 || strncmp(word, "false", 5) == 0))) {
        p->pos += n;
        int i = new_expr(p, E_BOOL, -1, -1);
        if (i >= 0)
            p->m->exprs[i].number = n == 4;
        return i;
    }
    if (n == 9 && strncmp(word, "rawparams", 9) == 0) {
        p->pos += n;
        return new_expr(p, E_RAWPARAMS, -1, -1);
    }
    if (n == 6 && strncmp(word, "params", 6) == 0) {
        p->pos += n;
        if (!accept(p, "."))
            return parse_error_here(p, "expected '.' after params");
        size_t kn = ident_len(p);
        if (kn == 0 || kn >= FS_GCODE_NAME_MAX)
            return parse_error_here(p, "expected a parameter name after 'params.'");
        char key[FS_GCODE_NAME_MAX];
        for (size_t k = 0; k < kn; k++)
            key[k] = to_upper(p->s[p->pos + k]);
        p->pos += kn;
        return new_text_expr(p, E_PARAM, key, kn);
    }
    if (n == 7 && strncmp(word, "printer", 7) == 0) {
        p->pos += n;
        char path[MACRO_PATH_MAX];
        size_t len = 0;
        while (accept(p, ".")) {
            size_t sn = ident_len(p);
            if (sn == 0)
                return parse_error_here(p, "expected a name after '.'");
            if (len + sn + 1 >= sizeof(path))
                return parse_error_here(p, "printer path too long");
            if (len)
                path[len++] = '.';
            memcpy(path + len, p->s + p->pos, sn);
            len += sn;
            p->pos += sn;
        }
        if (len == 0)
            return parse_error_here(p, "expected printer.<object>.<field>");
        return new_text_expr(p, E_PRINTER, path, len);
    }
    return fs_error_set(p->err, "unknown name '%.*s' (expected params.X,"
                        " printer.<object>.<field> or rawparams)", (int)n, word);
}

static int parse_primary(struct parser *p)
{
    char c = peek(p);
    if (is_digit(c))
        return parse_number(p);
    if (c == '"' || c == '\'')
        return parse_string(p);
    if (c == '(') {
        p->pos++;
        int e = parse_expr(p);
        if (e < 0)
            return -1;
        if (!accept(p, ")"))
            return parse_error_here(p, "expected ')'");
        return e;
    }
    if (is_ident_start(c) && !accept_word(p, "and") && !accept_word(p, "or") &&
        !accept_word(p, "not"))
        return parse_name(p);
    return parse_error_here(p, "expected a value");
}

static int parse_filters(struct parser *p, int e)
{
    while (e >= 0 && accept(p, "|")) {
        if (accept_word(p, "float")) {
            e = new_expr(p, E_TO_FLOAT, e, -1);
        } else if (accept_word(p, "int")) {
            e = new_expr(p, E_TO_INT, e, -1);
        } else if (accept_word(p, "default")) {
            if (!accept(p, "("))
                return parse_error_here(p, "expected '(' after default");
            int d = parse_expr(p);
            if (d < 0)
                return -1;
            if (!accept(p, ")"))
                return parse_error_here(p, "expected ')'");
            e = new_expr(p, E_DEFAULT, e, d);
        } else if (accept_word(p, "round")) {
            int digits = -1;
            if (accept(p, "(") && !accept(p, ")")) {
                digits = parse_expr(p);
                if (digits < 0)
                    return -1;
                if (!accept(p, ")"))
                    return parse_error_here(p, "expected ')'");
            }
            e = new_expr(p, E_ROUND, e, digits);
        } else {
            return parse_error_here(p, "unknown filter (float, int, default, round)");
        }
    }
    return e;
}

static int parse_unary(struct parser *p, int with_filters)
{
    if (++p->depth > MACRO_EXPR_DEPTH_MAX)
        return fs_error_set(p->err, "expression nested more than %d deep", MACRO_EXPR_DEPTH_MAX);
    int e;
    if (accept(p, "-")) {
        e = parse_unary(p, 0);
        if (e >= 0)
            e = new_expr(p, E_NEG, e, -1);
    } else if (accept(p, "+")) {
        e = parse_unary(p, 0);
    } else {
        e = parse_primary(p);
    }
    p->depth--;
    return with_filters ? parse_filters(p, e) : e;
}

static int parse_mul(struct parser *p)
{
    int e = parse_unary(p, 1);
    while (e >= 0) {
        enum expr_op op;
        if (accept(p, "*"))
            op = E_MUL;
        else if (accept(p, "/"))
            op = E_DIV;
        else
            break;
        int r = parse_unary(p, 1);
        e = r < 0 ? -1 : new_expr(p, op, e, r);
    }
    return e;
}

static int parse_add(struct parser *p)
{
    int e = parse_mul(p);
    while (e >= 0) {
        enum expr_op op;
        if (accept(p, "+"))
            op = E_ADD;
        else if (accept(p, "-"))
            op = E_SUB;
        else
            break;
        int r = parse_mul(p);
        e = r < 0 ? -1 : new_expr(p, op, e, r);
    }
    return e;
}

static int accept_comparison(struct parser *p, enum expr_op *op)
{
    /* Two-character operators first, so "<=" is not read as "<". */
    static const struct { const char *text; enum expr_op op; } ops[] = {
        {"<=", E_LE}, {">=", E_GE}, {"==", E_EQ}, {"!=", E_NE}, {"<", E_LT}, {">", E_GT},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (accept(p, ops[i].text)) {
            *op = ops[i].op;
            return 1;
        }
    }
    return 0;
}

static int parse_comparison(struct parser *p)
{
    int e = parse_add(p);
    enum expr_op op;
    if (e < 0 || !accept_comparison(p, &op))
        return e;
    int r = parse_add(p);
    if (r < 0)
        return -1;
    e = new_expr(p, op, e, r);
    if (e >= 0 && accept_comparison(p, &op))
        return fs_error_set(p->err, "chained comparisons are not supported; use 'and'");
    return e;
}

static int parse_not(struct parser *p)
{
    if (!accept_word(p, "not"))
        return parse_comparison(p);
    if (++p->depth > MACRO_EXPR_DEPTH_MAX)
        return fs_error_set(p->err, "expression nested more than %d deep", MACRO_EXPR_DEPTH_MAX);
    int e = parse_not(p);
    p->depth--;
    return e < 0 ? -1 : new_expr(p, E_NOT, e, -1);
}

static int parse_and(struct parser *p)
{
    int e = parse_not(p);
    while (e >= 0 && accept_word(p, "and")) {
        int r = parse_not(p);
        e = r < 0 ? -1 : new_expr(p, E_AND, e, r);
    }
    return e;
}

static int parse_expr(struct parser *p)
{
    if (++p->depth > MACRO_EXPR_DEPTH_MAX)
        return fs_error_set(p->err, "expression nested more than %d deep", MACRO_EXPR_DEPTH_MAX);
    int e = parse_and(p);
    while (e >= 0 && accept_word(p, "or")) {
        int r = parse_and(p);
        e = r < 0 ? -1 : new_expr(p, E_OR, e, r);
    }
    p->depth--;
    return e;
}

/* A whole expression: text after it is an error. */
static int compile_expr(struct fs_macro *m, const char *s, size_t len, struct fs_error *err)
{
    struct parser p = {m, s, 0, len, 0, err};
    if (peek(&p) == '\0')
        return fs_error_set(err, "empty expression");
    int e = parse_expr(&p);
    if (e >= 0 && peek(&p) != '\0')
        return parse_error_here(&p, "unexpected text");
    return e;
}

static int emit(struct fs_macro *m, enum instr_op op, int line, size_t start, size_t len,
                int expr, struct fs_error *err)
{
    if (m->code_count == m->code_cap) {
        int cap = m->code_cap ? m->code_cap * 2 : 32;
        struct instr *c = realloc(m->code, (size_t)cap * sizeof(*c));
        if (!c)
            return fs_error_set(err, "out of memory");
        m->code = c;
        m->code_cap = cap;
    }
    m->code[m->code_count] = (struct instr){op, line, start, len, expr, -1};
    return m->code_count++;
}

struct open_if {
    int cond;       /* JUMP_UNLESS waiting for the next branch, or -1 */
    int end_chain;  /* last JUMP waiting for endif, chained through target */
    int seen_else;
    int line;
};

struct compiler {
    struct fs_macro *m;
    struct open_if ifs[MACRO_IF_DEPTH_MAX];
    int if_depth;
    struct fs_error *err;
};

/* One `{% ... %}` tag; word and its expression are inside [s, s + len). */
static int compile_tag(struct compiler *c, const char *s, size_t len, int line, size_t tag_start,
                       size_t tag_len)
{
    struct fs_macro *m = c->m;
    while (len && is_space(*s)) {
        s++;
        len--;
    }
    while (len && is_space(s[len - 1]))
        len--;
    size_t wn = 0;
    while (wn < len && is_ident(s[wn]))
        wn++;
    struct open_if *top = c->if_depth ? &c->ifs[c->if_depth - 1] : NULL;
    int is_if = wn == 2 && strncmp(s, "if", 2) == 0;
    int is_elif = wn == 4 && strncmp(s, "elif", 4) == 0;
    if (is_if || is_elif) {
        if (is_if && c->if_depth == MACRO_IF_DEPTH_MAX)
            return fs_error_set(c->err, "if blocks nested more than %d deep", MACRO_IF_DEPTH_MAX);
        if (is_elif && (!top || top->seen_else))
            return fs_error_set(c->err, "'elif' without an open 'if'");
        if (is_elif) {
            int j = emit(m, I_JUMP, line, tag_start, tag_len, -1, c->err);
            if (j < 0)
                return -1;
            m->code[j].target = top->end_chain;
            top->end_chain = j;
            m->code[top->cond].target = m->code_count;
        }
        int e = compile_expr(m, s + wn, len - wn, c->err);
        if (e < 0)
            return -1;
        int j = emit(m, I_JUMP_UNLESS, line, tag_start, tag_len, e, c->err);
        if (j < 0)
            return -1;
        if (is_if) {
            c->ifs[c->if_depth++] = (struct open_if){j, -1, 0, line};
        } else {
            top->cond = j;
        }
        return 0;
    }
    if (wn == len && wn == 4 && strncmp(s, "else", 4) == 0) {
        if (!top || top->seen_else)
            return fs_error_set(c->err, "'else' without an open 'if'");
        int j = emit(m, I_JUMP, line, tag_start, tag_len, -1, c->err);
        if (j < 0)
            return -1;
        m->code[j].target = top->end_chain;
        top->end_chain = j;
        m->code[top->cond].target = m->code_count;
        top->cond = -1;
        top->seen_else = 1;
        return 0;
    }
    if (wn == len && wn == 5 && strncmp(s, "endif", 5) == 0) {
        if (!top)
            return fs_error_set(c->err, "'endif' without an open 'if'");
        if (top->cond >= 0)
            m->code[top->cond].target = m->code_count;
        for (int j = top->end_chain; j >= 0;) {
            int next = m->code[j].target;
            m->code[j].target = m->code_count;
            j = next;
        }
        c->if_depth--;
        return 0;
    }
    return fs_error_set(c->err, "unknown tag (only if, elif, else and endif are supported)");
}

/* The end of a `{ ... }` expression: the first '}' outside quotes. */
static const char *expr_close(const char *s)
{
    char quote = 0;
    for (; *s; s++) {
        if (quote) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == quote)
                quote = 0;
        } else if (*s == '"' || *s == '\'') {
            quote = *s;
        } else if (*s == '}') {
            return s;
        }
    }
    return NULL;
}

static int count_lines(const char *from, const char *to)
{
    int n = 0;
    for (; from < to; from++)
        n += *from == '\n';
    return n;
}

/* The message so far, to be wrapped in context (cut to fit, never overrun). */
static void copy_message(char *dst, size_t size, const struct fs_error *err)
{
    size_t n = err ? strnlen(err->msg, size - 1) : 0;
    if (n)
        memcpy(dst, err->msg, n);
    dst[n] = '\0';
}

static int compile_error(const struct fs_macro *m, int line, const char *tag, size_t tag_len,
                         struct fs_error *err)
{
    char msg[FS_ERROR_MSG_MAX / 2];
    copy_message(msg, sizeof(msg), err);
    if (tag)
        return fs_error_set(err, "macro %s, line %d: %s, in '%.*s'", m->name, line, msg,
                            (int)tag_len, tag);
    return fs_error_set(err, "macro %s, line %d: %s", m->name, line, msg);
}

static int compile(struct fs_macro *m, struct fs_error *err)
{
    struct compiler c = {.m = m, .err = err};
    const char *body = m->body;
    const char *p = body;
    int line = 1;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *text_end = open ? open : p + strlen(p);
        if (text_end > p &&
            emit(m, I_TEXT, line, (size_t)(p - body), (size_t)(text_end - p), -1, err) < 0)
            return -1;
        line += count_lines(p, text_end);
        if (!open)
            break;
        const char *close;
        size_t tag_start = (size_t)(open - body);
        if (open[1] == '%') {
            close = strstr(open + 2, "%}");
            if (!close) {
                fs_error_set(err, "'{%%' without '%%}'");
                return compile_error(m, line, NULL, 0, err);
            }
            size_t tag_len = (size_t)(close + 2 - open);
            if (compile_tag(&c, open + 2, (size_t)(close - open - 2), line, tag_start, tag_len) < 0)
                return compile_error(m, line, open, tag_len, err);
            close += 2;
        } else if (open[1] == '{') {
            fs_error_set(err, "expressions take single braces: { expression }, not {{ }}");
            return compile_error(m, line, NULL, 0, err);
        } else {
            close = expr_close(open + 1);
            if (!close) {
                fs_error_set(err, "'{' without '}'");
                return compile_error(m, line, NULL, 0, err);
            }
            size_t tag_len = (size_t)(close + 1 - open);
            int e = compile_expr(m, open + 1, (size_t)(close - open - 1), err);
            if (e < 0 || emit(m, I_EMIT, line, tag_start, tag_len, e, err) < 0)
                return compile_error(m, line, open, tag_len, err);
            close += 1;
        }
        line += count_lines(open, close);
        p = close;
    }
    if (c.if_depth) {
        fs_error_set(err, "'if' without 'endif'");
        return compile_error(m, c.ifs[c.if_depth - 1].line, NULL, 0, err);
    }
    return 0;
}

struct fs_macro *fs_macro_new(const char *name, const char *body, struct fs_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= FS_GCODE_NAME_MAX) {
        fs_error_set(err, "macro name '%s' must have 1 to %d characters", name ? name : "",
                     FS_GCODE_NAME_MAX - 1);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_ident(name[i])) {
            fs_error_set(err, "macro name '%s' may only hold letters, digits and '_'", name);
            return NULL;
        }
    }
    size_t body_len = strnlen(body, FS_MACRO_BODY_MAX + 1);
    if (body_len > FS_MACRO_BODY_MAX) {
        fs_error_set(err, "macro %.*s: template longer than %d characters", (int)n, name,
                     FS_MACRO_BODY_MAX);
        return NULL;
    }
    struct fs_macro *m = calloc(1, sizeof(*m));
    if (!m || !(m->body = malloc(body_len + 1)) || !(m->description = strdup("G-Code macro"))) {
        fs_error_set(err, "out of memory for macro %s", name);
        fs_macro_free(m);
        return NULL;
    }
    for (size_t i = 0; i <= n; i++)
        m->name[i] = to_upper(name[i]);
    memcpy(m->body, body, body_len);
    m->body[body_len] = '\0';
    if (compile(m, err) < 0) {
        fs_macro_free(m);
        return NULL;
    }
    return m;
}

void fs_macro_free(struct fs_macro *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->expr_count; i++)
        free(m->exprs[i].text);
    free(m->exprs);
    free(m->code);
    free(m->body);
    free(m->description);
    free(m);
}

const char *fs_macro_name(const struct fs_macro *m) { return m->name; }

const char *fs_macro_description(const struct fs_macro *m) { return m->description; }

int fs_macro_set_description(struct fs_macro *m, const char *text, struct fs_error *err)
{
    char *copy = strdup(text);
    if (!copy)
        return fs_error_set(err, "out of memory for macro %s", m->name);
    free(m->description);
    m->description = copy;
    return 0;
}

/* ---- evaluating ---- */

struct evaluator {
    const struct fs_macro *m;
    const struct fs_gcode_command *params;
    fs_macro_lookup_fn lookup;
    void *arg;
    struct fs_error *err;
};

static int truthy(const struct fs_macro_value *v)
{
    switch (v->kind) {
    case FS_MACRO_UNDEFINED:
        return 0;
    case FS_MACRO_STRING:
        return v->str[0] != '\0';
    default:
        return v->number != 0;
    }
}

/* A number from a value; text counts when it is a plain decimal number. */
static int as_number(const struct fs_macro_value *v, double *out, int *is_int)
{
    if (v->kind == FS_MACRO_UNDEFINED)
        return -1;
    if (v->kind != FS_MACRO_STRING) {
        *out = v->number;
        *is_int = v->kind != FS_MACRO_FLOAT;
        return 0;
    }
    const char *s = v->str;
    while (is_space(*s))
        s++;
    if (!*s)
        return -1;
    int saw_point = 0;
    for (const char *c = s; *c && !is_space(*c); c++) {
        if (*c == '.' || *c == 'e' || *c == 'E')
            saw_point = 1;
        else if (!is_digit(*c) && *c != '-' && *c != '+')
            return -1;
    }
    char *end;
    double x = strtod(s, &end);
    while (is_space(*end))
        end++;
    if (end == s || *end || !isfinite(x))
        return -1;
    *out = x;
    *is_int = !saw_point;
    return 0;
}

static int need_number(struct evaluator *ev, const struct fs_macro_value *v, double *out,
                       int *is_int)
{
    if (as_number(v, out, is_int) == 0)
        return 0;
    if (v->kind == FS_MACRO_UNDEFINED)
        return fs_error_set(ev->err, "%s is undefined", v->str);
    return fs_error_set(ev->err, "'%s' is not a number", v->str);
}

static int eval(struct evaluator *ev, int node, struct fs_macro_value *out);

static int eval_arith(struct evaluator *ev, const struct expr *e, struct fs_macro_value *out)
{
    struct fs_macro_value right;
    if (eval(ev, e->a, out) < 0 || eval(ev, e->b, &right) < 0)
        return -1;
    double x, y;
    int xi, yi;
    if (e->op == E_ADD && out->kind == FS_MACRO_STRING && right.kind == FS_MACRO_STRING &&
        (as_number(out, &x, &xi) < 0 || as_number(&right, &y, &yi) < 0)) {
        size_t n = strlen(out->str), rn = strlen(right.str);
        if (n + rn >= sizeof(out->str))
            return fs_error_set(ev->err, "joined text longer than %d characters",
                                FS_MACRO_STR_MAX - 1);
        memcpy(out->str + n, right.str, rn + 1);
        return 0;
    }
    if (need_number(ev, out, &x, &xi) < 0 || need_number(ev, &right, &y, &yi) < 0)
        return -1;
    double r;
    switch (e->op) {
    case E_ADD: r = x + y; break;
    case E_SUB: r = x - y; break;
    case E_MUL: r = x * y; break;
    default:
        if (y == 0)
            return fs_error_set(ev->err, "division by zero");
        r = x / y;
        xi = 0; /* true division, as in Jinja2 */
        break;
    }
    if (xi && yi) {
        fs_macro_value_int(out, 0);
        out->number = r;
    } else {
        fs_macro_value_float(out, r);
    }
    return 0;
}

static int eval_compare(struct evaluator *ev, const struct expr *e, struct fs_macro_value *out)
{
    struct fs_macro_value right;
    if (eval(ev, e->a, out) < 0 || eval(ev, e->b, &right) < 0)
        return -1;
    double x, y;
    int xi, yi, cmp;
    int undefined = out->kind == FS_MACRO_UNDEFINED || right.kind == FS_MACRO_UNDEFINED;
    if ((e->op == E_EQ || e->op == E_NE) && undefined) {
        int same = out->kind == right.kind;
        fs_macro_value_bool(out, e->op == E_EQ ? same : !same);
        return 0;
    }
    if (undefined)
        return fs_error_set(ev->err, "%s is undefined",
                            out->kind == FS_MACRO_UNDEFINED ? out->str : right.str);
    if (as_number(out, &x, &xi) == 0 && as_number(&right, &y, &yi) == 0) {
        cmp = x < y ? -1 : x > y ? 1 : 0;
    } else if (out->kind == FS_MACRO_STRING && right.kind == FS_MACRO_STRING) {
        cmp = strcmp(out->str, right.str);
    } else if (e->op == E_EQ || e->op == E_NE) {
        cmp = 1; /* text against a number: never equal */
    } else {
        return fs_error_set(ev->err, "cannot order '%s' against a number",
                            out->kind == FS_MACRO_STRING ? out->str : right.str);
    }
    int r;
    switch (e->op) {
    case E_LT: r = cmp < 0; break;
    case E_LE: r = cmp <= 0; break;
    case E_GT: r = cmp > 0; break;
    case E_GE: r = cmp >= 0; break;
    case E_EQ: r = cmp == 0; break;
    default: r = cmp != 0; break;
    }
    fs_macro_value_bool(out, r);
    return 0;
}

static int eval_filter(struct evaluator *ev, const struct expr *e, struct fs_macro_value *out)
{
    if (eval(ev, e->a, out) < 0)
        return -1;
    if (e->op == E_DEFAULT)
        return out->kind == FS_MACRO_UNDEFINED ? eval(ev, e->b, out) : 0;
    double x;
    int xi;
    if (as_number(out, &x, &xi) < 0) {
        if (out->kind == FS_MACRO_UNDEFINED)
            return fs_error_set(ev->err, "%s is undefined", out->str);
        return fs_error_set(ev->err, "cannot convert '%s' to a number", out->str);
    }
    if (e->op == E_TO_FLOAT) {
        fs_macro_value_float(out, x);
    } else if (e->op == E_TO_INT) {
        if (fabs(x) > 9007199254740992.0)
            return fs_error_set(ev->err, "%g is too large for an integer", x);
        fs_macro_value_int(out, 0);
        out->number = trunc(x);
    } else {
        double digits = 0;
        if (e->b >= 0) {
            struct fs_macro_value d;
            int di;
            if (eval(ev, e->b, &d) < 0 || need_number(ev, &d, &digits, &di) < 0)
                return -1;
            if (digits != trunc(digits) || digits < -15 || digits > 15)
                return fs_error_set(ev->err, "round() takes a whole number of digits"
                                    " from -15 to 15, not %g", digits);
        }
        /* nearbyint rounds halves to even, as Python's round() does. */
        double scale = pow(10, digits);
        fs_macro_value_float(out, nearbyint(x * scale) / scale);
    }
    return 0;
}

static int eval_name(struct evaluator *ev, const struct expr *e, struct fs_macro_value *out)
{
    if (e->op == E_PARAM || e->op == E_RAWPARAMS) {
        const char *v = NULL;
        if (ev->params)
            v = e->op == E_PARAM ? fs_gcode_get_str(ev->params, e->text, NULL) : ev->params->rest;
        if (!v) {
            if (e->op == E_PARAM)
                value_undefined(out, "params.", e->text);
            else
                fs_macro_value_string(out, "", NULL);
            return 0;
        }
        if (fs_macro_value_string(out, v, ev->err) < 0)
            return fs_error_prefix(ev->err, "%s%s: ", e->op == E_PARAM ? "params." : "rawparams",
                                   e->op == E_PARAM ? e->text : "");
        return 0;
    }
    if (!ev->lookup)
        return fs_error_set(ev->err, "printer.%s: no printer objects to look up", e->text);
    value_undefined(out, "", "");
    if (ev->lookup(ev->arg, e->text, out, ev->err) < 0)
        return -1;
    if (out->kind == FS_MACRO_UNDEFINED)
        value_undefined(out, "printer.", e->text);
    return 0;
}

static int eval(struct evaluator *ev, int node, struct fs_macro_value *out)
{
    const struct expr *e = &ev->m->exprs[node];
    switch (e->op) {
    case E_NUMBER:
        if (e->is_int)
            fs_macro_value_int(out, 0);
        else
            fs_macro_value_float(out, 0);
        out->number = e->number;
        return 0;
    case E_STRING:
        return fs_macro_value_string(out, e->text, ev->err);
    case E_BOOL:
        fs_macro_value_bool(out, e->number != 0);
        return 0;
    case E_PARAM:
    case E_RAWPARAMS:
    case E_PRINTER:
        return eval_name(ev, e, out);
    case E_NEG: {
        double x;
        int xi;
        if (eval(ev, e->a, out) < 0 || need_number(ev, out, &x, &xi) < 0)
            return -1;
        if (xi)
            fs_macro_value_int(out, 0);
        else
            fs_macro_value_float(out, 0);
        out->number = -x;
        return 0;
    }
    case E_NOT:
        if (eval(ev, e->a, out) < 0)
            return -1;
        fs_macro_value_bool(out, !truthy(out));
        return 0;
    case E_AND:
    case E_OR:
        /* Python's semantics: the operand that decided, not a bool. */
        if (eval(ev, e->a, out) < 0)
            return -1;
        if (truthy(out) == (e->op == E_OR))
            return 0;
        return eval(ev, e->b, out);
    case E_ADD:
    case E_SUB:
    case E_MUL:
    case E_DIV:
        return eval_arith(ev, e, out);
    case E_LT:
    case E_LE:
    case E_GT:
    case E_GE:
    case E_EQ:
    case E_NE:
        return eval_compare(ev, e, out);
    case E_TO_FLOAT:
    case E_TO_INT:
    case E_DEFAULT:
    case E_ROUND:
        return eval_filter(ev, e, out);
    }
    return fs_error_set(ev->err, "internal error: unknown expression node");
}

/* Text of a value as Jinja2 prints it: 210, 210.0, 0.1, True. */
static int format_value(struct evaluator *ev, const struct fs_macro_value *v, char *buf,
                        size_t size)
{
    switch (v->kind) {
    case FS_MACRO_UNDEFINED:
        return fs_error_set(ev->err, "%s is undefined", v->str);
    case FS_MACRO_STRING:
        snprintf(buf, size, "%s", v->str);
        return 0;
    case FS_MACRO_BOOL:
        snprintf(buf, size, "%s", v->number ? "True" : "False");
        return 0;
    default:
        break;
    }
    double x = v->number;
    if (!isfinite(x))
        return fs_error_set(ev->err, "result is not a finite number");
    if (x == 0)
        x = 0; /* no "-0" */
    if (v->kind == FS_MACRO_INT) {
        snprintf(buf, size, "%.0f", x);
        return 0;
    }
    if (x == trunc(x) && fabs(x) < 1e16) {
        snprintf(buf, size, "%.1f", x);
        return 0;
    }
    /* The shortest text that reads back as the same double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return 0;
}

static int append(struct evaluator *ev, char *out, size_t size, size_t *used, const char *text,
                  size_t len)
{
    if (*used + len + 1 > size)
        return fs_error_set(ev->err, "macro %s: rendered script longer than %zu bytes",
                            ev->m->name, size - 1);
    memcpy(out + *used, text, len);
    *used += len;
    out[*used] = '\0';
    return 0;
}

static int eval_error(struct evaluator *ev, const struct instr *in)
{
    char msg[FS_ERROR_MSG_MAX / 2];
    copy_message(msg, sizeof(msg), ev->err);
    return fs_error_set(ev->err, "macro %s, line %d: %s, in '%.*s'", ev->m->name, in->line, msg,
                        (int)in->len, ev->m->body + in->start);
}

int fs_macro_render(const struct fs_macro *m, const struct fs_gcode_command *params,
                    fs_macro_lookup_fn lookup, void *arg, char *out, size_t out_size,
                    struct fs_error *err)
{
    struct evaluator ev = {m, params, lookup, arg, err};
    size_t used = 0;
    if (out_size == 0)
        return fs_error_set(err, "macro %s: no room for the rendered script", m->name);
    out[0] = '\0';
    struct fs_macro_value v;
    char text[FS_MACRO_STR_MAX + 32];
    for (int pc = 0; pc < m->code_count;) {
        const struct instr *in = &m->code[pc];
        switch (in->op) {
        case I_TEXT:
            if (append(&ev, out, out_size, &used, m->body + in->start, in->len) < 0)
                return -1;
            pc++;
            break;
        case I_EMIT:
            if (eval(&ev, in->expr, &v) < 0 || format_value(&ev, &v, text, sizeof(text)) < 0)
                return eval_error(&ev, in);
            if (append(&ev, out, out_size, &used, text, strlen(text)) < 0)
                return -1;
            pc++;
            break;
        case I_JUMP_UNLESS:
            if (eval(&ev, in->expr, &v) < 0)
                return eval_error(&ev, in);
            pc = truthy(&v) ? pc + 1 : in->target;
            break;
        case I_JUMP:
            pc = in->target;
            break;
        }
    }
    return 0;
}

/* ---- the command ---- */

static int run_macro(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                     struct fs_error *err)
{
    struct fs_macro *m = arg;
    if (m->depth >= FS_MACRO_DEPTH_MAX)
        return fs_error_set(err, "macro %s runs inside itself more than %d deep", m->name,
                            FS_MACRO_DEPTH_MAX);
    /* On the heap: nested macros would otherwise stack a script each. */
    char *script = malloc(FS_MACRO_SCRIPT_MAX);
    if (!script)
        return fs_error_set(err, "macro %s: out of memory", m->name);
    int r = fs_macro_render(m, cmd, m->lookup, m->lookup_arg, script, FS_MACRO_SCRIPT_MAX, err);
    if (r == 0) {
        char source[FS_GCODE_NAME_MAX + 8];
        snprintf(source, sizeof(source), "macro %s", m->name);
        m->depth++;
        r = fs_gcode_run_script(g, script, source, err);
        m->depth--;
    }
    free(script);
    return r;
}

int fs_macro_register(struct fs_gcode *g, struct fs_macro *m, fs_macro_lookup_fn lookup,
                      void *arg, struct fs_error *err)
{
    m->lookup = lookup;
    m->lookup_arg = arg;
    return fs_gcode_register(g, m->name, run_macro, m, m->description, err);
}
