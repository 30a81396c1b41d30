/* The console: blocks in from the host (framing, sequence, acks), commands
 * dispatched to their handlers, responses encoded and framed out, and the
 * ids of every declared message and static string.
 *
 * Received bytes are only buffered by fw_console_receive; the console task
 * takes whole blocks out of the buffer. An accepted block is copied out and
 * removed *before* its commands run, so a shutdown that unwinds out of a
 * handler leaves the buffer consistent, and the sequence number already
 * advanced: a block is run at most once even if the host retransmits it.
 *
 * Ids are ranks: a message's id is 2 + the rank of its format string among
 * the sorted, de-duplicated formats of all commands and responses (0 and 1
 * are the fixed identify pair). The dictionary generator computes the same
 * ranks independently, so no id list is kept by hand. */
#include <stdarg.h> /* va_list for fw_response_send */
#include <string.h> /* memcpy, memmove, memchr, strcmp */

#include "basecmd.h"  /* fw_is_finalized */
#include "command.h"  /* declarations, struct fw_args */
#include "crc16.h"    /* fw_crc16 */
#include "hal.h"      /* hal_instance, hal_console_send */
#include "instance.h" /* struct fw_instance */
#include "sched.h"    /* fw_shutdown, FW_DECL_TASK */
#include "sections.h" /* FW_SECTION_EACH */
#include "vlq.h"      /* fw_vlq_encode, fw_vlq_decode */

#define BLOCK_MIN 5
#define BLOCK_MAX 64
#define BLOCK_CONTENT_MAX (BLOCK_MAX - BLOCK_MIN)
#define BLOCK_SYNC 0x7e
#define BLOCK_SEQ_DEST 0x10
#define BLOCK_SEQ_MASK 0x0f

FW_DECL_CONSTANT("RECEIVE_WINDOW", FW_RX_BUF_SIZE);

/* ---- ids ---- */

static const char *const fixed_formats[2] = {
    "identify_response offset=%u data=%.*s",
    "identify offset=%u count=%c",
};

static int fixed_id(const char *format)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(format, fixed_formats[i]) == 0)
            return i;
    return -1;
}

/* The n-th format of the union of commands and responses, or NULL. */
static const char *nth_format(uint32_t n)
{
    uint32_t ncmds = FW_SECTION_COUNT(fw_cmds);
    if (n < ncmds)
        return __start_fw_cmds[n]->format;
    n -= ncmds;
    if (n < FW_SECTION_COUNT(fw_resps))
        return __start_fw_resps[n]->format;
    return NULL;
}

/* Whether format n is the first occurrence of its text (de-duplication). */
static int is_first_occurrence(uint32_t n)
{
    const char *f = nth_format(n);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(nth_format(i), f) == 0)
            return 0;
    return 1;
}

static int16_t rank_id(const char *format)
{
    int fixed = fixed_id(format);
    if (fixed >= 0)
        return (int16_t)fixed;
    int16_t rank = 2;
    const char *f;
    for (uint32_t i = 0; (f = nth_format(i)); i++)
        if (fixed_id(f) < 0 && strcmp(f, format) < 0 && is_first_occurrence(i))
            rank++;
    return rank;
}

void fw_command_assign_ids(void)
{
    /* The ranks depend only on what was linked in, so every instance gets
     * the same answer; computing them once is enough. */
    struct fw_command_decl *const *c;
    struct fw_response_decl *const *r;
    for (FW_SECTION_EACH(c, fw_cmds))
        if ((*c)->id < 0)
            (*c)->id = rank_id((*c)->format);
    for (FW_SECTION_EACH(r, fw_resps))
        if ((*r)->id < 0)
            (*r)->id = rank_id((*r)->format);
}

uint16_t fw_static_string_id(const struct fw_static_string_decl *s)
{
    /* Rank among distinct texts; computed on demand, it is only needed when
     * shutting down. */
    uint16_t rank = 0;
    const struct fw_static_string_decl *const *p;
    for (FW_SECTION_EACH(p, fw_strs)) {
        if (strcmp((*p)->text, s->text) >= 0)
            continue;
        const struct fw_static_string_decl *const *q;
        int first = 1;
        for (q = __start_fw_strs; q < p; q++)
            if (strcmp((*q)->text, (*p)->text) == 0)
                first = 0;
        rank = (uint16_t)(rank + first);
    }
    return rank;
}

/* ---- sending ---- */

