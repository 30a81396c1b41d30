/* failsoft-mcu driven by the engine in real time: the program started as a
 * child on a pty, reached through the hardware backend's serial transport
 * and reactor, spoken to by the engine's MCU layer (link, dictionary, clock
 * sync, configuration). Checks what a person bringing up the Linux MCU
 * would: it identifies as failsoft/linux-sim with the dictionary the build
 * generated; its clock runs at CLOCK_FREQ against the host's; a heater
 * switched on heats what its thermistor reports; queued steps land on an
 * exact position and drive the axis onto its endstop; `reset` restarts it
 * unconfigured; idle, it sleeps; bad command lines are refused; it replaces
 * a stale link (never another file) and removes it again on SIGTERM.
 *
 * Timed commands go 200 ms ahead, so a loaded machine does not make them
 * late; the whole file runs in about ten seconds. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>     /* log */
#include <stdio.h>    /* snprintf, fopen */
#include <stdlib.h>   /* malloc */
#include <string.h>   /* strcmp */
#include <sys/stat.h> /* lstat */
#include <unistd.h>   /* symlink, readlink */
#include <cmocka.h>

#include "core/error.h"   /* struct fs_error */
#include "core/reactor.h" /* fs_reactor */
#include "hw_child.h"     /* failsoft-mcu as a child */
#include "hw_loop.h"      /* the real-time reactor backend */
#include "hw_serial.h"    /* the serial transport */
#include "mcu/mcu.h"      /* fs_mcu */

#define LEAD_S 0.2
/* The child's plant: a fast heater (200 W into 10 J/K: 20 K/s) and an axis
 * 400 steps above its min endstop. */
static const char *const child_args[] = {
    "--heater", "PA1:PA2,power_w=200,capacity_j_per_k=10",
    "--axis", "step=PB0,dir=PB1,enable=PB2,endstop=PB3,steps_per_mm=80,length_mm=20,position_mm=5",
    NULL,
};

struct host {
    struct hw_child child;
    struct hw_serial *serial;
    struct hw_loop loop;
    struct fs_reactor reactor;
    struct fs_mcu *mcu;
};

static int teardown(void **state);

/* On any failure the child is stopped here: cmocka skips the teardown of a
 * test whose setup failed. */
