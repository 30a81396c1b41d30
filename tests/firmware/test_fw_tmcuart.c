/* The bit-banged TMC UART on the sim MCU: the request's bits on the pin at
 * their exact clocks, the one-wire turn-around, sampling a reply (fed on
 * the input as a real driver would answer: 8 bit times after the request,
 * at the same bit rate), the timeout when nothing answers, and the
 * protocol's guards (one transfer at a time, at most 10 bytes). */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* snprintf */
#include <string.h> /* memcmp */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "drivers/tmc_uart.h" /* fs_tmc_uart_* */
#include "fw_test_host.h"     /* struct fw_test_host, fw_test_host_* */

#define UART_PIN 10 /* PA10 */
#define TX_PIN 11   /* PA11 */
#define BIT 1000u   /* ticks per bit: 50 kbit/s at 50 MHz */
#define T0 1000000u
#define START_DELAY 10000u /* 200 us at 50 MHz */

static void send(struct fw_test_host *h, const char *cmd)
{
    assert_int_equal(fw_test_host_send(h, cmd), 0);
}

static struct fw_test_host *uart_host(const char *tx_pin, uint32_t tx_num)
{
    struct fw_test_host *h = fw_test_host_new();
    assert_non_null(h);
    char cmd[200];
    snprintf(cmd, sizeof(cmd),
             "allocate_oids count=1;config_tmcuart oid=0 rx_pin=PA10 pull_up=1 tx_pin=%s"
             " bit_time=%u;finalize_config crc=1",
             tx_pin, BIT);
    send(h, cmd);
    /* The line idles high: configuring drives it so. */
    assert_int_equal(fw_test_host_pin_level(h, tx_num), 1);
    fw_test_host_forget_pin_changes(h);
    h->input_level[UART_PIN] = 1; /* the pull-up */
    fw_test_host_run_until(h, T0);
    return h;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void send_request(struct fw_test_host *h, const uint8_t *bits, size_t n, int read)
{
    char text[64], cmd[128];
    hex(bits, n, text);
    snprintf(cmd, sizeof(cmd), "tmcuart_send oid=0 write=%s read=%d", text, read);
    send(h, cmd);
}

static int bit_at(const uint8_t *bits, size_t pos)
{
    return (bits[pos / 8] >> (pos % 8)) & 1;
}

/* The line level the request's bit stream gives at clock c (high outside). */
static int request_level(const uint8_t *bits, size_t nbits, uint64_t start, uint64_t c)
{
    if (c < start || c >= start + nbits * BIT)
        return 1;
    return bit_at(bits, (size_t)((c - start) / BIT));
}

static void check_request_on_pin(struct fw_test_host *h, uint32_t pin, const uint8_t *bits,
                                 size_t nbits)
{
    struct fw_test_change c[128];
    size_t n = fw_test_host_pin_history(h, pin, c, 128);
    assert_true(n >= 2);
    uint64_t start = T0 + START_DELAY;
    assert_int_equal(c[0].clock, start); /* the start bit, 200 us after the command */
    assert_int_equal(c[0].value, 0);
    /* Every change is on a bit boundary and to the level of that bit, and
     * every level change of the stream is there. */
    size_t expect = 0;
    int level = 1;
    for (size_t pos = 0; pos < nbits; pos++) {
        int b = bit_at(bits, pos);
        if (b != level) {
            assert_true(expect < n);
            assert_int_equal(c[expect].clock, start + pos * BIT);
            assert_int_equal(c[expect].value, (uint32_t)b);
            expect++;
            level = b;
        }
    }
    for (size_t i = 0; i < expect; i++)
        assert_int_equal(c[i].value, (uint32_t)request_level(bits, nbits, start, c[i].clock));
}

static void test_write_puts_every_bit_on_the_line_and_reports(void **state)
{
    (void)state;
    struct fw_test_host *h = uart_host("PA10", UART_PIN);
    uint8_t bits[FS_TMC_UART_WRITE_REQ_BYTES];
    fs_tmc_uart_encode_write(0, 0x10, 0x00011f10, bits);
    send_request(h, bits, sizeof(bits), 0);
    uint64_t end = T0 + START_DELAY + 80 * BIT;
    fw_test_host_run_events_until(h, end + 10 * BIT);
    check_request_on_pin(h, UART_PIN, bits, 80);
    /* The stop bit ends the datagram high; the line stays there. */
    assert_int_equal(fw_test_host_pin_level(h, UART_PIN), 1);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "tmcuart_response", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "oid", -1), 0);
    assert_int_equal(fs_msg_get(&msg, "read", -1), 0); /* no bytes: a write */
    fw_test_host_free(h);
}

/* Feeds the reply bits on the input, first bit at reply_start, stepping the
 * MCU a quarter bit at a time (the MCU polls on whole bits counted from the
 * end of the request, so a reply offset by half a bit is never sampled on
 * an edge). */
static void run_with_reply(struct fw_test_host *h, uint64_t until, uint64_t reply_start,
                           const uint8_t *reply_bits, size_t nbits)
{
    for (uint64_t c = h->clock; c <= until; c += BIT / 4) {
        int level = 1;
        if (reply_bits && c >= reply_start && c < reply_start + nbits * BIT)
            level = bit_at(reply_bits, (size_t)((c - reply_start) / BIT));
        h->input_level[UART_PIN] = (uint8_t)level;
        fw_test_host_run_events_until(h, c);
    }
}

