/* G-code dispatch: registered commands run with their parameters, names are
 * case-insensitive, duplicates and unknown commands are errors a user can
 * read, scripts stop at the failing line and name it, HELP lists commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* INFINITY */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strstr, strcmp */

#include "core/error.h"  /* struct fs_error */
#include "gcode/gcode.h" /* fs_gcode_* */

/* A toolhead stand-in: G1 moves, counts calls. */
struct fake_toolhead {
    double x, y;
    int moves;
};

static int cmd_g1(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                  struct fs_error *err)
{
    struct fake_toolhead *th = arg;
    if (fs_gcode_get_float(cmd, "X", th->x, -INFINITY, INFINITY, &th->x, err) < 0 ||
        fs_gcode_get_float(cmd, "Y", th->y, -INFINITY, INFINITY, &th->y, err) < 0)
        return -1;
    th->moves++;
    return 0;
}

struct transcript {
    char lines[64][160];
    int count;
};

static void record(void *arg, const char *text)
{
    struct transcript *t = arg;
    if (t->count < 64)
        snprintf(t->lines[t->count++], sizeof(t->lines[0]), "%s", text);
}

static int cmd_echo_source(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                           struct fs_error *err)
{
    fs_gcode_respond_info(g, "%s from %s", cmd->name, cmd->source ? cmd->source : "?");
    return 0;
}

static void test_registered_command_runs_with_its_parameters(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    assert_non_null(g);
    struct fake_toolhead th = {0};
    assert_int_equal(fs_gcode_register(g, "G1", cmd_g1, &th, "Move", &err), 0);
    assert_int_equal(fs_gcode_run_line(g, "G1 X105.123 Y98.456 E0.03421 ; perimeter",
                                       "print.gcode:12", &err), 0);
    assert_float_equal(th.x, 105.123, 1e-9);
    assert_float_equal(th.y, 98.456, 1e-9);
    assert_int_equal(fs_gcode_run_line(g, "g1 x5", "console", &err), 0);
    assert_float_equal(th.x, 5, 0);
    assert_int_equal(th.moves, 2);
    /* Comments and blank lines reach no handler. */
    assert_int_equal(fs_gcode_run_line(g, ";LAYER:3", "print.gcode:13", &err), 0);
    assert_int_equal(fs_gcode_run_line(g, "", "print.gcode:14", &err), 0);
    assert_int_equal(th.moves, 2);
    fs_gcode_free(g);
}

static void test_names_are_case_insensitive_and_duplicates_refused(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_toolhead th = {0};
    assert_int_equal(fs_gcode_register(g, "set_velocity_limit", cmd_g1, &th, NULL, &err), 0);
    assert_true(fs_gcode_is_registered(g, "SET_VELOCITY_LIMIT"));
    assert_true(fs_gcode_is_registered(g, "Set_Velocity_Limit"));
    assert_false(fs_gcode_is_registered(g, "SET_VELOCITY"));
    assert_int_equal(fs_gcode_register(g, "SET_VELOCITY_LIMIT", cmd_g1, &th, NULL, &err), -1);
    assert_string_equal(err.msg, "G-code command 'SET_VELOCITY_LIMIT' is already registered");
    assert_int_equal(fs_gcode_register(g, "BAD NAME", cmd_g1, &th, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "'BAD NAME' is not valid"));
    assert_int_equal(fs_gcode_run_line(g, "Set_Velocity_Limit", "console", &err), 0);
    assert_int_equal(th.moves, 1);
    fs_gcode_free(g);
}

static void test_unknown_command_is_an_error_with_its_source(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    assert_int_equal(fs_gcode_run_line(g, "G999 X1", "print.gcode:1234", &err), -1);
    assert_string_equal(err.msg, "print.gcode:1234: Unknown command: 'G999'");
    assert_int_equal(fs_gcode_run_line(g, "N5 G1 X10*1", "serial", &err), -1);
    assert_non_null(strstr(err.msg, "serial: checksum error: expected"));
    fs_gcode_free(g);
}

