/* Protocol blocks: [len][0x10|seq][content...][crc_hi][crc_lo][0x7E].
 *
 * The encoder builds one block. The reader takes bytes as they arrive in any
 * slicing and yields whole, valid blocks; on a bad length, sequence nibble,
 * CRC or sync byte it drops bytes up to and including the next 0x7E and
 * counts them, which is how a receiver resynchronises (0x7E is not escaped). */
#ifndef FS_FRAME_H
#define FS_FRAME_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

#define FS_FRAME_MIN 5
#define FS_FRAME_MAX 64
#define FS_FRAME_HEADER 2
#define FS_FRAME_TRAILER 3
#define FS_FRAME_CONTENT_MAX (FS_FRAME_MAX - FS_FRAME_MIN) /* 59 */
#define FS_FRAME_SYNC 0x7e
#define FS_FRAME_SEQ_DEST 0x10
#define FS_FRAME_SEQ_MASK 0x0f

/* Writes a block with the given 4-bit sequence into out (room for
 * FS_FRAME_MAX) and returns its length, or 0 if len exceeds
 * FS_FRAME_CONTENT_MAX. */
size_t fs_frame_encode(uint8_t *out, uint8_t seq, const uint8_t *content, size_t len);

struct fs_frame_reader {
    uint8_t buf[FS_FRAME_MAX];
    size_t used;
    size_t handed_out;      /* length of the block returned last, still in buf */
    int need_sync;          /* dropping bytes until the next 0x7E */
    uint64_t bytes_invalid; /* bytes discarded while resynchronising */
};

struct fs_frame {
    uint8_t seq;
    const uint8_t *content; /* valid until the next fs_frame_reader_next call */
    size_t len;
};

void fs_frame_reader_init(struct fs_frame_reader *r);

/* Consumes bytes from *data (advancing *data and *len) until one valid block
 * is complete; returns 1 with *frame filled, or 0 when all input is used up
 * without completing a block. Call in a loop until it returns 0. */
int fs_frame_reader_next(struct fs_frame_reader *r, const uint8_t **data, size_t *len,
                         struct fs_frame *frame);

#endif
