/* VLQ for the firmware; the host side has its own in engine/mcu. */
#include "vlq.h"

uint32_t fw_vlq_encode(uint8_t *out, uint32_t v)
{
    /* Count the 7-bit groups needed so that the sign-extension of the first
     * group (bits 0x60 set means negative) reproduces v. */
    int32_t sv = (int32_t)v;
    uint32_t n = 1;
    while (n < FW_VLQ_MAX) {
        int32_t lo = -((int32_t)1 << (7 * n - 2));
        int32_t hi = 3 * ((int32_t)1 << (7 * n - 2));
        if (sv >= lo && sv < hi)
            break;
        n++;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t shift = 7 * (n - 1 - i);
        uint8_t group = (uint8_t)((v >> shift) & 0x7f);
        out[i] = (uint8_t)(group | (i + 1 < n ? 0x80 : 0));
    }
    return n;
}

int fw_vlq_decode(const uint8_t **pos, const uint8_t *end, uint32_t *out)
{
    const uint8_t *p = *pos;
    if (p >= end)
        return -1;
    uint8_t c = *p++;
    uint32_t v = c & 0x7f;
    if ((c & 0x60) == 0x60)
        v |= ~(uint32_t)0x1f;
    for (int n = 1; c & 0x80; n++) {
        if (p >= end || n >= FW_VLQ_MAX)
            return -1;
        c = *p++;
        v = (v << 7) | (c & 0x7f);
    }
    *pos = p;
    *out = v;
    return 0;
}
