/* printer.cfg as a user writes it: sections, both separators, comments,
 * multi-line G-code, repeated sections, includes with globs and cycles, every
 * getter's bounds and the error text a user reads, pins, and the report of
 * typos that nobody read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>   /* INT_MIN, INT_MAX */
#include <math.h>     /* NAN, INFINITY */
#include <stdio.h>    /* fopen, fputs, snprintf, remove */
#include <stdlib.h>   /* mkdtemp, free, malloc */
#include <string.h>   /* strstr, memset */
#include <sys/stat.h> /* mkdir */
#include <unistd.h>   /* rmdir */

#include "config/config.h" /* the unit under test */
#include "core/error.h"    /* fs_error */

/* ---- helpers ---- */

static struct fs_config *load_ok(const char *text)
{
    struct fs_config *cfg = NULL;
    struct fs_error err = {{0}};
    int rc = fs_config_load_string(text, "printer.cfg", &cfg, &err);
    if (rc != 0)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

/* Loading fails and the message contains every one of the given texts. */
static void load_fails(const char *text, const char *want1, const char *want2)
{
    struct fs_config *cfg = (struct fs_config *)1;
    struct fs_error err = {{0}};
    assert_int_equal(fs_config_load_string(text, "printer.cfg", &cfg, &err), -1);
    assert_null(cfg);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        fail_msg("error '%s' lacks '%s' / '%s'", err.msg, want1, want2 ? want2 : "");
}

static void assert_contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("'%s' does not contain '%s'", text, want);
}

static struct fs_config_section *section(struct fs_config *cfg, const char *name)
{
    struct fs_config_section *s = fs_config_get_section(cfg, name);
    if (!s)
        fail_msg("no section [%s]", name);
    return s;
}

static const char *str_of(struct fs_config_section *s, const char *option)
{
    const char *v = NULL;
    struct fs_error err;
    assert_int_equal(fs_config_get_str(s, option, NULL, &v, &err), 0);
    return v;
}

/* A temporary tree that remembers what it created, to remove it again. */
struct tmpdir {
    char path[64];
    char made[32][256];
    int made_count;
};

static void tmpdir_make(struct tmpdir *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->path, sizeof(t->path), "/tmp/fs_config_XXXXXX");
    assert_non_null(mkdtemp(t->path));
}

static void tmpdir_note(struct tmpdir *t, const char *path)
{
    for (int i = 0; i < t->made_count; i++)
        if (strcmp(t->made[i], path) == 0)
            return;
    assert_true(t->made_count < 32);
    snprintf(t->made[t->made_count++], sizeof(t->made[0]), "%s", path);
}

static void write_file(struct tmpdir *t, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", t->path, rel);
    /* Creates the directories on the way. */
    for (char *p = path + strlen(t->path) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) == 0)
                tmpdir_note(t, path);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    tmpdir_note(t, path);
}

/* Files before the directories that hold them: the reverse of creation. */
static void tmpdir_remove(struct tmpdir *t)
{
    for (int i = t->made_count - 1; i >= 0; i--)
        remove(t->made[i]);
    rmdir(t->path);
}

static int load_path(const struct tmpdir *t, const char *rel, struct fs_config **cfg,
                     struct fs_error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", t->path, rel);
    return fs_config_load(path, cfg, err);
}

/* ---- the dialect ---- */

static void test_sections_have_kind_suffix_and_header_line(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[stepper_x]\n"
                                    "[heater_generic   chamber ]\n"
                                    "[mcu toolboard]\n");
    assert_int_equal(fs_config_section_count(cfg), 3);
    struct fs_config_section *s = fs_config_section_at(cfg, 1);
    assert_string_equal(fs_config_section_name(s), "heater_generic chamber");
    assert_string_equal(fs_config_section_kind(s), "heater_generic");
    assert_string_equal(fs_config_section_suffix(s), "chamber");
    assert_string_equal(fs_config_section_where(s), "printer.cfg:2");
    s = section(cfg, "stepper_x");
    assert_string_equal(fs_config_section_kind(s), "stepper_x");
    assert_string_equal(fs_config_section_suffix(s), "");
    assert_string_equal(fs_config_section_suffix(section(cfg, "mcu toolboard")), "toolboard");
    assert_null(fs_config_get_section(cfg, "stepper_y"));
    fs_config_free(cfg);
}

