/* Typed getters for printer.cfg options: numbers with bounds, booleans,
 * strings, choices, number lists and pins. Each one marks the option used
 * (and its section known) so that fs_config_check_unused() can report typos,
 * and each error says where, which option, what was expected and what was
 * found: "printer.cfg:14: [stepper_x] rotation_distance: expected a number
 * above 0, got '-40'". */
#include "config.h"
#include "config_internal.h"

#include <ctype.h>   /* isdigit, isalnum, isspace */
#include <errno.h>   /* errno, ERANGE */
#include <limits.h>  /* INT_MIN, INT_MAX */
#include <math.h>    /* isfinite, isnan, INFINITY */
#include <stdio.h>   /* snprintf */
#include <stdlib.h>  /* strtod, strtol */
#include <string.h>  /* strlen, memcpy, strchr, memset */
#include <strings.h> /* strcasecmp */

#include "core/error.h" /* fs_error_set */

/* Values are quoted in messages; a G-code macro need not be quoted whole. */
#define QUOTE_MAX 80

/* The option's value, or NULL when absent. Reading marks it used and the
 * section known: a module that reads a section found by fs_config_section_at
 * knows that section. */
static const char *lookup(struct fs_config_section *s, const char *option)
{
    s->known = 1;
    struct fs_config_option *o = fs_config_find_option(s, option);
    if (!o)
        return NULL;
    o->used = 1;
    return o->value;
}

static int missing(const struct fs_config_section *s, const char *option, struct fs_error *err)
{
    return fs_error_set(err, "%s: [%s] missing required option '%s'", s->where, s->name,
                        option);
}

static int bad_value(const struct fs_config_section *s, const char *option,
                     struct fs_error *err, const char *expected, const char *value)
{
    size_t n = strlen(value);
    if (n > QUOTE_MAX)
        return fs_config_error(s, option, err, "expected %s, got '%.*s...'", expected,
                               QUOTE_MAX - 3, value);
    return fs_config_error(s, option, err, "expected %s, got '%s'", expected, value);
}

/* ---- numbers ---- */

/* A finite decimal number and nothing else: strtod alone would also take
 * "inf", "nan" and hexadecimal, none of which a person means in a config. */
static int parse_double(const char *v, double *out)
{
    if (!*v)
        return -1;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p))
            return -1;
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

struct range {
    double lo, hi;
    int lo_strict, hi_strict;
};

static int in_range(double v, const struct range *r)
{
    if (r->lo_strict ? !(v > r->lo) : !(v >= r->lo))
        return 0;
    if (r->hi_strict ? !(v < r->hi) : !(v <= r->hi))
        return 0;
    return 1;
}

static void describe_range(const struct range *r, char *buf, size_t cap)
{
    int has_lo = isfinite(r->lo), has_hi = isfinite(r->hi);
    if (has_lo && has_hi && !r->lo_strict && !r->hi_strict)
        snprintf(buf, cap, "a number between %g and %g", r->lo, r->hi);
    else if (has_lo && has_hi)
        snprintf(buf, cap, "a number %s %g and %s %g", r->lo_strict ? "above" : "at least",
                 r->lo, r->hi_strict ? "below" : "at most", r->hi);
    else if (has_lo)
        snprintf(buf, cap, "a number %s %g", r->lo_strict ? "above" : "at least", r->lo);
    else if (has_hi)
        snprintf(buf, cap, "a number %s %g", r->hi_strict ? "below" : "at most", r->hi);
    else
        snprintf(buf, cap, "a number");
}

static int get_float_in(struct fs_config_section *s, const char *option, double dflt,
                        const struct range *r, double *out, struct fs_error *err)
{
    const char *v = lookup(s, option);
    if (!v) {
        if (isnan(dflt))
            return missing(s, option, err);
        *out = dflt;
        return 0;
    }
    double d;
    if (parse_double(v, &d) < 0 || !in_range(d, r)) {
        char expected[128];
        describe_range(r, expected, sizeof(expected));
        return bad_value(s, option, err, expected, v);
    }
    *out = d;
    return 0;
}

int fs_config_get_float(struct fs_config_section *s, const char *option, double dflt,
                        double minval, double maxval, double *out, struct fs_error *err)
{
    struct range r = {minval, maxval, 0, 0};
    return get_float_in(s, option, dflt, &r, out, err);
}

