/* What every board with simulated pins declares in its data dictionary:
 * the ADC and PWM ranges and the pin names. The port's own board file adds
 * its clock and MCU name, which tell the ports apart. */
#include <string.h> /* strlen */

#include "command.h"     /* FW_DECL_CONSTANT, FW_DECL_ENUMERATION_RANGE */
#include "fw_simpins.h" /* FW_SIMPINS_*, fw_simpins_pin_by_name */

FW_DECL_CONSTANT("ADC_MAX", FW_SIMPINS_ADC_MAX);
FW_DECL_CONSTANT("PWM_MAX", FW_SIMPINS_PWM_MAX);

/* Four ports of sixteen pins, numbered 0..63 in order. */
FW_DECL_ENUMERATION_RANGE("pin", "PA0", 0, 16);
FW_DECL_ENUMERATION_RANGE("pin", "PB0", 16, 16);
FW_DECL_ENUMERATION_RANGE("pin", "PC0", 32, 16);
FW_DECL_ENUMERATION_RANGE("pin", "PD0", 48, 16);

int32_t fw_simpins_pin_by_name(const char *name)
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
