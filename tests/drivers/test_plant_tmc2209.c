/* The simulated TMC2209 on its UART, driven with the host's own datagram
 * encoding at the bit rate the host picks: writes counted by IFCNT, bad
 * CRCs and foreign addresses ignored, reads answered SENDDELAY bit times
 * later, and injected faults showing in GSTAT/DRV_STATUS and switching the
 * outputs off until the host clears them. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include "drivers/tmc_uart.h" /* fs_tmc_uart_* (the host's encoding) */
#include "plant_tmc2209.h"    /* the model */

struct bus {
    struct plant_tmc2209 chip;
    int64_t now;
    int64_t bit; /* ns */
    int outputs_calls, outputs_enabled;
};

static int bit_at(const uint8_t *bits, size_t pos)
{
    return (bits[pos / 8] >> (pos % 8)) & 1;
}

/* The MCU's side: every bit on the line at its time, then idle high. */
static void drive(struct bus *b, const uint8_t *bits, size_t nbits)
{
    for (size_t pos = 0; pos < nbits; pos++)
        plant_tmc2209_line(&b->chip, (uint8_t)bit_at(bits, pos), b->now + (int64_t)pos * b->bit);
    b->now += (int64_t)nbits * b->bit;
    plant_tmc2209_line(&b->chip, 1, b->now);
}

static void write_reg(struct bus *b, uint8_t addr, uint8_t reg, uint32_t v)
{
    uint8_t bits[FS_TMC_UART_WRITE_REQ_BYTES];
    fs_tmc_uart_encode_write(addr, reg, v, bits);
    drive(b, bits, 80);
    b->now += 20 * b->bit;
    plant_tmc2209_settle(&b->chip, b->now);
}

/* A read as the MCU does it: from 4 bit times after the request, poll once
 * per bit for high then low, then sample 80 bits one bit apart. Returns
 * the decoded value, or -1 without a good reply; *delay_bits gets when the
 * start bit was seen. */
static int read_reg(struct bus *b, uint8_t addr, uint8_t reg, uint32_t *v, int *delay_bits)
{
    uint8_t req[FS_TMC_UART_READ_REQ_BYTES], got[FS_TMC_UART_REPLY_BYTES] = {0};
    fs_tmc_uart_encode_read(addr, reg, req);
    drive(b, req, 40);
    int64_t end = b->now, t = end + 4 * b->bit;
    int seen_high = 0, polls = 0;
    for (; polls < 200; polls++, t += b->bit) {
        uint8_t level = plant_tmc2209_reply_level(&b->chip, t);
        if (level)
            seen_high = 1;
        else if (seen_high)
            break;
    }
    if (polls == 200)
        return -1;
    if (delay_bits)
        *delay_bits = (int)((t - end) / b->bit);
    for (int pos = 0; pos < 80; pos++, t += b->bit)
        if (plant_tmc2209_reply_level(&b->chip, t))
            got[pos / 8] |= (uint8_t)(1u << (pos % 8));
    b->now = t + 10 * b->bit;
    return fs_tmc_uart_decode_reply(reg, got, sizeof(got), v);
}

static void on_outputs(void *arg, int enabled)
{
    struct bus *b = arg;
    b->outputs_calls++;
    b->outputs_enabled = enabled;
}

static void setup_bus(struct bus *b, uint8_t address, int baud)
{
    plant_tmc2209_init(&b->chip, address);
    b->chip.outputs_changed = on_outputs;
    b->chip.outputs_arg = b;
    b->now = 1000000;
    b->bit = 1000000000 / baud;
    b->outputs_calls = 0;
    b->outputs_enabled = 1;
}

static void test_writes_count_in_ifcnt_at_any_baud(void **state)
{
    (void)state;
    const int bauds[] = {9000, 40000, 115200};
    for (int i = 0; i < 3; i++) {
        struct bus b;
        setup_bus(&b, 0, bauds[i]);
        write_reg(&b, 0, PLANT_TMC_IHOLD_IRUN, 0x00061008);
        write_reg(&b, 0, PLANT_TMC_CHOPCONF, 0x15000053);
        assert_int_equal(plant_tmc2209_ifcnt(&b.chip), 2);
        assert_int_equal(b.chip.regs[PLANT_TMC_IHOLD_IRUN], 0x00061008);
        uint32_t v = 0;
        assert_int_equal(read_reg(&b, 0, PLANT_TMC_IFCNT, &v, NULL), 0);
        assert_int_equal(v, 2);
        assert_int_equal(read_reg(&b, 0, PLANT_TMC_CHOPCONF, &v, NULL), 0);
        assert_int_equal(v, 0x15000053);
    }
}

