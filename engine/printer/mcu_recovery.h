/* MCU_RECONNECT: bringing back one MCU that was lost, shut down or
 * restarted, while the others keep running; and what the printer's other
 * parts must forget when an MCU's state is gone (its heaters' targets, the
 * homing of axes it drives). */
#ifndef FS_MCU_RECOVERY_H
#define FS_MCU_RECOVERY_H

struct fs_error;
struct fs_mcu;
struct fs_printer;

/* Registers `MCU_RECONNECT MCU=<name> [FORCE=1]` on p->gcode and, on every
 * MCU, a reset hook (fs_mcu_on_reset) that turns off the heaters it drives
 * and, when its objects were made afresh, unhomes the axes whose steppers
 * it drives. Call once the MCUs exist (after fs_printer_init). */
int fs_printer_mcu_recovery_register(struct fs_printer *p, struct fs_error *err);

/* What MCU_RECONNECT does, for callers other than the console. Refuses an
 * unknown name (listing the known ones) and an MCU that is not lost, shut
 * down or restarted unless force. Waits for the queued moves, sets the
 * targets of the heaters on it to 0, fs_mcu_reconnect, then clears its bit
 * in p->mcu_lost_mask and its fault source ("mcu" or "mcu <name>") when
 * p->faults is set. A fault that will not clear is reported in err with
 * return value 1 (the MCU itself is back). An MCU that now runs another
 * firmware raises version_mismatch on its source and is not reconnected. */
int fs_printer_mcu_reconnect(struct fs_printer *p, const char *name, int force,
                             struct fs_error *err);

/* At connect (fs_printer_start, once every MCU is connected): raises
 * version_mismatch on the source of the first MCU whose firmware differs
 * from the first one's, or (expected_version not NULL) a failsoft firmware
 * that is not that version. Returns 1 when it raised, else 0. */
int fs_printer_mcu_versions_check(struct fs_printer *p, const char *expected_version);

/* Targets of the heaters whose output is on m set to 0 (the MCU's outputs
 * count as off while it is lost or after it came back). Returns how many
 * heaters were on it. */
int fs_printer_mcu_heaters_off(struct fs_printer *p, const struct fs_mcu *m);

#endif
