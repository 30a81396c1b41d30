/* The motion stack end to end in the simulator, with the real firmware in
 * the loop: G-code in, steps on the wire, motors in the plant. What a
 * person checks on a new printer: homing lands on the switches, a square
 * closes where it started, corexy moves the head where it was told, bad
 * moves are refused without breaking anything, the MCU is never handed a
 * step in the past, arcs end on their end point, M114 says where the head
 * is. */
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
#include "mcu/mcu.h"           /* fs_mcu_state */
#include "motion/toolhead.h"   /* fs_toolhead_* */

#define STEPS_PER_MM_XY 80.0
#define STEPS_PER_MM_Z 400.0

static const char cartesian_cfg[] = MOTION_RIG_CARTESIAN_CFG "pressure_advance: 0.04\n";

static const char corexy_cfg[] =
    "[printer]\n"
    "kinematics: corexy\n"
    "max_velocity: 300\n"
    "max_accel: 3000\n"
    "max_z_velocity: 15\n"
    "max_z_accel: 100\n"
    "[mcu]\n"
    "serial: /dev/null\n"
    "[stepper_x]\n"
    "step_pin: PB0\ndir_pin: PB1\nenable_pin: !PB2\nendstop_pin: ^PB3\n"
    "microsteps: 16\nrotation_distance: 40\n"
    "position_endstop: 100\nposition_max: 100\nhoming_speed: 50\nsecond_homing_speed: 10\n"
    "[stepper_y]\n"
    "step_pin: PB4\ndir_pin: PB5\nenable_pin: !PB6\nendstop_pin: ^PB7\n"
    "microsteps: 16\nrotation_distance: 40\n"
    "position_endstop: 100\nposition_max: 100\nhoming_speed: 50\nsecond_homing_speed: 10\n"
    "[stepper_z]\n"
    "step_pin: PB8\ndir_pin: PB9\nenable_pin: !PB10\nendstop_pin: ^PB11\n"
    "microsteps: 16\nrotation_distance: 8\n"
    "position_endstop: 0\nposition_max: 50\nhoming_speed: 10\n"
    "homing_retract_dist: 2\nsecond_homing_speed: 2\n";

static const char heated_extruder_cfg[] = MOTION_RIG_HEATED_EXTRUDER_CFG;

static void build_reserving(struct motion_rig *r, const char *cfg_text, uint64_t seed,
                            int heaters, int reserved_slots)
{
    struct motion_rig_options o = {
        .cfg_text = cfg_text,
        .seed = seed,
        .heaters = heaters,
        .firmware_retraction = 1,
        .reserved_slots = reserved_slots,
    };
    motion_rig_build(r, &o);
}

static void build_with(struct motion_rig *r, const char *cfg_text, uint64_t seed, int heaters)
{
    build_reserving(r, cfg_text, seed, heaters, 0);
}

static void build(struct motion_rig *r, const char *cfg_text, uint64_t seed)
{
    build_with(r, cfg_text, seed, 0);
}

static double plant_mm(struct motion_rig *r, const char *stepper)
{
    int id = sim_printer_axis(&r->sp, stepper);
    assert_true(id >= 0);
    return sim_world_axis_position_mm(r->host.world, id);
}

static void assert_near(double actual, double expected, double tol)
{
    if (fabs(actual - expected) > tol)
        fail_msg("%.6f is not within %.6f of %.6f", actual, tol, expected);
}

