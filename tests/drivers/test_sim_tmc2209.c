/* TMC2209 drivers end to end in the simulator: the reference printer
 * (demo_cartesian.cfg) with [tmc2209] sections for X, Y (one shared wire,
 * addresses 0 and 1) and Z (separate tx and rx pins), the real firmware
 * bit-banging the UART, and the chip models answering. The host sets the
 * chips up (every write confirmed by IFCNT), then watches them; a fault
 * injected into a chip reaches the fault module within the polling period
 * with the bits named, the motor of a tripped driver stops moving, and
 * FAULT_CLEAR is refused until the chip is healthy again. */
#include <setjmp.h> /* jmp_buf, for cmocka */
#include <stdarg.h> /* va_list, for cmocka */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint32_t */

#include <cmocka.h> /* assert_*, cmocka_unit_test */

#include <stdio.h>  /* fopen, fread */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* strstr, memset */

#include "config/config.h"    /* fs_config_load_string */
#include "core/error.h"       /* struct fs_error */
#include "drivers/tmc2209.h"  /* fs_tmc_drivers_* */
#include "fault/fault.h"      /* fs_faults_* */
#include "gcode/gcode.h"      /* fs_gcode_* */
#include "mcu/mcu.h"          /* fs_mcu_configure */
#include "motion/gcode_move.h" /* fs_gcode_move_new */
#include "motion/halt.h"      /* fs_toolhead_halt_* */
#include "motion/homing.h"    /* fs_homing_new */
#include "motion/stepper.h"   /* fs_stepsync_free */
#include "motion/toolhead.h"  /* fs_toolhead_* */
#include "plant_axis.h"       /* plant_axis_is_enabled */
#include "plant_tmc2209.h"    /* the chip models */
#include "printer/printer.h"  /* struct fs_printer */
#include "sim_inject.h"       /* sim_inject_mcu */
#include "sim_printer.h"      /* sim_printer_build */
#include "sim_printer_drivers.h" /* sim_printer_driver */
#include "thermal/heaters.h"  /* fs_heaters_new */

static const char drivers_cfg[] =
    "\n[tmc2209 stepper_x]\n"
    "uart_pin: PD0\n"
    "run_current: 0.8\n"
    "hold_current: 0.5\n"
    "sense_resistor: 0.110\n"
    "stealthchop_threshold: 0\n"
    "\n[tmc2209 stepper_y]\n"
    "uart_pin: PD0\n"
    "uart_address: 1\n"
    "run_current: 0.8\n"
    "stealthchop_threshold: 100\n"
    "interpolate: False\n"
    "\n[tmc2209 stepper_z]\n"
    "uart_pin: ^PD1\n"
    "tx_pin: PD2\n"
    "run_current: 0.6\n"
    "driver_TOFF: 4\n";

struct rig {
    struct sim_host host;
    struct sim_printer sp;
    struct fs_config *cfg;
    struct fs_printer printer;
    struct fs_tmc_drivers *tmc;
    char *text;
    int halts;
    unsigned untrusted;
    int finished_halts;
    char output[4096];
    struct fs_error err;
};

static void on_output(void *arg, const char *text)
{
    struct rig *r = arg;
    size_t len = strlen(r->output);
    snprintf(r->output + len, sizeof(r->output) - len, "%s\n", text);
}

/* The printer's side of a halt, as the printer module does it: the
 * toolhead stops now, and reads the motors back afterwards. */
static void act_halt_motion(void *arg)
{
    struct rig *r = arg;
    r->halts++;
    fs_toolhead_halt_now(r->printer.toolhead);
}

static int act_finish_halt(void *arg, unsigned untrusted_axes, struct fs_error *err)
{
    struct rig *r = arg;
    r->finished_halts++;
    r->untrusted |= untrusted_axes;
    return fs_toolhead_halt_finish(r->printer.toolhead, untrusted_axes, err);
}

