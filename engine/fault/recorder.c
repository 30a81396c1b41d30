/* The flight recorder behind capsules: the last capsule_seconds of sensor
 * samples, commands and toolhead positions, in fixed ring buffers.
 *
 * Memory is bounded by entry count, not by time: each ring holds a fixed
 * number of entries, and a capsule keeps those inside the time window. At
 * the rates a printer produces (a sensor report every 0.3 s per sensor, a
 * few hundred G-code lines a second at most) the rings cover more than the
 * default 10 s; when they do not, the capsule holds fewer seconds, and says
 * so by its first entry's time. Recording never allocates. */
#include "fault/fault_internal.h"

#include <cjson/cJSON.h> /* cJSON_* */
#include <stdlib.h>      /* calloc, free */
#include <string.h>      /* memcpy */

#define SAMPLES_MAX 2048
#define COMMANDS_MAX 1024
#define POSITIONS_MAX 2048
#define COMMAND_TEXT_MAX 96

struct sample {
    double time, value;
    char source[FS_FAULT_NAME_MAX];
};

struct command {
    double time;
    char line[COMMAND_TEXT_MAX];
};

struct position {
    double time, pos[4];
};

struct fs_fault_recorder {
    double seconds;
    struct sample samples[SAMPLES_MAX];
    struct command commands[COMMANDS_MAX];
    struct position positions[POSITIONS_MAX];
    unsigned long sample_n, command_n, position_n; /* written so far */
};

struct fs_fault_recorder *fs_fault_recorder_new(double seconds)
{
    struct fs_fault_recorder *r = calloc(1, sizeof(*r));
    if (r)
        r->seconds = seconds;
    return r;
}

void fs_fault_recorder_free(struct fs_fault_recorder *r) { free(r); }

/* Copies at most size-1 bytes and always terminates: a long command or name
 * is shortened in the history, which is a record, not an input. Runs for
 * every G-code line, so it reads no further than it copies (no strlen of a
 * long line). */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; src && n < size - 1 && src[n]; n++)
        dst[n] = src[n];
    dst[n] = '\0';
}

void fs_faults_note_sample(struct fs_faults *f, const char *source, double time, double value)
{
    if (!f || !f->recorder)
        return;
    struct fs_fault_recorder *r = f->recorder;
    struct sample *s = &r->samples[r->sample_n++ % SAMPLES_MAX];
    s->time = time;
    s->value = value;
    copy_text(s->source, sizeof(s->source), source);
}

void fs_faults_note_command(struct fs_faults *f, double time, const char *line)
{
    if (!f || !f->recorder)
        return;
    struct fs_fault_recorder *r = f->recorder;
    struct command *c = &r->commands[r->command_n++ % COMMANDS_MAX];
    c->time = time;
    copy_text(c->line, sizeof(c->line), line);
}

void fs_faults_note_position(struct fs_faults *f, double time, const double pos[4])
{
    if (!f || !f->recorder || !pos)
        return;
    struct fs_fault_recorder *r = f->recorder;
    struct position *p = &r->positions[r->position_n++ % POSITIONS_MAX];
    p->time = time;
    memcpy(p->pos, pos, sizeof(p->pos));
}

/* Index of the oldest entry still held, and how many are held. */
static unsigned long first_held(unsigned long written, unsigned long cap)
{
    return written > cap ? written - cap : 0;
}

void fs_fault_recorder_describe(const struct fs_fault_recorder *r, double now,
                                struct cJSON *obj)
{
    cJSON *samples = cJSON_AddArrayToObject(obj, "samples");
    cJSON *commands = cJSON_AddArrayToObject(obj, "commands");
    cJSON *positions = cJSON_AddArrayToObject(obj, "positions");
    if (!r || !samples || !commands || !positions)
        return;
    double since = now - r->seconds;
    for (unsigned long i = first_held(r->sample_n, SAMPLES_MAX); i < r->sample_n; i++) {
        const struct sample *s = &r->samples[i % SAMPLES_MAX];
        if (s->time < since || s->time > now)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "time", s->time);
        cJSON_AddStringToObject(e, "source", s->source);
        cJSON_AddNumberToObject(e, "value", s->value);
        cJSON_AddItemToArray(samples, e);
    }
    for (unsigned long i = first_held(r->command_n, COMMANDS_MAX); i < r->command_n; i++) {
        const struct command *c = &r->commands[i % COMMANDS_MAX];
        if (c->time < since || c->time > now)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "time", c->time);
        cJSON_AddStringToObject(e, "line", c->line);
        cJSON_AddItemToArray(commands, e);
    }
    for (unsigned long i = first_held(r->position_n, POSITIONS_MAX); i < r->position_n; i++) {
        const struct position *p = &r->positions[i % POSITIONS_MAX];
        if (p->time < since || p->time > now)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "time", p->time);
        cJSON_AddItemToObject(e, "pos", cJSON_CreateDoubleArray(p->pos, 4));
        cJSON_AddItemToArray(positions, e);
    }
}
