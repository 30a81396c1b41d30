/* How the fault module's actions reach the printer's parts: the one place
 * that turns "pause", "halt", "cancel" or "shutdown" into calls on the job,
 * the toolhead, the heaters and the MCUs, plus the fault sources that
 * belong to the printer as a whole (each MCU, M112). The fault module
 * decides; this file only carries out (see engine/fault/fault.h). */
#include "printer/fault_actions.h"

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* NAN */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* malloc, free */
#include <string.h>      /* strlen, memcpy, strcmp */

#include "config/config.h"    /* fs_config_* */
#include "core/error.h"       /* fs_error_set */
#include "core/log.h"         /* fs_log */
#include "fault/fault.h"      /* fs_faults_* */
#include "gcode/gcode.h"      /* fs_gcode_run_script */
#include "gcode/macro.h"      /* fs_macro_new, fs_macro_render */
#include "job/job.h"          /* fs_job_* */
#include "mcu/mcu.h"          /* fs_mcu_* */
#include "mcu/mcu_output.h"   /* fs_mcu_output_new */
#include "motion/halt.h"      /* fs_toolhead_halt_*, fs_toolhead_shutdown_read_back */
#include "motion/stepper.h"   /* fs_stepper_mcu */
#include "motion/toolhead.h"  /* fs_toolhead_* */
#include "printer/printer.h"  /* struct fs_printer */
#include "printer/status.h"   /* fs_printer_status_lookup */
#include "thermal/heaters.h"  /* fs_heaters_* */

/* ---- actions ------------------------------------------------------------ */

static void act_stop_job_lines(void *arg)
{
    struct fs_printer *p = arg;
    if (p->job)
        fs_job_hold(p->job);
}

static void act_halt_motion(void *arg)
{
    struct fs_printer *p = arg;
    if (p->toolhead)
        fs_toolhead_halt_now(p->toolhead);
    /* The job starts no line on the dropped plan (fs_job_halt_pause below). */
    if (p->job)
        fs_job_hold(p->job);
}

static void act_heaters_off(void *arg)
{
    struct fs_printer *p = arg;
    if (p->heaters)
        fs_heaters_turn_off_all(p->heaters);
}

static void act_shutdown(void *arg, const char *reason)
{
    fs_printer_shutdown(arg, reason);
}

static struct fs_job_park park_from_policy(const struct fs_printer *p)
{
    const struct fs_fault_policy_config *pc = fs_faults_policy(p->faults);
    struct fs_job_park park = {
        .x = pc->park_x,
        .y = pc->park_y,
        .z_lift = pc->park_z_lift,
        .speed = pc->park_speed,
        .z_speed = pc->z_lift_speed,
        .heaters = (enum fs_job_pause_heaters)pc->pause_heaters,
        .standby_temp_c = pc->pause_standby_temp_c,
        .heaters_timeout_s = pc->pause_heaters_timeout_s,
        .idle_timeout_s = pc->pause_idle_timeout_s,
    };
    return park;
}

static int act_pause(void *arg, struct fs_error *err)
{
    struct fs_printer *p = arg;
    struct fs_job_park park = park_from_policy(p);
    return fs_job_fault_pause(p->job, &park, err);
}

static int act_finish_halt(void *arg, unsigned untrusted_axes, struct fs_error *err)
{
    struct fs_printer *p = arg;
    int rc = p->toolhead ? fs_toolhead_halt_finish(p->toolhead, untrusted_axes, err) : 0;
    /* The halt dropped queued moves: the job goes back to the line the
     * motors stopped in and waits, paused, for RESUME. A job a person had
     * paused becomes a fault pause too: the halt switched every heater
     * off, and only a fault pause's RESUME heats them back. */
    enum fs_job_state st = p->job ? fs_job_state(p->job) : FS_JOB_STANDBY;
    if (st == FS_JOB_PRINTING || st == FS_JOB_PAUSED) {
        struct fs_job_park park = park_from_policy(p);
        struct fs_error job_err;
        fs_error_clear(&job_err);
        if (fs_job_halt_pause(p->job, &park, rc < 0 ? &job_err : err) < 0 && rc == 0)
            rc = -1;
    }
    return rc;
}

