/* Inside the motion module: how a stepper asks its MCU's stepsync for a
 * move-queue slot (the public half is in stepper.h). */
#ifndef FS_STEPSYNC_H
#define FS_STEPSYNC_H

#include <stdint.h> /* uint64_t */

#include "motion/stepper.h" /* struct fs_stepsync */

struct fs_error;
struct fs_fault_source;

/* Commands must be queued at least this long before their clock. */
#define FS_STEPSYNC_LEAD_S 0.020

/* Takes a slot for a command that the MCU acts on first at first_clock and
 * frees at release_clock. owner is the stepper whose stop frees the slot
 * (NULL for commands a stop leaves queued). *min_clock receives when the link may send it
 * (a slot is sure to be free then). Fails, reserving nothing, when
 * first_clock is already too close to the MCU's clock now ("step scheduled
 * in the past (timing overrun)") or when every slot stays busy until too
 * close to it. who names the object in the message ("stepper_x"). */
int fs_stepsync_take_slot(struct fs_stepsync *s, const void *owner, const char *who,
                          uint64_t first_clock, uint64_t release_clock, uint64_t *min_clock,
                          struct fs_error *err);
/* The MCU stopped owner's stepper and none of its commands is still
 * waiting in the link: every slot it held is free now. */
void fs_stepsync_release(struct fs_stepsync *s, const void *owner);
/* Only the lead-time check, for commands that take no slot. */
int fs_stepsync_check_lead(struct fs_stepsync *s, const char *who, uint64_t clock,
                           struct fs_error *err);
/* Where timing overruns are raised (the toolhead's source); NULL: only
 * the error value. */
void fs_stepsync_set_fault_source(struct fs_stepsync *s, struct fs_fault_source *src);
struct fs_fault_source *fs_stepsync_fault_source(const struct fs_stepsync *s);
/* The MCU's clock now as best known (0 when nothing is known yet). */
uint64_t fs_stepsync_clock_now(const struct fs_stepsync *s);

#endif
