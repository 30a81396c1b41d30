/* The data dictionary of the MCU protocol: inflating and parsing it,
 * building its tables (message formats, the id index) and finding a message
 * by format, id or name. Encoding and decoding live in msgproto_codec.c,
 * the text forms in msgproto_text.c, enumerations and constants in
 * msgproto_enum.c.
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
#include <stdlib.h>      /* malloc, calloc, realloc, free */
#include <string.h>      /* strcmp, strlen, memcpy, strdup */
#include <zlib.h>        /* inflate */

#include "core/error.h"        /* fs_error_set, fs_error_prefix */
#include "msgproto_internal.h" /* struct msgproto_dict, shared helpers */

/* Real dictionaries are 10..40 KiB inflated; anything past this is not a
 * dictionary (or a zip bomb). */
#define MSGPROTO_INFLATED_MAX (1u << 20)
/* zlib never expands incompressible data by more than a few bytes per
 * 16 KiB block, so compressed input above this cannot inflate to <= 1 MiB
 * of a real dictionary. */
#define MSGPROTO_COMPRESSED_MAX (2u << 20)
#define MSGPROTO_FORMAT_MAX 1024

static const char IDENTIFY_RESPONSE_FORMAT[] = "identify_response offset=%u data=%.*s";
static const char IDENTIFY_FORMAT[] = "identify offset=%u count=%c";
#define IDENTIFY_RESPONSE_ID 0
#define IDENTIFY_ID 1

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

char *msgproto_dup_string(const char *s, struct fs_error *err)
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

int msgproto_param_index_n(const struct fs_msgformat *f, const char *name, size_t len)
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
    if (msgproto_param_index_n(f, tok, klen) >= 0)
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
    f->format = msgproto_dup_string(format, err);
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

const struct fs_msgformat *msgproto_dict_lookup_id(const struct msgproto_dict *d,
                                                   int32_t id)
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

int msgproto_json_int32(const cJSON *item, int32_t *out)
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
        if (msgproto_json_int32(item, &id))
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

const cJSON *msgproto_json_object_or_null(const cJSON *root, const char *key,
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
    const cJSON *commands = msgproto_json_object_or_null(root, "commands", err, &bad);
    if (bad)
        return -1;
    const cJSON *responses = msgproto_json_object_or_null(root, "responses", err, &bad);
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
    else if (dict_load_all_messages(d, root, err) || msgproto_dict_load_enums(d, root, err) ||
             msgproto_dict_load_constants(d, root, err) ||
             dict_load_identification(d, root, err))
        rc = -1;
    cJSON_Delete(root);
    if (rc == 0)
        msgproto_dict_bind_enums(d);
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
    return msgproto_dict_lookup_id(p->dict, id);
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
    return msgproto_param_index_n(f, name, strlen(name));
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
