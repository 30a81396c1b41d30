/* Bringing one MCU back after it was lost, shut down or restarted, while
 * the others keep running (MCU_RECONNECT; see fs_mcu_reconnect in mcu.h).
 *
 * The steps are connect's and configure's, in the same order, with what a
 * reconnect must add: the old link's state is thrown away first (blocks a
 * lost link keeps retransmitting would otherwise land on the fresh MCU and
 * name oids that no longer exist); the firmware must be the one whose
 * dictionary every object already resolved its formats in; and objects
 * hear that their MCU-side state is gone before any of their configured
 * callbacks queue new work on it. */
#include "mcu/mcu.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* strcmp */
#include <zlib.h>   /* crc32 */

#include "core/error.h"       /* fs_error_set */
#include "core/log.h"         /* fs_log */
#include "core/reactor.h"     /* fs_reactor_pause */
#include "mcu/clocksync.h"    /* fs_clocksync_stop */
#include "mcu/link.h"         /* fs_link_reset */
#include "mcu/mcu_internal.h" /* struct fs_mcu */
#include "mcu/msgproto.h"     /* fs_msgproto_lookup */

/* After `reset` goes out: long enough for the block to leave, shorter than
 * the link's quickest retransmission (25 ms), which would reset the fresh
 * firmware again. */
#define RECONNECT_RESET_DRAIN_S 0.015
/* A primary whose clock reads more than this below the estimate restarted. */
#define RECONNECT_CLOCK_BACK_S 0.5

int fs_mcu_on_reset(struct fs_mcu *m, fs_mcu_reset_fn fn, void *arg, struct fs_error *err)
{
    if (m->reset_count >= MCU_MAX_CONFIGURED_FNS)
        return fs_error_set(err, "mcu '%s': too many reset callbacks", m->name);
    m->resets[m->reset_count].fn = fn;
    m->resets[m->reset_count].arg = arg;
    m->reset_count++;
    return 0;
}

/* Identify again; the dictionary must be byte for byte the one read at
 * connect, since every object holds formats looked up in it. */
static int identify_same_firmware(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    uint8_t *data;
    size_t size;
    if (fs_mcu_read_dictionary_data(m, timeout_s, &data, &size, err) < 0)
        return -1;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)size);
    if (crc == m->dict_crc && size == m->dict_size) {
        free(data);
        return 0;
    }
    /* Say what it runs now, if the new dictionary can be read at all. */
    char now[160] = "an unreadable dictionary";
    struct fs_msgproto *other = fs_msgproto_new();
    struct fs_error ignored;
    if (other && fs_msgproto_load_dictionary(other, data, size, &ignored) == 0)
        snprintf(now, sizeof(now), "app=%s version=%s",
                 fs_msgproto_app(other) ? fs_msgproto_app(other) : "",
                 fs_msgproto_version(other) ? fs_msgproto_version(other) : "");
    fs_msgproto_free(other);
    free(data);
    fs_error_set(err, "mcu '%s': version mismatch: it now runs %s (dictionary crc %08x), "
                 "it ran %s (crc %08x); FIRMWARE_RESTART to use the new firmware", m->name,
                 now, (unsigned)crc, m->identity, (unsigned)m->dict_crc);
    return FS_MCU_RECONNECT_VERSION;
}

static int link_idle_now(void *arg) { return fs_link_is_idle(arg); }

/* Link reset, identify, clock sync and config state: the MCU as it is now. */
static int reidentify(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    fs_clocksync_stop(&m->clock);
    fs_link_reset(m->link);
    int rc = identify_same_firmware(m, timeout_s, err);
    if (rc < 0)
        return rc;
    if (fs_mcu_start_clock(m, timeout_s, err) < 0)
        return -1;
    return fs_mcu_read_config_state(m, timeout_s, err);
}

/* A shut-down MCU keeps its objects but refuses them until config_reset
 * (only allowed in shutdown) drops them; `reset` restarts the whole chip. */