/* After a shutdown the MCUs dropped the moves queued behind the job's last
 * line: a print cut off that way learns where the motors really stopped,
 * so that its journal resumes from there and not a layer later. */
static int act_finish_shutdown(void *arg, struct fs_error *err)
{
    struct fs_printer *p = arg;
    if (!p->toolhead || !p->job || !fs_job_needs_shutdown_fix(p->job))
        return 0;
    struct fs_toolhead_readback rb;
    struct fs_error read_err;
    fs_error_clear(&read_err);
    int rc = fs_toolhead_shutdown_read_back(p->toolhead, &rb, &read_err);
    /* The journal is corrected even when an MCU did not answer: it then
     * names the steppers whose position is the plan's. */
    if (fs_job_correct_after_shutdown(p->job, rb.pos, !rb.e_lost, rb.unread, err) < 0)
        return -1;
    if (rc < 0) {
        *err = read_err;
        return -1;
    }
    return 0;
}

static int act_cancel(void *arg, struct fs_error *err)
{
    struct fs_printer *p = arg;
    return p->job ? fs_job_cancel(p->job, err) : 0;
}

/* on_fault_gcode is a template like a macro's: it sees the fault as
 * params.SOURCE, params.KIND, params.EVIDENCE and params.ACTION. */
static int act_run_gcode(void *arg, const char *script, const struct fs_fault_record *rec,
                         struct fs_error *err)
{
    struct fs_printer *p = arg;
    char line[FS_GCODE_LINE_MAX], buf[FS_GCODE_LINE_MAX];
    char evidence[FS_FAULT_EVIDENCE_MAX];
    /* Quotes would end the parameter early. */
    size_t n = 0;
    for (const char *c = rec->evidence; *c && n + 1 < sizeof(evidence); c++)
        evidence[n++] = *c == '"' ? '\'' : *c;
    evidence[n] = '\0';
    snprintf(line, sizeof(line), "ON_FAULT SOURCE=\"%s\" KIND=%s EVIDENCE=\"%s\" ACTION=%s",
             rec->source, fs_fault_kind_name(rec->kind), evidence,
             fs_fault_action_name(rec->action));
    struct fs_gcode_command cmd;
    if (fs_gcode_parse(line, buf, sizeof(buf), &cmd, err) < 0)
        return -1;
    struct fs_macro *m = fs_macro_new("ON_FAULT", script, err);
    if (!m)
        return -1;
    size_t cap = FS_FAULT_SCRIPT_MAX * 4;
    char *out = malloc(cap);
    int rc = -1;
    if (!out) {
        fs_error_set(err, "out of memory");
    } else if (fs_macro_render(m, &cmd, fs_printer_status_lookup, p, out, cap, err) == 0) {
        char source[FS_FAULT_NAME_MAX + 32];
        snprintf(source, sizeof(source), "on_fault_gcode of %s", rec->source);
        rc = fs_gcode_run_script(p->gcode, out, source, err);
    }
    free(out);
    fs_macro_free(m);
    return rc;
}

static unsigned act_homed_axes(void *arg)
{
    struct fs_printer *p = arg;
    return p->toolhead ? fs_toolhead_homed_axes(p->toolhead) : 0;
}

static int act_job_active(void *arg)
{
    struct fs_printer *p = arg;
    if (!p->job)
        return 0;
    enum fs_job_state st = fs_job_state(p->job);
    return st == FS_JOB_PRINTING || st == FS_JOB_PAUSED;
}

static cJSON *position_json(const double pos[4])
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < 4; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(pos[i]));
    return a;
}