static int setup(void **state)
{
    static struct host h;
    memset(&h, 0, sizeof(h));
    *state = &h;
    struct fs_error err = {{0}};
    if (hw_child_prepare(&h.child) < 0 || hw_child_start(&h.child, child_args) < 0) {
        fprintf(stderr, "failsoft-mcu did not start\n");
        hw_child_cleanup(&h.child);
        return -1;
    }
    h.serial = hw_serial_open(h.child.link, 250000, &err);
    hw_loop_init(&h.loop);
    struct fs_reactor_backend be = hw_loop_reactor_backend(&h.loop);
    fs_reactor_init(&h.reactor, &be);
    hw_loop_attach_reactor(&h.loop, &h.reactor);
    if (h.serial && hw_loop_add_serial(&h.loop, h.serial, &err) == 0)
        h.mcu = fs_mcu_new(&h.reactor, hw_serial_transport(h.serial), "linux", NULL, &err);
    if (!h.mcu) {
        fprintf(stderr, "%s\n", err.msg);
        teardown(state);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct host *h = *state;
    fs_mcu_free(h->mcu);
    fs_reactor_free(&h->reactor);
    hw_serial_close(h->serial);
    /* A child that crashed or tripped a sanitizer fails its test. */
    int rc = hw_child_stop(&h->child);
    hw_child_cleanup(&h->child);
    if (rc != 0)
        fprintf(stderr, "failsoft-mcu exited with status %d\n", rc);
    return rc == 0 ? 0 : -1;
}

static void connect_mcu(struct host *h)
{
    struct fs_error err;
    if (fs_mcu_connect(h->mcu, 5.0, &err) < 0)
        fail_msg("connect: %s", err.msg);
}

static void configure(struct host *h, const char *const *cmds)
{
    struct fs_error err;
    for (int i = 0; cmds[i]; i++) {
        fs_mcu_create_oid(h->mcu);
        if (fs_mcu_add_config_cmd(h->mcu, &err, "%s", cmds[i]) < 0)
            fail_msg("%s: %s", cmds[i], err.msg);
    }
    if (fs_mcu_configure(h->mcu, 5.0, &err) < 0)
        fail_msg("configure: %s", err.msg);
}

static void send(struct host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send(struct host *h, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct fs_error err;
    if (fs_mcu_send_text(h->mcu, text, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
}

/* The MCU clock (low 32 bits) `ahead_s` from now. */
static uint32_t clock_in(struct host *h, double ahead_s)
{
    double pt = fs_mcu_estimated_print_time(h->mcu, fs_reactor_now(&h->reactor));
    return (uint32_t)fs_mcu_print_time_to_clock(h->mcu, pt + ahead_s);
}

static void run_for(struct host *h, double seconds)
{
    fs_reactor_pause(&h->reactor, fs_reactor_now(&h->reactor) + seconds);
}

static int64_t query(struct host *h, const char *cmd, const char *response, int oid,
                     const char *param)
{
    struct fs_mcu_reply reply;
    struct fs_error err;
    if (fs_mcu_query(h->mcu, cmd, response, oid, &reply, 2.0, &err) < 0)
        fail_msg("%s: %s", cmd, err.msg);
    return fs_msg_get(&reply.msg, param, -1);
}

static void assert_not_shutdown(struct host *h)
{
    const struct fs_mcu_state *st = fs_mcu_state(h->mcu);
    if (st->is_shutdown)
        fail_msg("MCU shut down: %s", st->shutdown_reason);
}

/* ---- identify and clock ---- */

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 18];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof(text) - 1);
    text[n] = '\0';
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    return text;
}

static void test_identify_reads_the_linux_build_dictionary(void **state)
{
    struct host *h = *state;
    connect_mcu(h);
    const struct fs_msgproto *p = fs_mcu_msgproto(h->mcu);
    assert_string_equal(fs_msgproto_app(p), "failsoft");
    assert_string_equal(fs_msgproto_constant_str(p, "MCU"), "linux-sim");
    assert_true(fs_mcu_clock_freq(h->mcu) == 50000000.0);
    /* Every byte of it: the dictionary read over the pty is the one the
     * build generated for this port. */
    assert_string_equal(fs_msgproto_json(p), read_text_file(FW_LINUX_DICT_JSON));
    int32_t pin;
    assert_int_equal(fs_msgproto_enum_value(p, "pin", "PD15", &pin), 0);
    assert_int_equal(pin, 63);
    assert_false(fs_mcu_state(h->mcu)->is_shutdown);
}

static void test_clock_runs_at_clock_freq_against_host_time(void **state)
{
    struct host *h = *state;
    connect_mcu(h);
    struct fs_mcu_reply a, b;
    struct fs_error err;
    assert_int_equal(fs_mcu_query(h->mcu, "get_clock", "clock clock=%u", -1, &a, 2.0, &err), 0);
    run_for(h, 1.0);
    assert_int_equal(fs_mcu_query(h->mcu, "get_clock", "clock clock=%u", -1, &b, 2.0, &err), 0);
    uint32_t ticks = (uint32_t)fs_msg_get(&b.msg, "clock", 0) -
                     (uint32_t)fs_msg_get(&a.msg, "clock", 0);
    double seconds = b.receive_time - a.receive_time;
    assert_true(seconds > 0.9);
    double rate = ticks / seconds;
    /* Receive times carry the scheduling jitter of a loaded host: a few
     * milliseconds over a second. */
    if (fabs(rate / 50e6 - 1.0) > 0.02)
        fail_msg("clock runs at %.0f Hz, not 50 MHz", rate);
}

/* ---- heater and thermistor ---- */

struct adc_probe {
    int reports;
    double last_adc; /* one conversion, from the last sum */
    int sample_count;
};

static void on_analog_in(void *arg, const struct fs_msg *msg, double receive_time)
{
    struct adc_probe *p = arg;
    int values = fs_msgformat_param_index(msg->format, "values");
    uint32_t sum;
    if (values >= 0) {
        int64_t len = msg->values[values];
        if (len < 2)
            return;
        const uint8_t *d = msg->data[values] + len - 2; /* the newest sum */
        sum = (uint32_t)d[0] | (uint32_t)d[1] << 8;
    } else {
        sum = (uint32_t)fs_msg_get(msg, "value", 0);
    }
    p->last_adc = (double)sum / p->sample_count;
    p->reports++;
}

/* The plant's thermistor: 100k NTC, beta 3950, 4.7k pull-up, 12-bit ADC. */
static double adc_to_celsius(double adc)
{
    double r = 4700.0 * adc / (4095.0 - adc);
    return 1.0 / (1.0 / 298.15 + log(r / 100000.0) / 3950.0) - 273.15;
}

static double temperature_now(struct host *h, struct adc_probe *p)
{
    int before = p->reports;
    run_for(h, 0.15);
    if (p->reports == before)
        fail_msg("no analog_in_state for 150 ms");
    return adc_to_celsius(p->last_adc);
}

static void test_heater_switched_on_raises_the_reported_temperature(void **state)
{
    struct host *h = *state;
    connect_mcu(h);
    /* The MCU drops the heater itself if the host goes quiet for 3 s. */
    char heater[128];
    snprintf(heater, sizeof(heater),
             "config_digital_out oid=0 pin=PA1 value=0 default_value=0 max_duration=%u",
             fs_mcu_seconds_to_ticks(h->mcu, 3.0));
    const char *const cmds[] = {heater, "config_analog_in oid=1 pin=PA2", NULL};
    configure(h, cmds);

    struct adc_probe probe = {.sample_count = 8};
    struct fs_error err;
    const struct fs_msgproto *p = fs_mcu_msgproto(h->mcu);
    int legacy = !fs_msgproto_lookup(p, "analog_in_state oid=%c next_clock=%u values=%*s");
    assert_int_equal(fs_mcu_register_response(
                         h->mcu,
                         legacy ? "analog_in_state oid=%c next_clock=%u value=%hu"
                                : "analog_in_state oid=%c next_clock=%u values=%*s",
                         1, on_analog_in, &probe, &err),
                     0);
    /* 8 samples 0.1 ms apart every 20 ms, one sum per report. */
    send(h, "query_analog_in oid=1 clock=%u sample_ticks=5000 sample_count=8 rest_ticks=%u%s"
            " min_value=0 max_value=65535 range_check_count=0",
         clock_in(h, LEAD_S), fs_mcu_seconds_to_ticks(h->mcu, 0.02),
         legacy ? "" : " bytes_per_report=2");
    run_for(h, LEAD_S + 0.1);
    double cold = temperature_now(h, &probe);
    assert_true(cold > 15.0 && cold < 25.0);

    send(h, "queue_digital_out oid=0 clock=%u on_ticks=1", clock_in(h, LEAD_S));
    run_for(h, LEAD_S + 1.5);
    double hot = temperature_now(h, &probe);
    assert_not_shutdown(h);
    /* 1.5 s at 20 K/s, less the loss to the room. */
    if (hot < cold + 15.0)
        fail_msg("heater on for 1.5 s: %.1f C -> %.1f C", cold, hot);

    send(h, "queue_digital_out oid=0 clock=%u on_ticks=0", clock_in(h, LEAD_S));
    run_for(h, LEAD_S + 0.1);
    double off = temperature_now(h, &probe);
    run_for(h, 0.8);
    double later = temperature_now(h, &probe);
    assert_not_shutdown(h);
    /* Switched off, it cools towards the room instead of heating on. */
    if (!(later < off))
        fail_msg("heater off: %.2f C -> %.2f C", off, later);
}

/* ---- stepper and endstop ---- */

static void move(struct host *h, int dir, int count)
{
    send(h, "reset_step_clock oid=0 clock=%u", clock_in(h, LEAD_S));
    send(h, "set_next_step_dir oid=0 dir=%d", dir);
    /* 0.25 ms apart. */
    send(h, "queue_step oid=0 interval=12500 count=%d add=0", count);
    run_for(h, LEAD_S + count * 0.00025 + 0.2);
}

static void test_queued_steps_land_on_exact_position_and_endstop(void **state)
{
    struct host *h = *state;
    connect_mcu(h);
    const char *const cmds[] = {
        "config_stepper oid=0 step_pin=PB0 dir_pin=PB1 invert_step=0 step_pulse_ticks=100",
        "config_digital_out oid=1 pin=PB2 value=0 default_value=1 max_duration=0",
        "config_endstop oid=2 pin=PB3 pull_up=0",
        NULL,
    };
    configure(h, cmds);
    const char *pos_fmt = "stepper_position oid=%c pos=%i";
    const char *es_fmt = "endstop_state oid=%c homing=%c next_clock=%u pin_value=%c";
    assert_int_equal(query(h, "endstop_query_state oid=2", es_fmt, 2, "pin_value"), 0);

    /* 5 mm above the switch at 80 steps/mm: 450 steps down pass it. */
    move(h, 0, 450);
    assert_not_shutdown(h);
    assert_int_equal(query(h, "stepper_get_position oid=0", pos_fmt, 0, "pos"), -450);
    assert_int_equal(query(h, "endstop_query_state oid=2", es_fmt, 2, "pin_value"), 1);

    move(h, 1, 123);
    assert_not_shutdown(h);
    assert_int_equal(query(h, "stepper_get_position oid=0", pos_fmt, 0, "pos"), -327);
    assert_int_equal(query(h, "endstop_query_state oid=2", es_fmt, 2, "pin_value"), 0);
}

/* `reset` restarts the firmware inside the process as a board would
 * reboot: the process keeps running and a new host connection finds the
 * firmware unconfigured and not shut down. */
static void test_reset_restarts_the_firmware_unconfigured(void **state)
{
    struct host *h = *state;
    connect_mcu(h);
    const char *const cmds[] = {
        "config_digital_out oid=0 pin=PA1 value=1 default_value=0 max_duration=0", NULL};
    configure(h, cmds);
    assert_int_equal(query(h, "get_config",
                           "config is_config=%c crc=%u is_shutdown=%c move_count=%hu", -1,
                           "is_config"),
                     1);
    send(h, "reset");
    run_for(h, 0.3);

    struct fs_error err;
    fs_mcu_free(h->mcu);
    h->mcu = fs_mcu_new(&h->reactor, hw_serial_transport(h->serial), "linux", NULL, &err);
    assert_non_null(h->mcu);
    connect_mcu(h);
    assert_false(fs_mcu_state(h->mcu)->is_config);
    assert_false(fs_mcu_state(h->mcu)->is_shutdown);
}

/* ---- the program itself ---- */

static void test_bad_command_lines_are_refused(void **state)
{
    (void)state;
    const char *const same_pin[] = {"--heater", "PA1:PA1", NULL};
    const char *const no_such_pin[] = {"--axis", "step=PE0,dir=PB1", NULL};
    const char *const taken[] = {"--heater", "PA1:PA2", "--axis", "step=PA1,dir=PB1", NULL};
    const char *const no_dir[] = {"--axis", "step=PB0", NULL};
    const char *const bad_number[] = {"--heater", "PA1:PA2,power_w=lots", NULL};
    const char *const help[] = {"--help", NULL};
    assert_int_equal(hw_child_run(same_pin), 2);
    assert_int_equal(hw_child_run(no_such_pin), 2);
    assert_int_equal(hw_child_run(taken), 2);
    assert_int_equal(hw_child_run(no_dir), 2);
    assert_int_equal(hw_child_run(bad_number), 2);
    assert_int_equal(hw_child_run(help), 0);
}

static void test_stale_link_replaced_and_removed_on_sigterm(void **state)
{
    (void)state;
    struct hw_child c;
    assert_int_equal(hw_child_prepare(&c), 0);
    assert_int_equal(symlink("/dev/pts/does-not-exist", c.link), 0);
    assert_int_equal(hw_child_start(&c, NULL), 0);
    struct fs_error err;
    struct hw_serial *s = hw_serial_open(c.link, 250000, &err);
    assert_non_null(s);
    assert_true(hw_serial_uses_termios(s));
    hw_serial_close(s);
    assert_int_equal(hw_child_stop(&c), 0);
    struct stat st;
    assert_int_equal(lstat(c.link, &st), -1);
    hw_child_cleanup(&c);
}

/* CPU seconds the process has used, from /proc/PID/stat. */
static double cpu_seconds(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    /* Fields 14 and 15 (utime, stime) follow the ")" that ends the name. */
    const char *p = strrchr(line, ')');
    assert_non_null(p);
    unsigned long utime = 0, stime = 0;
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &utime, &stime),
                     2);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Idle, with a host connected or not, it sleeps in poll() rather than
 * spinning on a core the host needs. */
