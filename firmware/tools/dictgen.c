/* The data dictionary generator: a host program linked with the firmware
 * core and one port. It walks the registration sections the link put
 * together (commands, responses, constants, enumerations, static strings),
 * writes the dictionary JSON, compresses it with zlib and emits it as a C
 * file that the firmware for that port is linked with.
 *
 * Message ids are computed here independently (sort, de-duplicate, rank)
 * and then compared with the ids the firmware itself assigns at start-up,
 * so a disagreement fails the build instead of a connection.
 *
 * Usage: dictgen OUTPUT.c [OUTPUT.json] */
#include <stdio.h>  /* FILE, fprintf */
#include <stdlib.h> /* qsort, malloc */
#include <string.h> /* strcmp */

#include <cjson/cJSON.h> /* the dictionary JSON */
#include <zlib.h>        /* compress2 */

#include "command.h"    /* the declaration structs */
#include "instance.h"   /* fw_command_assign_ids */
#include "sections.h"   /* FW_SECTION_EACH */

#ifndef FW_VERSION
#define FW_VERSION "unknown"
#endif

#define MAX_MESSAGES 128 /* ids 0..127: one VLQ byte each */
#define MAX_DECLS 1024

/* dictgen is linked with basecmd.c, which serves the dictionary; this is
 * the empty one it is built with. */
const uint8_t fw_dictionary_data[1] = {0};
const uint32_t fw_dictionary_size = 0;

static const char *const fixed_formats[2] = {
    "identify_response offset=%u data=%.*s",
    "identify offset=%u count=%c",
};

static int fail(const char *msg, const char *detail)
{
    fprintf(stderr, "dictgen: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts and de-duplicates names[0..n); returns the new count. */
static size_t sort_unique(const char **names, size_t n)
{
    qsort(names, n, sizeof(*names), cmp_str);
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (out == 0 || strcmp(names[out - 1], names[i]) != 0)
            names[out++] = names[i];
    return out;
}

static int is_fixed(const char *format)
{
    return strcmp(format, fixed_formats[0]) == 0 || strcmp(format, fixed_formats[1]) == 0;
}

struct ranks {
    const char *formats[MAX_DECLS];
    size_t count;
};

static int rank_messages(struct ranks *r)
{
    struct fw_command_decl *const *c;
    struct fw_response_decl *const *p;
    r->count = 0;
    for (FW_SECTION_EACH(c, fw_cmds))
        if (!is_fixed((*c)->format) && r->count < MAX_DECLS)
            r->formats[r->count++] = (*c)->format;
    for (FW_SECTION_EACH(p, fw_resps))
        if (!is_fixed((*p)->format) && r->count < MAX_DECLS)
            r->formats[r->count++] = (*p)->format;
    r->count = sort_unique(r->formats, r->count);
    if (r->count + 2 > MAX_MESSAGES)
        return fail("more than 126 messages; ids would need two bytes", NULL);
    return 0;
}

static int id_of(const struct ranks *r, const char *format)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(format, fixed_formats[i]) == 0)
            return i;
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->formats[i], format) == 0)
            return (int)i + 2;
    return -1;
}

/* As the dictionary writes it: ids above 95 as their one-byte negative. */
static int wire_id(int id)
{
    return id > 95 ? id - 128 : id;
}

static int add_messages(cJSON *root, const struct ranks *r)
{
    /* The firmware assigns its own ids at start-up; they must be ours. */
    fw_command_assign_ids();
    cJSON *cmds = cJSON_AddObjectToObject(root, "commands");
    cJSON *resps = cJSON_AddObjectToObject(root, "responses");
    struct fw_command_decl *const *c;
    struct fw_response_decl *const *p;
    int have_identify = 0, have_response = 0;
    for (FW_SECTION_EACH(c, fw_cmds)) {
        int id = id_of(r, (*c)->format);
        if (id != (*c)->id)
            return fail("firmware and dictgen disagree on the id of", (*c)->format);
        if (cJSON_GetObjectItemCaseSensitive(cmds, (*c)->format))
            return fail("command declared twice", (*c)->format);
        cJSON_AddNumberToObject(cmds, (*c)->format, wire_id(id));
        have_identify |= id == 1;
    }
    for (FW_SECTION_EACH(p, fw_resps)) {
        int id = id_of(r, (*p)->format);
        if (id != (*p)->id)
            return fail("firmware and dictgen disagree on the id of", (*p)->format);
        /* One response may be sent from several places. */
        if (!cJSON_GetObjectItemCaseSensitive(resps, (*p)->format))
            cJSON_AddNumberToObject(resps, (*p)->format, wire_id(id));
        have_response |= id == 0;
    }
    if (!have_identify || !have_response)
        return fail("the identify pair is not declared", NULL);
    return 0;
}

