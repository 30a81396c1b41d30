/* The protocol's variable-length integers: signed, most significant 7-bit
 * group first, bit 7 set on every byte but the last, shortest form whose
 * signed range holds the value. Unsigned values >= 2^31 travel as their
 * 32-bit two's complement, so both the short negative form and the 5-byte
 * form decode to the same 32 bits. */
#ifndef FS_VLQ_H
#define FS_VLQ_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t, uint8_t */

#define FS_VLQ_MAX_BYTES 5

/* Writes v into out (room for FS_VLQ_MAX_BYTES), returns the byte count. */
size_t fs_vlq_encode(uint8_t *out, int32_t v);

/* Reads one value from *pos (not past end), advancing *pos. Returns 0, or
 * -1 when the input ends inside the value or runs past 5 bytes. */
int fs_vlq_decode(const uint8_t **pos, const uint8_t *end, uint32_t *out);

#endif