static void act_describe(void *arg, cJSON *obj)
{
    struct fs_printer *p = arg;
    if (p->toolhead) {
        struct fs_toolhead_status st;
        fs_toolhead_get_status(p->toolhead, &st);
        cJSON *th = cJSON_AddObjectToObject(obj, "toolhead");
        if (th) {
            cJSON_AddItemToObject(th, "position", position_json(st.position));
            cJSON_AddStringToObject(th, "homed_axes", st.homed);
            cJSON_AddNumberToObject(th, "print_time", st.print_time);
        }
    }
    if (p->job) {
        cJSON *job = cJSON_AddObjectToObject(obj, "job");
        if (job)
            fs_job_status_to_json(p->job, job);
    }
    if (p->heaters) {
        cJSON *hs = cJSON_AddArrayToObject(obj, "heaters");
        for (int i = 0; hs && i < fs_heaters_count(p->heaters); i++) {
            struct fs_heater_status st;
            if (fs_heaters_status(p->heaters, i, &st) < 0)
                continue;
            cJSON *h = cJSON_CreateObject();
            if (!h)
                break;
            cJSON_AddStringToObject(h, "name", st.name);
            cJSON_AddNumberToObject(h, "temperature", st.temperature_c);
            cJSON_AddNumberToObject(h, "target", st.target_c);
            cJSON_AddNumberToObject(h, "power", st.power);
            cJSON_AddItemToArray(hs, h);
        }
    }
    cJSON *mcus = cJSON_AddArrayToObject(obj, "mcus");
    for (int i = 0; mcus && i < p->mcu_count; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m)
            break;
        cJSON_AddStringToObject(m, "name", fs_mcu_name(p->mcus[i]));
        cJSON_AddBoolToObject(m, "lost", (p->mcu_lost_mask >> i) & 1u);
        cJSON_AddBoolToObject(m, "shutdown",
                              fs_mcu_is_connected(p->mcus[i]) &&
                                  fs_mcu_state(p->mcus[i])->is_shutdown);
        cJSON_AddStringToObject(m, "identity", fs_mcu_identity(p->mcus[i]));
        cJSON_AddItemToArray(mcus, m);
    }
}

/* ---- the printer's own sources -------------------------------------------- */

/* An MCU as a fault source: its outputs count as off once it is lost or shut
 * down (its own watchdog switches them off); the axes whose steppers it
 * drives lose their position when it stops stepping them. */
static int mcu_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    (void)kind;
    struct fs_printer_mcu_fault *ms = arg;
    struct fs_mcu *m = ms->p->mcus[ms->index];
    if (ms->p->mcu_lost_mask & (1u << ms->index))
        return fs_error_set(err, "mcu '%s' still does not answer (MCU_RECONNECT MCU=%s once "
                            "its link is back)", fs_mcu_name(m), fs_mcu_name(m));
    if (fs_mcu_needs_reconnect(m))
        return fs_error_set(err, "mcu '%s' restarted or was lost: MCU_RECONNECT MCU=%s first",
                            fs_mcu_name(m), fs_mcu_name(m));
    if (fs_mcu_is_connected(m) && fs_mcu_state(m)->is_shutdown)
        return fs_error_set(err, "mcu '%s' is shut down (%s): MCU_RECONNECT MCU=%s first",
                            fs_mcu_name(m), fs_mcu_state(m)->shutdown_reason, fs_mcu_name(m));
    return 0;
}

static unsigned mcu_untrusted_axes(void *arg, enum fs_fault_kind kind)
{
    struct fs_printer_mcu_fault *ms = arg;
    if (kind == FS_FAULT_COMM_LOST || kind == FS_FAULT_MCU_SHUTDOWN ||
        kind == FS_FAULT_MCU_RESET)
        return ms->axes;
    return 0;
}

static void mcu_describe(void *arg, cJSON *obj)
{
    struct fs_printer_mcu_fault *ms = arg;
    struct fs_mcu *m = ms->p->mcus[ms->index];
    cJSON_AddStringToObject(obj, "mcu", fs_mcu_name(m));
    cJSON_AddStringToObject(obj, "identity", fs_mcu_identity(m));
    cJSON_AddBoolToObject(obj, "lost", (ms->p->mcu_lost_mask >> ms->index) & 1u);
}