static void read_register(const char *tx_pin, uint32_t rx_out_pin)
{
    struct fw_test_host *h = uart_host(tx_pin, rx_out_pin);
    uint8_t req[FS_TMC_UART_READ_REQ_BYTES];
    fs_tmc_uart_encode_read(0, 0x6f, req);
    send_request(h, req, sizeof(req), FS_TMC_UART_REPLY_BYTES);

    uint8_t dg[8], reply[FS_TMC_UART_REPLY_BYTES];
    fs_tmc_uart_reply_datagram(0x6f, 0x800a0102u, dg);
    fs_tmc_uart_add_serial_bits(dg, 8, reply);
    uint64_t end = T0 + START_DELAY + 40 * BIT;
    uint64_t reply_start = end + 8 * BIT + BIT / 2; /* SENDDELAY 8 bit times */
    run_with_reply(h, reply_start + 90 * BIT, reply_start, reply, 80);

    check_request_on_pin(h, rx_out_pin, req, 40);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "tmcuart_response", &msg), 0);
    int idx = fs_msgformat_param_index(msg.format, "read");
    assert_int_equal(msg.values[idx], FS_TMC_UART_REPLY_BYTES);
    assert_memory_equal(msg.data[idx], reply, FS_TMC_UART_REPLY_BYTES);
    uint32_t value = 0;
    assert_int_equal(fs_tmc_uart_decode_reply(0x6f, msg.data[idx], FS_TMC_UART_REPLY_BYTES,
                                              &value), 0);
    assert_int_equal(value, 0x800a0102u);
    fw_test_host_free(h);
}

static void test_one_wire_read_samples_the_reply(void **state)
{
    (void)state;
    read_register("PA10", UART_PIN);
}

static void test_two_wire_read_sends_on_tx_and_samples_rx(void **state)
{
    (void)state;
    read_register("PA11", TX_PIN);
}

/* One wire: once the request is out, the pin is released (an input) so the
 * driver can pull it; afterwards it is driven high again. */
static void test_one_wire_pin_is_released_for_the_reply(void **state)
{
    (void)state;
    struct fw_test_host *h = uart_host("PA10", UART_PIN);
    uint8_t req[FS_TMC_UART_READ_REQ_BYTES];
    fs_tmc_uart_encode_read(1, 0x01, req);
    send_request(h, req, sizeof(req), FS_TMC_UART_REPLY_BYTES);
    uint64_t end = T0 + START_DELAY + 40 * BIT;
    run_with_reply(h, end + 2 * BIT, 0, NULL, 0);
    size_t during = fw_test_host_pin_changes(h, UART_PIN);
    /* Nothing answers: 4 bit times of wait, then 64 polls. */
    run_with_reply(h, end + (4 + 64 + 2) * BIT, 0, NULL, 0);
    size_t after = fw_test_host_pin_changes(h, UART_PIN);
    assert_int_equal(after, during + 1); /* driven again at the end ... */
    const struct fw_test_output *o = fw_test_host_pin_change(h, UART_PIN, after - 1);
    assert_int_equal(o->value, 1);          /* ... high */
    assert_true(o->clock >= end + (4 + 63) * BIT);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "tmcuart_response", &msg), 0);
    assert_int_equal(fs_msg_get(&msg, "read", -1), 0); /* timed out: no bytes */
    fw_test_host_free(h);
}

static void test_request_while_busy_is_dropped(void **state)
{
    (void)state;
    struct fw_test_host *h = uart_host("PA10", UART_PIN);
    uint8_t req[FS_TMC_UART_WRITE_REQ_BYTES];
    fs_tmc_uart_encode_write(0, 0x00, 0x1c0, req);
    send_request(h, req, sizeof(req), 0);
    fw_test_host_run_events_until(h, T0 + START_DELAY + 20 * BIT);
    send_request(h, req, sizeof(req), 0);
    fw_test_host_run_events_until(h, T0 + START_DELAY + 400 * BIT);
    struct fs_msg msg;
    assert_int_equal(fw_test_host_find(h, "tmcuart_response", &msg), 0);
    assert_int_equal(fw_test_host_find(h, "tmcuart_response", &msg), -1);
    check_request_on_pin(h, UART_PIN, req, 80);
    fw_test_host_free(h);
}

static void test_more_than_ten_bytes_shuts_down(void **state)
{
    (void)state;
    struct fw_test_host *h = uart_host("PA10", UART_PIN);
    send(h, "tmcuart_send oid=0 write=0102030405060708090a0b read=0");
    fw_test_host_run_events_until(h, T0 + 100000);
    char reason[64];
    assert_string_equal(fw_test_host_shutdown_reason(h, reason, sizeof(reason)),
                        "tmcuart data too large");
    fw_test_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_puts_every_bit_on_the_line_and_reports),
        cmocka_unit_test(test_one_wire_read_samples_the_reply),
        cmocka_unit_test(test_two_wire_read_sends_on_tx_and_samples_rx),
        cmocka_unit_test(test_one_wire_pin_is_released_for_the_reply),
        cmocka_unit_test(test_request_while_busy_is_dropped),
        cmocka_unit_test(test_more_than_ten_bytes_shuts_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
