/* One MCU as the engine sees it: the link, its data dictionary, its clock,
 * its configuration and the routing of its messages.
 *
 * Lifecycle: fs_mcu_new over a transport; fs_mcu_connect (identify: read the
 * dictionary; log app, version and build; uptime and clock sync; read the
 * configuration state); objects ask for oids and add config commands;
 * fs_mcu_configure (allocate_oids, config commands, finalize_config with a
 * CRC of the commands — or reuse when the MCU already holds a configuration
 * with the same CRC); then commands and responses flow.
 *
 * Nothing here decides to shut anything down: a shutdown, a restart or a
 * lost MCU is reported to the event handler with its reason, and the caller
 * (later the fault module) decides. A lost, shut-down or restarted MCU is
 * brought back with fs_mcu_reconnect while the others keep running. */
#ifndef FS_MCU_H
#define FS_MCU_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "mcu/link.h"     /* struct fs_link_queue */
#include "mcu/msgproto.h" /* struct fs_msg, struct fs_msgformat */

struct fs_error;
struct fs_logger;
struct fs_reactor;
struct fs_transport;

struct fs_mcu;

enum fs_mcu_event {
    FS_MCU_EVENT_SHUTDOWN,  /* the MCU shut down; detail is its reason */
    FS_MCU_EVENT_LOST,      /* clock queries went unanswered */
    FS_MCU_EVENT_RECOVERED, /* answers again after being lost */
    FS_MCU_EVENT_RESTARTED, /* it announced a restart on its own */
};

typedef void (*fs_mcu_event_fn)(void *arg, struct fs_mcu *m, enum fs_mcu_event event,
                                const char *detail, double eventtime);
/* A response; msg's buffers point into the received block and are valid
 * only during the call. */
typedef void (*fs_mcu_response_fn)(void *arg, const struct fs_msg *msg, double receive_time);
/* Called by fs_mcu_configure before the configuration is sent or checked:
 * modules create their oids and config commands here, once the MCU's
 * clock frequency and dictionary are known. Called only the first time. */
typedef int (*fs_mcu_build_config_fn)(void *arg, struct fs_mcu *m, struct fs_error *err);
/* Called after every successful fs_mcu_configure: objects start their
 * periodic commands (queries with clocks in the future) here. */
typedef int (*fs_mcu_configured_fn)(void *arg, struct fs_mcu *m, struct fs_error *err);

/* Called by fs_mcu_reconnect once the MCU is identified and its clock
 * synchronised again, before its configuration is sent (or reused) and the
 * configured callbacks run. state_lost: the MCU's objects were made afresh
 * (it restarted, or was shut down and got config_reset), so whatever they
 * held is gone: outputs at their defaults, steppers idle at position 0,
 * queues empty. Objects whose host state mirrors the MCU's reset it here;
 * the MCU must not be sent anything from this callback. */
typedef void (*fs_mcu_reset_fn)(void *arg, struct fs_mcu *m, int state_lost);

struct fs_mcu_state {
    int is_config;
    uint32_t crc;
    int is_shutdown;
    uint16_t move_count;
    char shutdown_reason[128];
};

/* A reply kept beyond the receive call (fs_mcu_query). */
struct fs_mcu_reply {
    struct fs_msg msg;
    uint8_t content[64];
    double receive_time;
};

struct fs_mcu *fs_mcu_new(struct fs_reactor *reactor, struct fs_transport *transport,
                          const char *name, const struct fs_logger *log,
                          struct fs_error *err);
void fs_mcu_free(struct fs_mcu *m);
const char *fs_mcu_name(const struct fs_mcu *m);

void fs_mcu_set_event_handler(struct fs_mcu *m, fs_mcu_event_fn fn, void *arg);

/* Identify, clock sync, configuration state. Errors name the MCU. */
int fs_mcu_connect(struct fs_mcu *m, double timeout_s, struct fs_error *err);
int fs_mcu_is_connected(const struct fs_mcu *m);
const struct fs_mcu_state *fs_mcu_state(const struct fs_mcu *m);

/* A secondary MCU's print time follows the primary's clock. */
void fs_mcu_set_primary(struct fs_mcu *m, const struct fs_mcu *primary);

