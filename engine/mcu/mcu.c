/* The engine's MCU object: identify, clock sync, configuration and message
 * routing over the reliable link.
 *
 * Responses are best effort on this protocol, so every request that needs
 * an answer (identify chunks, uptime, config state) is a query that is sent
 * again until its answer arrives or its deadline passes. Periodic clock
 * queries belong to clocksync; their answers, shutdown notices and object
 * reports are routed here by (format, oid). */
#include "mcu/mcu.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf, snprintf */
#include <stdlib.h> /* calloc, realloc, free */
#include <string.h> /* strcmp, memcpy */
#include <zlib.h>   /* crc32 */

#include "core/error.h"    /* fs_error_set */
#include "core/log.h"      /* fs_log */
#include "core/reactor.h"  /* fs_reactor_wait_for */
#include "mcu/clocksync.h" /* struct fs_clocksync */
#include "mcu/mcu_internal.h" /* struct fs_mcu */
#include "mcu/msgproto.h" /* fs_msgproto_app */

/* ---- receiving ---------------------------------------------------------- */

static void copy_reply(struct fs_mcu_reply *reply, const struct fs_msg *msg,
                       const uint8_t *content, size_t len, double receive_time)
{
    memcpy(reply->content, content, len);
    reply->msg = *msg;
    reply->receive_time = receive_time;
    for (int i = 0; i < msg->format->param_count; i++)
        if (msg->data[i])
            reply->msg.data[i] = reply->content + (msg->data[i] - content);
}

static int query_matches(const struct pending_query *q, const struct fs_msg *msg)
{
    if (q->done || msg->format != q->format)
        return 0;
    if (q->oid >= 0 && fs_msg_get(msg, "oid", -1) != q->oid)
        return 0;
    if (q->has_offset && fs_msg_get(msg, "offset", -1) != q->offset)
        return 0;
    return 1;
}

static void dispatch(struct fs_mcu *m, const struct fs_msg *msg, const uint8_t *content,
                     size_t len, double receive_time)
{
    if (m->query && query_matches(m->query, msg)) {
        copy_reply(m->query->reply, msg, content, len, receive_time);
        m->query->done = 1;
    }
    int64_t oid = fs_msg_get(msg, "oid", -1);
    for (int i = 0; i < m->handler_count; i++) {
        struct response_handler *h = &m->handlers[i];
        if (h->format == msg->format && (h->oid < 0 || h->oid == oid))
            h->fn(h->arg, msg, receive_time);
    }
}

static void link_receive(void *arg, const uint8_t *content, size_t len, double receive_time)
{
    struct fs_mcu *m = arg;
    const uint8_t *pos = content, *end = content + len;
    while (pos < end) {
        struct fs_msg msg;
        struct fs_error err;
        if (fs_msgproto_decode(m->proto, &pos, end, &msg, &err) < 0) {
            fs_log(m->log, FS_LOG_WARN, "mcu '%s': dropped a block: %s", m->name, err.msg);
            return;
        }
        dispatch(m, &msg, content, len, receive_time);
    }
}

static void report_event(struct fs_mcu *m, enum fs_mcu_event event, const char *detail,
                         double eventtime)
{
    if (m->event_fn)
        m->event_fn(m->event_arg, m, event, detail, eventtime);
}

static void note_shutdown(struct fs_mcu *m, const struct fs_msg *msg, double eventtime)
{
    int64_t id = fs_msg_get(msg, "static_string_id", -1);
    char buf[128];
    const char *reason =
        fs_msgproto_enum_name(m->proto, "static_string_id", (int32_t)id, buf, sizeof(buf));
    if (!reason) {
        snprintf(buf, sizeof(buf), "unknown reason %lld", (long long)id);
        reason = buf;
    }
    int first = !m->state.is_shutdown;
    m->state.is_shutdown = 1;
    snprintf(m->state.shutdown_reason, sizeof(m->state.shutdown_reason), "%s", reason);
    if (first) {
        fs_log(m->log, FS_LOG_ERROR, "mcu '%s': shutdown: %s", m->name, reason);
        report_event(m, FS_MCU_EVENT_SHUTDOWN, reason, eventtime);
    }
}

static void on_shutdown(void *arg, const struct fs_msg *msg, double receive_time)
{
    note_shutdown(arg, msg, receive_time);
}

