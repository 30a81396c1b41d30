/* The message layer a host builds on: the fixed identify pair before any
 * dictionary, loading a zlib-compressed dictionary, lookups, encoding and
 * decoding every parameter type at its edges, enumerations and constants,
 * configuration text with pin names, and errors that name what is wrong. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* malloc, free */
#include <string.h>
#include <cmocka.h>
#include <zlib.h> /* compress2 */

#include "core/error.h"   /* struct fs_error */
#include "mcu/msgproto.h" /* fs_msgproto_* */

static const char TEST_DICT[] =
    "{"
    " \"commands\": {"
    "  \"identify offset=%u count=%c\": 1,"
    "  \"config_digital_out oid=%c pin=%u value=%c default_value=%c max_duration=%u\": 30,"
    "  \"all_types u=%u i=%i hu=%hu hi=%hi c=%c s=%s b=%*s\": 31,"
    "  \"queue_step oid=%c interval=%u count=%hu add=%hi\": 32,"
    "  \"emergency_stop\": 33,"
    "  \"tmcuart_send oid=%c write=%*s read=%c\": -5"
    " },"
    " \"responses\": {"
    "  \"identify_response offset=%u data=%.*s\": 0,"
    "  \"analog_in_state oid=%c next_clock=%u values=%*s\": 80,"
    "  \"all_types u=%u i=%i hu=%hu hi=%hi c=%c s=%s b=%*s\": 81,"
    "  \"shutdown clock=%u static_string_id=%hu\": -32"
    " },"
    " \"enumerations\": {"
    "  \"pin\": {\"PA0\": [0, 16], \"PB0\": [16, 16], \"gpio00\": [40, 12], \"LED\": 99},"
    "  \"static_string_id\": {\"ADC out of range\": 3, \"Timer too close\": 4}"
    " },"
    " \"config\": {\"CLOCK_FREQ\": 72000000, \"MCU\": \"stm32f103xe\", \"ADC_MAX\": 4095,"
    "  \"SERIAL_BAUD\": \"250000\"},"
    " \"version\": \"v0.12-test\", \"app\": \"failsoft\", \"build_versions\": \"gcc: 12\""
    "}";

/* zlib-compresses text into a buffer the caller frees. */
static uint8_t *compress_text(const char *text, size_t len, size_t *zlen)
{
    uLongf cap = compressBound(len);
    uint8_t *z = malloc(cap);
    assert_non_null(z);
    assert_int_equal(compress2(z, &cap, (const Bytef *)text, len, 9), Z_OK);
    *zlen = cap;
    return z;
}

static struct fs_msgproto *load_test_dict(void)
{
    struct fs_msgproto *p = fs_msgproto_new();
    assert_non_null(p);
    size_t zlen;
    uint8_t *z = compress_text(TEST_DICT, strlen(TEST_DICT), &zlen);
    struct fs_error err = {{0}};
    int rc = fs_msgproto_load_dictionary(p, z, zlen, &err);
    free(z);
    if (rc)
        fail_msg("dictionary did not load: %s", err.msg);
    return p;
}

static void assert_mentions(const char *msg, const char *what)
{
    if (!strstr(msg, what))
        fail_msg("error '%s' does not mention '%s'", msg, what);
}

static void test_identify_pair_works_before_any_dictionary(void **state)
{
    (void)state;
    struct fs_msgproto *p = fs_msgproto_new();
    assert_non_null(p);
    assert_null(fs_msgproto_json(p));
    assert_string_equal(fs_msgproto_version(p), "");

    uint8_t out[16];
    struct fs_error err = {{0}};
    int n = fs_msgproto_encode_text(p, "identify offset=0 count=40", out, sizeof(out), &err);
    assert_int_equal(n, 3);
    assert_memory_equal(out, ((const uint8_t[]){0x01, 0x00, 0x28}), 3);

    /* identify_response offset=40 data="abc" */
    const uint8_t block[] = {0x00, 0x28, 0x03, 'a', 'b', 'c'};
    const uint8_t *pos = block;
    struct fs_msg m;
    assert_int_equal(fs_msgproto_decode(p, &pos, block + sizeof(block), &m, &err), 0);
    assert_ptr_equal(pos, block + sizeof(block));
    assert_string_equal(m.format->name, "identify_response");
    assert_int_equal(fs_msg_get(&m, "offset", -1), 40);
    assert_int_equal(fs_msg_get(&m, "data", -1), 3);
    assert_memory_equal(m.data[1], "abc", 3);
    assert_int_equal(fs_msg_get(&m, "no_such_param", -7), -7);
    fs_msgproto_free(p);
}

