/* The firmware test host: see fw_test_host.h. It talks to the MCU only
 * through bytes, exactly as the real host would, and learns every id from
 * the dictionary the MCU sends; only identify (id 1) is encoded by hand. */
#include "fw_test_host.h"

#include <stdio.h>  /* fprintf, snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memcpy, strcmp */

#include "core/error.h" /* struct fs_error */
#include "mcu/frame.h"  /* fs_frame_encode */
#include "mcu/vlq.h"    /* fs_vlq_encode, fs_vlq_decode */

#define IDENTIFY_CHUNK 40
#define DICT_MAX (256 * 1024)

static void on_output(void *ctx, uint32_t pin, uint32_t value, uint64_t clock, int is_pwm)
{
    struct fw_test_host *h = ctx;
    if (h->output_count >= FW_TEST_MAX_OUTPUTS) {
        h->overflow = 1;
        return;
    }
    h->outputs[h->output_count++] = (struct fw_test_output){pin, value, clock, is_pwm};
}

static void wire_output(void *ctx, uint32_t pin, uint32_t value, uint64_t clock)
{
    on_output(ctx, pin, value, clock, 0);
}

static void wire_pwm(void *ctx, uint32_t pin, uint32_t value, uint64_t clock)
{
    on_output(ctx, pin, value, clock, 1);
}

static uint8_t wire_input(void *ctx, uint32_t pin, uint64_t clock)
{
    struct fw_test_host *h = ctx;
    return pin < FW_TEST_PINS ? h->input_level[pin] : 0;
}

static uint16_t wire_adc(void *ctx, uint32_t pin, uint64_t clock)
{
    struct fw_test_host *h = ctx;
    return pin < FW_TEST_PINS ? h->adc_value[pin] : 0;
}

static void wire_console(void *ctx, const uint8_t *block, uint32_t len, uint64_t clock)
{
    struct fw_test_host *h = ctx;
    if (h->block_count >= FW_TEST_MAX_BLOCKS || len > sizeof(h->blocks[0].bytes)) {
        h->overflow = 1;
        return;
    }
    struct fw_test_block *b = &h->blocks[h->block_count++];
    memcpy(b->bytes, block, len);
    b->len = len;
    b->clock = clock;
}

static void wire_restarted(void *ctx, uint64_t clock)
{
    struct fw_test_host *h = ctx;
    h->restarts++;
    h->seq = 0;
}

void fw_test_host_send_raw(struct fw_test_host *h, const uint8_t *data, size_t len)
{
    fw_sim_mcu_receive(h->mcu, h->clock, data, (uint32_t)len);
}

void fw_test_host_send_content(struct fw_test_host *h, const uint8_t *content, size_t len)
{
    uint8_t block[FS_FRAME_MAX];
    size_t n = fs_frame_encode(block, h->seq, content, len);
    h->seq = (uint8_t)((h->seq + 1) & FS_FRAME_SEQ_MASK);
    fw_test_host_send_raw(h, block, n);
}

/* Reads one identify_response by hand (no dictionary yet): id 0, offset,
 * then a length byte and the data. */
static int parse_identify_response(const struct fw_test_block *b, uint32_t *offset,
                                   const uint8_t **data, uint32_t *len)
{
    const uint8_t *p = b->bytes + 2, *end = b->bytes + b->len - 3;
    uint32_t id;
    if (fs_vlq_decode(&p, end, &id) < 0 || id != 0 || fs_vlq_decode(&p, end, offset) < 0)
        return -1;
    if (p >= end || (size_t)(end - p) < 1u + *p)
        return -1;
    *len = *p;
    *data = p + 1;
    return 0;
}