int fs_config_get_float_above(struct fs_config_section *s, const char *option, double dflt,
                              double above, double *out, struct fs_error *err)
{
    struct range r = {above, INFINITY, 1, 0};
    return get_float_in(s, option, dflt, &r, out, err);
}

int fs_config_get_float_below(struct fs_config_section *s, const char *option, double dflt,
                              double below, double *out, struct fs_error *err)
{
    struct range r = {-INFINITY, below, 0, 1};
    return get_float_in(s, option, dflt, &r, out, err);
}

static void describe_int_range(int lo, int hi, char *buf, size_t cap)
{
    if (lo != INT_MIN && hi != INT_MAX)
        snprintf(buf, cap, "an integer between %d and %d", lo, hi);
    else if (lo != INT_MIN)
        snprintf(buf, cap, "an integer at least %d", lo);
    else if (hi != INT_MAX)
        snprintf(buf, cap, "an integer at most %d", hi);
    else
        snprintf(buf, cap, "an integer");
}

int fs_config_get_int(struct fs_config_section *s, const char *option, int dflt, int minval,
                      int maxval, int *out, struct fs_error *err)
{
    const char *v = lookup(s, option);
    if (!v) {
        if (dflt == FS_CFG_REQUIRED)
            return missing(s, option, err);
        *out = dflt;
        return 0;
    }
    const char *digits = v + (*v == '+' || *v == '-');
    int ok = *digits != '\0';
    for (const char *p = digits; *p; p++)
        ok = ok && isdigit((unsigned char)*p);
    long l = 0;
    if (ok) {
        errno = 0;
        l = strtol(v, NULL, 10);
        ok = errno != ERANGE && l >= minval && l <= maxval;
    }
    if (!ok) {
        char expected[96];
        describe_int_range(minval, maxval, expected, sizeof(expected));
        return bad_value(s, option, err, expected, v);
    }
    *out = (int)l;
    return 0;
}

/* ---- words ---- */

int fs_config_get_bool(struct fs_config_section *s, const char *option, int dflt, int *out,
                       struct fs_error *err)
{
    static const char *const yes[] = {"true", "yes", "1"};
    static const char *const no[] = {"false", "no", "0"};
    const char *v = lookup(s, option);
    if (!v) {
        if (dflt == -1)
            return missing(s, option, err);
        *out = dflt != 0;
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return bad_value(s, option, err, "true/false, yes/no or 1/0", v);
}

int fs_config_get_str(struct fs_config_section *s, const char *option, const char *dflt,
                      const char **out, struct fs_error *err)
{
    const char *v = lookup(s, option);
    if (!v) {
        if (!dflt)
            return missing(s, option, err);
        v = dflt;
    }
    *out = v;
    return 0;
}

/* The folder of the file an option is written in ("." when it has none). */
static void option_folder(const struct fs_config_section *s, const char *option, char *out,
                          size_t size)
{
    snprintf(out, size, ".");
    for (int i = 0; i < fs_config_option_count(s); i++) {
        if (strcmp(fs_config_option_name(s, i), option))
            continue;
        const char *where = fs_config_option_where(s, i);
        const char *colon = strrchr(where, ':');
        const char *slash = NULL;
        for (const char *p = where; colon && p < colon; p++)
            if (*p == '/')
                slash = p;
        if (slash)
            snprintf(out, size, "%.*s", (int)(slash - where), where);
        return;
    }
}

int fs_config_get_path(struct fs_config_section *s, const char *option, const char *dflt,
                       char *out, size_t cap, struct fs_error *err)
{
    const char *v = NULL;
    if (fs_config_get_str(s, option, dflt, &v, err) < 0)
        return -1;
    const char *home = getenv("HOME");
    int n;
    if (v[0] == '~' && (v[1] == '/' || v[1] == '\0') && home) {
        n = snprintf(out, cap, "%s%s", home, v + 1);
    } else if (v[0] && v[0] != '/' && v[0] != '~') {
        char folder[1024];
        option_folder(s, option, folder, sizeof(folder));
        n = snprintf(out, cap, "%s/%s", folder, v);
    } else {
        n = snprintf(out, cap, "%s", v);
    }
    if (n < 0 || (size_t)n >= cap)
        return fs_config_error(s, option, err, "longer than %zu characters", cap - 1);
    return 0;
}

static int find_choice(const char *const *choices, const char *v)
{
    for (int i = 0; choices[i]; i++)
        if (strcasecmp(choices[i], v) == 0)
            return i;
    return -1;
}

int fs_config_get_choice(struct fs_config_section *s, const char *option,
                         const char *const *choices, const char *dflt, int *out,
                         struct fs_error *err)
{
    const char *v = lookup(s, option);
    if (!v) {
        if (!dflt)
            return missing(s, option, err);
        v = dflt;
    }
    int i = find_choice(choices, v);
    if (i >= 0) {
        *out = i;
        return 0;
    }
    char expected[FS_ERROR_MSG_MAX / 2];
    size_t len = (size_t)snprintf(expected, sizeof(expected), "one of");
    for (int j = 0; choices[j] && len < sizeof(expected); j++)
        len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s '%s'",
                                j ? "," : "", choices[j]);
    return bad_value(s, option, err, expected, v);
}