static void assert_plant_at(struct motion_rig *r, double x, double y, double z)
{
    double pos[4];
    sim_printer_position(&r->sp, r->host.world, pos);
    /* One microstep of each motor (corexy: of both). */
    assert_near(pos[0], x, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_near(pos[1], y, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_near(pos[2], z, 1.0 / STEPS_PER_MM_Z + 1e-9);
}

static void test_g28_homes_x_and_y_onto_their_endstops(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 11);
    assert_true(plant_mm(&r, "stepper_x") > 10.0); /* starts away from the switch */
    motion_rig_ok(&r, "G28 X Y");
    assert_int_equal(fs_toolhead_homed_axes(r.printer.toolhead), 0x3);
    assert_near(plant_mm(&r, "stepper_x"), 0.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_near(plant_mm(&r, "stepper_y"), 0.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    motion_rig_ok(&r, "M114");
    assert_non_null(strstr(r.last_output, "X:0.000 Y:0.000"));
    /* A G92 shift does not survive homing that axis again. */
    motion_rig_ok(&r, "G1 X10 Y10 F6000");
    motion_rig_ok(&r, "G92 X0 Y0");
    motion_rig_ok(&r, "G28 X");
    motion_rig_ok(&r, "M114");
    assert_non_null(strstr(r.last_output, "X:0.000 Y:0.000"));
    motion_rig_ok(&r, "G1 X20 Y5");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "stepper_x"), 20.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_near(plant_mm(&r, "stepper_y"), 15.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    /* Z was not asked for. */
    assert_int_equal(motion_rig_run(&r, "G1 Z5"), -1);
    assert_non_null(strstr(r.err.msg, "Must home axis first"));
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_square_of_moves_closes_where_commanded(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 12);
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X10 Y10 Z1 F6000");
    for (int lap = 0; lap < 3; lap++) {
        motion_rig_ok(&r, "G1 X90 Y10");
        motion_rig_ok(&r, "G1 X90 Y90");
        motion_rig_ok(&r, "G1 X10 Y90");
        motion_rig_ok(&r, "G1 X10 Y10");
    }
    motion_rig_ok(&r, "M400");
    assert_plant_at(&r, 10.0, 10.0, 1.0);
    motion_rig_ok(&r, "G1 X55.55 Y33.3 Z2.5 E3 F3000");
    motion_rig_ok(&r, "M400");
    assert_plant_at(&r, 55.55, 33.3, 2.5);
    assert_near(plant_mm(&r, "extruder"), 3.0, 2.0 / 95.5);
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:55.550 Y:33.300 Z:2.500 E:3.000");
    struct fs_toolhead_status st;
    fs_toolhead_get_status(r.printer.toolhead, &st);
    assert_string_equal(st.homed, "xyz");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_no_trigger_after_full_movement_when_the_switch_is_broken(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 13);
    sim_world_switch_set_stuck_open(r.host.world, r.sp.switch_ids[0], 1);
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "No trigger on x after full movement"));
    assert_int_equal(fs_toolhead_homed_axes(r.printer.toolhead) & 1u, 0);
    assert_int_equal(motion_rig_run(&r, "G1 X10"), -1);
    assert_non_null(strstr(r.err.msg, "Must home axis first"));
    /* The rest of the machine is still usable. */
    motion_rig_ok(&r, "G28 Y");
    motion_rig_ok(&r, "G1 Y30 F6000");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "stepper_y"), 30.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    /* The plant has no frame to stop the carriage: it ran far past the
     * switch, so once repaired the switch is pressed from the start and
     * stays pressed after the retract. */
    sim_world_switch_set_stuck_open(r.host.world, r.sp.switch_ids[0], 0);
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "Endstop x still triggered after retract"));
    assert_int_equal(fs_toolhead_homed_axes(r.printer.toolhead), 0x2);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_move_out_of_range_is_refused_and_the_machine_still_moves(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 14);
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X20 Y20 F6000");
    assert_int_equal(motion_rig_run(&r, "G1 X250 Y10 Z0.3 E1"), -1);
    assert_non_null(strstr(r.err.msg, "Move out of range: 250.000 10.000 0.300 [1.000]"));
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:20.000 Y:20.000 Z:0.000 E:0.000");
    motion_rig_ok(&r, "G1 X30 Y25");
    motion_rig_ok(&r, "M400");
    assert_plant_at(&r, 30.0, 25.0, 0.0);
    /* Extruder limits refuse too, leaving the position alone. */
    assert_int_equal(motion_rig_run(&r, "G1 E150"), -1);
    assert_non_null(strstr(r.err.msg, "Extrude only move too long"));
    assert_int_equal(motion_rig_run(&r, "G20"), -1);
    assert_non_null(strstr(r.err.msg, "inches"));
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:30.000 Y:25.000 Z:0.000 E:0.000");
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_corexy_homes_and_moves_the_head_where_commanded(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, corexy_cfg, 15);
    motion_rig_ok(&r, "G28");
    assert_plant_at(&r, 100.0, 100.0, 0.0);
    motion_rig_ok(&r, "G1 X30 Y70 Z3 F9000");
    motion_rig_ok(&r, "G1 X70 Y20");
    motion_rig_ok(&r, "G1 X20.5 Y40.25");
    motion_rig_ok(&r, "M400");
    assert_plant_at(&r, 20.5, 40.25, 3.0);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* A deterministic generator for the random sequence. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_random(s) >> 11) / 9007199254740992.0;
}