static unsigned act_homed_axes(void *arg)
{
    struct rig *r = arg;
    return fs_toolhead_homed_axes(r->printer.toolhead);
}

static char *config_text(void)
{
    FILE *f = fopen(FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg", "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - sizeof(drivers_cfg) - 1, f);
    fclose(f);
    memcpy(buf + n, drivers_cfg, sizeof(drivers_cfg));
    return buf;
}

static void build(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    struct fs_printer *p = &r->printer;
    struct fs_fault_policy_config pc;
    if (sim_host_init(h, 7, NULL, &err) < 0 ||
        fs_config_load_string(config_text(), "printer.cfg", &r->cfg, &err) < 0 ||
        sim_printer_build(h, r->cfg, &r->sp, &err) < 0 || sim_host_connect(h, 5.0, &err) < 0 ||
        fs_fault_policy_read(r->cfg, &pc, &err) < 0 ||
        !(p->faults = fs_faults_new(&h->reactor, NULL, &pc, &err)))
        fail_msg("setup: %s", err.msg);
    struct fs_fault_actions a = {
        .arg = r,
        .halt_motion = act_halt_motion,
        .finish_halt = act_finish_halt,
        .homed_axes = act_homed_axes,
    };
    fs_faults_set_actions(p->faults, &a);
    p->reactor = &h->reactor;
    p->config = r->cfg;
    p->gcode = fs_gcode_new(&err);
    assert_non_null(p->gcode);
    fs_gcode_set_output(p->gcode, on_output, r);
    if (fs_faults_register_gcode(p->faults, p->gcode, &err) < 0)
        fail_msg("fault G-code: %s", err.msg);
    for (int i = 0; i < h->mcu_count; i++)
        p->mcus[p->mcu_count++] = h->mcus[i];
    if (!(p->heaters = fs_heaters_new(p, &err)) || !(p->toolhead = fs_toolhead_new(p, &err)) ||
        !(p->homing = fs_homing_new(p->toolhead, &err)) ||
        !(p->gcode_move = fs_gcode_move_new(p->toolhead, p->gcode, &err)))
        fail_msg("modules: %s", err.msg);
    if (!(r->tmc = fs_tmc_drivers_new(p, &err)))
        fail_msg("tmc2209: %s", err.msg);
    for (int i = 0; i < p->mcu_count; i++)
        if (fs_mcu_configure(p->mcus[i], 5.0, &err) < 0)
            fail_msg("configure: %s", err.msg);
}

static void destroy(struct rig *r)
{
    struct fs_printer *p = &r->printer;
    fs_tmc_drivers_free(r->tmc);
    fs_gcode_move_free(p->gcode_move);
    fs_homing_free(p->homing);
    fs_toolhead_free(p->toolhead);
    fs_heaters_free(p->heaters);
    for (int i = 0; i < p->mcu_count; i++)
        fs_stepsync_free(p->stepsyncs[i]);
    fs_gcode_free(r->printer.gcode);
    fs_faults_free(r->printer.faults);
    sim_host_free(&r->host);
    fs_config_free(r->cfg);
}

static struct plant_tmc2209 *chip(struct rig *r, const char *stepper)
{
    struct plant_tmc2209 *c = sim_printer_driver(&r->sp, stepper);
    assert_non_null(c);
    return c;
}

static struct fs_tmc2209 *driver(struct rig *r, const char *stepper)
{
    struct fs_tmc2209 *t = fs_tmc_drivers_lookup(r->tmc, stepper);
    assert_non_null(t);
    return t;
}

/* The newest record of a source and kind, or NULL. */
static const struct fs_fault_record *find_record(struct rig *r, const char *source,
                                                 enum fs_fault_kind kind)
{
    for (int i = fs_faults_record_count(r->printer.faults) - 1; i >= 0; i--) {
        const struct fs_fault_record *rec = fs_faults_record_at(r->printer.faults, i);
        if (!strcmp(rec->source, source) && rec->kind == kind)
            return rec;
    }
    return NULL;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' does not say '%s'", text, part);
}

