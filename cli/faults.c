/* `failsoft faults`: prints the catalogue from engine/fault. With -c the
 * configuration is loaded and the printer initialised without hardware, as
 * `failsoft check` does, so the fault sources every module registered are
 * listed with their effective policy; a configuration that asks for less
 * than a safety floor fails here exactly as it fails at start-up. */
#include "faults.h"

#include <cjson/cJSON.h> /* cJSON_Print */
#include <stdlib.h>      /* free */
#include <string.h>      /* strcmp */

#include "config/config.h"         /* fs_config_load */
#include "core/error.h"            /* struct fs_error */
#include "fault/fault.h"           /* fs_faults_catalogue_* */
#include "printer/printer.h"       /* struct fs_printer */
#include "printer/printer_check.h" /* fs_printer_check_inspect */

static void usage(FILE *out)
{
    fprintf(out, "usage: failsoft faults [-c CONFIG] [--json]\n"
                 "  the fault catalogue; with -c, the effective policy of each configured part\n");
}

struct print_job {
    struct fs_config *cfg;
    int json;
    FILE *out;
    int status;
    struct fs_error err;
};

static int print_catalogue(const struct fs_faults *f, int json, FILE *out)
{
    if (!json)
        return fs_faults_catalogue_print(f, out);
    cJSON *root = fs_faults_catalogue_json(f);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return -1;
    fprintf(out, "%s\n", text);
    free(text);
    return ferror(out) ? -1 : 0;
}

/* The printer holds every source its modules added; a printer built before
 * the fault module was wired in has none, and then only [fault_policy] is
 * shown. */
static void inspect(void *arg, struct fs_printer *p)
{
    struct print_job *job = arg;
    if (p->faults) {
        job->status = print_catalogue(p->faults, job->json, job->out);
        return;
    }
    struct fs_fault_policy_config pc;
    struct fs_faults *own = NULL;
    if (fs_fault_policy_read(job->cfg, &pc, &job->err) < 0 ||
        !(own = fs_faults_new(NULL, NULL, &pc, &job->err))) {
        job->status = -2;
        return;
    }
    job->status = print_catalogue(own, job->json, job->out);
    fs_faults_free(own);
}

int cli_faults(int argc, char **argv, FILE *out, FILE *err_out)
{
    const char *config = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(out);
            return 0;
        } else {
            fprintf(err_out, "failsoft faults: unknown or incomplete option '%s'\n", argv[i]);
            usage(err_out);
            return 2;
        }
    }
    if (!config)
        return print_catalogue(NULL, json, out) < 0 ? 1 : 0;

    struct print_job job = {.json = json, .out = out};
    if (fs_config_load(config, &job.cfg, &job.err) < 0) {
        fprintf(err_out, "%s\n", job.err.msg);
        return 1;
    }
    int rc = fs_printer_check_inspect(job.cfg, NULL, inspect, &job, &job.err);
    if (rc < 0 || job.status == -2)
        fprintf(err_out, "%s\n", job.err.msg);
    else if (job.status < 0)
        fprintf(err_out, "failsoft faults: writing the catalogue failed\n");
    fs_config_free(job.cfg);
    return rc < 0 || job.status < 0 ? 1 : 0;
}
