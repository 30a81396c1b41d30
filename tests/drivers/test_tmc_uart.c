/* TMC2209 UART datagrams as the host encodes them: the CRC against
 * datagrams captured from real chips, the serial framing, and decoding a
 * reply the way the MCU samples it (and refusing a damaged one). */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "drivers/tmc_uart.h" /* fs_tmc_uart_* */

/* Datagrams seen on the wire of real TMC2209s (published captures): a
 * CHOPCONF write, and an IOIN read request with the chip's reply (version
 * 0x21 in the top byte). */
static const uint8_t chopconf_write[8] = {0x05, 0x00, 0xec, 0x10, 0x00, 0x00, 0x53, 0x9c};
static const uint8_t ioin_request[4] = {0x55, 0x00, 0x06, 0xe8};
static const uint8_t ioin_reply[8] = {0x05, 0xff, 0x06, 0x21, 0x00, 0x02, 0x41, 0x9d};

static void test_crc8_matches_captured_datagrams(void **state)
{
    (void)state;
    assert_int_equal(fs_tmc_uart_crc8(chopconf_write, 7), chopconf_write[7]);
    assert_int_equal(fs_tmc_uart_crc8(ioin_request, 3), ioin_request[3]);
    assert_int_equal(fs_tmc_uart_crc8(ioin_reply, 7), ioin_reply[7]);
    uint8_t changed[7];
    for (int i = 0; i < 7; i++)
        changed[i] = chopconf_write[i];
    changed[6] ^= 0x01;
    assert_int_not_equal(fs_tmc_uart_crc8(changed, 7), chopconf_write[7]);
}

static int bit_at(const uint8_t *bits, size_t pos)
{
    return (bits[pos / 8] >> (pos % 8)) & 1;
}

static void test_framing_start_lsb_first_stop(void **state)
{
    (void)state;
    uint8_t bits[FS_TMC_UART_READ_REQ_BYTES];
    assert_int_equal(fs_tmc_uart_encode_read(2, 0x6f, bits), FS_TMC_UART_READ_REQ_BYTES);
    uint8_t dg[4] = {FS_TMC_UART_SYNC, 2, 0x6f, 0};
    dg[3] = fs_tmc_uart_crc8(dg, 3);
    for (size_t byte = 0; byte < 4; byte++) {
        size_t pos = 10 * byte;
        assert_int_equal(bit_at(bits, pos), 0);
        for (int b = 0; b < 8; b++)
            assert_int_equal(bit_at(bits, pos + 1 + (size_t)b), (dg[byte] >> b) & 1);
        assert_int_equal(bit_at(bits, pos + 9), 1);
    }
    /* Start bit then the sync nibble 1010 and reserved ones: the pattern
     * the MCU's bit-banged UART recognises as a TMC sync. */
    assert_int_equal(bits[0] & 0x3f, 0x2a);
    uint8_t back[4];
    assert_int_equal(fs_tmc_uart_strip_serial_bits(bits, 40, back, 4), 4);
    assert_memory_equal(back, dg, 4);
}

static void test_write_round_trip(void **state)
{
    (void)state;
    uint8_t bits[FS_TMC_UART_WRITE_REQ_BYTES], dg[8];
    fs_tmc_uart_encode_write(0, 0x6c, 0x10000053, bits);
    assert_int_equal(fs_tmc_uart_strip_serial_bits(bits, 80, dg, 8), 8);
    /* The captured write used sync 0x05; ours sets the reserved bits. */
    assert_int_equal(dg[0], FS_TMC_UART_SYNC);
    for (int i = 1; i < 7; i++)
        assert_int_equal(dg[i], chopconf_write[i]);
    assert_int_equal(dg[7], fs_tmc_uart_crc8(dg, 7));
}

static void test_decode_captured_reply(void **state)
{
    (void)state;
    uint8_t bits[FS_TMC_UART_REPLY_BYTES];
    fs_tmc_uart_add_serial_bits(ioin_reply, 8, bits);
    uint32_t v = 0;
    assert_int_equal(fs_tmc_uart_decode_reply(0x06, bits, sizeof(bits), &v), 0);
    assert_int_equal(v, 0x21000241);
    /* Our own reply builder makes the same bytes. */
    uint8_t dg[8];
    fs_tmc_uart_reply_datagram(0x06, 0x21000241, dg);
    assert_memory_equal(dg, ioin_reply, 8);
}

static void test_decode_refuses_damaged_replies(void **state)
{
    (void)state;
    uint8_t good[FS_TMC_UART_REPLY_BYTES], bad[FS_TMC_UART_REPLY_BYTES];
    fs_tmc_uart_add_serial_bits(ioin_reply, 8, good);
    uint32_t v = 0;
    /* Any single flipped bit (data, CRC, start or stop) is caught. */
    for (size_t pos = 0; pos < 80; pos++) {
        for (int i = 0; i < FS_TMC_UART_REPLY_BYTES; i++)
            bad[i] = good[i];
        bad[pos / 8] ^= (uint8_t)(1u << (pos % 8));
        assert_int_equal(fs_tmc_uart_decode_reply(0x06, bad, sizeof(bad), &v), -1);
    }
    /* A reply to another register, a missing reply, a short one. */
    assert_int_equal(fs_tmc_uart_decode_reply(0x6f, good, sizeof(good), &v), -1);
    assert_int_equal(fs_tmc_uart_decode_reply(0x06, good, 0, &v), -1);
    assert_int_equal(fs_tmc_uart_decode_reply(0x06, good, 9, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc8_matches_captured_datagrams),
        cmocka_unit_test(test_framing_start_lsb_first_stop),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_decode_captured_reply),
        cmocka_unit_test(test_decode_refuses_damaged_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
