/* Encoding and decoding MCU messages by their format: the id as a VLQ,
 * integers as VLQs checked against their type's range, strings and buffers
 * as a length byte and the bytes. */
#include "msgproto.h"

#include <string.h> /* memcpy */

#include "core/error.h"        /* fs_error_set */
#include "msgproto_internal.h" /* struct fs_msgproto, msgproto_dict_lookup_id */
#include "vlq.h"               /* fs_vlq_encode, fs_vlq_decode */

/* ---- encoding ---- */

const char *msgproto_param_type_text(enum fs_param_type t)
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
                                msgproto_param_type_text(p->type));
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
    const struct fs_msgformat *f = msgproto_dict_lookup_id(p->dict, (int32_t)raw);
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
