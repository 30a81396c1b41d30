/* The fault module's commands as a user types them: FAULT_TEST raises
 * through the real path (or lists what is valid), FAULTS shows evidence,
 * action and per-axis position validity, FAULT_ACK lets maintenance moves
 * through after a halt, FAULT_CLEAR clears (all or one source) and refuses
 * while the part reads bad. Also the catalogue as `failsoft faults` prints
 * it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON_* */
#include <stdio.h>       /* snprintf, open_memstream */
#include <stdlib.h>      /* free */
#include <string.h>      /* strstr */

#include "core/error.h"  /* struct fs_error */
#include "fault/fault.h" /* fs_faults_* */
#include "gcode/gcode.h" /* fs_gcode_* */
#include "fault_test_util.h"

struct console {
    char text[8192];
};

static void console_out(void *arg, const char *text)
{
    struct console *c = arg;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof(c->text) - len, "%s\n", text);
}

struct part {
    int reads_bad;
    int disabled;
};

static void part_disable(void *arg, enum fs_fault_kind kind) { ((struct part *)arg)->disabled = 1; }
static int part_clear(void *arg, enum fs_fault_kind kind, struct fs_error *err)
{
    struct part *p = arg;
    if (p->reads_bad)
        return fs_error_set(err, "extruder still reads -14.2 C (sensor open?)");
    p->disabled = 0;
    return 0;
}
static unsigned part_untrusted(void *arg, enum fs_fault_kind kind)
{
    return kind == FS_FAULT_DRIVER_ERROR ? FS_FAULT_AXIS_X : 0;
}
static unsigned all_homed(void *arg) { return 7; }
static int printing(void *arg) { return 1; }

struct rig {
    struct cfg_fixture fx;
    struct fs_faults *f;
    struct fs_gcode *g;
    struct console con;
    struct part extruder, driver;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    cfg_fixture_load(&r->fx, "[extruder]\non_fault_gcode: M117 x\n[tmc2209 stepper_x]\n");
    struct fs_error err = {{0}};
    r->f = fs_faults_new(NULL, NULL, NULL, &err);
    assert_non_null(r->f);
    struct fs_fault_actions a = {.homed_axes = all_homed, .job_active = printing};
    fs_faults_set_actions(r->f, &a);
    struct fs_fault_source_ops ops = {part_disable, part_clear, part_untrusted, NULL};
    assert_non_null(fs_faults_add_source(r->f, "extruder", FS_FAULT_CLASS_HEATER, 0,
                                         fs_config_get_section(r->fx.cfg, "extruder"), &ops,
                                         &r->extruder, &err));
    assert_non_null(fs_faults_add_source(r->f, "tmc2209 stepper_x", FS_FAULT_CLASS_DRIVER,
                                         FS_FAULT_SOURCE_AXIS_X,
                                         fs_config_get_section(r->fx.cfg, "tmc2209 stepper_x"),
                                         &ops, &r->driver, &err));
    r->g = fs_gcode_new(&err);
    assert_non_null(r->g);
    fs_gcode_set_output(r->g, console_out, &r->con);
    if (fs_faults_register_gcode(r->f, r->g, &err) < 0)
        fail_msg("%s", err.msg);
}

static void rig_free(struct rig *r)
{
    fs_gcode_free(r->g);
    fs_faults_free(r->f);
    cfg_fixture_free(&r->fx);
}

static int run(struct rig *r, const char *line, struct fs_error *err)
{
    r->con.text[0] = '\0';
    return fs_gcode_run_line(r->g, line, "console", err);
}

static void test_fault_test_raises_like_a_real_fault(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    struct fs_error err = {{0}};
    if (run(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open EVIDENCE=\"pulled the plug\"",
            &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(r.extruder.disabled);
    assert_int_equal(fs_faults_record_count(r.f), 1);
    const struct fs_fault_record *rec = fs_faults_record_at(r.f, 0);
    assert_string_equal(rec->evidence, "FAULT_TEST: pulled the plug");
    assert_int_equal(rec->action, FS_FAULT_PAUSE);
    assert_true(fs_faults_has_work(r.f));

    assert_int_equal(run(&r, "FAULTS", &err), 0);
    assert_non_null(strstr(r.con.text, "// Faults: 1 active, 0 cleared"));
    assert_non_null(strstr(r.con.text, "#1 ACTIVE"));
    assert_non_null(strstr(r.con.text, "extruder sensor_open: FAULT_TEST: pulled the plug -> "
                                       "pause; position x:valid y:valid z:valid"));
    rig_free(&r);
}

static void test_fault_test_lists_what_is_valid(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "FAULT_TEST SOURCE=hotend KIND=sensor_open", &err), -1);
    assert_non_null(strstr(err.msg, "unknown SOURCE 'hotend'; the fault sources are: "
                                    "'extruder', 'tmc2209 stepper_x'"));
    assert_int_equal(run(&r, "FAULT_TEST SOURCE=extruder KIND=runout", &err), -1);
    assert_non_null(strstr(err.msg, "extruder (heater) cannot raise KIND 'runout'; it can "
                                    "raise: sensor_open, sensor_short"));
    assert_int_equal(run(&r, "FAULT_TEST SOURCE=extruder", &err), -1);
    assert_non_null(strstr(err.msg, "missing KIND"));
    assert_int_equal(fs_faults_record_count(r.f), 0);
    rig_free(&r);
}

