/* The examples of PROTOCOL.md as tests: the CRC check value, the VLQ
 * examples and range edges, the ack frame, and resynchronisation of the
 * block reader after corruption. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mcu/crc16.h" /* fs_crc16 */
#include "mcu/frame.h" /* fs_frame_encode, fs_frame_reader */
#include "mcu/vlq.h"   /* fs_vlq_encode, fs_vlq_decode */

static void test_crc16_check_value(void **state)
{
    (void)state;
    const char *s = "123456789";
    assert_int_equal(fs_crc16((const uint8_t *)s, strlen(s)), 0x6F91);
}

static void expect_vlq(int32_t v, const uint8_t *bytes, size_t n)
{
    uint8_t out[FS_VLQ_MAX_BYTES];
    assert_int_equal(fs_vlq_encode(out, v), n);
    assert_memory_equal(out, bytes, n);
    const uint8_t *p = out;
    uint32_t back;
    assert_int_equal(fs_vlq_decode(&p, out + n, &back), 0);
    assert_int_equal((int32_t)back, v);
    assert_ptr_equal(p, out + n);
}

static void test_vlq_protocol_examples(void **state)
{
    (void)state;
    expect_vlq(0, (const uint8_t[]){0x00}, 1);
    expect_vlq(95, (const uint8_t[]){0x5F}, 1);
    expect_vlq(96, (const uint8_t[]){0x80, 0x60}, 2);
    expect_vlq(-1, (const uint8_t[]){0x7F}, 1);
    expect_vlq(-33, (const uint8_t[]){0xFF, 0x5F}, 2);
    expect_vlq(12288, (const uint8_t[]){0x80, 0xE0, 0x00}, 3);
}

static void expect_length(int64_t v, size_t n)
{
    uint8_t out[FS_VLQ_MAX_BYTES];
    size_t got = fs_vlq_encode(out, (int32_t)v);
    assert_int_equal(got, n);
    const uint8_t *p = out;
    uint32_t back;
    assert_int_equal(fs_vlq_decode(&p, out + got, &back), 0);
    assert_int_equal(back, (uint32_t)v);
}

static void test_vlq_range_edges_round_trip(void **state)
{
    (void)state;
    const struct { int64_t lo, hi; size_t n; } ranges[] = {
        {-32, 95, 1},
        {-4096, 12287, 2},
        {-524288, 1572863, 3},
        {-67108864, 201326591, 4},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        expect_length(ranges[i].lo, ranges[i].n);
        expect_length(ranges[i].hi, ranges[i].n);
        expect_length(ranges[i].lo - 1, ranges[i].n + 1);
        expect_length(ranges[i].hi + 1, ranges[i].n + 1);
    }
    expect_length(INT32_MAX, 5);
    expect_length(INT32_MIN, 5);
}

static void test_vlq_large_unsigned_accepts_both_forms(void **state)
{
    (void)state;
    /* 0xFFFFFFFF as the short negative form and as the 5-byte form. */
    const uint8_t short_form[] = {0x7F};
    const uint8_t long_form[] = {0x8F, 0xFF, 0xFF, 0xFF, 0x7F};
    uint32_t v;
    const uint8_t *p = short_form;
    assert_int_equal(fs_vlq_decode(&p, short_form + 1, &v), 0);
    assert_int_equal(v, 0xFFFFFFFFu);
    p = long_form;
    assert_int_equal(fs_vlq_decode(&p, long_form + 5, &v), 0);
    assert_int_equal(v, 0xFFFFFFFFu);
    /* 3000000000 (> 2^31) round-trips through the 32-bit form. */
    uint8_t out[FS_VLQ_MAX_BYTES];
    size_t n = fs_vlq_encode(out, (int32_t)3000000000u);
    p = out;
    assert_int_equal(fs_vlq_decode(&p, out + n, &v), 0);
    assert_int_equal(v, 3000000000u);
}

static void test_vlq_truncated_input_is_an_error(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x80, 0xE0};
    const uint8_t *p = bytes;
    uint32_t v;
    assert_int_equal(fs_vlq_decode(&p, bytes + 2, &v), -1);
    assert_ptr_equal(p, bytes);
}

static void test_ack_frame_matches_protocol_example(void **state)
{
    (void)state;
    uint8_t out[FS_FRAME_MAX];
    size_t n = fs_frame_encode(out, 2, NULL, 0);
    const uint8_t expected[] = {0x05, 0x12, 0xBD, 0x93, 0x7E};
    assert_int_equal(n, 5);
    assert_memory_equal(out, expected, 5);
}

static void test_frame_reader_resynchronises_after_corruption(void **state)
{
    (void)state;
    uint8_t stream[3 * FS_FRAME_MAX];
    size_t used = 0;
    const uint8_t a[] = {1, 2, 3}, b[] = {4, 5}, c[] = {6};
    used += fs_frame_encode(stream + used, 1, a, sizeof(a));
    size_t b_start = used;
    used += fs_frame_encode(stream + used, 2, b, sizeof(b));
    used += fs_frame_encode(stream + used, 3, c, sizeof(c));
    stream[b_start + 3] ^= 0x40; /* corrupt b's content: CRC fails */

    struct fs_frame_reader r;
    fs_frame_reader_init(&r);
    struct fs_frame f;
    uint8_t seen[8];
    size_t nseen = 0;
    /* Feed one byte at a time: blocks must survive any slicing. */
    for (size_t i = 0; i < used; i++) {
        const uint8_t *p = stream + i;
        size_t len = 1;
        while (fs_frame_reader_next(&r, &p, &len, &f))
            seen[nseen++] = f.seq;
    }
    assert_int_equal(nseen, 2);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 3);
    assert_int_equal(r.bytes_invalid, sizeof(b) + FS_FRAME_MIN);
}

static void test_frame_reader_skips_garbage_before_a_block(void **state)
{
    (void)state;
    uint8_t stream[FS_FRAME_MAX + 8] = {0x33, 0x99, 0x7E};
    const uint8_t content[] = {9, 8, 7};
    size_t n = 3 + fs_frame_encode(stream + 3, 5, content, sizeof(content));
    struct fs_frame_reader r;
    fs_frame_reader_init(&r);
    const uint8_t *p = stream;
    size_t len = n;
    struct fs_frame f;
    assert_int_equal(fs_frame_reader_next(&r, &p, &len, &f), 1);
    assert_int_equal(f.seq, 5);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.content, content, 3);
    assert_int_equal(fs_frame_reader_next(&r, &p, &len, &f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_check_value),
        cmocka_unit_test(test_vlq_protocol_examples),
        cmocka_unit_test(test_vlq_range_edges_round_trip),
        cmocka_unit_test(test_vlq_large_unsigned_accepts_both_forms),
        cmocka_unit_test(test_vlq_truncated_input_is_an_error),
        cmocka_unit_test(test_ack_frame_matches_protocol_example),
        cmocka_unit_test(test_frame_reader_resynchronises_after_corruption),
        cmocka_unit_test(test_frame_reader_skips_garbage_before_a_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
