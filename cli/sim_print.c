/* `failsoft sim`: one print in a simulated session, reported as text or as
 * one JSON object. */
#include "sim_print.h"

#include <cjson/cJSON.h> /* cJSON */
#include <errno.h>       /* errno */
#include <stdlib.h>      /* strtod, strtoull, free */
#include <string.h>      /* strcmp */
#include <unistd.h>      /* isatty, fileno */

#include "core/error.h"  /* struct fs_error */
#include "sim_session.h" /* sim_session_* */

static void print_position(FILE *out, const char *label, const cJSON *a)
{
    fprintf(out, "%-14s X %.3f Y %.3f Z %.3f E %.3f\n", label,
            cJSON_GetArrayItem(a, 0)->valuedouble, cJSON_GetArrayItem(a, 1)->valuedouble,
            cJSON_GetArrayItem(a, 2)->valuedouble, cJSON_GetArrayItem(a, 3)->valuedouble);
}

static void print_text_report(FILE *out, const cJSON *r)
{
    const cJSON *file = cJSON_GetObjectItem(r, "file");
    fprintf(out, "job            %s (%s)\n", cJSON_GetObjectItem(r, "state")->valuestring,
            file ? file->valuestring : "no printer");
    const char *msg = cJSON_GetObjectItem(r, "message")->valuestring;
    if (msg && *msg)
        fprintf(out, "message        %s\n", msg);
    if (!file)
        return;
    fprintf(out, "print time     %.1f s simulated, %.2f s wall, %.0fx real time\n",
            cJSON_GetObjectItem(r, "sim_time_s")->valuedouble,
            cJSON_GetObjectItem(r, "wall_time_s")->valuedouble,
            cJSON_GetObjectItem(r, "speedup")->valuedouble);
    print_position(out, "toolhead", cJSON_GetObjectItem(r, "toolhead_position"));
    print_position(out, "g-code", cJSON_GetObjectItem(r, "gcode_position"));
    const cJSON *pp = cJSON_GetObjectItem(r, "plant_position");
    fprintf(out, "plant (steps)  X %.3f Y %.3f Z %.3f E %.3f\n",
            cJSON_GetObjectItem(pp, "x")->valuedouble, cJSON_GetObjectItem(pp, "y")->valuedouble,
            cJSON_GetObjectItem(pp, "z")->valuedouble, cJSON_GetObjectItem(pp, "e")->valuedouble);
    fprintf(out, "extruded       %.3f mm\n", cJSON_GetObjectItem(r, "extruded_mm")->valuedouble);
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(r, "steppers"))
        fprintf(out, "steps          %-12s %.0f\n", item->string, item->valuedouble);
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(r, "heaters")) {
        fprintf(out, "heater         %-12s %.1f C (target %.1f)", item->string,
                cJSON_GetObjectItem(item, "temperature")->valuedouble,
                cJSON_GetObjectItem(item, "target")->valuedouble);
        const cJSON *plant = cJSON_GetObjectItem(item, "plant_temperature");
        if (plant)
            fprintf(out, ", plant %.1f C", plant->valuedouble);
        const cJSON *dev = cJSON_GetObjectItem(item, "max_hold_deviation_c");
        if (dev)
            fprintf(out, ", held within %.2f C", dev->valuedouble);
        fputc('\n', out);
    }
}

int cli_sim_print(const struct sim_print_options *o, FILE *out, FILE *err_out)
{
    struct fs_error err = {{0}};
    struct sim_session *s = sim_session_open(o->config_path, o->seed, o->json ? NULL : err_out,
                                             &err);
    if (!s) {
        fprintf(err_out, "failsoft sim: %s\n", err.msg);
        return 2;
    }
    if (o->speed_factor != 1.0) {
        char line[64];
        snprintf(line, sizeof(line), "M220 S%.3f", o->speed_factor * 100.0);
        if (sim_session_run_line(s, line, &err) < 0) {
            fprintf(err_out, "failsoft sim: %s\n", err.msg);
            sim_session_close(s);
            return 2;
        }
    }
    if (sim_session_print(s, o->gcode_path, o->progress ? err_out : NULL, &err) < 0) {
        fprintf(err_out, "failsoft sim: %s\n", err.msg);
        sim_session_close(s);
        return 2;
    }
    cJSON *report = sim_session_report(s);
    int complete = !strcmp(cJSON_GetObjectItem(report, "state")->valuestring, "complete");
    if (o->json) {
        char *text = cJSON_PrintUnformatted(report);
        fprintf(out, "%s\n", text);
        free(text);
    } else {
        print_text_report(out, report);
    }
    cJSON_Delete(report);
    sim_session_close(s);
    return complete ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: failsoft sim -c CONFIG FILE.gcode [--json] [--seed N] [--speed FACTOR]\n"
               "  prints FILE on the simulated printer CONFIG describes, with the firmware\n"
               "  in the loop, as fast as the machine allows; --json writes one JSON object.\n"
               "  --speed scales feed rates as M220 would (1 = as sliced).\n"
               "  Exit status 0 when the job completed, 1 when it did not, 2 on errors.\n");
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