static void on_starting(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)msg;
    struct fs_mcu *m = arg;
    fs_log(m->log, FS_LOG_WARN, "mcu '%s': restarted on its own", m->name);
    m->restarted = 1;
    report_event(m, FS_MCU_EVENT_RESTARTED, "starting", receive_time);
}

static void note_restart_seen(struct fs_mcu *m, const char *why, double eventtime);

/* A clock that cannot be this MCU's as we know it: far behind even an
 * older query, or ahead of now. A restarted MCU counts again from 0, which
 * seen through 32 bits lands anywhere; a late answer to an older query is
 * behind by at most a few query periods. */
static int clock_is_foreign(const struct fs_mcu *m, uint32_t clock32, double receive_time)
{
    if (m->clock.samples < 3)
        return 0;
    uint64_t ref = fs_clocksync_estimate_clock(&m->clock, receive_time);
    int64_t off = (int32_t)(clock32 - (uint32_t)ref);
    double behind_limit = (receive_time - m->clock_query_sent + MCU_CLOCK_LATE_S) *
                          m->clock_freq;
    return (double)off < -behind_limit || (double)off > MCU_CLOCK_AHEAD_S * m->clock_freq;
}

static void on_clock(void *arg, const struct fs_msg *msg, double receive_time)
{
    struct fs_mcu *m = arg;
    /* Mid-reconnect the clock sync starts afresh; answers to the old
     * queries mean nothing. */
    if (m->reconnecting)
        return;
    uint32_t clock32 = (uint32_t)fs_msg_get(msg, "clock", 0);
    if (clock_is_foreign(m, clock32, receive_time)) {
        /* Kept out of the fit: it would drag the estimate anywhere. */
        if (++m->foreign_clocks >= 2 && !m->restarted)
            note_restart_seen(m, "its clock started again", receive_time);
        return;
    }
    m->foreign_clocks = 0;
    fs_clocksync_handle_clock(&m->clock, clock32, m->clock_query_sent, receive_time);
}

/* ---- lifecycle ---------------------------------------------------------- */

struct fs_mcu *fs_mcu_new(struct fs_reactor *reactor, struct fs_transport *transport,
                          const char *name, const struct fs_logger *log,
                          struct fs_error *err)
{
    if (strlen(name) >= MCU_NAME_MAX) {
        fs_error_set(err, "mcu name '%s' is longer than %d characters", name,
                     MCU_NAME_MAX - 1);
        return NULL;
    }
    struct fs_mcu *m = calloc(1, sizeof(*m));
    if (!m) {
        fs_error_set(err, "mcu '%s': out of memory", name);
        return NULL;
    }
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->reactor = reactor;
    m->transport = transport;
    m->log = log;
    m->proto = fs_msgproto_new();
    m->link = fs_link_new(reactor, transport, name, err);
    if (!m->proto || !m->link) {
        if (!m->proto)
            fs_error_set(err, "mcu '%s': out of memory", name);
        fs_mcu_free(m);
        return NULL;
    }
    fs_link_set_receiver(m->link, link_receive, m);
    return m;
}

void fs_mcu_free(struct fs_mcu *m)
{
    if (!m)
        return;
    if (m->connected)
        fs_clocksync_stop(&m->clock);
    fs_link_free(m->link);
    fs_msgproto_free(m->proto);
    for (int i = 0; i < m->config_count; i++)
        free(m->config_cmds[i]);
    free(m->config_cmds);
    for (int i = 0; i < m->builder_count; i++)
        free(m->builders[i].where);
    free(m);
}

const char *fs_mcu_name(const struct fs_mcu *m) { return m->name; }

void fs_mcu_set_event_handler(struct fs_mcu *m, fs_mcu_event_fn fn, void *arg)
{
    m->event_fn = fn;
    m->event_arg = arg;
}

int fs_mcu_is_connected(const struct fs_mcu *m) { return m->connected; }
const struct fs_mcu_state *fs_mcu_state(const struct fs_mcu *m) { return &m->state; }
struct fs_link *fs_mcu_link(struct fs_mcu *m) { return m->link; }
const struct fs_msgproto *fs_mcu_msgproto(const struct fs_mcu *m) { return m->proto; }
const char *fs_mcu_identity(const struct fs_mcu *m) { return m->identity; }

/* ---- queries ------------------------------------------------------------ */

static int query_done(void *arg) { return ((struct pending_query *)arg)->done; }

