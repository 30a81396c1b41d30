/* The pseudo-terminal failsoft-mcu talks through, and the symlink (-I PATH)
 * that gives a host a stable name for it. */
#ifndef MCU_PTY_H
#define MCU_PTY_H

#include <stddef.h> /* size_t */

#define MCU_PTY_PATH_MAX 4096

struct mcu_pty {
    int master;       /* non-blocking, raw; the firmware's side */
    int slave_hold;   /* kept open so the master never sees a hangup */
    char slave_name[128];
    char link_path[MCU_PTY_PATH_MAX]; /* empty when no symlink was asked */
};

/* Opens a raw pty pair and, when link_path is given, points a symlink there
 * at the slave, replacing an existing symlink (a stale one from a run that
 * died) but never any other kind of file. -1 with a message in err. */
int mcu_pty_open(struct mcu_pty *p, const char *link_path, char *err, size_t cap);

/* Removes the symlink if it still points at this pty, closes both ends. */
void mcu_pty_close(struct mcu_pty *p);

#endif
