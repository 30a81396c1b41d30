/* failsoft-mcu: the failsoft firmware as a Linux process, in real time, on a
 * pseudo-terminal, with its pins wired to simulated heaters and axes.
 *
 * A host (failsoft's engine, or Klipper's) connects to the pty as it would
 * to a board's serial port. The main loop is what a bare-metal MCU does
 * with interrupts: sleep in ppoll() until the next firmware timer or the
 * next byte, run what is due, feed received bytes to the core, and write
 * the core's blocks out. The MCU clock is CLOCK_MONOTONIC since start-up
 * scaled to CLOCK_FREQ.
 *
 * SIGINT, SIGTERM and SIGHUP stop the loop; they stay blocked except inside
 * ppoll(), so a signal can never slip in between checking the flag and
 * going to sleep. */
#define _GNU_SOURCE /* ppoll */

#include <errno.h>  /* errno, EINTR, EAGAIN */
#include <getopt.h> /* getopt_long */
#include <poll.h>   /* ppoll */
#include <signal.h> /* sigaction, sigprocmask */
#include <stdio.h>  /* fprintf */
#include <string.h> /* memmove, strerror */
#include <time.h>   /* clock_gettime */
#include <unistd.h> /* read, write */

#include "fw_linux.h"  /* fw_linux_mcu_* */
#include "mcu_plant.h" /* struct mcu_plant */
#include "mcu_pty.h"   /* struct mcu_pty */

#define TX_QUEUE_BYTES 8192 /* blocks waiting for the pty; beyond this, dropped */
#define RX_CHUNK 4096
#define RX_CHUNKS_PER_WAKE 4
#define STATUS_PERIOD_NS 1000000000LL
#define MAX_SLEEP_NS 1000000000LL /* wake at least this often, timers or not */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* Blocks not yet taken by the pty. */
struct tx_queue {
    int fd;
    uint8_t buf[TX_QUEUE_BYTES];
    size_t used;
    unsigned long dropped_blocks;
};

static void tx_flush(struct tx_queue *q)
{
    while (q->used) {
        ssize_t n = write(q->fd, q->buf, q->used);
        if (n <= 0)
            return; /* full (EAGAIN) or nobody listening: try again on POLLOUT */
        memmove(q->buf, q->buf + n, q->used - (size_t)n);
        q->used -= (size_t)n;
    }
}

static void console_send(void *ctx, const uint8_t *block, uint32_t len)
{
    struct tx_queue *q = ctx;
    tx_flush(q);
    /* A whole block or nothing: half a block only costs the host a resync. */
    if (q->used + len > sizeof(q->buf)) {
        q->dropped_blocks++;
        return;
    }
    memcpy(q->buf + q->used, block, len);
    q->used += len;
    tx_flush(q);
}

/* ---- time ---- */

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t ns_to_clock(int64_t ns)
{
    uint64_t u = ns > 0 ? (uint64_t)ns : 0;
    return u / 1000000000ull * FW_LINUX_CLOCK_FREQ +
           u % 1000000000ull * FW_LINUX_CLOCK_FREQ / 1000000000ull;
}

/* How long to sleep: until the next firmware timer (rounded up, so the loop
 * does not wake a tick early and spin), at most max_ns. */
static struct timespec sleep_time(const struct fw_linux_mcu *m, int64_t now_ns, int64_t max_ns)
{
    int64_t wait_ns = max_ns;
    uint64_t wake;
    if (fw_linux_mcu_next_wake(m, &wake)) {
        int64_t wake_ns = mcu_plant_clock_to_ns(wake) + 1;
        if (wake_ns - now_ns < wait_ns)
            wait_ns = wake_ns - now_ns;
    }
    if (wait_ns < 0)
        wait_ns = 0;
    return (struct timespec){.tv_sec = wait_ns / 1000000000LL,
                             .tv_nsec = wait_ns % 1000000000LL};
}

/* ---- options ---- */

struct options {
    const char *link_path;
    int verbose;
};

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [-I PATH] [--heater SPEC]... [--axis SPEC]... [-v]\n"
            "\n"
            "Runs the failsoft firmware (MCU \"linux-sim\", CLOCK_FREQ %u, pins PA0..PD15)\n"
            "in real time on a pseudo-terminal; its pins drive simulated heaters and axes.\n"
            "\n"
            "  -I PATH          make PATH a symlink to the pty (a stale symlink is\n"
            "                   replaced; removed again on exit)\n"
            "  --heater SPEC    HEATER_PIN:SENSOR_PIN[,key=value...]: a heater block on a\n"
            "                   digital or PWM output, read by a 100k NTC thermistor on an\n"
            "                   analog input. Keys: power_w (40), capacity_j_per_k (20),\n"
            "                   loss_w_per_k (0.18), ambient_c (20).\n"
            "                   e.g. --heater PA1:PA2,power_w=200\n"
            "  --axis SPEC      step=PIN,dir=PIN[,enable=PIN][,endstop=PIN][,key=value...]:\n"
            "                   a linear axis. Keys: steps_per_mm (80), length_mm (200),\n"
            "                   position_mm (start; default length_mm/2), endstop_side\n"
            "                   (min: switch at 0 mm, max: at length_mm; default min),\n"
            "                   invert_dir (0). Dir high moves towards +, enable is active\n"
            "                   low, the endstop reads high while pressed.\n"
            "                   e.g. --axis step=PB0,dir=PB1,enable=PB2,endstop=PB3\n"
            "  -v, --verbose    print the heaters and axes to stderr every second\n"
            "  -h, --help       this text\n"
            "\n"
            "SIGINT or SIGTERM stops it cleanly.\n",
            prog, FW_LINUX_CLOCK_FREQ);
}

