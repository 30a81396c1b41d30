/* What a user sees of a job: M73/M117 on the display, RESPOND and M118
 * messages, the status report (and its JSON), and the settings read from
 * printer.cfg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* reading the JSON status */
#include <string.h>      /* strcmp */

#include "config/config.h" /* fs_config_load_string */
#include "core/error.h"    /* struct fs_error */
#include "job_fixture.h"   /* the test world */

static void test_m73_and_m117_are_shown(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_job_status st;
    fx_setup(&fx, NULL);
    fs_job_get_status(fx.job, &st);
    assert_float_equal(st.remaining_s, -1.0, 0);
    assert_string_equal(st.display_message, "");

    assert_int_equal(fx_console(&fx, "M73 P42 R7", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "M117 Printing layer 3", NULL, 0), 0);
    fs_job_get_status(fx.job, &st);
    assert_float_equal(st.display_progress, 0.42, 1e-12);
    assert_float_equal(st.remaining_s, 420.0, 1e-9);
    assert_string_equal(st.display_message, "Printing layer 3");

    assert_int_equal(fx_console(&fx, "M73 P142", NULL, 0), -1); /* not a percentage */
    assert_int_equal(fx_console(&fx, "M117", NULL, 0), 0);       /* clears */
    fs_job_get_status(fx.job, &st);
    assert_string_equal(st.display_message, "");
    assert_float_equal(st.display_progress, 0.42, 1e-12);
    fx_teardown(&fx);
}

static void test_m73_from_the_file_is_recorded(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_job_status st;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", "M73 P0 R10\nG1 X1\nM73 P50 R5\nM117 half way\nG1 X2\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 4);
    fs_job_get_status(fx.job, &st);
    assert_float_equal(st.display_progress, 0.5, 1e-12);
    assert_float_equal(st.remaining_s, 300.0, 1e-9);
    assert_string_equal(st.display_message, "half way");
    fx_teardown(&fx);
}

static void test_respond_and_m118_prefixes(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    assert_int_equal(fx_console(&fx, "RESPOND MSG=\"Hello there\"", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "RESPOND TYPE=command MSG=action:pause", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "RESPOND TYPE=error MSG=\"Nozzle clogged\"", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "RESPOND PREFIX=>> MSG=custom", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "M118 Filament change", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "RESPOND TYPE=shout MSG=x", NULL, 0), -1);
    assert_int_equal(fx.output_count, 5);
    assert_string_equal(fx.output[0], "echo: Hello there");
    assert_string_equal(fx.output[1], "// action:pause");
    assert_string_equal(fx.output[2], "!! Nozzle clogged");
    assert_string_equal(fx.output[3], ">> custom");
    assert_string_equal(fx.output[4], "echo: Filament change");
    fx_teardown(&fx);
}

static void test_status_json_has_the_report_fields(void **state)
{
    (void)state;
    struct job_fixture fx;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", "G1 X1 E2\nG1 X2 E3\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fx_advance_to(&fx, 3.0);
    fs_job_run(fx.job, 1);
    cJSON *obj = cJSON_CreateObject();
    assert_int_equal(fs_job_status_to_json(fx.job, obj), 0);
    assert_string_equal(cJSON_GetObjectItem(obj, "state")->valuestring, "printing");
    assert_string_equal(cJSON_GetObjectItem(obj, "file")->valuestring, "part.gcode");
    assert_float_equal(cJSON_GetObjectItem(obj, "position")->valuedouble, 9, 0);
    assert_float_equal(cJSON_GetObjectItem(obj, "progress")->valuedouble, 0.5, 1e-12);
    assert_float_equal(cJSON_GetObjectItem(obj, "print_duration")->valuedouble, 3.0, 1e-9);
    assert_float_equal(cJSON_GetObjectItem(obj, "total_duration")->valuedouble, 3.0, 1e-9);
    assert_float_equal(cJSON_GetObjectItem(obj, "filament_used")->valuedouble, 2.0, 1e-9);
    assert_string_equal(cJSON_GetObjectItem(obj, "message")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(obj, "idle_state")->valuestring, "Printing");
    cJSON_Delete(obj);
    fx_teardown(&fx);
}

