/* RESTART and FIRMWARE_RESTART carried out by the program loop: check the
 * new configuration, quiet and tear down the old printer, reset the MCUs'
 * firmware when asked, and build the printer again (see restart.h).
 *
 * Order matters on the wire. The modules go first, so that no heater or
 * stepper queues another command; what they already queued is flushed; only
 * then does `reset` go out, last on each link, and the links are dropped
 * shortly after. A block that reached a freshly reset MCU from the old link
 * would otherwise name an oid that no longer exists and shut it down. */
#include "printer/restart.h"

#include <string.h> /* memcpy, strlen */

#include "core/error.h"            /* fs_error_set */
#include "core/log.h"              /* fs_log */
#include "core/reactor.h"          /* fs_reactor_pause */
#include "mcu/mcu.h"               /* fs_mcu_send_text, fs_mcu_flush */
#include "mcu/msgproto.h"          /* fs_msgproto_lookup */
#include "motion/toolhead.h"       /* fs_toolhead_wait_moves */
#include "printer/modules.h"       /* fs_printer_modules_free */
#include "printer/printer_check.h" /* fs_printer_check */
#include "printer/printer_gcode.h" /* fs_printer_check_firmware_reset */
#include "thermal/heaters.h"       /* fs_heaters_turn_off_all */

/* Long enough for the link to hand the reset block to the transport, and
 * shorter than its quickest retransmission (25 ms): a second copy of the
 * block could reach the freshly started firmware and reset it again. */
#define RESTART_DRAIN_S 0.015
#define RESTART_FLUSH_S 1.0

/* ---- tearing down ------------------------------------------------------ */

static void flush_all(struct fs_printer *p)
{
    for (int i = 0; i < p->mcu_count; i++) {
        struct fs_error ignored;
        if (fs_mcu_is_connected(p->mcus[i]))
            fs_mcu_flush(p->mcus[i], RESTART_FLUSH_S, &ignored);
    }
}

/* A host restart keeps the MCUs configured: nothing may be left moving, and
 * no heater held on, since an output held away from its default past its
 * max_duration would shut the MCU down before the new printer refreshes it. */
static void quiet_for_reuse(struct fs_printer *p)
{
    if (p->is_ready && !p->is_shutdown && p->toolhead)
        fs_toolhead_wait_moves(p->toolhead);
    if (p->heaters)
        fs_heaters_turn_off_all(p->heaters);
    flush_all(p);
}

static void reset_firmwares(struct fs_printer *p)
{
    int sent = 0;
    for (int i = 0; i < p->mcu_count; i++) {
        struct fs_mcu *m = p->mcus[i];
        if (!fs_mcu_is_connected(m))
            continue;
        const char *cmd =
            fs_msgproto_lookup(fs_mcu_msgproto(m), "reset") ? "reset" : "config_reset";
        struct fs_error e;
        if (fs_mcu_send_text(m, cmd, &e) < 0) {
            fs_log(p->log, FS_LOG_WARN, "%s", e.msg);
            continue;
        }
        fs_log(p->log, FS_LOG_INFO, "mcu '%s': firmware restart (%s)", fs_mcu_name(m), cmd);
        sent++;
    }
    if (sent)
        fs_reactor_pause(p->reactor, fs_reactor_now(p->reactor) + RESTART_DRAIN_S);
}

static void tear_down(struct fs_printer *p, enum fs_restart_request kind)
{
    if (kind == FS_RESTART_HOST)
        quiet_for_reuse(p);
    /* The old printer is deaf from here on: its MCUs' events (a reset
     * announcing itself, a shut-down MCU) belong to no one. */
    for (int i = 0; i < p->mcu_count; i++)
        fs_mcu_set_event_handler(p->mcus[i], NULL, NULL);
    fs_printer_modules_free(p);
    if (kind == FS_RESTART_FIRMWARE) {
        flush_all(p);
        reset_firmwares(p);
    }
    fs_printer_free(p);
}

/* ---- building again ---------------------------------------------------- */

static int not_ready(struct fs_printer *p, struct fs_error *err)
{
    p->is_ready = 0;
    /* STATUS shows the start of the reason; err keeps all of it. */
    size_t n = strlen(err->msg);
    if (n >= sizeof(p->shutdown_reason))
        n = sizeof(p->shutdown_reason) - 1;
    memcpy(p->shutdown_reason, err->msg, n);
    p->shutdown_reason[n] = '\0';
    fs_log(p->log, FS_LOG_ERROR, "restart: printer not ready: %s", err->msg);
    return -1;
}

int fs_printer_restart(struct fs_printer *p, enum fs_restart_request kind,
                       struct fs_config *new_cfg, const struct fs_printer_backend *backend,
                       double timeout_s, struct fs_error *err)
{
    const char *what = kind == FS_RESTART_FIRMWARE ? "FIRMWARE_RESTART" : "RESTART";
    p->restart_request = FS_RESTART_NONE;
    if (fs_printer_check(new_cfg, NULL, err) < 0)
        return fs_error_prefix(err, "%s: the configuration has errors, the printer keeps "
                               "the old one: ", what);
    if (kind == FS_RESTART_FIRMWARE && fs_printer_check_firmware_reset(p, err) < 0)
        return fs_error_prefix(err, "%s: ", what);
    struct fs_reactor *reactor = p->reactor;
    const struct fs_logger *log = p->log;
    fs_log(log, FS_LOG_INFO, "%s: rebuilding the printer", what);
    tear_down(p, kind);
    if (fs_printer_init(p, reactor, log, new_cfg, backend, err) < 0) {
        fs_error_prefix(err, "%s: ", what);
        /* Keep nothing half-made; the gate still takes RESTART. */
        fs_printer_free(p);
        p->config = new_cfg;
        return not_ready(p, err);
    }
    if (fs_printer_start(p, timeout_s, err) < 0) {
        fs_error_prefix(err, "%s: ", what);
        return not_ready(p, err);
    }
    return 0;
}