static void test_long_random_sequence_never_schedules_a_step_in_the_past(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 16);
    motion_rig_ok(&r, "G28");
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    double x = 0, y = 0, z = 0;
    char line[128];
    for (int i = 0; i < 400; i++) {
        x = uniform(&seed, 0, 120);
        y = uniform(&seed, 0, 120);
        if (i % 25 == 0)
            z = uniform(&seed, 0, 5);
        snprintf(line, sizeof(line), "G1 X%.3f Y%.3f Z%.3f F%.0f", x, y, z,
                 uniform(&seed, 300, 18000));
        motion_rig_ok(&r, line);
        /* A slow G-code source now and then: the queue runs dry and must
         * restart in the future, never in the past. */
        if (next_random(&seed) % 17 == 0)
            sim_host_run_for(&r.host, uniform(&seed, 0.0, 1.5));
        if (next_random(&seed) % 53 == 0)
            motion_rig_ok(&r, "G4 P50");
    }
    motion_rig_ok(&r, "M400");
    snprintf(line, sizeof(line), "X:%.3f Y:%.3f Z:%.3f E:0.000", x, y, z);
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, line);
    double rx = round(x * 1000) / 1000, ry = round(y * 1000) / 1000, rz = round(z * 1000) / 1000;
    assert_plant_at(&r, rx, ry, rz);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(r.printer.toolhead, &st);
    assert_int_equal(st.stalls, 0);
    assert_true(st.moves >= 400);
    assert_int_equal(r.shutdowns, 0);
    assert_false(sim_world_mcu_is_shutdown(r.host.world, "mcu"));
    motion_rig_destroy(&r);
}

static void test_arcs_end_exactly_on_their_end_point(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 17);
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X50 Y50 Z1 F6000");
    motion_rig_ok(&r, "G2 X70 Y50 I10 J0 E2");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:70.000 Y:50.000 Z:1.000 E:2.000");
    motion_rig_ok(&r, "G3 X50 Y70 R20");
    motion_rig_ok(&r, "G91");
    motion_rig_ok(&r, "G2 X10 Y-10 R10 Z1");
    motion_rig_ok(&r, "G90");
    motion_rig_ok(&r, "M400");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:60.000 Y:60.000 Z:2.000 E:2.000");
    assert_plant_at(&r, 60.0, 60.0, 2.0);
    assert_int_equal(motion_rig_run(&r, "G2 X60 Y100 R5"), -1);
    assert_non_null(strstr(r.err.msg, "too small"));
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static long long moves_for_half_circle(const char *cfg, uint64_t seed)
{
    static struct motion_rig r;
    build(&r, cfg, seed);
    motion_rig_ok(&r, "G28");
    motion_rig_ok(&r, "G1 X50 Y50 F6000");
    motion_rig_ok(&r, "M400");
    struct fs_toolhead_status before, after;
    fs_toolhead_get_status(r.printer.toolhead, &before);
    motion_rig_ok(&r, "G2 X70 Y50 I10 J0"); /* 31.4 mm of arc */
    motion_rig_ok(&r, "M400");
    fs_toolhead_get_status(r.printer.toolhead, &after);
    assert_plant_at(&r, 70.0, 50.0, 0.0);
    motion_rig_destroy(&r);
    return after.moves - before.moves;
}

static void test_arc_resolution_sets_the_segment_length(void **state)
{
    (void)state;
    static char cfg[sizeof(cartesian_cfg) + 64];
    snprintf(cfg, sizeof(cfg), "%s[gcode_arcs]\nresolution: 5\n", cartesian_cfg);
    assert_int_equal(moves_for_half_circle(cartesian_cfg, 23), 32);
    assert_int_equal(moves_for_half_circle(cfg, 24), 7);
}

