/* What the job needs from modules whose headers are being written at the
 * same time as engine/job: the toolhead (wait for queued moves before a
 * pause or at the end of a file) and the heaters (TURN_OFF_HEATERS). When
 * the real header exists it is used; otherwise these declarations stand in,
 * with the names agreed for those modules. */
#ifndef FS_JOB_DEPS_H
#define FS_JOB_DEPS_H

#if __has_include("motion/toolhead.h")
#include "motion/toolhead.h" /* fs_toolhead_wait_moves */
#else
struct fs_toolhead;
void fs_toolhead_wait_moves(struct fs_toolhead *th);
#endif

#if __has_include("thermal/heaters.h")
#include "thermal/heaters.h" /* fs_heaters_turn_off_all */
#else
struct fs_heaters;
void fs_heaters_turn_off_all(struct fs_heaters *h);
#endif

#endif