/* Returns 0 to run, 1 to exit successfully (help), 2 on a usage error. */
static int parse_options(int argc, char **argv, struct options *o, struct mcu_plant *plant)
{
    static const struct option longopts[] = {
        {"heater", required_argument, NULL, 'H'},
        {"axis", required_argument, NULL, 'A'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[256];
    int c;
    while ((c = getopt_long(argc, argv, "I:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'I':
            o->link_path = optarg;
            break;
        case 'H':
            if (mcu_plant_add_heater(plant, optarg, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s: --heater %s: %s\n", argv[0], optarg, err);
                return 2;
            }
            break;
        case 'A':
            if (mcu_plant_add_axis(plant, optarg, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s: --axis %s: %s\n", argv[0], optarg, err);
                return 2;
            }
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            usage(stdout, argv[0]);
            return 1;
        default:
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return 2;
    }
    return 0;
}

static int install_signals(sigset_t *run_mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &block, run_mask) < 0)
        return -1;
    sigdelset(run_mask, SIGINT);
    sigdelset(run_mask, SIGTERM);
    sigdelset(run_mask, SIGHUP);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
        sigaction(SIGHUP, &sa, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- main loop ---- */

/* Reads what is waiting, a bounded amount so that a host that never stops
 * sending cannot starve the timers; returns -1 when the pty is gone. */
static int receive(struct fw_linux_mcu *m, int fd, int64_t start_ns)
{
    uint8_t buf[RX_CHUNK];
    for (int i = 0; i < RX_CHUNKS_PER_WAKE; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            fw_linux_mcu_receive(m, ns_to_clock(monotonic_ns() - start_ns), buf,
                                 (uint32_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return -1;
    }
    return 0;
}

static int run(struct fw_linux_mcu *m, struct mcu_plant *plant, struct tx_queue *tx,
               const struct options *o, const sigset_t *run_mask)
{
    int64_t start_ns = monotonic_ns();
    int64_t status_due_ns = start_ns + STATUS_PERIOD_NS;
    fw_linux_mcu_power_on(m, 0);
    while (!stop_signal) {
        int64_t now_ns = monotonic_ns();
        /* Timers first: bytes that arrived during the sleep must not be
         * handled at a clock later than timers still waiting to run. */
        fw_linux_mcu_run(m, ns_to_clock(now_ns - start_ns));
        if (o->verbose && now_ns >= status_due_ns) {
            mcu_plant_print(plant, fw_linux_mcu_clock(m), stderr);
            status_due_ns = now_ns + STATUS_PERIOD_NS;
        }
        struct pollfd pfd = {.fd = tx->fd, .events = POLLIN | (tx->used ? POLLOUT : 0)};
        int64_t max_ns = o->verbose ? status_due_ns - now_ns : MAX_SLEEP_NS;
        struct timespec ts = sleep_time(m, now_ns - start_ns, max_ns);
        int r = ppoll(&pfd, 1, &ts, run_mask);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "failsoft-mcu: ppoll: %s\n", strerror(errno));
            return -1;
        }
        if (r <= 0)
            continue;
        fw_linux_mcu_run(m, ns_to_clock(monotonic_ns() - start_ns));
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && receive(m, tx->fd, start_ns) < 0) {
            fprintf(stderr, "failsoft-mcu: the pty is gone\n");
            return -1;
        }
        if (pfd.revents & POLLOUT)
            tx_flush(tx);
    }
    if (o->verbose)
        mcu_plant_print(plant, fw_linux_mcu_clock(m), stderr);
    return 0;
}

int main(int argc, char **argv)
{
    static struct mcu_plant plant;
    static struct tx_queue tx;
    struct options opts = {0};
    mcu_plant_init(&plant);
    int rc = parse_options(argc, argv, &opts, &plant);
    if (rc)
        return rc == 1 ? 0 : 2;

    sigset_t run_mask;
    if (install_signals(&run_mask) < 0) {
        fprintf(stderr, "failsoft-mcu: signals: %s\n", strerror(errno));
        return 1;
    }
    struct mcu_pty pty;
    char err[512];
    if (mcu_pty_open(&pty, opts.link_path, err, sizeof(err)) < 0) {
        fprintf(stderr, "failsoft-mcu: %s\n", err);
        return 1;
    }
    tx.fd = pty.master;
    struct fw_linux_wiring wiring = mcu_plant_wiring(&plant);
    wiring.console_send = console_send;
    wiring.console_ctx = &tx;
    struct fw_linux_mcu *m = fw_linux_mcu_new(&wiring);
    if (!m) {
        mcu_pty_close(&pty);
        fprintf(stderr, "failsoft-mcu: out of memory\n");
        return 1;
    }
    if (opts.verbose)
        fprintf(stderr, "failsoft-mcu: %s%s%s\n", pty.slave_name,
                opts.link_path ? " <- " : "", opts.link_path ? opts.link_path : "");
    rc = run(m, &plant, &tx, &opts, &run_mask);
    if (tx.dropped_blocks)
        fprintf(stderr, "failsoft-mcu: %lu blocks dropped (nobody reading)\n",
                tx.dropped_blocks);
    fw_linux_mcu_free(m);
    mcu_pty_close(&pty);
    return rc < 0 ? 1 : 0;
}
