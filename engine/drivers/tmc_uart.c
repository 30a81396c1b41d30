/* TMC2209 UART datagrams encoded for the MCU's bit-banged UART (see
 * tmc_uart.h). */
#include "drivers/tmc_uart.h"

#include <string.h> /* memcmp */

uint8_t fs_tmc_uart_crc8(const uint8_t *data, size_t len)
{
    uint8_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t byte = data[i];
        for (int bit = 0; bit < 8; bit++) {
            /* The datasheet's CRC shifts the message in LSB first. */
            int feedback = ((crc >> 7) ^ byte) & 1;
            crc = (uint8_t)(crc << 1);
            if (feedback)
                crc ^= 0x07;
            byte >>= 1;
        }
    }
    return crc;
}

static void put_bit(uint8_t *out, size_t pos, int bit)
{
    uint8_t mask = (uint8_t)(1u << (pos & 7));
    if (bit)
        out[pos >> 3] |= mask;
    else
        out[pos >> 3] &= (uint8_t)~mask;
}

static int get_bit(const uint8_t *in, size_t pos)
{
    return (in[pos >> 3] >> (pos & 7)) & 1;
}

size_t fs_tmc_uart_add_serial_bits(const uint8_t *bytes, size_t n, uint8_t *out)
{
    size_t nbytes = (10 * n + 7) / 8;
    memset(out, 0, nbytes);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        put_bit(out, pos++, 0);
        for (int b = 0; b < 8; b++)
            put_bit(out, pos++, (bytes[i] >> b) & 1);
        put_bit(out, pos++, 1);
    }
    return nbytes;
}

int fs_tmc_uart_strip_serial_bits(const uint8_t *bits, size_t nbits, uint8_t *out, size_t cap)
{
    size_t n = nbits / 10;
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++) {
        size_t pos = 10 * i;
        if (get_bit(bits, pos) != 0 || get_bit(bits, pos + 9) != 1)
            return -1;
        uint8_t v = 0;
        for (int b = 0; b < 8; b++)
            v |= (uint8_t)(get_bit(bits, pos + 1 + (size_t)b) << b);
        out[i] = v;
    }
    return (int)n;
}

size_t fs_tmc_uart_encode_read(uint8_t addr, uint8_t reg, uint8_t out[FS_TMC_UART_READ_REQ_BYTES])
{
    uint8_t msg[4] = {FS_TMC_UART_SYNC, addr, (uint8_t)(reg & 0x7f), 0};
    msg[3] = fs_tmc_uart_crc8(msg, 3);
    return fs_tmc_uart_add_serial_bits(msg, 4, out);
}

static void value_datagram(uint8_t sync, uint8_t addr, uint8_t reg, uint32_t value,
                           uint8_t msg[8])
{
    msg[0] = sync;
    msg[1] = addr;
    msg[2] = reg;
    msg[3] = (uint8_t)(value >> 24);
    msg[4] = (uint8_t)(value >> 16);
    msg[5] = (uint8_t)(value >> 8);
    msg[6] = (uint8_t)value;
    msg[7] = fs_tmc_uart_crc8(msg, 7);
}

size_t fs_tmc_uart_encode_write(uint8_t addr, uint8_t reg, uint32_t value,
                                uint8_t out[FS_TMC_UART_WRITE_REQ_BYTES])
{
    uint8_t msg[8];
    value_datagram(FS_TMC_UART_SYNC, addr, (uint8_t)(reg | FS_TMC_UART_WRITE), value, msg);
    return fs_tmc_uart_add_serial_bits(msg, 8, out);
}

void fs_tmc_uart_reply_datagram(uint8_t reg, uint32_t value, uint8_t out[8])
{
    value_datagram(FS_TMC_UART_REPLY_SYNC, FS_TMC_UART_REPLY_ADDR, (uint8_t)(reg & 0x7f), value,
                   out);
}

int fs_tmc_uart_decode_reply(uint8_t reg, const uint8_t *data, size_t len, uint32_t *value)
{
    if (len != FS_TMC_UART_REPLY_BYTES)
        return -1;
    uint8_t msg[8];
    if (fs_tmc_uart_strip_serial_bits(data, 80, msg, 8) != 8)
        return -1;
    uint32_t v = (uint32_t)msg[3] << 24 | (uint32_t)msg[4] << 16 | (uint32_t)msg[5] << 8 | msg[6];
    /* Re-encoding and comparing checks sync, address, register and CRC in
     * one step. */
    uint8_t want[8];
    fs_tmc_uart_reply_datagram(reg, v, want);
    if (memcmp(msg, want, 8))
        return -1;
    *value = v;
    return 0;
}
