/* Private to the msgproto*.c files: the loaded data dictionary and the
 * helpers more than one of them uses. Nothing outside engine/mcu/msgproto*
 * includes this; the public interface is msgproto.h.
 *
 * The files split the protocol along its concepts:
 *   msgproto.c        loading a dictionary (inflate, JSON, format strings,
 *                     the id index) and finding messages in it
 *   msgproto_codec.c  encoding and decoding messages by their format
 *   msgproto_text.c   "name key=value" text: encoding it and formatting
 *                     decoded messages for logs
 *   msgproto_enum.c   enumerations (with ranges) and constants: reading them
 *                     from the dictionary and answering lookups */
#ifndef FS_MSGPROTO_INTERNAL_H
#define FS_MSGPROTO_INTERNAL_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t, int64_t */

#include "msgproto.h" /* struct fs_msgformat, enum fs_param_type */

struct cJSON;
struct fs_error;

/* Strings and buffers carry a one-byte length. */
#define MSGPROTO_BUFFER_MAX 255
#define MSGPROTO_DIRECT_SLOTS 128
#define MSGPROTO_DIRECT_MIN (-32)
#define MSGPROTO_DIRECT_MAX 95

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

/* Shared helpers (msgproto.c). */
char *msgproto_dup_string(const char *s, struct fs_error *err);
int msgproto_param_index_n(const struct fs_msgformat *f, const char *name, size_t len);
const struct fs_msgformat *msgproto_dict_lookup_id(const struct msgproto_dict *d,
                                                   int32_t id);
int msgproto_json_int32(const struct cJSON *item, int32_t *out);
/* The object under key, NULL if absent; *bad (and err) if it is there but
 * not an object. */
const struct cJSON *msgproto_json_object_or_null(const struct cJSON *root, const char *key,
                                                 struct fs_error *err, int *bad);

/* Enumerations and constants of a dictionary being loaded (msgproto_enum.c). */
int msgproto_dict_load_enums(struct msgproto_dict *d, const struct cJSON *root,
                             struct fs_error *err);
int msgproto_dict_load_constants(struct msgproto_dict *d, const struct cJSON *root,
                                 struct fs_error *err);
void msgproto_dict_bind_enums(struct msgproto_dict *d);

/* "%u", "%hi", ... for messages (msgproto_codec.c). */
const char *msgproto_param_type_text(enum fs_param_type t);

#endif
