/* Private to the linux port: the state of its one MCU. */
#ifndef FW_LINUX_PORT_H
#define FW_LINUX_PORT_H

#include <stdint.h> /* uint64_t, uint32_t, uint8_t */

#include "fw_linux.h"   /* struct fw_linux_wiring */
#include "fw_simpins.h" /* struct fw_simpins */
#include "instance.h"   /* struct fw_instance */

struct fw_linux_mcu {
    struct fw_instance inst;
    struct fw_linux_wiring wiring; /* its pin part is copied into pins */
    uint64_t clock;
    uint8_t powered;
    uint8_t reset_pending; /* `reset` ran: power-cycle once out of the core */
    uint32_t restarts;
    struct fw_simpins pins;
};

#endif
