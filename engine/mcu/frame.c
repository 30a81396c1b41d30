/* Block encoding and a resynchronising block reader. */
#include "frame.h"

#include <string.h> /* memcpy, memmove */

#include "crc16.h" /* fs_crc16 */

size_t fs_frame_encode(uint8_t *out, uint8_t seq, const uint8_t *content, size_t len)
{
    if (len > FS_FRAME_CONTENT_MAX)
        return 0;
    size_t total = len + FS_FRAME_MIN;
    out[0] = (uint8_t)total;
    out[1] = (uint8_t)(FS_FRAME_SEQ_DEST | (seq & FS_FRAME_SEQ_MASK));
    if (len)
        memcpy(out + FS_FRAME_HEADER, content, len);
    uint16_t crc = fs_crc16(out, total - FS_FRAME_TRAILER);
    out[total - 3] = (uint8_t)(crc >> 8);
    out[total - 2] = (uint8_t)(crc & 0xff);
    out[total - 1] = FS_FRAME_SYNC;
    return total;
}

void fs_frame_reader_init(struct fs_frame_reader *r)
{
    r->used = 0;
    r->handed_out = 0;
    r->need_sync = 0;
    r->bytes_invalid = 0;
}

/* Returns the block length if buf holds a complete valid block, 0 if more
 * bytes are needed, -1 if what is there can never be a valid block. */
static int check_block(const uint8_t *buf, size_t used)
{
    if (used < 1)
        return 0;
    size_t len = buf[0];
    if (len < FS_FRAME_MIN || len > FS_FRAME_MAX)
        return -1;
    if (used >= 2 && (buf[1] & ~FS_FRAME_SEQ_MASK) != FS_FRAME_SEQ_DEST)
        return -1;
    if (used < len)
        return 0;
    if (buf[len - 1] != FS_FRAME_SYNC)
        return -1;
    uint16_t crc = fs_crc16(buf, len - FS_FRAME_TRAILER);
    if (buf[len - 3] != (crc >> 8) || buf[len - 2] != (crc & 0xff))
        return -1;
    return (int)len;
}

int fs_frame_reader_next(struct fs_frame_reader *r, const uint8_t **data, size_t *len,
                         struct fs_frame *frame)
{
    /* The block handed out last time is still at the front of buf. */
    if (r->handed_out) {
        size_t done = r->handed_out;
        memmove(r->buf, r->buf + done, r->used - done);
        r->used -= done;
        r->handed_out = 0;
    }
    for (;;) {
        while (r->need_sync && *len) {
            uint8_t c = **data;
            (*data)++;
            (*len)--;
            r->bytes_invalid++;
            if (c == FS_FRAME_SYNC)
                r->need_sync = 0;
        }
        if (r->need_sync)
            return 0;
        int status = check_block(r->buf, r->used);
        if (status > 0) {
            frame->seq = r->buf[1] & FS_FRAME_SEQ_MASK;
            frame->content = r->buf + FS_FRAME_HEADER;
            frame->len = (size_t)status - FS_FRAME_MIN;
            r->handed_out = (size_t)status;
            return 1;
        }
        if (status < 0) {
            /* Drop everything up to and including the next sync byte, which
             * may already be in the buffer. */
            size_t i = 0;
            while (i < r->used && r->buf[i] != FS_FRAME_SYNC)
                i++;
            if (i < r->used) {
                r->bytes_invalid += i + 1;
                memmove(r->buf, r->buf + i + 1, r->used - i - 1);
                r->used -= i + 1;
            } else {
                r->bytes_invalid += r->used;
                r->used = 0;
                r->need_sync = 1;
            }
            continue;
        }
        if (!*len)
            return 0;
        /* Take only as many bytes as the block can still need. */
        size_t want = r->used ? (size_t)r->buf[0] - r->used : 1;
        if (r->used == 0 && **data == FS_FRAME_SYNC) {
            /* Stray sync bytes between blocks are harmless. */
            (*data)++;
            (*len)--;
            continue;
        }
        if (want > *len)
            want = *len;
        memcpy(r->buf + r->used, *data, want);
        r->used += want;
        *data += want;
        *len -= want;
    }
}