static int load_dictionary(struct fw_test_host *h)
{
    uint8_t *dict = malloc(DICT_MAX);
    uint32_t size = 0;
    int rc = -1;
    while (dict && size <= DICT_MAX - IDENTIFY_CHUNK) {
        uint8_t content[16];
        size_t n = 0;
        content[n++] = 1; /* identify */
        n += fs_vlq_encode(&content[n], (int32_t)size);
        n += fs_vlq_encode(&content[n], IDENTIFY_CHUNK);
        size_t before = h->block_count;
        fw_test_host_send_content(h, content, n);
        uint32_t offset = 0, len = 0;
        const uint8_t *data = NULL;
        int found = 0;
        for (size_t i = before; i < h->block_count && !found; i++)
            found = h->blocks[i].len > 5 &&
                    parse_identify_response(&h->blocks[i], &offset, &data, &len) == 0;
        if (!found || offset != size) {
            fprintf(stderr, "fw_test_host: no identify_response for offset %u\n", size);
            break;
        }
        if (len == 0) {
            struct fs_error err = {{0}};
            rc = fs_msgproto_load_dictionary(h->proto, dict, size, &err);
            if (rc < 0)
                fprintf(stderr, "fw_test_host: dictionary: %s\n", err.msg);
            break;
        }
        memcpy(dict + size, data, len);
        size += len;
    }
    free(dict);
    h->cursor = h->block_count;
    return rc;
}

struct fw_test_host *fw_test_host_new(void)
{
    struct fw_test_host *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    struct fw_sim_wiring w = {
        .ctx = h,
        .output_changed = wire_output,
        .pwm_changed = wire_pwm,
        .read_input = wire_input,
        .read_adc = wire_adc,
        .console_send = wire_console,
        .restarted = wire_restarted,
    };
    h->mcu = fw_sim_mcu_new(&w);
    h->proto = fs_msgproto_new();
    if (!h->mcu || !h->proto) {
        fw_test_host_free(h);
        return NULL;
    }
    fw_sim_mcu_power_on(h->mcu, 0);
    if (load_dictionary(h) < 0) {
        fw_test_host_free(h);
        return NULL;
    }
    return h;
}

void fw_test_host_free(struct fw_test_host *h)
{
    if (!h)
        return;
    if (h->mcu)
        fw_sim_mcu_free(h->mcu);
    if (h->proto)
        fs_msgproto_free(h->proto);
    free(h);
}

int fw_test_host_setup(void **state)
{
    struct fw_test_host *h = fw_test_host_new();
    if (!h)
        return -1;
    *state = h;
    return 0;
}

int fw_test_host_teardown(void **state)
{
    fw_test_host_free(*state);
    return 0;
}

struct fw_test_host *fw_test_host_new_outputs(uint32_t max_duration)
{
    struct fw_test_host *h = fw_test_host_new();
    if (!h)
        return NULL;
    char cmd[240];
    snprintf(cmd, sizeof(cmd),
             "allocate_oids count=2;"
             "config_digital_out oid=0 pin=PA7 value=0 default_value=0 max_duration=%u;"
             "config_pwm_out oid=1 pin=PA9 cycle_ticks=1000 value=0 default_value=0"
             " max_duration=%u;finalize_config crc=1",
             max_duration, max_duration);
    if (fw_test_host_send(h, cmd) < 0) {
        fw_test_host_free(h);
        return NULL;
    }
    return h;
}

int fw_test_host_encode(struct fw_test_host *h, const char *text, uint8_t *out, size_t cap)
{
    struct fs_error err = {{0}};
    int n = fs_msgproto_encode_text(h->proto, text, out, cap, &err);
    if (n < 0)
        fprintf(stderr, "fw_test_host: '%s': %s\n", text, err.msg);
    return n;
}

int fw_test_host_send(struct fw_test_host *h, const char *text)
{
    uint8_t content[FS_FRAME_CONTENT_MAX];
    size_t used = 0;
    char line[256];
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ";\n");
        if (n >= sizeof(line)) {
            fprintf(stderr, "fw_test_host: command too long: %s\n", p);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (p[n] != '\0');
        if (strspn(line, " ") == n)
            continue;
        int len = fw_test_host_encode(h, line, content + used, sizeof(content) - used);
        if (len < 0)
            return -1;
        used += (size_t)len;
    }
    fw_test_host_send_content(h, content, used);
    return 0;
}

void fw_test_host_run_until(struct fw_test_host *h, uint64_t clock)
{
    fw_sim_mcu_run(h->mcu, clock);
    if (clock > h->clock)
        h->clock = clock;
}

