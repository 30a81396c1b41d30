/* M115, STATUS, RESTART and FIRMWARE_RESTART, and the console gate of a
 * printer that is not usable (see printer_gcode.h). */
#include "printer/printer_gcode.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp */

#include "core/error.h"      /* fs_error_set */
#include "core/reactor.h"     /* fs_reactor_now */
#include "fault/fault.h"     /* fs_faults_note_command */
#include "gcode/gcode.h"     /* fs_gcode_register, fs_gcode_respond */
#include "job/job.h"         /* fs_job_interrupt */
#include "mcu/mcu.h"         /* fs_mcu_identity, fs_mcu_state */
#include "mcu/msgproto.h"    /* fs_msgproto_app, fs_msgproto_lookup */
#include "printer/printer.h" /* struct fs_printer */
#include "thermal/heaters.h" /* fs_heaters_turn_off_all */

#ifndef FS_HOST_VERSION
#define FS_HOST_VERSION "unknown"
#endif

/* ---- what is running --------------------------------------------------- */

static int cmd_m115(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    (void)cmd;
    (void)err;
    struct fs_printer *p = arg;
    /* Key:value words without spaces, as hosts that parse M115 expect;
     * each MCU's app and version are exactly what its dictionary says. */
    char line[FS_GCODE_LINE_MAX];
    int n = snprintf(line, sizeof(line), "FIRMWARE_NAME:failsoft FIRMWARE_VERSION:%s",
                     FS_HOST_VERSION);
    for (int i = 0; i < p->mcu_count && n >= 0 && (size_t)n < sizeof(line); i++) {
        struct fs_mcu *m = p->mcus[i];
        const struct fs_msgproto *mp = fs_mcu_msgproto(m);
        if (fs_mcu_is_connected(m))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " MCU_%s:%s/%s", fs_mcu_name(m),
                          fs_msgproto_app(mp), fs_msgproto_version(mp));
        else
            n += snprintf(line + n, sizeof(line) - (size_t)n, " MCU_%s:not-connected",
                          fs_mcu_name(m));
    }
    fs_gcode_respond(g, "%s", line);
    return 0;
}

static const char *mcu_condition(const struct fs_printer *p, int i)
{
    struct fs_mcu *m = p->mcus[i];
    if (!fs_mcu_is_connected(m))
        return "not connected";
    if (fs_mcu_state(m)->is_shutdown)
        return "shutdown";
    if (p->mcu_lost_mask & (1u << i))
        return "lost";
    return "connected";
}

static int cmd_status(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                      struct fs_error *err)
{
    (void)cmd;
    (void)err;
    struct fs_printer *p = arg;
    if (p->is_shutdown)
        fs_gcode_respond_info(g, "printer: shutdown: %s", p->shutdown_reason);
    else if (!p->is_ready)
        fs_gcode_respond_info(g, "printer: not ready: %s", p->shutdown_reason);
    else
        fs_gcode_respond_info(g, "printer: ready");
    for (int i = 0; i < p->mcu_count; i++) {
        struct fs_mcu *m = p->mcus[i];
        const struct fs_mcu_state *st = fs_mcu_state(m);
        const char *cond = mcu_condition(p, i);
        if (!strcmp(cond, "shutdown"))
            fs_gcode_respond_info(g, "mcu '%s': shutdown (%s), %s", fs_mcu_name(m),
                                  st->shutdown_reason, fs_mcu_identity(m));
        else if (!strcmp(cond, "not connected"))
            fs_gcode_respond_info(g, "mcu '%s': not connected", fs_mcu_name(m));
        else
            fs_gcode_respond_info(g, "mcu '%s': %s, %s", fs_mcu_name(m), cond,
                                  fs_mcu_identity(m));
    }
    if (p->is_shutdown || !p->is_ready)
        fs_gcode_respond_info(g, "FIRMWARE_RESTART brings it back (RESTART after a "
                                 "configuration change that keeps the MCUs' setup)");
    return 0;
}

/* ---- restarting -------------------------------------------------------- */

static const char *const restart_method_names[] = {"arduino", "cheetah", "command",
                                                   "rpi_usb"};

int fs_printer_check_firmware_reset(const struct fs_printer *p, struct fs_error *err)
{
    for (int i = 0; i < p->mcu_count; i++) {
        struct fs_mcu *m = p->mcus[i];
        if (!fs_mcu_is_connected(m) || fs_msgproto_lookup(fs_mcu_msgproto(m), "reset"))
            continue;
        enum fs_mcu_restart_method method = p->restart_methods[i];
        if (method == FS_MCU_RESTART_COMMAND &&
            fs_msgproto_lookup(fs_mcu_msgproto(m), "config_reset"))
            continue;
        return fs_error_set(err,
                            "mcu '%s' (%s) has no reset command and restart_method is %s%s%s; "
                            "reset that board by hand (reset button or power), then RESTART",
                            fs_mcu_name(m), fs_mcu_identity(m),
                            method == FS_MCU_RESTART_UNSET ? "not set" : "'",
                            method == FS_MCU_RESTART_UNSET ? ""
                                                           : restart_method_names[method],
                            method == FS_MCU_RESTART_UNSET ? "" : "' (not supported yet)");
    }
    return 0;
}

