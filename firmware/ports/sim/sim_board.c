/* What the sim board declares in its data dictionary: its clock, ADC and
 * PWM ranges, link speed and pin names. */
#include <string.h> /* strlen */

#include "command.h" /* FW_DECL_CONSTANT, FW_DECL_ENUMERATION_RANGE */
#include "fw_sim.h"  /* fw_sim_clock_freq, fw_sim_pin_by_name */
#include "fw_sim_port.h" /* FW_SIM_CLOCK_FREQ */

FW_DECL_CONSTANT("CLOCK_FREQ", FW_SIM_CLOCK_FREQ);
FW_DECL_CONSTANT_STR("MCU", "sim");
FW_DECL_CONSTANT("ADC_MAX", FW_SIM_ADC_MAX);
FW_DECL_CONSTANT("PWM_MAX", FW_SIM_PWM_MAX);
FW_DECL_CONSTANT("SERIAL_BAUD", 250000);

/* Four ports of sixteen pins, numbered 0..63 in order. */
FW_DECL_ENUMERATION_RANGE("pin", "PA0", 0, 16);
FW_DECL_ENUMERATION_RANGE("pin", "PB0", 16, 16);
FW_DECL_ENUMERATION_RANGE("pin", "PC0", 32, 16);
FW_DECL_ENUMERATION_RANGE("pin", "PD0", 48, 16);

uint32_t fw_sim_clock_freq(void)
{
    return FW_SIM_CLOCK_FREQ;
}

int32_t fw_sim_pin_by_name(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 3 || len > 4 || name[0] != 'P' || name[1] < 'A' || name[1] > 'D')
        return -1;
    int32_t n = 0;
    for (size_t i = 2; i < len; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        n = n * 10 + (name[i] - '0');
    }
    /* "PA01" is not a pin name. */
    if (n > 15 || (len == 4 && name[2] == '0'))
        return -1;
    return (name[1] - 'A') * 16 + n;
}
