/* The world's trace: one text line per traced event, written to an optional
 * FILE and folded into a running 64-bit FNV-1a hash of exactly the same
 * text. Two runs with the same seed and inputs produce the same hash, so a
 * determinism check compares two numbers instead of two files. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stdint.h> /* uint64_t, int64_t */
#include <stdio.h>  /* FILE */

#define SIM_TRACE_LINE_MAX 512

struct sim_trace {
    int enabled;
    FILE *out;     /* may be NULL: hash only */
    uint64_t hash;
    uint64_t lines;
};

void sim_trace_init(struct sim_trace *t);
/* Starts tracing (out may be NULL); resets the hash. */
void sim_trace_start(struct sim_trace *t, FILE *out);
void sim_trace_stop(struct sim_trace *t);

/* One line, prefixed with the virtual time in seconds (9 decimals). A line
 * longer than SIM_TRACE_LINE_MAX is cut, the same way on every run. */
void sim_trace_line(struct sim_trace *t, int64_t now_ns, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* FNV-1a over a buffer, continuing from hash. */
uint64_t sim_trace_fnv1a(uint64_t hash, const void *data, size_t len);

#define SIM_TRACE_FNV_OFFSET 0xcbf29ce484222325ULL

#endif
