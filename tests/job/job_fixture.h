/* A small world for print-job tests: a toy reactor whose time jumps to the
 * next timer, the real G-code dispatcher with fake motion and heater
 * commands that record what they were asked, a printer without toolhead or
 * heaters, and a temporary virtual_sdcard folder with G-code files. */
#ifndef JOB_FIXTURE_H
#define JOB_FIXTURE_H

#include <stddef.h> /* size_t */

#include "core/reactor.h"    /* struct fs_reactor */
#include "gcode/gcode.h"     /* struct fs_gcode_command */
#include "job/job.h"         /* struct fs_job */
#include "printer/printer.h" /* struct fs_printer */

#define FX_MAX_CALLS 64
#define FX_MAX_OUTPUT 64
#define FX_TEXT 256

/* One command the fake handlers received. */
struct fx_call {
    char name[48]; /* FS_GCODE_NAME_MAX */
    char source[FX_TEXT];
    char line[FX_TEXT];
    double t; /* reactor time */
};

struct job_fixture {
    double now;
    struct fs_reactor reactor;
    struct fs_printer printer;
    struct fs_job *job;
    char root[FX_TEXT];   /* temporary folder */
    char sdcard[FX_TEXT + 8]; /* root/sdcard */
    struct fx_call calls[FX_MAX_CALLS];
    int call_count;  /* recorded (at most FX_MAX_CALLS) */
    long call_total; /* received, recorded or not */
    char output[FX_MAX_OUTPUT][FX_TEXT];
    int output_count;
    double last_e;
    int emergencies;
    char emergency_reason[FX_TEXT];
};

/* Builds the world; cfg may be NULL for the defaults plus a
 * virtual_sdcard at fx->sdcard and [pause_resume] and [respond]. A cfg
 * with has_virtual_sdcard and an empty path gets fx->sdcard. */
void fx_setup(struct job_fixture *fx, struct fs_job_config *cfg);
void fx_teardown(struct job_fixture *fx);
/* Writes root/sdcard/<name> (or root/<name> when outside is set). */
void fx_write_file(struct job_fixture *fx, const char *name, const char *text, int outside);
/* Runs a console line; returns its status, the error in err_out if given. */
int fx_console(struct job_fixture *fx, const char *line, char *err_out, size_t err_size);
/* Lets the reactor run until t. */
void fx_advance_to(struct job_fixture *fx, double t);
/* The i-th recorded call named name (0-based among those), or NULL. */
const struct fx_call *fx_find_call(const struct job_fixture *fx, const char *name, int i);
int fx_count_calls(const struct job_fixture *fx, const char *name);
/* A handler that only counts (for long files). */
int fx_count_only(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                  struct fs_error *err);
/* Copies a file into the sdcard folder under name. */
void fx_copy_file(struct job_fixture *fx, const char *from, const char *name);
/* Whether some output line equals text. */
int fx_has_output(const struct job_fixture *fx, const char *text);

#endif