static void test_idle_mcu_sleeps(void **state)
{
    struct host *h = *state;
    double before = cpu_seconds(h->child.pid);
    run_for(h, 1.0); /* not connected: the pty is open but silent */
    connect_mcu(h);
    run_for(h, 1.0); /* connected: clock queries only */
    double used = cpu_seconds(h->child.pid) - before;
    if (used > 0.3)
        fail_msg("failsoft-mcu used %.2f s of CPU in 2 s of idling", used);
}

static void test_existing_file_at_link_path_is_left_alone(void **state)
{
    (void)state;
    struct hw_child c;
    assert_int_equal(hw_child_prepare(&c), 0);
    FILE *f = fopen(c.link, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(hw_child_start(&c, NULL), -1);
    struct stat st;
    assert_int_equal(lstat(c.link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    hw_child_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identify_reads_the_linux_build_dictionary,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_runs_at_clock_freq_against_host_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_heater_switched_on_raises_the_reported_temperature,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_steps_land_on_exact_position_and_endstop,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_restarts_the_firmware_unconfigured, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_mcu_sleeps, setup, teardown),
        cmocka_unit_test(test_bad_command_lines_are_refused),
        cmocka_unit_test(test_stale_link_replaced_and_removed_on_sigterm),
        cmocka_unit_test(test_existing_file_at_link_path_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