static void test_colon_and_equals_both_separate_and_keys_are_case_insensitive(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[stepper_z]\n"
                                    "Rotation_Distance: 8   \n"
                                    "microsteps =16\n"
                                    "endstop_pin = probe:z_virtual_endstop\n"
                                    "serial:/dev/serial/by-id/usb-a=b\n");
    struct fs_config_section *s = section(cfg, "stepper_z");
    assert_true(fs_config_has(s, "rotation_distance"));
    assert_true(fs_config_has(s, "ROTATION_DISTANCE"));
    assert_string_equal(str_of(s, "rotation_distance"), "8");
    assert_string_equal(str_of(s, "microsteps"), "16");
    assert_string_equal(str_of(s, "endstop_pin"), "probe:z_virtual_endstop");
    assert_string_equal(str_of(s, "serial"), "/dev/serial/by-id/usb-a=b");
    assert_string_equal(fs_config_option_name(s, 0), "rotation_distance");
    fs_config_free(cfg);
}

static void test_comments_whole_line_and_after_whitespace(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("# my printer\n"
                                    "; another comment\n"
                                    "[extruder]  # the hot end\n"
                                    "   # indented comment\n"
                                    "max_temp: 250  # hot\n"
                                    "min_temp: 0\t; cold\n"
                                    "serial: /dev/usb#1;2\n");
    struct fs_config_section *s = section(cfg, "extruder");
    assert_int_equal(fs_config_option_count(s), 3);
    assert_string_equal(str_of(s, "max_temp"), "250");
    assert_string_equal(str_of(s, "min_temp"), "0");
    assert_string_equal(str_of(s, "serial"), "/dev/usb#1;2");
    fs_config_free(cfg);
}

static void test_continuation_lines_make_a_gcode_macro_body(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[gcode_macro START_PRINT]\n"
                                    "gcode:\n"
                                    "  G28\n"
                                    "  # home first, then level\n"
                                    "  G1 Z10 F600 ; lift\n"
                                    "\n"
                                    "    M117 Ready\n"
                                    "\n"
                                    "   \n"
                                    "description: Start\n"
                                    "  the print\n"
                                    "[fan]\n"
                                    "pin: PA8\n");
    struct fs_config_section *s = section(cfg, "gcode_macro START_PRINT");
    assert_string_equal(str_of(s, "gcode"), "G28\nG1 Z10 F600\n\nM117 Ready");
    assert_string_equal(str_of(s, "description"), "Start\nthe print");
    assert_string_equal(fs_config_option_where(s, 0), "printer.cfg:2");
    /* The raw text keeps what the user wrote, comments included. */
    assert_string_equal(fs_config_option_raw(s, 0),
                        "gcode:\n  G28\n  # home first, then level\n  G1 Z10 F600 ; lift\n"
                        "\n    M117 Ready");
    assert_string_equal(str_of(section(cfg, "fan"), "pin"), "PA8");
    fs_config_free(cfg);
}

static void test_crlf_line_endings_and_save_config_block(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[printer]\r\n"
                                    "kinematics: cartesian\r\n"
                                    "\r\n"
                                    "#*# <---------------------- SAVE_CONFIG ---------------------->\n"
                                    "#*# DO NOT EDIT THIS BLOCK OR BELOW.\n"
                                    "#*#\n"
                                    "#*# [extruder]\n"
                                    "#*# control = pid\n");
    assert_int_equal(fs_config_section_count(cfg), 1);
    struct fs_config_section *s = section(cfg, "printer");
    assert_string_equal(str_of(s, "kinematics"), "cartesian");
    assert_int_equal(fs_config_option_count(s), 1);
    fs_config_free(cfg);
}

static void test_repeated_section_merges_and_later_option_wins(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[stepper_x]\n"
                                    "step_pin: PA1\n"
                                    "rotation_distance: 40\n"
                                    "microsteps: 8\n"
                                    "microsteps: 16\n"
                                    "[extruder]\n"
                                    "[stepper_x]\n"
                                    "rotation_distance: 32\n");
    assert_int_equal(fs_config_section_count(cfg), 2);
    struct fs_config_section *s = section(cfg, "stepper_x");
    assert_string_equal(fs_config_section_where(s), "printer.cfg:1");
    assert_int_equal(fs_config_option_count(s), 3);
    assert_string_equal(str_of(s, "step_pin"), "PA1");
    assert_string_equal(str_of(s, "rotation_distance"), "32");
    assert_string_equal(str_of(s, "microsteps"), "16");
    assert_string_equal(fs_config_option_where(s, 1), "printer.cfg:8");
    assert_string_equal(fs_config_option_where(s, 2), "printer.cfg:5");
    fs_config_free(cfg);
}

static void test_syntax_errors_name_file_and_line(void **state)
{
    (void)state;
    load_fails("max_temp: 250\n", "printer.cfg:1:", "before the first [section]");
    load_fails("[stepper_x]\n\nstep_pin PA1\n", "printer.cfg:3: [stepper_x]", "step_pin PA1");
    load_fails("# x\n[stepper_x\n", "printer.cfg:2:", "must end with ']'");
    load_fails("[ ]\n", "printer.cfg:1:", "empty section name");
    load_fails("[stepper_x]\n: 40\n", "printer.cfg:2:", "missing option name");
    load_fails("[include]\n", "printer.cfg:1:", "needs a file name");
}

