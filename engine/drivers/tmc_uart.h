/* The TMC2209 UART datagrams as the host puts them on the wire through the
 * MCU's bit-banged UART (tmcuart_send): the host builds every bit of the
 * request (start bit, 8 data bits LSB first, stop bit per byte, packed
 * LSB first into bytes) and picks the register value out of the bits the
 * MCU sampled, so the MCU needs no knowledge of the chip.
 *
 * Datagrams (TMC2209 datasheet, UART interface): a read request is sync,
 * node address, register, CRC (4 bytes); a write is sync, address,
 * register | 0x80, 32-bit value MSB first, CRC (8 bytes); the reply to a
 * read is sync 0x05, address 0xff, register, value, CRC (8 bytes). The CRC
 * is CRC8 with polynomial x^8 + x^2 + x + 1 over the bytes, each byte
 * taken LSB first. No state, no allocation. */
#ifndef FS_TMC_UART_H
#define FS_TMC_UART_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t, uint32_t */

/* Sync nibble 0x05 with the four reserved bits set: the bytes the request
 * starts with; the chip ignores the reserved bits but they are in the CRC. */
#define FS_TMC_UART_SYNC 0xf5
#define FS_TMC_UART_REPLY_SYNC 0x05
#define FS_TMC_UART_REPLY_ADDR 0xff
#define FS_TMC_UART_WRITE 0x80

/* Encoded sizes: 10 bits per datagram byte. */
#define FS_TMC_UART_READ_REQ_BYTES 5   /* 4 datagram bytes, 40 bits */
#define FS_TMC_UART_WRITE_REQ_BYTES 10 /* 8 datagram bytes, 80 bits */
#define FS_TMC_UART_REPLY_BYTES 10     /* the read=10 the MCU samples */

uint8_t fs_tmc_uart_crc8(const uint8_t *data, size_t len);

/* Frames n bytes as UART characters packed LSB first into out (which must
 * hold (10 * n + 7) / 8 bytes); returns the byte count. */
size_t fs_tmc_uart_add_serial_bits(const uint8_t *bytes, size_t n, uint8_t *out);
/* The inverse for whole characters: checks every start and stop bit and
 * returns the count decoded into out (at most cap), or -1 on a framing
 * error. */
int fs_tmc_uart_strip_serial_bits(const uint8_t *bits, size_t nbits, uint8_t *out, size_t cap);

/* Requests, encoded for tmcuart_send's write= (returns the byte count). */
size_t fs_tmc_uart_encode_read(uint8_t addr, uint8_t reg, uint8_t out[FS_TMC_UART_READ_REQ_BYTES]);
size_t fs_tmc_uart_encode_write(uint8_t addr, uint8_t reg, uint32_t value,
                                uint8_t out[FS_TMC_UART_WRITE_REQ_BYTES]);
/* The reply datagram (8 bytes: sync, 0xff, reg, value, CRC) for reg; the
 * chip model builds its answer with it. */
void fs_tmc_uart_reply_datagram(uint8_t reg, uint32_t value, uint8_t out[8]);

/* The value from the bits the MCU sampled for a read of reg; -1 unless
 * they are exactly a well-framed reply to that register with a good CRC
 * (a missing, late, garbled or foreign reply). */
int fs_tmc_uart_decode_reply(uint8_t reg, const uint8_t *data, size_t len, uint32_t *value);

#endif
