/* `failsoft sim`: the printer object on the simulator backend, a print job
 * run line by line, and a report that sets the engine's view (toolhead,
 * G-code position, steps it generated) beside the plant's (positions counted
 * from step pulses, temperatures of the heater blocks). */
#include "sim_print.h"

#include <cjson/cJSON.h> /* cJSON */
#include <errno.h>       /* errno */
#include <math.h>        /* NAN */
#include <stdlib.h>      /* strtod, free */
#include <string.h>      /* strcmp */
#include <time.h>        /* clock_gettime */
#include <unistd.h>      /* isatty, fileno */

#include "config/config.h"     /* fs_config_load */
#include "core/error.h"        /* struct fs_error */
#include "core/log.h"          /* struct fs_logger */
#include "core/reactor.h"      /* fs_timer */
#include "gcode/gcode.h"       /* fs_gcode_set_output */
#include "job/job.h"           /* fs_job_* */
#include "motion/gcode_move.h" /* fs_gcode_move_get_position */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* fs_printer_* */
#include "sim_printer.h"       /* sim_printer_build */
#include "thermal/heaters.h"   /* fs_heaters_status */

#define LINES_PER_TURN 256
#define PROGRESS_INTERVAL_S 0.2
#define HOLD_SAMPLE_S 0.25
#define HOLD_SETTLED_C 1.0
#define MAX_TRACKED_HEATERS 8

/* How well each heater holds its target, seen from the plant: after the
 * block first comes within HOLD_SETTLED_C of a new target, the largest
 * distance from it until the target changes. */
struct hold_tracker {
    double target;
    int settled;
    double max_deviation; /* NAN until a target was held */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct session {
    const struct sim_print_options *opt;
    FILE *out, *err_out;
    struct sim_host host;
    struct sim_printer plant;
    struct fs_config *cfg;
    struct fs_printer printer;
    struct fs_logger log;
    int printer_ready;
    double start_sim, start_wall, end_sim, end_wall;
    double e_start;
    char last_error[512];
    struct fs_timer hold_timer;
    struct hold_tracker hold[MAX_TRACKED_HEATERS];
};

static double sample_holds(struct fs_timer *t, double eventtime)
{
    struct session *s = t->arg;
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

static struct fs_transport *open_sim_mcu(void *ctx, const char *name, const char *serial,
                                         uint32_t baud, struct fs_error *err)
{
    (void)serial;
    (void)baud;
    struct sim_host *h = ctx;
    struct fs_transport *t = sim_world_transport(h->world, name);
    if (!t)
        fs_error_set(err, "the simulated printer has no mcu '%s'", name);
    return t;
}

/* Log lines and G-code responses go to stderr in text mode; errors are
 * kept for the report either way. */
static void log_sink(void *arg, enum fs_log_level level, const char *msg)
{
    struct session *s = arg;
    if (level >= FS_LOG_ERROR)
        snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
    if (!s->opt->json && level >= FS_LOG_WARN)
        fprintf(s->err_out, "%s: %s\n", fs_log_level_name(level), msg);
}

static void gcode_output(void *arg, const char *text)
{
    struct session *s = arg;
    if (!strncmp(text, "!! ", 3))
        snprintf(s->last_error, sizeof(s->last_error), "%s", text + 3);
    if (!s->opt->json && !strncmp(text, "!! ", 3))
        fprintf(s->err_out, "%s\n", text);
}

static int setup(struct session *s, struct fs_error *err)
{
    const struct sim_print_options *o = s->opt;
    s->log = (struct fs_logger){log_sink, s, FS_LOG_INFO};
    if (fs_config_load(o->config_path, &s->cfg, err) < 0)
        return -1;
    if (sim_host_init(&s->host, o->seed, &s->log, err) < 0)
        return -1;
    if (sim_printer_build(&s->host, s->cfg, &s->plant, err) < 0)
        return -1;
    struct fs_printer_backend backend = {&s->host, open_sim_mcu};
    if (fs_printer_init(&s->printer, &s->host.reactor, &s->log, s->cfg, &backend, err) < 0)
        return -1;
    s->printer_ready = 1;
    fs_gcode_set_output(s->printer.gcode, gcode_output, s);
    if (fs_printer_start(&s->printer, 5.0, err) < 0)
        return -1;
    if (o->speed_factor != 1.0) {
        char line[64];
        snprintf(line, sizeof(line), "M220 S%.3f", o->speed_factor * 100.0);
        if (fs_gcode_run_line(s->printer.gcode, line, "command line", err) < 0)
            return -1;
    }
    return fs_job_select_path(s->printer.job, o->gcode_path, err);
}

static void draw_progress(struct session *s, double fraction)
{
    const int width = 40;
    int filled = (int)(fraction * width + 0.5);
    fprintf(s->err_out, "\r[%.*s%*s] %5.1f%%  sim %7.1f s", filled,
            "########################################", width - filled, "", fraction * 100.0,
            sim_host_now(&s->host) - s->start_sim);
    fflush(s->err_out);
}

static int run_job(struct session *s, struct fs_error *err)
{
    struct fs_job *job = s->printer.job;
    double pos[4];
    fs_toolhead_get_position(s->printer.toolhead, pos);
    s->e_start = pos[3];
    s->start_sim = sim_host_now(&s->host);
    s->start_wall = wall_now();
    for (int i = 0; i < MAX_TRACKED_HEATERS; i++)
        s->hold[i] = (struct hold_tracker){0.0, 0, NAN};
    fs_timer_init(&s->hold_timer, sample_holds, s);
    fs_reactor_timer_set(&s->host.reactor, &s->hold_timer, s->start_sim);
    if (fs_job_start(job, err) < 0)
        return -1;
    double next_draw = s->start_wall;
    while (fs_job_has_work(job) && !s->printer.is_shutdown) {
        fs_job_run(job, LINES_PER_TURN);
        if (s->opt->progress && wall_now() >= next_draw) {
            struct fs_job_status st;
            fs_job_get_status(job, &st);
            draw_progress(s, st.progress);
            next_draw = wall_now() + PROGRESS_INTERVAL_S;
        }
    }
    if (!s->printer.is_shutdown)
        fs_toolhead_wait_moves(s->printer.toolhead);
    if (s->opt->progress) {
        draw_progress(s, 1.0);
        fputc('\n', s->err_out);
    }
    s->end_sim = sim_host_now(&s->host);
    s->end_wall = wall_now();
    fs_reactor_timer_cancel(&s->host.reactor, &s->hold_timer);
    return 0;
}

static const char *const axis_names[4] = {"x", "y", "z", "e"};

static cJSON *position_array(const double pos[4])
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 4; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(pos[i]));
    return a;
}

