/* The hardware backend on its own, against a pty pair the test holds the
 * master of: the reactor's pause takes real time and runs engine timers in
 * order on time; bytes written by "the MCU" reach the engine's receiver
 * with a receive time; what the engine sends comes out whole, even more
 * than the pty takes at once; and an MCU that goes away breaks the port
 * with a reason instead of spinning the loop. */
#define _GNU_SOURCE /* posix_openpt, grantpt, unlockpt, ptsname */

#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>    /* fabs */
#include <stdio.h>   /* snprintf */
#include <fcntl.h>   /* O_RDWR */
#include <poll.h>    /* poll */
#include <stdlib.h>  /* posix_openpt */
#include <string.h>  /* memset, memcmp */
#include <termios.h> /* cfmakeraw */
#include <unistd.h>  /* read, write, close */
#include <cmocka.h>

#include "core/error.h"     /* struct fs_error */
#include "core/reactor.h"   /* fs_reactor */
#include "core/transport.h" /* fs_transport_send */
#include "hw_loop.h"        /* the backend under test */
#include "hw_serial.h"      /* the transport under test */

struct fixture {
    int master;
    char slave[128];
    struct hw_serial *serial;
    struct hw_loop loop;
    struct fs_reactor reactor;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    f.master = posix_openpt(O_RDWR | O_NOCTTY);
    if (f.master < 0 || grantpt(f.master) < 0 || unlockpt(f.master) < 0)
        return -1;
    snprintf(f.slave, sizeof(f.slave), "%s", ptsname(f.master));
    /* Non-blocking: the test reads whatever has arrived and moves on. */
    fcntl(f.master, F_SETFL, fcntl(f.master, F_GETFL) | O_NONBLOCK);
    struct termios tio;
    tcgetattr(f.master, &tio);
    cfmakeraw(&tio);
    tcsetattr(f.master, TCSANOW, &tio);
    struct fs_error err;
    f.serial = hw_serial_open(f.slave, 250000, &err);
    if (!f.serial) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    hw_loop_init(&f.loop);
    struct fs_reactor_backend be = hw_loop_reactor_backend(&f.loop);
    fs_reactor_init(&f.reactor, &be);
    hw_loop_attach_reactor(&f.loop, &f.reactor);
    if (hw_loop_add_serial(&f.loop, f.serial, &err) < 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fs_reactor_free(&f->reactor);
    hw_loop_remove_serial(&f->loop, f->serial);
    hw_serial_close(f->serial);
    if (f->master >= 0)
        close(f->master);
    return 0;
}

/* ---- timers ---- */

struct fired {
    double at[4];
    int order[4];
    int count;
};

struct tagged_timer {
    struct fs_timer timer;
    struct fired *log;
    int tag;
};

static double on_timer(struct fs_timer *t, double eventtime)
{
    struct tagged_timer *tt = t->arg;
    struct fired *log = tt->log;
    if (log->count < 4) {
        log->at[log->count] = hw_loop_now();
        log->order[log->count++] = tt->tag;
    }
    return FS_NEVER;
}

static void test_pause_takes_real_time_and_fires_timers_in_order(void **state)
{
    struct fixture *f = *state;
    struct fired log = {0};
    struct tagged_timer a = {.log = &log, .tag = 1}, b = {.log = &log, .tag = 2};
    fs_timer_init(&a.timer, on_timer, &a);
    fs_timer_init(&b.timer, on_timer, &b);
    double t0 = fs_reactor_now(&f->reactor);
    assert_true(fabs(t0 - hw_loop_now()) < 0.01);
    fs_reactor_timer_set(&f->reactor, &b.timer, t0 + 0.20);
    fs_reactor_timer_set(&f->reactor, &a.timer, t0 + 0.10);
    fs_reactor_pause(&f->reactor, t0 + 0.30);
    double t1 = hw_loop_now();
    assert_true(t1 - t0 >= 0.30);
    assert_true(t1 - t0 < 0.80);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.order[0], 1);
    assert_int_equal(log.order[1], 2);
    /* Not early, and not much late. */
    assert_true(log.at[0] >= t0 + 0.10 && log.at[0] < t0 + 0.20);
    assert_true(log.at[1] >= t0 + 0.20 && log.at[1] < t0 + 0.30);
}

/* ---- bytes ---- */

struct received {
    uint8_t data[256];
    size_t len;
    double first_time;
};