static void test_m114_reports_gcode_coordinates_with_offsets_and_factors(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 18);
    /* Declared, not homed: the plant keeps its own idea of where it is, so
     * compare how far it moved. */
    double plant0[4], pos[4];
    sim_printer_position(&r.sp, r.host.world, plant0);
    motion_rig_ok(&r, "SET_KINEMATIC_POSITION X=10 Y=10 Z=5");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:10.000 Y:10.000 Z:5.000 E:0.000");
    motion_rig_ok(&r, "G92 X0 E5");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:0.000 Y:10.000 Z:5.000 E:5.000");
    motion_rig_ok(&r, "SET_GCODE_OFFSET Z=0.2");
    motion_rig_ok(&r, "G1 X5 Z1 F3000");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:5.000 Y:10.000 Z:1.000 E:5.000");
    fs_toolhead_get_position(r.printer.toolhead, pos);
    assert_near(pos[0], 15.0, 1e-9);
    assert_near(pos[2], 1.2, 1e-9);
    motion_rig_ok(&r, "M83");
    motion_rig_ok(&r, "M221 S50");
    motion_rig_ok(&r, "G1 X6 E0.2");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:6.000 Y:10.000 Z:1.000 E:5.200");
    fs_toolhead_get_position(r.printer.toolhead, pos);
    assert_near(pos[3], 0.1, 1e-9); /* 0.2 mm asked, at 50 % */
    motion_rig_ok(&r, "SAVE_GCODE_STATE NAME=park");
    motion_rig_ok(&r, "G91");
    motion_rig_ok(&r, "G1 X10 Y10");
    motion_rig_ok(&r, "RESTORE_GCODE_STATE NAME=park MOVE=1");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:6.000 Y:10.000 Z:1.000 E:5.200");
    motion_rig_ok(&r, "M400");
    assert_plant_at(&r, plant0[0] + 6.0, plant0[1], plant0[2] - 3.8);
    assert_int_equal(motion_rig_run(&r, "RESTORE_GCODE_STATE NAME=nothing"), -1);
    assert_non_null(strstr(r.err.msg, "unknown state 'nothing'"));
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_cold_extrusion_is_refused_and_travel_still_works(void **state)
{
    (void)state;
    static struct motion_rig r;
    static char cfg[sizeof(cartesian_cfg) + sizeof(heated_extruder_cfg)];
    snprintf(cfg, sizeof(cfg), "%s%s", cartesian_cfg, heated_extruder_cfg);
    build_with(&r, cfg, 19, 1);
    sim_host_run_for(&r.host, 2.0); /* a few readings at room temperature */
    motion_rig_ok(&r, "G28");
    assert_int_equal(motion_rig_run(&r, "G1 X10 Y10 E1 F3000"), -1);
    assert_non_null(strstr(r.err.msg, "Extrude below minimum temp"));
    assert_non_null(strstr(r.err.msg, "min_extrude_temp is 170.0 C"));
    assert_int_equal(motion_rig_run(&r, "G1 E-1"), -1);
    motion_rig_ok(&r, "G1 X10 Y10");
    motion_rig_ok(&r, "M400");
    motion_rig_ok(&r, "M114");
    assert_string_equal(r.last_output, "X:10.000 Y:10.000 Z:0.000 E:0.000");
    assert_plant_at(&r, 10.0, 10.0, 0.0);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

static void test_velocity_limits_and_motors_off_as_a_user_sees_them(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 20);
    motion_rig_ok(&r, "SET_VELOCITY_LIMIT VELOCITY=100 ACCEL=1000 SQUARE_CORNER_VELOCITY=8");
    assert_non_null(strstr(r.last_output, "max_velocity: 100.000000 max_accel: 1000.000000"));
    assert_non_null(strstr(r.last_output, "square_corner_velocity: 8.000000"));
    motion_rig_ok(&r, "M204 S500");
    struct fs_toolhead_status st;
    fs_toolhead_get_status(r.printer.toolhead, &st);
    assert_true(st.max_accel == 500.0 && st.max_velocity == 100.0);
    assert_int_equal(motion_rig_run(&r, "M204"), -1);
    motion_rig_ok(&r, "G28 X Y");
    motion_rig_ok(&r, "G1 X50 F60000"); /* capped at 100 mm/s */
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "stepper_x"), 50.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    motion_rig_ok(&r, "GET_POSITION");
    assert_non_null(strstr(r.last_output, "gcode homing:"));
    motion_rig_ok(&r, "SET_PRESSURE_ADVANCE ADVANCE=0.06");
    assert_string_equal(r.last_output,
                        "// pressure_advance: 0.060000 pressure_advance_smooth_time: 0.040000");
    motion_rig_ok(&r, "M84");
    assert_int_equal(fs_toolhead_homed_axes(r.printer.toolhead), 0);
    assert_int_equal(motion_rig_run(&r, "G1 X60"), -1);
    assert_non_null(strstr(r.err.msg, "Must home axis first"));
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