static cJSON *build_report(struct session *s)
{
    struct fs_printer *p = &s->printer;
    struct fs_job_status js;
    fs_job_get_status(p->job, &js);
    double toolhead[4], gcode[4], plant[4];
    fs_toolhead_get_position(p->toolhead, toolhead);
    fs_gcode_move_get_position(p->gcode_move, gcode);
    sim_printer_position(&s->plant, s->host.world, plant);
    double sim_s = s->end_sim - s->start_sim, wall_s = s->end_wall - s->start_wall;

    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "state", p->is_shutdown ? "shutdown" : fs_job_state_name(js.state));
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
    cJSON_AddItemToObject(r, "faults", cJSON_CreateArray());
    return r;
}

static void print_text_report(struct session *s, const cJSON *r)
{
    FILE *out = s->out;
    const char *state = cJSON_GetObjectItem(r, "state")->valuestring;
    fprintf(out, "job            %s (%s)\n", state, cJSON_GetObjectItem(r, "file")->valuestring);
    const char *msg = cJSON_GetObjectItem(r, "message")->valuestring;
    if (msg && *msg)
        fprintf(out, "message        %s\n", msg);
    fprintf(out, "print time     %.1f s simulated, %.2f s wall, %.0fx real time\n",
            cJSON_GetObjectItem(r, "sim_time_s")->valuedouble,
            cJSON_GetObjectItem(r, "wall_time_s")->valuedouble,
            cJSON_GetObjectItem(r, "speedup")->valuedouble);
    const char *rows[3] = {"toolhead_position", "gcode_position", NULL};
    const char *labels[2] = {"toolhead", "g-code"};
    for (int k = 0; rows[k]; k++) {
        const cJSON *a = cJSON_GetObjectItem(r, rows[k]);
        fprintf(out, "%-14s X %.3f Y %.3f Z %.3f E %.3f\n", labels[k],
                cJSON_GetArrayItem(a, 0)->valuedouble, cJSON_GetArrayItem(a, 1)->valuedouble,
                cJSON_GetArrayItem(a, 2)->valuedouble, cJSON_GetArrayItem(a, 3)->valuedouble);
    }
    const cJSON *pp = cJSON_GetObjectItem(r, "plant_position");
    fprintf(out, "plant (steps)  X %.3f Y %.3f Z %.3f E %.3f\n",
            cJSON_GetObjectItem(pp, "x")->valuedouble, cJSON_GetObjectItem(pp, "y")->valuedouble,
            cJSON_GetObjectItem(pp, "z")->valuedouble, cJSON_GetObjectItem(pp, "e")->valuedouble);
    fprintf(out, "extruded       %.3f mm\n", cJSON_GetObjectItem(r, "extruded_mm")->valuedouble);
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(r, "steppers"))
        fprintf(out, "steps          %-12s %.0f\n", item->string, item->valuedouble);
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(r, "heaters")) {
        const cJSON *plant = cJSON_GetObjectItem(item, "plant_temperature");
        fprintf(out, "heater         %-12s %.1f C (target %.1f)", item->string,
                cJSON_GetObjectItem(item, "temperature")->valuedouble,
                cJSON_GetObjectItem(item, "target")->valuedouble);
        if (plant)
            fprintf(out, ", plant %.1f C", plant->valuedouble);
        const cJSON *dev = cJSON_GetObjectItem(item, "max_hold_deviation_c");
        if (dev)
            fprintf(out, ", held within %.2f C", dev->valuedouble);
        fputc('\n', out);
    }
}