static void test_oversize_input_is_rejected(void **state)
{
    (void)state;
    size_t n = FS_CONFIG_LINE_MAX + 64;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, 'x', n - 1);
    memcpy(text, "[a]\nb: ", 7);
    text[n - 1] = '\0';
    load_fails(text, "printer.cfg:2:", "line longer than");
    /* A section name beyond FS_CONFIG_NAME_MAX. */
    memset(text, 'y', FS_CONFIG_NAME_MAX + 10);
    text[0] = '[';
    snprintf(text + FS_CONFIG_NAME_MAX + 10, 3, "]\n");
    load_fails(text, "printer.cfg:1:", "section name longer than");
    free(text);
    /* A multi-line value beyond FS_CONFIG_VALUE_MAX. */
    size_t lines = FS_CONFIG_VALUE_MAX / 100 + 2;
    text = malloc(lines * 104 + 32);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "[m]\ngcode:\n");
    for (size_t i = 0; i < lines; i++) {
        text[len++] = ' ';
        memset(text + len, 'G', 100);
        len += 100;
        text[len++] = '\n';
    }
    text[len] = '\0';
    load_fails(text, "[m] gcode: value longer than", NULL);
    free(text);
}

/* ---- includes ---- */

static void test_includes_glob_in_sorted_order_relative_to_the_including_file(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t);
    write_file(&t, "printer.cfg", "[include conf/*.cfg]\n"
                                  "[include conf/optional_*.cfg]\n"
                                  "[stepper_x]\n"
                                  "rotation_distance: 40\n");
    write_file(&t, "conf/b.cfg", "[include sub/c.cfg]\n"
                                 "[fan]\n"
                                 "pin: PA8\n");
    write_file(&t, "conf/a.cfg", "[stepper_x]\n"
                                 "rotation_distance: 20\n"
                                 "microsteps: 16\n");
    write_file(&t, "conf/sub/c.cfg", "[probe]\npin: PB1\n");
    struct fs_config *cfg = NULL;
    struct fs_error err = {{0}};
    if (load_path(&t, "printer.cfg", &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(fs_config_section_count(cfg), 3);
    assert_string_equal(fs_config_section_name(fs_config_section_at(cfg, 0)), "stepper_x");
    assert_string_equal(fs_config_section_name(fs_config_section_at(cfg, 1)), "probe");
    assert_string_equal(fs_config_section_name(fs_config_section_at(cfg, 2)), "fan");
    struct fs_config_section *s = section(cfg, "stepper_x");
    assert_string_equal(str_of(s, "rotation_distance"), "40");
    assert_string_equal(str_of(s, "microsteps"), "16");
    char want[256];
    snprintf(want, sizeof(want), "%s/conf/a.cfg:3", t.path);
    assert_string_equal(fs_config_option_where(s, 1), want);
    snprintf(want, sizeof(want), "%s/conf/sub/c.cfg:1", t.path);
    assert_string_equal(fs_config_section_where(section(cfg, "probe")), want);
    assert_int_equal(fs_config_file_count(cfg), 4);
    assert_contains(fs_config_file_path(cfg, 1), "conf/a.cfg");
    assert_contains(fs_config_file_path(cfg, 2), "conf/b.cfg");
    assert_contains(fs_config_file_path(cfg, 3), "conf/sub/c.cfg");
    assert_string_equal(fs_config_file_text(cfg, 3), "[probe]\npin: PB1\n");
    fs_config_free(cfg);
    tmpdir_remove(&t);
}

static void test_include_of_a_missing_file_names_the_include_line(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t);
    write_file(&t, "printer.cfg", "[printer]\nkinematics: none\n[include macros.cfg]\n");
    struct fs_config *cfg = NULL;
    struct fs_error err = {{0}};
    assert_int_equal(load_path(&t, "printer.cfg", &cfg, &err), -1);
    assert_null(cfg);
    assert_contains(err.msg, "printer.cfg:3: include 'macros.cfg'");
    assert_contains(err.msg, "no such file");
    /* An error inside an included file names that file and line. */
    write_file(&t, "macros.cfg", "[gcode_macro X]\ngcode\n");
    assert_int_equal(load_path(&t, "printer.cfg", &cfg, &err), -1);
    assert_contains(err.msg, "macros.cfg:2: [gcode_macro X]");
    write_file(&t, "macros.cfg", "[include a.cfg]\nfoo: 1\n");
    write_file(&t, "a.cfg", "");
    assert_int_equal(load_path(&t, "printer.cfg", &cfg, &err), -1);
    assert_contains(err.msg, "macros.cfg:2: options are not allowed in an [include]");
    tmpdir_remove(&t);
}

