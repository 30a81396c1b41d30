/* A small host for firmware tests: one sim MCU with recording wiring, a
 * dictionary read from the MCU itself with `identify`, commands sent as
 * text ("queue_step oid=1 interval=100 count=5 add=0") in blocks with the
 * right sequence, and the MCU's responses decoded for the test to check.
 *
 * Everything is bounded: when a record list is full, later entries are
 * dropped and `overflow` is set, which fw_test_host_* lookups report. */
#ifndef FW_TEST_HOST_H
#define FW_TEST_HOST_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "fw_sim.h"       /* struct fw_sim_mcu */
#include "mcu/msgproto.h" /* struct fs_msgproto, struct fs_msg */

#define FW_TEST_MAX_BLOCKS 4096
#define FW_TEST_MAX_OUTPUTS 8192
#define FW_TEST_PINS 64

struct fw_test_block {
    uint8_t bytes[64];
    uint32_t len;
    uint64_t clock;
};

struct fw_test_output {
    uint32_t pin;
    uint32_t value;
    uint64_t clock;
    int is_pwm;
};

/* One change of one pin, as fw_test_host_pin_history lists them. */
struct fw_test_change {
    uint64_t clock;
    uint32_t value;
};

struct fw_test_host {
    struct fw_sim_mcu *mcu;
    struct fs_msgproto *proto;
    uint64_t clock;   /* the clock commands are delivered at */
    uint8_t seq;      /* sequence of the next block sent */

    /* Every block from the MCU (acks included), in order. */
    struct fw_test_block blocks[FW_TEST_MAX_BLOCKS];
    size_t block_count;
    size_t cursor; /* next block fw_test_host_next looks at */
    /* Every output or PWM change, in order. */
    struct fw_test_output outputs[FW_TEST_MAX_OUTPUTS];
    size_t output_count;
    int overflow;
    int restarts;

    /* What inputs read: set these before the MCU samples them. */
    uint8_t input_level[FW_TEST_PINS];
    uint16_t adc_value[FW_TEST_PINS];
};

/* Creates the MCU, powers it on at clock 0 and loads its dictionary.
 * Returns NULL (and prints why) on failure. */
struct fw_test_host *fw_test_host_new(void);
void fw_test_host_free(struct fw_test_host *h);
/* A fresh host per test, in the shape of cmocka's setup and teardown
 * functions: the host goes into *state; setup fails when it cannot be
 * made. */
int fw_test_host_setup(void **state);
int fw_test_host_teardown(void **state);
/* A host whose MCU has digital out 0 on PA7 (off, default off) and PWM out
 * 1 on PA9 (duty 0, default 0), both with this max_duration, configured
 * and finalized: the outputs the digital and hardware PWM tests share.
 * Returns NULL (and prints why) on failure. */
struct fw_test_host *fw_test_host_new_outputs(uint32_t max_duration);

/* Bytes straight onto the wire at h->clock. */
void fw_test_host_send_raw(struct fw_test_host *h, const uint8_t *data, size_t len);
/* One block holding content, with h->seq, which then advances. */
void fw_test_host_send_content(struct fw_test_host *h, const uint8_t *content, size_t len);
/* Encodes the commands (separated by ';' or newlines) into one block and
 * sends it. Returns 0, or -1 (printing why) if a command does not encode or
 * they do not fit one block. */
int fw_test_host_send(struct fw_test_host *h, const char *text);
/* Encodes one command into out (no framing); returns its length or -1. */
int fw_test_host_encode(struct fw_test_host *h, const char *text, uint8_t *out, size_t cap);

/* Runs the MCU's timers and tasks up to clock; h->clock becomes clock. */
void fw_test_host_run_until(struct fw_test_host *h, uint64_t clock);
/* The same, timer by timer: tasks (and their reports) run at each timer's
 * clock, as they do in the simulator's event loop. */
void fw_test_host_run_events_until(struct fw_test_host *h, uint64_t clock);

/* Decodes the next response (not an ack) after the cursor, advancing it;
 * returns 0, or -1 when there is none. */
int fw_test_host_next(struct fw_test_host *h, struct fs_msg *out);
/* The next response named name after the cursor (others are skipped);
 * returns 0 or -1. */
int fw_test_host_find(struct fw_test_host *h, const char *name, struct fs_msg *out);
/* Skips everything received so far. */
void fw_test_host_mark(struct fw_test_host *h);
/* Sends one command and finds the named response to it. */
int fw_test_host_query(struct fw_test_host *h, const char *cmd, const char *resp_name,
                       struct fs_msg *out);

/* The reason of the next shutdown response after the cursor (advancing
 * it), as its static string, written into buf; "" when there is none. */
const char *fw_test_host_shutdown_reason(struct fw_test_host *h, char *buf, size_t cap);

/* Acks (empty blocks) after the cursor, and the seq nibble of the last. */
size_t fw_test_host_count_acks(const struct fw_test_host *h, int *last_seq);
/* How many output changes were recorded for a pin, and the n-th of them
 * (from 0; NULL when there are fewer). */
size_t fw_test_host_pin_changes(const struct fw_test_host *h, uint32_t pin);
/* Forgets the pin changes recorded so far (those of configuration, where
 * every output is driven to its initial value). */
void fw_test_host_forget_pin_changes(struct fw_test_host *h);
const struct fw_test_output *fw_test_host_pin_change(const struct fw_test_host *h, uint32_t pin,
                                                     size_t n);
/* The recorded changes of one pin, in order: the first cap of them go to
 * out; returns how many there are. */
size_t fw_test_host_pin_history(const struct fw_test_host *h, uint32_t pin,
                                struct fw_test_change *out, size_t cap);
/* The pin's level after the last recorded change (0 if none). */
uint32_t fw_test_host_pin_level(const struct fw_test_host *h, uint32_t pin);
/* The value of a dictionary enumeration name ("pin", "PA3"), or -1. */
int32_t fw_test_host_enum(const struct fw_test_host *h, const char *enumeration,
                          const char *name);

#endif