static void test_dictionary_loads_and_lookups_find_messages(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    assert_string_equal(fs_msgproto_json(p), TEST_DICT);
    assert_string_equal(fs_msgproto_version(p), "v0.12-test");
    assert_string_equal(fs_msgproto_app(p), "failsoft");
    assert_string_equal(fs_msgproto_build_versions(p), "gcc: 12");

    const struct fs_msgformat *f =
        fs_msgproto_lookup(p, "queue_step oid=%c interval=%u count=%hu add=%hi");
    assert_non_null(f);
    assert_int_equal(f->id, 32);
    assert_int_equal(f->param_count, 4);
    assert_string_equal(f->params[3].name, "add");
    assert_int_equal(f->params[3].type, FS_PARAM_I16);
    assert_int_equal(fs_msgformat_param_index(f, "count"), 2);
    assert_int_equal(fs_msgformat_param_index(f, "cnt"), -1);
    /* Formats must match exactly. */
    assert_null(fs_msgproto_lookup(p, "queue_step oid=%c interval=%u count=%hu"));

    assert_ptr_equal(fs_msgproto_lookup_id(p, 32), f);
    assert_string_equal(fs_msgproto_lookup_id(p, -5)->name, "tmcuart_send");
    assert_string_equal(fs_msgproto_lookup_id(p, -32)->name, "shutdown");
    assert_string_equal(fs_msgproto_lookup_id(p, 1)->name, "identify");
    assert_null(fs_msgproto_lookup_id(p, 50));
    /* 123 and -5 share a table slot, but only -5 is the id. */
    assert_null(fs_msgproto_lookup_id(p, 123));

    /* A name used by a command and a response gives the command. */
    const struct fs_msgformat *both = fs_msgproto_lookup_name(p, "all_types");
    assert_non_null(both);
    assert_int_equal(both->id, 31);
    assert_false(both->is_response);
    assert_true(fs_msgproto_lookup_name(p, "analog_in_state")->is_response);
    assert_int_equal(fs_msgproto_lookup_name(p, "emergency_stop")->param_count, 0);
    assert_null(fs_msgproto_lookup_name(p, "no_such_message"));
    fs_msgproto_free(p);
}

static void round_trip(const struct fs_msgproto *p, const struct fs_msgformat *f,
                       const int64_t *values, const uint8_t *const *data,
                       const int64_t *expect)
{
    uint8_t out[600];
    struct fs_error err = {{0}};
    int n = fs_msgformat_encode(f, out, sizeof(out), values, data, &err);
    if (n < 0)
        fail_msg("encode failed: %s", err.msg);
    const uint8_t *pos = out;
    struct fs_msg m;
    if (fs_msgproto_decode(p, &pos, out + n, &m, &err))
        fail_msg("decode failed: %s", err.msg);
    assert_ptr_equal(pos, out + n);
    assert_ptr_equal(m.format, f);
    for (int i = 0; i < f->param_count; i++) {
        assert_int_equal(m.values[i], expect[i]);
        if (f->params[i].type == FS_PARAM_STRING || f->params[i].type == FS_PARAM_BUFFER) {
            if (expect[i])
                assert_memory_equal(m.data[i], data[i], (size_t)expect[i]);
        }
    }
}

static void test_every_type_round_trips_at_its_edges(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    const struct fs_msgformat *f = fs_msgproto_lookup_name(p, "all_types");
    uint8_t big[255];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    const uint8_t *data[7] = {NULL, NULL, NULL, NULL, NULL, (const uint8_t *)"hi", big};

    const int64_t mins[] = {0, INT32_MIN, 0, INT16_MIN, 0, 0, 0};
    round_trip(p, f, mins, data, mins);
    const int64_t maxs[] = {UINT32_MAX, INT32_MAX, UINT16_MAX, INT16_MAX, UINT8_MAX, 2, 255};
    round_trip(p, f, maxs, data, maxs);
    const int64_t mid[] = {96, -33, 12288, -4097, 95, 1, 1};
    round_trip(p, f, mid, data, mid);
    /* A negative %u is sent as its two's complement and reads back unsigned. */
    const int64_t neg_u[] = {-1, 0, 0, 0, 0, 0, 0};
    const int64_t neg_u_back[] = {UINT32_MAX, 0, 0, 0, 0, 0, 0};
    round_trip(p, f, neg_u, data, neg_u_back);
    const int64_t min_u[] = {INT32_MIN, 0, 0, 0, 0, 0, 0};
    const int64_t min_u_back[] = {2147483648LL, 0, 0, 0, 0, 0, 0};
    round_trip(p, f, min_u, data, min_u_back);
    fs_msgproto_free(p);
}

