/* The printer's assembly: MCUs from [mcu] sections, the modules, and the
 * start-up phases described in printer.h. */
#include "printer/printer.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* memset, memmove, strcmp */

#include "core/error.h"        /* fs_error_set */
#include "core/log.h"          /* fs_log */
#include "gcode/gcode.h"       /* fs_gcode_new */
#include "fault/fault.h"       /* fs_fault_raise */
#include "job/job.h"           /* fs_job_journal_unfinished */
#include "mcu/mcu.h"           /* fs_mcu_new */
#include "motion/stepper.h"    /* fs_stepsync_new, fs_stepsync_set_reactor */
#include "printer/fault_actions.h" /* fs_printer_mcu_fault_source */
#include "printer/mcu_recovery.h" /* fs_printer_mcu_heaters_off */
#include "printer/modules.h"   /* fs_printer_modules_init */

#define DEFAULT_BAUD 250000

const char *fs_printer_section_context(const struct fs_config_section *s, char *buf,
                                       size_t size)
{
    int n = snprintf(buf, size, "%s: [%s]", fs_config_section_where(s),
                     fs_config_section_name(s));
    if (n >= 0 && (size_t)n >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
    return buf;
}

struct fs_mcu *fs_printer_mcu(const struct fs_printer *p, const char *name)
{
    for (int i = 0; i < p->mcu_count; i++)
        if (!strcmp(fs_mcu_name(p->mcus[i]), name))
            return p->mcus[i];
    return NULL;
}

int fs_printer_pin_mcu(const struct fs_printer *p, const struct fs_config_section *s,
                       const char *option, const struct fs_pin_desc *pin,
                       struct fs_mcu **out, struct fs_error *err)
{
    *out = fs_printer_mcu(p, pin->mcu);
    if (*out)
        return 0;
    if (!strcmp(pin->mcu, "mcu"))
        return fs_config_error(s, option, err, "no [mcu] section");
    return fs_config_error(s, option, err, "no [mcu %s] section", pin->mcu);
}

struct fs_stepsync *fs_printer_stepsync(struct fs_printer *p, struct fs_mcu *mcu,
                                        struct fs_error *err)
{
    for (int i = 0; i < p->mcu_count; i++) {
        if (p->mcus[i] != mcu)
            continue;
        if (!p->stepsyncs[i]) {
            p->stepsyncs[i] = fs_stepsync_new(mcu, err);
            /* Its overrun check needs the host's "now". */
            if (p->stepsyncs[i])
                fs_stepsync_set_reactor(p->stepsyncs[i], p->reactor);
        }
        return p->stepsyncs[i];
    }
    fs_error_set(err, "stepsync for an mcu the printer does not own");
    return NULL;
}

/* [mcu] and [mcu NAME]: where each MCU is and how fast its line runs. */
static int add_mcu(struct fs_printer *p, struct fs_config_section *s,
                   const struct fs_printer_backend *backend, struct fs_error *err)
{
    const char *name = fs_config_section_suffix(s)[0] ? fs_config_section_suffix(s) : "mcu";
    if (p->mcu_count >= FS_PRINTER_MAX_MCUS)
        return fs_config_error(s, NULL, err, "more than %d MCUs", FS_PRINTER_MAX_MCUS);
    if (fs_printer_mcu(p, name))
        return fs_config_error(s, NULL, err, "a second section for mcu '%s'", name);
    const char *serial;
    int baud, restart = FS_MCU_RESTART_UNSET;
    /* In the order of enum fs_mcu_restart_method. */
    static const char *const restart_methods[] = {"arduino", "cheetah", "command",
                                                  "rpi_usb", NULL};
    if (fs_config_get_str(s, "serial", NULL, &serial, err) < 0 ||
        fs_config_get_int(s, "baud", DEFAULT_BAUD, 2400, 12000000, &baud, err) < 0 ||
        (fs_config_has(s, "restart_method") &&
         fs_config_get_choice(s, "restart_method", restart_methods, NULL, &restart, err) < 0))
        return -1;
    struct fs_transport *t = backend->open_mcu(backend->ctx, name, serial, (uint32_t)baud, err);
    if (!t)
        return fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s),
                               fs_config_section_name(s));
    struct fs_mcu *m = fs_mcu_new(p->reactor, t, name, p->log, err);
    if (!m)
        return -1;
    p->restart_methods[p->mcu_count] = (enum fs_mcu_restart_method)restart;
    p->mcus[p->mcu_count++] = m;
    return 0;
}