static int run_gcode(struct rig *r, const char *line)
{
    fs_error_clear(&r->err);
    r->output[0] = 0;
    return fs_gcode_run_line(r->printer.gcode, line, "test", &r->err);
}

/* The chip's registers after start-up are what the configuration asks for:
 * 16 microsteps, currents from sense_resistor, spreadCycle or stealthChop
 * by the threshold, every write counted once by the chip. */
static void test_drivers_are_set_up_at_start(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    const char *names[] = {"stepper_x", "stepper_y", "stepper_z"};
    for (int i = 0; i < 3; i++) {
        struct plant_tmc2209 *c = chip(&r, names[i]);
        struct fs_tmc2209 *t = driver(&r, names[i]);
        assert_true(fs_tmc2209_is_ready(t));
        /* GSTAT cleared, then GCONF CHOPCONF IHOLD_IRUN TPOWERDOWN
         * TPWMTHRS PWMCONF: 7 writes, none repeated. */
        assert_int_equal(plant_tmc2209_ifcnt(c), 7);
        assert_int_equal(c->stats.crc_errors, 0);
        assert_int_equal(plant_tmc2209_read(c, PLANT_TMC_GSTAT), 0);
        const uint8_t regs[] = {PLANT_TMC_GCONF,      PLANT_TMC_CHOPCONF, PLANT_TMC_IHOLD_IRUN,
                                PLANT_TMC_TPOWERDOWN, PLANT_TMC_TPWMTHRS, PLANT_TMC_PWMCONF};
        for (size_t k = 0; k < sizeof(regs); k++)
            assert_int_equal(c->regs[regs[k]], fs_tmc2209_written(t, regs[k]));
        assert_int_equal((c->regs[PLANT_TMC_CHOPCONF] >> 24) & 0xf, 4); /* MRES: 16 */
        assert_int_equal(c->regs[PLANT_TMC_PWMCONF], 0xc80d0e24);
        assert_int_equal(c->regs[PLANT_TMC_TPOWERDOWN], 20);
        assert_true(plant_tmc2209_outputs_enabled(c));
    }
    struct plant_tmc2209 *x = chip(&r, "stepper_x"), *y = chip(&r, "stepper_y"),
                         *z = chip(&r, "stepper_z");
    /* X: spreadCycle (threshold 0), pdn_disable, mstep_reg_select,
     * multistep_filt; 0.8 A on 0.11 ohm: vsense 1, IRUN 25, IHOLD 15. */
    assert_int_equal(x->regs[PLANT_TMC_GCONF], 0x1c4);
    assert_int_equal(x->regs[PLANT_TMC_TPWMTHRS], 0);
    assert_true(x->regs[PLANT_TMC_CHOPCONF] & (1u << 17));
    assert_true(x->regs[PLANT_TMC_CHOPCONF] & (1u << 28)); /* interpolate */
    assert_int_equal(x->regs[PLANT_TMC_IHOLD_IRUN], 0x0008190f);
    /* Y: stealthChop below 100 mm/s: TSTEP at 100 mm/s is 12 MHz * 0.0125
     * mm / 16 / 100 mm/s = 93 (1/256-microstep clocks); no interpolation. */
    assert_int_equal(y->regs[PLANT_TMC_GCONF], 0x1c0);
    assert_int_equal(y->regs[PLANT_TMC_TPWMTHRS], 93);
    assert_false(y->regs[PLANT_TMC_CHOPCONF] & (1u << 28));
    /* Z: driver_TOFF override. */
    assert_int_equal(z->regs[PLANT_TMC_CHOPCONF] & 0xf, 4);
    assert_int_equal(x->regs[PLANT_TMC_CHOPCONF] & 0xf, 3);
    destroy(&r);
}

/* Two reads per driver per second once set up: cheap enough to leave on
 * during a print. */
