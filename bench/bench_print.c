/* Benchmark: every shipped slicer file printed on the demo printer with the
 * firmware in the loop, as `failsoft sim` does, to show how far above real
 * time a whole print runs and what it costs in wire bytes and memory.
 *
 * Each file gets a fresh session (configure and connect are not timed; the
 * session's own print clock covers the job from start to the last move
 * done). The process CPU time of the print is reported beside it: on a
 * machine shared with other work it is the steadier of the two. A file
 * that does not print to completion fails the benchmark, so
 * a fast figure from an aborted print is never reported as good. */
#include <cjson/cJSON.h>  /* cJSON_GetObjectItem */
#include <stdio.h>        /* printf, fopen */
#include <string.h>       /* strcmp, strrchr */
#include <sys/resource.h> /* getrusage */
#include <time.h>         /* clock_gettime */

#include "bench_common.h"    /* bench_parse_options, bench_report_* */
#include "core/error.h"      /* struct fs_error */
#include "mcu/mcu.h"         /* fs_mcu_name */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "sim_session.h"     /* sim_session_* */
#include "sim_world.h"       /* sim_world_wire_stats */

static const char *const shipped_files[] = {
    "curaengine-cube20.gcode",  "curaengine-cylinder20.gcode", "prusaslicer-cube20.gcode",
    "prusaslicer-cylinder20.gcode", "prusaslicer-step.gcode",  "slic3r-cube20.gcode",
};
#define SHIPPED_COUNT (sizeof(shipped_files) / sizeof(shipped_files[0]))

struct print_figures {
    int complete;
    double sim_s, wall_s, cpu_s;
    uint64_t lines, bytes_to_mcus;
    long maxrss_kb;
};

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint64_t lines = 0;
    int c, last = '\n';
    while ((c = getc(f)) != EOF) {
        if (c == '\n')
            lines++;
        last = c;
    }
    fclose(f);
    return lines + (last != '\n');
}

/* Bytes the host put on the wires to all of the printer's MCUs so far. */
static uint64_t bytes_to_mcus(struct sim_session *s)
{
    struct fs_printer *p = sim_session_printer(s);
    struct sim_world *w = sim_session_host(s)->world;
    uint64_t sum = 0;
    for (int i = 0; i < p->mcu_count; i++) {
        const struct sim_wire_stats *st =
            sim_world_wire_stats(w, fs_mcu_name(p->mcus[i]), SIM_WIRE_TO_MCU);
        if (st)
            sum += st->bytes_sent;
    }
    return sum;
}

static int print_one(const char *config, const char *gcode, uint64_t seed,
                     struct print_figures *out)
{
    struct fs_error err = {0};
    struct sim_session *s = sim_session_open(config, seed, NULL, &err);
    if (!s) {
        fprintf(stderr, "bench_print: %s\n", err.msg);
        return -1;
    }
    uint64_t bytes_before = bytes_to_mcus(s);
    double cpu_start = cpu_seconds();
    int rc = sim_session_print(s, gcode, NULL, &err);
    out->cpu_s = cpu_seconds() - cpu_start;
    if (rc < 0)
        fprintf(stderr, "bench_print: %s\n", err.msg);
    out->bytes_to_mcus = bytes_to_mcus(s) - bytes_before;
    cJSON *r = sim_session_report(s);
    const cJSON *state = cJSON_GetObjectItem(r, "state");
    out->complete = rc == 0 && cJSON_IsString(state) && !strcmp(state->valuestring, "complete");
    out->sim_s = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "sim_time_s"));
    out->wall_s = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "wall_time_s"));
    if (!out->complete)
        fprintf(stderr, "bench_print: %s ended '%s'\n", gcode,
                cJSON_IsString(state) ? state->valuestring : "?");
    cJSON_Delete(r);
    sim_session_close(s);
    out->lines = count_lines(gcode);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->maxrss_kb = ru.ru_maxrss;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, only = 0;
    const struct bench_option options[] = {
        {"--seed", BENCH_OPTION_U64, &seed, "simulator seed"},
        {"--file", BENCH_OPTION_U64, &only,
         "print only shipped file N (1-6, in name order); 0 prints all"},
    };
    int rc = bench_parse_options(argc, argv, options, 2);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (only > SHIPPED_COUNT) {
        fprintf(stderr, "bench_print: --file %llu: there are %zu shipped files\n",
                (unsigned long long)only, SHIPPED_COUNT);
        return 2;
    }
    const char *config = BENCH_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg";
    bench_report_text("config", "scenarios/configs/demo_cartesian.cfg");
    bench_report_u64("seed", seed);

    int ok = 1, files = 0;
    double sim = 0.0, wall = 0.0, cpu = 0.0, worst = 0.0;
    uint64_t lines = 0, bytes = 0;
    long maxrss = 0;
    for (size_t i = 0; i < SHIPPED_COUNT; i++) {
        if (only && only != i + 1)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/scenarios/gcode/%s", BENCH_SOURCE_DIR, shipped_files[i]);
        struct print_figures f = {0};
        if (print_one(config, path, seed, &f) < 0 || !f.complete || !(f.wall_s > 0.0))
            ok = 0;
        double speed = f.wall_s > 0.0 ? f.sim_s / f.wall_s : 0.0;
        printf("print: %-28s sim_s %7.1f  wall_s %6.3f  sim_per_wall %7.1f  cpu_s %6.3f  "
               "sim_per_cpu %7.1f  lines_per_wall_s %8.0f  mcu_bytes_per_sim_s %6.1f  "
               "maxrss_kb %ld  %s\n",
               shipped_files[i], f.sim_s, f.wall_s, speed, f.cpu_s,
               f.cpu_s > 0.0 ? f.sim_s / f.cpu_s : 0.0,
               f.wall_s > 0.0 ? (double)f.lines / f.wall_s : 0.0,
               f.sim_s > 0.0 ? (double)f.bytes_to_mcus / f.sim_s : 0.0, f.maxrss_kb,
               f.complete ? "complete" : "NOT COMPLETE");
        if (!files || speed < worst)
            worst = speed;
        files++;
        sim += f.sim_s;
        wall += f.wall_s;
        cpu += f.cpu_s;
        lines += f.lines;
        bytes += f.bytes_to_mcus;
        if (f.maxrss_kb > maxrss)
            maxrss = f.maxrss_kb;
    }
    bench_report_u64("files", (uint64_t)files);
    bench_report_double("sim_seconds", sim, 1);
    bench_report_double("wall_seconds", wall, 3);
    bench_report_double("sim_seconds_per_wall_second", wall > 0.0 ? sim / wall : 0.0, 1);
    bench_report_double("cpu_seconds", cpu, 3);
    bench_report_double("sim_seconds_per_cpu_second", cpu > 0.0 ? sim / cpu : 0.0, 1);
    bench_report_double("slowest_file_sim_seconds_per_wall_second", worst, 1);
    bench_report_u64("gcode_lines", lines);
    bench_report_double("gcode_lines_per_wall_second", wall > 0.0 ? (double)lines / wall : 0.0,
                        0);
    bench_report_double("mcu_bytes_per_sim_second", sim > 0.0 ? (double)bytes / sim : 0.0, 1);
    bench_report_u64("peak_rss_kb", (uint64_t)maxrss);
    bench_report_text("result", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
