/* What every benchmark in bench/ shares: command-line options, the wall
 * clock, and figures printed as "name: value" lines, one per line, so that
 * scripts can grep them and the format never depends on the benchmark. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h> /* uint64_t */

enum bench_option_kind {
    BENCH_OPTION_U64,
    BENCH_OPTION_DOUBLE,
};

struct bench_option {
    const char *name; /* "--seed" */
    enum bench_option_kind kind;
    void *value;      /* uint64_t * or double *, holding the default */
    const char *help;
};

/* Reads "--name value" pairs into the options. Returns 0, 1 after printing
 * the usage for --help, or -1 after printing what was wrong. */
int bench_parse_options(int argc, char **argv, const struct bench_option *options,
                        int count);

/* Monotonic wall time in seconds: what the benchmarks divide by. */
double bench_wall_seconds(void);

void bench_report_u64(const char *name, uint64_t value);
/* decimals fixes the form, so runs compare line by line. */
void bench_report_double(const char *name, double value, int decimals);
void bench_report_text(const char *name, const char *value);

#endif
