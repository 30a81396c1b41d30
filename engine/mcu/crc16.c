/* CRC-16/MCRF4XX computed a byte at a time; blocks are at most 64 bytes, so a
 * table would buy nothing measurable. */
#include "crc16.h"

uint16_t fs_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xffff;
    for (size_t i = 0; i < len; i++) {
        uint8_t x = data[i] ^ (uint8_t)(crc & 0xff);
        x ^= (uint8_t)(x << 4);
        crc = (uint16_t)(((uint16_t)x << 8 | crc >> 8) ^ (x >> 4) ^ ((uint16_t)x << 3));
    }
    return crc;
}
