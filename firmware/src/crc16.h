/* The firmware's own CRC-16/MCRF4XX for protocol blocks (the core may not
 * use host code): init 0xFFFF, reflected polynomial 0x8408, no final xor. */
#ifndef FW_CRC16_H
#define FW_CRC16_H

#include <stdint.h> /* uint16_t */

uint16_t fw_crc16(const uint8_t *data, uint32_t len);

#endif
