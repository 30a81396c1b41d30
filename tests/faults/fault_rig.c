/* The fault acceptance tests' rig (see fault_rig.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fault_rig.h"

#include <cjson/cJSON.h> /* cJSON_Parse */
#include <ftw.h>         /* nftw */
#include <math.h>        /* fabs */
#include <stdio.h>       /* fopen, snprintf */
#include <stdlib.h>      /* mkdtemp */
#include <string.h>      /* strcmp, strstr */
#include <unistd.h>      /* rmdir */

#include "core/error.h"     /* struct fs_error */
#include "fault/fault.h"    /* fs_faults_record_* */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"       /* struct sim_host */
#include "sim_inject.h"     /* sim_inject_mcu, sim_inject_thermistor */
#include "sim_printer.h"    /* sim_printer_heater, sim_printer_position */
#include "sim_session.h"    /* sim_session_* */

#ifndef FS_SOURCE_DIR
#error "FS_SOURCE_DIR must name the project's folder"
#endif

int fault_rig_try_open(struct fault_rig *r, const char *extra_cfg, uint64_t seed,
                       struct fs_error *err)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/failsoft-fault-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->config, sizeof(r->config), "%s/printer.cfg", r->dir);
    snprintf(r->journal, sizeof(r->journal), "%s/journal", r->dir);
    FILE *f = fopen(r->config, "w");
    assert_non_null(f);
    fprintf(f, "[include %s/scenarios/configs/demo_cartesian.cfg]\n\n"
               "[fault_policy]\njournal_path: journal\n\n%s\n",
            FS_SOURCE_DIR, extra_cfg ? extra_cfg : "");
    fclose(f);
    r->s = sim_session_open(r->config, seed, NULL, err);
    if (!r->s)
        return -1;
    r->p = sim_session_printer(r->s);
    r->w = sim_session_host(r->s)->world;
    r->plant = sim_session_plant(r->s);
    return 0;
}

