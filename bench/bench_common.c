/* Options, wall clock and figure printing shared by the benchmarks. */
#include "bench_common.h"

#include <errno.h>  /* errno */
#include <stdio.h>  /* printf, fprintf */
#include <stdlib.h> /* strtoull, strtod */
#include <string.h> /* strcmp */
#include <time.h>   /* clock_gettime */

static void bench_usage(const char *program, const struct bench_option *options, int count)
{
    printf("usage: %s", program);
    for (int i = 0; i < count; i++)
        printf(" [%s N]", options[i].name);
    printf("\n");
    for (int i = 0; i < count; i++) {
        if (options[i].kind == BENCH_OPTION_U64)
            printf("  %-12s %s (default %llu)\n", options[i].name, options[i].help,
                   (unsigned long long)*(uint64_t *)options[i].value);
        else
            printf("  %-12s %s (default %g)\n", options[i].name, options[i].help,
                   *(double *)options[i].value);
    }
}

/* A value that does not parse completely is rejected rather than read in
 * part, so a typo never runs a benchmark with a number nobody asked for. */
static int bench_parse_value(const struct bench_option *o, const char *text)
{
    char *end = NULL;
    errno = 0;
    if (o->kind == BENCH_OPTION_U64) {
        if (text[0] == '-')
            return -1;
        unsigned long long v = strtoull(text, &end, 0);
        if (errno || end == text || *end)
            return -1;
        *(uint64_t *)o->value = v;
        return 0;
    }
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v > 0))
        return -1;
    *(double *)o->value = v;
    return 0;
}

int bench_parse_options(int argc, char **argv, const struct bench_option *options,
                        int count)
{
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            bench_usage(argv[0], options, count);
            return 1;
        }
        const struct bench_option *o = NULL;
        for (int i = 0; i < count && !o; i++)
            if (!strcmp(argv[a], options[i].name))
                o = &options[i];
        if (!o) {
            fprintf(stderr, "%s: unknown option '%s' (try --help)\n", argv[0], argv[a]);
            return -1;
        }
        if (a + 1 >= argc || bench_parse_value(o, argv[a + 1]) < 0) {
            fprintf(stderr, "%s: %s needs a %s value\n", argv[0], o->name,
                    o->kind == BENCH_OPTION_U64 ? "non-negative integer" : "positive");
            return -1;
        }
        a++;
    }
    return 0;
}

double bench_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_report_u64(const char *name, uint64_t value)
{
    printf("%s: %llu\n", name, (unsigned long long)value);
}

void bench_report_double(const char *name, double value, int decimals)
{
    printf("%s: %.*f\n", name, decimals, value);
}

void bench_report_text(const char *name, const char *value)
{
    printf("%s: %s\n", name, value);
}
