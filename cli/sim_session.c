/* The simulated printing session: setup, the job loop, the hold sampler
 * and the report. */
#include "sim_session.h"

#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* fabs, isnan, NAN */
#include <stdlib.h>      /* calloc, free, strdup */
#include <string.h>      /* strcmp, strncmp */
#include <time.h>        /* clock_gettime */

#include "config/config.h"     /* fs_config_load */
#include "core/error.h"        /* struct fs_error */
#include "core/log.h"          /* struct fs_logger */
#include "core/reactor.h"      /* fs_timer */
#include "fault/fault.h"       /* fs_faults_record_at */
#include "gcode/gcode.h"       /* fs_gcode_set_output */
#include "job/job.h"           /* fs_job_* */
#include "motion/gcode_move.h" /* fs_gcode_move_get_position */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* fs_printer_* */
#include "printer/printer_gcode.h" /* fs_printer_run_console_line */
#include "printer/restart.h"   /* fs_printer_restart */
#include "sim_printer.h"       /* sim_printer_build */
#include "thermal/heaters.h"   /* fs_heaters_status */

#define LINES_PER_TURN 256
#define PROGRESS_INTERVAL_S 0.2
#define HOLD_SAMPLE_S 0.25
#define HOLD_SETTLED_C 1.0
#define MAX_TRACKED_HEATERS 8
#define START_TIMEOUT_S 5.0
/* With nothing to run, the world advances in steps this long so that a
 * stop condition is seen soon after it becomes true. */
#define IDLE_STEP_S 0.05

/* How well each heater holds its target, seen from the plant: after the
 * block first comes within HOLD_SETTLED_C of a new target, the largest
 * distance from it until the target changes. */
struct hold_tracker {
    double target;
    int settled;
    double max_deviation; /* NAN until a target was held */
};

