/* Trace lines and their FNV-1a hash. */
#include "sim_trace.h"

#include <stdarg.h> /* va_list */
#include <string.h> /* strlen */

#define FNV_PRIME 0x100000001b3ULL

void sim_trace_init(struct sim_trace *t)
{
    t->enabled = 0;
    t->out = NULL;
    t->hash = SIM_TRACE_FNV_OFFSET;
    t->lines = 0;
}

void sim_trace_start(struct sim_trace *t, FILE *out)
{
    t->enabled = 1;
    t->out = out;
    t->hash = SIM_TRACE_FNV_OFFSET;
    t->lines = 0;
}

void sim_trace_stop(struct sim_trace *t)
{
    t->enabled = 0;
    t->out = NULL;
}

uint64_t sim_trace_fnv1a(uint64_t hash, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

void sim_trace_line(struct sim_trace *t, int64_t now_ns, const char *fmt, ...)
{
    if (!t->enabled)
        return;
    char line[SIM_TRACE_LINE_MAX];
    int64_t s = now_ns / 1000000000LL, frac = now_ns % 1000000000LL;
    int n = snprintf(line, sizeof(line), "%lld.%09lld ", (long long)s, (long long)frac);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    /* A cut line still ends in a newline so the file stays line-oriented. */
    if (len == sizeof(line) - 1)
        line[len - 1] = '\n';
    else
        line[len++] = '\n', line[len] = '\0';
    t->hash = sim_trace_fnv1a(t->hash, line, len);
    t->lines++;
    if (t->out)
        fputs(line, t->out);
}
