/* The demo printer in the simulator and the demo-level control that drives
 * it through fs_mcu: a main board ("mcu") with the X axis, its min endstop
 * and a trsync; a toolboard ("toolboard") with the hotend heater and its
 * 100k thermistor. Heater control (PI on the analog reports), homing and
 * moves live here until engine/thermal and engine/motion exist; the demo's
 * story (demo.c) only calls these.
 *
 * Positions: the main board counts steps from wherever the axis was at
 * power-on, which nobody knows; homing finds the offset from that count to
 * machine steps (0 = the endstop). */
#ifndef DEMO_RIG_H
#define DEMO_RIG_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint64_t */
#include <stdio.h>  /* FILE */

#include "core/error.h"   /* FS_ERROR_MSG_MAX */
#include "core/log.h"     /* struct fs_logger */
#include "core/reactor.h" /* struct fs_timer */
#include "sim_host.h"     /* struct sim_host */
#include "viz_chart.h"    /* struct viz_point */

struct fs_mcu;

#define DEMO_X_STEPS_PER_MM 80.0
#define DEMO_X_MAX_MM 200.0

/* A growing list of (t, value) samples for the chart. */
struct demo_samples {
    struct viz_point *points;
    size_t count, capacity;
};

struct demo_heater {
    double target_c;   /* 0: off */
    double integral;   /* PI state, in C * s */
    double duty;       /* last output, 0..1 */
    double temp_c;     /* last reading */
    double temp_time;  /* host time of the last reading, -1 before any */
    int off_sent;      /* the output was switched off after a target of 0 */
};

struct demo_rig {
    struct sim_host host;
    struct fs_logger log;
    struct fs_mcu *main, *tool;
    int heater_id, axis_id;
    struct demo_heater heater;
    struct demo_samples temps, x_plant;
    struct fs_timer sample_timer;
    /* The engine's view of X: machine steps = MCU count + offset. */
    int homed;
    int64_t x_offset_steps;
    /* trsync: the reason of the last trigger, 0 while armed. */
    int trsync_reason;
    int shutdowns;
    char shutdown_detail[192];
    /* The first error met inside a callback, where it cannot be returned. */
    char callback_error[FS_ERROR_MSG_MAX];
};

/* Builds, connects and configures the printer. log_out gets the engine's
 * warnings (NULL: none); trace (NULL: none) gets the world's trace. */
int demo_rig_init(struct demo_rig *r, uint64_t seed, FILE *trace, FILE *log_out,
                  struct fs_error *err);
void demo_rig_free(struct demo_rig *r);

double demo_rig_now(const struct demo_rig *r);
void demo_rig_run_for(struct demo_rig *r, double seconds);

/* The PI controller acts on every analog report; 0 switches off. */
void demo_rig_set_target(struct demo_rig *r, double target_c);

/* The main board's step count, read from the MCU. */
int demo_rig_read_x_count(struct demo_rig *r, int64_t *count, struct fs_error *err);

/* One homing pass toward the min endstop: moves up to max_mm at speed_mm_s
 * and stops when the endstop triggers. Returns the MCU's step count at the
 * stop; fails when the endstop did not trigger. */
int demo_rig_home_pass(struct demo_rig *r, double max_mm, double speed_mm_s,
                       int64_t *count_at_stop, struct fs_error *err);
/* Moves X by a signed number of steps, trapezoidal, and waits until done. */
int demo_rig_move_steps(struct demo_rig *r, int64_t steps, double speed_mm_s,
                        double accel_mm_s2, struct fs_error *err);

int demo_samples_add(struct demo_samples *s, double t, double v);
void demo_samples_free(struct demo_samples *s);

#endif