static int run_query(struct fs_mcu *m, const uint8_t *msg, size_t len,
                     struct pending_query *q, double timeout_s, const char *what,
                     struct fs_error *err)
{
    double deadline = fs_reactor_now(m->reactor) + timeout_s;
    m->query = q;
    int status = -1;
    while (fs_reactor_now(m->reactor) < deadline) {
        if (fs_link_send(m->link, fs_link_default_queue(m->link), msg, len, 0, 0, err) < 0)
            goto out;
        double retry = fs_reactor_now(m->reactor) + MCU_QUERY_RETRY_S;
        if (retry > deadline)
            retry = deadline;
        if (fs_reactor_wait_for(m->reactor, query_done, q, retry) == 0) {
            status = 0;
            goto out;
        }
    }
    fs_error_set(err, "mcu '%s': no answer to %s within %.1f s", m->name, what, timeout_s);
out:
    m->query = NULL;
    return status;
}

int fs_mcu_query(struct fs_mcu *m, const char *text, const char *response_format, int oid,
                 struct fs_mcu_reply *reply, double timeout_s, struct fs_error *err)
{
    uint8_t msg[64];
    int len = fs_msgproto_encode_text(m->proto, text, msg, sizeof(msg), err);
    if (len < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    struct pending_query q = {.oid = oid, .reply = reply};
    q.format = fs_msgproto_lookup(m->proto, response_format);
    if (!q.format)
        return fs_error_set(err, "mcu '%s': its dictionary has no response '%s'", m->name,
                            response_format);
    return run_query(m, msg, (size_t)len, &q, timeout_s, text, err);
}

/* ---- connect ------------------------------------------------------------ */

int fs_mcu_read_dictionary_data(struct fs_mcu *m, double timeout_s, uint8_t **out,
                                size_t *out_size, struct fs_error *err)
{
    const struct fs_msgformat *identify =
        fs_msgproto_lookup(m->proto, "identify offset=%u count=%c");
    const struct fs_msgformat *response =
        fs_msgproto_lookup(m->proto, "identify_response offset=%u data=%.*s");
    uint8_t *data = NULL;
    size_t size = 0;
    for (;;) {
        int64_t values[2] = {(int64_t)size, MCU_IDENTIFY_CHUNK};
        uint8_t msg[16];
        int len = fs_msgformat_encode(identify, msg, sizeof(msg), values, NULL, err);
        if (len < 0)
            goto fail;
        struct fs_mcu_reply reply;
        struct pending_query q = {.format = response, .oid = -1, .has_offset = 1,
                                  .offset = (int64_t)size, .reply = &reply};
        if (run_query(m, msg, (size_t)len, &q, timeout_s, "identify", err) < 0)
            goto fail;
        size_t chunk = (size_t)reply.msg.values[1];
        if (!chunk)
            break;
        if (size + chunk > MCU_DICTIONARY_MAX) {
            fs_error_set(err, "mcu '%s': data dictionary larger than %u bytes", m->name,
                         MCU_DICTIONARY_MAX);
            goto fail;
        }
        uint8_t *grown = realloc(data, size + chunk);
        if (!grown) {
            fs_error_set(err, "mcu '%s': out of memory reading the dictionary", m->name);
            goto fail;
        }
        data = grown;
        memcpy(data + size, reply.msg.data[1], chunk);
        size += chunk;
    }
    *out = data;
    *out_size = size;
    return 0;
fail:
    free(data);
    return -1;
}

static int read_dictionary(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    uint8_t *data;
    size_t size;
    if (fs_mcu_read_dictionary_data(m, timeout_s, &data, &size, err) < 0)
        return -1;
    int status = fs_msgproto_load_dictionary(m->proto, data, size, err);
    if (status < 0)
        fs_error_prefix(err, "mcu '%s': bad data dictionary: ", m->name);
    m->dict_crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)size);
    m->dict_size = size;
    free(data);
    return status;
}

static int require_constant(struct fs_mcu *m, const char *name, double *value,
                            struct fs_error *err)
{
    if (fs_msgproto_constant(m->proto, name, value) < 0)
        return fs_error_set(err, "mcu '%s': its dictionary lacks the constant %s", m->name,
                            name);
    return 0;
}

/* An MCU that restarted without saying so (the firmware has no `starting`
 * message) expects sequence 0 again: it answers our blocks with acks naming
 * a sequence we never sent (or, by chance, one that looks like an ack, and
 * then its clock gives it away). A synchronised link never hears such an
 * ack otherwise, so one since connect is a restart. */
