/* A test hook of the sim port: run a function on one MCU's firmware as if
 * from one of its tasks (its instance current, a shutdown unwinds back
 * here). Tests of the core use it to reach core functions, such as adding a
 * timer, that no command exposes. Not for the simulator. */
#ifndef FW_SIM_TEST_H
#define FW_SIM_TEST_H

#include "fw_sim.h" /* struct fw_sim_mcu */

void fw_sim_mcu_call(struct fw_sim_mcu *m, void (*fn)(void *ctx), void *ctx);

#endif
