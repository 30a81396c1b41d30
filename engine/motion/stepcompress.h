/* Step compression: a stepper's ideal step times become queue_step runs
 * (interval, count, add) whose every step lies within max_error of its
 * ideal time.
 *
 * Pure bookkeeping on MCU clocks: no MCU, no I/O, so it is tested on its
 * own. The stepper pushes one step at a time (ideal clock, direction) and
 * flushes up to a clock; each run handed out says whether it starts a new
 * time base (reset_step_clock) and which direction it goes, and the caller
 * turns it into commands. Memory is bounded: a fixed window of raw steps
 * (compressed early when it fills) and a bounded queue of runs waiting to
 * be flushed. */
#ifndef FS_STEPCOMPRESS_H
#define FS_STEPCOMPRESS_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t, uint32_t, int16_t */

struct fs_error;
struct fs_stepcompress;

/* Raw steps held before they are compressed, and compressed runs held
 * before they are flushed. */
#define FS_STEPCOMPRESS_RAW_STEPS 16384
#define FS_STEPCOMPRESS_MAX_RUNS 65536

struct fs_stepcompress_params {
    double max_error_ticks;      /* a step may land this far from its ideal time */
    uint32_t min_interval_ticks; /* two steps never closer (pulse high and low) */
    uint32_t max_interval_ticks; /* a longer gap starts a new time base */
};

/* One queue_step command, with what the caller needs to send it. Step k
 * (0-based) of the run is at first_clock + k*interval + add*k*(k+1)/2. */
struct fs_step_run {
    uint64_t first_clock, last_clock;
    uint32_t interval; /* from the previous step, or from reset_clock */
    uint16_t count;
    int16_t add;
    int8_t dir;        /* +1 or -1 */
    uint8_t reset;     /* send reset_step_clock(reset_clock) first */
    uint64_t reset_clock;
};

struct fs_stepcompress *fs_stepcompress_new(const struct fs_stepcompress_params *p,
                                            struct fs_error *err);
void fs_stepcompress_free(struct fs_stepcompress *sc);

/* Appends a step. Ideal clocks must not go backwards (a hair of rounding
 * is forgiven). Fails with "steps too fast" when the step cannot be placed
 * min_interval after the previous one within its error window. */
int fs_stepcompress_push(struct fs_stepcompress *sc, double ideal_clock, int dir,
                         struct fs_error *err);
/* The last step pushed (0), or -1 when there is none since the last reset. */
int fs_stepcompress_last(const struct fs_stepcompress *sc, double *ideal_clock, int *dir);
/* Takes back the last step pushed if it is still raw (returns 1), else 0. */
int fs_stepcompress_pop_last(struct fs_stepcompress *sc);

/* Hands out, in order, every step whose clock is before `clock`; a run
 * that straddles it is cut. emit returning -1 stops the flush with the run
 * kept (err filled by emit). */
typedef int (*fs_stepcompress_emit_fn)(void *arg, const struct fs_step_run *run,
                                       struct fs_error *err);
int fs_stepcompress_flush(struct fs_stepcompress *sc, uint64_t clock,
                          fs_stepcompress_emit_fn emit, void *arg, struct fs_error *err);

/* Forgets every step not handed out and makes the next run start a new
 * time base. Returns the net steps forgotten (forward positive). */
int64_t fs_stepcompress_reset(struct fs_stepcompress *sc);
/* Steps pushed and not yet handed out. */
size_t fs_stepcompress_pending(const struct fs_stepcompress *sc);

#endif
