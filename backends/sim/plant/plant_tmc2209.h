/* A TMC2209 stepper driver as its UART and its protection circuits see it:
 * the register file, the one-wire PDN_UART interface (receiving datagrams
 * from the levels the MCU drives, answering reads as a function of time),
 * and fault injection (over-temperature, shorts, open load, under-voltage,
 * an unexpected reset) that sets the status bits the real chip would and
 * switches its outputs off when the chip would.
 *
 * The receiver works like the chip's: a datagram starts with a falling
 * edge on an idle line, the bit time is measured from the sync nibble
 * (1010: falling edges at bits 0, 2 and 4, so the chip follows any baud
 * rate the host uses), bits are sampled in their middle, a bad CRC or a
 * foreign node address is ignored (no IFCNT change, no reply). A read is
 * answered SENDDELAY bit times (SLAVECONF; 8 by default) after the
 * request's stop bit, offset by half a bit because the chip's clock is not
 * the MCU's: the MCU, which polls once per bit, never samples on an edge.
 *
 * Times are nanoseconds on any one timeline; no events are needed: call
 * plant_tmc2209_line() for every level the MCU drives, and
 * plant_tmc2209_reply_level() to learn what the chip drives. No
 * allocation, no dependency on the simulator. */
#ifndef PLANT_TMC2209_H
#define PLANT_TMC2209_H

#include <stdint.h> /* int64_t, uint32_t, uint8_t */

/* Registers. */
#define PLANT_TMC_GCONF 0x00
#define PLANT_TMC_GSTAT 0x01
#define PLANT_TMC_IFCNT 0x02
#define PLANT_TMC_SLAVECONF 0x03
#define PLANT_TMC_IOIN 0x06
#define PLANT_TMC_IHOLD_IRUN 0x10
#define PLANT_TMC_TPOWERDOWN 0x11
#define PLANT_TMC_TPWMTHRS 0x13
#define PLANT_TMC_CHOPCONF 0x6c
#define PLANT_TMC_DRV_STATUS 0x6f
#define PLANT_TMC_PWMCONF 0x70

/* GSTAT bits. */
#define PLANT_TMC_GSTAT_RESET 0x1u
#define PLANT_TMC_GSTAT_DRV_ERR 0x2u
#define PLANT_TMC_GSTAT_UV_CP 0x4u

/* DRV_STATUS bits, also the fault conditions plant_tmc2209_set_conditions
 * takes (plus PLANT_TMC_COND_UV_CP). */
#define PLANT_TMC_OTPW 0x1u
#define PLANT_TMC_OT 0x2u
#define PLANT_TMC_S2GA 0x4u
#define PLANT_TMC_S2GB 0x8u
#define PLANT_TMC_S2VSA 0x10u
#define PLANT_TMC_S2VSB 0x20u
#define PLANT_TMC_OLA 0x40u
#define PLANT_TMC_OLB 0x80u
#define PLANT_TMC_T120 0x100u
#define PLANT_TMC_T143 0x200u
#define PLANT_TMC_T150 0x400u
#define PLANT_TMC_T157 0x800u
#define PLANT_TMC_STST 0x80000000u
/* Not a DRV_STATUS bit: the charge pump's supply is too low (GSTAT uv_cp). */
#define PLANT_TMC_COND_UV_CP 0x10000u

/* The conditions that make the chip switch its outputs off. */
#define PLANT_TMC_SHUTDOWN_CONDS                                                    \
    (PLANT_TMC_OT | PLANT_TMC_S2GA | PLANT_TMC_S2GB | PLANT_TMC_S2VSA | PLANT_TMC_S2VSB | \
     PLANT_TMC_COND_UV_CP)

#define PLANT_TMC_EDGES_MAX 100

struct plant_tmc2209_stats {
    uint32_t writes;      /* accepted writes (IFCNT counts them mod 256) */
    uint32_t reads;       /* answered reads */
    uint32_t crc_errors;  /* datagrams dropped for their CRC */
    uint32_t foreign;     /* good datagrams for another node address */
    uint32_t garbled;     /* framing errors, lines that were no datagram */
};

struct plant_tmc2209 {
    uint8_t address; /* node address, MS1/MS2 pins: 0..3 */
    uint32_t regs[128];
    uint32_t conditions;   /* injected faults (DRV_STATUS bits, COND_UV_CP) */
    uint32_t gstat;
    int outputs_off;       /* latched by a shutdown condition */
    struct plant_tmc2209_stats stats;
    /* Told when the outputs go off or come back on (the motor's coils). */
    void (*outputs_changed)(void *arg, int enabled);
    void *outputs_arg;

    /* Receiver: the edges of the datagram under way. */
    uint8_t line; /* level the MCU drives, 1 when idle */
    int rx_active;
    int edge_count;
    int64_t edge_ns[PLANT_TMC_EDGES_MAX];
    uint8_t edge_level[PLANT_TMC_EDGES_MAX];

    /* Transmitter: the reply being sent. */
    int replying;
    double reply_start_ns, reply_bit_ns;
    uint8_t reply_bits[10];
};

/* A chip at node address 0..3, just powered on. */
void plant_tmc2209_init(struct plant_tmc2209 *c, uint8_t address);
/* Power-on reset: registers to their defaults, GSTAT reset set, IFCNT 0;
 * injected conditions stay (a hot chip stays hot). */
void plant_tmc2209_reset(struct plant_tmc2209 *c);

/* The UART. */
void plant_tmc2209_line(struct plant_tmc2209 *c, uint8_t level, int64_t t_ns);
uint8_t plant_tmc2209_reply_level(struct plant_tmc2209 *c, int64_t t_ns);
/* Processes a datagram whose last bit is over by t_ns (the chip acts on a
 * write at its stop bit, even if nobody looks at the line afterwards). */
void plant_tmc2209_settle(struct plant_tmc2209 *c, int64_t t_ns);

/* The register as the chip would answer a read (DRV_STATUS and GSTAT with
 * the live bits). */
uint32_t plant_tmc2209_read(const struct plant_tmc2209 *c, uint8_t reg);

/* Fault injection: the conditions present now (0 clears them all). A
 * shutdown condition sets GSTAT drv_err (uv_cp for COND_UV_CP) and turns
 * the outputs off; they stay off until the conditions are gone and the
 * host clears drv_err (write 1 to GSTAT), as on the chip. */
void plant_tmc2209_set_conditions(struct plant_tmc2209 *c, uint32_t conditions);
int plant_tmc2209_outputs_enabled(const struct plant_tmc2209 *c);
uint8_t plant_tmc2209_ifcnt(const struct plant_tmc2209 *c);

#endif
