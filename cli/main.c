/* The failsoft program: one command line, subcommands for what a user runs.
 * `demo`, the main job on the simulated printer (see demo.h). */
#include <errno.h>  /* errno */
#include <stdio.h>  /* printf, fprintf */
#include <stdlib.h> /* strtoull */
#include <string.h> /* strcmp */

#include "core/error.h" /* struct fs_error */
#include "check.h"      /* cli_check */
#include "demo.h"       /* demo_run */
#include "faults.h"     /* cli_faults */
#include "sim_print.h"  /* cli_sim_main */

#define DEMO_DEFAULT_PNG "out/demo.png"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: failsoft demo [--seed N] [--png FILE] [--trace FILE]\n"
            "\n"
            "  demo   print a file on the simulated printer (demo_fault.cfg); the hotend's\n"
            "         thermistor breaks mid-print, the print pauses, and after the repair\n"
            "         FAULT_CLEAR and RESUME finish it; prints a timeline and the checked\n"
            "         outcome, draws the run (default %s).\n"
            "         Exit status 0 when the outcome is right, 1 when not, 2 on errors.\n",
            DEMO_DEFAULT_PNG);
}

static int parse_seed(const char *s, uint64_t *seed)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *seed = v;
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    struct demo_options opt = {.seed = 1, .png_path = DEMO_DEFAULT_PNG, .out = stdout};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--seed") && has_value) {
            if (parse_seed(argv[++i], &opt.seed) < 0) {
                fprintf(stderr, "failsoft demo: --seed wants a number, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--png") && has_value) {
            opt.png_path = argv[++i];
        } else if (!strcmp(a, "--trace") && has_value) {
            opt.trace_path = argv[++i];
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "failsoft demo: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    struct demo_outcome o;
    struct fs_error err = {{0}};
    if (demo_run(&opt, &o, &err) < 0) {
        fprintf(stderr, "failsoft demo: %s\n", err.msg);
        return 2;
    }
    return o.ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "demo"))
        return cmd_demo(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "sim"))
        return cli_sim_main(argc - 2, argv + 2, stdout, stderr);
    if (argc >= 2 && !strcmp(argv[1], "check"))
        return cli_check(argc - 2, argv + 2, stdout, stderr);
    if (argc >= 2 && !strcmp(argv[1], "faults"))
        return cli_faults(argc - 2, argv + 2, stdout, stderr);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
                      !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
