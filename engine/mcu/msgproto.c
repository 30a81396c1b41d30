/* Messages of the MCU protocol as the firmware's data dictionary defines
 * them: inflating and parsing the dictionary, finding a message by format,
 * id or name, encoding and decoding messages, and the dictionary's
 * enumerations and constants.
 *
 * Design: everything a dictionary needs is allocated while it loads, into
 * one struct msgproto_dict; encoding, decoding and id lookups then only read
 * it (no allocation on the hot paths). A new dictionary is built completely
 * before it replaces the old one, so a failed load leaves the previous one
 * in place. Firmware gives its ids in the one-byte VLQ range -32..95 (ids
 * 96..127 are written as -32..-1), so id lookups normally index a 128-slot
 * table with id & 0x7f; a dictionary with ids outside that range gets an
 * open-addressing hash instead. Lookups by format or name happen while
 * objects are configured and are linear scans. */
#include "msgproto.h"

#include <cjson/cJSON.h> /* cJSON_ParseWithLengthOpts and friends */
#include <stdarg.h>      /* va_list for text output */
#include <stdio.h>       /* snprintf, vsnprintf */
#include <stdlib.h>      /* malloc, calloc, free, strtod */
#include <string.h>      /* strcmp, strlen, memcpy, strdup */
#include <zlib.h>        /* inflate */

#include "core/error.h" /* fs_error_set, fs_error_prefix */
#include "vlq.h"        /* fs_vlq_encode, fs_vlq_decode */

/* Real dictionaries are 10..40 KiB inflated; anything past this is not a
 * dictionary (or a zip bomb). */
#define MSGPROTO_INFLATED_MAX (1u << 20)
/* zlib never expands incompressible data by more than a few bytes per
 * 16 KiB block, so compressed input above this cannot inflate to <= 1 MiB
 * of a real dictionary. */
#define MSGPROTO_COMPRESSED_MAX (2u << 20)
#define MSGPROTO_FORMAT_MAX 1024
/* Strings and buffers carry a one-byte length. */
#define MSGPROTO_BUFFER_MAX 255
/* Hex buffers of one encode_text line, all parameters together. */
#define MSGPROTO_TEXT_POOL 1024
#define MSGPROTO_TEXT_VALUE_MAX 128
#define MSGPROTO_DIRECT_SLOTS 128
#define MSGPROTO_DIRECT_MIN (-32)
#define MSGPROTO_DIRECT_MAX 95

static const char IDENTIFY_RESPONSE_FORMAT[] = "identify_response offset=%u data=%.*s";
static const char IDENTIFY_FORMAT[] = "identify offset=%u count=%c";
#define IDENTIFY_RESPONSE_ID 0
#define IDENTIFY_ID 1

/* One name of an enumeration: a single name -> value, or a range "PA0":
 * [value, count] standing for PA0..PA(count-1), the trailing number counting
 * up from first_number while the value counts up from value. */
struct msgproto_enum_entry {
    char *name; /* for a range: the name without its trailing number */
    int32_t value;
    int32_t count; /* 0 for a single name */
    int64_t first_number;
    int digits; /* zero-padded width of the number ("P00"), 0 if natural */
};

struct msgproto_enum {
    char *name;
    struct msgproto_enum_entry *entries;
    int count;
};

struct msgproto_constant {
    char *name;
    char *text;
    double number;
    int is_number;
};

struct msgproto_dict {
    struct fs_msgformat *formats;
    int format_count;
    int format_cap;
    int direct; /* ids all in -32..95: by_id is valid, hash is not */
    const struct fs_msgformat *by_id[MSGPROTO_DIRECT_SLOTS];
    const struct fs_msgformat **hash;
    uint32_t hash_mask;
    struct msgproto_enum *enums;
    int enum_count;
    struct msgproto_constant *constants;
    int constant_count;
    char *json;
    char *version;
    char *app;
    char *build_versions;
};

struct fs_msgproto {
    struct msgproto_dict *dict;
};

/* ---- dictionary memory ---- */

