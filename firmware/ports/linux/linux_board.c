/* What the linux port declares in its data dictionary besides the pins
 * (ports/simpins, the sim port's, so a printer configuration written for
 * the simulator runs unchanged against `failsoft-mcu`): its clock, and an
 * MCU name that lets a host tell the two builds apart. */
#include "command.h"  /* FW_DECL_CONSTANT */
#include "fw_linux.h" /* FW_LINUX_CLOCK_FREQ */

FW_DECL_CONSTANT("CLOCK_FREQ", FW_LINUX_CLOCK_FREQ);
FW_DECL_CONSTANT_STR("MCU", "linux-sim");