/* Configuration, before fs_mcu_configure. */
int fs_mcu_create_oid(struct fs_mcu *m);
int fs_mcu_add_config_cmd(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fs_mcu_on_build_config(struct fs_mcu *m, fs_mcu_build_config_fn fn, void *arg,
                           struct fs_error *err);
/* The same with the configuration place the commands come from
 * ("printer.cfg:58: [stepper_x]", copied; NULL for none): a failing builder
 * or a command the MCU cannot encode (an unknown pin) is reported as
 * "printer.cfg:58: [stepper_x]: mcu 'mcu': 'config_stepper': step_pin=PZ99
 * is not a 'pin' name the MCU knows". */
int fs_mcu_on_build_config_at(struct fs_mcu *m, const char *where, fs_mcu_build_config_fn fn,
                              void *arg, struct fs_error *err);
int fs_mcu_on_configured(struct fs_mcu *m, fs_mcu_configured_fn fn, void *arg,
                         struct fs_error *err);
int fs_mcu_configure(struct fs_mcu *m, double timeout_s, struct fs_error *err);
uint32_t fs_mcu_config_crc(const struct fs_mcu *m);
int fs_mcu_on_reset(struct fs_mcu *m, fs_mcu_reset_fn fn, void *arg, struct fs_error *err);

/* Brings back a lost, shut-down or restarted MCU without touching the
 * others: the link is reset (blocks still unacknowledged are dropped, the
 * MCU's sequence adopted again), identify runs again and must find the same
 * firmware (the dictionary's crc32 and size; otherwise "version mismatch"),
 * clock sync restarts (a secondary's print time mapping is re-anchored on
 * the primary), the configuration state is read; a shut-down MCU gets
 * config_reset (or `reset` and identify again when config_reset is absent);
 * the reset callbacks run; the configuration is sent again unless the MCU
 * still holds it (same crc, not shut down); then the configured callbacks
 * run. Objects' own commands (fs_mcu_send, fs_mcu_send_text) are refused
 * while it runs. A primary MCU whose clock went back (it restarted) cannot
 * be reconnected: the printer's timeline is its clock. On failure clock
 * queries go on and the MCU still needs a reconnect. The caller lets the
 * moves queued for its steppers finish first (their steps are dropped).
 * Returns 0, -1, or FS_MCU_RECONNECT_VERSION (also below 0) when it now
 * runs another firmware. */
#define FS_MCU_RECONNECT_VERSION (-2)
int fs_mcu_reconnect(struct fs_mcu *m, double timeout_s, struct fs_error *err);
/* Clock queries unanswered (cleared by answers or a reconnect). */
int fs_mcu_is_lost(const struct fs_mcu *m);
/* It announced, or showed, a restart since connect or the last reconnect. */
int fs_mcu_has_restarted(const struct fs_mcu *m);
/* Any reason to reconnect: lost, shut down, restarted, or a reconnect that
 * failed half way. */
int fs_mcu_needs_reconnect(const struct fs_mcu *m);

/* Messages. Formats are looked up by their exact text (never by assumed
 * id); lookups fail with an error naming the MCU and the format. */
const struct fs_msgformat *fs_mcu_lookup_command(struct fs_mcu *m, const char *format,
                                                 struct fs_error *err);
int fs_mcu_register_response(struct fs_mcu *m, const char *format, int oid,
                             fs_mcu_response_fn fn, void *arg, struct fs_error *err);
struct fs_link_queue *fs_mcu_queue_new(struct fs_mcu *m);
/* Sends an encoded command; q NULL means the default queue. */
int fs_mcu_send(struct fs_mcu *m, const struct fs_msgformat *f, const int64_t *values,
                struct fs_link_queue *q, uint64_t min_clock, uint64_t req_clock,
                struct fs_error *err);
/* Sends "name key=value ..." at once. */
int fs_mcu_send_text(struct fs_mcu *m, const char *text, struct fs_error *err);
/* Sends a command and waits for the response with the given format (and
 * oid, or -1 for any), resending while none comes, until timeout_s. */
int fs_mcu_query(struct fs_mcu *m, const char *text, const char *response_format, int oid,
                 struct fs_mcu_reply *reply, double timeout_s, struct fs_error *err);
/* Lets the world run until every queued command has been acknowledged. */
int fs_mcu_flush(struct fs_mcu *m, double timeout_s, struct fs_error *err);

/* Time. Print time is the planner's timeline (seconds). */
double fs_mcu_clock_freq(const struct fs_mcu *m);
uint64_t fs_mcu_print_time_to_clock(const struct fs_mcu *m, double print_time);
double fs_mcu_clock_to_print_time(const struct fs_mcu *m, uint64_t clock);
double fs_mcu_estimated_print_time(const struct fs_mcu *m, double host_time);
uint64_t fs_mcu_clock32_to_64(const struct fs_mcu *m, uint32_t clock32);
uint32_t fs_mcu_seconds_to_ticks(const struct fs_mcu *m, double seconds);

struct fs_link *fs_mcu_link(struct fs_mcu *m);
const struct fs_msgproto *fs_mcu_msgproto(const struct fs_mcu *m);
/* "app=failsoft version=... build=..." as the MCU identified itself. */
const char *fs_mcu_identity(const struct fs_mcu *m);
/* The parts of it ("" when the dictionary does not say). */
const char *fs_mcu_app(const struct fs_mcu *m);
const char *fs_mcu_version(const struct fs_mcu *m);
/* zlib crc32 of the dictionary as read at connect. */
uint32_t fs_mcu_dictionary_crc(const struct fs_mcu *m);

/* Version check at connect, for FS_FAULT_VERSION_MISMATCH: every connected
 * MCU of the list must run the same application and version as the first
 * one, and, when expected_version is not NULL, each MCU running failsoft's
 * firmware must report that version (the host's own). Returns 0 when they
 * agree; on a mismatch, 1 + the index in mcus of the MCU that differs, with
 * evidence ("mcu 'toolboard': app=failsoft
 * version=v0.3 differs from mcu 'mcu': app=failsoft version=v0.4"), written
 * into evidence (cap bytes). A missing command the host needs is not a
 * version question: fs_mcu_connect fails on it ("protocol mismatch"). */
int fs_mcu_versions_check(struct fs_mcu *const *mcus, int n, const char *expected_version,
                          char *evidence, size_t cap);

#endif
