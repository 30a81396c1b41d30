/* The commands every MCU has: identify, configuration (oids, the memory
 * pool, the move free list), clock queries, shutdown control, and the load
 * statistics.
 *
 * Configuration memory is one fixed pool per instance, handed out in order
 * and never freed; config_reset empties it. At finalize_config whatever is
 * left becomes the free list of move records, so `move_count` tells the host
 * how many steps it may queue ahead. */
#include <string.h> /* memset */

#include "basecmd.h"    /* the API implemented here */
#include "command.h"    /* FW_DECL_COMMAND, fw_sendf */
#include "dictionary.h" /* fw_dictionary_data */
#include "hal.h"        /* hal_instance, hal_reset, hal_timer_read_time */
#include "instance.h"   /* struct fw_instance */
#include "sched.h"      /* fw_shutdown, fw_timer_from_us */

#define STATS_SUMSQ_BASE 256
#define STATS_PERIOD_US 5000000
#define POOL_ALIGN 8

FW_DECL_CONSTANT("STATS_SUMSQ_BASE", STATS_SUMSQ_BASE);

/* ---- identify ---- */

static void command_identify(const struct fw_args *args)
{
    /* The host matches chunks by offset, so it is echoed as asked; past
     * the end the chunk is empty, which is how the host knows it is done. */
    uint32_t offset = args->v[0];
    uint32_t count = args->v[1];
    uint32_t start = offset < fw_dictionary_size ? offset : fw_dictionary_size;
    if (count > fw_dictionary_size - start)
        count = fw_dictionary_size - start;
    fw_sendf("identify_response offset=%u data=%.*s", offset, (int)count,
             &fw_dictionary_data[start]);
}
FW_DECL_COMMAND_FLAGS(command_identify, FW_HF_IN_SHUTDOWN, "identify offset=%u count=%c");

/* ---- configuration memory ---- */

static uint32_t align_up(uint32_t size)
{
    return (size + POOL_ALIGN - 1) & ~(uint32_t)(POOL_ALIGN - 1);
}

void *fw_alloc_chunk(uint32_t size)
{
    struct fw_instance *inst = hal_instance();
    if (inst->is_config)
        fw_shutdown("alloc_chunk after finalize_config");
    size = align_up(size);
    if (size > FW_POOL_SIZE - inst->pool_used)
        fw_shutdown("alloc_chunk failed");
    void *p = &inst->pool[inst->pool_used];
    inst->pool_used += size;
    memset(p, 0, size);
    return p;
}

int fw_is_finalized(void)
{
    return hal_instance()->is_config;
}

void *fw_oid_alloc(uint8_t oid, const void *type, uint16_t size)
{
    struct fw_instance *inst = hal_instance();
    if (oid >= inst->oid_count || inst->oids[oid].type || inst->is_config)
        fw_shutdown("Can't assign oid");
    void *obj = fw_alloc_chunk(size);
    inst->oids[oid].obj = obj;
    inst->oids[oid].type = type;
    return obj;
}

void *fw_oid_find(uint8_t oid, const void *type)
{
    struct fw_instance *inst = hal_instance();
    if (oid >= inst->oid_count || inst->oids[oid].type != type)
        return NULL;
    return inst->oids[oid].obj;
}

void *fw_oid_lookup(uint8_t oid, const void *type)
{
    void *obj = fw_oid_find(oid, type);
    if (!obj)
        fw_shutdown("Invalid oid type");
    return obj;
}

/* Fills the by-type index of the oid table (see struct fw_instance). */
static void oid_index_build(struct fw_instance *inst)
{
    int last_of_type[FW_OID_TYPES_MAX];
    inst->oid_index_ready = 0;
    inst->oid_types_count = 0;
    for (int i = 0; i < inst->oid_count; i++) {
        const void *type = inst->oids[i].type;
        inst->oid_next_same[i] = 0;
        if (!type)
            continue;
        int t = 0;
        while (t < inst->oid_types_count && inst->oid_types[t] != type)
            t++;
        if (t == inst->oid_types_count) {
            if (t == FW_OID_TYPES_MAX)
                return; /* too many types: fw_oid_next keeps scanning */
            inst->oid_types[t] = type;
            inst->oid_type_first[t] = (uint8_t)i;
            inst->oid_types_count++;
        } else {
            inst->oid_next_same[last_of_type[t]] = (uint8_t)i;
        }
        last_of_type[t] = i;
    }
    inst->oid_index_ready = 1;
}