static int seen_foreign_acks(struct fs_mcu *m)
{
    struct fs_link_stats st;
    fs_link_get_stats(m->link, &st);
    return st.acks_out_of_range > m->acks_out_of_range_seen;
}

static void note_restart_seen(struct fs_mcu *m, const char *why, double eventtime)
{
    fs_log(m->log, FS_LOG_ERROR, "mcu '%s': restarted (%s)", m->name, why);
    m->restarted = 1;
    char detail[128];
    snprintf(detail, sizeof(detail), "%s: it restarted", why);
    report_event(m, FS_MCU_EVENT_RESTARTED, detail, eventtime);
}

static void send_clock_query(void *arg, double eventtime)
{
    struct fs_mcu *m = arg;
    if (!m->restarted && !m->reconnecting && seen_foreign_acks(m))
        note_restart_seen(m, "it acks a sequence never sent", eventtime);
    uint8_t msg[8];
    struct fs_error err;
    int len = fs_msgformat_encode(m->fmt_get_clock, msg, sizeof(msg), NULL, NULL, &err);
    if (len < 0 || fs_link_send(m->link, fs_link_default_queue(m->link), msg, (size_t)len, 0, 0, &err) < 0) {
        fs_log(m->log, FS_LOG_WARN, "mcu '%s': clock query not sent: %s", m->name, err.msg);
        return;
    }
    m->clock_query_sent = eventtime;
}

static void on_clock_lost(void *arg, double eventtime)
{
    struct fs_mcu *m = arg;
    /* A restart already reported says more than the silence after it. */
    if (m->restarted || m->reconnecting)
        return;
    if (seen_foreign_acks(m)) {
        note_restart_seen(m, "it acks a sequence never sent", eventtime);
        return;
    }
    fs_log(m->log, FS_LOG_ERROR, "mcu '%s': lost communication", m->name);
    report_event(m, FS_MCU_EVENT_LOST, "no answer to clock queries", eventtime);
}

static void on_clock_recovered(void *arg, double eventtime)
{
    struct fs_mcu *m = arg;
    fs_log(m->log, FS_LOG_INFO, "mcu '%s': answers again", m->name);
    report_event(m, FS_MCU_EVENT_RECOVERED, "clock queries answered", eventtime);
}

int fs_mcu_read_config_state(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    struct fs_mcu_reply reply;
    if (fs_mcu_query(m, "get_config",
                     "config is_config=%c crc=%u is_shutdown=%c move_count=%hu", -1, &reply,
                     timeout_s, err) < 0)
        return -1;
    m->state.is_config = (int)fs_msg_get(&reply.msg, "is_config", 0);
    m->state.crc = (uint32_t)fs_msg_get(&reply.msg, "crc", 0);
    m->state.is_shutdown = (int)fs_msg_get(&reply.msg, "is_shutdown", 0);
    m->state.move_count = (uint16_t)fs_msg_get(&reply.msg, "move_count", 0);
    return 0;
}

static int register_builtin_handlers(struct fs_mcu *m, struct fs_error *err)
{
    if (fs_mcu_register_response(m, "clock clock=%u", -1, on_clock, m, err) < 0 ||
        fs_mcu_register_response(m, "shutdown clock=%u static_string_id=%hu", -1,
                                 on_shutdown, m, err) < 0 ||
        fs_mcu_register_response(m, "is_shutdown static_string_id=%hu", -1, on_shutdown,
                                 m, err) < 0)
        return -1;
    /* `starting` is optional in firmwares; listen only where it exists. */
    if (fs_msgproto_lookup(m->proto, "starting"))
        return fs_mcu_register_response(m, "starting", -1, on_starting, m, err);
    return 0;
}

/* The commands every configuration needs, in the exact forms this host
 * sends; a firmware without one of them speaks another protocol, which no
 * fault policy can make safe: that fails the connect. */
static const char *const required_commands[] = {
    "get_uptime", "get_clock", "get_config", "allocate_oids count=%c",
    "finalize_config crc=%u", "emergency_stop",
};

static int check_protocol(struct fs_mcu *m, struct fs_error *err)
{
    for (size_t i = 0; i < sizeof(required_commands) / sizeof(required_commands[0]); i++)
        if (!fs_mcu_lookup_command(m, required_commands[i], err))
            return fs_error_prefix(err, "protocol mismatch: ");
    return 0;
}