int fs_printer_init(struct fs_printer *p, struct fs_reactor *reactor,
                    const struct fs_logger *log, struct fs_config *cfg,
                    const struct fs_printer_backend *backend, struct fs_error *err)
{
    memset(p, 0, sizeof(*p));
    p->reactor = reactor;
    p->log = log;
    p->config = cfg;
    p->gcode = fs_gcode_new(err);
    if (!p->gcode)
        return -1;
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        if (!strcmp(fs_config_section_kind(s), "mcu") && add_mcu(p, s, backend, err) < 0)
            return -1;
    }
    if (!fs_printer_mcu(p, "mcu"))
        return fs_error_set(err, "the configuration has no [mcu] section (the main MCU)");
    if (fs_printer_modules_init(p, err) < 0)
        return -1;
    return fs_config_check_unused(cfg, err);
}

int fs_printer_queue_script(struct fs_printer *p, const char *script, const char *source)
{
    if (p->script_count == FS_PRINTER_SCRIPTS_MAX) {
        fs_log(p->log, FS_LOG_WARN, "%s: dropped, %d scripts already wait", source,
               FS_PRINTER_SCRIPTS_MAX);
        return -1;
    }
    struct fs_printer_script *q = &p->scripts[p->script_count++];
    q->script = script;
    snprintf(q->source, sizeof(q->source), "%s", source);
    return 0;
}

int fs_printer_has_deferred(const struct fs_printer *p)
{
    return p->script_count > 0 || (p->faults && fs_faults_has_work(p->faults));
}

static void run_fault_work(struct fs_printer *p)
{
    while (p->faults && fs_faults_has_work(p->faults))
        fs_faults_run_deferred(p->faults);
}

void fs_printer_run_deferred(struct fs_printer *p)
{
    /* Fault work first: a pause must park before a macro moves the head. */
    run_fault_work(p);
    while (p->script_count > 0 && p->gcode) {
        struct fs_printer_script q = p->scripts[0];
        memmove(&p->scripts[0], &p->scripts[1],
                (size_t)(--p->script_count) * sizeof(p->scripts[0]));
        struct fs_error err;
        if (fs_gcode_run_script(p->gcode, q.script, q.source, &err) < 0)
            fs_gcode_respond_error(p->gcode, "%s", err.msg);
        run_fault_work(p);
    }
}

void fs_printer_shutdown(struct fs_printer *p, const char *reason)
{
    if (p->is_shutdown)
        return;
    p->is_shutdown = 1;
    snprintf(p->shutdown_reason, sizeof(p->shutdown_reason), "%s", reason);
    fs_log(p->log, FS_LOG_ERROR, "shutdown: %s", reason);
    for (int i = 0; i < p->mcu_count; i++) {
        struct fs_error err;
        if (fs_mcu_is_connected(p->mcus[i]) &&
            fs_mcu_send_text(p->mcus[i], "emergency_stop", &err) < 0)
            fs_log(p->log, FS_LOG_WARN, "%s", err.msg);
    }
    fs_printer_modules_shutdown(p, reason);
}

/* What an MCU reports is a fault of that MCU; the fault module decides
 * what happens (its floor: that MCU's outputs count as off, halt when it
 * steps an axis, pause otherwise). */
