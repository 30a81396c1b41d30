/* Everything one MCU's firmware owns, in one struct.
 *
 * The core keeps no static mutable state: timers, the console link, the
 * shutdown state, the oid table and the configuration memory all live here,
 * and every core function reaches them through hal_instance(). That is what
 * lets the simulator run several MCUs in one process. Only the core and the
 * ports include this header; device modules keep their state in objects
 * allocated from the pool (fw_oid_alloc / fw_alloc_chunk). */
#ifndef FW_INSTANCE_H
#define FW_INSTANCE_H

#include <setjmp.h> /* jmp_buf, for the shutdown unwind */
#include <stdint.h> /* uint32_t, uint8_t */

#include "sched.h" /* struct fw_timer */

#define FW_RX_BUF_SIZE 192 /* also the RECEIVE_WINDOW declared to the host */
#define FW_POOL_SIZE (32 * 1024)
#define FW_MIN_MOVE_SIZE 16
#define FW_OID_TYPES_MAX 16

struct fw_oid_slot {
    void *obj;
    const void *type;
};

struct fw_instance {
    /* Scheduler. */
    struct fw_timer *timers; /* sorted by waketime */
    jmp_buf *unwind;         /* the active entry point, NULL outside one */
    /* Set by every task wake and every received byte; a pass over the
     * tasks without it would find nothing to do (see fw_sched_run_tasks). */
    uint8_t tasks_pending;

    /* Shutdown: is_shutdown stays set until clear_shutdown. */
    uint8_t is_shutdown;
    uint16_t shutdown_reason;
    uint32_t shutdown_clock;

    /* Console link. rx_seq is the sequence expected next; every block to
     * the host carries it. */
    uint8_t rx_buf[FW_RX_BUF_SIZE];
    uint16_t rx_used;
    uint8_t rx_seq;
    uint8_t rx_need_sync; /* dropping bytes up to the next 0x7E */
    uint8_t rx_nak_sent;  /* one nak per error episode, not one per block */

    /* Configuration. */
    struct fw_oid_slot *oids;
    uint8_t oid_count;
    uint8_t is_config;
    uint32_t config_crc;
    uint32_t pool_used;
    _Alignas(16) uint8_t pool[FW_POOL_SIZE];
    /* The oid table by type, built at finalize_config once the table can
     * no longer change, for the tasks that visit their objects on every
     * pass of the main loop: the first oid of each type and the next oid
     * of the same type (0 for none: oid 0 never follows another). Without
     * it (before finalize, or more than FW_OID_TYPES_MAX types)
     * fw_oid_next scans the table. */
    uint8_t oid_index_ready;
    uint8_t oid_types_count;
    const void *oid_types[FW_OID_TYPES_MAX];
    uint8_t oid_type_first[FW_OID_TYPES_MAX];
    uint8_t oid_next_same[256];

    /* Move records: a free list carved from the pool at finalize_config. */
    void *move_free;
    uint32_t move_size;
    uint16_t move_count;

    /* Uptime: the core sees 32-bit time, so it counts wraps itself. */
    uint32_t uptime_high;
    uint32_t uptime_last;

    /* Load statistics, reported as `stats` every ~5 s of MCU time. */
    uint32_t stats_count;
    uint32_t stats_sum;
    uint32_t stats_sumsq;
    uint32_t stats_prev;
    uint32_t stats_start;
};

/* Clears the instance as if powered on fresh (keeps nothing). */
void fw_instance_init(struct fw_instance *inst);

/* Assigns the ids of every declared command and response; the same ranks
 * the dictionary generator writes. Idempotent. */
void fw_command_assign_ids(void);

/* Bookkeeping the scheduler, the console and basecmd share. */
void fw_sched_reset_timers(void);
void fw_sched_clear_shutdown(void);
void fw_sched_run_init_hooks(void);
void fw_basecmd_reset(void);
void fw_console_reset(void);
/* Does the stats task's bookkeeping for a pass the scheduler skips and
 * returns 1; returns 0, touching nothing, when the report is due (the pass
 * must run). */
int fw_basecmd_stats_idle_pass(void);
/* Advances the 64-bit uptime from the 32-bit clock; returns the high word. */
uint32_t fw_basecmd_uptime_high(uint32_t now);

#endif
