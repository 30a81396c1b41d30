/* The demo's story, its timeline and its verdict (see demo.h); what it
 * measures is in demo_record.c, its picture in demo_chart.c. */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include "demo.h"

#include <cjson/cJSON.h> /* the session's report */
#include <errno.h>       /* errno */
#include <ftw.h>         /* nftw */
#include <math.h>        /* fabs, INFINITY */
#include <stdarg.h>      /* va_list */
#include <stdlib.h>      /* mkdtemp, getenv */
#include <string.h>      /* memset, strstr, strcmp */
#include <time.h>        /* clock_gettime */

#include "demo_chart.h"      /* demo_chart_draw */
#include "demo_record.h"     /* struct demo_record */
#include "gcode_expect.h"    /* gcode_expect_file */
#include "job/job.h"         /* fs_job_get_status */
#include "motion/toolhead.h" /* fs_toolhead_get_status */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "sim_inject.h"      /* sim_inject_thermistor */
#include "sim_printer.h"     /* sim_printer_position */
#include "sim_session.h"     /* sim_session_* */
#include "sim_world.h"       /* sim_world_trace_start */
#include "thermal/heater.h"  /* fs_heater_get_temp */
#include "thermal/heaters.h" /* fs_heaters_lookup */

#ifndef FS_SOURCE_DIR
#error "FS_SOURCE_DIR must name the project's folder (scenarios/ is read from it)"
#endif

#define CONFIG FS_SOURCE_DIR "/scenarios/configs/demo_fault.cfg"
#define GCODE_NAME "prusaslicer-cylinder20.gcode"
#define GCODE FS_SOURCE_DIR "/scenarios/gcode/" GCODE_NAME
/* Where in the print the thermistor breaks: well into it, with layers
 * above still to print. */
#define FAULT_AT_PROGRESS 0.4
/* demo_fault.cfg's park position. */
#define PARK_X 200.0
#define PARK_Y 210.0
#define SERVICE_X 100.0
#define SERVICE_Y 20.0
/* The extruder's thermistor is reported every 0.3 s and a reading sums 8
 * conversions 1 ms apart: the toolboard's guard sees a broken wire within
 * one report. */
#define REPORT_S 0.3
#define SAMPLE_WINDOW_S 0.008
/* Bounds on each stage, in simulated seconds: a stage that takes longer is
 * a failed story, not a hang. */
#define PRINT_MAX_S 3000.0
#define PAUSE_MAX_S 120.0
/* How long the machine waits paused, the person's work. */
#define PAUSED_BEFORE_SERVICE_S 20.0
#define REPAIR_S 10.0
#define AFTER_REPAIR_S 2.0
/* A person's tolerances: the bed within 3 C of its target while paused,
 * the head where the file ends within a fifth of a step (80 steps/mm XY). */
#define BED_HOLD_C 3.0
#define PLANT_POS_MM 0.02
#define EXTRUSION_MM 0.01

struct demo {
    struct sim_session *s;
    struct demo_record rec;
    FILE *out;
    struct demo_outcome *o;
    double t0;        /* host time of the print's start */
    double t_open;    /* host time the thermistor opened */
    int plant_hotend;
    struct fs_timer open_timer;
    struct viz_marker markers[VIZ_MARKERS_MAX];
    int marker_count;
    char dir[64];     /* the run's temporary folder: config and journal */
};