static void on_receive(void *arg, const uint8_t *data, size_t len, double receive_time)
{
    struct received *r = arg;
    if (r->len == 0)
        r->first_time = receive_time;
    assert_true(r->len + len <= sizeof(r->data));
    memcpy(r->data + r->len, data, len);
    r->len += len;
}

static int got_five(void *arg)
{
    return ((struct received *)arg)->len >= 5;
}

static void test_bytes_from_the_mcu_reach_the_engine_with_a_receive_time(void **state)
{
    struct fixture *f = *state;
    struct received r = {0};
    struct fs_transport *t = hw_serial_transport(f->serial);
    fs_transport_set_receiver(t, on_receive, &r);
    static const uint8_t ack[5] = {0x05, 0x12, 0xbd, 0x93, 0x7e};
    double sent = hw_loop_now();
    assert_int_equal(write(f->master, ack, sizeof(ack)), 5);
    assert_int_equal(fs_reactor_wait_for(&f->reactor, got_five, &r, sent + 2.0), 0);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, ack, 5);
    assert_true(r.first_time >= sent && r.first_time < sent + 0.5);
}

/* Reads from the master until `len` bytes arrived or 2 s passed. */
static size_t read_master(int fd, uint8_t *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            break;
        ssize_t n = read(fd, buf + have, len - have);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    return have;
}

static void test_engine_sends_come_out_whole(void **state)
{
    struct fixture *f = *state;
    struct fs_transport *t = hw_serial_transport(f->serial);
    struct fs_error err;
    /* More than a pty buffers at once: the rest waits in the transport
     * and goes out as the reactor's loop finds the port writable. */
    enum { TOTAL = 12000, BLOCK = 64 };
    static uint8_t sent[TOTAL], got[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        sent[i] = (uint8_t)(i * 7 + 3);
    size_t queued = 0;
    size_t have = 0;
    double deadline = hw_loop_now() + 5.0;
    while ((queued < TOTAL || have < TOTAL) && hw_loop_now() < deadline) {
        if (queued < TOTAL &&
            fs_transport_send(t, sent + queued, BLOCK < TOTAL - queued ? BLOCK : TOTAL - queued,
                              &err) == 0)
            queued += BLOCK < TOTAL - queued ? BLOCK : TOTAL - queued;
        fs_reactor_pause(&f->reactor, hw_loop_now() + 0.001);
        ssize_t n;
        while (have < TOTAL && (n = read(f->master, got + have, TOTAL - have)) > 0)
            have += (size_t)n;
    }
    have += read_master(f->master, got + have, TOTAL - have);
    assert_int_equal(have, TOTAL);
    assert_memory_equal(got, sent, TOTAL);
    assert_int_equal(hw_serial_pending_output(f->serial), 0);
}

static void test_mcu_gone_breaks_the_port_with_a_reason(void **state)
{
    struct fixture *f = *state;
    close(f->master);
    f->master = -1;
    double t0 = hw_loop_now();
    fs_reactor_pause(&f->reactor, t0 + 0.05);
    struct fs_error err;
    assert_true(hw_serial_is_broken(f->serial, &err));
    assert_non_null(strstr(err.msg, f->slave));
    static const uint8_t probe[5] = {0x05, 0x10, 0x00, 0x00, 0x7e};
    memset(&err, 0, sizeof(err));
    assert_int_equal(fs_transport_send(hw_serial_transport(f->serial), probe, 5, &err), -1);
    assert_true(err.msg[0] != '\0');
    /* The loop no longer polls it: a pause is a sleep, not a spin. */
    fs_reactor_pause(&f->reactor, hw_loop_now() + 0.1);
}

static void test_missing_device_is_an_error_naming_it(void **state)
{
    (void)state;
    struct fs_error err;
    assert_null(hw_serial_open("/dev/does-not-exist-ttyUSB9", 250000, &err));
    assert_non_null(strstr(err.msg, "/dev/does-not-exist-ttyUSB9"));
    assert_null(hw_serial_open("/dev/null", 250000, &err));
    assert_non_null(strstr(err.msg, "/dev/null"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pause_takes_real_time_and_fires_timers_in_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bytes_from_the_mcu_reach_the_engine_with_a_receive_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_sends_come_out_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcu_gone_breaks_the_port_with_a_reason, setup,
                                        teardown),
        cmocka_unit_test(test_missing_device_is_an_error_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
