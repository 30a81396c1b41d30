/* The firmware's own variable-length integers (see PROTOCOL.md): signed,
 * most significant 7-bit group first, shortest form. */
#ifndef FW_VLQ_H
#define FW_VLQ_H

#include <stdint.h> /* uint32_t, uint8_t */

#define FW_VLQ_MAX 5

/* Writes v (room for FW_VLQ_MAX bytes); returns the byte count. */
uint32_t fw_vlq_encode(uint8_t *out, uint32_t v);
/* Reads one value, not past end; returns 0, or -1 if truncated/too long. */
int fw_vlq_decode(const uint8_t **pos, const uint8_t *end, uint32_t *out);

#endif