static void send_block(struct fw_instance *inst, const uint8_t *content, uint32_t len)
{
    uint8_t block[BLOCK_MAX];
    uint32_t total = len + BLOCK_MIN;
    block[0] = (uint8_t)total;
    block[1] = (uint8_t)(BLOCK_SEQ_DEST | (inst->rx_seq & BLOCK_SEQ_MASK));
    if (len)
        memcpy(&block[2], content, len);
    uint16_t crc = fw_crc16(block, len + 2);
    block[len + 2] = (uint8_t)(crc >> 8);
    block[len + 3] = (uint8_t)crc;
    block[len + 4] = BLOCK_SYNC;
    hal_console_send(block, total);
}

/* Appends one parameter. The block has room for 59 bytes of content; a
 * buffer that does not fit is shortened (identify chunks rely on this) and
 * an integer that does not fit is left out, so a response is never written
 * past its block. */
static uint32_t encode_param(uint8_t *out, uint32_t used, char type, va_list *ap)
{
    uint32_t room = BLOCK_CONTENT_MAX - used;
    if (type == 's' || type == '*') {
        const uint8_t *bytes;
        int32_t n;
        if (type == 's') {
            const char *str = va_arg(*ap, const char *);
            bytes = (const uint8_t *)str;
            n = str ? (int32_t)strlen(str) : 0;
        } else {
            n = va_arg(*ap, int);
            bytes = va_arg(*ap, const uint8_t *);
        }
        if (room == 0)
            return 0;
        if (n < 0 || !bytes)
            n = 0;
        if ((uint32_t)n > room - 1)
            n = (int32_t)(room - 1);
        out[used] = (uint8_t)n;
        if (n)
            memcpy(&out[used + 1], bytes, (uint32_t)n);
        return (uint32_t)n + 1;
    }
    uint8_t vlq[FW_VLQ_MAX];
    uint32_t len = fw_vlq_encode(vlq, (uint32_t)va_arg(*ap, int));
    if (len > room)
        return 0;
    memcpy(&out[used], vlq, len);
    return len;
}

/* Reads the conversion at *fmt (just past '%'): returns 's' for %s, '*'
 * for %*s and %.*s, 'i' for any integer, 0 for an unknown one. */
static char parse_conversion(const char **fmt)
{
    const char *f = *fmt;
    if (f[0] == '*' && f[1] == 's') {
        *fmt = f + 2;
        return '*';
    }
    if (f[0] == '.' && f[1] == '*' && f[2] == 's') {
        *fmt = f + 3;
        return '*';
    }
    if (f[0] == 'h')
        f++;
    switch (*f) {
    case 'u': case 'i': case 'c':
        *fmt = f + 1;
        return 'i';
    case 's':
        *fmt = f + 1;
        return 's';
    }
    return 0;
}

void fw_response_send(const struct fw_response_decl *resp, ...)
{
    struct fw_instance *inst = hal_instance();
    uint8_t content[BLOCK_CONTENT_MAX];
    uint32_t used = fw_vlq_encode(content, (uint32_t)resp->id);
    va_list ap;
    va_start(ap, resp);
    for (const char *f = resp->format; *f;) {
        if (*f++ != '%')
            continue;
        char type = parse_conversion(&f);
        if (!type)
            break;
        used += encode_param(content, used, type, &ap);
    }
    va_end(ap);
    send_block(inst, content, used);
}

/* ---- receiving ---- */

void fw_console_receive(const uint8_t *data, uint32_t len)
{
    struct fw_instance *inst = hal_instance();
    inst->tasks_pending = 1;
    uint32_t room = FW_RX_BUF_SIZE - inst->rx_used;
    /* Bytes beyond the buffer are dropped; the host retransmits blocks it
     * has no ack for. */
    if (len > room)
        len = room;
    if (len == 0)
        return;
    memcpy(&inst->rx_buf[inst->rx_used], data, len);
    inst->rx_used = (uint16_t)(inst->rx_used + len);
}

void fw_console_reset(void)
{
    struct fw_instance *inst = hal_instance();
    inst->rx_used = 0;
    inst->rx_seq = 0;
    inst->rx_need_sync = 0;
    inst->rx_nak_sent = 0;
}

static void rx_pop(struct fw_instance *inst, uint32_t n)
{
    if (n > inst->rx_used)
        n = inst->rx_used;
    memmove(inst->rx_buf, &inst->rx_buf[n], inst->rx_used - n);
    inst->rx_used = (uint16_t)(inst->rx_used - n);
}

static void send_ack(struct fw_instance *inst)
{
    send_block(inst, NULL, 0);
}

/* A nak is an ack of the sequence still expected; one per error episode so
 * a burst of blocks after a lost one does not trigger a retransmit each. */
static void send_nak(struct fw_instance *inst)
{
    if (inst->rx_nak_sent)
        return;
    inst->rx_nak_sent = 1;
    send_ack(inst);
}

static const struct fw_command_decl *find_command(uint32_t id)
{
    struct fw_command_decl *const *c;
    for (FW_SECTION_EACH(c, fw_cmds))
        if ((uint32_t)(*c)->id == id)
            return *c;
    return NULL;
}