static void test_include_cycle_is_an_error_naming_the_chain(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t);
    write_file(&t, "printer.cfg", "[include a.cfg]\n");
    write_file(&t, "a.cfg", "[stepper_x]\n[include sub/b.cfg]\n");
    write_file(&t, "sub/b.cfg", "[include ../a.cfg]\n");
    struct fs_config *cfg = NULL;
    struct fs_error err = {{0}};
    assert_int_equal(load_path(&t, "printer.cfg", &cfg, &err), -1);
    assert_null(cfg);
    assert_contains(err.msg, "sub/b.cfg:1: include cycle: ");
    assert_contains(err.msg, "printer.cfg -> ");
    assert_contains(err.msg, "a.cfg -> ");
    assert_contains(err.msg, "sub/b.cfg -> ");
    assert_contains(err.msg, "sub/../a.cfg");
    /* Including the same file twice side by side is not a cycle. */
    write_file(&t, "printer.cfg", "[include a.cfg]\n[include a.cfg]\n");
    write_file(&t, "a.cfg", "[stepper_x]\nstep_pin: PA1\n");
    assert_int_equal(load_path(&t, "printer.cfg", &cfg, &err), 0);
    assert_int_equal(fs_config_section_count(cfg), 1);
    fs_config_free(cfg);
    /* A file including itself. */
    write_file(&t, "printer.cfg", "[include printer.cfg]\n");
    assert_int_equal(load_path(&t, "printer.cfg", &cfg, &err), -1);
    assert_contains(err.msg, "printer.cfg:1: include cycle: ");
    tmpdir_remove(&t);
}

/* ---- getters ---- */

static void test_float_getter_bounds_defaults_and_messages(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7\n# 8\n# 9\n"
                                    "[stepper_x]\n"      /* 10 */
                                    "step_pin: PA1\n"    /* 11 */
                                    "dir_pin: PA2\n"     /* 12 */
                                    "enable_pin: !PA3\n" /* 13 */
                                    "rotation_distance: -40\n"
                                    "position_max: 235.5\n"
                                    "position_min: -5\n"
                                    "a: 40mm\n"
                                    "b: inf\n"
                                    "c: nan\n"
                                    "d: 0x10\n"
                                    "e:\n"
                                    "f: 1e3\n"
                                    "g: 1e999\n");
    struct fs_config_section *s = section(cfg, "stepper_x");
    struct fs_error err = {{0}};
    double v = 0;
    assert_int_equal(fs_config_get_float_above(s, "rotation_distance", NAN, 0, &v, &err), -1);
    assert_string_equal(err.msg,
                        "printer.cfg:14: [stepper_x] rotation_distance: expected a number "
                        "above 0, got '-40'");
    assert_int_equal(fs_config_get_float(s, "position_max", NAN, 0, 235.5, &v, &err), 0);
    assert_true(v == 235.5);
    assert_int_equal(fs_config_get_float(s, "position_max", NAN, 0, 200, &v, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:15: [stepper_x] position_max: expected a "
                                 "number between 0 and 200, got '235.5'");
    assert_int_equal(fs_config_get_float(s, "position_min", NAN, 0, INFINITY, &v, &err), -1);
    assert_contains(err.msg, "expected a number at least 0, got '-5'");
    assert_int_equal(fs_config_get_float(s, "position_min", NAN, -INFINITY, -10, &v, &err), -1);
    assert_contains(err.msg, "expected a number at most -10, got '-5'");
    assert_int_equal(fs_config_get_float_below(s, "position_min", NAN, -5, &v, &err), -1);
    assert_contains(err.msg, "printer.cfg:16: [stepper_x] position_min: expected a number "
                             "below -5, got '-5'");
    assert_int_equal(fs_config_get_float_below(s, "position_min", NAN, 0, &v, &err), 0);
    assert_true(v == -5);
    const char *garbage[] = {"a", "b", "c", "d", "e", "g"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(*garbage); i++) {
        assert_int_equal(
            fs_config_get_float(s, garbage[i], NAN, -INFINITY, INFINITY, &v, &err), -1);
        assert_contains(err.msg, "[stepper_x]");
        assert_contains(err.msg, "expected a number, got '");
    }
    assert_contains(err.msg, "printer.cfg:23: [stepper_x] g: expected a number, got '1e999'");
    assert_int_equal(fs_config_get_float(s, "f", NAN, -INFINITY, INFINITY, &v, &err), 0);
    assert_true(v == 1000);
    /* Absent: the default, or the section's line when required. */
    assert_int_equal(fs_config_get_float(s, "homing_speed", 5.0, 0, 100, &v, &err), 0);
    assert_true(v == 5.0);
    assert_int_equal(fs_config_get_float_above(s, "full_steps", NAN, 0, &v, &err), -1);
    assert_string_equal(err.msg,
                        "printer.cfg:10: [stepper_x] missing required option 'full_steps'");
    fs_config_free(cfg);
}