static void test_status_is_read_twice_a_second(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    unsigned long before = fs_tmc2209_transfers(driver(&r, "stepper_z"));
    sim_host_run_for(&r.host, 10.0);
    unsigned long n = fs_tmc2209_transfers(driver(&r, "stepper_z")) - before;
    assert_true(n >= 18 && n <= 22);
    uint32_t v;
    assert_int_equal(fs_tmc2209_last_read(driver(&r, "stepper_z"), PLANT_TMC_DRV_STATUS, &v), 0);
    assert_true(v & PLANT_TMC_STST);
    assert_int_equal(fs_faults_record_count(r.printer.faults), 0);
    destroy(&r);
}

/* The acceptance path: an over-temperature on X in the middle of a move
 * trips the chip (its motor takes no more steps at once) and is a
 * driver_error of "tmc2209 stepper_x" within the polling period, naming
 * the bits; its warning is reported too; the halt unhomes X and keeps Y
 * and Z homed; FAULT_CLEAR is refused while the chip is hot and works once
 * it has cooled, giving the motor back. */
static void test_over_temperature_on_x_is_a_driver_error(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    if (run_gcode(&r, "G28") < 0 || run_gcode(&r, "G1 X20 Y20 Z5 F6000") < 0 ||
        run_gcode(&r, "M400") < 0)
        fail_msg("homing: %s", r.err.msg);
    unsigned all = FS_FAULT_AXIS_X | FS_FAULT_AXIS_Y | FS_FAULT_AXIS_Z;
    assert_int_equal(fs_toolhead_homed_axes(r.printer.toolhead), all);
    struct plant_tmc2209 *x = chip(&r, "stepper_x");
    struct plant_axis *ax = sim_world_axis(r.host.world, sim_printer_axis(&r.sp, "stepper_x"));
    struct plant_axis *ay = sim_world_axis(r.host.world, sim_printer_axis(&r.sp, "stepper_y"));
    assert_true(plant_axis_is_enabled(ax));

    if (run_gcode(&r, "G1 X200 Y150 F3000") < 0) /* 3.6 s at 50 mm/s */
        fail_msg("G1: %s", r.err.msg);
    sim_host_run_for(&r.host, 1.0);
    uint64_t x_steps = ax->step_count, y_steps = ay->step_count;
    assert_true(x_steps > 0);
    double t0 = sim_host_now(&r.host);
    plant_tmc2209_set_conditions(x, PLANT_TMC_OT | PLANT_TMC_OTPW);
    assert_false(plant_axis_is_enabled(ax)); /* the chip's outputs are off */
    assert_true(plant_axis_is_enabled(ay));
    const struct fs_fault_record *rec = NULL;
    while (!rec && sim_host_now(&r.host) < t0 + 1.2) {
        sim_host_run_for(&r.host, 0.02);
        rec = find_record(&r, "tmc2209 stepper_x", FS_FAULT_DRIVER_ERROR);
    }
    assert_non_null(rec);
    assert_true(rec->time - t0 <= 1.1);
    assert_contains(rec->evidence, "ot ");
    assert_contains(rec->evidence, "drv_err");
    assert_contains(rec->evidence, "DRV_STATUS=0x");
    const struct fs_fault_record *warn =
        find_record(&r, "tmc2209 stepper_x", FS_FAULT_DRIVER_WARNING);
    assert_non_null(warn);
    assert_contains(warn->evidence, "otpw");
    assert_null(find_record(&r, "tmc2209 stepper_y", FS_FAULT_DRIVER_ERROR));
    /* X's motor ignored the steps sent after the trip; Y kept moving. */
    assert_int_equal(ax->step_count, x_steps);
    assert_true(ax->ignored_steps > 0);
    assert_true(ay->step_count > y_steps);

    struct fs_fault_source *src = fs_faults_lookup(r.printer.faults, "tmc2209 stepper_x");
    assert_non_null(src);
    assert_int_equal(fs_fault_source_class(src), FS_FAULT_CLASS_DRIVER);
    assert_int_equal(fs_fault_source_action(src, FS_FAULT_DRIVER_ERROR), FS_FAULT_HALT);
    assert_true(r.halts >= 1);
    fs_faults_run_deferred(r.printer.faults);
    assert_true(r.finished_halts >= 1);
    assert_int_equal(r.untrusted, FS_FAULT_AXIS_X);
    assert_int_equal(fs_toolhead_homed_axes(r.printer.toolhead),
                     FS_FAULT_AXIS_Y | FS_FAULT_AXIS_Z);
    /* Raised once, not once a second. */
    int records = fs_faults_record_count(r.printer.faults);
    sim_host_run_for(&r.host, 3.0);
    assert_int_equal(fs_faults_record_count(r.printer.faults), records);

    struct fs_error err = {{0}};
    assert_int_equal(fs_faults_clear(r.printer.faults, src, &err), -1);
    assert_contains(err.msg, "ot");
    plant_tmc2209_set_conditions(x, 0); /* cooled down */
    assert_false(plant_tmc2209_outputs_enabled(x)); /* drv_err still latched */
    fs_error_clear(&err);
    if (fs_faults_clear(r.printer.faults, src, &err) < 0)
        fail_msg("clear: %s", err.msg);
    assert_true(plant_tmc2209_outputs_enabled(x));
    assert_false(fs_fault_source_is_faulted(src));
    destroy(&r);
}