static void test_decode_extends_each_type_from_32_bits(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    /* Response all_types (id 81) with every integer sent as 0x7F, i.e.
     * the 32 bits 0xFFFFFFFF, then an empty string and buffer. */
    const uint8_t block[] = {0x51, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x00};
    const uint8_t *pos = block;
    struct fs_msg m;
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgproto_decode(p, &pos, block + sizeof(block), &m, &err), 0);
    assert_true(m.format->is_response);
    assert_int_equal(fs_msg_get(&m, "u", 0), 4294967295LL);
    assert_int_equal(fs_msg_get(&m, "i", 0), -1);
    assert_int_equal(fs_msg_get(&m, "hu", 0), 65535);
    assert_int_equal(fs_msg_get(&m, "hi", 0), -1);
    assert_int_equal(fs_msg_get(&m, "c", 0), 255);
    assert_int_equal(fs_msg_get(&m, "s", -1), 0);
    fs_msgproto_free(p);
}

static void test_enumerations_with_ranges_map_both_ways(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    int32_t v = -1;
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PA0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PA15", &v), 0);
    assert_int_equal(v, 15);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PB3", &v), 0);
    assert_int_equal(v, 19);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "gpio07", &v), 0);
    assert_int_equal(v, 47);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "LED", &v), 0);
    assert_int_equal(v, 99);
    assert_int_equal(fs_msgproto_enum_value(p, "static_string_id", "Timer too close", &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PA16", &v), -1);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PA03", &v), -1);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "gpio7", &v), -1);
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PA", &v), -1);
    assert_int_equal(fs_msgproto_enum_value(p, "colour", "PA1", &v), -1);

    char buf[32];
    assert_string_equal(fs_msgproto_enum_name(p, "pin", 19, buf, sizeof(buf)), "PB3");
    assert_string_equal(fs_msgproto_enum_name(p, "pin", 51, buf, sizeof(buf)), "gpio11");
    assert_string_equal(fs_msgproto_enum_name(p, "pin", 99, buf, sizeof(buf)), "LED");
    assert_string_equal(fs_msgproto_enum_name(p, "static_string_id", 3, buf, sizeof(buf)),
                        "ADC out of range");
    assert_null(fs_msgproto_enum_name(p, "pin", 32, buf, sizeof(buf)));
    /* A name that does not fit is not cut short into another name. */
    assert_null(fs_msgproto_enum_name(p, "pin", 51, buf, 4));

    /* Parameters find their enumeration by name or "_<name>" suffix. */
    const struct fs_msgformat *f = fs_msgproto_lookup_name(p, "config_digital_out");
    assert_string_equal(f->params[1].enumeration, "pin");
    assert_string_equal(f->params[0].enumeration, "");
    f = fs_msgproto_lookup_name(p, "shutdown");
    assert_string_equal(f->params[1].enumeration, "static_string_id");
    fs_msgproto_free(p);
}

static void test_constants_numeric_and_string(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    double v = 0;
    assert_int_equal(fs_msgproto_constant(p, "CLOCK_FREQ", &v), 0);
    assert_true(v == 72000000.0);
    assert_string_equal(fs_msgproto_constant_str(p, "CLOCK_FREQ"), "72000000");
    assert_int_equal(fs_msgproto_constant(p, "SERIAL_BAUD", &v), 0);
    assert_true(v == 250000.0);
    assert_string_equal(fs_msgproto_constant_str(p, "MCU"), "stm32f103xe");
    assert_int_equal(fs_msgproto_constant(p, "MCU", &v), -1);
    assert_int_equal(fs_msgproto_constant(p, "RECEIVE_WINDOW", &v), -1);
    assert_null(fs_msgproto_constant_str(p, "RECEIVE_WINDOW"));
    fs_msgproto_free(p);
}

