/* Object ids (oids) and configuration-time memory.
 *
 * The host allocates the oid table with `allocate_oids`, creates objects with
 * config_* commands and seals the configuration with `finalize_config`.
 * All memory comes from the instance's fixed pool at configuration time; the
 * firmware never allocates after finalize_config (moves for steppers come
 * from a fixed free list sized at finalize). */
#ifndef FW_BASECMD_H
#define FW_BASECMD_H

#include <stdint.h> /* uint8_t */

/* A type tag is the address of the object's handler or any unique static;
 * fw_oid_lookup shuts down with "Invalid oid type" on a mismatch. */
void *fw_oid_alloc(uint8_t oid, const void *type, uint16_t size);
void *fw_oid_lookup(uint8_t oid, const void *type);
/* Like fw_oid_lookup, but NULL instead of a shutdown on a mismatch. */
void *fw_oid_find(uint8_t oid, const void *type);
/* Iterates objects of one type: oid starts at -1. */
void *fw_oid_next(int *oid, const void *type);
#define fw_foreach_oid(pos, obj, type)                                           \
    for (pos = -1; (obj = fw_oid_next(&pos, type));)

void *fw_alloc_chunk(uint32_t size); /* zeroed, config time only */
int fw_is_finalized(void);

/* Fixed-size move records for queued steps and similar; the count is what
 * `config` reports as move_count. fw_move_alloc shuts down with
 * "Move queue overflow" when none is free. */
void *fw_move_alloc(void);
void fw_move_free(void *m);
void fw_move_request_size(uint32_t size); /* at config time, largest record */

#endif
