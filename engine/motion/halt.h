/* Halting motion at once (the fault action "halt"): every MCU that drives
 * steppers stops them now, the plan is dropped, and afterwards the
 * toolhead knows where the motors really stopped, keeps the axes homed
 * whose position is still trustworthy, and moves again.
 *
 * Two stages, like the fault module: fs_toolhead_halt_now must not wait
 * (it runs inside fs_fault_raise, from a timer or an MCU's receive path);
 * fs_toolhead_halt_finish runs from the main loop and may wait for the
 * MCUs' answers.
 *
 * Only commands every Klipper-compatible firmware has are used, so a halt
 * works on boards running Klipper's firmware: each MCU with steppers gets
 * a trsync of its own when it is configured, and a halt arms it
 * (trsync_start), hangs every stepper of that MCU on it
 * (stepper_stop_on_trigger) and fires it (trsync_trigger). */
#ifndef FS_HALT_H
#define FS_HALT_H

struct fs_error;
struct fs_halt;
struct fs_printer;
struct fs_stepper;
struct fs_toolhead;

/* ---- the toolhead's halt (public) --------------------------------------- */

/* Stops every stepper now and refuses motion until fs_toolhead_halt_finish:
 * the look-ahead queue and the moves not yet sent are dropped (never
 * committed), the step flush timer stops sending, and code waiting inside
 * fs_toolhead_move (for the planner to catch up), fs_toolhead_wait_moves or
 * a homing pass returns promptly; moves and flushes answer "halted:
 * <reason>". Any context; never waits. A second call while halted only
 * sends the stop again. */
void fs_toolhead_halt_now(struct fs_toolhead *th);
/* The same with the reason the errors give (NULL: the motion check's
 * message when it refuses, else "motion stopped by a fault"). */
void fs_toolhead_halt_now_for(struct fs_toolhead *th, const char *reason);

/* Main loop, after a halt: reads back each stepper's position from its MCU
 * (stepper_get_position), drops what the MCUs will never run, takes the
 * head's position from the motors, restarts print time from now, and
 * clears homing of the axes in untrusted_axes (bit X=1 Y=2 Z=4) only.
 * Motion is allowed again (subject to the motion check). A stepper whose
 * MCU does not answer keeps its commanded position and its axes are
 * unhomed; -1 names it (the toolhead is usable all the same). Without a
 * halt before it only clears the untrusted axes' homing. */
int fs_toolhead_halt_finish(struct fs_toolhead *th, unsigned untrusted_axes,
                            struct fs_error *err);

/* Where the motors are, read back from their MCUs (stepper_get_position,
 * which failsoft's firmware answers also when shut down): the head's X Y Z
 * through the kinematics and E from the extruder's stepper. Every stepper
 * read back starts a fresh plan from its real position. A stepper whose
 * MCU is lost or does not answer keeps the plan's position (every step
 * sent counted as made); its axes are in lost_axes, its name and why in
 * unread, and -1 names the first such stepper (pos is filled all the
 * same). */
#define FS_TOOLHEAD_UNREAD_MAX 512
struct fs_toolhead_readback {
    double pos[4];
    unsigned lost_axes;                 /* bit X=1 Y=2 Z=4 */
    int e_lost;                         /* the extruder's stepper was not read */
    int unread_count;                   /* steppers not read back */
    char unread[FS_TOOLHEAD_UNREAD_MAX]; /* "stepper_z (mcu 'b' is lost); ..." */
};
int fs_toolhead_read_back(struct fs_toolhead *th, struct fs_toolhead_readback *out,
                          struct fs_error *err);

/* After a shutdown (emergency_stop already stopped every MCU): the plan is
 * dropped and nothing more is sent, the motors' positions are read back as
 * fs_toolhead_read_back does, and the toolhead's position becomes theirs.
 * Motion stays refused through the motion check (the printer is shut
 * down). Main loop: it waits for the MCUs' answers. Klipper's own firmware
 * does not answer stepper_get_position once shut down (the command lacks
 * its in-shutdown flag there): each such MCU costs one query timeout and
 * its steppers keep the plan's position, named in unread. */
int fs_toolhead_shutdown_read_back(struct fs_toolhead *th, struct fs_toolhead_readback *out,
                                   struct fs_error *err);

/* -1 with "halted: <reason>" between fs_toolhead_halt_now and
 * fs_toolhead_halt_finish (for callers of fs_toolhead_wait_moves, which
 * returns nothing). */
int fs_toolhead_halt_error(const struct fs_toolhead *th, struct fs_error *err);
int fs_toolhead_is_halted(const struct fs_toolhead *th);

/* The gate for new motion: while fn returns -1, every fs_toolhead_move
 * and homing move is refused with fn's error (the fault module says no
 * until a halt is acknowledged). fn NULL removes it. */
typedef int (*fs_toolhead_motion_check_fn)(void *arg, struct fs_error *err);
void fs_toolhead_set_motion_check(struct fs_toolhead *th, fs_toolhead_motion_check_fn fn,
                                  void *arg);
/* 0 when a move would be accepted now as far as halts and the gate go;
 * else -1 with their error (homing asks before it forgets the axis). */
int fs_toolhead_check_motion(const struct fs_toolhead *th, struct fs_error *err);

/* Called first inside fs_toolhead_halt_now (before the steppers are hung
 * on the halt trsyncs), for a module that holds steppers on a trsync of its
 * own (homing): it must release them at once (trsync_trigger), because a
 * stepper can listen to one trsync only. Must not wait. */
#define FS_TOOLHEAD_HALT_LISTENERS 4
typedef void (*fs_toolhead_halt_fn)(void *arg);
int fs_toolhead_on_halt(struct fs_toolhead *th, fs_toolhead_halt_fn fn, void *arg,
                        struct fs_error *err);

/* ---- the trsyncs (inside the motion module) ----------------------------- */

/* Made by the toolhead once its steppers exist; a trsync per MCU of the
 * given steppers is added to that MCU's configuration. */
struct fs_halt *fs_halt_new(struct fs_printer *p, struct fs_stepper *const *steppers, int count,
                            struct fs_error *err);
void fs_halt_free(struct fs_halt *h);
/* Sends the stop to every configured MCU (queued ahead of any step); -1
 * names the first MCU it could not send to (the others are stopped
 * anyway). Never waits. */
int fs_halt_trigger(struct fs_halt *h, double now, struct fs_error *err);
/* Lets the world run until every MCU told to stop reported that its trsync
 * fired, or until timeout_s; -1 names an MCU that did not report. */
int fs_halt_wait_reports(struct fs_halt *h, double timeout_s, struct fs_error *err);

/* What the last halt saw on MCU i (in the order the steppers named them):
 * for tests and the capsule. */
struct fs_halt_report {
    const char *mcu;
    int steppers;       /* steppers of the toolhead on it */
    int sent;           /* the stop went out */
    int fired;          /* the trsync reported that it fired */
    double sent_time;   /* host time of the stop */
    double fired_time;  /* host time the report arrived */
};
int fs_halt_mcu_count(const struct fs_halt *h);
void fs_halt_get_report(const struct fs_halt *h, int i, struct fs_halt_report *out);

#endif