/* A driver that lost power comes back with its defaults: a driver_error
 * naming the reset, and FAULT_CLEAR writes the settings again. */
static void test_unexpected_reset_and_reinit(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    struct plant_tmc2209 *y = chip(&r, "stepper_y");
    uint32_t chopconf = y->regs[PLANT_TMC_CHOPCONF];
    plant_tmc2209_reset(y);
    assert_int_not_equal(y->regs[PLANT_TMC_CHOPCONF], chopconf);
    sim_host_run_for(&r.host, 1.1);
    const struct fs_fault_record *rec = find_record(&r, "tmc2209 stepper_y", FS_FAULT_DRIVER_ERROR);
    assert_non_null(rec);
    assert_contains(rec->evidence, "reset");
    assert_null(find_record(&r, "tmc2209 stepper_x", FS_FAULT_DRIVER_ERROR));
    struct fs_error err = {{0}};
    if (fs_faults_clear(r.printer.faults, fs_faults_lookup(r.printer.faults, "tmc2209 stepper_y"),
                        &err) < 0)
        fail_msg("clear: %s", err.msg);
    assert_int_equal(y->regs[PLANT_TMC_CHOPCONF], chopconf);
    assert_int_equal(plant_tmc2209_read(y, PLANT_TMC_GSTAT), 0);
    destroy(&r);
}

/* Open load is believed only while the motor moves. */
static void test_open_load_at_standstill_is_not_reported(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    plant_tmc2209_set_conditions(chip(&r, "stepper_z"), PLANT_TMC_OLA);
    sim_host_run_for(&r.host, 2.0);
    assert_null(find_record(&r, "tmc2209 stepper_z", FS_FAULT_DRIVER_WARNING));
    plant_tmc2209_set_conditions(chip(&r, "stepper_z"), PLANT_TMC_S2GA);
    sim_host_run_for(&r.host, 1.1);
    const struct fs_fault_record *rec = find_record(&r, "tmc2209 stepper_z", FS_FAULT_DRIVER_ERROR);
    assert_non_null(rec);
    assert_contains(rec->evidence, "s2ga");
    destroy(&r);
}

/* A driver that does not answer (here: strapped to another node address
 * than the configuration says) is a driver_error naming the wire, and is
 * not set up; the other driver on the same wire is. Set-up is retried
 * every second until it answers. */