static void dict_free(struct msgproto_dict *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->format_count; i++)
        free(d->formats[i].format);
    free(d->formats);
    free(d->hash);
    for (int i = 0; i < d->enum_count; i++) {
        struct msgproto_enum *e = &d->enums[i];
        for (int j = 0; j < e->count; j++)
            free(e->entries[j].name);
        free(e->entries);
        free(e->name);
    }
    free(d->enums);
    for (int i = 0; i < d->constant_count; i++) {
        free(d->constants[i].name);
        free(d->constants[i].text);
    }
    free(d->constants);
    free(d->json);
    free(d->version);
    free(d->app);
    free(d->build_versions);
    free(d);
}

static char *dup_string(const char *s, struct fs_error *err)
{
    char *copy = strdup(s);
    if (!copy)
        fs_error_set(err, "out of memory");
    return copy;
}

/* ---- format strings ---- */

static int parse_param_type(const char *t, size_t len, enum fs_param_type *type)
{
    static const struct {
        const char *text;
        enum fs_param_type type;
    } types[] = {
        {"%u", FS_PARAM_U32},    {"%i", FS_PARAM_I32},   {"%hu", FS_PARAM_U16},
        {"%hi", FS_PARAM_I16},   {"%c", FS_PARAM_BYTE},  {"%s", FS_PARAM_STRING},
        {"%*s", FS_PARAM_BUFFER}, {"%.*s", FS_PARAM_BUFFER},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strlen(types[i].text) == len && memcmp(types[i].text, t, len) == 0) {
            *type = types[i].type;
            return 0;
        }
    }
    return -1;
}

static int param_index_n(const struct fs_msgformat *f, const char *name, size_t len)
{
    for (int i = 0; i < f->param_count; i++) {
        if (strlen(f->params[i].name) == len && memcmp(f->params[i].name, name, len) == 0)
            return i;
    }
    return -1;
}

static int format_parse_param(struct fs_msgformat *f, const char *tok, size_t n,
                              struct fs_error *err)
{
    const char *eq = memchr(tok, '=', n);
    if (!eq)
        return fs_error_set(err, "format '%s': parameter '%.*s' has no '=%%type'", f->format,
                            (int)n, tok);
    size_t klen = (size_t)(eq - tok);
    if (klen == 0 || klen >= FS_MSG_NAME_MAX)
        return fs_error_set(err, "format '%s': parameter name '%.*s' is empty or too long",
                            f->format, (int)klen, tok);
    if (f->param_count == FS_MSG_MAX_PARAMS)
        return fs_error_set(err, "format '%s': more than %d parameters", f->format,
                            FS_MSG_MAX_PARAMS);
    if (param_index_n(f, tok, klen) >= 0)
        return fs_error_set(err, "format '%s': parameter '%.*s' appears twice", f->format,
                            (int)klen, tok);
    struct fs_msg_param *p = &f->params[f->param_count];
    if (parse_param_type(eq + 1, n - klen - 1, &p->type))
        return fs_error_set(err, "format '%s': parameter '%.*s' has unknown type '%.*s'",
                            f->format, (int)klen, tok, (int)(n - klen - 1), eq + 1);
    memcpy(p->name, tok, klen);
    p->name[klen] = '\0';
    p->enumeration[0] = '\0';
    f->param_count++;
    return 0;
}

/* Fills f from a format string; f->format is allocated here. */
static int format_parse(struct fs_msgformat *f, const char *format, int32_t id,
                        int is_response, struct fs_error *err)
{
    memset(f, 0, sizeof(*f));
    size_t flen = strlen(format);
    if (flen == 0 || flen > MSGPROTO_FORMAT_MAX)
        return fs_error_set(err, "format '%.60s' is empty or longer than %d characters",
                            format, MSGPROTO_FORMAT_MAX);
    f->format = dup_string(format, err);
    if (!f->format)
        return -1;
    f->id = id;
    f->is_response = is_response;
    const char *s = format;
    size_t n = strcspn(s, " ");
    if (n == 0 || n >= FS_MSG_NAME_MAX || memchr(s, '=', n))
        return fs_error_set(err, "format '%s': bad message name", format);
    memcpy(f->name, s, n);
    f->name[n] = '\0';
    for (s += n;; s += n) {
        s += strspn(s, " ");
        if (!*s)
            return 0;
        n = strcspn(s, " ");
        if (format_parse_param(f, s, n, err))
            return -1;
    }
}

