/* What the demo measures while its print runs, as a person with a
 * thermocouple, a logic probe on the heater pins and a ruler would: the
 * simulator's true hotend and bed temperatures, what the toolboard reports,
 * the targets, the power the host commands, the duty each heater pin really
 * drives, the head's height and whether the axes stay homed. Samples go
 * into time series for the picture; the pin probe also tells when the
 * hotend pin last drove and, inside a window the story opens and closes
 * (the pause), how the two heater pins and the bed temperature behaved. */
#ifndef DEMO_RECORD_H
#define DEMO_RECORD_H

#include <stddef.h> /* size_t */

#include "core/reactor.h" /* struct fs_timer */
#include "viz_chart.h"    /* struct viz_point */

struct fs_error;
struct sim_session;

/* At 0.25 s a 640 s print with a pause and a reheat fits with room. */
#define DEMO_SAMPLE_S 0.25
#define DEMO_POINTS_MAX 8192
/* The pin probe: finer than the heaters' 0.1 s PWM cycle. */
#define DEMO_PIN_PROBE_S 0.001

struct demo_series {
    struct viz_point points[DEMO_POINTS_MAX];
    size_t count;
};

enum demo_series_id {
    DEMO_HOTEND_TRUE,    /* the block's temperature (simulator) */
    DEMO_HOTEND_READING, /* as the toolboard reports it (in range only) */
    DEMO_HOTEND_TARGET,
    DEMO_BED_TRUE,
    DEMO_BED_TARGET,
    DEMO_HOTEND_POWER,   /* commanded by the host, % */
    DEMO_HOTEND_PIN,     /* measured duty at the pin over the sample, % */
    DEMO_HEAD_Z,         /* the head's height (simulator) */
    DEMO_SERIES_COUNT
};

/* Measurements inside the story's window (the pause). */
struct demo_window {
    int open;
    long probes, hotend_on, bed_on; /* pin probes and those seen driving */
    double bed_target_c;            /* at the window's start */
    int bed_target_changed;
    double bed_max_dev_c;           /* simulator's bed vs that target */
    double hotend_target_max_c;     /* the host's hotend target inside */
};

struct demo_record {
    struct fs_timer sample_timer, probe_timer; /* arg: this record */
    struct sim_session *s;
    double t0; /* host time of the print's start: the timeline's zero */
    int plant_hotend, plant_bed;
    int host_hotend, host_bed; /* indices into fs_heaters_status */
    struct demo_series series[DEMO_SERIES_COUNT];
    /* Pin probes since the last sample, for the measured duty. */
    long probes, hotend_on;
    double hotend_last_on; /* host time; -1: not since the record started */
    int homed_seen;        /* the axes were homed at some sample */
    int homed_lost;        /* ... and later were not */
    double homed_lost_t;
    struct demo_window window;
};

/* Starts sampling at host time t0 (also the series' time zero). -1 with
 * err when the printer lacks the demo's heaters. */
int demo_record_start(struct demo_record *r, struct sim_session *s, double t0,
                      struct fs_error *err);
void demo_record_stop(struct demo_record *r);
void demo_record_window_open(struct demo_record *r);
void demo_record_window_close(struct demo_record *r);

#endif