static void test_encode_text_maps_pin_names_and_numbers(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    uint8_t out[64];
    struct fs_error err = {{0}};
    int n = fs_msgproto_encode_text(
        p, "config_digital_out oid=3 pin=PA3 value=0 default_value=0 max_duration=1000", out,
        sizeof(out), &err);
    const uint8_t expect[] = {30, 3, 3, 0, 0, 0x87, 0x68};
    assert_int_equal(n, sizeof(expect));
    assert_memory_equal(out, expect, sizeof(expect));

    /* Numbers may stand in for pin names; hex and negatives are read. */
    n = fs_msgproto_encode_text(p, "queue_step oid=0 interval=0x10 count=3 add=-2", out,
                                sizeof(out), &err);
    const uint8_t expect_step[] = {32, 0, 0x10, 3, 0x7e};
    assert_int_equal(n, sizeof(expect_step));
    assert_memory_equal(out, expect_step, sizeof(expect_step));

    n = fs_msgproto_encode_text(p, "tmcuart_send oid=1 write=F5000a read=10", out, sizeof(out),
                                &err);
    const uint8_t expect_uart[] = {0x7b, 1, 3, 0xf5, 0x00, 0x0a, 10};
    assert_int_equal(n, sizeof(expect_uart));
    assert_memory_equal(out, expect_uart, sizeof(expect_uart));
    fs_msgproto_free(p);
}

static void test_format_text_shows_values_and_buffers_as_hex(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    const uint8_t block[] = {0x50, 3, 0x80, 0x7b, 2, 0x0a, 0x0b};
    const uint8_t *pos = block;
    struct fs_msg m;
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgproto_decode(p, &pos, block + sizeof(block), &m, &err), 0);
    char text[80];
    const char *expect = "analog_in_state oid=3 next_clock=123 values=0a0b";
    assert_int_equal(fs_msg_format_text(&m, text, sizeof(text)), strlen(expect));
    assert_string_equal(text, expect);
    /* A short buffer gets a cut, terminated text and the full length. */
    char small[10];
    assert_int_equal(fs_msg_format_text(&m, small, sizeof(small)), strlen(expect));
    assert_string_equal(small, "analog_in");

    /* What is logged can be sent again as text. */
    uint8_t out[32];
    int n = fs_msgproto_encode_text(p, "tmcuart_send oid=1 write=f5000a read=10", out,
                                    sizeof(out), &err);
    pos = out;
    assert_int_equal(fs_msgproto_decode(p, &pos, out + n, &m, &err), 0);
    const char *again = "tmcuart_send oid=1 write=f5000a read=10";
    assert_int_equal(fs_msg_format_text(&m, text, sizeof(text)), strlen(again));
    assert_string_equal(text, again);
    fs_msgproto_free(p);
}

static void test_ids_outside_one_byte_range_still_found(void **state)
{
    (void)state;
    static const char dict[] = "{\"commands\": {\"set_led oid=%c value=%hu\": 1000,"
                               " \"ping\": -100, \"pong n=%i\": 200}}";
    struct fs_msgproto *p = fs_msgproto_new();
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgproto_load_json(p, dict, strlen(dict), &err), 0);
    assert_string_equal(fs_msgproto_lookup_id(p, 1000)->name, "set_led");
    assert_string_equal(fs_msgproto_lookup_id(p, -100)->name, "ping");
    assert_string_equal(fs_msgproto_lookup_id(p, 0)->name, "identify_response");
    assert_null(fs_msgproto_lookup_id(p, 999));
    const int64_t values[] = {2, 500};
    round_trip(p, fs_msgproto_lookup_id(p, 1000), values, NULL, values);
    fs_msgproto_free(p);
}

static void test_second_dictionary_replaces_first(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    static const char dict[] = "{\"commands\": {\"get_clock\": 5}, \"version\": \"v2\"}";
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgproto_load_json(p, dict, strlen(dict), &err), 0);
    assert_string_equal(fs_msgproto_version(p), "v2");
    assert_string_equal(fs_msgproto_app(p), "");
    assert_null(fs_msgproto_lookup_name(p, "queue_step"));
    assert_null(fs_msgproto_lookup_id(p, 32));
    assert_int_equal(fs_msgproto_lookup_name(p, "get_clock")->id, 5);
    assert_non_null(fs_msgproto_lookup_name(p, "identify"));
    assert_non_null(fs_msgproto_lookup_name(p, "identify_response"));
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PA3", &(int32_t){0}), -1);
    fs_msgproto_free(p);
}