static int dict_add_format(struct msgproto_dict *d, const char *format, int32_t id,
                           int is_response, struct fs_error *err)
{
    if (d->format_count == d->format_cap)
        return fs_error_set(err, "too many messages");
    struct fs_msgformat *f = &d->formats[d->format_count];
    int rc = format_parse(f, format, id, is_response, err);
    /* Counted even on failure so that dict_free releases f->format. */
    d->format_count++;
    return rc;
}

static const struct fs_msgformat *dict_find_format(const struct msgproto_dict *d,
                                                   const char *format)
{
    for (int i = 0; i < d->format_count; i++) {
        if (strcmp(d->formats[i].format, format) == 0)
            return &d->formats[i];
    }
    return NULL;
}

/* ---- id index ---- */

static uint32_t id_hash(int32_t id, uint32_t mask)
{
    uint32_t h = (uint32_t)id * 2654435761u;
    return (h ^ (h >> 16)) & mask;
}

static const struct fs_msgformat *dict_lookup_id(const struct msgproto_dict *d, int32_t id)
{
    if (d->direct) {
        if (id < MSGPROTO_DIRECT_MIN || id > MSGPROTO_DIRECT_MAX)
            return NULL;
        return d->by_id[(uint32_t)id & 0x7f];
    }
    for (uint32_t i = id_hash(id, d->hash_mask);; i = (i + 1) & d->hash_mask) {
        const struct fs_msgformat *f = d->hash[i];
        if (!f || f->id == id)
            return f;
    }
}

static int duplicate_id(const struct fs_msgformat *a, const struct fs_msgformat *b,
                        struct fs_error *err)
{
    return fs_error_set(err, "id %d is given to both '%s' and '%s'", (int)a->id, a->format,
                        b->format);
}

static int dict_index_ids(struct msgproto_dict *d, struct fs_error *err)
{
    d->direct = 1;
    for (int i = 0; i < d->format_count; i++) {
        int32_t id = d->formats[i].id;
        if (id < MSGPROTO_DIRECT_MIN || id > MSGPROTO_DIRECT_MAX)
            d->direct = 0;
    }
    if (d->direct) {
        for (int i = 0; i < d->format_count; i++) {
            const struct fs_msgformat *f = &d->formats[i];
            const struct fs_msgformat **slot = &d->by_id[(uint32_t)f->id & 0x7f];
            if (*slot)
                return duplicate_id(*slot, f, err);
            *slot = f;
        }
        return 0;
    }
    uint32_t slots = 8;
    while (slots < 2u * (uint32_t)d->format_count)
        slots *= 2;
    d->hash = calloc(slots, sizeof(*d->hash));
    if (!d->hash)
        return fs_error_set(err, "out of memory");
    d->hash_mask = slots - 1;
    for (int i = 0; i < d->format_count; i++) {
        const struct fs_msgformat *f = &d->formats[i];
        uint32_t j = id_hash(f->id, d->hash_mask);
        for (; d->hash[j]; j = (j + 1) & d->hash_mask) {
            if (d->hash[j]->id == f->id)
                return duplicate_id(d->hash[j], f, err);
        }
        d->hash[j] = f;
    }
    return 0;
}

/* ---- dictionary JSON ---- */

static int json_int32(const cJSON *item, int32_t *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double v = item->valuedouble;
    if (!(v >= (double)INT32_MIN && v <= (double)INT32_MAX) || v != (double)(int32_t)v)
        return -1;
    *out = (int32_t)v;
    return 0;
}

