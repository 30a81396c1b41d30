/* What mcu.c and mcu_reconnect.c share: the MCU object's layout and the
 * steps of connect and configure that a reconnect runs again. Not for use
 * outside engine/mcu. */
#ifndef FS_MCU_INTERNAL_H
#define FS_MCU_INTERNAL_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint32_t */

#include "mcu/clocksync.h" /* struct fs_clocksync */
#include "mcu/mcu.h"       /* struct fs_mcu, callbacks */

#define MCU_NAME_MAX 32
#define MCU_IDENTIFY_CHUNK 40
#define MCU_DICTIONARY_MAX (1u << 20)
#define MCU_QUERY_RETRY_S 0.25
#define MCU_MAX_CONFIG_CMDS 1024
#define MCU_MAX_HANDLERS 256
#define MCU_MAX_CONFIGURED_FNS 64
/* A clock answer further behind the estimate at its query than this, or
 * ahead of the estimate at its arrival by more than MCU_CLOCK_AHEAD_S,
 * comes from a clock that started again. */
#define MCU_CLOCK_LATE_S 3.0
#define MCU_CLOCK_AHEAD_S 0.5

struct response_handler {
    const struct fs_msgformat *format;
    int oid;
    fs_mcu_response_fn fn;
    void *arg;
};

struct pending_query {
    const struct fs_msgformat *format;
    int oid;
    int has_offset; /* identify_response: match the offset asked for */
    int64_t offset;
    struct fs_mcu_reply *reply;
    int done;
};

struct fs_mcu {
    char name[MCU_NAME_MAX];
    struct fs_reactor *reactor;
    struct fs_transport *transport;
    const struct fs_logger *log;
    struct fs_link *link;
    struct fs_msgproto *proto;
    struct fs_clocksync clock;
    int connected;
    double clock_freq;
    char identity[256];
    struct fs_mcu_state state;
    /* The dictionary as read at connect: a reconnect must find the same
     * firmware (zlib crc32 of the compressed bytes, and their length). */
    uint32_t dict_crc;
    size_t dict_size;
    /* Set when the MCU announced a restart (or answers with a sequence we
     * never sent); cleared by a reconnect. */
    int restarted;
    /* Between the link reset and the end of a reconnect: objects' commands
     * are refused, so that none reaches an MCU before its oids exist. */
    int reconnecting;
    /* A reconnect failed half way: what the MCU holds is unknown. */
    int reconnect_failed;
    uint64_t acks_out_of_range_seen; /* link's count at connect or reconnect */
    int foreign_clocks;              /* clock answers in a row that are not ours */

    fs_mcu_event_fn event_fn;
    void *event_arg;

    struct response_handler handlers[MCU_MAX_HANDLERS];
    int handler_count;
    struct pending_query *query;

    /* The clock query in flight: its send time pairs with the answer. */
    double clock_query_sent;

    int oid_count;
    char **config_cmds;
    int config_count;
    uint32_t config_crc;
    struct { fs_mcu_configured_fn fn; void *arg; } configured[MCU_MAX_CONFIGURED_FNS];
    int configured_count;
    /* where: "printer.cfg:58: [stepper_x]", so that a pin the dictionary
     * does not know is reported against the line that named it. */
    struct { fs_mcu_build_config_fn fn; void *arg; char *where; } builders[MCU_MAX_CONFIGURED_FNS];
    int builder_count;
    int config_built;
    struct { fs_mcu_reset_fn fn; void *arg; } resets[MCU_MAX_CONFIGURED_FNS];
    int reset_count;

    const struct fs_msgformat *fmt_get_clock;
};

/* The raw (compressed) dictionary, identify chunk by chunk; the caller
 * frees *data. */
int fs_mcu_read_dictionary_data(struct fs_mcu *m, double timeout_s, uint8_t **data,
                                size_t *size, struct fs_error *err);
/* get_uptime, then clock sync (re)connected and its periodic queries
 * started. */
int fs_mcu_start_clock(struct fs_mcu *m, double timeout_s, struct fs_error *err);
/* get_config into m->state. */
int fs_mcu_read_config_state(struct fs_mcu *m, double timeout_s, struct fs_error *err);
/* allocate_oids, the config commands, finalize_config, then checks that the
 * MCU took them (is_config and our crc). */
int fs_mcu_send_configuration(struct fs_mcu *m, double timeout_s, struct fs_error *err);
/* The configured callbacks, in registration order. */
int fs_mcu_run_configured(struct fs_mcu *m, struct fs_error *err);
/* A command line on the default queue, bypassing the reconnect gate. */
int fs_mcu_send_line(struct fs_mcu *m, const char *text, struct fs_error *err);

#endif