static void test_bad_crc_and_foreign_address_are_ignored(void **state)
{
    (void)state;
    struct bus b;
    setup_bus(&b, 2, 40000);
    uint8_t bits[FS_TMC_UART_WRITE_REQ_BYTES];
    fs_tmc_uart_encode_write(2, PLANT_TMC_GCONF, 0x1c0, bits);
    bits[5] ^= 0x10; /* one data bit of the value */
    drive(&b, bits, 80);
    b.now += 20 * b.bit;
    plant_tmc2209_settle(&b.chip, b.now);
    assert_int_equal(b.chip.stats.crc_errors, 1);
    write_reg(&b, 0, PLANT_TMC_GCONF, 0x1c0); /* node 0, not us */
    assert_int_equal(b.chip.stats.foreign, 1);
    assert_int_equal(plant_tmc2209_ifcnt(&b.chip), 0);
    assert_int_equal(b.chip.regs[PLANT_TMC_GCONF], 0x101);
    uint32_t v;
    assert_int_equal(read_reg(&b, 1, PLANT_TMC_GCONF, &v, NULL), -1); /* nobody answers */
    write_reg(&b, 2, PLANT_TMC_GCONF, 0x1c0);
    assert_int_equal(plant_tmc2209_ifcnt(&b.chip), 1);
    assert_int_equal(read_reg(&b, 2, PLANT_TMC_GCONF, &v, NULL), 0);
    assert_int_equal(v, 0x1c0);
}

static void test_reply_waits_senddelay(void **state)
{
    (void)state;
    struct bus b;
    setup_bus(&b, 0, 40000);
    uint32_t v;
    int delay = 0;
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_IOIN, &v, &delay), 0);
    assert_int_equal(v >> 24, 0x21); /* the TMC2209's version */
    assert_int_equal(delay, 9);      /* 8 bit times, seen on the next poll */
    write_reg(&b, 0, PLANT_TMC_SLAVECONF, 2 << 8);
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_IOIN, &v, &delay), 0);
    assert_int_equal(delay, 25);
}

static void test_over_temperature_trips_and_latches(void **state)
{
    (void)state;
    struct bus b;
    setup_bus(&b, 0, 40000);
    write_reg(&b, 0, PLANT_TMC_GSTAT, 0x7); /* power-on reset acknowledged */
    uint32_t v;
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_GSTAT, &v, NULL), 0);
    assert_int_equal(v, 0);

    plant_tmc2209_set_conditions(&b.chip, PLANT_TMC_OT | PLANT_TMC_OTPW);
    assert_int_equal(b.outputs_calls, 1);
    assert_false(b.outputs_enabled);
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_DRV_STATUS, &v, NULL), 0);
    assert_int_equal(v & 0xfff, PLANT_TMC_OT | PLANT_TMC_OTPW);
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_GSTAT, &v, NULL), 0);
    assert_int_equal(v, PLANT_TMC_GSTAT_DRV_ERR);
    /* Still hot: drv_err cannot be cleared. */
    write_reg(&b, 0, PLANT_TMC_GSTAT, PLANT_TMC_GSTAT_DRV_ERR);
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_GSTAT, &v, NULL), 0);
    assert_int_equal(v, PLANT_TMC_GSTAT_DRV_ERR);
    assert_false(plant_tmc2209_outputs_enabled(&b.chip));
    /* Cooled down: the outputs stay off until the host clears drv_err. */
    plant_tmc2209_set_conditions(&b.chip, 0);
    assert_false(plant_tmc2209_outputs_enabled(&b.chip));
    write_reg(&b, 0, PLANT_TMC_GSTAT, PLANT_TMC_GSTAT_DRV_ERR);
    assert_true(plant_tmc2209_outputs_enabled(&b.chip));
    assert_int_equal(b.outputs_calls, 2);
    assert_true(b.outputs_enabled);
}

static void test_undervoltage_and_reset(void **state)
{
    (void)state;
    struct bus b;
    setup_bus(&b, 0, 40000);
    write_reg(&b, 0, PLANT_TMC_GSTAT, 0x7);
    write_reg(&b, 0, PLANT_TMC_CHOPCONF, 0x15000053);
    plant_tmc2209_set_conditions(&b.chip, PLANT_TMC_COND_UV_CP);
    assert_false(plant_tmc2209_outputs_enabled(&b.chip));
    uint32_t v;
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_GSTAT, &v, NULL), 0);
    assert_int_equal(v, PLANT_TMC_GSTAT_UV_CP);
    plant_tmc2209_set_conditions(&b.chip, 0); /* uv_cp is not latched */
    assert_true(plant_tmc2209_outputs_enabled(&b.chip));
    plant_tmc2209_reset(&b.chip); /* its supply dropped out */
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_GSTAT, &v, NULL), 0);
    assert_int_equal(v, PLANT_TMC_GSTAT_RESET);
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_CHOPCONF, &v, NULL), 0);
    assert_int_equal(v, 0x10000053); /* the setting is lost */
    assert_int_equal(read_reg(&b, 0, PLANT_TMC_IFCNT, &v, NULL), 0);
    assert_int_equal(v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_count_in_ifcnt_at_any_baud),
        cmocka_unit_test(test_bad_crc_and_foreign_address_are_ignored),
        cmocka_unit_test(test_reply_waits_senddelay),
        cmocka_unit_test(test_over_temperature_trips_and_latches),
        cmocka_unit_test(test_undervoltage_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