static void test_silent_driver_is_reported(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    /* Before the MCU's first transfer (the set-up starts after configure,
     * 200 us later on the wire). */
    chip(&r, "stepper_y")->address = 3;
    sim_host_run_for(&r.host, 1.0);
    const struct fs_fault_record *rec = find_record(&r, "tmc2209 stepper_y", FS_FAULT_DRIVER_ERROR);
    assert_non_null(rec);
    assert_contains(rec->evidence, "no answer");
    assert_contains(rec->evidence, "PD0");
    assert_false(fs_tmc2209_is_ready(driver(&r, "stepper_y")));
    assert_true(fs_tmc2209_is_ready(driver(&r, "stepper_x")));
    assert_int_equal(plant_tmc2209_ifcnt(chip(&r, "stepper_y")), 0);
    assert_null(find_record(&r, "tmc2209 stepper_x", FS_FAULT_DRIVER_ERROR));
    /* It answers again (say, its motor supply came on): it is set up at
     * the next poll, and the fault is reported once. */
    int records = fs_faults_record_count(r.printer.faults);
    chip(&r, "stepper_y")->address = 1;
    sim_host_run_for(&r.host, 1.5);
    assert_true(fs_tmc2209_is_ready(driver(&r, "stepper_y")));
    assert_int_equal(plant_tmc2209_ifcnt(chip(&r, "stepper_y")), 7);
    assert_int_equal(fs_faults_record_count(r.printer.faults), records);
    destroy(&r);
}

static void test_dump_tmc_prints_the_registers(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    plant_tmc2209_set_conditions(chip(&r, "stepper_x"), PLANT_TMC_OTPW);
    if (run_gcode(&r, "DUMP_TMC STEPPER=stepper_x") < 0)
        fail_msg("DUMP_TMC: %s", r.err.msg);
    assert_contains(r.output, "GCONF");
    assert_contains(r.output, "000001c4");
    assert_contains(r.output, "IHOLD_IRUN");
    assert_contains(r.output, "0008190f");
    assert_contains(r.output, "IOIN");
    assert_contains(r.output, "otpw=1");
    assert_int_equal(run_gcode(&r, "DUMP_TMC STEPPER=stepper_q"), -1);
    assert_contains(r.err.msg, "stepper_q");
    destroy(&r);
}

/* SET_TMC_CURRENT writes IHOLD_IRUN (one write, counted by the chip);
 * INIT_TMC writes every setting again after the chip lost them. */
static void test_set_tmc_current_and_init_tmc(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    struct plant_tmc2209 *x = chip(&r, "stepper_x");
    if (run_gcode(&r, "SET_TMC_CURRENT STEPPER=stepper_x CURRENT=0.6 HOLDCURRENT=0.3") < 0)
        fail_msg("SET_TMC_CURRENT: %s", r.err.msg);
    assert_int_equal(plant_tmc2209_ifcnt(x), 8);
    /* vsense 1 (0.18 V), 0.13 ohm: 0.6 A is CS 19, 0.3 A is CS 9. */
    assert_int_equal(x->regs[PLANT_TMC_IHOLD_IRUN], 0x00081309);
    assert_contains(r.output, "run_current: 0.6");
    uint32_t chopconf = x->regs[PLANT_TMC_CHOPCONF];
    plant_tmc2209_reset(x);
    if (run_gcode(&r, "INIT_TMC STEPPER=stepper_x") < 0)
        fail_msg("INIT_TMC: %s", r.err.msg);
    assert_int_equal(x->regs[PLANT_TMC_CHOPCONF], chopconf);
    assert_int_equal(x->regs[PLANT_TMC_IHOLD_IRUN], 0x00081309); /* the new currents */
    assert_int_equal(run_gcode(&r, "SET_TMC_CURRENT STEPPER=stepper_x CURRENT=3"), -1);
    destroy(&r);
}

/* A shut-down MCU carries no transfers, and its drivers' silence is not
 * reported as theirs (the MCU's shutdown is the fault). */
