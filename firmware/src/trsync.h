/* Stop-on-trigger: the interface between things that detect an event
 * (endstops, probes, a host timeout) and things that must react to it at
 * once, inside the same timer (steppers that must stop on the step that
 * touched the switch).
 *
 * A trsync object is created by `config_trsync` and armed by `trsync_start`.
 * A module that wants to react embeds a struct trsync_signal in its object
 * and adds it with trsync_add_signal; a module that detects an event calls
 * trsync_do_trigger. Triggering runs every added signal once, removes them
 * all, records the reason and reports `trsync_state` to the host. A trsync
 * triggers at most once per trsync_start. */
#ifndef FW_TRSYNC_H
#define FW_TRSYNC_H

#include <stdint.h> /* uint8_t */

struct trsync;
struct trsync_signal;

/* Runs inside the triggering timer or command: keep it short. */
typedef void (*trsync_callback_fn)(struct trsync_signal *sig, uint8_t reason);

/* Owned by the reacting object; zero-initialised means "not added". */
struct trsync_signal {
    struct trsync_signal *next;
    trsync_callback_fn func; /* non-NULL while added to a trsync */
};

/* The trsync with this oid; shuts down with "Invalid oid type" if the oid
 * holds something else. */
struct trsync *trsync_oid_lookup(uint8_t oid);

/* Adds sig so func runs on the next trigger of ts. A signal may wait on one
 * trsync at a time: adding one that is already waiting shuts down with
 * "Can't add signal that is already active". */
void trsync_add_signal(struct trsync *ts, struct trsync_signal *sig, trsync_callback_fn func);

/* Triggers ts with reason: runs and removes every signal, stops the expiry
 * timer and queues a report. Does nothing if ts is not armed (never started,
 * or already triggered). */
void trsync_do_trigger(struct trsync *ts, uint8_t reason);

#endif