static int add_constants(cJSON *root)
{
    cJSON *config = cJSON_AddObjectToObject(root, "config");
    const struct fw_constant_decl *const *k;
    for (FW_SECTION_EACH(k, fw_consts)) {
        const struct fw_constant_decl *d = *k;
        cJSON *value = d->str_value ? cJSON_CreateString(d->str_value)
                                    : cJSON_CreateNumber(d->value);
        cJSON *old = cJSON_GetObjectItemCaseSensitive(config, d->name);
        if (old) {
            int same = cJSON_Compare(old, value, 1);
            cJSON_Delete(value);
            if (!same)
                return fail("constant declared twice with different values", d->name);
            continue;
        }
        cJSON_AddItemToObject(config, d->name, value);
    }
    return 0;
}

static int add_static_strings(cJSON *enums)
{
    const char *texts[MAX_DECLS];
    size_t n = 0;
    const struct fw_static_string_decl *const *s;
    for (FW_SECTION_EACH(s, fw_strs))
        if (n < MAX_DECLS)
            texts[n++] = (*s)->text;
    n = sort_unique(texts, n);
    if (n > 0xffff)
        return fail("too many static strings", NULL);
    cJSON *ids = cJSON_AddObjectToObject(enums, "static_string_id");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddNumberToObject(ids, texts[i], (double)i);
        /* The firmware ranks on demand; check it agrees. */
        struct fw_static_string_decl probe = {texts[i]};
        if (fw_static_string_id(&probe) != i)
            return fail("firmware and dictgen disagree on the id of", texts[i]);
    }
    return 0;
}

static int add_enumerations(cJSON *root)
{
    cJSON *enums = cJSON_AddObjectToObject(root, "enumerations");
    const struct fw_enumeration_decl *const *e;
    for (FW_SECTION_EACH(e, fw_enums)) {
        const struct fw_enumeration_decl *d = *e;
        cJSON *group = cJSON_GetObjectItemCaseSensitive(enums, d->enumeration);
        if (!group)
            group = cJSON_AddObjectToObject(enums, d->enumeration);
        if (cJSON_GetObjectItemCaseSensitive(group, d->name))
            return fail("enumeration value declared twice", d->name);
        if (d->count > 1) {
            int pair[2] = {d->value, d->count};
            cJSON_AddItemToObject(group, d->name, cJSON_CreateIntArray(pair, 2));
        } else {
            cJSON_AddNumberToObject(group, d->name, d->value);
        }
    }
    return add_static_strings(enums);
}

static char *build_json(void)
{
    static struct ranks r;
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (rank_messages(&r) == 0 && add_messages(root, &r) == 0 && add_enumerations(root) == 0 &&
        add_constants(root) == 0) {
        cJSON_AddStringToObject(root, "version", FW_VERSION);
        cJSON_AddStringToObject(root, "build_versions", "gcc: " __VERSION__);
        cJSON_AddStringToObject(root, "app", "failsoft");
        text = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    return text;
}

static int write_c(const char *path, const uint8_t *data, unsigned long len)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fail("cannot write", path);
    fprintf(f, "/* The compressed data dictionary of this firmware build. Generated by\n"
               " * firmware/tools/dictgen.c; do not edit. */\n"
               "#include \"dictionary.h\" /* the declarations */\n\n"
               "const uint8_t fw_dictionary_data[] = {");
    for (unsigned long i = 0; i < len; i++)
        fprintf(f, "%s0x%02x,", i % 12 == 0 ? "\n    " : " ", data[i]);
    fprintf(f, "\n};\nconst uint32_t fw_dictionary_size = %lu;\n", len);
    if (fclose(f) != 0)
        return fail("cannot write", path);
    return 0;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fail("cannot write", path);
    fputs(text, f);
    fputc('\n', f);
    if (fclose(f) != 0)
        return fail("cannot write", path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: dictgen OUTPUT.c [OUTPUT.json]\n");
        return 2;
    }
    char *json = build_json();
    if (!json)
        return 1;
    uLong len = (uLong)strlen(json);
    uLongf zlen = compressBound(len);
    uint8_t *z = malloc(zlen);
    int rc = 1;
    if (!z)
        fail("out of memory", NULL);
    else if (compress2(z, &zlen, (const Bytef *)json, len, 9) != Z_OK)
        fail("zlib compression failed", NULL);
    else if (write_c(argv[1], z, zlen) == 0 && (argc < 3 || write_text(argv[2], json) == 0))
        rc = 0;
    free(z);
    cJSON_free(json);
    return rc;
}