static void say_at(struct demo *d, double host_t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say_at(struct demo *d, double host_t, const char *fmt, ...)
{
    if (!d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(d->out, "[%7.2f s] ", host_t - d->t0);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    va_end(ap);
    fflush(d->out);
}

static double now(const struct demo *d) { return sim_session_now(d->s); }

static void mark(struct demo *d, double host_t, const char *label)
{
    if (d->marker_count >= VIZ_MARKERS_MAX)
        return;
    struct viz_marker *m = &d->markers[d->marker_count++];
    m->t = host_t - d->t0;
    snprintf(m->label, sizeof(m->label), "%s", label);
}

static int stop_story(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int stop_story(struct demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->o->reason, sizeof(d->o->reason), fmt, ap);
    va_end(ap);
    say_at(d, now(d), "story stopped: %s", d->o->reason);
    return -1;
}

static struct fs_printer *printer(struct demo *d) { return sim_session_printer(d->s); }

static void job_status(struct demo *d, struct fs_job_status *st)
{
    fs_job_get_status(printer(d)->job, st);
}

/* ---- running the loop until something happens ------------------------------ */

struct until {
    enum fs_job_state state;
    double progress; /* > 0: until this progress instead */
};

static int reached(void *arg, struct sim_session *s)
{
    const struct until *u = arg;
    struct fs_job_status st;
    fs_job_get_status(sim_session_printer(s)->job, &st);
    return u->progress > 0 ? st.state == FS_JOB_PRINTING && st.progress >= u->progress
                           : st.state == u->state;
}

static int run_until(struct demo *d, struct until *u, double max_s, const char *what)
{
    struct fs_error err = {{0}};
    double deadline = now(d) + max_s;
    while (!reached(u, d->s) && now(d) < deadline && !printer(d)->is_shutdown) {
        double before = now(d);
        if (sim_session_run(d->s, deadline, reached, u, &err) < 0)
            return stop_story(d, "%s", err.msg);
        struct fs_job_status st;
        job_status(d, &st);
        /* The loop ran dry (a paused or ended job): waiting longer does
         * not help. */
        if (now(d) == before && !reached(u, d->s) && st.state != FS_JOB_PRINTING)
            break;
    }
    if (reached(u, d->s))
        return 0;
    struct fs_job_status st;
    job_status(d, &st);
    return stop_story(d, "%s not reached (job %s at %.1f %%%s%s%s)", what,
                      fs_job_state_name(st.state), st.progress * 100.0, st.message[0] ? ": " : "",
                      st.message, printer(d)->is_shutdown ? ", printer shut down" : "");
}

static int run_for(struct demo *d, double seconds)
{
    struct fs_error err = {{0}};
    if (sim_session_run(d->s, now(d) + seconds, NULL, NULL, &err) < 0)
        return stop_story(d, "%s", err.msg);
    return 0;
}

static int console(struct demo *d, const char *line)
{
    struct fs_error err = {{0}};
    if (sim_session_run_line(d->s, line, &err) < 0)
        return stop_story(d, "'%s' failed: %s", line, err.msg);
    return 0;
}

/* ---- the story ---------------------------------------------------------------- */

static int set_thermistor(struct demo *d, enum sim_thermistor_fault_kind kind)
{
    struct sim_thermistor_fault f = {.kind = kind};
    struct fs_error err = {{0}};
    if (sim_inject_thermistor(sim_session_host(d->s)->world, d->plant_hotend, &f, &err) < 0)
        return stop_story(d, "%s", err.msg);
    return 0;
}

static double open_thermistor(struct fs_timer *t, double eventtime)
{
    struct demo *d = t->arg;
    d->t_open = eventtime;
    set_thermistor(d, SIM_THERMISTOR_OPEN);
    return FS_NEVER;
}

static void plant_position(struct demo *d, double pos[4])
{
    sim_printer_position(sim_session_plant(d->s), sim_session_host(d->s)->world, pos);
}

static double heater_reading(struct demo *d, const char *name, double *target)
{
    double temp, tgt;
    fs_heater_get_temp(fs_heaters_lookup(printer(d)->heaters, name), &temp, &tgt);
    if (target)
        *target = tgt;
    return temp;
}

static const struct fs_fault_record *find_fault(struct demo *d, const char *source,
                                                const char *kind)
{
    const struct fs_fault_record *found = NULL;
    struct fs_faults *f = printer(d)->faults;
    for (int i = 0; i < fs_faults_record_count(f); i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(f, i);
        if (!strcmp(rec->source, source) && !strcmp(fs_fault_kind_name(rec->kind), kind))
            found = rec;
    }
    return found;
}

/* The message of a refusal up to its first parenthesis: the timeline's
 * line stays short, the journal has the rest. */
static const char *short_reason(const char *msg, char *buf, size_t cap)
{
    const char *p = strstr(msg, "refused: ");
    snprintf(buf, cap, "%s", p ? p + 9 : msg);
    char *paren = strstr(buf, " (");
    if (paren)
        *paren = '\0';
    return buf;
}

static int print_until_fault(struct demo *d)
{
    struct fs_error err = {{0}};
    if (sim_session_start_print(d->s, GCODE, NULL, &err) < 0)
        return stop_story(d, "%s", err.msg);
    d->t0 = now(d);
    if (demo_record_start(&d->rec, d->s, d->t0, &err) < 0)
        return stop_story(d, "%s", err.msg);
    struct fs_job_status st;
    job_status(d, &st);
    say_at(d, now(d), "print started: %s (%ld bytes) on 'mcu' (axes, bed) and 'toolboard' "
                      "(extruder, hotend)",
           GCODE_NAME, st.size);
    struct until u = {FS_JOB_PRINTING, FAULT_AT_PROGRESS};
    if (run_until(d, &u, PRINT_MAX_S, "the fault's moment") < 0)
        return -1;
    double bed_target, hot_target, pos[4];
    double bed = heater_reading(d, "heater_bed", &bed_target);
    double hot = heater_reading(d, "extruder", &hot_target);
    plant_position(d, pos);
    say_at(d, now(d), "printing: %.0f %% of the file, head at Z %.2f, hotend %.1f C (target %.0f), "
                      "bed %.1f C (target %.0f)",
           FAULT_AT_PROGRESS * 100.0, pos[2], hot, hot_target, bed, bed_target);

    /* The wire breaks at an exact moment, whatever the job is doing. */
    fs_timer_init(&d->open_timer, open_thermistor, d);
    fs_reactor_timer_set(&sim_session_host(d->s)->reactor, &d->open_timer, now(d) + 0.05);
    u = (struct until){FS_JOB_PAUSED, 0.0};
    int rc = run_until(d, &u, PAUSE_MAX_S, "the pause");
    if (d->t_open > 0) {
        mark(d, d->t_open, "thermistor open: fault, pause");
        say_at(d, d->t_open, "the hotend's thermistor opens (injected: a broken wire)");
    }
    return rc;
}

static void report_fault_and_pause(struct demo *d)
{
    struct demo_outcome *o = d->o;
    double last_on = d->rec.hotend_last_on;
    if (last_on >= d->t_open) {
        o->pin_off_latency_s = last_on + DEMO_PIN_PROBE_S - d->t_open;
        say_at(d, last_on + DEMO_PIN_PROBE_S,
               "toolboard firmware: hotend heater pin off %.3f s after the thermistor opened",
               o->pin_off_latency_s);
    } else {
        o->pin_off_latency_s = 0.0;
        say_at(d, d->t_open, "toolboard firmware: the hotend heater pin was off already and "
                             "stays off");
    }
    const struct fs_fault_record *rec = find_fault(d, "extruder", "sensor_open");
    if (rec) {
        o->fault_raised = 1;
        snprintf(o->fault_action, sizeof(o->fault_action), "%s",
                 fs_fault_action_name(rec->action));
        snprintf(o->fault_evidence, sizeof(o->fault_evidence), "%s", rec->evidence);
    }
    /* Every fault since the wire broke, in the order raised: the broken
     * reading can trip other checks before the sensor fault's tolerance
     * runs out. */
    struct fs_faults *faults = printer(d)->faults;
    for (int i = 0; i < fs_faults_record_count(faults); i++) {
        const struct fs_fault_record *r = fs_faults_record_at(faults, i);
        if (r->time >= d->t_open)
            say_at(d, r->time, "fault raised: %s %s -> %s: %s", r->source,
                   fs_fault_kind_name(r->kind), fs_fault_action_name(r->action), r->evidence);
    }
    struct fs_toolhead_status th;
    fs_toolhead_get_status(printer(d)->toolhead, &th);
    double pos[4], hot_target;
    plant_position(d, pos);
    for (int i = 0; i < 3; i++)
        o->park_pos[i] = pos[i];
    double bed = heater_reading(d, "heater_bed", &o->bed_target_c);
    heater_reading(d, "extruder", &hot_target);
    o->paused = 1;
    say_at(d, now(d), "paused and parked: head at X %.2f Y %.2f Z %.2f; hotend target %.0f, "
                      "bed %.1f C keeps its target %.0f; homed axes: %s",
           pos[0], pos[1], pos[2], hot_target, bed, o->bed_target_c, th.homed);
}

static int service_and_repair(struct demo *d, int never_repair)
{
    struct demo_outcome *o = d->o;
    demo_record_window_open(&d->rec);
    if (run_for(d, PAUSED_BEFORE_SERVICE_S) < 0)
        return -1;
    struct fs_error err = {{0}};
    char why[FS_ERROR_MSG_MAX];
    if (sim_session_run_line(d->s, "RESUME", &err) < 0) {
        o->resume_refused_while_open = 1;
        say_at(d, now(d), "RESUME refused while the sensor is open: %s",
               short_reason(err.msg, why, sizeof(why)));
    } else {
        say_at(d, now(d), "RESUME was accepted with the sensor still open");
    }
    char line[64];
    snprintf(line, sizeof(line), "G1 X%.0f Y%.0f F6000", SERVICE_X, SERVICE_Y);
    if (console(d, "G90") < 0 || console(d, line) < 0 || console(d, "M400") < 0)
        return -1;
    double pos[4];
    plant_position(d, pos);
    mark(d, now(d), "service move");
    say_at(d, now(d), "maintenance move without homing: %s, head at X %.2f Y %.2f", line, pos[0],
           pos[1]);
    if (run_for(d, REPAIR_S) < 0)
        return -1;
    if (!never_repair) {
        if (set_thermistor(d, SIM_THERMISTOR_HEALTHY) < 0)
            return -1;
        say_at(d, now(d), "thermistor repaired (the wire is fixed)");
    }
    if (run_for(d, AFTER_REPAIR_S) < 0)
        return -1;
    double hot = heater_reading(d, "extruder", NULL);
    /* Each part at fault back in service, the repaired sensor first; a
     * part that still reads bad refuses. */
    char sources[FS_FAULT_RECENT_MAX][FS_FAULT_NAME_MAX];
    int n = 0;
    snprintf(sources[n++], sizeof(sources[0]), "extruder");
    struct fs_faults *faults = printer(d)->faults;
    for (int i = 0; i < fs_faults_record_count(faults) && n < FS_FAULT_RECENT_MAX; i++) {
        const struct fs_fault_record *r = fs_faults_record_at(faults, i);
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= !strcmp(sources[j], r->source);
        if (r->active && !seen)
            snprintf(sources[n++], sizeof(sources[0]), "%s", r->source);
    }
    for (int i = 0; i < n; i++) {
        /* Quoted only when the name has a space ("mcu toolboard"). */
        snprintf(line, sizeof(line), strchr(sources[i], ' ') ? "FAULT_CLEAR SOURCE=\"%s\""
                                                             : "FAULT_CLEAR SOURCE=%s",
                 sources[i]);
        if (sim_session_run_line(d->s, line, &err) < 0) {
            demo_record_window_close(&d->rec);
            return stop_story(d, "%s refused: %s", line,
                              short_reason(err.msg, why, sizeof(why)));
        }
        if (i == 0)
            say_at(d, now(d), "%s: cleared (the hotend reads %.1f C)", line, hot);
        else
            say_at(d, now(d), "%s: cleared", line);
    }
    mark(d, now(d), "repaired, FAULT_CLEAR, RESUME");
    /* The pause ends with RESUME; what the heaters did until here is the
     * pause's. */
    demo_record_window_close(&d->rec);
    return 0;
}

static int resume_and_finish(struct demo *d)
{
    double t_resume = now(d), target;
    double hot = heater_reading(d, "extruder", NULL);
    struct fs_error err = {{0}};
    say_at(d, t_resume, "RESUME: reheating the hotend from %.1f C to the print's target",
           hot);
    if (sim_session_run_line(d->s, "RESUME", &err) < 0)
        return stop_story(d, "RESUME failed: %s", err.msg);
    hot = heater_reading(d, "extruder", &target);
    double pos[4];
    plant_position(d, pos);
    mark(d, now(d), "printing again");
    say_at(d, now(d), "resumed: hotend %.1f C (target %.0f) after %.1f s, head back at Z %.2f, "
                      "printing",
           hot, target, now(d) - t_resume, pos[2]);
    struct until u = {FS_JOB_COMPLETE, 0.0};
    if (run_until(d, &u, PRINT_MAX_S, "the end of the print") < 0)
        return -1;
    if (sim_session_finish_print(d->s, &err) < 0)
        return stop_story(d, "%s", err.msg);
    d->o->completed = 1;
    mark(d, now(d), "complete");
    say_at(d, now(d), "print complete");
    return 0;
}

/* ---- the verdict ------------------------------------------------------------------ */

static void check(struct demo_outcome *o, const char *what, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void check(struct demo_outcome *o, const char *what, int ok, const char *fmt, ...)
{
    if (o->check_count >= DEMO_CHECKS_MAX)
        return;
    struct demo_check *c = &o->checks[o->check_count++];
    c->what = what;
    c->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    if (!ok && !o->reason[0])
        snprintf(o->reason, sizeof(o->reason), "%s: %s", what, c->detail);
}

static int count_journal_lines(const char *dir)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/journal/faults.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "\"sensor_open\"") && strstr(line, "\"extruder\""))
            n++;
    fclose(f);
    return n;
}