int fs_mcu_start_clock(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    struct fs_mcu_reply uptime;
    double sent = fs_reactor_now(m->reactor);
    if (fs_mcu_query(m, "get_uptime", "uptime high=%u clock=%u", -1, &uptime, timeout_s,
                     err) < 0)
        return -1;
    /* The query may have been sent more than once; the answer belongs to
     * the last copy, which left at most one retry period before it came. */
    if (uptime.receive_time - sent > MCU_QUERY_RETRY_S)
        sent = uptime.receive_time - MCU_QUERY_RETRY_S;
    fs_clocksync_connect(&m->clock, (uint32_t)fs_msg_get(&uptime.msg, "high", 0),
                         (uint32_t)fs_msg_get(&uptime.msg, "clock", 0), sent,
                         uptime.receive_time);
    if (fs_clocksync_start(&m->clock, m->reactor, send_clock_query, m, err) < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    struct fs_link_stats st;
    fs_link_get_stats(m->link, &st);
    m->acks_out_of_range_seen = st.acks_out_of_range;
    m->foreign_clocks = 0;
    return 0;
}

int fs_mcu_connect(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    if (read_dictionary(m, timeout_s, err) < 0)
        return -1;
    snprintf(m->identity, sizeof(m->identity), "app=%s version=%s build=%s",
             fs_msgproto_app(m->proto), fs_msgproto_version(m->proto),
             fs_msgproto_build_versions(m->proto));
    fs_log(m->log, FS_LOG_INFO, "mcu '%s': %s", m->name, m->identity);

    double receive_window = 0;
    if (require_constant(m, "CLOCK_FREQ", &m->clock_freq, err) < 0)
        return -1;
    if (fs_msgproto_constant(m->proto, "RECEIVE_WINDOW", &receive_window) == 0)
        fs_link_set_receive_window(m->link, (uint32_t)receive_window);
    /* A UART MCU declares its baud; round trips are then measured from when
     * a block has left the line (10 bits a byte), not when it was queued. */
    double baud = 0;
    if (fs_msgproto_constant(m->proto, "SERIAL_BAUD", &baud) == 0 && baud > 0)
        fs_link_set_wire_rate(m->link, baud / 10.0);
    if (check_protocol(m, err) < 0)
        return -1;
    m->fmt_get_clock = fs_mcu_lookup_command(m, "get_clock", err);
    if (!m->fmt_get_clock || register_builtin_handlers(m, err) < 0)
        return -1;

    fs_clocksync_init(&m->clock, m->clock_freq);
    fs_clocksync_set_loss_handlers(&m->clock, 0, on_clock_lost, on_clock_recovered, m);
    if (fs_mcu_start_clock(m, timeout_s, err) < 0)
        return -1;
    fs_link_set_clock_estimator(m->link, fs_clocksync_link_clock, &m->clock);
    fs_link_set_host_time_estimator(m->link, fs_clocksync_link_host_time, &m->clock);
    m->connected = 1;
    m->restarted = 0;

    if (fs_mcu_read_config_state(m, timeout_s, err) < 0)
        return -1;
    if (m->state.is_shutdown)
        fs_log(m->log, FS_LOG_WARN, "mcu '%s': connected while shut down", m->name);
    return 0;
}

void fs_mcu_set_primary(struct fs_mcu *m, const struct fs_mcu *primary)
{
    if (m != primary)
        fs_clocksync_set_primary(&m->clock, &primary->clock);
}

/* ---- configuration ------------------------------------------------------ */

int fs_mcu_create_oid(struct fs_mcu *m) { return m->oid_count++; }

int fs_mcu_add_config_cmd(struct fs_mcu *m, struct fs_error *err, const char *fmt, ...)
{
    if (m->config_count >= MCU_MAX_CONFIG_CMDS)
        return fs_error_set(err, "mcu '%s': more than %d config commands", m->name,
                            MCU_MAX_CONFIG_CMDS);
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return fs_error_set(err, "mcu '%s': config command too long: %.60s...", m->name, line);
    char **grown = realloc(m->config_cmds, (size_t)(m->config_count + 1) * sizeof(*grown));
    if (!grown)
        return fs_error_set(err, "mcu '%s': out of memory", m->name);
    m->config_cmds = grown;
    m->config_cmds[m->config_count] = strdup(line);
    if (!m->config_cmds[m->config_count])
        return fs_error_set(err, "mcu '%s': out of memory", m->name);
    m->config_count++;
    return 0;
}

int fs_mcu_on_build_config_at(struct fs_mcu *m, const char *where, fs_mcu_build_config_fn fn,
                              void *arg, struct fs_error *err)
{
    if (m->builder_count >= MCU_MAX_CONFIGURED_FNS)
        return fs_error_set(err, "mcu '%s': too many build-config callbacks", m->name);
    char *copy = NULL;
    if (where && !(copy = strdup(where)))
        return fs_error_set(err, "mcu '%s': out of memory", m->name);
    m->builders[m->builder_count].fn = fn;
    m->builders[m->builder_count].arg = arg;
    m->builders[m->builder_count].where = copy;
    m->builder_count++;
    return 0;
}

int fs_mcu_on_build_config(struct fs_mcu *m, fs_mcu_build_config_fn fn, void *arg,
                           struct fs_error *err)
{
    return fs_mcu_on_build_config_at(m, NULL, fn, arg, err);
}

/* The dictionary is known only now, so this is the first moment a pin name
 * can be checked; each builder's commands are encoded as soon as it made
 * them so that the error names the configuration line, not "config command
 * 17". */
static int check_new_commands(struct fs_mcu *m, int from, const char *where,
                              struct fs_error *err)
{
    for (int i = from; i < m->config_count; i++) {
        uint8_t msg[64];
        if (fs_msgproto_encode_text(m->proto, m->config_cmds[i], msg, sizeof(msg), err) < 0) {
            if (where)
                return fs_error_prefix(err, "%s: mcu '%s': ", where, m->name);
            return fs_error_prefix(err, "mcu '%s': ", m->name);
        }
    }
    return 0;
}

static int build_config(struct fs_mcu *m, struct fs_error *err)
{
    if (m->config_built)
        return 0;
    for (int i = 0; i < m->builder_count; i++) {
        int from = m->config_count;
        const char *where = m->builders[i].where;
        if (m->builders[i].fn(m->builders[i].arg, m, err) < 0)
            return where ? fs_error_prefix(err, "%s: ", where) : -1;
        if (check_new_commands(m, from, where, err) < 0)
            return -1;
    }
    m->config_built = 1;
    return 0;
}

int fs_mcu_on_configured(struct fs_mcu *m, fs_mcu_configured_fn fn, void *arg,
                         struct fs_error *err)
{
    if (m->configured_count >= MCU_MAX_CONFIGURED_FNS)
        return fs_error_set(err, "mcu '%s': too many configured callbacks", m->name);
    m->configured[m->configured_count].fn = fn;
    m->configured[m->configured_count].arg = arg;
    m->configured_count++;
    return 0;
}

/* The CRC covers the commands as text, so any change in the configuration
 * (a pin, a limit) makes a configured MCU refuse to be reused. */
static uint32_t compute_config_crc(const struct fs_mcu *m)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < m->config_count; i++) {
        if (i)
            crc = crc32(crc, (const Bytef *)"\n", 1);
        crc = crc32(crc, (const Bytef *)m->config_cmds[i], (uInt)strlen(m->config_cmds[i]));
    }
    return (uint32_t)crc;
}

