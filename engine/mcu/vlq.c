/* VLQ encoding and decoding for protocol integers. */
#include "vlq.h"

size_t fs_vlq_encode(uint8_t *out, int32_t v)
{
    /* Each extra byte extends the signed range by 7 bits: 1 byte holds
     * -32..95, 2 bytes -4096..12287, and so on. */
    size_t n = 1;
    if (v < -(1 << 26) || v >= (3 << 26))
        n = 5;
    else if (v < -(1 << 19) || v >= (3 << 19))
        n = 4;
    else if (v < -(1 << 12) || v >= (3 << 12))
        n = 3;
    else if (v < -(1 << 5) || v >= (3 << 5))
        n = 2;
    uint32_t u = (uint32_t)v;
    for (size_t i = 0; i < n; i++) {
        unsigned shift = 7 * (unsigned)(n - 1 - i);
        uint8_t group = (uint8_t)((u >> shift) & 0x7f);
        out[i] = (uint8_t)(group | (i + 1 < n ? 0x80 : 0));
    }
    return n;
}

int fs_vlq_decode(const uint8_t **pos, const uint8_t *end, uint32_t *out)
{
    const uint8_t *p = *pos;
    if (p >= end)
        return -1;
    uint8_t c = *p++;
    uint32_t v = c & 0x7f;
    if ((c & 0x60) == 0x60)
        v |= ~(uint32_t)0x1f;
    for (int n = 1; c & 0x80; n++) {
        if (p >= end || n >= FS_VLQ_MAX_BYTES)
            return -1;
        c = *p++;
        v = (v << 7) | (c & 0x7f);
    }
    *pos = p;
    *out = v;
    return 0;
}