static const struct fs_fault_source_ops mcu_ops = {
    .clear = mcu_clear,
    .untrusted_axes = mcu_untrusted_axes,
    .describe = mcu_describe,
};

static unsigned axes_on_mcu(struct fs_printer *p, struct fs_mcu *m)
{
    unsigned axes = 0;
    for (int rail = 0; p->toolhead && rail < 3; rail++) {
        struct fs_stepper *st = fs_toolhead_rail_stepper(p->toolhead, rail);
        if (st && fs_stepper_mcu(st) == m)
            axes |= 1u << rail;
    }
    return axes;
}

/* An MCU's fault source is named as its config section is: "mcu" for the
 * main one, "mcu NAME" for the others. */
static void mcu_source_name(const struct fs_mcu *m, char name[FS_FAULT_NAME_MAX])
{
    snprintf(name, FS_FAULT_NAME_MAX, strcmp(fs_mcu_name(m), "mcu") ? "mcu %s" : "mcu",
             fs_mcu_name(m));
}

static int add_mcu_sources(struct fs_printer *p, struct fs_error *err)
{
    for (int i = 0; i < p->mcu_count; i++) {
        struct fs_mcu *m = p->mcus[i];
        char name[FS_FAULT_NAME_MAX];
        mcu_source_name(m, name);
        struct fs_printer_mcu_fault *ms = &p->mcu_faults[i];
        *ms = (struct fs_printer_mcu_fault){p, i, axes_on_mcu(p, m)};
        unsigned flags = ms->axes ? FS_FAULT_SOURCE_DRIVES_AXES : 0;
        if (!fs_faults_add_source(p->faults, name, FS_FAULT_CLASS_MCU, flags,
                                  fs_config_get_section(p->config, name), &mcu_ops, ms, err))
            return -1;
    }
    return 0;
}

static const struct fs_fault_source_ops printer_ops = {0};

/* ---- setup ------------------------------------------------------------------ */

static void announce(void *arg, const char *line)
{
    struct fs_printer *p = arg;
    if (p->gcode)
        fs_gcode_respond(p->gcode, "%s", line);
}

static int check_resume(void *arg, struct fs_error *err)
{
    struct fs_printer *p = arg;
    return fs_faults_check_resume(p->faults, err);
}

static int check_motion(void *arg, struct fs_error *err)
{
    struct fs_printer *p = arg;
    return fs_faults_check_motion(p->faults, err);
}

/* The capsule's copy of the configuration: every file read, in order. */
static int keep_config_text(struct fs_printer *p, struct fs_error *err)
{
    size_t size = 1;
    for (int i = 0; i < fs_config_file_count(p->config); i++)
        size += strlen(fs_config_file_path(p->config, i)) +
                strlen(fs_config_file_text(p->config, i)) + 16;
    char *text = malloc(size);
    if (!text)
        return fs_error_set(err, "out of memory for the configuration's copy");
    size_t n = 0;
    for (int i = 0; i < fs_config_file_count(p->config); i++)
        n += (size_t)snprintf(text + n, size - n, "# file: %s\n%s\n",
                              fs_config_file_path(p->config, i),
                              fs_config_file_text(p->config, i));
    free(p->config_text);
    p->config_text = text;
    fs_faults_set_config_text(p->faults, fs_config_file_count(p->config) ?
                              fs_config_file_path(p->config, 0) : "", text);
    return 0;
}

/* The power relay: an output that is on while the MCU runs and off by the
 * MCU's own shutdown (its default value), so a shutdown cuts the heaters'
 * supply even when a switch is welded on (uncommanded_heating's floor). */