uint32_t fs_mcu_config_crc(const struct fs_mcu *m) { return m->config_crc; }

int fs_mcu_send_line(struct fs_mcu *m, const char *text, struct fs_error *err)
{
    uint8_t msg[64];
    int len = fs_msgproto_encode_text(m->proto, text, msg, sizeof(msg), err);
    if (len < 0)
        return -1;
    return fs_link_send(m->link, fs_link_default_queue(m->link), msg, (size_t)len, 0, 0, err);
}

static int link_idle(void *arg) { return fs_link_is_idle(arg); }

int fs_mcu_flush(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    double deadline = fs_reactor_now(m->reactor) + timeout_s;
    if (fs_reactor_wait_for(m->reactor, link_idle, m->link, deadline) < 0)
        return fs_error_set(err, "mcu '%s': commands not acknowledged within %.1f s",
                            m->name, timeout_s);
    return 0;
}

static int send_commands(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    /* Encode everything first so that a bad line sends nothing. */
    for (int i = 0; i < m->config_count; i++) {
        uint8_t msg[64];
        if (fs_msgproto_encode_text(m->proto, m->config_cmds[i], msg, sizeof(msg), err) < 0)
            return fs_error_prefix(err, "mcu '%s': config command %d: ", m->name, i + 1);
    }
    char line[64];
    snprintf(line, sizeof(line), "allocate_oids count=%d", m->oid_count);
    if (fs_mcu_send_line(m, line, err) < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    for (int i = 0; i < m->config_count; i++)
        if (fs_mcu_send_line(m, m->config_cmds[i], err) < 0)
            return fs_error_prefix(err, "mcu '%s': ", m->name);
    snprintf(line, sizeof(line), "finalize_config crc=%u", m->config_crc);
    if (fs_mcu_send_line(m, line, err) < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    return fs_mcu_flush(m, timeout_s, err);
}

int fs_mcu_configure(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    if (!m->connected)
        return fs_error_set(err, "mcu '%s': configure before connect", m->name);
    if (build_config(m, err) < 0)
        return -1;
    m->config_crc = compute_config_crc(m);
    if (fs_mcu_read_config_state(m, timeout_s, err) < 0)
        return -1;
    if (m->state.is_shutdown)
        return fs_error_set(err, "mcu '%s' is shut down (%s); it needs a firmware restart",
                            m->name, m->state.shutdown_reason[0] ? m->state.shutdown_reason
                                                                 : "reason unknown");
    if (m->state.is_config) {
        if (m->state.crc != m->config_crc)
            return fs_error_set(err,
                                "mcu '%s': it holds another configuration (crc %u, ours "
                                "%u); FIRMWARE_RESTART to load the new one",
                                m->name, m->state.crc, m->config_crc);
        fs_log(m->log, FS_LOG_INFO, "mcu '%s': reusing its configuration (crc %u)",
               m->name, m->config_crc);
    } else if (fs_mcu_send_configuration(m, timeout_s, err) < 0) {
        return -1;
    }
    return fs_mcu_run_configured(m, err);
}

int fs_mcu_send_configuration(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    if (send_commands(m, timeout_s, err) < 0)
        return -1;
    if (fs_mcu_read_config_state(m, timeout_s, err) < 0)
        return -1;
    if (m->state.is_shutdown)
        return fs_error_set(err, "mcu '%s': shut down while configuring: %s", m->name,
                            m->state.shutdown_reason);
    if (!m->state.is_config || m->state.crc != m->config_crc)
        return fs_error_set(err, "mcu '%s': configuration not accepted (is_config=%d "
                            "crc=%u, sent %u)",
                            m->name, m->state.is_config, m->state.crc, m->config_crc);
    fs_log(m->log, FS_LOG_INFO, "mcu '%s': configured %d objects, %d commands (crc %u, "
           "move_count %u)", m->name, m->oid_count, m->config_count, m->config_crc,
           m->state.move_count);
    return 0;
}

int fs_mcu_run_configured(struct fs_mcu *m, struct fs_error *err)
{
    for (int i = 0; i < m->configured_count; i++)
        if (m->configured[i].fn(m->configured[i].arg, m, err) < 0)
            return -1;
    return 0;
}

/* ---- messages ----------------------------------------------------------- */

const struct fs_msgformat *fs_mcu_lookup_command(struct fs_mcu *m, const char *format,
                                                 struct fs_error *err)
{
    const struct fs_msgformat *f = fs_msgproto_lookup(m->proto, format);
    if (!f || f->is_response) {
        fs_error_set(err, "mcu '%s' (%s) does not support the command '%s'", m->name,
                     m->identity[0] ? m->identity : "not identified", format);
        return NULL;
    }
    return f;
}

int fs_mcu_register_response(struct fs_mcu *m, const char *format, int oid,
                             fs_mcu_response_fn fn, void *arg, struct fs_error *err)
{
    const struct fs_msgformat *f = fs_msgproto_lookup(m->proto, format);
    if (!f)
        return fs_error_set(err, "mcu '%s' (%s) does not send the response '%s'", m->name,
                            m->identity[0] ? m->identity : "not identified", format);
    if (m->handler_count >= MCU_MAX_HANDLERS)
        return fs_error_set(err, "mcu '%s': more than %d response handlers", m->name,
                            MCU_MAX_HANDLERS);
    m->handlers[m->handler_count++] = (struct response_handler){f, oid, fn, arg};
    return 0;
}

struct fs_link_queue *fs_mcu_queue_new(struct fs_mcu *m) { return fs_link_queue_new(m->link); }

int fs_mcu_send(struct fs_mcu *m, const struct fs_msgformat *f, const int64_t *values,
                struct fs_link_queue *q, uint64_t min_clock, uint64_t req_clock,
                struct fs_error *err)
{
    if (m->reconnecting)
        return fs_error_set(err, "mcu '%s' is being reconnected: command dropped", m->name);
    uint8_t msg[64];
    int len = fs_msgformat_encode(f, msg, sizeof(msg), values, NULL, err);
    if (len < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    if (!q)
        q = fs_link_default_queue(m->link);
    return fs_link_send(m->link, q, msg, (size_t)len, min_clock, req_clock, err);
}

int fs_mcu_send_text(struct fs_mcu *m, const char *text, struct fs_error *err)
{
    if (m->reconnecting)
        return fs_error_set(err, "mcu '%s' is being reconnected: command dropped", m->name);
    if (fs_mcu_send_line(m, text, err) < 0)
        return fs_error_prefix(err, "mcu '%s': ", m->name);
    return 0;
}

/* ---- time --------------------------------------------------------------- */

double fs_mcu_clock_freq(const struct fs_mcu *m) { return m->clock_freq; }

uint64_t fs_mcu_print_time_to_clock(const struct fs_mcu *m, double print_time)
{
    return fs_clocksync_print_time_to_clock(&m->clock, print_time);
}

double fs_mcu_clock_to_print_time(const struct fs_mcu *m, uint64_t clock)
{
    return fs_clocksync_clock_to_print_time(&m->clock, clock);
}

double fs_mcu_estimated_print_time(const struct fs_mcu *m, double host_time)
{
    return fs_clocksync_estimated_print_time(&m->clock, host_time);
}

uint64_t fs_mcu_clock32_to_64(const struct fs_mcu *m, uint32_t clock32)
{
    return fs_clocksync_clock32_to_64(&m->clock, clock32);
}

uint32_t fs_mcu_seconds_to_ticks(const struct fs_mcu *m, double seconds)
{
    return (uint32_t)(seconds * m->clock_freq + 0.5);
}

/* ---- identity and versions ---------------------------------------------- */

const char *fs_mcu_app(const struct fs_mcu *m)
{
    const char *s = m->dict_size ? fs_msgproto_app(m->proto) : NULL;
    return s ? s : "";
}

const char *fs_mcu_version(const struct fs_mcu *m)
{
    const char *s = m->dict_size ? fs_msgproto_version(m->proto) : NULL;
    return s ? s : "";
}

uint32_t fs_mcu_dictionary_crc(const struct fs_mcu *m) { return m->dict_crc; }

int fs_mcu_is_lost(const struct fs_mcu *m)
{
    return m->connected && fs_clocksync_is_lost(&m->clock);
}

int fs_mcu_has_restarted(const struct fs_mcu *m) { return m->restarted; }

int fs_mcu_needs_reconnect(const struct fs_mcu *m)
{
    return fs_mcu_is_lost(m) || m->restarted || m->state.is_shutdown || m->reconnect_failed;
}

int fs_mcu_versions_check(struct fs_mcu *const *mcus, int n, const char *expected_version,
                          char *evidence, size_t cap)
{
    const struct fs_mcu *first = NULL;
    for (int i = 0; i < n; i++) {
        const struct fs_mcu *m = mcus[i];
        if (!m || !m->connected)
            continue;
        if (expected_version && !strcmp(fs_mcu_app(m), "failsoft") &&
            strcmp(fs_mcu_version(m), expected_version) != 0) {
            snprintf(evidence, cap, "mcu '%s': app=failsoft version=%s, the host expects "
                     "version=%s", m->name, fs_mcu_version(m), expected_version);
            return i + 1;
        }
        if (!first) {
            first = m;
            continue;
        }
        if (strcmp(fs_mcu_app(m), fs_mcu_app(first)) != 0 ||
            strcmp(fs_mcu_version(m), fs_mcu_version(first)) != 0) {
            snprintf(evidence, cap, "mcu '%s': app=%s version=%s differs from mcu '%s': "
                     "app=%s version=%s", m->name, fs_mcu_app(m), fs_mcu_version(m),
                     first->name, fs_mcu_app(first), fs_mcu_version(first));
            return i + 1;
        }
    }
    if (cap)
        evidence[0] = '\0';
    return 0;
}