struct time_note {
    int calls;
    double print_time;
};

static void note_time(void *arg, double print_time)
{
    struct time_note *n = arg;
    n->calls++;
    n->print_time = print_time;
}

static void test_queue_end_callback_waits_for_the_queued_moves_without_stopping(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 22);
    motion_rig_ok(&r, "G28 X Y");
    struct fs_toolhead *th = r.printer.toolhead;
    struct time_note idle = {0, 0.0}, queued = {0, 0.0};
    struct fs_error err = {{0}};
    /* Nothing queued: at once, and not in the past. */
    assert_int_equal(fs_toolhead_at_queue_end(th, note_time, &idle, &err), 0);
    assert_int_equal(idle.calls, 1);
    assert_true(idle.print_time > fs_toolhead_estimated_print_time(th));
    motion_rig_ok(&r, "G1 X10 F6000");
    motion_rig_ok(&r, "G1 X20 Y5");
    assert_int_equal(fs_toolhead_at_queue_end(th, note_time, &queued, &err), 0);
    motion_rig_ok(&r, "G1 X30 Y5");
    assert_int_equal(queued.calls, 0); /* the moves are still being planned */
    sim_host_run_for(&r.host, 3.0);
    assert_int_equal(queued.calls, 1);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(th, &st);
    /* Called with the end of the second move, before the third's. */
    assert_true(queued.print_time > idle.print_time && queued.print_time < st.print_time);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* An M106 between printing moves switches the fan when the moves before
 * it end, and the head does not stop for it: the junction keeps its
 * speed. */
static void test_m106_between_moves_keeps_the_head_moving(void **state)
{
    (void)state;
    static struct motion_rig r;
    static char cfg[sizeof(cartesian_cfg) + sizeof(heated_extruder_cfg) + 32];
    snprintf(cfg, sizeof(cfg), "%s%s[fan]\npin: PC7\n", cartesian_cfg, heated_extruder_cfg);
    build_with(&r, cfg, 24, 1);
    motion_rig_ok(&r, "G28 X Y");
    motion_rig_ok(&r, "G1 X10 F6000");
    motion_rig_ok(&r, "M400");
    assert_int_equal(sim_world_pin_level(r.host.world, "mcu", "PC7"), 0);
    motion_rig_ok(&r, "G1 X20");
    motion_rig_ok(&r, "M106 S255");
    motion_rig_ok(&r, "G1 X30");
    motion_rig_ok(&r, "G1 X40");
    double t_at_20 = -1.0, t_fan = -1.0, v_at_20 = 0.0;
    double last_x = plant_mm(&r, "stepper_x");
    const double dt = 0.0005;
    for (int i = 0; i < 4000 && (t_at_20 < 0.0 || t_fan < 0.0); i++) {
        sim_host_run_for(&r.host, dt);
        double x = plant_mm(&r, "stepper_x");
        if (t_at_20 < 0.0 && x >= 20.0) {
            t_at_20 = sim_host_now(&r.host);
            v_at_20 = (x - last_x) / dt;
        }
        if (t_fan < 0.0 && sim_world_pin_level(r.host.world, "mcu", "PC7") == 1)
            t_fan = sim_host_now(&r.host);
        last_x = x;
    }
    assert_true(t_at_20 > 0.0 && t_fan > 0.0);
    /* Cruising at 100 mm/s through the junction, not stopped at it. */
    assert_true(v_at_20 > 80.0);
    /* The fan came on as the head passed X20 (one sampling step). */
    assert_near(t_fan, t_at_20, 2.0 * dt);
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "stepper_x"), 40.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* G10/G11 as a slicer uses them: each pair leaves the filament
 * unretract_extra_length further than before, a second G10 does not pull
 * again, and the G-code E coordinate does not move. */
