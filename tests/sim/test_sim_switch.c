/* Carriage switches: a corexy X switch follows (A + B) / 2 of its two
 * motors, may sit on another MCU than the motors, and its broken-switch
 * fault reads released; read through the real firmware as a host would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h> /* snprintf */

#include "core/error.h" /* struct fs_error */
#include "mcu/mcu.h"    /* fs_mcu_query */
#include "sim_host.h"   /* struct sim_host */

static int query_pin(struct fs_mcu *m)
{
    struct fs_mcu_reply reply;
    struct fs_error err = {{0}};
    if (fs_mcu_query(m, "endstop_query_state oid=0",
                     "endstop_state oid=%c homing=%c next_clock=%u pin_value=%c", 0, &reply,
                     1.0, &err) < 0)
        fail_msg("%s", err.msg);
    return (int)fs_msg_get(&reply.msg, "pin_value", -1);
}

static void test_corexy_switch_follows_both_motors_across_mcus(void **state)
{
    (void)state;
    struct sim_host h;
    struct fs_error err = {{0}};
    assert_int_equal(sim_host_init(&h, 9, NULL, &err), 0);
    assert_int_equal(sim_host_add_mcu(&h, "mcu", NULL, &err), 0);
    assert_int_equal(sim_host_add_mcu(&h, "toolboard", NULL, &err), 0);
    struct plant_axis_params ap;
    plant_axis_params_default(&ap);
    ap.endstop_side = PLANT_ENDSTOP_NONE;
    struct sim_axis_pins a_pins = {"PB0", "PB1", NULL, NULL};
    struct sim_axis_pins b_pins = {"PB4", "PB5", NULL, NULL};
    int a = sim_world_add_axis(h.world, "mcu", &a_pins, &ap, &err);
    int b = sim_world_add_axis(h.world, "mcu", &b_pins, &ap, &err);
    assert_true(a >= 0 && b >= 0);
    /* X switch at x = 0 on the toolboard, pressed reads high. */
    struct sim_switch_spec spec = {2, {a, b}, {0.5, 0.5}, 0.0, 0, 1};
    int sw = sim_world_add_switch(h.world, "toolboard", "PA5", &spec, &err);
    assert_true(sw >= 0);
    /* The pin is taken now. */
    assert_int_equal(sim_world_add_switch(h.world, "toolboard", "PA5", &spec, &err), -1);

    if (sim_host_connect(&h, 5.0, &err) < 0)
        fail_msg("%s", err.msg);
    struct fs_mcu *tool = sim_host_mcu(&h, "toolboard");
    fs_mcu_create_oid(tool);
    assert_int_equal(fs_mcu_add_config_cmd(tool, &err, "config_endstop oid=0 pin=PA5 pull_up=0"), 0);
    if (fs_mcu_configure(tool, 5.0, &err) < 0)
        fail_msg("%s", err.msg);

    /* A at +30 mm, B at -10 mm: x = 10 mm, released. */
    sim_world_axis(h.world, a)->position_steps = 30 * 80;
    sim_world_axis(h.world, b)->position_steps = -10 * 80;
    assert_true(sim_world_switch_position_mm(h.world, sw) > 9.99);
    assert_int_equal(query_pin(tool), 0);
    /* A at +10, B at -10: x = 0, pressed. */
    sim_world_axis(h.world, a)->position_steps = 10 * 80;
    assert_int_equal(query_pin(tool), 1);
    /* Broken switch: released whatever the carriage does. */
    assert_int_equal(sim_world_switch_set_stuck_open(h.world, sw, 1), 0);
    assert_int_equal(query_pin(tool), 0);
    sim_host_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corexy_switch_follows_both_motors_across_mcus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
