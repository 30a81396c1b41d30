/* What the sim board declares in its data dictionary besides the pins
 * (ports/simpins): its clock, name and link speed. */
#include "command.h"     /* FW_DECL_CONSTANT */
#include "fw_sim.h"      /* fw_sim_clock_freq, fw_sim_pin_by_name */
#include "fw_sim_port.h" /* FW_SIM_CLOCK_FREQ */
#include "fw_simpins.h"  /* fw_simpins_pin_by_name */

FW_DECL_CONSTANT("CLOCK_FREQ", FW_SIM_CLOCK_FREQ);
FW_DECL_CONSTANT_STR("MCU", "sim");
FW_DECL_CONSTANT("SERIAL_BAUD", 250000);

uint32_t fw_sim_clock_freq(void)
{
    return FW_SIM_CLOCK_FREQ;
}

int32_t fw_sim_pin_by_name(const char *name)
{
    return fw_simpins_pin_by_name(name);
}