static void on_mcu_event(void *arg, struct fs_mcu *m, enum fs_mcu_event event,
                         const char *detail, double eventtime)
{
    (void)eventtime;
    struct fs_printer *p = arg;
    for (int i = 0; i < p->mcu_count; i++)
        if (p->mcus[i] == m && event == FS_MCU_EVENT_LOST)
            p->mcu_lost_mask |= 1u << i;
        else if (p->mcus[i] == m && event == FS_MCU_EVENT_RECOVERED)
            p->mcu_lost_mask &= ~(1u << i);
    struct fs_fault_source *src = fs_printer_mcu_fault_source(p, m);
    switch (event) {
    case FS_MCU_EVENT_SHUTDOWN:
        /* The MCU stopped on our own emergency_stop: not a new fault. */
        if (p->is_shutdown)
            return;
        fs_printer_mcu_heaters_off(p, m);
        fs_fault_raise(src, FS_FAULT_MCU_SHUTDOWN, "MCU '%s' shutdown: %s", fs_mcu_name(m),
                       detail);
        break;
    case FS_MCU_EVENT_LOST:
        fs_printer_mcu_heaters_off(p, m);
        fs_fault_raise(src, FS_FAULT_COMM_LOST, "Lost communication with MCU '%s'%s%s",
                       fs_mcu_name(m), detail && detail[0] ? ": " : "", detail ? detail : "");
        break;
    case FS_MCU_EVENT_RESTARTED:
        fs_printer_mcu_heaters_off(p, m);
        fs_fault_raise(src, FS_FAULT_MCU_RESET, "MCU '%s' restarted on its own%s%s",
                       fs_mcu_name(m), detail && detail[0] ? ": " : "", detail ? detail : "");
        break;
    default:
        return;
    }
}

int fs_printer_start(struct fs_printer *p, double timeout_s, struct fs_error *err)
{
    for (int i = 0; i < p->mcu_count; i++)
        fs_mcu_set_event_handler(p->mcus[i], on_mcu_event, p);
    /* The main MCU first: its clock is the printer's print time. */
    struct fs_mcu *primary = fs_printer_mcu(p, "mcu");
    if (fs_mcu_connect(primary, timeout_s, err) < 0)
        return -1;
    for (int i = 0; i < p->mcu_count; i++) {
        if (p->mcus[i] != primary && fs_mcu_connect(p->mcus[i], timeout_s, err) < 0)
            return -1;
        fs_mcu_set_primary(p->mcus[i], primary);
    }
    /* Siblings running different firmware: a fault (its floor is
     * shutdown), raised before anything is configured on them. */
    fs_printer_mcu_versions_check(p, NULL);
    if (p->is_shutdown)
        return fs_error_set(err, "%s", p->shutdown_reason);
    for (int i = 0; i < p->mcu_count; i++)
        if (fs_mcu_configure(p->mcus[i], timeout_s, err) < 0)
            return -1;
    if (fs_printer_modules_ready(p, err) < 0)
        return -1;
    p->is_ready = 1;
    char what[FS_FAULT_EVIDENCE_MAX - 96];
    if (p->job && fs_job_journal_unfinished(p->job, what, sizeof(what)))
        fs_fault_raise(p->printer_fault_source, FS_FAULT_POWER_LOSS,
                       "the journal holds an unfinished job: %s (JOB_RECOVER continues it)",
                       what);
    fs_log(p->log, FS_LOG_INFO, "printer ready: %d mcu(s)", p->mcu_count);
    return 0;
}

void fs_printer_free(struct fs_printer *p)
{
    fs_printer_modules_free(p);
    for (int i = 0; i < p->mcu_count; i++) {
        fs_stepsync_free(p->stepsyncs[i]);
        fs_mcu_free(p->mcus[i]);
    }
    p->mcu_count = 0;
    fs_gcode_free(p->gcode);
    p->gcode = NULL;
}
