/* Private to the sim port: one simulated MCU. */
#ifndef FW_SIM_PORT_H
#define FW_SIM_PORT_H

#include <stdint.h> /* uint64_t */

#include "fw_sim.h"     /* struct fw_sim_wiring */
#include "fw_simpins.h" /* struct fw_simpins */
#include "instance.h"   /* struct fw_instance */

#define FW_SIM_CLOCK_FREQ 50000000u

struct fw_sim_mcu {
    struct fw_instance inst;
    struct fw_sim_wiring wiring;
    uint64_t clock;
    uint8_t powered;
    uint8_t reset_pending; /* `reset` ran: power-cycle once back in the port */
    struct fw_simpins pins;
};

#endif