static void test_filament_during_pause_does_not_count(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_job_status st;
    fx_setup(&fx, NULL);
    fx_write_file(&fx, "part.gcode", "G1 E5\nG1 E6\n", 0);
    assert_int_equal(fx_console(&fx, "SDCARD_PRINT_FILE FILENAME=part.gcode", NULL, 0), 0);
    fs_job_run(fx.job, 1);
    assert_int_equal(fx_console(&fx, "PAUSE", NULL, 0), 0);
    assert_int_equal(fx_console(&fx, "G1 E25", NULL, 0), 0); /* purge by hand */
    fx.last_e = 5;                                            /* then G92 E5 */
    assert_int_equal(fx_console(&fx, "RESUME", NULL, 0), 0);
    fs_job_run(fx.job, 10);
    fs_job_get_status(fx.job, &st);
    assert_float_equal(st.filament_used_mm, 6.0, 1e-9);
    fx_teardown(&fx);
}

static void test_config_sections_are_read(void **state)
{
    (void)state;
    struct fs_config *cfg = NULL;
    struct fs_error err = {{0}};
    struct fs_job_config jc;
    const char *text = "[virtual_sdcard]\npath: /tmp\non_error_gcode: TURN_OFF_HEATERS\n"
                       "[pause_resume]\nrecover_velocity: 25\n"
                       "[idle_timeout]\ntimeout: 1800\ngcode:\n  M104 S0\n  M84\n"
                       "[respond]\ndefault_type: command\n";
    assert_int_equal(fs_config_load_string(text, "printer.cfg", &cfg, &err), 0);
    assert_int_equal(fs_job_config_read(cfg, &jc, &err), 0);
    assert_true(jc.has_virtual_sdcard);
    assert_string_equal(jc.sdcard_path, "/tmp");
    assert_string_equal(jc.sdcard_on_error_gcode, "TURN_OFF_HEATERS");
    assert_true(jc.has_pause_resume);
    assert_float_equal(jc.recover_velocity, 25.0, 0);
    assert_float_equal(jc.idle_timeout_s, 1800.0, 0);
    assert_string_equal(jc.idle_gcode, "M104 S0\nM84");
    assert_true(jc.has_respond);
    assert_int_equal(jc.respond_default_type, FS_RESPOND_COMMAND);
    assert_int_equal(fs_config_check_unused(cfg, &err), 0);
    fs_config_free(cfg);

    /* Without the sections: the defaults, and no SD card. */
    assert_int_equal(fs_config_load_string("[printer]\n", "printer.cfg", &cfg, &err), 0);
    assert_int_equal(fs_job_config_read(cfg, &jc, &err), 0);
    assert_false(jc.has_virtual_sdcard);
    assert_false(jc.has_pause_resume);
    assert_float_equal(jc.idle_timeout_s, 600.0, 0);
    assert_string_equal(jc.idle_gcode, "TURN_OFF_HEATERS\nM84");
    fs_config_free(cfg);

    /* A bad value names its place. */
    assert_int_equal(fs_config_load_string("[idle_timeout]\ntimeout: -5\n", "printer.cfg",
                                           &cfg, &err), 0);
    assert_int_equal(fs_job_config_read(cfg, &jc, &err), -1);
    assert_non_null(strstr(err.msg, "printer.cfg:2"));
    assert_non_null(strstr(err.msg, "timeout"));
    fs_config_free(cfg);
}

static void test_missing_sdcard_folder_is_a_startup_error(void **state)
{
    (void)state;
    struct job_fixture fx;
    struct fs_job_config jc;
    struct fs_job *job = NULL;
    struct fs_error err = {{0}};
    fx_setup(&fx, NULL);
    fs_job_config_defaults(&jc);
    jc.has_virtual_sdcard = 1;
    strcpy(jc.sdcard_path, "/nonexistent/gcodes");
    assert_int_equal(fs_job_new(&fx.printer, &jc, &job, &err), -1);
    assert_null(job);
    assert_non_null(strstr(err.msg, "[virtual_sdcard] path '/nonexistent/gcodes'"));
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m73_and_m117_are_shown),
        cmocka_unit_test(test_m73_from_the_file_is_recorded),
        cmocka_unit_test(test_respond_and_m118_prefixes),
        cmocka_unit_test(test_status_json_has_the_report_fields),
        cmocka_unit_test(test_filament_during_pause_does_not_count),
        cmocka_unit_test(test_config_sections_are_read),
        cmocka_unit_test(test_missing_sdcard_folder_is_a_startup_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