static void test_halt_ack_then_clear(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "FAULT_TEST SOURCE=\"tmc2209 stepper_x\" KIND=driver_error", &err),
                     0);
    assert_int_equal(run(&r, "FAULTS", &err), 0);
    assert_non_null(strstr(r.con.text, "-> halt; position x:LOST y:valid z:valid"));
    assert_int_equal(fs_faults_check_motion(r.f, &err), -1);
    assert_int_equal(run(&r, "FAULT_ACK", &err), 0);
    assert_non_null(strstr(r.con.text, "1 halt(s) acknowledged"));
    assert_int_equal(fs_faults_check_motion(r.f, &err), 0);
    assert_int_equal(run(&r, "FAULT_CLEAR SOURCE=\"tmc2209 stepper_x\"", &err), 0);
    assert_non_null(strstr(r.con.text, "FAULT_CLEAR: tmc2209 stepper_x cleared"));
    assert_int_equal(fs_faults_check_resume(r.f, &err), 0);
    rig_free(&r);
}

static void test_fault_clear_refused_while_bad(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    struct fs_error err = {{0}};
    assert_int_equal(run(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open", &err), 0);
    r.extruder.reads_bad = 1;
    assert_int_equal(run(&r, "FAULT_CLEAR", &err), -1);
    assert_non_null(strstr(err.msg, "FAULT_CLEAR: extruder still reads -14.2 C (sensor open?)"));
    assert_true(r.extruder.disabled);
    assert_int_equal(run(&r, "FAULT_CLEAR SOURCE=nothing", &err), -1);
    assert_non_null(strstr(err.msg, "unknown SOURCE 'nothing'"));
    r.extruder.reads_bad = 0;
    assert_int_equal(run(&r, "FAULT_CLEAR", &err), 0);
    assert_false(r.extruder.disabled);
    assert_int_equal(run(&r, "FAULTS", &err), 0);
    assert_non_null(strstr(r.con.text, "Faults: 0 active, 1 cleared"));
    rig_free(&r);
}

static const cJSON *find_kind(const cJSON *root, const char *name)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(root, "kinds"))
    {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(k, "name")->valuestring, name))
            return k;
    }
    return NULL;
}

static void test_catalogue_json_and_text(void **state)
{
    (void)state;
    cJSON *root = fs_faults_catalogue_json(NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "kinds")),
                     FS_FAULT_KIND_COUNT);
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "sources"));
    const cJSON *open = find_kind(root, "sensor_open");
    assert_non_null(open);
    const cJSON *heater = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(open, "raised_by"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(heater, "class")->valuestring, "heater");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(heater, "floor")->valuestring, "disable");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(heater, "default_failsoft")->valuestring,
                        "pause");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(heater, "default_strict")->valuestring,
                        "shutdown");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "floors")),
                     fs_fault_floor_row_count());
    cJSON_Delete(root);

    struct rig r;
    rig_init(&r);
    root = fs_faults_catalogue_json(r.f);
    const cJSON *src = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "sources"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(src, "name")->valuestring, "extruder");
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(src, "actions");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(acts, "uncommanded_heating")->valuestring,
                        "shutdown");
    assert_null(cJSON_GetObjectItemCaseSensitive(acts, "runout"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(src, "on_fault_gcode")->valuestring,
                        "M117 x");
    cJSON_Delete(root);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(fs_faults_catalogue_print(r.f, out), 0);
    fclose(out);
    assert_non_null(strstr(text, "\nsensor_open\n  detected: "));
    assert_non_null(strstr(text, "  heater: default pause (strict: shutdown), floor disable (a "
                                 "heater without a trustworthy reading can start a fire)"));
    assert_non_null(strstr(text, "  mcu that drives X/Y/Z steppers: default halt"));
    assert_non_null(strstr(text, "Effective policy (profile failsoft):\n  extruder (heater)\n"));
    free(text);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_test_raises_like_a_real_fault),
        cmocka_unit_test(test_fault_test_lists_what_is_valid),
        cmocka_unit_test(test_halt_ack_then_clear),
        cmocka_unit_test(test_fault_clear_refused_while_bad),
        cmocka_unit_test(test_catalogue_json_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