static int dict_load_messages(struct msgproto_dict *d, const cJSON *list, const char *key,
                              int is_response, struct fs_error *err)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        int32_t id;
        if (json_int32(item, &id))
            return fs_error_set(err, "%s: '%s' has no integer id", key, item->string);
        if (dict_add_format(d, item->string, id, is_response, err))
            return -1;
    }
    return 0;
}

/* The fixed pair is part of every dictionary, whether or not it lists it. */
static int dict_ensure_fixed(struct msgproto_dict *d, const char *format, int32_t id,
                             int is_response, struct fs_error *err)
{
    const struct fs_msgformat *f = dict_find_format(d, format);
    if (!f)
        return dict_add_format(d, format, id, is_response, err);
    if (f->id != id)
        return fs_error_set(err, "'%s' has id %d, the protocol fixes it at %d", format,
                            (int)f->id, (int)id);
    return 0;
}

static const cJSON *json_object_or_null(const cJSON *root, const char *key,
                                        struct fs_error *err, int *bad)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    *bad = 0;
    if (o && !cJSON_IsObject(o)) {
        *bad = 1;
        fs_error_set(err, "'%s' is not an object", key);
        return NULL;
    }
    return o;
}

static int dict_load_all_messages(struct msgproto_dict *d, const cJSON *root,
                                  struct fs_error *err)
{
    int bad;
    const cJSON *commands = json_object_or_null(root, "commands", err, &bad);
    if (bad)
        return -1;
    const cJSON *responses = json_object_or_null(root, "responses", err, &bad);
    if (bad)
        return -1;
    d->format_cap = cJSON_GetArraySize(commands) + cJSON_GetArraySize(responses) + 2;
    d->formats = calloc((size_t)d->format_cap, sizeof(*d->formats));
    if (!d->formats)
        return fs_error_set(err, "out of memory");
    if (dict_load_messages(d, commands, "commands", 0, err) ||
        dict_load_messages(d, responses, "responses", 1, err) ||
        dict_ensure_fixed(d, IDENTIFY_FORMAT, IDENTIFY_ID, 0, err) ||
        dict_ensure_fixed(d, IDENTIFY_RESPONSE_FORMAT, IDENTIFY_RESPONSE_ID, 1, err))
        return -1;
    return dict_index_ids(d, err);
}

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
        if (json_int32(item, &e->value))
            return fs_error_set(err, "enumeration '%s': '%s' is not an integer", enum_name,
                                item->string);
        e->name = dup_string(item->string, err);
        return e->name ? 0 : -1;
    }
    int32_t count;
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 ||
        json_int32(cJSON_GetArrayItem(item, 0), &e->value) ||
        json_int32(cJSON_GetArrayItem(item, 1), &count) || count < 1 ||
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
    e->name = dup_string(obj->string, err);
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

