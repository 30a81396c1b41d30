/* The data dictionary's enumerations (with ranges: "PA0": [0, 16] is
 * PA0..PA15) and constants: reading them while a dictionary loads, binding
 * message parameters to their enumeration, and the lookups by name and
 * value. */
#include "msgproto.h"

#include <cjson/cJSON.h> /* cJSON_ArrayForEach, cJSON_IsNumber and friends */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* calloc, strtol, strtod */
#include <string.h>      /* strcmp, strncmp, strlen, strndup, strdup */

#include "core/error.h"        /* fs_error_set */
#include "msgproto_internal.h" /* struct msgproto_dict, msgproto_json_int32 */

/* ---- reading from the dictionary ---- */

/* "PA12" -> prefix length 2, number 12; -1 without a trailing number. */
static int split_trailing_number(const char *name, size_t *prefix_len, int64_t *number,
                                 int *digits)
{
    size_t len = strlen(name), i = len;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    size_t ndigits = len - i;
    if (ndigits == 0 || ndigits > 9)
        return -1;
    *prefix_len = i;
    *number = strtol(name + i, NULL, 10);
    *digits = (ndigits > 1 && name[i] == '0') ? (int)ndigits : 0;
    return 0;
}

static int enum_entry_parse(struct msgproto_enum_entry *e, const char *enum_name,
                            const cJSON *item, struct fs_error *err)
{
    if (cJSON_IsNumber(item)) {
        if (msgproto_json_int32(item, &e->value))
            return fs_error_set(err, "enumeration '%s': '%s' is not an integer", enum_name,
                                item->string);
        e->name = msgproto_dup_string(item->string, err);
        return e->name ? 0 : -1;
    }
    int32_t count;
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 ||
        msgproto_json_int32(cJSON_GetArrayItem(item, 0), &e->value) ||
        msgproto_json_int32(cJSON_GetArrayItem(item, 1), &count) || count < 1 ||
        (int64_t)e->value + count - 1 > INT32_MAX)
        return fs_error_set(err,
                            "enumeration '%s': '%s' is neither a value nor [first, count]",
                            enum_name, item->string);
    size_t prefix_len;
    if (split_trailing_number(item->string, &prefix_len, &e->first_number, &e->digits))
        return fs_error_set(err, "enumeration '%s': range '%s' does not end in a number",
                            enum_name, item->string);
    e->count = count;
    e->name = strndup(item->string, prefix_len);
    if (!e->name)
        return fs_error_set(err, "out of memory");
    return 0;
}

static int dict_load_enum(struct msgproto_enum *e, const cJSON *obj, struct fs_error *err)
{
    if (strlen(obj->string) >= FS_MSG_NAME_MAX)
        return fs_error_set(err, "enumeration name '%s' is longer than %d characters",
                            obj->string, FS_MSG_NAME_MAX - 1);
    e->name = msgproto_dup_string(obj->string, err);
    if (!e->name)
        return -1;
    if (!cJSON_IsObject(obj))
        return fs_error_set(err, "enumeration '%s' is not an object", obj->string);
    int n = cJSON_GetArraySize(obj);
    e->entries = calloc((size_t)n + 1, sizeof(*e->entries));
    if (!e->entries)
        return fs_error_set(err, "out of memory");
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        int rc = enum_entry_parse(&e->entries[e->count], e->name, item, err);
        e->count++;
        if (rc)
            return -1;
    }
    return 0;
}

int msgproto_dict_load_enums(struct msgproto_dict *d, const cJSON *root,
                             struct fs_error *err)
{
    int bad;
    const cJSON *enums = msgproto_json_object_or_null(root, "enumerations", err, &bad);
    if (bad)
        return -1;
    int n = cJSON_GetArraySize(enums);
    d->enums = calloc((size_t)n + 1, sizeof(*d->enums));
    if (!d->enums)
        return fs_error_set(err, "out of memory");
    const cJSON *obj;
    cJSON_ArrayForEach(obj, enums)
    {
        int rc = dict_load_enum(&d->enums[d->enum_count], obj, err);
        d->enum_count++;
        if (rc)
            return -1;
    }
    return 0;
}

/* A parameter uses the enumeration named like it or like its last
 * "_"-separated part (step_pin -> pin); the longest match wins so that
 * static_string_id prefers "static_string_id" over a shorter "id". */
void msgproto_dict_bind_enums(struct msgproto_dict *d)
{
    for (int i = 0; i < d->format_count; i++) {
        struct fs_msgformat *f = &d->formats[i];
        for (int j = 0; j < f->param_count; j++) {
            struct fs_msg_param *p = &f->params[j];
            size_t plen = strlen(p->name), best = 0;
            for (int k = 0; k < d->enum_count; k++) {
                const char *en = d->enums[k].name;
                size_t elen = strlen(en);
                int match = strcmp(p->name, en) == 0 ||
                            (plen > elen && p->name[plen - elen - 1] == '_' &&
                             strcmp(p->name + plen - elen, en) == 0);
                if (match && elen > best) {
                    best = elen;
                    memcpy(p->enumeration, en, elen + 1);
                }
            }
        }
    }
}

static char *number_text(double v)
{
    char buf[40];
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
        snprintf(buf, sizeof(buf), "%lld", (long long)v);
    else
        snprintf(buf, sizeof(buf), "%.17g", v);
    return strdup(buf);
}

