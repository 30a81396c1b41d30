/* The engine's reactor in real time: the hardware backend's now() and
 * wait(until).
 *
 * now() is CLOCK_MONOTONIC in seconds. wait(until) sleeps in poll() on the
 * registered serial ports until a byte arrives, a port can take queued
 * output, or the earlier of `until` and the next engine timer; then it
 * hands received bytes to each port's transport (fs_transport_deliver,
 * stamped with the time poll() returned) and runs the engine timers that
 * are due (fs_reactor_run_due).
 *
 *   struct hw_loop loop;
 *   hw_loop_init(&loop);
 *   struct fs_reactor_backend be = hw_loop_reactor_backend(&loop);
 *   fs_reactor_init(&reactor, &be);
 *   hw_loop_attach_reactor(&loop, &reactor);
 *   hw_loop_add_serial(&loop, serial, &err);
 */
#ifndef HW_LOOP_H
#define HW_LOOP_H

#include "core/reactor.h" /* struct fs_reactor_backend */

struct fs_error;
struct hw_serial;

#define HW_LOOP_SERIALS_MAX 16
/* wait() returns at least this often even with nothing to do, so a caller
 * waiting "forever" still gets to re-check its condition. */
#define HW_LOOP_MAX_SLEEP_S 1.0

struct hw_loop {
    struct fs_reactor *reactor;
    struct hw_serial *serials[HW_LOOP_SERIALS_MAX];
    int serial_count;
};

void hw_loop_init(struct hw_loop *l);
struct fs_reactor_backend hw_loop_reactor_backend(struct hw_loop *l);
/* The reactor whose timers wait() runs; set once it is initialised. */
void hw_loop_attach_reactor(struct hw_loop *l, struct fs_reactor *r);

/* Polls s from now on; it stays owned by the caller, who removes it before
 * closing it. -1 with err when the loop is full or s is already in it. */
int hw_loop_add_serial(struct hw_loop *l, struct hw_serial *s, struct fs_error *err);
void hw_loop_remove_serial(struct hw_loop *l, struct hw_serial *s);

/* CLOCK_MONOTONIC in seconds: the engine's host time in this world. */
double hw_loop_now(void);

#endif
