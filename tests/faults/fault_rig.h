/* The rig behind the fault acceptance tests: the demo printer with a
 * [fault_policy] and per-object policies added in a temporary folder (which
 * also holds the fault journal), a print of a shipped slicer file that can
 * be stopped at a moment, faults injected at exact simulated times, and
 * the measurements a person would make: when a heater pin last drove,
 * where the head is, what the journal says. */
#ifndef FAULT_RIG_H
#define FAULT_RIG_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "core/reactor.h"  /* struct fs_timer */
#include "gcode_expect.h"  /* struct gcode_expect */
#include "job/job.h"       /* enum fs_job_state */

struct fs_error;
struct fs_fault_record;
struct fs_printer;
struct sim_printer;
struct sim_session;
struct sim_world;

struct fault_rig {
    char dir[256];     /* temporary folder */
    char config[320];  /* its printer.cfg */
    char journal[320]; /* its journal folder */
    struct sim_session *s;
    struct fs_printer *p;
    struct sim_world *w;
    const struct sim_printer *plant;
};

/* The demo printer plus extra_cfg (sections appended after an include of
 * scenarios/configs/demo_cartesian.cfg, so they override). Fails the test
 * on error. */
void fault_rig_open(struct fault_rig *r, const char *extra_cfg, uint64_t seed);
/* The same but returns -1 with err when the printer does not start (a
 * configuration the fault module rejects). */
int fault_rig_try_open(struct fault_rig *r, const char *extra_cfg, uint64_t seed,
                       struct fs_error *err);
void fault_rig_close(struct fault_rig *r);

/* Absolute path of a shipped G-code file, and what it commands. */
const char *fault_rig_gcode(const char *name, char *buf, size_t cap);
void fault_rig_expect(const char *gcode_path, struct gcode_expect *out);

double fault_rig_now(struct fault_rig *r);
/* A console line; fails the test when it fails. */
void fault_rig_line(struct fault_rig *r, const char *line);
/* A console line expected to be refused: returns the message. */
const char *fault_rig_line_refused(struct fault_rig *r, const char *line,
                                   struct fs_error *err);
void fault_rig_start_print(struct fault_rig *r, const char *gcode_path);
/* Runs the program loop until the job reaches state (or max_s passes:
 * fails the test). */
void fault_rig_run_until_state(struct fault_rig *r, enum fs_job_state state, double max_s);
/* Until the job's progress reaches fraction. */
void fault_rig_run_until_progress(struct fault_rig *r, double fraction, double max_s);
/* For seconds of simulated time (the job keeps running). */
void fault_rig_run_for(struct fault_rig *r, double seconds);

/* fn(arg) from the host's reactor at host time t: faults start at an exact
 * moment whatever the job is doing. */
struct fault_rig_at {
    struct fs_timer timer;
    void (*fn)(void *arg);
    void *arg;
};
void fault_rig_at(struct fault_rig *r, struct fault_rig_at *a, double t, void (*fn)(void *arg),
                  void *arg);

/* Samples a heater's pin every millisecond from `from`: the last time it
 * was seen driving (duty > 0). */
struct fault_rig_pin_watch {
    struct fs_timer timer;
    struct fault_rig *r;
    int plant_heater;
    double last_on; /* -1: never on since `from` */
};
void fault_rig_watch_pin(struct fault_rig *r, struct fault_rig_pin_watch *pw, int plant_heater,
                         double from);
void fault_rig_unwatch_pin(struct fault_rig *r, struct fault_rig_pin_watch *pw);

/* The newest fault record of source and kind, or NULL. */
const struct fs_fault_record *fault_rig_record(struct fault_rig *r, const char *source,
                                               const char *kind);
int fault_rig_record_count(struct fault_rig *r, const char *source, const char *kind);
/* Lines of the journal (faults.jsonl) for source and kind; the evidence
 * and action of the last one into the buffers. */
int fault_rig_journal_count(struct fault_rig *r, const char *source, const char *kind,
                            char *evidence, size_t evidence_cap, char *action,
                            size_t action_cap);

/* After the job completed: finishes the print's clock, then checks what
 * a person would: the toolhead ends where the file commands (1e-6 mm), the
 * motors there too (0.02 mm), and with check_extrusion the net extrusion
 * within 0.01 mm. Fails the test otherwise. */
void fault_rig_check_completed(struct fault_rig *r, const char *gcode_path, int check_extrusion);

/* Every fault record, one per line (for a failing test's output). */
void fault_rig_print_faults(struct fault_rig *r);

/* The capsule of the newest fault of source and kind: how many sensor
 * samples (of sample_source, or any when NULL), commands and positions its
 * history holds; -1 when there is no capsule. */
int fault_rig_capsule_history(struct fault_rig *r, const char *source, const char *kind,
                              const char *sample_source, int *samples, int *commands,
                              int *positions);

/* A chamber heater ("heater_generic chamber", on PC2 with its sensor on
 * PC3) whose owner chose on_fault: disable, as extra_cfg for
 * fault_rig_open; and a fault_rig_at callback (arg: the rig) that breaks
 * its sensor open. */
extern const char fault_rig_chamber_cfg[];
void fault_rig_open_chamber_sensor(void *arg);

/* A fault_rig_at callback (arg: a struct fault_rig_cut) that cuts the
 * toolboard's link for the given seconds. */
struct fault_rig_cut {
    struct fault_rig *r;
    double seconds;
};
void fault_rig_cut_toolboard(void *arg);

/* Plant ids by config name. */
int fault_rig_plant_heater(struct fault_rig *r, const char *name);
/* The physical head position x y z e. */
void fault_rig_plant_position(struct fault_rig *r, double pos[4]);

#endif