static void test_firmware_retraction_g10_g11_pairs(void **state)
{
    (void)state;
    static struct motion_rig r;
    static char cfg[sizeof(cartesian_cfg) + 128];
    snprintf(cfg, sizeof(cfg), "%s[firmware_retraction]\nretract_length: 1.5\n"
             "unretract_extra_length: 0.25\n", cartesian_cfg);
    build(&r, cfg, 25);
    const double e_step = 1.0 / 95.5; /* rotation_distance 33.5 / (16 * 200) is 1/95.5 mm */
    motion_rig_ok(&r, "G28 X Y");
    motion_rig_ok(&r, "G1 X10 E2 F3000");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "extruder"), 2.0, e_step);
    motion_rig_ok(&r, "G10");
    motion_rig_ok(&r, "G1 X20");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "extruder"), 0.5, e_step);
    motion_rig_ok(&r, "G11");
    motion_rig_ok(&r, "G1 X30 E3");
    motion_rig_ok(&r, "G10");
    motion_rig_ok(&r, "G10"); /* already retracted: nothing more */
    motion_rig_ok(&r, "G1 X40");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "extruder"), 3.25 - 1.5, e_step);
    motion_rig_ok(&r, "G11");
    motion_rig_ok(&r, "G11"); /* not retracted: nothing more */
    motion_rig_ok(&r, "M400");
    /* Two pairs: 0.25 mm each beyond what the G-code extruded. */
    assert_near(plant_mm(&r, "extruder"), 3.5, e_step);
    motion_rig_ok(&r, "M114");
    assert_non_null(strstr(r.last_output, "E:3.000"));
    /* The settings, as a user changes and reads them. */
    motion_rig_ok(&r, "SET_RETRACTION RETRACT_LENGTH=0.8 RETRACT_SPEED=35 UNRETRACT_SPEED=30");
    motion_rig_ok(&r, "GET_RETRACTION");
    assert_non_null(strstr(r.last_output, "RETRACT_LENGTH=0.80000 RETRACT_SPEED=35.00000 "
                                          "UNRETRACT_EXTRA_LENGTH=0.25000 UNRETRACT_SPEED=30.00000"));
    assert_int_equal(motion_rig_run(&r, "SET_RETRACTION RETRACT_LENGTH=-1"), -1);
    motion_rig_ok(&r, "G10");
    motion_rig_ok(&r, "G11");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "extruder"), 3.75, e_step);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
    /* Without the section G10 is not a command. */
    build(&r, cartesian_cfg, 25);
    assert_int_equal(motion_rig_run(&r, "G10"), -1);
    assert_non_null(strstr(r.err.msg, "Unknown command"));
    motion_rig_destroy(&r);
}

/* A homing stop discards the steps the MCU had queued for the motor; the
 * move-queue slots they held must come back at once, or a small queue
 * runs full (or motion waits for the discarded steps' planned time). With
 * 7 slots left, the retract after the first pass found them all held by
 * discarded steps ("move queue full"); single-axis moves keep the rest of
 * the test inside what 7 slots carry. */