struct sim_session {
    FILE *err_out;
    char *config_path; /* read again by RESTART */
    struct sim_host host;
    struct sim_printer plant;
    struct fs_config *cfg;
    struct fs_printer printer;
    struct fs_logger log;
    int host_ready, printer_ready;
    double start_sim, start_wall, end_sim, end_wall;
    double e_start;
    struct fs_timer hold_timer;
    struct hold_tracker hold[MAX_TRACKED_HEATERS];
    FILE *progress_out; /* the running print's progress bar, or NULL */
    double next_draw;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct fs_transport *open_sim_mcu(void *ctx, const char *name, const char *serial,
                                         uint32_t baud, struct fs_error *err)
{
    (void)serial;
    (void)baud;
    struct fs_transport *t = sim_world_transport(((struct sim_host *)ctx)->world, name);
    if (!t)
        fs_error_set(err, "the simulated printer has no mcu '%s'", name);
    return t;
}

static void log_sink(void *arg, enum fs_log_level level, const char *msg)
{
    struct sim_session *s = arg;
    if (s->err_out && level >= FS_LOG_WARN)
        fprintf(s->err_out, "%s: %s\n", fs_log_level_name(level), msg);
}

static void gcode_output(void *arg, const char *text)
{
    struct sim_session *s = arg;
    if (s->err_out && !strncmp(text, "!! ", 3))
        fprintf(s->err_out, "%s\n", text);
}

static double sample_holds(struct fs_timer *t, double eventtime)
{
    struct sim_session *s = t->arg;
    struct fs_heaters *heaters = s->printer.heaters;
    for (int i = 0; i < fs_heaters_count(heaters) && i < MAX_TRACKED_HEATERS; i++) {
        struct fs_heater_status hs;
        int plant_id;
        if (fs_heaters_status(heaters, i, &hs) < 0 || !hs.is_heater ||
            (plant_id = sim_printer_heater(&s->plant, hs.name)) < 0)
            continue;
        struct hold_tracker *h = &s->hold[i];
        if (hs.target_c != h->target) {
            h->target = hs.target_c;
            h->settled = 0;
        }
        if (h->target <= 0.0)
            continue;
        double dev = fabs(sim_world_heater_temp_c(s->host.world, plant_id) - h->target);
        if (!h->settled && dev <= HOLD_SETTLED_C)
            h->settled = 1;
        if (h->settled && (isnan(h->max_deviation) || dev > h->max_deviation))
            h->max_deviation = dev;
    }
    return eventtime + HOLD_SAMPLE_S;
}

struct sim_session *sim_session_open(const char *config_path, uint64_t seed, FILE *err_out,
                                     struct fs_error *err)
{
    struct sim_session *s = calloc(1, sizeof(*s));
    if (!s) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    s->err_out = err_out;
    s->log = (struct fs_logger){log_sink, s, FS_LOG_INFO};
    s->config_path = strdup(config_path);
    if (!s->config_path) {
        free(s);
        fs_error_set(err, "out of memory");
        return NULL;
    }
    /* Before anything can fail: closing cancels it. */
    fs_timer_init(&s->hold_timer, sample_holds, s);
    if (fs_config_load(config_path, &s->cfg, err) < 0 ||
        sim_host_init(&s->host, seed, &s->log, err) < 0)
        goto fail;
    s->host_ready = 1;
    if (sim_printer_build(&s->host, s->cfg, &s->plant, err) < 0)
        goto fail;
    struct fs_printer_backend backend = {&s->host, open_sim_mcu};
    s->printer_ready = 1;
    if (fs_printer_init(&s->printer, &s->host.reactor, &s->log, s->cfg, &backend, err) < 0)
        goto fail;
    fs_gcode_set_output(s->printer.gcode, gcode_output, s);
    if (fs_printer_start(&s->printer, START_TIMEOUT_S, err) < 0)
        goto fail;
    return s;
fail:
    sim_session_close(s);
    return NULL;
}

void sim_session_close(struct sim_session *s)
{
    if (!s)
        return;
    if (s->host_ready)
        fs_reactor_timer_cancel(&s->host.reactor, &s->hold_timer);
    if (s->printer_ready)
        fs_printer_free(&s->printer);
    if (s->host_ready)
        sim_host_free(&s->host);
    fs_config_free(s->cfg);
    free(s->config_path);
    free(s);
}

/* RESTART and FIRMWARE_RESTART only leave a request on the printer; this
 * loop owns the printer, so the rebuild happens here, between commands. The
 * physical printer (the plant) is the same machine before and after. */
static int honour_restart(struct sim_session *s, struct fs_error *err)
{
    enum fs_restart_request kind = s->printer.restart_request;
    if (kind == FS_RESTART_NONE)
        return 0;
    struct fs_config *cfg;
    if (fs_config_load(s->config_path, &cfg, err) < 0) {
        s->printer.restart_request = FS_RESTART_NONE;
        return fs_error_prefix(err, "%s: ",
                               kind == FS_RESTART_FIRMWARE ? "FIRMWARE_RESTART" : "RESTART");
    }
    fs_reactor_timer_cancel(&s->host.reactor, &s->hold_timer);
    struct fs_printer_backend backend = {&s->host, open_sim_mcu};
    int rc = fs_printer_restart(&s->printer, kind, cfg, &backend, START_TIMEOUT_S, err);
    if (s->printer.config == cfg) {
        fs_config_free(s->cfg);
        s->cfg = cfg;
    } else {
        fs_config_free(cfg);
    }
    if (s->printer.gcode)
        fs_gcode_set_output(s->printer.gcode, gcode_output, s);
    return rc;
}

static void draw_progress(struct sim_session *s, FILE *out, double fraction)
{
    const int width = 40;
    int filled = (int)(fraction * width + 0.5);
    fprintf(out, "\r[%.*s%*s] %5.1f%%  sim %7.1f s", filled,
            "########################################", width - filled, "", fraction * 100.0,
            sim_host_now(&s->host) - s->start_sim);
    fflush(out);
}

int sim_session_start_print(struct sim_session *s, const char *gcode_path, FILE *progress_out,
                            struct fs_error *err)
{
    struct fs_job *job = s->printer.job;
    if (fs_job_select_path(job, gcode_path, err) < 0)
        return -1;
    double pos[4];
    fs_toolhead_get_position(s->printer.toolhead, pos);
    s->e_start = pos[3];
    s->start_sim = sim_host_now(&s->host);
    s->start_wall = wall_now();
    s->progress_out = progress_out;
    s->next_draw = s->start_wall;
    for (int i = 0; i < MAX_TRACKED_HEATERS; i++)
        s->hold[i] = (struct hold_tracker){0.0, 0, NAN};
    fs_reactor_timer_set(&s->host.reactor, &s->hold_timer, s->start_sim);
    return fs_job_start(job, err);
}

static int printer_stopped(const struct sim_session *s)
{
    return s->printer.is_shutdown || s->printer.restart_request != FS_RESTART_NONE ||
           !s->printer.job;
}

/* One turn of the program loop: fault work first (a pause must park before
 * another line runs), then file lines, else the world runs on for a while.
 * Returns 0 when there is nothing left to do before `until`. */
static int session_turn(struct sim_session *s, double until)
{
    if (fs_printer_has_deferred(&s->printer)) {
        fs_printer_run_deferred(&s->printer);
        return 1;
    }
    struct fs_job *job = s->printer.job;
    if (fs_job_has_work(job)) {
        fs_job_run(job, LINES_PER_TURN);
        if (s->progress_out && wall_now() >= s->next_draw) {
            struct fs_job_status st;
            fs_job_get_status(job, &st);
            draw_progress(s, s->progress_out, st.progress);
            s->next_draw = wall_now() + PROGRESS_INTERVAL_S;
        }
        return 1;
    }
    double now = sim_host_now(&s->host);
    if (isinf(until) || now >= until)
        return 0;
    double step = now + IDLE_STEP_S;
    fs_reactor_pause(&s->host.reactor, step < until ? step : until);
    return 1;
}

/* Deferred work left when the loop ends (a shutdown stops the loop, but
 * its journal line and capsule are written from here). */
static void drain_fault_work(struct sim_session *s)
{
    if (s->printer.gcode && fs_printer_has_deferred(&s->printer))
        fs_printer_run_deferred(&s->printer);
}

int sim_session_run(struct sim_session *s, double until, sim_session_stop_fn stop, void *arg,
                    struct fs_error *err)
{
    while (!printer_stopped(s) && sim_host_now(&s->host) < until) {
        if (stop && stop(arg, s))
            break;
        if (!session_turn(s, until))
            break;
    }
    if (s->printer.restart_request == FS_RESTART_NONE)
        drain_fault_work(s);
    return honour_restart(s, err);
}

int sim_session_finish_print(struct sim_session *s, struct fs_error *err)
{
    if (!printer_stopped(s))
        fs_toolhead_wait_moves(s->printer.toolhead);
    if (s->progress_out) {
        draw_progress(s, s->progress_out, 1.0);
        fputc('\n', s->progress_out);
        s->progress_out = NULL;
    }
    s->end_sim = sim_host_now(&s->host);
    s->end_wall = wall_now();
    fs_reactor_timer_cancel(&s->host.reactor, &s->hold_timer);
    /* A RESTART in the file ended the print; the report is then the
     * rebuilt printer's. */
    return honour_restart(s, err) < 0 ? -1 : 0;
}

int sim_session_print(struct sim_session *s, const char *gcode_path, FILE *progress_out,
                      struct fs_error *err)
{
    if (sim_session_start_print(s, gcode_path, progress_out, err) < 0)
        return -1;
    /* Until the file ends or the job stops: a paused job ends this run too
     * (nothing would resume it). */
    if (sim_session_run(s, INFINITY, NULL, NULL, err) < 0)
        return -1;
    return sim_session_finish_print(s, err);
}

double sim_session_now(const struct sim_session *s) { return sim_host_now(&s->host); }

int sim_session_run_line(struct sim_session *s, const char *line, struct fs_error *err)
{
    int rc = fs_printer_run_console_line(&s->printer, line, "console", err);
    /* A fault the line raised is handled before the next line, as the
     * program loop would. */
    drain_fault_work(s);
    if (rc < 0)
        return -1;
    return honour_restart(s, err);
}

static cJSON *position_array(const double pos[4])
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 4; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(pos[i]));
    return a;
}

