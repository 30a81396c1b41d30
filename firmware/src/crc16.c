/* CRC-16/MCRF4XX, bytewise without a table: blocks are at most 64 bytes and
 * a 512-byte table would cost more flash on a small MCU than it saves. */
#include "crc16.h"

uint16_t fw_crc16(const uint8_t *data, uint32_t len)
{
    uint16_t crc = 0xffff;
    for (uint32_t i = 0; i < len; i++) {
        /* The byte-at-a-time form of the reflected 0x8408 polynomial. */
        uint8_t x = (uint8_t)(data[i] ^ (crc & 0xff));
        x = (uint8_t)(x ^ (x << 4));
        crc = (uint16_t)(((uint16_t)x << 8 | (crc >> 8)) ^ (uint8_t)(x >> 4) ^ ((uint16_t)x << 3));
    }
    return crc;
}
