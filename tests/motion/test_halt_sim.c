/* The fault action "halt" on the motion side, with the real firmware in the
 * simulator: the motors stop within milliseconds of the halt on every MCU
 * that drives them, the engine then knows where they stopped to the
 * microstep, homing survives on the axes that stay trustworthy, code
 * waiting for the planner is released with an error, and the machine
 * moves exactly again afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strstr */

#include "motion_rig.h"

#include "core/error.h"        /* struct fs_error */
#include "core/reactor.h"      /* fs_timer */
#include "motion/halt.h"       /* fs_toolhead_halt_* */
#include "motion/toolhead.h"   /* fs_toolhead_* */

#define STEP_XY (1.0 / 80.0)
#define STEP_Z (1.0 / 400.0)
#define STEP_E (1.0 / 95.5)
/* "Within a few ms": the stop is three short commands per MCU sent ahead
 * of every queued step, on a 250000-baud line (0.04 ms a byte), plus the
 * block already on the wire. */
#define STOP_LATENCY_MAX_S 0.005

static const char cartesian_cfg[] = MOTION_RIG_CARTESIAN_CFG;

/* cfg_text, or the file at cfg_path when cfg_text is NULL. */
static void build(struct motion_rig *r, const char *cfg_text, const char *cfg_path, int heaters)
{
    struct motion_rig_options o = {
        .cfg_text = cfg_text,
        .cfg_path = cfg_path,
        .seed = 31,
        .heaters = heaters,
    };
    motion_rig_build(r, &o);
}

static void assert_near(double actual, double expected, double tol, const char *what)
{
    if (fabs(actual - expected) > tol)
        fail_msg("%s: %.6f is not within %.6f of %.6f", what, actual, tol, expected);
}

/* The engine's head position against the plant's, to the microstep. */
static void assert_engine_matches_plant(struct motion_rig *r, int with_e)
{
    double engine[4], plant[4];
    fs_toolhead_get_position(r->printer.toolhead, engine);
    sim_printer_position(&r->sp, r->host.world, plant);
    assert_near(engine[0], plant[0], STEP_XY / 2 + 1e-9, "X");
    assert_near(engine[1], plant[1], STEP_XY / 2 + 1e-9, "Y");
    assert_near(engine[2], plant[2], STEP_Z / 2 + 1e-9, "Z");
    if (with_e)
        assert_near(engine[3], plant[3], STEP_E / 2 + 1e-9, "E");
}

/* Runs the world in small steps until the plant's motors have not moved
 * for `quiet_s`; returns when they last moved (host time). */
static double run_until_still(struct motion_rig *r, double quiet_s)
{
    const double dt = 0.0001;
    double last[4], t_moved = sim_host_now(&r->host);
    sim_printer_position(&r->sp, r->host.world, last);
    while (sim_host_now(&r->host) - t_moved < quiet_s) {
        sim_host_run_for(&r->host, dt);
        double now[4];
        sim_printer_position(&r->sp, r->host.world, now);
        for (int i = 0; i < 4; i++)
            if (now[i] != last[i]) {
                t_moved = sim_host_now(&r->host);
                last[i] = now[i];
            }
    }
    return t_moved;
}