/* Decodes the parameters of one command; returns the position after it, or
 * NULL when the message is truncated or malformed. */
static const uint8_t *parse_args(const char *format, const uint8_t *p, const uint8_t *end,
                                 struct fw_args *args)
{
    uint32_t n = 0;
    for (const char *f = format; *f;) {
        if (*f++ != '%')
            continue;
        char type = parse_conversion(&f);
        if (!type || n >= FW_MAX_PARAMS)
            return NULL;
        if (type == 'i') {
            if (fw_vlq_decode(&p, end, &args->v[n]) < 0)
                return NULL;
            args->data[n++] = NULL;
            continue;
        }
        if (p >= end || (uint32_t)(end - p) < 1u + *p)
            return NULL;
        args->v[n] = *p;
        args->data[n++] = p + 1;
        p += 1 + args->v[n - 1];
    }
    return p;
}

static void dispatch(struct fw_instance *inst, const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint32_t id;
        if (fw_vlq_decode(&p, end, &id) < 0)
            fw_shutdown("Command parser error");
        /* Ids above 95 travel as negative one-byte values. */
        const struct fw_command_decl *cmd = find_command(id & 0x7f);
        if (!cmd)
            fw_shutdown("Invalid command");
        struct fw_args args;
        memset(&args, 0, sizeof(args));
        p = parse_args(cmd->format, p, end, &args);
        if (!p)
            fw_shutdown("Command parser error");
        if (inst->is_shutdown && !(cmd->flags & FW_HF_IN_SHUTDOWN)) {
            fw_sendf("is_shutdown static_string_id=%hu", inst->shutdown_reason);
            continue;
        }
        cmd->handler(&args);
    }
}

/* Checks the block at the start of the buffer. Returns its length when it
 * is whole and valid, 0 when more bytes are needed, -1 when it is bad. */
static int check_block(const struct fw_instance *inst)
{
    const uint8_t *b = inst->rx_buf;
    uint32_t len = b[0];
    if (len < BLOCK_MIN || len > BLOCK_MAX)
        return -1;
    if (inst->rx_used < len)
        return 0;
    if ((b[1] & ~BLOCK_SEQ_MASK) != BLOCK_SEQ_DEST || b[len - 1] != BLOCK_SYNC)
        return -1;
    uint16_t crc = fw_crc16(b, len - 3);
    if (b[len - 3] != (uint8_t)(crc >> 8) || b[len - 2] != (uint8_t)crc)
        return -1;
    return (int)len;
}

/* Drops bytes through the next sync byte; returns 0 if none is buffered
 * yet (everything was dropped and we keep looking). */
static int resync(struct fw_instance *inst)
{
    const uint8_t *sync = memchr(inst->rx_buf, BLOCK_SYNC, inst->rx_used);
    if (!sync) {
        inst->rx_used = 0;
        inst->rx_need_sync = 1;
        return 0;
    }
    rx_pop(inst, (uint32_t)(sync - inst->rx_buf) + 1);
    inst->rx_need_sync = 0;
    return 1;
}

/* Handles the front of the buffer; returns 0 when it needs more bytes. */
static int console_step(struct fw_instance *inst)
{
    if (inst->rx_used == 0)
        return 0;
    if (inst->rx_need_sync) {
        if (!resync(inst))
            return 0;
        send_nak(inst);
        return 1;
    }
    if (inst->rx_buf[0] == BLOCK_SYNC) {
        /* A lone sync byte between blocks is how hosts flush the line;
         * it is not an error. */
        rx_pop(inst, 1);
        return 1;
    }
    int len = check_block(inst);
    if (len == 0)
        return 0;
    if (len < 0) {
        inst->rx_need_sync = 1;
        return 1;
    }
    uint8_t seq = inst->rx_buf[1] & BLOCK_SEQ_MASK;
    if (seq != inst->rx_seq) {
        rx_pop(inst, (uint32_t)len);
        send_nak(inst);
        return 1;
    }
    uint8_t content[BLOCK_CONTENT_MAX];
    uint32_t clen = (uint32_t)len - BLOCK_MIN;
    memcpy(content, &inst->rx_buf[2], clen);
    rx_pop(inst, (uint32_t)len);
    inst->rx_seq = (uint8_t)((inst->rx_seq + 1) & BLOCK_SEQ_MASK);
    inst->rx_nak_sent = 0;
    send_ack(inst);
    dispatch(inst, content, content + clen);
    return 1;
}

static void fw_console_task(void)
{
    struct fw_instance *inst = hal_instance();
    while (console_step(inst))
        ;
}
FW_DECL_TASK(fw_console_task);
