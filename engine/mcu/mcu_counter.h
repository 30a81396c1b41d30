/* A pulse counter on an MCU input (a fan's tachometer): the MCU counts
 * level changes at its poll rate and reports the count every sample time;
 * the owner gets each report as a running count (extended past 32 bits)
 * with the print time of the newest change and of the report.
 *
 * Lifecycle as for the other MCU objects: fs_mcu_counter_new at parse time;
 * the build-config callback adds `config_counter`; after every configure
 * `query_counter` starts counting (the count then starts again from the
 * MCU's 0, which the owner sees as a reset: `restarted` set). */
#ifndef FS_MCU_COUNTER_H
#define FS_MCU_COUNTER_H

#include <stdint.h> /* uint64_t */

struct fs_error;
struct fs_mcu;
struct fs_mcu_counter;
struct fs_reactor;

/* One report: count of level changes so far, the print time of the newest
 * change (count_time) and of the poll the report describes (time).
 * restarted: the first report after a (re)configure; differences with
 * earlier reports mean nothing. */
struct fs_mcu_counter_report {
    double time;
    uint64_t count;
    double count_time;
    int restarted;
};
typedef void (*fs_mcu_counter_fn)(void *arg, const struct fs_mcu_counter_report *r);

struct fs_mcu_counter_params {
    const char *pin;
    const char *where;  /* "printer.cfg:90: [fan]", or NULL */
    int pull_up;        /* '^' 1, '~' -1, 0 none */
    double poll_time_s;   /* between two reads of the pin */
    double sample_time_s; /* between two reports */
};

/* Polled every 1.5 ms (fast enough for 2 pulses per turn below 10000 rpm),
 * reported every second. */
void fs_mcu_counter_params_default(struct fs_mcu_counter_params *p);

struct fs_mcu_counter *fs_mcu_counter_new(struct fs_mcu *m, struct fs_reactor *reactor,
                                          const struct fs_mcu_counter_params *p,
                                          fs_mcu_counter_fn fn, void *arg, struct fs_error *err);
void fs_mcu_counter_free(struct fs_mcu_counter *c);

#endif