static void read_report(struct demo *d)
{
    struct demo_outcome *o = d->o;
    cJSON *rep = sim_session_report(d->s);
    const cJSON *pos = cJSON_GetObjectItem(rep, "toolhead_position");
    const cJSON *ext = cJSON_GetObjectItem(rep, "extruded_mm");
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetArrayItem(pos, i);
        o->final_pos[i] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
    o->extruded_mm = cJSON_IsNumber(ext) ? ext->valuedouble : NAN;
    cJSON_Delete(rep);
    double plant[4];
    plant_position(d, plant);
    for (int i = 0; i < 3; i++)
        o->plant_pos[i] = plant[i];
}

static void judge(struct demo *d)
{
    struct demo_outcome *o = d->o;
    struct demo_window *w = &d->rec.window;
    struct gcode_expect expect;
    /* The demo printer's endstops are all at 0. */
    const double home[3] = {0.0, 0.0, 0.0};
    int have_expect = gcode_expect_file(GCODE, home, &expect) == 0;
    read_report(d);
    o->sim_time_s = now(d) - d->t0;
    o->journal_lines = count_journal_lines(d->dir);
    o->bed_max_dev_c = w->bed_max_dev_c;
    o->bed_pin_duty = w->probes ? (double)w->bed_on / w->probes : 0.0;
    o->hotend_pin_duty = w->probes ? (double)w->hotend_on / w->probes : 0.0;
    o->homed_throughout = d->rec.homed_seen && !d->rec.homed_lost;
    double pos_err = 0.0, plant_err = 0.0;
    for (int i = 0; i < 3 && have_expect; i++) {
        o->expected_pos[i] = expect.toolhead[i];
        pos_err = fmax(pos_err, fabs(o->final_pos[i] - expect.toolhead[i]));
        plant_err = fmax(plant_err, fabs(o->plant_pos[i] - expect.toolhead[i]));
    }
    o->expected_extrusion_mm = have_expect ? expect.net_extrusion : NAN;

    struct fs_job_status st;
    job_status(d, &st);
    check(o, "print completed", o->completed && st.state == FS_JOB_COMPLETE,
          "job %s", fs_job_state_name(st.state));
    check(o, "final position is the file's", have_expect && o->completed && pos_err <= 1e-6 &&
                                                plant_err <= PLANT_POS_MM,
          "X %.3f Y %.3f Z %.3f (head at %.3f %.3f %.3f), the file commands %.3f %.3f %.3f",
          o->final_pos[0], o->final_pos[1], o->final_pos[2], o->plant_pos[0], o->plant_pos[1],
          o->plant_pos[2], o->expected_pos[0], o->expected_pos[1], o->expected_pos[2]);
    check(o, "extrusion is the file's",
          have_expect && o->completed &&
              fabs(o->extruded_mm - o->expected_extrusion_mm) <= EXTRUSION_MM,
          "%.2f mm of filament, the file commands %.2f mm", o->extruded_mm,
          o->expected_extrusion_mm);
    check(o, "fault raised and journaled",
          o->fault_raised && !strcmp(o->fault_action, "pause") && o->journal_lines >= 1,
          "extruder sensor_open -> %s, %d journal line(s)",
          o->fault_raised ? o->fault_action : "none", o->journal_lines);
    check(o, "hotend pin off within one sensor report",
          d->t_open > 0 && o->pin_off_latency_s >= 0 &&
              o->pin_off_latency_s <= REPORT_S + SAMPLE_WINDOW_S,
          "%.3f s after the thermistor opened (report every %.1f s)", o->pin_off_latency_s,
          REPORT_S);
    check(o, "paused and parked", o->paused && fabs(o->park_pos[0] - PARK_X) <= PLANT_POS_MM &&
                                      fabs(o->park_pos[1] - PARK_Y) <= PLANT_POS_MM,
          "head at X %.2f Y %.2f, park X %.0f Y %.0f", o->park_pos[0], o->park_pos[1], PARK_X,
          PARK_Y);
    check(o, "bed held its target during the pause",
          o->paused && w->probes > 0 && o->bed_target_c > 0 && !w->bed_target_changed &&
              o->bed_max_dev_c <= BED_HOLD_C,
          "target %.0f C%s, at most %.2f C away", o->bed_target_c,
          w->bed_target_changed ? " (changed)" : "", o->bed_max_dev_c);
    check(o, "only the hotend heater went off",
          o->paused && w->probes > 0 && o->hotend_pin_duty == 0.0 &&
              w->hotend_target_max_c == 0.0 && o->bed_pin_duty > 0.0,
          "during the pause: hotend pin %.1f %% on (target at most %.0f), bed pin %.1f %% on",
          o->hotend_pin_duty * 100.0, w->hotend_target_max_c, o->bed_pin_duty * 100.0);
    if (d->rec.homed_lost)
        check(o, "homed throughout", 0, "homing lost at %.2f s", d->rec.homed_lost_t);
    else
        check(o, "homed throughout", o->homed_throughout, "%s",
              d->rec.homed_seen ? "x, y and z from the file's G28 to the end" : "never homed");
    check(o, "RESUME refused while the sensor was open", o->resume_refused_while_open, "%s",
          o->resume_refused_while_open ? "refused" : "accepted");
    check(o, "no MCU shut down", !printer(d)->is_shutdown, "%s",
          printer(d)->is_shutdown ? printer(d)->shutdown_reason : "none");
    o->ok = !o->reason[0];
}