/* Nothing runs on after a restart: the print ends (its file position is
 * what a later resume needs) and nothing is left heating unattended while
 * the printer is rebuilt. */
static void stop_for_restart(struct fs_printer *p, enum fs_restart_request kind,
                             struct fs_error *err)
{
    p->restart_request = kind;
    /* Interrupted, not cancelled: the job's journal stays resumable. */
    if (p->job)
        fs_job_interrupt(p->job, kind == FS_RESTART_FIRMWARE ? "interrupted by FIRMWARE_RESTART"
                                                             : "interrupted by RESTART");
}

static int cmd_restart(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                       struct fs_error *err)
{
    (void)cmd;
    fs_gcode_respond_info(g, "restarting: the configuration is read again");
    stop_for_restart(arg, FS_RESTART_HOST, err);
    return 0;
}

static int cmd_firmware_restart(void *arg, struct fs_gcode *g,
                                const struct fs_gcode_command *cmd, struct fs_error *err)
{
    (void)cmd;
    struct fs_printer *p = arg;
    if (fs_printer_check_firmware_reset(p, err) < 0)
        return fs_error_prefix(err, "FIRMWARE_RESTART: ");
    fs_gcode_respond_info(g, "restarting every MCU's firmware, then the printer");
    stop_for_restart(p, FS_RESTART_FIRMWARE, err);
    if (p->heaters)
        fs_heaters_turn_off_all(p->heaters);
    return 0;
}

static const struct {
    const char *name;
    fs_gcode_handler fn;
    const char *help;
} commands[] = {
    {"M115", cmd_m115, "Firmware name and version, with each MCU's"},
    {"STATUS", cmd_status, "Whether the printer is ready, and each MCU's state"},
    {"RESTART", cmd_restart, "Read the configuration again and rebuild the printer"},
    {"FIRMWARE_RESTART", cmd_firmware_restart,
     "Restart every MCU's firmware, then rebuild the printer"},
};

int fs_printer_gcode_register(struct fs_printer *p, struct fs_error *err)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (fs_gcode_register(p->gcode, commands[i].name, commands[i].fn, p, commands[i].help,
                              err) < 0)
            return -1;
    return 0;
}

/* ---- the console gate -------------------------------------------------- */

static int runs_when_not_ready(const char *name)
{
    static const char *const allowed[] = {"STATUS", "M115", "HELP", "RESTART",
                                          "FIRMWARE_RESTART", NULL};
    for (const char *const *a = allowed; *a; a++)
        if (!strcmp(name, *a))
            return 1;
    return 0;
}

int fs_printer_run_console_line(struct fs_printer *p, const char *line, const char *source,
                                struct fs_error *err)
{
    if (p->faults)
        fs_faults_note_command(p->faults, fs_reactor_now(p->reactor), line);
    if (p->gcode && p->is_ready && !p->is_shutdown)
        return fs_gcode_run_line(p->gcode, line, source, err);
    char buf[FS_GCODE_BUF_SIZE];
    struct fs_gcode_command cmd;
    int rc = fs_gcode_parse(line, buf, sizeof(buf), &cmd, err);
    if (rc <= 0)
        return rc < 0 ? fs_error_prefix(err, "%s: ", source) : 0;
    if (!p->gcode) {
        /* No printer could be built from the file: all that can be done is
         * to try again once it is fixed. */
        if (!strcmp(cmd.name, "RESTART") || !strcmp(cmd.name, "FIRMWARE_RESTART")) {
            p->restart_request =
                cmd.name[0] == 'R' ? FS_RESTART_HOST : FS_RESTART_FIRMWARE;
            return 0;
        }
        return fs_error_set(err, "%s: %s: the printer could not be built: %s; fix the "
                            "configuration, then RESTART", source, cmd.name,
                            p->shutdown_reason);
    }
    if (runs_when_not_ready(cmd.name))
        return fs_gcode_run_line(p->gcode, line, source, err);
    if (p->is_shutdown)
        return fs_error_set(err, "%s: %s: the printer is shut down (%s); FIRMWARE_RESTART "
                            "brings it back", source, cmd.name, p->shutdown_reason);
    return fs_error_set(err, "%s: %s: the printer is not ready (%s)", source, cmd.name,
                        p->shutdown_reason);
}