static void test_halt_mid_move_stops_at_once_and_keeps_trusted_homing(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, NULL, 0);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X10 Y10 Z1 F6000");
    motion_rig_ok(&r, "M400");
    /* 100 mm at 50 mm/s: two seconds of motion, most of it queued. */
    motion_rig_ok(&r, "G1 X110 Y60 Z3 F3000");
    sim_host_run_for(&r.host, 0.6);
    double before[4];
    sim_printer_position(&r.sp, r.host.world, before);
    assert_true(before[0] > 15.0 && before[0] < 100.0); /* mid-move */
    double t_halt = sim_host_now(&r.host);
    fs_toolhead_halt_now_for(th, "test fault");
    double t_last_step = run_until_still(&r, 0.2);
    double latency = t_last_step - t_halt;
    print_message("halt: last step %.3f ms after the halt\n", latency * 1e3);
    assert_true(latency < STOP_LATENCY_MAX_S);
    double after[4];
    sim_printer_position(&r.sp, r.host.world, after);
    assert_true(after[0] < 100.0); /* it did not run on to the end */
    /* Until the read-back, nothing moves and nothing is planned. */
    assert_int_equal(motion_rig_run(&r, "G1 X50"), -1);
    assert_non_null(strstr(r.err.msg, "halted: test fault"));
    struct fs_toolhead_status st;
    fs_toolhead_get_status(th, &st);
    assert_true(st.halted);
    struct fs_halt_report rep;
    fs_halt_get_report(fs_toolhead_halt_obj(th), 0, &rep);
    assert_true(rep.sent && rep.fired);
    assert_int_equal(rep.steppers, 4);
    /* Y is declared untrustworthy (say its driver reported an error). */
    struct fs_error err = {{0}};
    if (fs_toolhead_halt_finish(th, 0x2, &err) < 0)
        fail_msg("finish: %s", err.msg);
    assert_false(fs_toolhead_is_halted(th));
    assert_engine_matches_plant(&r, 1);
    assert_int_equal(fs_toolhead_homed_axes(th), 0x5);
    assert_int_equal(motion_rig_run(&r, "G1 Y20"), -1);
    assert_non_null(strstr(r.err.msg, "Must home axis first"));
    /* The machine moves exactly again, from where it stopped. */
    motion_rig_ok(&r, "G1 X30.5 Z2.25 F6000");
    motion_rig_ok(&r, "M400");
    double plant[4];
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 30.5, STEP_XY / 2 + 1e-9, "X after");
    assert_near(plant[2], 2.25, STEP_Z / 2 + 1e-9, "Z after");
    assert_near(plant[1], after[1], 1e-9, "Y stays");
    assert_engine_matches_plant(&r, 1);
    motion_rig_ok(&r, "G28 Y");
    motion_rig_ok(&r, "G1 Y40");
    motion_rig_ok(&r, "M400");
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 30.5, STEP_XY / 2 + 1e-9, "X after homing Y");
    assert_near(plant[1], 40.0, STEP_XY / 2 + 1e-9, "Y rehomed");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

struct halt_timer {
    struct fs_timer timer;
    struct fs_toolhead *th;
    double fired_at;
};

static double halt_from_timer(struct fs_timer *t, double eventtime)
{
    struct halt_timer *ht = t->arg;
    ht->fired_at = eventtime;
    fs_toolhead_halt_now_for(ht->th, "from a timer");
    return FS_NEVER;
}

static void arm_halt(struct motion_rig *r, struct halt_timer *ht, double delay)
{
    ht->th = r->printer.toolhead;
    ht->fired_at = -1.0;
    fs_timer_init(&ht->timer, halt_from_timer, ht);
    fs_reactor_timer_set(&r->host.reactor, &ht->timer, sim_host_now(&r->host) + delay);
}

static void test_halt_releases_gcode_waiting_for_the_planner(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, NULL, 0);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "G28");
    /* Slow long moves: after two of them the planner is more than
     * FS_TOOLHEAD_MAX_LEAD_S ahead, and the third G1 waits inside
     * fs_toolhead_move. */
    motion_rig_ok(&r, "G1 X5 F600");
    static struct halt_timer ht;
    arm_halt(&r, &ht, 1.0);
    const char *moves[] = {"G1 X100 F1200", "G1 X10", "G1 X100", "G1 X10", "G1 X100"};
    int refused = -1;
    for (int i = 0; i < 5 && refused < 0; i++)
        if (motion_rig_run(&r, moves[i]) < 0)
            refused = i;
    assert_true(refused >= 1);
    assert_true(ht.fired_at > 0.0);
    assert_non_null(strstr(r.err.msg, "halted: from a timer"));
    struct fs_toolhead_status st;
    fs_toolhead_get_status(th, &st);
    assert_int_equal(st.queued_moves, 0); /* the plan is gone */
    /* Released promptly: the handler returned right after the halt. */
    double waited = sim_host_now(&r.host) - ht.fired_at;
    print_message("halt: G1 released %.3f ms after the halt\n", waited * 1e3);
    assert_true(waited >= 0.0 && waited < 0.01);
    /* M400 during a halt does not wait for motion that will never run. */
    double t0 = sim_host_now(&r.host);
    if (motion_rig_run(&r, "M400") < 0)
        assert_non_null(strstr(r.err.msg, "halted: from a timer"));
    assert_true(sim_host_now(&r.host) - t0 < 0.01);
    assert_int_equal(fs_toolhead_halt_error(th, &r.err), -1);
    run_until_still(&r, 0.1);
    struct fs_error err = {{0}};
    if (fs_toolhead_halt_finish(th, 0, &err) < 0)
        fail_msg("finish: %s", err.msg);
    assert_engine_matches_plant(&r, 0);
    assert_int_equal(fs_toolhead_homed_axes(th), 0x7);
    motion_rig_ok(&r, "G1 X42 F6000");
    motion_rig_ok(&r, "M400");
    double plant[4];
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 42.0, STEP_XY / 2 + 1e-9, "X after");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* A halt in the middle of a homing pass: the pass' own trsync holds the
 * motors, which must be released to the halt's (a stepper can listen to
 * one trsync; a second stepper_stop_on_trigger shuts the MCU down). */