static void test_no_polling_through_a_shut_down_mcu(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    sim_host_run_for(&r.host, 0.5);
    struct fs_error err = {{0}};
    if (fs_mcu_send_text(fs_printer_mcu(&r.printer, "mcu"), "emergency_stop", &err) < 0)
        fail_msg("emergency_stop: %s", err.msg);
    sim_host_run_for(&r.host, 0.5);
    unsigned long before = fs_tmc2209_transfers(driver(&r, "stepper_x"));
    sim_host_run_for(&r.host, 3.0);
    assert_int_equal(fs_tmc2209_transfers(driver(&r, "stepper_x")), before);
    assert_null(find_record(&r, "tmc2209 stepper_x", FS_FAULT_DRIVER_ERROR));
    destroy(&r);
}

/* X and Y share a wire. With X over-temperature and the main board's link
 * losing bytes (late commands, transfers timing out and retried), a reply
 * must never be taken for the other driver's: Y is healthy and must not be
 * reported with X's bits (a halt of the wrong axis). */
static void test_a_late_reply_is_not_taken_for_the_other_driver(void **state)
{
    (void)state;
    static struct rig r;
    build(&r);
    plant_tmc2209_set_conditions(chip(&r, "stepper_x"), PLANT_TMC_OT);
    sim_host_run_for(&r.host, 3.0);
    assert_non_null(find_record(&r, "tmc2209 stepper_x", FS_FAULT_DRIVER_ERROR));
    assert_null(find_record(&r, "tmc2209 stepper_y", FS_FAULT_DRIVER_ERROR));
    struct sim_mcu_fault f = {.kind = SIM_MCU_DROP,
                              .duration_ns = 60000000000LL,
                              .dirs = SIM_LINK_TO_MCU_ONLY,
                              .probability = 0.05};
    struct fs_error err = {{0}};
    if (sim_inject_mcu(r.host.world, "mcu", &f, &err) < 0)
        fail_msg("%s", err.msg);
    sim_host_run_for(&r.host, 60.0);
    for (int i = 0; i < fs_faults_record_count(r.printer.faults); i++) {
        const struct fs_fault_record *rec = fs_faults_record_at(r.printer.faults, i);
        if (strcmp(rec->source, "tmc2209 stepper_y"))
            continue;
        if (strstr(rec->evidence, "ot ") || strstr(rec->evidence, "drv_err"))
            fail_msg("Y blamed for X's state: %s", rec->evidence);
    }
    destroy(&r);
}

static void test_unsupported_options_are_refused_by_name(void **state)
{
    (void)state;
    struct fs_error err = {{0}};
    struct fs_config *cfg;
    static const char text[] = "[mcu]\nserial: /dev/null\n"
                               "[stepper_x]\nstep_pin: PB0\ndir_pin: PB1\nmicrosteps: 16\n"
                               "rotation_distance: 40\n"
                               "[tmc2209 stepper_x]\nuart_pin: PD0\nrun_current: 0.8\n"
                               "driver_SEMIN: 2\n";
    assert_int_equal(fs_config_load_string(text, "printer.cfg", &cfg, &err), 0);
    struct fs_printer p;
    memset(&p, 0, sizeof(p));
    p.config = cfg;
    assert_null(fs_tmc_drivers_new(&p, &err));
    assert_contains(err.msg, "printer.cfg:");
    assert_contains(err.msg, "driver_semin");
    fs_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drivers_are_set_up_at_start),
        cmocka_unit_test(test_status_is_read_twice_a_second),
        cmocka_unit_test(test_over_temperature_on_x_is_a_driver_error),
        cmocka_unit_test(test_unexpected_reset_and_reinit),
        cmocka_unit_test(test_open_load_at_standstill_is_not_reported),
        cmocka_unit_test(test_silent_driver_is_reported),
        cmocka_unit_test(test_dump_tmc_prints_the_registers),
        cmocka_unit_test(test_set_tmc_current_and_init_tmc),
        cmocka_unit_test(test_no_polling_through_a_shut_down_mcu),
        cmocka_unit_test(test_a_late_reply_is_not_taken_for_the_other_driver),
        cmocka_unit_test(test_unsupported_options_are_refused_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