static void test_handler_error_is_prefixed_with_the_source(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_toolhead th = {0};
    fs_gcode_register(g, "G1", cmd_g1, &th, "Move", &err);
    assert_int_equal(fs_gcode_run_line(g, "G1 Xabc", "print.gcode:7", &err), -1);
    assert_string_equal(err.msg, "print.gcode:7: G1: unable to parse X='abc'");
    fs_gcode_free(g);
}

static void test_script_stops_at_the_failing_line_and_names_it(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_toolhead th = {0};
    fs_gcode_register(g, "G1", cmd_g1, &th, "Move", &err);
    const char *script = "G1 X1\n"
                         "; comment line\n"
                         "G1 Xabc\n"
                         "G1 X3\n";
    assert_int_equal(fs_gcode_run_script(g, script, "macro PARK", &err), -1);
    assert_string_equal(err.msg, "macro PARK:3: G1: unable to parse X='abc'");
    assert_int_equal(th.moves, 1);
    assert_float_equal(th.x, 1, 0);

    assert_int_equal(fs_gcode_run_script(g, "G1 X1\r\nG1 Y2\r\n", "macro OK", &err), 0);
    assert_int_equal(th.moves, 3);
    fs_gcode_free(g);
}

static void test_handler_sees_source_and_responses_reach_the_output(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct transcript t = {0};
    fs_gcode_set_output(g, record, &t);
    fs_gcode_register(g, "WHERE", cmd_echo_source, NULL, "Say where", &err);
    assert_int_equal(fs_gcode_run_line(g, "WHERE", "console", &err), 0);
    assert_int_equal(t.count, 1);
    assert_string_equal(t.lines[0], "// WHERE from console");
    fs_gcode_respond_error(g, "heater extruder: not heating\nprint paused");
    assert_int_equal(t.count, 3);
    assert_string_equal(t.lines[1], "!! heater extruder: not heating");
    assert_string_equal(t.lines[2], "!! print paused");
    fs_gcode_free(g);
}

static void test_help_lists_commands_sorted_with_their_help(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_toolhead th = {0};
    struct transcript t = {0};
    fs_gcode_set_output(g, record, &t);
    fs_gcode_register(g, "M104", cmd_g1, &th, "Set extruder temperature", &err);
    fs_gcode_register(g, "G28", cmd_g1, &th, "Home axes", &err);
    fs_gcode_register(g, "G1", cmd_g1, &th, "Move", &err);
    assert_int_equal(fs_gcode_command_count(g), 4);
    assert_string_equal(fs_gcode_command_name(g, 0), "G1");
    assert_string_equal(fs_gcode_command_name(g, 1), "G28");
    assert_string_equal(fs_gcode_command_name(g, 2), "HELP");
    assert_string_equal(fs_gcode_command_name(g, 3), "M104");
    assert_string_equal(fs_gcode_command_help(g, 1), "Home axes");
    assert_int_equal(fs_gcode_run_line(g, "help", "console", &err), 0);
    assert_int_equal(t.count, 5);
    assert_non_null(strstr(t.lines[1], "G1"));
    assert_non_null(strstr(t.lines[1], "Move"));
    assert_non_null(strstr(t.lines[4], "Set extruder temperature"));
    fs_gcode_free(g);
}

static void test_many_commands_stay_reachable(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_toolhead th = {0};
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "M%d", 1000 + i);
        assert_int_equal(fs_gcode_register(g, name, cmd_g1, &th, NULL, &err), 0);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "m%d X%d", 1000 + i, i);
        assert_int_equal(fs_gcode_run_line(g, name, "console", &err), 0);
        assert_float_equal(th.x, i, 0);
    }
    assert_int_equal(fs_gcode_command_count(g), 501);
    assert_string_equal(fs_gcode_command_name(g, 500), "M1499");
    fs_gcode_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_command_runs_with_its_parameters),
        cmocka_unit_test(test_names_are_case_insensitive_and_duplicates_refused),
        cmocka_unit_test(test_unknown_command_is_an_error_with_its_source),
        cmocka_unit_test(test_handler_error_is_prefixed_with_the_source),
        cmocka_unit_test(test_script_stops_at_the_failing_line_and_names_it),
        cmocka_unit_test(test_handler_sees_source_and_responses_reach_the_output),
        cmocka_unit_test(test_help_lists_commands_sorted_with_their_help),
        cmocka_unit_test(test_many_commands_stay_reachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