static int add_power_relay(struct fs_printer *p, struct fs_error *err)
{
    struct fs_config_section *s = fs_config_get_section(p->config, "fault_policy");
    struct fs_pin_desc pin;
    if (!s || !fs_config_has(s, "power_relay_pin"))
        return 0;
    struct fs_mcu *m;
    if (fs_config_get_pin(s, "power_relay_pin", 1, 1, 0, &pin, err) < 0 ||
        fs_printer_pin_mcu(p, s, "power_relay_pin", &pin, &m, err) < 0)
        return -1;
    char where[FS_PRINTER_WHERE_MAX];
    struct fs_mcu_output_params op;
    fs_mcu_output_params_default(&op);
    op.pin = pin.pin;
    op.invert = pin.invert;
    op.where = fs_printer_section_context(s, where, sizeof(where));
    op.start_value = 1.0;
    op.shutdown_value = 0.0;
    p->power_relay = fs_mcu_output_new(m, &op, err);
    return p->power_relay ? 0 : -1;
}

int fs_printer_faults_init(struct fs_printer *p, struct fs_error *err)
{
    struct fs_fault_policy_config pc;
    if (fs_fault_policy_read(p->config, &pc, err) < 0 || add_power_relay(p, err) < 0)
        return -1;
    p->faults = fs_faults_new(p->reactor, p->log, &pc, err);
    if (!p->faults)
        return -1;
    struct fs_fault_actions actions = {
        .arg = p,
        .stop_job_lines = act_stop_job_lines,
        .halt_motion = act_halt_motion,
        .heaters_off = act_heaters_off,
        .shutdown = act_shutdown,
        .pause = act_pause,
        .finish_halt = act_finish_halt,
        .cancel = act_cancel,
        .finish_shutdown = act_finish_shutdown,
        .run_gcode = act_run_gcode,
        .homed_axes = act_homed_axes,
        .job_active = act_job_active,
        .describe = act_describe,
    };
    fs_faults_set_actions(p->faults, &actions);
    fs_faults_set_announce(p->faults, announce, p);
    p->printer_fault_source = fs_faults_add_source(p->faults, "printer", FS_FAULT_CLASS_PRINTER,
                                                   0, NULL, &printer_ops, p, err);
    if (!p->printer_fault_source || keep_config_text(p, err) < 0)
        return -1;
    return fs_faults_register_gcode(p->faults, p->gcode, err);
}

/* The capsule's positions: where the toolhead was told to be, a few
 * times a second (samples and commands are noted where they happen). */
#define POSITION_NOTE_PERIOD_S 0.25

static double note_position(struct fs_timer *t, double eventtime)
{
    struct fs_printer *p = t->arg;
    if (p->toolhead && p->faults) {
        double pos[4];
        fs_toolhead_get_position(p->toolhead, pos);
        fs_faults_note_position(p->faults, eventtime, pos);
    }
    return eventtime + POSITION_NOTE_PERIOD_S;
}

int fs_printer_faults_connect(struct fs_printer *p, struct fs_error *err)
{
    fs_timer_init(&p->position_timer, note_position, p);
    if (p->toolhead && fs_reactor_timer_set(p->reactor, &p->position_timer,
                                            fs_reactor_now(p->reactor)) == 0)
        p->position_timer_armed = 1;
    if (add_mcu_sources(p, err) < 0)
        return -1;
    if (p->job) {
        fs_job_set_resume_check(p->job, check_resume, p);
        fs_job_set_journal_dir(p->job, fs_faults_policy(p->faults)->journal_path);
    }
    if (p->toolhead)
        fs_toolhead_set_motion_check(p->toolhead, check_motion, p);
    return 0;
}

void fs_printer_faults_free(struct fs_printer *p)
{
    if (p->position_timer_armed)
        fs_reactor_timer_cancel(p->reactor, &p->position_timer);
    p->position_timer_armed = 0;
    fs_mcu_output_free(p->power_relay);
    p->power_relay = NULL;
    fs_faults_free(p->faults);
    p->faults = NULL;
    free(p->config_text);
    p->config_text = NULL;
}

struct fs_fault_source *fs_printer_mcu_fault_source(struct fs_printer *p, struct fs_mcu *m)
{
    char name[FS_FAULT_NAME_MAX];
    mcu_source_name(m, name);
    return p->faults ? fs_faults_lookup(p->faults, name) : NULL;
}