/* ---- lists ---- */

int fs_config_get_float_list(struct fs_config_section *s, const char *option,
                             double *out, int cap, int *count, struct fs_error *err)
{
    *count = 0;
    const char *v = lookup(s, option);
    if (!v)
        return missing(s, option, err);
    if (!*v)
        return 0;
    int n = 0;
    for (const char *p = v;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        char item[64];
        double d;
        if (len == 0 || len >= sizeof(item))
            return bad_value(s, option, err, "a comma-separated list of numbers", v);
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_double(item, &d) < 0)
            return bad_value(s, option, err, "a comma-separated list of numbers", v);
        if (n < cap)
            out[n] = d;
        if (!comma)
            break;
        p = comma + 1;
    }
    n++;
    if (n > cap) {
        char expected[64];
        snprintf(expected, sizeof(expected), "at most %d numbers", cap);
        return bad_value(s, option, err, expected, v);
    }
    *count = n;
    return 0;
}

/* ---- pins ---- */

static int pin_char_ok(char c)
{
    return isalnum((unsigned char)c) || strchr("_.-/", c);
}

/* Copies p[0..n) trimmed into out; -1 if empty, too long or not a name. */
static int copy_name(const char *p, size_t n, char *out, size_t cap)
{
    while (n > 0 && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n == 0 || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!pin_char_ok(p[i]))
            return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static const char pin_expected[] = "a pin such as 'PA1', '^!PA1' or 'toolboard:PA1'";

int fs_config_get_pin(struct fs_config_section *s, const char *option, int required,
                      int can_invert, int can_pull, struct fs_pin_desc *out,
                      struct fs_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *v = lookup(s, option);
    if (!v) {
        if (required)
            return missing(s, option, err);
        snprintf(out->mcu, sizeof(out->mcu), "mcu");
        return 0;
    }
    const char *p = v;
    int seen_invert = 0, seen_pull = 0;
    for (;; p++) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '!') {
            if (!can_invert)
                return bad_value(s, option, err, "a pin without '!' (it cannot be inverted)",
                                 v);
            if (seen_invert++)
                return bad_value(s, option, err, pin_expected, v);
            out->invert = 1;
        } else if (*p == '^' || *p == '~') {
            if (!can_pull)
                return bad_value(s, option, err,
                                 "a pin without '^' or '~' (it has no pull-up or pull-down)",
                                 v);
            if (seen_pull++)
                return bad_value(s, option, err, pin_expected, v);
            out->pull_up = *p == '^' ? 1 : -1;
        } else {
            break;
        }
    }
    const char *colon = strchr(p, ':');
    int bad;
    if (colon)
        bad = copy_name(p, (size_t)(colon - p), out->mcu, sizeof(out->mcu)) < 0 ||
              copy_name(colon + 1, strlen(colon + 1), out->pin, sizeof(out->pin)) < 0;
    else
        bad = copy_name(p, strlen(p), out->pin, sizeof(out->pin)) < 0 ||
              snprintf(out->mcu, sizeof(out->mcu), "mcu") < 0;
    if (bad) {
        memset(out, 0, sizeof(*out));
        return bad_value(s, option, err, pin_expected, v);
    }
    return 0;
}
