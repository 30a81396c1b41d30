/* A whole sliced print on the reference printer (scenarios/configs/
 * demo_cartesian.cfg: main board and toolboard, extruder on the toolboard)
 * in the simulator, heaters included: the file runs to its last line with
 * no refused command, no MCU shutdown, the motion queue never running dry,
 * and the motors where the file left the head. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>   /* fabs */
#include <stdio.h>  /* fopen, fgets */
#include <string.h> /* strcspn, memset */

#include "config/config.h"   /* fs_config_load */
#include "core/error.h"      /* struct fs_error */
#include "gcode/gcode.h"     /* fs_gcode_* */
#include "mcu/mcu.h"         /* fs_mcu_configure */
#include "motion/stepper.h"  /* fs_stepsync_free */
#include "motion/gcode_move.h" /* fs_gcode_move_new */
#include "motion/homing.h"   /* fs_homing_new */
#include "motion/toolhead.h" /* fs_toolhead_* */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_printer.h"     /* sim_printer_build */
#include "thermal/heaters.h" /* fs_heaters_new */

struct rig {
    struct sim_host host;
    struct sim_printer sp;
    struct fs_config *cfg;
    struct fs_printer printer;
    int shutdowns;
};

static void on_event(void *arg, struct fs_mcu *m, enum fs_mcu_event ev, const char *detail,
                     double eventtime)
{
    (void)eventtime;
    struct rig *r = arg;
    if (ev == FS_MCU_EVENT_SHUTDOWN) {
        r->shutdowns++;
        print_message("mcu '%s' shut down: %s\n", fs_mcu_name(m), detail);
    }
}

static void ignore_output(void *arg, const char *text)
{
    (void)arg;
    (void)text;
}

static void build(struct rig *r, const char *cfg_path)
{
    memset(r, 0, sizeof(*r));
    struct fs_error err = {{0}};
    struct sim_host *h = &r->host;
    struct fs_printer *p = &r->printer;
    if (sim_host_init(h, 7, NULL, &err) < 0 || fs_config_load(cfg_path, &r->cfg, &err) < 0 ||
        sim_printer_build(h, r->cfg, &r->sp, &err) < 0 || sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("setup: %s", err.msg);
    p->reactor = &h->reactor;
    p->config = r->cfg;
    p->gcode = fs_gcode_new(&err);
    assert_non_null(p->gcode);
    fs_gcode_set_output(p->gcode, ignore_output, NULL);
    for (int i = 0; i < h->mcu_count; i++) {
        p->mcus[p->mcu_count++] = h->mcus[i];
        fs_mcu_set_event_handler(h->mcus[i], on_event, r);
    }
    /* The modules in the printer's order (printer/modules.c). */
    if (!(p->heaters = fs_heaters_new(p, &err)) || !(p->toolhead = fs_toolhead_new(p, &err)) ||
        !(p->homing = fs_homing_new(p->toolhead, &err)) ||
        !(p->gcode_move = fs_gcode_move_new(p->toolhead, p->gcode, &err)))
        fail_msg("modules: %s", err.msg);
    for (int i = 0; i < p->mcu_count; i++)
        if (fs_mcu_configure(p->mcus[i], 5.0, &err) < 0)
            fail_msg("configure: %s", err.msg);
}

static void destroy(struct rig *r)
{
    struct fs_printer *p = &r->printer;
    fs_gcode_move_free(p->gcode_move);
    fs_homing_free(p->homing);
    fs_toolhead_free(p->toolhead);
    fs_heaters_free(p->heaters);
    for (int i = 0; i < p->mcu_count; i++)
        fs_stepsync_free(p->stepsyncs[i]);
    fs_gcode_free(p->gcode);
    sim_host_free(&r->host);
    fs_config_free(r->cfg);
}

static void test_sliced_cube_prints_to_the_end_on_the_demo_printer(void **state)
{
    (void)state;
    static struct rig r;
    build(&r, FS_SOURCE_DIR "/scenarios/configs/demo_cartesian.cfg");
    FILE *f = fopen(FS_SOURCE_DIR "/scenarios/gcode/prusaslicer-cube20.gcode", "r");
    assert_non_null(f);
    char line[FS_GCODE_LINE_MAX + 2];
    int lines = 0;
    struct fs_error err = {{0}};
    while (fgets(line, sizeof(line), f)) {
        lines++;
        line[strcspn(line, "\r\n")] = '\0';
        if (fs_gcode_run_line(r.printer.gcode, line, "prusaslicer-cube20.gcode", &err) < 0)
            fail_msg("line %d '%s': %s", lines, line, err.msg);
    }
    fclose(f);
    fs_toolhead_wait_moves(r.printer.toolhead);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(r.printer.toolhead, &st);
    double plant[4];
    sim_printer_position(&r.sp, r.host.world, plant);
    assert_true(lines > 5000 && st.moves > 4000);
    assert_int_equal(st.stalls, 0);
    assert_int_equal(r.shutdowns, 0);
    /* The file parks at X0 Y200 and lifts to Z30. */
    assert_true(fabs(st.position[0] - 0.0) < 1e-9 && fabs(st.position[1] - 200.0) < 1e-9);
    assert_true(fabs(st.position[2] - 30.0) < 1e-9);
    for (int i = 0; i < 4; i++) {
        /* One step: 80 steps/mm on X Y, 400 on Z, about 95.5 on E. */
        double step = i < 2 ? 1.0 / 80 : i == 2 ? 1.0 / 400 : 1.0 / 95.5;
        if (fabs(plant[i] - st.position[i]) > step)
            fail_msg("axis %d: plant %.4f, commanded %.4f", i, plant[i], st.position[i]);
    }
    destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sliced_cube_prints_to_the_end_on_the_demo_printer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
