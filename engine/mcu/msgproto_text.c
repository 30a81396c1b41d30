/* The text form of MCU messages, "name key=value ...": encoding it as a
 * configuration line is written (enumeration names, decimal or hex numbers,
 * hex bytes) and formatting decoded messages the same way for logs. */
#include "msgproto.h"

#include <stdarg.h> /* va_list for text output */
#include <stdio.h>  /* snprintf, vsnprintf */
#include <string.h> /* strspn, strcspn, memchr, memcpy */

#include "core/error.h"        /* fs_error_set, FS_ERROR_MSG_MAX */
#include "msgproto_internal.h" /* MSGPROTO_BUFFER_MAX, msgproto_param_index_n */

/* Hex buffers of one encode_text line, all parameters together. */
#define MSGPROTO_TEXT_POOL 1024
#define MSGPROTO_TEXT_VALUE_MAX 128

/* ---- encoding text ---- */

/* Decimal or 0x hex, optionally negative. -1 when not a number, -2 when
 * larger than any parameter type could hold. */
static int parse_integer(const char *s, size_t len, int64_t *out)
{
    const char *end = s + len;
    int negative = s < end && *s == '-';
    s += negative;
    int base = 10;
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (s == end)
        return -1;
    int64_t v = 0;
    for (; s < end; s++) {
        int digit;
        if (*s >= '0' && *s <= '9')
            digit = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            digit = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            digit = *s - 'A' + 10;
        else
            return -1;
        if (v > (INT64_C(1) << 40))
            return -2;
        v = v * base + digit;
    }
    *out = negative ? -v : v;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

struct text_pool {
    uint8_t bytes[MSGPROTO_TEXT_POOL];
    size_t used;
};

static int text_buffer_value(const struct fs_msgformat *f, const struct fs_msg_param *p,
                             const char *val, size_t vlen, struct text_pool *pool,
                             int64_t *value, const uint8_t **data, struct fs_error *err)
{
    if (vlen % 2)
        return fs_error_set(err, "'%s': %s=%.*s is not hex bytes (odd length)", f->name,
                            p->name, (int)vlen, val);
    size_t n = vlen / 2;
    if (n > MSGPROTO_BUFFER_MAX || n > sizeof(pool->bytes) - pool->used)
        return fs_error_set(err, "'%s': %s is %zu bytes long, more than fits", f->name,
                            p->name, n);
    uint8_t *dst = pool->bytes + pool->used;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(val[2 * i]), lo = hex_digit(val[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fs_error_set(err, "'%s': %s=%.*s is not hex bytes", f->name, p->name,
                                (int)vlen, val);
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    pool->used += n;
    *value = (int64_t)n;
    *data = dst;
    return 0;
}

static int text_int_value(const struct fs_msgproto *mp, const struct fs_msgformat *f,
                          const struct fs_msg_param *p, const char *val, size_t vlen,
                          int64_t *value, struct fs_error *err)
{
    if (p->enumeration[0] && vlen < MSGPROTO_TEXT_VALUE_MAX) {
        char name[MSGPROTO_TEXT_VALUE_MAX];
        memcpy(name, val, vlen);
        name[vlen] = '\0';
        int32_t v;
        if (fs_msgproto_enum_value(mp, p->enumeration, name, &v) == 0) {
            *value = v;
            return 0;
        }
    }
    int rc = parse_integer(val, vlen, value);
    if (rc == -2)
        return fs_error_set(err, "'%s': %s=%.*s is out of range for %s", f->name, p->name,
                            (int)vlen, val, msgproto_param_type_text(p->type));
    if (rc && p->enumeration[0])
        return fs_error_set(err, "'%s': %s=%.*s is not a '%s' name the MCU knows", f->name,
                            p->name, (int)vlen, val, p->enumeration);
    if (rc)
        return fs_error_set(err, "'%s': %s=%.*s is not a number", f->name, p->name, (int)vlen,
                            val);
    return 0;
}

static int text_missing(const struct fs_msgformat *f, const int *given, struct fs_error *err)
{
    char list[FS_ERROR_MSG_MAX / 2];
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < f->param_count; i++) {
        if (given[i] || len >= sizeof(list))
            continue;
        int n = snprintf(list + len, sizeof(list) - len, "%s'%s'", len ? ", " : "",
                         f->params[i].name);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len == 0)
        return 0;
    return fs_error_set(err, "'%s': missing parameter %s", f->name, list);
}

static const char TEXT_SPACE[] = " \t\r\n";

int fs_msgproto_encode_text(const struct fs_msgproto *p, const char *text, uint8_t *out,
                            size_t cap, struct fs_error *err)
{
    const char *s = text + strspn(text, TEXT_SPACE);
    size_t n = strcspn(s, TEXT_SPACE);
    if (n == 0)
        return fs_error_set(err, "empty message text");
    char name[FS_MSG_NAME_MAX];
    if (n >= sizeof(name))
        return fs_error_set(err, "unknown message '%.*s'", (int)n, s);
    memcpy(name, s, n);
    name[n] = '\0';
    const struct fs_msgformat *f = fs_msgproto_lookup_name(p, name);
    if (!f)
        return fs_error_set(err, "unknown message '%s'", name);
    int64_t values[FS_MSG_MAX_PARAMS] = {0};
    const uint8_t *data[FS_MSG_MAX_PARAMS] = {0};
    int given[FS_MSG_MAX_PARAMS] = {0};
    struct text_pool pool;
    pool.used = 0;
    for (s += n;; s += n) {
        s += strspn(s, TEXT_SPACE);
        if (!*s)
            break;
        n = strcspn(s, TEXT_SPACE);
        const char *eq = memchr(s, '=', n);
        if (!eq)
            return fs_error_set(err, "'%s': '%.*s' is not key=value", f->name, (int)n, s);
        size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
        int i = msgproto_param_index_n(f, s, klen);
        if (i < 0)
            return fs_error_set(err, "'%s' has no parameter '%.*s'", f->name, (int)klen, s);
        const struct fs_msg_param *prm = &f->params[i];
        if (given[i])
            return fs_error_set(err, "'%s': parameter '%s' given twice", f->name, prm->name);
        given[i] = 1;
        int rc = (prm->type == FS_PARAM_STRING || prm->type == FS_PARAM_BUFFER)
                     ? text_buffer_value(f, prm, eq + 1, vlen, &pool, &values[i], &data[i],
                                         err)
                     : text_int_value(p, f, prm, eq + 1, vlen, &values[i], err);
        if (rc)
            return -1;
    }
    if (text_missing(f, given, err))
        return -1;
    return fs_msgformat_encode(f, out, cap, values, data, err);
}

/* ---- formatting for logs ---- */

struct text_out {
    char *buf;
    size_t cap;
    size_t len; /* as if cap were unlimited */
};

static void text_put(struct text_out *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_put(struct text_out *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = t->len < t->cap ? vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap)
                            : vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    t->len += n > 0 ? (size_t)n : 0;
}

/* Returns the length of the whole text, as snprintf does: a result >= cap
 * means the text was cut (and is still terminated). */
size_t fs_msg_format_text(const struct fs_msg *m, char *out, size_t cap)
{
    struct text_out t = {out, cap, 0};
    const struct fs_msgformat *f = m->format;
    if (cap)
        out[0] = '\0';
    text_put(&t, "%s", f->name);
    for (int i = 0; i < f->param_count; i++) {
        const struct fs_msg_param *p = &f->params[i];
        text_put(&t, " %s=", p->name);
        if (p->type == FS_PARAM_STRING || p->type == FS_PARAM_BUFFER) {
            for (int64_t j = 0; j < m->values[i]; j++)
                text_put(&t, "%02x", m->data[i][j]);
        } else {
            text_put(&t, "%lld", (long long)m->values[i]);
        }
    }
    return t.len;
}