static int constant_parse(struct msgproto_constant *c, const cJSON *item, struct fs_error *err)
{
    c->name = msgproto_dup_string(item->string, err);
    if (!c->name)
        return -1;
    if (cJSON_IsNumber(item)) {
        c->is_number = 1;
        c->number = item->valuedouble;
        c->text = number_text(c->number);
    } else if (cJSON_IsBool(item)) {
        c->is_number = 1;
        c->number = cJSON_IsTrue(item) ? 1 : 0;
        c->text = strdup(cJSON_IsTrue(item) ? "true" : "false");
    } else if (cJSON_IsString(item)) {
        c->text = strdup(item->valuestring);
        if (c->text && c->text[0]) {
            char *end;
            c->number = strtod(c->text, &end);
            c->is_number = *end == '\0';
        }
    } else {
        return fs_error_set(err, "constant '%s' is neither a number nor a string", c->name);
    }
    if (!c->text)
        return fs_error_set(err, "out of memory");
    return 0;
}

int msgproto_dict_load_constants(struct msgproto_dict *d, const cJSON *root,
                                 struct fs_error *err)
{
    int bad;
    const cJSON *config = msgproto_json_object_or_null(root, "config", err, &bad);
    if (bad)
        return -1;
    int n = cJSON_GetArraySize(config);
    d->constants = calloc((size_t)n + 1, sizeof(*d->constants));
    if (!d->constants)
        return fs_error_set(err, "out of memory");
    const cJSON *item;
    cJSON_ArrayForEach(item, config)
    {
        int rc = constant_parse(&d->constants[d->constant_count], item, err);
        d->constant_count++;
        if (rc)
            return -1;
    }
    return 0;
}

/* ---- constants ---- */

static const struct msgproto_constant *find_constant(const struct fs_msgproto *p,
                                                     const char *name)
{
    const struct msgproto_dict *d = p->dict;
    for (int i = 0; i < d->constant_count; i++) {
        if (strcmp(d->constants[i].name, name) == 0)
            return &d->constants[i];
    }
    return NULL;
}

int fs_msgproto_constant(const struct fs_msgproto *p, const char *name, double *value)
{
    const struct msgproto_constant *c = find_constant(p, name);
    if (!c || !c->is_number)
        return -1;
    *value = c->number;
    return 0;
}

const char *fs_msgproto_constant_str(const struct fs_msgproto *p, const char *name)
{
    const struct msgproto_constant *c = find_constant(p, name);
    return c ? c->text : NULL;
}

/* ---- enumerations ---- */

static const struct msgproto_enum *find_enum(const struct fs_msgproto *p, const char *name)
{
    const struct msgproto_dict *d = p->dict;
    for (int i = 0; i < d->enum_count; i++) {
        if (strcmp(d->enums[i].name, name) == 0)
            return &d->enums[i];
    }
    return NULL;
}

/* Whether name is one of the range's expanded names, and which. */
static int range_match(const struct msgproto_enum_entry *e, const char *name, int32_t *value)
{
    size_t plen = strlen(e->name);
    if (strncmp(name, e->name, plen) != 0)
        return 0;
    const char *num = name + plen;
    size_t ndigits = strspn(num, "0123456789");
    if (ndigits == 0 || ndigits > 9 || num[ndigits] != '\0')
        return 0;
    /* Only the spelling the expansion produces: PA3 but not PA03. */
    if (e->digits ? (int)ndigits != e->digits : (ndigits > 1 && num[0] == '0'))
        return 0;
    int64_t n = strtol(num, NULL, 10);
    if (n < e->first_number || n >= e->first_number + e->count)
        return 0;
    *value = (int32_t)(e->value + (n - e->first_number));
    return 1;
}

int fs_msgproto_enum_value(const struct fs_msgproto *p, const char *enumeration,
                           const char *name, int32_t *value)
{
    const struct msgproto_enum *en = find_enum(p, enumeration);
    if (!en)
        return -1;
    for (int i = 0; i < en->count; i++) {
        const struct msgproto_enum_entry *e = &en->entries[i];
        if (e->count == 0 && strcmp(e->name, name) == 0) {
            *value = e->value;
            return 0;
        }
        if (e->count > 0 && range_match(e, name, value))
            return 0;
    }
    return -1;
}

/* NULL also when the name does not fit in cap: a cut name would be a
 * different name. */
const char *fs_msgproto_enum_name(const struct fs_msgproto *p, const char *enumeration,
                                  int32_t value, char *buf, size_t cap)
{
    const struct msgproto_enum *en = find_enum(p, enumeration);
    if (!en)
        return NULL;
    for (int i = 0; i < en->count; i++) {
        const struct msgproto_enum_entry *e = &en->entries[i];
        int n;
        if (e->count == 0 && e->value == value)
            n = snprintf(buf, cap, "%s", e->name);
        else if (e->count > 0 && value >= e->value && (int64_t)value < (int64_t)e->value + e->count)
            n = snprintf(buf, cap, "%s%0*lld", e->name, e->digits,
                         (long long)(e->first_number + (value - e->value)));
        else
            continue;
        return n >= 0 && (size_t)n < cap ? buf : NULL;
    }
    return NULL;
}