static void test_int_getter_is_decimal_and_bounded(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[tmc2209 stepper_x]\n"
                                    "microsteps: 16\n"
                                    "run_current: 3.5\n"
                                    "uart_address: 0x3\n"
                                    "sense_resistor: 99999999999\n"
                                    "stealthchop_threshold: -1\n"
                                    "driver_sgthrs: +7\n"
                                    "a: 010\n");
    struct fs_config_section *s = section(cfg, "tmc2209 stepper_x");
    struct fs_error err = {{0}};
    int v = 0;
    assert_int_equal(fs_config_get_int(s, "microsteps", FS_CFG_REQUIRED, 1, 256, &v, &err), 0);
    assert_int_equal(v, 16);
    assert_int_equal(fs_config_get_int(s, "microsteps", FS_CFG_REQUIRED, 1, 8, &v, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:2: [tmc2209 stepper_x] microsteps: expected an "
                                 "integer between 1 and 8, got '16'");
    assert_int_equal(fs_config_get_int(s, "run_current", 0, INT_MIN, INT_MAX, &v, &err), -1);
    assert_contains(err.msg, "printer.cfg:3: [tmc2209 stepper_x] run_current: expected an "
                             "integer, got '3.5'");
    assert_int_equal(fs_config_get_int(s, "uart_address", 0, 0, 3, &v, &err), -1);
    assert_contains(err.msg, "got '0x3'");
    assert_int_equal(fs_config_get_int(s, "sense_resistor", 0, INT_MIN, INT_MAX, &v, &err), -1);
    assert_contains(err.msg, "printer.cfg:5:");
    assert_int_equal(fs_config_get_int(s, "stealthchop_threshold", 0, 0, INT_MAX, &v, &err),
                     -1);
    assert_contains(err.msg, "expected an integer at least 0, got '-1'");
    assert_int_equal(fs_config_get_int(s, "driver_sgthrs", 0, INT_MIN, 5, &v, &err), -1);
    assert_contains(err.msg, "expected an integer at most 5, got '+7'");
    assert_int_equal(fs_config_get_int(s, "driver_sgthrs", 0, 0, 255, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(fs_config_get_int(s, "a", 0, 0, 255, &v, &err), 0);
    assert_int_equal(v, 10);
    assert_int_equal(fs_config_get_int(s, "hold_current", 2, 0, 255, &v, &err), 0);
    assert_int_equal(v, 2);
    assert_int_equal(fs_config_get_int(s, "cs", FS_CFG_REQUIRED, 0, 255, &v, &err), -1);
    assert_string_equal(err.msg,
                        "printer.cfg:1: [tmc2209 stepper_x] missing required option 'cs'");
    fs_config_free(cfg);
}

static void test_bool_getter_words(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[safe_z_home]\n"
                                    "a: True\nb: no\nc: 1\nd: FALSE\ne: yes\nf: 0\n"
                                    "move_to_previous: maybe\n");
    struct fs_config_section *s = section(cfg, "safe_z_home");
    struct fs_error err = {{0}};
    const char *names[] = {"a", "b", "c", "d", "e", "f"};
    const int want[] = {1, 0, 1, 0, 1, 0};
    for (int i = 0; i < 6; i++) {
        int v = -5;
        assert_int_equal(fs_config_get_bool(s, names[i], -1, &v, &err), 0);
        assert_int_equal(v, want[i]);
    }
    int v = -5;
    assert_int_equal(fs_config_get_bool(s, "move_to_previous", 0, &v, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:8: [safe_z_home] move_to_previous: expected "
                                 "true/false, yes/no or 1/0, got 'maybe'");
    assert_int_equal(fs_config_get_bool(s, "z_hop", 1, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(fs_config_get_bool(s, "z_hop", -1, &v, &err), -1);
    assert_contains(err.msg, "printer.cfg:1: [safe_z_home] missing required option 'z_hop'");
    fs_config_free(cfg);
}

static void test_str_getter_default_and_required(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[mcu]\nserial: /dev/ttyACM0\n");
    struct fs_config_section *s = section(cfg, "mcu");
    struct fs_error err = {{0}};
    const char *v = NULL;
    assert_int_equal(fs_config_get_str(s, "serial", NULL, &v, &err), 0);
    assert_string_equal(v, "/dev/ttyACM0");
    assert_int_equal(fs_config_get_str(s, "restart_method", "command", &v, &err), 0);
    assert_string_equal(v, "command");
    assert_int_equal(fs_config_get_str(s, "canbus_uuid", NULL, &v, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:1: [mcu] missing required option 'canbus_uuid'");
    fs_config_free(cfg);
}

static void test_choice_getter_is_case_insensitive_and_lists_choices(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[extruder]\ncontrol: PID\nsensor_type: EPCOS 100K\n");
    struct fs_config_section *s = section(cfg, "extruder");
    struct fs_error err = {{0}};
    static const char *const controls[] = {"watermark", "pid", NULL};
    static const char *const sensors[] = {"Generic 3950", "ATC Semitec 104GT-2", NULL};
    int v = -1;
    assert_int_equal(fs_config_get_choice(s, "control", controls, NULL, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(fs_config_get_choice(s, "sensor_type", sensors, NULL, &v, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:3: [extruder] sensor_type: expected one of "
                                 "'Generic 3950', 'ATC Semitec 104GT-2', got 'EPCOS 100K'");
    assert_int_equal(fs_config_get_choice(s, "heater_type", controls, "watermark", &v, &err),
                     0);
    assert_int_equal(v, 0);
    assert_int_equal(fs_config_get_choice(s, "heater_type", controls, NULL, &v, &err), -1);
    assert_contains(err.msg, "printer.cfg:1: [extruder] missing required option 'heater_type'");
    fs_config_free(cfg);
}

static void test_float_list_getter(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[bed_mesh]\n"
                                    "mesh_min: 10, 12.5\n"
                                    "mesh_max: 200,\n"
                                    "  210\n"
                                    "probe_count: 5,5,5\n"
                                    "a: 1,,2\n"
                                    "b: 1, x\n"
                                    "c:\n");
    struct fs_config_section *s = section(cfg, "bed_mesh");
    struct fs_error err = {{0}};
    double v[2] = {0};
    int n = -1;
    assert_int_equal(fs_config_get_float_list(s, "mesh_min", v, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(v[0] == 10 && v[1] == 12.5);
    assert_int_equal(fs_config_get_float_list(s, "mesh_max", v, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(v[0] == 200 && v[1] == 210);
    assert_int_equal(fs_config_get_float_list(s, "probe_count", v, 2, &n, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:5: [bed_mesh] probe_count: expected at most 2 "
                                 "numbers, got '5,5,5'");
    assert_int_equal(fs_config_get_float_list(s, "a", v, 2, &n, &err), -1);
    assert_contains(err.msg, "printer.cfg:6: [bed_mesh] a: expected a comma-separated list "
                             "of numbers, got '1,,2'");
    assert_int_equal(fs_config_get_float_list(s, "b", v, 2, &n, &err), -1);
    assert_contains(err.msg, "printer.cfg:7: [bed_mesh] b:");
    assert_int_equal(fs_config_get_float_list(s, "c", v, 2, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(fs_config_get_float_list(s, "mesh_origin", v, 2, &n, &err), -1);
    assert_contains(err.msg, "printer.cfg:1: [bed_mesh] missing required option 'mesh_origin'");
    fs_config_free(cfg);
}

static void test_pins_with_and_without_prefixes_and_mcu(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[stepper_x]\n"
                                    "step_pin: PA1\n"
                                    "dir_pin: !PA2\n"
                                    "endstop_pin: ^ ! toolboard : PB2\n"
                                    "a_pin: ~PC3\n"
                                    "b_pin: !^PC4\n"
                                    "c_pin: PA 1\n"
                                    "d_pin: :PA1\n"
                                    "e_pin: !!PA1\n"
                                    "f_pin: ^\n");
    struct fs_config_section *s = section(cfg, "stepper_x");
    struct fs_error err = {{0}};
    struct fs_pin_desc p;
    assert_int_equal(fs_config_get_pin(s, "step_pin", 1, 0, 0, &p, &err), 0);
    assert_string_equal(p.mcu, "mcu");
    assert_string_equal(p.pin, "PA1");
    assert_int_equal(p.invert, 0);
    assert_int_equal(p.pull_up, 0);
    assert_int_equal(fs_config_get_pin(s, "dir_pin", 1, 1, 0, &p, &err), 0);
    assert_string_equal(p.pin, "PA2");
    assert_int_equal(p.invert, 1);
    assert_int_equal(fs_config_get_pin(s, "endstop_pin", 1, 1, 1, &p, &err), 0);
    assert_string_equal(p.mcu, "toolboard");
    assert_string_equal(p.pin, "PB2");
    assert_int_equal(p.invert, 1);
    assert_int_equal(p.pull_up, 1);
    assert_int_equal(fs_config_get_pin(s, "a_pin", 1, 1, 1, &p, &err), 0);
    assert_int_equal(p.pull_up, -1);
    assert_int_equal(fs_config_get_pin(s, "b_pin", 1, 1, 1, &p, &err), 0);
    assert_true(p.invert == 1 && p.pull_up == 1 && strcmp(p.pin, "PC4") == 0);
    /* Forbidden prefixes. */
    assert_int_equal(fs_config_get_pin(s, "dir_pin", 1, 0, 0, &p, &err), -1);
    assert_contains(err.msg, "printer.cfg:3: [stepper_x] dir_pin:");
    assert_contains(err.msg, "'!'");
    assert_contains(err.msg, "got '!PA2'");
    assert_int_equal(fs_config_get_pin(s, "endstop_pin", 1, 1, 0, &p, &err), -1);
    assert_contains(err.msg, "printer.cfg:4: [stepper_x] endstop_pin:");
    assert_contains(err.msg, "'^' or '~'");
    /* Malformed pins. */
    const char *bad[] = {"c_pin", "d_pin", "e_pin", "f_pin"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fs_config_get_pin(s, bad[i], 1, 1, 1, &p, &err), -1);
        assert_contains(err.msg, "expected a pin such as");
    }
    assert_contains(err.msg, "printer.cfg:10: [stepper_x] f_pin:");
    /* Absent. */
    assert_int_equal(fs_config_get_pin(s, "cs_pin", 0, 1, 1, &p, &err), 0);
    assert_string_equal(p.pin, "");
    assert_int_equal(fs_config_get_pin(s, "cs_pin", 1, 1, 1, &p, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:1: [stepper_x] missing required option 'cs_pin'");
    fs_config_free(cfg);
}

static void test_config_error_formats_section_and_option(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[stepper_x]\nposition_endstop: 300\n");
    struct fs_config_section *s = section(cfg, "stepper_x");
    struct fs_error err = {{0}};
    assert_int_equal(fs_config_error(s, "position_endstop", &err, "must lie within %g..%g",
                                     0.0, 235.0),
                     -1);
    assert_string_equal(err.msg, "printer.cfg:2: [stepper_x] position_endstop: must lie "
                                 "within 0..235");
    assert_int_equal(fs_config_error(s, NULL, &err, "needs an endstop"), -1);
    assert_string_equal(err.msg, "printer.cfg:1: [stepper_x] needs an endstop");
    fs_config_free(cfg);
}

/* ---- unused options and sections ---- */

static void test_check_unused_lists_every_typo_in_file_order(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[extruder]\n"             /* 1 */
                                    "nozzle_diameter: 0.4\n"   /* 2 */
                                    "nozle_diameter: 0.4\n"    /* 3 */
                                    "max_temp: 250\n"          /* 4 */
                                    "[extruderr]\n"            /* 5 */
                                    "max_temp: 250\n"          /* 6 */
                                    "[extruder]\n"             /* 7 */
                                    "pressure_advanse: 0.05\n" /* 8 */
                                    "[heater_bed]\n"           /* 9 */
                                    "max_temp: 120\n");        /* 10 */
    struct fs_error err = {{0}};
    double v;
    struct fs_config_section *s = section(cfg, "extruder");
    assert_int_equal(fs_config_get_float_above(s, "nozzle_diameter", NAN, 0, &v, &err), 0);
    assert_int_equal(fs_config_get_float(s, "max_temp", NAN, 0, 500, &v, &err), 0);
    assert_int_equal(fs_config_get_float(s, "pressure_advance", 0, 0, 1, &v, &err), 0);
    /* heater_bed reached by iteration rather than by name is still known
     * once read. */
    struct fs_config_section *bed = fs_config_section_at(cfg, 2);
    assert_string_equal(fs_config_section_name(bed), "heater_bed");
    assert_int_equal(fs_config_get_float(bed, "max_temp", NAN, 0, 200, &v, &err), 0);
    assert_int_equal(fs_config_check_unused(cfg, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:3: [extruder] unknown option 'nozle_diameter'\n"
                                 "printer.cfg:5: unknown section [extruderr]\n"
                                 "printer.cfg:8: [extruder] unknown option 'pressure_advanse'");
    fs_config_free(cfg);
}

static void test_check_unused_passes_when_everything_was_read(void **state)
{
    (void)state;
    struct fs_config *cfg = load_ok("[printer]\nkinematics: cartesian\n[idle_timeout]\n");
    struct fs_error err = {{0}};
    const char *v;
    assert_int_equal(fs_config_get_str(section(cfg, "printer"), "kinematics", NULL, &v, &err),
                     0);
    assert_int_equal(fs_config_check_unused(cfg, &err), -1);
    assert_string_equal(err.msg, "printer.cfg:3: unknown section [idle_timeout]");
    section(cfg, "idle_timeout");
    assert_int_equal(fs_config_check_unused(cfg, &err), 0);
    fs_config_free(cfg);
}

static void test_check_unused_with_many_typos_stays_bounded(void **state)
{
    (void)state;
    char *text = malloc(200 * 32 + 16);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "[x]\n");
    for (int i = 0; i < 200; i++)
        len += (size_t)sprintf(text + len, "option_number_%d: 1\n", i);
    struct fs_config *cfg = load_ok(text);
    free(text);
    section(cfg, "x");
    struct fs_error err = {{0}};
    assert_int_equal(fs_config_check_unused(cfg, &err), -1);
    assert_contains(err.msg, "printer.cfg:2: [x] unknown option 'option_number_0'\n");
    assert_contains(err.msg, " more");
    assert_true(strlen(err.msg) < FS_ERROR_MSG_MAX);
    fs_config_free(cfg);
}


/* A relative path means the folder of the file it is written in, an
 * absolute one itself, "~/" the home folder; too long is an error. */
static void test_paths_are_relative_to_the_file_they_are_written_in(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t);
    write_file(&t, "printer.cfg", "[include conf/policy.cfg]\n"
                                  "[virtual_sdcard]\npath: gcodes\n");
    write_file(&t, "conf/policy.cfg", "[fault_policy]\njournal_path: journal\n"
                                      "[other]\nabs: /var/x\nhome: ~/y\n");
    struct fs_config *cfg = NULL;
    struct fs_error err = {{0}};
    if (load_path(&t, "printer.cfg", &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    char got[256], want[256];
    assert_int_equal(fs_config_get_path(section(cfg, "virtual_sdcard"), "path", NULL, got,
                                        sizeof(got), &err), 0);
    snprintf(want, sizeof(want), "%s/gcodes", t.path);
    assert_string_equal(got, want);
    assert_int_equal(fs_config_get_path(section(cfg, "fault_policy"), "journal_path", "", got,
                                        sizeof(got), &err), 0);
    snprintf(want, sizeof(want), "%s/conf/journal", t.path);
    assert_string_equal(got, want);
    struct fs_config_section *o = section(cfg, "other");
    assert_int_equal(fs_config_get_path(o, "abs", NULL, got, sizeof(got), &err), 0);
    assert_string_equal(got, "/var/x");
    setenv("HOME", "/home/someone", 1);
    assert_int_equal(fs_config_get_path(o, "home", NULL, got, sizeof(got), &err), 0);
    assert_string_equal(got, "/home/someone/y");
    assert_int_equal(fs_config_get_path(o, "missing", "", got, sizeof(got), &err), 0);
    assert_string_equal(got, "");
    assert_int_equal(fs_config_get_path(o, "abs", NULL, got, 4, &err), -1);
    assert_non_null(strstr(err.msg, "abs"));
    fs_config_free(cfg);
    tmpdir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sections_have_kind_suffix_and_header_line),
        cmocka_unit_test(test_colon_and_equals_both_separate_and_keys_are_case_insensitive),
        cmocka_unit_test(test_comments_whole_line_and_after_whitespace),
        cmocka_unit_test(test_continuation_lines_make_a_gcode_macro_body),
        cmocka_unit_test(test_crlf_line_endings_and_save_config_block),
        cmocka_unit_test(test_repeated_section_merges_and_later_option_wins),
        cmocka_unit_test(test_syntax_errors_name_file_and_line),
        cmocka_unit_test(test_oversize_input_is_rejected),
        cmocka_unit_test(test_includes_glob_in_sorted_order_relative_to_the_including_file),
        cmocka_unit_test(test_include_of_a_missing_file_names_the_include_line),
        cmocka_unit_test(test_include_cycle_is_an_error_naming_the_chain),
        cmocka_unit_test(test_float_getter_bounds_defaults_and_messages),
        cmocka_unit_test(test_int_getter_is_decimal_and_bounded),
        cmocka_unit_test(test_bool_getter_words),
        cmocka_unit_test(test_str_getter_default_and_required),
        cmocka_unit_test(test_choice_getter_is_case_insensitive_and_lists_choices),
        cmocka_unit_test(test_float_list_getter),
        cmocka_unit_test(test_pins_with_and_without_prefixes_and_mcu),
        cmocka_unit_test(test_config_error_formats_section_and_option),
        cmocka_unit_test(test_check_unused_lists_every_typo_in_file_order),
        cmocka_unit_test(test_check_unused_passes_when_everything_was_read),
        cmocka_unit_test(test_check_unused_with_many_typos_stays_bounded),
        cmocka_unit_test(test_paths_are_relative_to_the_file_they_are_written_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
