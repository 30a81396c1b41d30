/* G-code macros: templates rendered with call parameters and printer state,
 * if/elif/else, arithmetic, filters, the recursion limit, and errors that
 * name the macro and the expression. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* INFINITY */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strstr, strcmp */

#include "config/config.h" /* fs_config_load_string */
#include "core/error.h"  /* struct fs_error */
#include "gcode/gcode.h" /* fs_gcode_* */
#include "gcode/macro.h" /* fs_macro_* */

/* Printer state seen through the lookup callback. */
struct fake_printer {
    double position_x;
    double extruder_temp;
    const char *homed_axes;
    int lookups;
};

static int fake_lookup(void *arg, const char *path, struct fs_macro_value *out,
                       struct fs_error *err)
{
    struct fake_printer *p = arg;
    p->lookups++;
    if (strcmp(path, "toolhead.position.x") == 0)
        fs_macro_value_float(out, p->position_x);
    else if (strcmp(path, "extruder.temperature") == 0)
        fs_macro_value_float(out, p->extruder_temp);
    else if (strcmp(path, "toolhead.homed_axes") == 0)
        return fs_macro_value_string(out, p->homed_axes, err);
    else if (strncmp(path, "mcu", 3) == 0)
        return fs_error_set(err, "mcu 'mcu' is not connected");
    return 0; /* anything else is undefined */
}

/* Renders body with the parameters of call_line ("START_PRINT BED=60"). */
static int render(const char *body, const char *call_line, struct fake_printer *printer,
                  char *out, size_t size, struct fs_error *err)
{
    struct fs_macro *m = fs_macro_new("TEST", body, err);
    if (!m)
        return -1;
    char buf[FS_GCODE_BUF_SIZE];
    struct fs_gcode_command cmd;
    int r = -1;
    if (fs_gcode_parse(call_line, buf, sizeof(buf), &cmd, err) >= 0)
        r = fs_macro_render(m, &cmd, fake_lookup, printer, out, size, err);
    fs_macro_free(m);
    return r;
}

static void assert_renders(const char *body, const char *call, const char *expected)
{
    struct fake_printer printer = {120.5, 209.8, "xyz", 0};
    char out[1024];
    struct fs_error err = {{0}};
    int r = render(body, call, &printer, out, sizeof(out), &err);
    if (r != 0)
        fail_msg("'%s' failed: %s", body, err.msg);
    assert_string_equal(out, expected);
}