static int dict_load_enums(struct msgproto_dict *d, const cJSON *root, struct fs_error *err)
{
    int bad;
    const cJSON *enums = json_object_or_null(root, "enumerations", err, &bad);
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
static void dict_bind_enums(struct msgproto_dict *d)
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
    c->name = dup_string(item->string, err);
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

static int dict_load_constants(struct msgproto_dict *d, const cJSON *root,
                               struct fs_error *err)
{
    int bad;
    const cJSON *config = json_object_or_null(root, "config", err, &bad);
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

/* Identification fields are strings in practice; anything else is kept as
 * its JSON text so that it still shows in logs. */
static char *identification_text(const cJSON *root, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item)
        return strdup("");
    if (cJSON_IsString(item))
        return strdup(item->valuestring);
    char *printed = cJSON_PrintUnformatted(item);
    char *copy = printed ? strdup(printed) : NULL;
    cJSON_free(printed);
    return copy;
}

static int dict_load_identification(struct msgproto_dict *d, const cJSON *root,
                                    struct fs_error *err)
{
    d->version = identification_text(root, "version");
    d->app = identification_text(root, "app");
    d->build_versions = identification_text(root, "build_versions");
    if (!d->version || !d->app || !d->build_versions)
        return fs_error_set(err, "out of memory");
    return 0;
}

static int dict_load(struct msgproto_dict *d, const char *json, size_t len,
                     struct fs_error *err)
{
    if (len > MSGPROTO_INFLATED_MAX)
        return fs_error_set(err, "dictionary is %zu bytes, more than the %u accepted", len,
                            MSGPROTO_INFLATED_MAX);
    d->json = malloc(len + 1);
    if (!d->json)
        return fs_error_set(err, "out of memory");
    memcpy(d->json, json, len);
    d->json[len] = '\0';
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(d->json, len, &parse_end, 0);
    if (!root) {
        size_t at = parse_end ? (size_t)(parse_end - d->json) : 0;
        return fs_error_set(err, "dictionary is not valid JSON (error at byte %zu)", at);
    }
    int rc = 0;
    if (!cJSON_IsObject(root))
        rc = fs_error_set(err, "dictionary JSON is not an object");
    else if (dict_load_all_messages(d, root, err) || dict_load_enums(d, root, err) ||
             dict_load_constants(d, root, err) || dict_load_identification(d, root, err))
        rc = -1;
    cJSON_Delete(root);
    if (rc == 0)
        dict_bind_enums(d);
    return rc;
}

static struct msgproto_dict *dict_new_builtin(struct fs_error *err)
{
    struct msgproto_dict *d = calloc(1, sizeof(*d));
    if (!d) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    if (dict_load(d, "{}", 2, err)) {
        dict_free(d);
        return NULL;
    }
    return d;
}

/* ---- loading ---- */

struct fs_msgproto *fs_msgproto_new(void)
{
    struct fs_msgproto *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->dict = dict_new_builtin(NULL);
    if (!p->dict) {
        free(p);
        return NULL;
    }
    /* The built-in pair is no dictionary the MCU sent. */
    p->dict->json[0] = '\0';
    return p;
}

void fs_msgproto_free(struct fs_msgproto *p)
{
    if (!p)
        return;
    dict_free(p->dict);
    free(p);
}

int fs_msgproto_load_json(struct fs_msgproto *p, const char *json, size_t len,
                          struct fs_error *err)
{
    struct msgproto_dict *d = calloc(1, sizeof(*d));
    if (!d)
        return fs_error_set(err, "out of memory");
    if (dict_load(d, json, len, err)) {
        dict_free(d);
        return fs_error_prefix(err, "data dictionary: ");
    }
    dict_free(p->dict);
    p->dict = d;
    return 0;
}

static int inflate_dictionary(z_stream *zs, char **out, size_t *out_len, struct fs_error *err)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return fs_error_set(err, "out of memory");
    for (;;) {
        if (len == cap) {
            /* One byte past the limit proves the limit was exceeded. */
            if (cap > MSGPROTO_INFLATED_MAX) {
                free(buf);
                return fs_error_set(err, "inflated dictionary exceeds %u bytes",
                                    MSGPROTO_INFLATED_MAX);
            }
            size_t next = cap * 2 > MSGPROTO_INFLATED_MAX ? MSGPROTO_INFLATED_MAX + 1 : cap * 2;
            char *grown = realloc(buf, next);
            if (!grown) {
                free(buf);
                return fs_error_set(err, "out of memory");
            }
            buf = grown;
            cap = next;
        }
        zs->next_out = (Bytef *)buf + len;
        zs->avail_out = (uInt)(cap - len);
        int rc = inflate(zs, Z_NO_FLUSH);
        len = cap - zs->avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_OK || (rc == Z_BUF_ERROR && zs->avail_out == 0))
            continue;
        free(buf);
        if (rc == Z_BUF_ERROR)
            return fs_error_set(err, "zlib data is truncated");
        return fs_error_set(err, "bad zlib data (%s)", zs->msg ? zs->msg : zError(rc));
    }
    if (len > MSGPROTO_INFLATED_MAX) {
        free(buf);
        return fs_error_set(err, "inflated dictionary exceeds %u bytes", MSGPROTO_INFLATED_MAX);
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* Bytes after the end of the zlib stream are ignored, as other hosts do:
 * the identify reads stop at an empty chunk, not at the stream's end. */
int fs_msgproto_load_dictionary(struct fs_msgproto *p, const uint8_t *zdata, size_t zlen,
                                struct fs_error *err)
{
    if (zlen > MSGPROTO_COMPRESSED_MAX)
        return fs_error_set(err, "data dictionary: %zu compressed bytes, more than %u", zlen,
                            MSGPROTO_COMPRESSED_MAX);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return fs_error_set(err, "data dictionary: zlib cannot start");
    zs.next_in = (Bytef *)(uintptr_t)zdata;
    zs.avail_in = (uInt)zlen;
    char *json = NULL;
    size_t len = 0;
    int rc = inflate_dictionary(&zs, &json, &len, err);
    inflateEnd(&zs);
    if (rc)
        return fs_error_prefix(err, "data dictionary: ");
    rc = fs_msgproto_load_json(p, json, len, err);
    free(json);
    return rc;
}

const char *fs_msgproto_json(const struct fs_msgproto *p)
{
    const char *json = p->dict->json;
    return json[0] ? json : NULL;
}

/* ---- lookups ---- */

const struct fs_msgformat *fs_msgproto_lookup(const struct fs_msgproto *p, const char *format)
{
    return dict_find_format(p->dict, format);
}

const struct fs_msgformat *fs_msgproto_lookup_id(const struct fs_msgproto *p, int32_t id)
{
    return dict_lookup_id(p->dict, id);
}

const struct fs_msgformat *fs_msgproto_lookup_name(const struct fs_msgproto *p, const char *name)
{
    const struct msgproto_dict *d = p->dict;
    const struct fs_msgformat *response = NULL;
    for (int i = 0; i < d->format_count; i++) {
        const struct fs_msgformat *f = &d->formats[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (!f->is_response)
            return f;
        if (!response)
            response = f;
    }
    return response;
}

int fs_msgformat_param_index(const struct fs_msgformat *f, const char *name)
{
    return param_index_n(f, name, strlen(name));
}

/* ---- encoding ---- */

static const char *param_type_text(enum fs_param_type t)
{
    switch (t) {
    case FS_PARAM_U32: return "%u";
    case FS_PARAM_I32: return "%i";
    case FS_PARAM_U16: return "%hu";
    case FS_PARAM_I16: return "%hi";
    case FS_PARAM_BYTE: return "%c";
    case FS_PARAM_STRING: return "%s";
    case FS_PARAM_BUFFER: return "%*s";
    }
    return "?";
}

/* %u also takes negative 32-bit values: hosts send signed clock
 * differences through it and the firmware sees the same 32 bits. The
 * narrower unsigned types (%hu, %c) take no negatives: the firmware would
 * truncate them silently, and no command has a reason to send one. */
static int param_range(enum fs_param_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case FS_PARAM_U32: *lo = INT32_MIN; *hi = UINT32_MAX; return 0;
    case FS_PARAM_I32: *lo = INT32_MIN; *hi = INT32_MAX; return 0;
    case FS_PARAM_U16: *lo = 0; *hi = UINT16_MAX; return 0;
    case FS_PARAM_I16: *lo = INT16_MIN; *hi = INT16_MAX; return 0;
    case FS_PARAM_BYTE: *lo = 0; *hi = UINT8_MAX; return 0;
    case FS_PARAM_STRING:
    case FS_PARAM_BUFFER: *lo = 0; *hi = MSGPROTO_BUFFER_MAX; return 0;
    }
    return -1;
}

static int no_room(const struct fs_msgformat *f, size_t cap, struct fs_error *err)
{
    return fs_error_set(err, "'%s': message does not fit in %zu bytes", f->name, cap);
}

int fs_msgformat_encode(const struct fs_msgformat *f, uint8_t *out, size_t cap,
                        const int64_t *values, const uint8_t *const *data,
                        struct fs_error *err)
{
    uint8_t vlq[FS_VLQ_MAX_BYTES];
    size_t n = fs_vlq_encode(vlq, f->id);
    if (n > cap)
        return no_room(f, cap, err);
    memcpy(out, vlq, n);
    for (int i = 0; i < f->param_count; i++) {
        const struct fs_msg_param *p = &f->params[i];
        int64_t v = values[i], lo = 0, hi = 0;
        param_range(p->type, &lo, &hi);
        if (v < lo || v > hi)
            return fs_error_set(err, "'%s': %s=%lld is out of range %lld..%lld for %s",
                                f->name, p->name, (long long)v, (long long)lo, (long long)hi,
                                param_type_text(p->type));
        if (p->type == FS_PARAM_STRING || p->type == FS_PARAM_BUFFER) {
            const uint8_t *bytes = data ? data[i] : NULL;
            if (v > 0 && !bytes)
                return fs_error_set(err, "'%s': %s has a length but no bytes", f->name,
                                    p->name);
            if (1 + (size_t)v > cap - n)
                return no_room(f, cap, err);
            out[n++] = (uint8_t)v;
            if (v > 0)
                memcpy(out + n, bytes, (size_t)v);
            n += (size_t)v;
            continue;
        }
        size_t len = fs_vlq_encode(vlq, (int32_t)(uint32_t)v);
        if (len > cap - n)
            return no_room(f, cap, err);
        memcpy(out + n, vlq, len);
        n += len;
    }
    return (int)n;
}

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
                            (int)vlen, val, param_type_text(p->type));
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
        int i = param_index_n(f, s, klen);
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