static void test_halt_during_homing_stops_the_pass_without_an_mcu_shutdown(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, NULL, 0);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "G28 Y Z");
    static struct halt_timer ht;
    arm_halt(&r, &ht, 0.5);
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "halted: from a timer"));
    run_until_still(&r, 0.1);
    struct fs_error err = {{0}};
    if (fs_toolhead_halt_finish(th, 0, &err) < 0)
        fail_msg("finish: %s", err.msg);
    assert_int_equal(fs_toolhead_homed_axes(th), 0x6);
    motion_rig_ok(&r, "G28 X");
    motion_rig_ok(&r, "G1 X20 F6000");
    motion_rig_ok(&r, "M400");
    double plant[4];
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 20.0, STEP_XY / 2 + 1e-9, "X after");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* The demo printer: X Y Z on the main board, the extruder on the
 * toolboard. A halt during a printing move stops both boards' motors. */
static void test_halt_stops_the_main_board_and_the_toolboard(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, NULL, FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg", 1);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "M109 S210");
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X20 Y20 Z0.3 F6000");
    motion_rig_ok(&r, "M400");
    /* 150 mm extruding 5 mm at 30 mm/s. */
    motion_rig_ok(&r, "G1 X170 E5 F1800");
    sim_host_run_for(&r.host, 1.5);
    double before[4];
    sim_printer_position(&r.sp, r.host.world, before);
    assert_true(before[0] > 30.0 && before[3] > 0.3);
    double t_halt = sim_host_now(&r.host);
    fs_toolhead_halt_now_for(th, "test fault");
    double latency = run_until_still(&r, 0.2) - t_halt;
    print_message("halt on two boards: last step %.3f ms after the halt\n", latency * 1e3);
    assert_true(latency < STOP_LATENCY_MAX_S);
    assert_int_equal(fs_halt_mcu_count(fs_toolhead_halt_obj(th)), 2);
    for (int i = 0; i < 2; i++) {
        struct fs_halt_report rep;
        fs_halt_get_report(fs_toolhead_halt_obj(th), i, &rep);
        assert_true(rep.sent && rep.fired);
        assert_int_equal(rep.steppers, strcmp(rep.mcu, "toolboard") == 0 ? 1 : 3);
    }
    double after[4];
    sim_printer_position(&r.sp, r.host.world, after);
    assert_true(after[0] < 160.0 && after[3] < 4.7);
    struct fs_error err = {{0}};
    if (fs_toolhead_halt_finish(th, 0, &err) < 0)
        fail_msg("finish: %s", err.msg);
    assert_engine_matches_plant(&r, 1);
    assert_int_equal(fs_toolhead_homed_axes(th), 0x7);
    /* Printing goes on from there, exactly. */
    double e0 = after[3];
    motion_rig_ok(&r, "G91");
    motion_rig_ok(&r, "G1 X10 E1 F1800");
    motion_rig_ok(&r, "G90");
    motion_rig_ok(&r, "M400");
    double plant[4];
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], after[0] + 10.0, STEP_XY + 1e-9, "X after");
    assert_near(plant[3], e0 + 1.0, STEP_E + 1e-9, "E after");
    assert_engine_matches_plant(&r, 1);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

struct gate {
    int closed;
    int asked;
};

