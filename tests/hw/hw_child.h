/* Test harness: failsoft-mcu as a child process on a pty whose symlink
 * lives in a fresh temporary directory. */
#ifndef HW_CHILD_H
#define HW_CHILD_H

#include <sys/types.h> /* pid_t */

struct hw_child {
    pid_t pid;
    char dir[64];
    char link[128];
};

/* Makes the directory and the link name (dir/ttyMCU) without starting. */
int hw_child_prepare(struct hw_child *c);
/* Starts FAILSOFT_MCU -I link plus args (NULL-terminated) and waits up to
 * 10 s for the symlink. -1 if it exited or never made the link. */
int hw_child_start(struct hw_child *c, const char *const *args);
/* SIGTERM, then SIGKILL after 5 s; returns the exit status (128+signal if
 * killed), or -1 if nothing was running. Leaves the directory. */
int hw_child_stop(struct hw_child *c);
/* Removes the link (if still there) and the directory. */
void hw_child_cleanup(struct hw_child *c);

/* Runs FAILSOFT_MCU with args to completion (5 s at most), output
 * discarded; returns its exit status. */
int hw_child_run(const char *const *args);

#endif