static void add_heaters(struct sim_session *s, cJSON *r)
{
    struct fs_printer *p = &s->printer;
    cJSON *heaters = cJSON_AddObjectToObject(r, "heaters");
    for (int i = 0; i < fs_heaters_count(p->heaters); i++) {
        struct fs_heater_status hs;
        if (fs_heaters_status(p->heaters, i, &hs) < 0)
            continue;
        cJSON *h = cJSON_AddObjectToObject(heaters, hs.name);
        cJSON_AddNumberToObject(h, "temperature", hs.temperature_c);
        cJSON_AddNumberToObject(h, "target", hs.target_c);
        int plant_id = sim_printer_heater(&s->plant, hs.name);
        if (plant_id >= 0)
            cJSON_AddNumberToObject(h, "plant_temperature",
                                    sim_world_heater_temp_c(s->host.world, plant_id));
        if (i < MAX_TRACKED_HEATERS && !isnan(s->hold[i].max_deviation))
            cJSON_AddNumberToObject(h, "max_hold_deviation_c", s->hold[i].max_deviation);
    }
}

/* A restart that could not rebuild the printer leaves no modules to ask:
 * the report then says only that, rather than reading what is not there. */
static cJSON *report_not_built(const struct fs_printer *p)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "state", "not_ready");
    cJSON_AddStringToObject(r, "message", p->shutdown_reason[0] ? p->shutdown_reason
                                              : "the printer could not be rebuilt");
    cJSON_AddItemToObject(r, "faults", cJSON_CreateArray());
    return r;
}