void *fw_oid_next(int *oid, const void *type)
{
    struct fw_instance *inst = hal_instance();
    if (inst->oid_index_ready && type) {
        if (*oid < 0) {
            for (int t = 0; t < inst->oid_types_count; t++)
                if (inst->oid_types[t] == type) {
                    *oid = inst->oid_type_first[t];
                    return inst->oids[*oid].obj;
                }
            return NULL; /* no object of this type */
        }
        if (*oid < inst->oid_count && inst->oids[*oid].type == type) {
            int next = inst->oid_next_same[*oid];
            if (!next)
                return NULL;
            *oid = next;
            return inst->oids[next].obj;
        }
        /* Not where an iteration of this type left off: scan. */
    }
    for (int i = *oid + 1; i < inst->oid_count; i++) {
        if (inst->oids[i].type == type) {
            *oid = i;
            return inst->oids[i].obj;
        }
    }
    return NULL;
}

/* ---- move records ---- */

void fw_move_request_size(uint32_t size)
{
    struct fw_instance *inst = hal_instance();
    if (size > inst->move_size)
        inst->move_size = size;
}

void *fw_move_alloc(void)
{
    struct fw_instance *inst = hal_instance();
    void **m = inst->move_free;
    if (!m)
        fw_shutdown("Move queue overflow");
    inst->move_free = *m;
    memset(m, 0, inst->move_size);
    return m;
}

void fw_move_free(void *m)
{
    struct fw_instance *inst = hal_instance();
    *(void **)m = inst->move_free;
    inst->move_free = m;
}

/* Turns the rest of the pool into move records. */
static void moves_carve(struct fw_instance *inst)
{
    uint32_t size = inst->move_size;
    if (size < FW_MIN_MOVE_SIZE)
        size = FW_MIN_MOVE_SIZE;
    size = align_up(size);
    inst->move_size = size;
    uint32_t count = (FW_POOL_SIZE - inst->pool_used) / size;
    if (count > 0xffff)
        count = 0xffff;
    inst->move_free = NULL;
    for (uint32_t i = count; i > 0; i--) {
        void **m = (void **)&inst->pool[inst->pool_used + (i - 1) * size];
        *m = inst->move_free;
        inst->move_free = m;
    }
    inst->pool_used += count * size;
    inst->move_count = (uint16_t)count;
}

/* ---- configuration commands ---- */

void fw_basecmd_reset(void)
{
    struct fw_instance *inst = hal_instance();
    memset(inst->pool, 0, inst->pool_used);
    inst->pool_used = 0;
    inst->oids = NULL;
    inst->oid_count = 0;
    inst->oid_index_ready = 0;
    inst->is_config = 0;
    inst->config_crc = 0;
    inst->move_free = NULL;
    inst->move_size = 0;
    inst->move_count = 0;
    uint32_t now = hal_timer_read_time();
    inst->uptime_last = now;
    inst->stats_count = inst->stats_sum = inst->stats_sumsq = 0;
    inst->stats_prev = inst->stats_start = now;
}

static void command_allocate_oids(const struct fw_args *args)
{
    struct fw_instance *inst = hal_instance();
    if (inst->oids)
        fw_shutdown("oids already allocated");
    uint8_t count = (uint8_t)args->v[0];
    inst->oids = fw_alloc_chunk((uint32_t)count * sizeof(*inst->oids));
    inst->oid_count = count;
}
FW_DECL_COMMAND(command_allocate_oids, "allocate_oids count=%c");

static void command_finalize_config(const struct fw_args *args)
{
    struct fw_instance *inst = hal_instance();
    if (inst->is_config)
        fw_shutdown("Already finalized");
    moves_carve(inst);
    oid_index_build(inst);
    inst->config_crc = args->v[0];
    inst->is_config = 1;
}
FW_DECL_COMMAND(command_finalize_config, "finalize_config crc=%u");

static void command_get_config(const struct fw_args *args)
{
    struct fw_instance *inst = hal_instance();
    fw_sendf("config is_config=%c crc=%u is_shutdown=%c move_count=%hu", inst->is_config,
             inst->config_crc, inst->is_shutdown, inst->move_count);
}
FW_DECL_COMMAND_FLAGS(command_get_config, FW_HF_IN_SHUTDOWN, "get_config");