static int check_gate(void *arg, struct fs_error *err)
{
    struct gate *g = arg;
    g->asked++;
    if (!g->closed)
        return 0;
    return fs_error_set(err, "motion refused: fault 'test' not acknowledged (FAULT_ACK)");
}

/* The fault module's gate: while it says no, every move and homing is
 * refused with its words and nothing moves; once it says yes, motion is
 * as before. */
static void test_motion_check_refuses_moves_while_it_says_no(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, NULL, 0);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X10 Y10 F6000");
    motion_rig_ok(&r, "M400");
    static struct gate g;
    g.closed = 1;
    fs_toolhead_set_motion_check(th, check_gate, &g);
    assert_int_equal(motion_rig_run(&r, "G1 X50"), -1);
    assert_non_null(strstr(r.err.msg, "not acknowledged (FAULT_ACK)"));
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "not acknowledged (FAULT_ACK)"));
    assert_true(g.asked >= 2);
    assert_int_equal(fs_toolhead_homed_axes(th), 0x7); /* a refused G28 keeps homing */
    sim_host_run_for(&r.host, 1.0);
    double plant[4];
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 10.0, STEP_XY / 2 + 1e-9, "X held");
    g.closed = 0;
    motion_rig_ok(&r, "G1 X50");
    motion_rig_ok(&r, "M400");
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 50.0, STEP_XY / 2 + 1e-9, "X moved");
    fs_toolhead_set_motion_check(th, NULL, NULL);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* The toolboard stops answering just before the halt: the main board's
 * motors stop and are read back; the extruder's position cannot be, which
 * the finish says, and the machine keeps its homing (the extruder is no
 * axis) and moves on the main board. */
static void test_halt_with_the_toolboard_cut_off_still_stops_the_main_board(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, NULL, FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg", 1);
    struct fs_toolhead *th = r.printer.toolhead;
    motion_rig_ok(&r, "M109 S210");
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X20 Y20 Z0.3 F6000");
    motion_rig_ok(&r, "G1 X170 E5 F1800");
    sim_host_run_for(&r.host, 1.0);
    sim_world_wire_set_cut(r.host.world, "toolboard", SIM_WIRE_TO_MCU, 1);
    sim_world_wire_set_cut(r.host.world, "toolboard", SIM_WIRE_TO_HOST, 1);
    double t_halt = sim_host_now(&r.host);
    fs_toolhead_halt_now_for(th, "toolboard lost");
    double x_stop = -1.0, last_x = -1.0;
    for (int i = 0; i < 100; i++) {
        sim_host_run_for(&r.host, 0.0001);
        double pos[4];
        sim_printer_position(&r.sp, r.host.world, pos);
        if (pos[0] != last_x) {
            last_x = pos[0];
            x_stop = sim_host_now(&r.host);
        }
    }
    assert_true(x_stop - t_halt < STOP_LATENCY_MAX_S);
    struct fs_error err = {{0}};
    assert_int_equal(fs_toolhead_halt_finish(th, 0, &err), -1);
    assert_non_null(strstr(err.msg, "halt: position of extruder not read back"));
    assert_false(fs_toolhead_is_halted(th));
    assert_int_equal(fs_toolhead_homed_axes(th), 0x7);
    double engine[4], plant[4];
    fs_toolhead_get_position(th, engine);
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(engine[0], plant[0], STEP_XY / 2 + 1e-9, "X");
    motion_rig_ok(&r, "G1 X50 Y30 F6000");
    motion_rig_ok(&r, "M400");
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_near(plant[0], 50.0, STEP_XY / 2 + 1e-9, "X after");
    assert_near(plant[1], 30.0, STEP_XY / 2 + 1e-9, "Y after");
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "mcu"));
    motion_rig_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halt_mid_move_stops_at_once_and_keeps_trusted_homing),
        cmocka_unit_test(test_halt_releases_gcode_waiting_for_the_planner),
        cmocka_unit_test(test_halt_during_homing_stops_the_pass_without_an_mcu_shutdown),
        cmocka_unit_test(test_halt_stops_the_main_board_and_the_toolboard),
        cmocka_unit_test(test_halt_with_the_toolboard_cut_off_still_stops_the_main_board),
        cmocka_unit_test(test_motion_check_refuses_moves_while_it_says_no),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
