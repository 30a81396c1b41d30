/* Injected MCU faults as the engine's MCU layer sees them on two connected,
 * configured boards: a cut link is reported as lost while it lasts, the
 * main board is untouched, and the wire carries again once it ends. */
#include <setjmp.h> /* cmocka needs it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h" /* struct fs_error */
#include "mcu/mcu.h"    /* fs_mcu_is_lost, fs_mcu_configure */
#include "sim_host.h"   /* struct sim_host */
#include "sim_inject.h" /* sim_inject_mcu */

static void start(struct sim_host *h)
{
    struct fs_error err;
    assert_int_equal(sim_host_init(h, 9, NULL, &err), 0);
    assert_int_equal(sim_host_add_mcu(h, "mcu", NULL, &err), 0);
    assert_int_equal(sim_host_add_mcu(h, "toolboard", NULL, &err), 0);
    if (sim_host_connect(h, 5.0, &err) < 0)
        fail_msg("connect: %s", err.msg);
    if (fs_mcu_configure(sim_host_mcu(h, "mcu"), 5.0, &err) < 0 ||
        fs_mcu_configure(sim_host_mcu(h, "toolboard"), 5.0, &err) < 0)
        fail_msg("configure: %s", err.msg);
    sim_host_run_for(h, 2.0);
}

static void test_engine_sees_a_cut_link_lost_while_it_lasts(void **state)
{
    (void)state;
    struct sim_host h;
    start(&h);
    struct fs_mcu *main_mcu = sim_host_mcu(&h, "mcu"), *tool = sim_host_mcu(&h, "toolboard");
    struct fs_error err;
    struct sim_mcu_fault cut = {.kind = SIM_MCU_LINK_CUT, .duration_ns = 6000000000};
    assert_int_equal(sim_inject_mcu(h.world, "toolboard", &cut, &err), 0);
    sim_host_run_for(&h, 5.9);
    assert_true(fs_mcu_is_lost(tool));
    assert_false(fs_mcu_is_lost(main_mcu));
    sim_host_run_for(&h, 0.2);
    const struct sim_wire_stats *down = sim_world_wire_stats(h.world, "toolboard",
                                                             SIM_WIRE_TO_MCU);
    uint64_t delivered = down->bytes_delivered, cut_bytes = down->bytes_cut;
    sim_host_run_for(&h, 1.0);
    /* The wire carries again: what the engine sends arrives. */
    assert_int_equal(down->bytes_cut, cut_bytes);
    assert_true(down->bytes_delivered > delivered);
    assert_false(fs_mcu_has_restarted(tool));
    sim_host_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_sees_a_cut_link_lost_while_it_lasts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