cJSON *sim_session_report(struct sim_session *s)
{
    static const char *const axis_names[4] = {"x", "y", "z", "e"};
    struct fs_printer *p = &s->printer;
    if (!p->job || !p->toolhead || !p->gcode_move || !p->heaters)
        return report_not_built(p);
    struct fs_job_status js;
    fs_job_get_status(p->job, &js);
    double toolhead[4], gcode[4], plant[4];
    fs_toolhead_get_position(p->toolhead, toolhead);
    fs_gcode_move_get_position(p->gcode_move, gcode);
    sim_printer_position(&s->plant, s->host.world, plant);
    double sim_s = s->end_sim - s->start_sim, wall_s = s->end_wall - s->start_wall;

    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "state",
                            p->is_shutdown ? "shutdown" : fs_job_state_name(js.state));
    cJSON_AddStringToObject(r, "file", js.file);
    cJSON_AddStringToObject(r, "message", p->is_shutdown ? p->shutdown_reason : js.message);
    cJSON_AddNumberToObject(r, "sim_time_s", sim_s);
    cJSON_AddNumberToObject(r, "wall_time_s", wall_s);
    cJSON_AddNumberToObject(r, "speedup", wall_s > 0 ? sim_s / wall_s : 0.0);
    cJSON_AddNumberToObject(r, "print_duration_s", js.print_duration_s);
    cJSON_AddItemToObject(r, "toolhead_position", position_array(toolhead));
    cJSON_AddItemToObject(r, "gcode_position", position_array(gcode));
    cJSON_AddNumberToObject(r, "extruded_mm", toolhead[3] - s->e_start);
    cJSON *pp = cJSON_AddObjectToObject(r, "plant_position");
    for (int i = 0; i < 4; i++)
        cJSON_AddNumberToObject(pp, axis_names[i], plant[i]);
    cJSON *steppers = cJSON_AddObjectToObject(r, "steppers");
    for (int i = 0; i < fs_toolhead_stepper_count(p->toolhead); i++)
        cJSON_AddNumberToObject(steppers, fs_toolhead_stepper_name(p->toolhead, i),
                                (double)fs_toolhead_stepper_steps(p->toolhead, i));
    add_heaters(s, r);
    cJSON *faults = cJSON_AddArrayToObject(r, "faults");
    for (int i = 0; p->faults && faults && i < fs_faults_record_count(p->faults); i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(p->faults, i);
        cJSON *f = cJSON_CreateObject();
        if (!f)
            break;
        cJSON_AddStringToObject(f, "source", rec->source);
        cJSON_AddStringToObject(f, "kind", fs_fault_kind_name(rec->kind));
        cJSON_AddStringToObject(f, "action", fs_fault_action_name(rec->action));
        cJSON_AddStringToObject(f, "evidence", rec->evidence);
        cJSON_AddNumberToObject(f, "time_s", rec->time - s->start_sim);
        cJSON_AddBoolToObject(f, "active", rec->active);
        cJSON_AddItemToArray(faults, f);
    }
    return r;
}

struct fs_printer *sim_session_printer(struct sim_session *s) { return &s->printer; }
struct sim_host *sim_session_host(struct sim_session *s) { return &s->host; }
const struct sim_printer *sim_session_plant(const struct sim_session *s) { return &s->plant; }
