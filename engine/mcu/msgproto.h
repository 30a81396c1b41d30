/* Messages of the MCU protocol as the data dictionary defines them: loading
 * the dictionary (zlib-compressed JSON read with `identify`), looking up a
 * message by its exact format string or id, encoding and decoding messages,
 * and the dictionary's enumerations and constants.
 *
 * Before a dictionary is loaded only the fixed pair is known:
 * id 0 `identify_response offset=%u data=%.*s` and id 1
 * `identify offset=%u count=%c`. */
#ifndef FS_MSGPROTO_H
#define FS_MSGPROTO_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t */

struct fs_error;

#define FS_MSG_MAX_PARAMS 16
#define FS_MSG_NAME_MAX 48

enum fs_param_type {
    FS_PARAM_U32,    /* %u */
    FS_PARAM_I32,    /* %i */
    FS_PARAM_U16,    /* %hu */
    FS_PARAM_I16,    /* %hi */
    FS_PARAM_BYTE,   /* %c */
    FS_PARAM_STRING, /* %s */
    FS_PARAM_BUFFER, /* %*s and %.*s: a length byte and the bytes */
};

struct fs_msg_param {
    char name[FS_MSG_NAME_MAX];
    enum fs_param_type type;
    /* Name of the enumeration this parameter uses ("pin" for step_pin), or
     * empty. */
    char enumeration[FS_MSG_NAME_MAX];
};

struct fs_msgformat {
    char *format;               /* exact format string */
    char name[FS_MSG_NAME_MAX]; /* first word */
    int32_t id;                 /* as in the dictionary: -32..95 for 1 byte */
    int is_response;            /* from "responses" (or identify_response) */
    int param_count;
    struct fs_msg_param params[FS_MSG_MAX_PARAMS];
};

/* A decoded message. Integers are sign- or zero-extended by type (u32 ->
 * 0..4294967295, i16 -> -32768..32767, ...). For a string or buffer
 * parameter, values[i] is its length and data[i] points at its bytes inside
 * the decoded block (valid while the block is). */
struct fs_msg {
    const struct fs_msgformat *format;
    int64_t values[FS_MSG_MAX_PARAMS];
    const uint8_t *data[FS_MSG_MAX_PARAMS];
};

struct fs_msgproto;

/* Formats returned by the lookups below (and fs_msg.format) belong to the
 * current dictionary: they stay valid until the next successful load or
 * fs_msgproto_free. */
struct fs_msgproto *fs_msgproto_new(void);
void fs_msgproto_free(struct fs_msgproto *p);

/* Inflates (zlib) and parses a data dictionary. On error nothing is
 * replaced and err says what was wrong (bad zlib data, bad JSON, a format
 * string that cannot be parsed, a duplicate id...). */
int fs_msgproto_load_dictionary(struct fs_msgproto *p, const uint8_t *zdata, size_t zlen,
                                struct fs_error *err);
/* Same for an already inflated JSON text. */
int fs_msgproto_load_json(struct fs_msgproto *p, const char *json, size_t len,
                          struct fs_error *err);
/* The raw inflated dictionary text, for logs and capsules; NULL if none. */
const char *fs_msgproto_json(const struct fs_msgproto *p);

const struct fs_msgformat *fs_msgproto_lookup(const struct fs_msgproto *p, const char *format);
const struct fs_msgformat *fs_msgproto_lookup_id(const struct fs_msgproto *p, int32_t id);
/* By first word; with two formats of one name (commands and responses may
 * share one) the command is returned. */
const struct fs_msgformat *fs_msgproto_lookup_name(const struct fs_msgproto *p, const char *name);
int fs_msgformat_param_index(const struct fs_msgformat *f, const char *name);

/* Encodes one message (id then parameters) from values[] (one per
 * parameter; for buffers values[i] is the length and data[i] the bytes).
 * Returns the byte count, or -1 when it does not fit in cap or a value is
 * out of its type's range. Ranges: %u -2^31..2^32-1 (negatives travel as
 * their 32-bit two's complement), %i -2^31..2^31-1, %hu 0..65535 (no
 * negatives: the firmware would truncate them silently), %hi
 * -32768..32767, %c 0..255, strings and buffers at most 255 bytes. */
int fs_msgformat_encode(const struct fs_msgformat *f, uint8_t *out, size_t cap,
                        const int64_t *values, const uint8_t *const *data,
                        struct fs_error *err);

/* Encodes "name key=value ..." text as a configuration line is written:
 * every parameter must be given, enumeration names are mapped (pin=PA3),
 * numbers are decimal or 0x hex (negative allowed), strings and buffers are
 * given as hex bytes ("0a0b"). Returns the byte count or -1 with err naming
 * the command and the parameter. */
int fs_msgproto_encode_text(const struct fs_msgproto *p, const char *text, uint8_t *out,
                            size_t cap, struct fs_error *err);

/* Decodes one message at *pos, advancing it. -1 on an unknown id or a
 * truncated message. */
int fs_msgproto_decode(const struct fs_msgproto *p, const uint8_t **pos, const uint8_t *end,
                       struct fs_msg *out, struct fs_error *err);
/* Integer value of a named parameter of a decoded message; dflt if absent. */
int64_t fs_msg_get(const struct fs_msg *m, const char *name, int64_t dflt);
/* Formats a decoded message as "name key=value ..." for logs, strings and
 * buffers as hex (the form encode_text reads). Returns the length of the
 * whole text like snprintf: a result >= cap means it was cut. */
size_t fs_msg_format_text(const struct fs_msg *m, char *out, size_t cap);

/* Dictionary constants ("config"): numeric value (also for strings that
 * hold a number) or the string itself (a number as its decimal text).
 * Return -1 / NULL when absent (-1 also for a non-numeric string). */
int fs_msgproto_constant(const struct fs_msgproto *p, const char *name, double *value);
const char *fs_msgproto_constant_str(const struct fs_msgproto *p, const char *name);

/* Enumerations, including ranges ("PA0": [0, 16] is PA0..PA15). */
int fs_msgproto_enum_value(const struct fs_msgproto *p, const char *enumeration,
                           const char *name, int32_t *value);
/* Reverse lookup into buf (ranges give their expanded names); NULL if none
 * or if the name does not fit in cap. */
const char *fs_msgproto_enum_name(const struct fs_msgproto *p, const char *enumeration,
                                  int32_t value, char *buf, size_t cap);

/* "version", "app", "build_versions" of the dictionary; "" when absent. */
const char *fs_msgproto_version(const struct fs_msgproto *p);
const char *fs_msgproto_app(const struct fs_msgproto *p);
const char *fs_msgproto_build_versions(const struct fs_msgproto *p);

#endif