static void test_motion_after_homing_stops_does_not_wait_for_discarded_steps(void **state)
{
    (void)state;
    static struct motion_rig r;
    build(&r, cartesian_cfg, 23);
    int move_count = fs_mcu_state(r.printer.mcus[0])->move_count;
    motion_rig_destroy(&r);
    const int free_slots = 7;
    assert_true(move_count > free_slots);
    build_reserving(&r, cartesian_cfg, 23, 0, move_count - free_slots);
    struct fs_toolhead *th = r.printer.toolhead;
    if (motion_rig_run(&r, "G28 X Y") < 0)
        fail_msg("first homing: %s", r.err.msg);
    for (int i = 0; i < 4; i++) {
        if (motion_rig_run(&r, "G1 X60 F1200") < 0 || motion_rig_run(&r, "G28 X") < 0)
            fail_msg("homing %d: %s", i, r.err.msg);
        /* Motion goes on from now, not from where the discarded steps
         * would have ended. */
        struct fs_toolhead_status st;
        fs_toolhead_get_status(th, &st);
        assert_true(st.print_time - fs_toolhead_estimated_print_time(th) < 0.05);
        if (motion_rig_run(&r, "G1 X20") < 0)
            fail_msg("after homing %d: %s", i, r.err.msg);
    }
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "stepper_x"), 20.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_near(plant_mm(&r, "stepper_y"), 0.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

/* cartesian_cfg with the X switch wired to a toolboard, and a fast
 * second pass so that the relay through the host costs several steps. */
static void two_mcu_config(char *out, size_t cap)
{
    static const char from[] = "endstop_pin: ^PB3\n";
    static const char to[] = "endstop_pin: ^toolboard:PB3\n";
    static const char slow[] = "second_homing_speed: 10\n";
    const char *pin = strstr(cartesian_cfg, from);
    assert_non_null(pin);
    const char *after = pin + strlen(from);
    const char *speed = strstr(after, slow);
    assert_non_null(speed);
    snprintf(out, cap, "[mcu toolboard]\nserial: /dev/null\n%.*s%s%.*ssecond_homing_speed: 50\n%s",
             (int)(pin - cartesian_cfg), cartesian_cfg, to, (int)(speed - after), after,
             speed + strlen(slow));
}

static void test_endstop_on_another_mcu_homes_through_the_host(void **state)
{
    (void)state;
    static struct motion_rig r;
    static char cfg[sizeof(cartesian_cfg) + 128];
    two_mcu_config(cfg, sizeof(cfg));
    build(&r, cfg, 21);
    motion_rig_ok(&r, "G28 X Y");
    /* The relay through the host lets the motor run on past the switch;
     * the engine knows by how much. The relay is a trsync report to the
     * host and a trigger back, over two 250000-baud wires: about 0.5 ms
     * each way plus whatever is already on the wire, under 2 ms in all,
     * which is 8 steps at the 50 mm/s homing speed (80 steps/mm). */
    double pos[4];
    fs_toolhead_get_position(r.printer.toolhead, pos);
    assert_near(plant_mm(&r, "stepper_x"), pos[0], 1.0 / STEPS_PER_MM_XY + 1e-9);
    assert_near(pos[0], 0.0, 8.0 / STEPS_PER_MM_XY + 1e-9);
    motion_rig_ok(&r, "G1 X40 Y20 F6000");
    motion_rig_ok(&r, "M400");
    assert_near(plant_mm(&r, "stepper_x"), 40.0, 1.0 / STEPS_PER_MM_XY + 1e-9);
    /* A broken switch on the toolboard still ends the pass. */
    sim_world_switch_set_stuck_open(r.host.world, r.sp.switch_ids[0], 1);
    assert_int_equal(motion_rig_run(&r, "G28 X"), -1);
    assert_non_null(strstr(r.err.msg, "No trigger on x after full movement"));
    assert_int_equal(r.shutdowns, 0);
    motion_rig_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_g28_homes_x_and_y_onto_their_endstops),
        cmocka_unit_test(test_square_of_moves_closes_where_commanded),
        cmocka_unit_test(test_no_trigger_after_full_movement_when_the_switch_is_broken),
        cmocka_unit_test(test_move_out_of_range_is_refused_and_the_machine_still_moves),
        cmocka_unit_test(test_corexy_homes_and_moves_the_head_where_commanded),
        cmocka_unit_test(test_long_random_sequence_never_schedules_a_step_in_the_past),
        cmocka_unit_test(test_arcs_end_exactly_on_their_end_point),
        cmocka_unit_test(test_arc_resolution_sets_the_segment_length),
        cmocka_unit_test(test_m114_reports_gcode_coordinates_with_offsets_and_factors),
        cmocka_unit_test(test_cold_extrusion_is_refused_and_travel_still_works),
        cmocka_unit_test(test_velocity_limits_and_motors_off_as_a_user_sees_them),
        cmocka_unit_test(test_endstop_on_another_mcu_homes_through_the_host),
        cmocka_unit_test(test_motion_after_homing_stops_does_not_wait_for_discarded_steps),
        cmocka_unit_test(test_m106_between_moves_keeps_the_head_moving),
        cmocka_unit_test(test_firmware_retraction_g10_g11_pairs),
        cmocka_unit_test(test_queue_end_callback_waits_for_the_queued_moves_without_stopping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