/* ---- time ---- */

uint32_t fw_basecmd_uptime_high(uint32_t now)
{
    struct fw_instance *inst = hal_instance();
    /* Valid as long as the core runs at least once per 2^32 ticks; every
     * task pass calls this. */
    if (now < inst->uptime_last)
        inst->uptime_high++;
    inst->uptime_last = now;
    return inst->uptime_high;
}

static void command_get_clock(const struct fw_args *args)
{
    fw_sendf("clock clock=%u", hal_timer_read_time());
}
FW_DECL_COMMAND_FLAGS(command_get_clock, FW_HF_IN_SHUTDOWN, "get_clock");

static void command_get_uptime(const struct fw_args *args)
{
    uint32_t now = hal_timer_read_time();
    fw_sendf("uptime high=%u clock=%u", fw_basecmd_uptime_high(now), now);
}
FW_DECL_COMMAND_FLAGS(command_get_uptime, FW_HF_IN_SHUTDOWN, "get_uptime");

/* ---- shutdown control ---- */

static void command_emergency_stop(const struct fw_args *args)
{
    fw_shutdown("Command request");
}
FW_DECL_COMMAND_FLAGS(command_emergency_stop, FW_HF_IN_SHUTDOWN, "emergency_stop");

static void command_clear_shutdown(const struct fw_args *args)
{
    fw_sched_clear_shutdown();
}
FW_DECL_COMMAND_FLAGS(command_clear_shutdown, FW_HF_IN_SHUTDOWN, "clear_shutdown");

static void command_config_reset(const struct fw_args *args)
{
    /* Only from shutdown: the objects being dropped must already have put
     * their outputs at defaults. The link sequence is kept, so the host
     * carries on talking without a reconnect. */
    if (!fw_sched_is_shutdown())
        fw_shutdown("config_reset only available when shutdown");
    fw_sched_reset_timers();
    fw_basecmd_reset();
    fw_sched_clear_shutdown();
    fw_sched_run_init_hooks();
}
FW_DECL_COMMAND_FLAGS(command_config_reset, FW_HF_IN_SHUTDOWN, "config_reset");

static void command_reset(const struct fw_args *args)
{
    hal_reset();
}
FW_DECL_COMMAND_FLAGS(command_reset, FW_HF_IN_SHUTDOWN, "reset");

/* ---- statistics ---- */

/* Adds diff^2 / STATS_SUMSQ_BASE (rounded up), saturating: the host only
 * needs it to estimate the load's variance. */
static uint32_t sumsq_add(uint32_t sumsq, uint32_t diff)
{
    uint64_t sq = ((uint64_t)diff * diff + STATS_SUMSQ_BASE - 1) / STATS_SUMSQ_BASE;
    uint64_t total = sumsq + sq;
    return total > 0xffffffffu ? 0xffffffffu : (uint32_t)total;
}

static void stats_account(struct fw_instance *inst, uint32_t now)
{
    fw_basecmd_uptime_high(now);
    uint32_t diff = now - inst->stats_prev;
    inst->stats_prev = now;
    inst->stats_count++;
    inst->stats_sum += diff;
    inst->stats_sumsq = sumsq_add(inst->stats_sumsq, diff);
}

static int stats_due(const struct fw_instance *inst, uint32_t now)
{
    return now - inst->stats_start >= fw_timer_from_us(STATS_PERIOD_US);
}

/* A skipped pass still counts as one, so the load figures the host sees
 * are those of a main loop that runs every task after every event. */
int fw_basecmd_stats_idle_pass(void)
{
    struct fw_instance *inst = hal_instance();
    uint32_t now = hal_timer_read_time();
    if (stats_due(inst, now))
        return 0;
    stats_account(inst, now);
    return 1;
}

static void basecmd_stats_task(void)
{
    struct fw_instance *inst = hal_instance();
    uint32_t now = hal_timer_read_time();
    stats_account(inst, now);
    if (!stats_due(inst, now))
        return;
    fw_sendf("stats count=%u sum=%u sumsq=%u", inst->stats_count, inst->stats_sum,
             inst->stats_sumsq);
    inst->stats_count = inst->stats_sum = inst->stats_sumsq = 0;
    inst->stats_start = now;
}
FW_DECL_TASK(basecmd_stats_task);
