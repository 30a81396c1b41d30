/* CRC-16/MCRF4XX, the checksum of every protocol block: init 0xFFFF,
 * reflected polynomial 0x8408, no final xor ("123456789" -> 0x6F91). */
#ifndef FS_CRC16_H
#define FS_CRC16_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint16_t */

uint16_t fs_crc16(const uint8_t *data, size_t len);

#endif
