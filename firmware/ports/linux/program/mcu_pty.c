/* The pseudo-terminal failsoft-mcu talks through, and its symlink.
 *
 * The line is raw (no echo, no line editing, no CR/LF mapping): the MCU
 * protocol is binary. The program holds the slave open itself: otherwise,
 * while no host has the device open, poll() on the master reports a hangup
 * on every call and the main loop would spin. Bytes written while nobody
 * listens stay in the pty until it is full and are then dropped, as on an
 * unplugged UART; a host flushes them when it opens the device. */
#define _GNU_SOURCE /* posix_openpt, grantpt, unlockpt, ptsname */

#include <errno.h>    /* errno */
#include <fcntl.h>    /* open, fcntl, O_* */
#include <stdarg.h>   /* va_list */
#include <stdio.h>    /* vsnprintf */
#include <stdlib.h>   /* posix_openpt, grantpt, unlockpt, ptsname */
#include <string.h>   /* strerror, strlen */
#include <sys/stat.h> /* lstat */
#include <termios.h>  /* tcgetattr, cfmakeraw, tcsetattr */
#include <unistd.h>   /* close, symlink, unlink, readlink */

#include "mcu_pty.h" /* the API implemented here */

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static int set_raw(int fd)
{
    struct termios tio;
    if (tcgetattr(fd, &tio) < 0)
        return -1;
    cfmakeraw(&tio);
    return tcsetattr(fd, TCSANOW, &tio);
}

static int open_pair(struct mcu_pty *p, char *err, size_t cap)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0)
        return fail(err, cap, "posix_openpt: %s", strerror(errno));
    const char *name = NULL;
    if (grantpt(p->master) < 0 || unlockpt(p->master) < 0 || !(name = ptsname(p->master)))
        return fail(err, cap, "cannot unlock the pty: %s", strerror(errno));
    if (strlen(name) >= sizeof(p->slave_name))
        return fail(err, cap, "pty name too long: %s", name);
    strcpy(p->slave_name, name);
    p->slave_hold = open(p->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->slave_hold < 0)
        return fail(err, cap, "%s: %s", p->slave_name, strerror(errno));
    if (set_raw(p->slave_hold) < 0)
        return fail(err, cap, "%s: cannot make raw: %s", p->slave_name, strerror(errno));
    int flags = fcntl(p->master, F_GETFL);
    if (flags < 0 || fcntl(p->master, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(p->master, F_SETFD, FD_CLOEXEC) < 0)
        return fail(err, cap, "pty master: %s", strerror(errno));
    return 0;
}

static int make_link(struct mcu_pty *p, const char *link_path, char *err, size_t cap)
{
    if (strlen(link_path) >= sizeof(p->link_path))
        return fail(err, cap, "-I path too long");
    struct stat st;
    if (lstat(link_path, &st) == 0) {
        if (!S_ISLNK(st.st_mode))
            return fail(err, cap, "%s exists and is not a symlink; not replacing it",
                        link_path);
        if (unlink(link_path) < 0)
            return fail(err, cap, "cannot remove stale %s: %s", link_path, strerror(errno));
    }
    if (symlink(p->slave_name, link_path) < 0)
        return fail(err, cap, "symlink %s -> %s: %s", link_path, p->slave_name,
                    strerror(errno));
    strcpy(p->link_path, link_path);
    return 0;
}

int mcu_pty_open(struct mcu_pty *p, const char *link_path, char *err, size_t cap)
{
    p->master = p->slave_hold = -1;
    p->slave_name[0] = p->link_path[0] = '\0';
    if (open_pair(p, err, cap) < 0 || (link_path && make_link(p, link_path, err, cap) < 0)) {
        mcu_pty_close(p);
        return -1;
    }
    return 0;
}

void mcu_pty_close(struct mcu_pty *p)
{
    if (p->link_path[0]) {
        /* Another instance may have taken the name over since: leave its
         * link alone. */
        char target[sizeof(p->slave_name)];
        ssize_t n = readlink(p->link_path, target, sizeof(target) - 1);
        if (n >= 0) {
            target[n] = '\0';
            if (strcmp(target, p->slave_name) == 0)
                unlink(p->link_path);
        }
        p->link_path[0] = '\0';
    }
    if (p->slave_hold >= 0)
        close(p->slave_hold);
    if (p->master >= 0)
        close(p->master);
    p->master = p->slave_hold = -1;
}