static void test_bad_dictionaries_are_rejected_and_keep_the_old_one(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    struct fs_error err = {{0}};

    const uint8_t garbage[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    assert_int_equal(fs_msgproto_load_dictionary(p, garbage, sizeof(garbage), &err), -1);
    assert_mentions(err.msg, "zlib");

    size_t zlen;
    uint8_t *z = compress_text(TEST_DICT, strlen(TEST_DICT), &zlen);
    assert_int_equal(fs_msgproto_load_dictionary(p, z, zlen / 2, &err), -1);
    assert_mentions(err.msg, "truncated");
    free(z);

    static const char bad_json[] = "{\"commands\": {\"get_clock\": 5,";
    z = compress_text(bad_json, strlen(bad_json), &zlen);
    assert_int_equal(fs_msgproto_load_dictionary(p, z, zlen, &err), -1);
    assert_mentions(err.msg, "not valid JSON");
    free(z);

    static const char bad_type[] = "{\"commands\": {\"move dist=%f\": 5}}";
    assert_int_equal(fs_msgproto_load_json(p, bad_type, strlen(bad_type), &err), -1);
    assert_mentions(err.msg, "dist");
    assert_mentions(err.msg, "%f");

    static const char dup_id[] = "{\"commands\": {\"a\": 5, \"b x=%c\": 5}}";
    assert_int_equal(fs_msgproto_load_json(p, dup_id, strlen(dup_id), &err), -1);
    assert_mentions(err.msg, "id 5");
    assert_mentions(err.msg, "'b x=%c'");

    static const char moved_identify[] = "{\"commands\": {\"identify offset=%u count=%c\": 7}}";
    assert_int_equal(fs_msgproto_load_json(p, moved_identify, strlen(moved_identify), &err),
                     -1);
    assert_mentions(err.msg, "identify offset=%u count=%c");

    static const char bad_range[] = "{\"enumerations\": {\"pin\": {\"LED\": [1, 4]}}}";
    assert_int_equal(fs_msgproto_load_json(p, bad_range, strlen(bad_range), &err), -1);
    assert_mentions(err.msg, "LED");

    /* A dictionary that inflates past 1 MiB is refused. */
    size_t huge_len = (1u << 20) + 100;
    char *huge = malloc(huge_len);
    assert_non_null(huge);
    memset(huge, ' ', huge_len);
    huge[0] = '{';
    huge[huge_len - 1] = '}';
    z = compress_text(huge, huge_len, &zlen);
    assert_int_equal(fs_msgproto_load_dictionary(p, z, zlen, &err), -1);
    assert_mentions(err.msg, "exceeds");
    free(z);
    free(huge);

    /* Nothing of that replaced the loaded dictionary. */
    assert_int_equal(fs_msgproto_lookup_name(p, "queue_step")->id, 32);
    assert_string_equal(fs_msgproto_version(p), "v0.12-test");
    fs_msgproto_free(p);
}

static void expect_text_error(const struct fs_msgproto *p, const char *text, const char *what1,
                              const char *what2)
{
    uint8_t out[64];
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgproto_encode_text(p, text, out, sizeof(out), &err), -1);
    assert_mentions(err.msg, what1);
    if (what2)
        assert_mentions(err.msg, what2);
}