void fw_test_host_run_events_until(struct fw_test_host *h, uint64_t clock)
{
    uint64_t wake;
    while (fw_sim_mcu_next_wake(h->mcu, &wake) && wake <= clock)
        fw_test_host_run_until(h, wake);
    fw_test_host_run_until(h, clock);
}

int fw_test_host_next(struct fw_test_host *h, struct fs_msg *out)
{
    while (h->cursor < h->block_count) {
        const struct fw_test_block *b = &h->blocks[h->cursor++];
        if (b->len <= 5)
            continue;
        const uint8_t *p = b->bytes + 2;
        struct fs_error err = {{0}};
        if (fs_msgproto_decode(h->proto, &p, b->bytes + b->len - 3, out, &err) < 0) {
            fprintf(stderr, "fw_test_host: undecodable response: %s\n", err.msg);
            return -1;
        }
        return 0;
    }
    if (h->overflow)
        fprintf(stderr, "fw_test_host: record lists overflowed\n");
    return -1;
}

int fw_test_host_find(struct fw_test_host *h, const char *name, struct fs_msg *out)
{
    while (fw_test_host_next(h, out) == 0)
        if (strcmp(out->format->name, name) == 0)
            return 0;
    return -1;
}

void fw_test_host_mark(struct fw_test_host *h)
{
    h->cursor = h->block_count;
}

int fw_test_host_query(struct fw_test_host *h, const char *cmd, const char *resp_name,
                       struct fs_msg *out)
{
    fw_test_host_mark(h);
    if (fw_test_host_send(h, cmd) < 0)
        return -1;
    return fw_test_host_find(h, resp_name, out);
}

const char *fw_test_host_shutdown_reason(struct fw_test_host *h, char *buf, size_t cap)
{
    struct fs_msg msg;
    if (fw_test_host_find(h, "shutdown", &msg) < 0)
        return "";
    int32_t id = (int32_t)fs_msg_get(&msg, "static_string_id", -1);
    const char *name = fs_msgproto_enum_name(h->proto, "static_string_id", id, buf, cap);
    return name ? name : "";
}

size_t fw_test_host_count_acks(const struct fw_test_host *h, int *last_seq)
{
    size_t n = 0;
    for (size_t i = h->cursor; i < h->block_count; i++) {
        if (h->blocks[i].len != 5)
            continue;
        n++;
        if (last_seq)
            *last_seq = h->blocks[i].bytes[1] & FS_FRAME_SEQ_MASK;
    }
    return n;
}

size_t fw_test_host_pin_changes(const struct fw_test_host *h, uint32_t pin)
{
    size_t n = 0;
    for (size_t i = 0; i < h->output_count; i++)
        n += h->outputs[i].pin == pin;
    return n;
}

const struct fw_test_output *fw_test_host_pin_change(const struct fw_test_host *h, uint32_t pin,
                                                     size_t n)
{
    for (size_t i = 0; i < h->output_count; i++)
        if (h->outputs[i].pin == pin && n-- == 0)
            return &h->outputs[i];
    return NULL;
}

size_t fw_test_host_pin_history(const struct fw_test_host *h, uint32_t pin,
                                struct fw_test_change *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < h->output_count; i++) {
        if (h->outputs[i].pin != pin)
            continue;
        if (n < cap)
            out[n] = (struct fw_test_change){h->outputs[i].clock, h->outputs[i].value};
        n++;
    }
    return n;
}

uint32_t fw_test_host_pin_level(const struct fw_test_host *h, uint32_t pin)
{
    for (size_t i = h->output_count; i > 0; i--)
        if (h->outputs[i - 1].pin == pin)
            return h->outputs[i - 1].value;
    return 0;
}

int32_t fw_test_host_enum(const struct fw_test_host *h, const char *enumeration,
                          const char *name)
{
    int32_t v;
    return fs_msgproto_enum_value(h->proto, enumeration, name, &v) == 0 ? v : -1;
}

void fw_test_host_forget_pin_changes(struct fw_test_host *h)
{
    h->output_count = 0;
}