static void teardown(struct session *s)
{
    if (s->printer_ready)
        fs_printer_free(&s->printer);
    if (s->host.world)
        sim_host_free(&s->host);
    fs_config_free(s->cfg);
}

int cli_sim_print(const struct sim_print_options *o, FILE *out, FILE *err_out)
{
    static struct session s;
    memset(&s, 0, sizeof(s));
    s.opt = o;
    s.out = out;
    s.err_out = err_out;
    struct fs_error err = {{0}};
    if (setup(&s, &err) < 0 || run_job(&s, &err) < 0) {
        fprintf(err_out, "failsoft sim: %s\n", err.msg);
        teardown(&s);
        return 2;
    }
    cJSON *report = build_report(&s);
    int complete = !strcmp(cJSON_GetObjectItem(report, "state")->valuestring, "complete");
    if (o->json) {
        char *text = cJSON_PrintUnformatted(report);
        fprintf(out, "%s\n", text);
        free(text);
    } else {
        print_text_report(&s, report);
    }
    cJSON_Delete(report);
    teardown(&s);
    return complete ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: failsoft sim -c CONFIG FILE.gcode [--json] [--seed N] [--speed FACTOR]\n"
               "  prints FILE on the simulated printer CONFIG describes, with the firmware\n"
               "  in the loop, as fast as the machine allows; --json writes one JSON object.\n");
}

int cli_sim_main(int argc, char **argv, FILE *out, FILE *err_out)
{
    struct sim_print_options o = {.seed = 1, .speed_factor = 1.0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        char *end = NULL;
        if (!strcmp(a, "-c") && more) {
            o.config_path = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o.json = 1;
        } else if (!strcmp(a, "--seed") && more) {
            errno = 0;
            o.seed = strtoull(argv[++i], &end, 0);
            if (errno || !*argv[i] || *end) {
                fprintf(err_out, "failsoft sim: --seed wants a number, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--speed") && more) {
            o.speed_factor = strtod(argv[++i], &end);
            if (!*argv[i] || *end || !(o.speed_factor > 0.0 && o.speed_factor <= 10.0)) {
                fprintf(err_out, "failsoft sim: --speed wants a factor in (0, 10], not '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(out);
            return 0;
        } else if (a[0] != '-' && !o.gcode_path) {
            o.gcode_path = a;
        } else {
            fprintf(err_out, "failsoft sim: unknown or incomplete option '%s'\n", a);
            usage(err_out);
            return 2;
        }
    }
    if (!o.config_path || !o.gcode_path) {
        usage(err_out);
        return 2;
    }
    o.progress = !o.json && isatty(fileno(err_out));
    return cli_sim_print(&o, out, err_out);
}