/* ---- decoding ---- */

static int truncated(const struct fs_msgformat *f, const struct fs_msg_param *p,
                     struct fs_error *err)
{
    return fs_error_set(err, "truncated message: '%s' ends inside parameter '%s'", f->name,
                        p->name);
}

int fs_msgproto_decode(const struct fs_msgproto *p, const uint8_t **pos, const uint8_t *end,
                       struct fs_msg *out, struct fs_error *err)
{
    const uint8_t *s = *pos;
    uint32_t raw;
    if (fs_vlq_decode(&s, end, &raw))
        return fs_error_set(err, "truncated message: no complete message id");
    const struct fs_msgformat *f = dict_lookup_id(p->dict, (int32_t)raw);
    if (!f)
        return fs_error_set(err, "unknown message id %d", (int)(int32_t)raw);
    for (int i = 0; i < f->param_count; i++) {
        const struct fs_msg_param *prm = &f->params[i];
        out->data[i] = NULL;
        if (prm->type == FS_PARAM_STRING || prm->type == FS_PARAM_BUFFER) {
            if (s >= end || (size_t)(end - s) - 1 < *s)
                return truncated(f, prm, err);
            out->values[i] = *s;
            out->data[i] = s + 1;
            s += 1 + *s;
            continue;
        }
        if (fs_vlq_decode(&s, end, &raw))
            return truncated(f, prm, err);
        switch (prm->type) {
        case FS_PARAM_U32: out->values[i] = raw; break;
        case FS_PARAM_I32: out->values[i] = (int32_t)raw; break;
        case FS_PARAM_U16: out->values[i] = (uint16_t)raw; break;
        case FS_PARAM_I16: out->values[i] = (int16_t)raw; break;
        case FS_PARAM_BYTE: out->values[i] = (uint8_t)raw; break;
        default: break;
        }
    }
    out->format = f;
    *pos = s;
    return 0;
}

int64_t fs_msg_get(const struct fs_msg *m, const char *name, int64_t dflt)
{
    int i = fs_msgformat_param_index(m->format, name);
    return i < 0 ? dflt : m->values[i];
}

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

/* ---- identification ---- */

const char *fs_msgproto_version(const struct fs_msgproto *p)
{
    return p->dict->version;
}

const char *fs_msgproto_app(const struct fs_msgproto *p)
{
    return p->dict->app;
}

const char *fs_msgproto_build_versions(const struct fs_msgproto *p)
{
    return p->dict->build_versions;
}