void fault_rig_open(struct fault_rig *r, const char *extra_cfg, uint64_t seed)
{
    struct fs_error err = {{0}};
    if (fault_rig_try_open(r, extra_cfg, seed, &err) < 0)
        fail_msg("%s", err.msg);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fault_rig_close(struct fault_rig *r)
{
    sim_session_close(r->s);
    r->s = NULL;
    if (r->dir[0] && !getenv("FAULT_RIG_KEEP"))
        nftw(r->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fault_rig_gcode(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/scenarios/gcode/%s", FS_SOURCE_DIR, name);
    return buf;
}

void fault_rig_expect(const char *gcode_path, struct gcode_expect *out)
{
    /* The demo printer's endstops are all at 0. */
    const double home[3] = {0.0, 0.0, 0.0};
    assert_int_equal(gcode_expect_file(gcode_path, home, out), 0);
}

double fault_rig_now(struct fault_rig *r) { return sim_session_now(r->s); }

void fault_rig_line(struct fault_rig *r, const char *line)
{
    struct fs_error err = {{0}};
    if (sim_session_run_line(r->s, line, &err) < 0)
        fail_msg("'%s' failed: %s", line, err.msg);
}

const char *fault_rig_line_refused(struct fault_rig *r, const char *line, struct fs_error *err)
{
    fs_error_clear(err);
    if (sim_session_run_line(r->s, line, err) == 0)
        fail_msg("'%s' was accepted; it should have been refused", line);
    return err->msg;
}

void fault_rig_start_print(struct fault_rig *r, const char *gcode_path)
{
    struct fs_error err = {{0}};
    if (sim_session_start_print(r->s, gcode_path, NULL, &err) < 0)
        fail_msg("%s", err.msg);
}

struct until_state {
    enum fs_job_state state;
    double fraction;
    int by_progress;
};

static int reached(void *arg, struct sim_session *s)
{
    const struct until_state *u = arg;
    struct fs_job_status st;
    fs_job_get_status(sim_session_printer(s)->job, &st);
    if (u->by_progress)
        return st.progress >= u->fraction;
    return st.state == u->state;
}

static void run_until(struct fault_rig *r, struct until_state *u, double max_s, const char *what)
{
    struct fs_error err = {{0}};
    double deadline = fault_rig_now(r) + max_s;
    while (!reached(u, r->s) && fault_rig_now(r) < deadline && !r->p->is_shutdown) {
        if (sim_session_run(r->s, deadline, (sim_session_stop_fn)reached, u, &err) < 0)
            fail_msg("%s", err.msg);
        r->p = sim_session_printer(r->s);
    }
    if (!reached(u, r->s)) {
        struct fs_job_status st;
        fs_job_get_status(r->p->job, &st);
        fail_msg("%s not reached within %.0f s (job %s at %.1f %%, %s%s)", what, max_s,
                 fs_job_state_name(st.state), st.progress * 100.0, st.message,
                 r->p->is_shutdown ? ", printer shut down" : "");
    }
}

void fault_rig_run_until_state(struct fault_rig *r, enum fs_job_state state, double max_s)
{
    struct until_state u = {state, 0.0, 0};
    run_until(r, &u, max_s, fs_job_state_name(state));
}

void fault_rig_run_until_progress(struct fault_rig *r, double fraction, double max_s)
{
    struct until_state u = {FS_JOB_PRINTING, fraction, 1};
    run_until(r, &u, max_s, "progress");
}

void fault_rig_run_for(struct fault_rig *r, double seconds)
{
    struct fs_error err = {{0}};
    if (sim_session_run(r->s, fault_rig_now(r) + seconds, NULL, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    r->p = sim_session_printer(r->s);
}

static double run_at(struct fs_timer *t, double eventtime)
{
    (void)eventtime;
    struct fault_rig_at *a = (struct fault_rig_at *)t;
    a->fn(a->arg);
    return FS_NEVER;
}

void fault_rig_at(struct fault_rig *r, struct fault_rig_at *a, double t, void (*fn)(void *arg),
                  void *arg)
{
    fs_timer_init(&a->timer, run_at, a);
    a->fn = fn;
    a->arg = arg;
    fs_reactor_timer_set(&sim_session_host(r->s)->reactor, &a->timer, t);
}

static double sample_pin(struct fs_timer *t, double eventtime)
{
    struct fault_rig_pin_watch *pw = (struct fault_rig_pin_watch *)t;
    if (sim_world_heater_drive(pw->r->w, pw->plant_heater) > 0.0)
        pw->last_on = eventtime;
    return eventtime + 0.001;
}

void fault_rig_watch_pin(struct fault_rig *r, struct fault_rig_pin_watch *pw, int plant_heater,
                         double from)
{
    pw->r = r;
    pw->plant_heater = plant_heater;
    pw->last_on = -1.0;
    fs_timer_init(&pw->timer, sample_pin, pw);
    fs_reactor_timer_set(&sim_session_host(r->s)->reactor, &pw->timer, from);
}

void fault_rig_unwatch_pin(struct fault_rig *r, struct fault_rig_pin_watch *pw)
{
    fs_reactor_timer_cancel(&sim_session_host(r->s)->reactor, &pw->timer);
}

const struct fs_fault_record *fault_rig_record(struct fault_rig *r, const char *source,
                                               const char *kind)
{
    const struct fs_fault_record *found = NULL;
    for (int i = 0; i < fs_faults_record_count(r->p->faults); i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(r->p->faults, i);
        if (!strcmp(rec->source, source) && !strcmp(fs_fault_kind_name(rec->kind), kind))
            found = rec;
    }
    return found;
}

int fault_rig_record_count(struct fault_rig *r, const char *source, const char *kind)
{
    int n = 0;
    for (int i = 0; i < fs_faults_record_count(r->p->faults); i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(r->p->faults, i);
        if (!strcmp(rec->source, source) && !strcmp(fs_fault_kind_name(rec->kind), kind))
            n++;
    }
    return n;
}

static void copy_string(const cJSON *obj, const char *key, char *out, size_t cap)
{
    const cJSON *item = cJSON_GetObjectItem(obj, key);
    if (out && cap)
        snprintf(out, cap, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

int fault_rig_journal_count(struct fault_rig *r, const char *source, const char *kind,
                            char *evidence, size_t evidence_cap, char *action,
                            size_t action_cap)
{
    char path[400], line[8192];
    snprintf(path, sizeof(path), "%s/faults.jsonl", r->journal);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        cJSON *j = cJSON_Parse(line);
        if (!j)
            fail_msg("journal line is not JSON: %s", line);
        const cJSON *src = cJSON_GetObjectItem(j, "source");
        const cJSON *k = cJSON_GetObjectItem(j, "kind");
        if (cJSON_IsString(src) && cJSON_IsString(k) && !strcmp(src->valuestring, source) &&
            !strcmp(k->valuestring, kind)) {
            n++;
            copy_string(j, "evidence", evidence, evidence_cap);
            copy_string(j, "action", action, action_cap);
        }
        cJSON_Delete(j);
    }
    fclose(f);
    return n;
}

const char fault_rig_chamber_cfg[] =
    "[heater_generic chamber]\n"
    "heater_pin: PC2\n"
    "sensor_type: Generic 3950\n"
    "sensor_pin: PC3\n"
    "control: watermark\n"
    "min_temp: 0\n"
    "max_temp: 80\n"
    "on_fault: disable\n\n"
    "[verify_heater chamber]\n"
    "check_gain_time: 300\n";

void fault_rig_open_chamber_sensor(void *arg)
{
    struct fault_rig *r = arg;
    struct sim_thermistor_fault f = {.kind = SIM_THERMISTOR_OPEN};
    struct fs_error err;
    if (sim_inject_thermistor(r->w, fault_rig_plant_heater(r, "heater_generic chamber"), &f,
                              &err) < 0)
        fail_msg("%s", err.msg);
}

void fault_rig_cut_toolboard(void *arg)
{
    struct fault_rig_cut *c = arg;
    struct sim_mcu_fault f = {.kind = SIM_MCU_LINK_CUT,
                              .duration_ns = (int64_t)(c->seconds * 1e9)};
    struct fs_error err;
    if (sim_inject_mcu(c->r->w, "toolboard", &f, &err) < 0)
        fail_msg("%s", err.msg);
}

int fault_rig_plant_heater(struct fault_rig *r, const char *name)
{
    int id = sim_printer_heater(r->plant, name);
    assert_true(id >= 0);
    return id;
}

void fault_rig_plant_position(struct fault_rig *r, double pos[4])
{
    sim_printer_position(r->plant, r->w, pos);
}

void fault_rig_print_faults(struct fault_rig *r)
{
    for (int i = 0; i < fs_faults_record_count(r->p->faults); i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(r->p->faults, i);
        print_message("fault %lu at %.2f: %s %s -> %s%s: %s\n", rec->id, rec->time, rec->source,
                      fs_fault_kind_name(rec->kind), fs_fault_action_name(rec->action),
                      rec->active ? " (active)" : "", rec->evidence);
    }
}

void fault_rig_check_completed(struct fault_rig *r, const char *gcode_path, int check_extrusion)
{
    struct gcode_expect expect;
    fault_rig_expect(gcode_path, &expect);
    struct fs_error err = {{0}};
    if (sim_session_finish_print(r->s, &err) < 0)
        fail_msg("%s", err.msg);
    cJSON *rep = sim_session_report(r->s);
    const cJSON *state = cJSON_GetObjectItem(rep, "state");
    if (!cJSON_IsString(state) || strcmp(state->valuestring, "complete"))
        fail_msg("the job ended %s", cJSON_IsString(state) ? state->valuestring : "?");
    const cJSON *pos = cJSON_GetObjectItem(rep, "toolhead_position");
    for (int i = 0; i < 3; i++)
        if (fabs(cJSON_GetArrayItem(pos, i)->valuedouble - expect.toolhead[i]) > 1e-6)
            fail_msg("axis %d ends at %.6f, the file commands %.6f", i,
                     cJSON_GetArrayItem(pos, i)->valuedouble, expect.toolhead[i]);
    double extruded = cJSON_GetObjectItem(rep, "extruded_mm")->valuedouble;
    if (check_extrusion && fabs(extruded - expect.net_extrusion) > 0.01)
        fail_msg("extruded %.4f mm, the file commands %.4f mm", extruded, expect.net_extrusion);
    cJSON_Delete(rep);
    double plant[4];
    fault_rig_plant_position(r, plant);
    for (int i = 0; i < 3; i++)
        if (fabs(plant[i] - expect.toolhead[i]) > 0.02)
            fail_msg("the motors' axis %d ends at %.4f, the file commands %.4f", i, plant[i],
                     expect.toolhead[i]);
}

int fault_rig_capsule_history(struct fault_rig *r, const char *source, const char *kind,
                              const char *sample_source, int *samples, int *commands,
                              int *positions)
{
    const struct fs_fault_record *rec = fault_rig_record(r, source, kind);
    if (!rec || !rec->capsule[0])
        return -1;
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", r->journal, rec->capsule);
    if (rec->capsule[0] == '/')
        snprintf(path, sizeof(path), "%s", rec->capsule);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *c = cJSON_Parse(text);
    if (!c)
        fail_msg("capsule %s is not JSON", path);
    const cJSON *h = cJSON_GetObjectItem(c, "history"), *item;
    *samples = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(h, "samples")) {
        const cJSON *src = cJSON_GetObjectItem(item, "source");
        if (!sample_source || (cJSON_IsString(src) && !strcmp(src->valuestring, sample_source)))
            (*samples)++;
    }
    *commands = cJSON_GetArraySize(cJSON_GetObjectItem(h, "commands"));
    *positions = cJSON_GetArraySize(cJSON_GetObjectItem(h, "positions"));
    cJSON_Delete(c);
    return 0;
}