static void test_encode_errors_name_message_and_parameter(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    expect_text_error(p, "no_such_cmd oid=1", "unknown message", "no_such_cmd");
    expect_text_error(p, "config_digital_out oid=3 pin=PA3 value=0", "default_value",
                      "max_duration");
    expect_text_error(p, "config_digital_out oid=3 pin=PA3 value=0", "config_digital_out",
                      "missing");
    expect_text_error(p,
                      "config_digital_out oid=3 pin=PA3 value=0 default_value=0 "
                      "max_duration=1000 colour=3",
                      "colour", NULL);
    expect_text_error(p,
                      "config_digital_out oid=3 pin=PA3 value=256 default_value=0 "
                      "max_duration=1000",
                      "config_digital_out", "value=256");
    expect_text_error(p,
                      "config_digital_out oid=3 pin=PZ9 value=0 default_value=0 "
                      "max_duration=1000",
                      "pin=PZ9", "'pin' name");
    expect_text_error(p, "queue_step oid=0 interval=1 count=3 add=12x", "add=12x",
                      "not a number");
    expect_text_error(p, "queue_step oid=0 interval=1 count=3 add=-32769", "add=-32769",
                      "out of range");
    expect_text_error(p, "queue_step oid=0 interval=4294967296 count=3 add=0", "interval",
                      "out of range");
    expect_text_error(p, "queue_step oid=0 oid=1 interval=1 count=3 add=0", "oid", "twice");
    expect_text_error(p, "tmcuart_send oid=1 write=f50 read=10", "write", "hex");
    expect_text_error(p, "tmcuart_send oid=1 write=zz read=10", "write", "hex");

    /* The narrower unsigned types take no negative values. */
    const struct fs_msgformat *f = fs_msgproto_lookup_name(p, "all_types");
    const int64_t neg_hu[] = {0, 0, -1, 0, 0, 0, 0};
    uint8_t out[32];
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgformat_encode(f, out, sizeof(out), neg_hu, NULL, &err), -1);
    assert_mentions(err.msg, "hu=-1");
    const int64_t long_string[] = {0, 0, 0, 0, 0, 256, 0};
    assert_int_equal(fs_msgformat_encode(f, out, sizeof(out), long_string, NULL, &err), -1);
    assert_mentions(err.msg, "s=256");

    /* A message that does not fit the caller's buffer is not cut. */
    const int64_t values[] = {3, 3, 0, 0, 1000};
    f = fs_msgproto_lookup_name(p, "config_digital_out");
    assert_int_equal(fs_msgformat_encode(f, out, 6, values, NULL, &err), -1);
    assert_mentions(err.msg, "does not fit");
    assert_int_equal(fs_msgformat_encode(f, out, 7, values, NULL, &err), 7);
    fs_msgproto_free(p);
}

static void expect_decode_error(const struct fs_msgproto *p, const uint8_t *block, size_t len,
                                const char *what1, const char *what2)
{
    const uint8_t *pos = block;
    struct fs_msg m;
    struct fs_error err = {{0}};
    assert_int_equal(fs_msgproto_decode(p, &pos, block + len, &m, &err), -1);
    assert_ptr_equal(pos, block);
    assert_mentions(err.msg, what1);
    assert_mentions(err.msg, what2);
}

static void test_decode_errors_name_message_and_parameter(void **state)
{
    (void)state;
    struct fs_msgproto *p = load_test_dict();
    /* analog_in_state whose buffer claims 5 bytes but carries 2. */
    const uint8_t short_buffer[] = {0x50, 3, 0x80, 0x7b, 5, 0x0a, 0x0b};
    expect_decode_error(p, short_buffer, sizeof(short_buffer), "analog_in_state", "values");
    /* next_clock cut inside its VLQ. */
    const uint8_t cut_int[] = {0x50, 3, 0x87};
    expect_decode_error(p, cut_int, sizeof(cut_int), "truncated", "next_clock");
    const uint8_t unknown[] = {0x4d, 1, 2};
    expect_decode_error(p, unknown, sizeof(unknown), "unknown message id", "77");
    const uint8_t cut_id[] = {0x80};
    expect_decode_error(p, cut_id, sizeof(cut_id), "truncated", "id");
    fs_msgproto_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identify_pair_works_before_any_dictionary),
        cmocka_unit_test(test_dictionary_loads_and_lookups_find_messages),
        cmocka_unit_test(test_every_type_round_trips_at_its_edges),
        cmocka_unit_test(test_decode_extends_each_type_from_32_bits),
        cmocka_unit_test(test_enumerations_with_ranges_map_both_ways),
        cmocka_unit_test(test_constants_numeric_and_string),
        cmocka_unit_test(test_encode_text_maps_pin_names_and_numbers),
        cmocka_unit_test(test_format_text_shows_values_and_buffers_as_hex),
        cmocka_unit_test(test_ids_outside_one_byte_range_still_found),
        cmocka_unit_test(test_second_dictionary_replaces_first),
        cmocka_unit_test(test_bad_dictionaries_are_rejected_and_keep_the_old_one),
        cmocka_unit_test(test_encode_errors_name_message_and_parameter),
        cmocka_unit_test(test_decode_errors_name_message_and_parameter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