static void print_outcome(const struct demo_outcome *o, FILE *out)
{
    if (!out)
        return;
    fprintf(out, "\noutcome\n");
    for (int i = 0; i < o->check_count; i++)
        fprintf(out, "  %-8s %-42s %s\n", o->checks[i].ok ? "[ok]" : "[FAILED]",
                o->checks[i].what, o->checks[i].detail);
    fprintf(out, "  simulated time %.1f s, wall time %.2f s\n", o->sim_time_s, o->wall_time_s);
    if (o->ok)
        fprintf(out, "result: OK\n");
    else
        fprintf(out, "result: FAILED: %s\n", o->reason);
    fflush(out);
}

/* ---- the run ------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The story's printer: demo_fault.cfg with the journal in the run's own
 * folder, so that no earlier run's journal (an unfinished job, fault ids)
 * changes this one. */
static int write_config(struct demo *d, char *config, size_t cap, struct fs_error *err)
{
    snprintf(d->dir, sizeof(d->dir), "/tmp/failsoft-demo-XXXXXX");
    if (!mkdtemp(d->dir))
        return fs_error_set(err, "demo: cannot create a temporary folder: %s", strerror(errno));
    snprintf(config, cap, "%s/printer.cfg", d->dir);
    FILE *f = fopen(config, "w");
    if (!f)
        return fs_error_set(err, "demo: cannot write %s: %s", config, strerror(errno));
    fprintf(f, "# failsoft demo: its printer with a journal of its own\n"
               "[include %s]\n\n[fault_policy]\njournal_path: journal\n",
            CONFIG);
    if (fclose(f) != 0)
        return fs_error_set(err, "demo: cannot write %s", config);
    return 0;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void story(struct demo *d, int never_repair)
{
    if (print_until_fault(d) < 0)
        return;
    report_fault_and_pause(d);
    if (service_and_repair(d, never_repair) < 0)
        return;
    resume_and_finish(d);
}

int demo_run(const struct demo_options *opt, struct demo_outcome *o, struct fs_error *err)
{
    static struct demo d; /* the records are large; one demo at a time */
    memset(&d, 0, sizeof(d));
    memset(o, 0, sizeof(*o));
    d.out = opt->out;
    d.o = o;
    o->pin_off_latency_s = -1.0;
    double wall_start = wall_seconds();
    char config[128];
    FILE *trace = NULL;
    int rc = -1;
    if (write_config(&d, config, sizeof(config), err) < 0)
        goto out;
    if (opt->trace_path && !(trace = fopen(opt->trace_path, "w"))) {
        fs_error_set(err, "demo: cannot write %s: %s", opt->trace_path, strerror(errno));
        goto out;
    }
    d.s = sim_session_open(config, opt->seed, NULL, err);
    if (!d.s) {
        fs_error_prefix(err, "demo: building the simulated printer: ");
        goto out;
    }
    if (trace)
        sim_world_trace_start(sim_session_host(d.s)->world, trace);
    d.plant_hotend = sim_printer_heater(sim_session_plant(d.s), "extruder");
    d.t0 = now(&d);
    story(&d, opt->never_repair);
    if (d.rec.s)
        demo_record_stop(&d.rec);
    judge(&d);
    o->wall_time_s = wall_seconds() - wall_start;
    print_outcome(o, d.out);
    rc = 0;
    if (opt->png_path) {
        char title[VIZ_TEXT_MAX];
        snprintf(title, sizeof(title),
                 "failsoft demo: the hotend's thermistor opens mid-print (seed %llu): %s",
                 (unsigned long long)opt->seed, o->ok ? "OK" : "FAILED");
        rc = demo_chart_draw(&d.rec, d.markers, d.marker_count, title, opt->png_path, err);
        if (rc == 0 && d.out)
            fprintf(d.out, "picture: %s\n", opt->png_path);
    }
out:
    if (d.s) {
        if (trace)
            sim_world_trace_stop(sim_session_host(d.s)->world);
        sim_session_close(d.s);
    }
    if (trace && fclose(trace) != 0 && rc == 0)
        rc = fs_error_set(err, "demo: cannot write %s", opt->trace_path);
    /* FAILSOFT_DEMO_KEEP=1 keeps the folder (the journal, its capsules). */
    if (d.dir[0] && !getenv("FAILSOFT_DEMO_KEEP"))
        nftw(d.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