static void assert_render_fails(const char *body, const char *call, const char *needle)
{
    struct fake_printer printer = {120.5, 209.8, "xyz", 0};
    char out[1024];
    struct fs_error err = {{0}};
    assert_int_equal(render(body, call, &printer, out, sizeof(out), &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("expected '%s' in '%s'", needle, err.msg);
}

static void test_parameters_fill_the_script(void **state)
{
    (void)state;
    assert_renders("M190 S{params.BED}\nM109 S{params.EXTRUDER}\n",
                   "START_PRINT BED=60 EXTRUDER=215",
                   "M190 S60\nM109 S215\n");
    /* Classic names take classic parameters; lower-case keys find them. */
    assert_renders("G1 X{params.x}", "M600 X10", "G1 X10");
    assert_renders("M117 {rawparams}", "M117 Printing now", "M117 Printing now");
}

static void test_defaults_and_conversions(void **state)
{
    (void)state;
    assert_renders("M104 S{params.TEMP|default(200)}", "START_PRINT", "M104 S200");
    assert_renders("M104 S{params.TEMP|default(200)}", "START_PRINT TEMP=230", "M104 S230");
    assert_renders("{params.T|float}", "X T=5", "5.0");
    assert_renders("{params.T|int}", "X T=5.9", "5");
    assert_renders("{params.T|float * 2}", "X T=2.5", "5.0");
    assert_renders("{(1 / 3)|round(3)}", "X", "0.333");
    assert_renders("{2.5|round}", "X", "2.0");
    assert_renders("{\"abc\"}", "X", "abc");
}

static void test_arithmetic_precedence_and_parentheses(void **state)
{
    (void)state;
    assert_renders("{1 + 2 * 3}", "X", "7");
    assert_renders("{(1 + 2) * 3}", "X", "9");
    assert_renders("{10 - 4 - 3}", "X", "3");
    assert_renders("{7 / 2}", "X", "3.5");
    assert_renders("{-2 * 3 + 1}", "X", "-5");
    assert_renders("{params.A + params.B * 2}", "X A=1 B=4", "9");
    assert_renders("{0.1 + 0.2}", "X", "0.30000000000000004");
    assert_render_fails("{1 / 0}", "X", "division by zero");
}

static void test_if_elif_else_choose_the_branch(void **state)
{
    (void)state;
    const char *body = "{% if params.MODE == \"fast\" %}F6000"
                       "{% elif params.SPEED|default(0)|float > 100 and not params.SLOW %}F3000"
                       "{% else %}F600{% endif %}";
    assert_renders(body, "X MODE=fast", "F6000");
    assert_renders(body, "X SPEED=150", "F3000");
    assert_renders(body, "X SPEED=150 SLOW=1", "F600");
    assert_renders(body, "X", "F600");
    /* Nested blocks and comparisons. */
    assert_renders("{% if 1 < 2 %}{% if 2 <= 1 %}a{% else %}b{% endif %}c{% endif %}d", "X",
                   "bcd");
    assert_renders("{% if params.X %}has{% endif %}", "X", "");
    assert_renders("{1 != 2 or 0}", "X", "True");
}

static void test_printer_state_through_the_lookup(void **state)
{
    (void)state;
    assert_renders("G1 X{printer.toolhead.position.x + 10}", "X", "G1 X130.5");
    assert_renders("{% if printer.extruder.temperature >= 200 %}hot{% else %}cold{% endif %}",
                   "X", "hot");
    assert_renders("{% if printer.toolhead.homed_axes != \"xyz\" %}G28{% endif %}", "X", "");
    assert_renders("{printer.bed_mesh.profile|default(\"none\")}", "X", "none");
    assert_render_fails("{printer.mcu.version}", "X", "mcu 'mcu' is not connected");
    assert_render_fails("{printer.heater_bed.target}", "X", "printer.heater_bed.target is undefined");
}

static void test_template_errors_name_the_macro_and_expression(void **state)
{
    (void)state;
    struct fs_error err;
    assert_null(fs_macro_new("START_PRINT", "G1\nM104 S{params.T + }\n", &err));
    assert_non_null(strstr(err.msg, "macro START_PRINT, line 2"));
    assert_non_null(strstr(err.msg, "{params.T + }"));
    assert_null(fs_macro_new("START_PRINT", "{% if 1 %}\nG28\n", &err));
    assert_non_null(strstr(err.msg, "macro START_PRINT, line 1: 'if' without 'endif'"));
    assert_null(fs_macro_new("P", "{% for x in y %}{% endfor %}", &err));
    assert_non_null(strstr(err.msg, "unknown tag"));
    assert_null(fs_macro_new("P", "{% else %}", &err));
    assert_non_null(strstr(err.msg, "'else' without an open 'if'"));
    assert_null(fs_macro_new("P", "{ foo.bar }", &err));
    assert_non_null(strstr(err.msg, "unknown name 'foo'"));
    assert_null(fs_macro_new("P", "{ params.X|upper }", &err));
    assert_non_null(strstr(err.msg, "unknown filter"));
    char long_sum[1024] = "{1";
    for (int i = 0; i < 200; i++)
        strcat(long_sum, "+1");
    strcat(long_sum, "}");
    assert_null(fs_macro_new("P", long_sum, &err));
    assert_non_null(strstr(err.msg, "nested more than"));
    assert_null(fs_macro_new("P", "G1 X{params.X", &err));
    assert_non_null(strstr(err.msg, "'{' without '}'"));

    /* Errors found while rendering carry the macro, line and expression too. */
    assert_render_fails("G28\nM109 S{params.TEMP + 5}", "X",
                        "macro TEST, line 2: params.TEMP is undefined, in '{params.TEMP + 5}'");
    assert_render_fails("{params.T|float}", "X T=hot", "cannot convert 'hot' to a number");
}

static void test_rendered_script_longer_than_the_buffer_is_an_error(void **state)
{
    (void)state;
    struct fake_printer printer = {0};
    char out[16];
    struct fs_error err;
    assert_int_equal(render("G1 X{params.X}\nG1 Y{params.X}\n", "X X=100000", &printer, out,
                            sizeof(out), &err), -1);
    assert_non_null(strstr(err.msg, "rendered script longer than 15 bytes"));
}

/* ---- registered macros ---- */

struct fake_heater {
    double target;
    int sets;
};

static int cmd_m104(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    struct fake_heater *h = arg;
    h->sets++;
    return fs_gcode_get_float(cmd, "S", 0, 0, 300, &h->target, err);
}

static void test_registered_macro_runs_its_script(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_heater heater = {0};
    struct fake_printer printer = {0};
    fs_gcode_register(g, "M104", cmd_m104, &heater, "Set extruder temperature", &err);
    struct fs_macro *m = fs_macro_new("start_print",
                                      "; warm up\n"
                                      "M104 S{params.EXTRUDER|default(200)|float + 5}\n",
                                      &err);
    assert_non_null(m);
    assert_int_equal(fs_macro_set_description(m, "Heat and go", &err), 0);
    assert_int_equal(fs_macro_register(g, m, fake_lookup, &printer, &err), 0);
    assert_true(fs_gcode_is_registered(g, "START_PRINT"));
    assert_int_equal(fs_gcode_run_line(g, "START_PRINT EXTRUDER=210", "console", &err), 0);
    assert_float_equal(heater.target, 215, 0);
    assert_int_equal(fs_gcode_run_line(g, "start_print", "console", &err), 0);
    assert_float_equal(heater.target, 205, 0);

    /* A failing line inside the macro names the call site, macro and line. */
    assert_int_equal(fs_gcode_run_line(g, "START_PRINT EXTRUDER=500", "print.gcode:3", &err),
                     -1);
    assert_string_equal(err.msg, "print.gcode:3: macro START_PRINT:2: M104: S=505 must be at most 300");
    fs_gcode_free(g);
    fs_macro_free(m);
}

static void test_macro_calling_macros_and_the_recursion_limit(void **state)
{
    (void)state;
    struct fs_error err;
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_heater heater = {0};
    fs_gcode_register(g, "M104", cmd_m104, &heater, NULL, &err);
    struct fs_macro *inner = fs_macro_new("HEAT", "M104 S{params.S}", &err);
    struct fs_macro *outer = fs_macro_new("PREPARE", "HEAT S={params.T|int * 2}\n", &err);
    struct fs_macro *loop = fs_macro_new("LOOP", "M104 S1\nLOOP\n", &err);
    assert_int_equal(fs_macro_register(g, inner, NULL, NULL, &err), 0);
    assert_int_equal(fs_macro_register(g, outer, NULL, NULL, &err), 0);
    assert_int_equal(fs_macro_register(g, loop, NULL, NULL, &err), 0);
    assert_int_equal(fs_gcode_run_line(g, "PREPARE T=100", "console", &err), 0);
    assert_float_equal(heater.target, 200, 0);

    heater.sets = 0;
    assert_int_equal(fs_gcode_run_line(g, "LOOP", "console", &err), -1);
    assert_non_null(strstr(err.msg, "macro LOOP runs inside itself more than 16 deep"));
    assert_int_equal(heater.sets, FS_MACRO_DEPTH_MAX);
    /* The guard resets: a later, proper call works. */
    assert_int_equal(fs_gcode_run_line(g, "HEAT S=50", "console", &err), 0);
    assert_float_equal(heater.target, 50, 0);

    /* A second macro with a taken name is refused. */
    struct fs_macro *dup = fs_macro_new("heat", "M104 S0", &err);
    assert_int_equal(fs_macro_register(g, dup, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "'HEAT' is already registered"));
    fs_gcode_free(g);
    fs_macro_free(inner);
    fs_macro_free(outer);
    fs_macro_free(loop);
    fs_macro_free(dup);
}

static void test_macros_from_printer_cfg_sections(void **state)
{
    (void)state;
    const char *cfg_text = "[gcode_macro START_PRINT]\n"
                           "description: Heat the nozzle\n"
                           "gcode:\n"
                           "    {% if params.EXTRUDER|default(0)|float > 0 %}\n"
                           "    M104 S{params.EXTRUDER}\n"
                           "    {% endif %}\n"
                           "\n"
                           "[gcode_macro BROKEN]\n"
                           "gcode:\n"
                           "    M104 S{params.T +}\n";
    struct fs_error err;
    struct fs_config *cfg = NULL;
    assert_int_equal(fs_config_load_string(cfg_text, "printer.cfg", &cfg, &err), 0);
    struct fs_gcode *g = fs_gcode_new(&err);
    struct fake_heater heater = {0};
    fs_gcode_register(g, "M104", cmd_m104, &heater, NULL, &err);

    struct fs_macro *m = fs_macro_from_config(fs_config_get_section(cfg, "gcode_macro START_PRINT"),
                                              &err);
    if (!m)
        fail_msg("%s", err.msg);
    assert_string_equal(fs_macro_name(m), "START_PRINT");
    assert_string_equal(fs_macro_description(m), "Heat the nozzle");
    assert_int_equal(fs_macro_register(g, m, NULL, NULL, &err), 0);
    assert_int_equal(fs_gcode_run_line(g, "START_PRINT EXTRUDER=205", "console", &err), 0);
    assert_float_equal(heater.target, 205, 0);

    struct fs_macro *broken = fs_macro_from_config(fs_config_get_section(cfg, "gcode_macro BROKEN"),
                                                   &err);
    assert_null(broken);
    assert_non_null(strstr(err.msg, "printer.cfg:"));
    assert_non_null(strstr(err.msg, "macro BROKEN, line 1"));
    assert_non_null(strstr(err.msg, "{params.T +}"));
    assert_int_equal(fs_config_check_unused(cfg, &err), 0);
    fs_gcode_free(g);
    fs_macro_free(m);
    fs_config_free(cfg);
}

/* A mistyped template is an error at load time or renders; never a crash. */
static void test_template_noise_is_an_error_or_renders(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "{", "}", "{%", "%}", " if ", " elif ", " else ", " endif ", "params.X", "printer.a.b",
        "(", ")", "+", "-", "*", "/", "|int", "|float", "|default(", "|round(", "1", "2.5",
        "\"s\"", " and ", " or ", " not ", "<", "==", "\n", "G1 X", "True",
    };
    const int n = (int)(sizeof(pieces) / sizeof(pieces[0]));
    uint32_t seed = 777;
    char body[512];
    char out[2048];
    struct fake_printer printer = {1, 2, "xy", 0};
    for (int round = 0; round < 5000; round++) {
        body[0] = '\0';
        seed = seed * 1103515245u + 12345u;
        int count = (int)((seed >> 16) % 24);
        for (int i = 0; i < count; i++) {
            seed = seed * 1103515245u + 12345u;
            strcat(body, pieces[(seed >> 16) % (uint32_t)n]);
        }
        struct fs_error err = {{0}};
        struct fs_macro *m = fs_macro_new("NOISE", body, &err);
        if (!m) {
            assert_non_null(strstr(err.msg, "macro NOISE"));
            continue;
        }
        char buf[FS_GCODE_BUF_SIZE];
        struct fs_gcode_command cmd;
        fs_gcode_parse("NOISE X=3", buf, sizeof(buf), &cmd, &err);
        if (fs_macro_render(m, &cmd, fake_lookup, &printer, out, sizeof(out), &err) < 0)
            assert_non_null(strstr(err.msg, "macro NOISE"));
        fs_macro_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameters_fill_the_script),
        cmocka_unit_test(test_defaults_and_conversions),
        cmocka_unit_test(test_arithmetic_precedence_and_parentheses),
        cmocka_unit_test(test_if_elif_else_choose_the_branch),
        cmocka_unit_test(test_printer_state_through_the_lookup),
        cmocka_unit_test(test_template_errors_name_the_macro_and_expression),
        cmocka_unit_test(test_rendered_script_longer_than_the_buffer_is_an_error),
        cmocka_unit_test(test_registered_macro_runs_its_script),
        cmocka_unit_test(test_macro_calling_macros_and_the_recursion_limit),
        cmocka_unit_test(test_macros_from_printer_cfg_sections),
        cmocka_unit_test(test_template_noise_is_an_error_or_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
