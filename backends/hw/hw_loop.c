/* The engine's reactor in real time: poll() on the serial ports, bytes to
 * the engine, due engine timers run. See hw_loop.h. */
#define _GNU_SOURCE /* ppoll */

#include <math.h>  /* ceil */
#include <poll.h>  /* ppoll, struct pollfd */
#include <time.h>  /* clock_gettime, struct timespec */

#include "core/error.h"     /* fs_error_set */
#include "core/transport.h" /* fs_transport_deliver */
#include "hw_loop.h"        /* the API implemented here */
#include "hw_serial.h"      /* hw_serial_* */

#define READ_CHUNK 4096
/* Reads per port per wait: a port that never stops talking must not keep
 * the engine's timers from running. */
#define READS_PER_WAIT 16

double hw_loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void hw_loop_init(struct hw_loop *l)
{
    l->reactor = NULL;
    l->serial_count = 0;
}

void hw_loop_attach_reactor(struct hw_loop *l, struct fs_reactor *r)
{
    l->reactor = r;
}

int hw_loop_add_serial(struct hw_loop *l, struct hw_serial *s, struct fs_error *err)
{
    for (int i = 0; i < l->serial_count; i++)
        if (l->serials[i] == s)
            return fs_error_set(err, "hw loop: serial %s added twice", hw_serial_path(s));
    if (l->serial_count == HW_LOOP_SERIALS_MAX)
        return fs_error_set(err, "hw loop: more than %d serial ports", HW_LOOP_SERIALS_MAX);
    l->serials[l->serial_count++] = s;
    return 0;
}

void hw_loop_remove_serial(struct hw_loop *l, struct hw_serial *s)
{
    for (int i = 0; i < l->serial_count; i++) {
        if (l->serials[i] == s) {
            l->serials[i] = l->serials[--l->serial_count];
            return;
        }
    }
}

static double loop_now(void *ctx)
{
    (void)ctx;
    return hw_loop_now();
}

/* The sleep until `wake`, rounded up to the microsecond so that the loop
 * does not wake just before a timer and spin. */
static struct timespec sleep_until(double wake, double now)
{
    double wait_s = wake - now;
    if (wait_s > HW_LOOP_MAX_SLEEP_S)
        wait_s = HW_LOOP_MAX_SLEEP_S;
    if (wait_s < 0)
        wait_s = 0;
    long long us = (long long)ceil(wait_s * 1e6);
    return (struct timespec){.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
}

static void serve_port(struct hw_serial *s, short revents, double receive_time)
{
    if (revents & POLLOUT)
        hw_serial_flush(s, NULL);
    if (revents & POLLIN) {
        uint8_t buf[READ_CHUNK];
        for (int i = 0; i < READS_PER_WAIT; i++) {
            ssize_t n = hw_serial_read(s, buf, sizeof(buf), NULL);
            if (n <= 0)
                break;
            fs_transport_deliver(hw_serial_transport(s), buf, (size_t)n, receive_time);
        }
    }
    /* Bytes that arrived before the hangup were read above. */
    if ((revents & (POLLHUP | POLLERR | POLLNVAL)) && !(revents & POLLIN))
        hw_serial_hangup(s);
}

static void loop_wait(void *ctx, double until)
{
    struct hw_loop *l = ctx;
    double wake = until;
    if (l->reactor && fs_reactor_next_wake(l->reactor) < wake)
        wake = fs_reactor_next_wake(l->reactor);

    struct pollfd fds[HW_LOOP_SERIALS_MAX];
    struct hw_serial *polled[HW_LOOP_SERIALS_MAX];
    nfds_t n = 0;
    for (int i = 0; i < l->serial_count; i++) {
        struct hw_serial *s = l->serials[i];
        if (hw_serial_is_broken(s, NULL))
            continue;
        short events = POLLIN;
        if (hw_serial_pending_output(s))
            events |= POLLOUT;
        fds[n] = (struct pollfd){.fd = hw_serial_fd(s), .events = events};
        polled[n++] = s;
    }
    struct timespec ts = sleep_until(wake, hw_loop_now());
    /* A signal (EINTR) returns early, which wait() may: the caller
     * re-checks its condition and time has moved on. */
    int ready = ppoll(fds, n, &ts, NULL);
    double now = hw_loop_now();
    if (ready > 0)
        for (nfds_t i = 0; i < n; i++)
            if (fds[i].revents)
                serve_port(polled[i], fds[i].revents, now);
    if (l->reactor)
        fs_reactor_run_due(l->reactor, hw_loop_now());
}

struct fs_reactor_backend hw_loop_reactor_backend(struct hw_loop *l)
{
    return (struct fs_reactor_backend){.ctx = l, .now = loop_now, .wait = loop_wait};
}