static int leave_shutdown(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    fs_log(m->log, FS_LOG_INFO, "mcu '%s': shut down (%s): resetting its configuration",
           m->name, m->state.shutdown_reason[0] ? m->state.shutdown_reason : "reason unknown");
    if (fs_msgproto_lookup(m->proto, "config_reset")) {
        if (fs_mcu_send_line(m, "config_reset", err) < 0)
            return fs_error_prefix(err, "mcu '%s': ", m->name);
        double deadline = fs_reactor_now(m->reactor) + timeout_s;
        if (fs_reactor_wait_for(m->reactor, link_idle_now, m->link, deadline) < 0)
            return fs_error_set(err, "mcu '%s': config_reset not acknowledged within %.1f s",
                                m->name, timeout_s);
        if (fs_mcu_read_config_state(m, timeout_s, err) < 0)
            return -1;
    } else if (fs_msgproto_lookup(m->proto, "reset")) {
        if (fs_mcu_send_line(m, "reset", err) < 0)
            return fs_error_prefix(err, "mcu '%s': ", m->name);
        fs_reactor_pause(m->reactor, fs_reactor_now(m->reactor) + RECONNECT_RESET_DRAIN_S);
        int rc = reidentify(m, timeout_s, err);
        if (rc < 0)
            return rc;
    } else {
        return fs_error_set(err, "mcu '%s' is shut down and its firmware offers neither "
                            "config_reset nor reset; power-cycle it", m->name);
    }
    if (m->state.is_shutdown)
        return fs_error_set(err, "mcu '%s': still shut down after a configuration reset",
                            m->name);
    return 0;
}

static int reconnect_steps(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    double now = fs_reactor_now(m->reactor);
    uint64_t expected_clock = fs_clocksync_estimate_clock(&m->clock, now);
    int is_primary = m->clock.primary == NULL;

    int rc = reidentify(m, timeout_s, err);
    if (rc < 0)
        return rc;
    uint64_t clock = m->clock.last_clock;
    double back_ticks = RECONNECT_CLOCK_BACK_S * m->clock_freq;
    int clock_went_back = (double)clock + back_ticks < (double)expected_clock;
    if (clock_went_back && is_primary)
        return fs_error_set(err, "mcu '%s' restarted (its clock went back) and it is the "
                            "printer's time base; FIRMWARE_RESTART", m->name);
    if (m->state.is_shutdown && (rc = leave_shutdown(m, timeout_s, err)) < 0)
        return rc;
    if (m->state.is_config && m->state.crc != m->config_crc)
        return fs_error_set(err, "mcu '%s': it holds another configuration (crc %u, ours %u); "
                            "FIRMWARE_RESTART", m->name, m->state.crc, m->config_crc);
    int state_lost = !m->state.is_config;
    fs_log(m->log, FS_LOG_INFO, "mcu '%s': reconnected (%s)", m->name,
           state_lost ? "its configuration is sent again" : "it kept its configuration");
    for (int i = 0; i < m->reset_count; i++)
        m->resets[i].fn(m->resets[i].arg, m, state_lost);
    if (state_lost && fs_mcu_send_configuration(m, timeout_s, err) < 0)
        return -1;
    return 0;
}

int fs_mcu_reconnect(struct fs_mcu *m, double timeout_s, struct fs_error *err)
{
    if (!m->connected)
        return fs_error_set(err, "mcu '%s': reconnect before it was ever connected", m->name);
    if (!m->config_built)
        return fs_error_set(err, "mcu '%s': reconnect before it was configured", m->name);
    m->reconnecting = 1;
    int status = reconnect_steps(m, timeout_s, err);
    m->reconnecting = 0;
    if (status < 0) {
        /* Keep watching it: clock queries go on, so a later answer is seen. */
        struct fs_error ignored;
        if (m->clock.connected)
            fs_clocksync_start(&m->clock, m->reactor, m->clock.send_query, m, &ignored);
        m->reconnect_failed = 1;
        return status;
    }
    m->reconnect_failed = 0;
    m->restarted = 0;
    m->state.shutdown_reason[0] = '\0';
    if (fs_mcu_run_configured(m, err) < 0) {
        m->reconnect_failed = 1;
        return -1;
    }
    return 0;
}
