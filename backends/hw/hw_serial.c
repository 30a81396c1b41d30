/* A serial port as an engine transport, through libserialport, or through
 * termios for a pseudo-terminal.
 *
 * Why two ways in: libserialport is the project's serial library, and
 * handles real ports portably (USB CDC-ACM, FTDI, on-board UARTs). But the
 * libserialport of Debian 12 (0.1.1) refuses ptys: sp_get_port_by_name
 * only accepts devices listed under /sys/class/tty, and /dev/pts/N never
 * are. failsoft-mcu (and Klipper's Linux process MCU) live on a pty, so a
 * device that resolves to /dev/pts/N, or that libserialport does not know
 * but that is a terminal, is opened directly and set raw with termios. On a
 * pty the line speed means nothing, so it is left alone. Both ways end in a
 * non-blocking file descriptor that the real-time backend polls; reads and
 * writes go through libserialport when it opened the port. */
#include <errno.h>   /* errno, EAGAIN */
#include <fcntl.h>   /* open, O_* */
#include <limits.h>  /* PATH_MAX */
#include <stdio.h>   /* snprintf */
#include <stdlib.h>  /* calloc, free, realpath */
#include <string.h>  /* strncmp, strerror, memmove */
#include <termios.h> /* tcgetattr, cfmakeraw, tcsetattr, tcflush */
#include <unistd.h>  /* read, write, close, isatty */

#include <libserialport.h> /* sp_* */

#include "core/error.h"     /* struct fs_error, fs_error_set */
#include "core/transport.h" /* struct fs_transport */
#include "hw_serial.h"      /* the API implemented here */

struct hw_serial {
    struct fs_transport transport;
    struct sp_port *port; /* NULL when opened with termios */
    int fd;
    int broken;
    struct fs_error broken_reason;
    char path[HW_SERIAL_PATH_MAX];
    uint8_t tx[HW_SERIAL_TX_MAX];
    size_t tx_used;
};

/* libserialport's reason for a failure, into buf. */
static const char *sp_reason(enum sp_return rc, char *buf, size_t cap)
{
    const char *fixed = rc == SP_ERR_ARG    ? "not a serial port libserialport knows"
                        : rc == SP_ERR_MEM  ? "out of memory"
                        : rc == SP_ERR_SUPP ? "not supported"
                                            : NULL;
    /* Only after SP_ERR_FAIL is there an OS message to show. */
    char *msg = fixed ? NULL : sp_last_error_message();
    snprintf(buf, cap, "%s", fixed ? fixed : msg ? msg : "failed");
    if (msg)
        sp_free_error_message(msg);
    return buf;
}

static int mark_broken(struct hw_serial *s, struct fs_error *err, const char *what,
                       const char *reason)
{
    if (!s->broken) {
        s->broken = 1;
        fs_error_set(&s->broken_reason, "serial %s: %s: %s", s->path, what, reason);
    }
    if (err)
        *err = s->broken_reason;
    return -1;
}

/* ---- the two ways of opening ---- */

static int is_pty_path(const char *path)
{
    char real[PATH_MAX];
    return realpath(path, real) && strncmp(real, "/dev/pts/", 9) == 0;
}

static int open_termios(struct hw_serial *s, struct fs_error *err)
{
    s->fd = open(s->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0)
        return fs_error_set(err, "serial %s: %s", s->path, strerror(errno));
    if (!isatty(s->fd))
        return fs_error_set(err, "serial %s: not a terminal", s->path);
    struct termios tio;
    if (tcgetattr(s->fd, &tio) < 0)
        return fs_error_set(err, "serial %s: tcgetattr: %s", s->path, strerror(errno));
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF);
    if (tcsetattr(s->fd, TCSANOW, &tio) < 0)
        return fs_error_set(err, "serial %s: tcsetattr: %s", s->path, strerror(errno));
    /* Whatever the MCU said before we listened is not an answer to us. */
    tcflush(s->fd, TCIOFLUSH);
    return 0;
}

static int configure_sp(struct hw_serial *s, int baud, struct fs_error *err)
{
    enum sp_return rc;
    const char *step = "open";
    if ((rc = sp_open(s->port, SP_MODE_READ_WRITE)) != SP_OK)
        goto fail;
    step = "set baud rate";
    if ((rc = sp_set_baudrate(s->port, baud)) != SP_OK)
        goto fail;
    step = "set 8N1";
    if ((rc = sp_set_bits(s->port, 8)) != SP_OK ||
        (rc = sp_set_parity(s->port, SP_PARITY_NONE)) != SP_OK ||
        (rc = sp_set_stopbits(s->port, 1)) != SP_OK)
        goto fail;
    step = "disable flow control";
    if ((rc = sp_set_flowcontrol(s->port, SP_FLOWCONTROL_NONE)) != SP_OK)
        goto fail;
    step = "get handle";
    if ((rc = sp_get_port_handle(s->port, &s->fd)) != SP_OK)
        goto fail;
    sp_flush(s->port, SP_BUF_BOTH);
    return 0;
fail:;
    char reason[256];
    return fs_error_set(err, "serial %s: %s: %s", s->path, step,
                        sp_reason(rc, reason, sizeof(reason)));
}

/* libserialport first; a terminal it does not know goes the termios way. */
static int open_port(struct hw_serial *s, int baud, struct fs_error *err)
{
    if (is_pty_path(s->path))
        return open_termios(s, err);
    enum sp_return rc = sp_get_port_by_name(s->path, &s->port);
    if (rc == SP_OK)
        return configure_sp(s, baud, err);
    s->port = NULL;
    char reason[256];
    sp_reason(rc, reason, sizeof(reason));
    int fd = open(s->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    int tty = fd >= 0 && isatty(fd);
    if (fd >= 0)
        close(fd);
    if (!tty)
        return fs_error_set(err, "serial %s: %s", s->path, reason);
    return open_termios(s, err);
}

/* ---- transport ---- */

/* Writes what the port takes now: the byte count (0 when full), or -1 with
 * the reason in why. */
static ssize_t raw_write(struct hw_serial *s, const uint8_t *data, size_t len, char *why,
                         size_t cap)
{
    if (s->port) {
        enum sp_return rc = sp_nonblocking_write(s->port, data, len);
        if (rc < 0)
            sp_reason(rc, why, cap);
        return rc;
    }
    ssize_t n = write(s->fd, data, len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0)
        snprintf(why, cap, "%s", strerror(errno));
    return n;
}

int hw_serial_flush(struct hw_serial *s, struct fs_error *err)
{
    if (hw_serial_is_broken(s, err))
        return -1;
    char why[256];
    while (s->tx_used) {
        ssize_t n = raw_write(s, s->tx, s->tx_used, why, sizeof(why));
        if (n < 0)
            return mark_broken(s, err, "write", why);
        if (n == 0)
            return 0;
        memmove(s->tx, s->tx + n, s->tx_used - (size_t)n);
        s->tx_used -= (size_t)n;
    }
    return 0;
}

static int serial_send(struct fs_transport *t, const uint8_t *data, size_t len,
                       struct fs_error *err)
{
    struct hw_serial *s = t->impl;
    if (hw_serial_flush(s, err) < 0)
        return -1;
    if (!s->tx_used) {
        char why[256];
        ssize_t n = raw_write(s, data, len, why, sizeof(why));
        if (n < 0)
            return mark_broken(s, err, "write", why);
        data += n;
        len -= (size_t)n;
    }
    if (len == 0)
        return 0;
    /* Never a partial block in the buffer: refuse the rest whole, and the
     * link sends it again later. */
    if (s->tx_used + len > sizeof(s->tx))
        return fs_error_set(err, "serial %s: output buffer full (%zu bytes waiting)",
                            s->path, s->tx_used);
    memcpy(s->tx + s->tx_used, data, len);
    s->tx_used += len;
    return 0;
}

ssize_t hw_serial_read(struct hw_serial *s, uint8_t *buf, size_t cap, struct fs_error *err)
{
    if (hw_serial_is_broken(s, err))
        return -1;
    if (s->port) {
        /* 0 is "nothing waiting" here; a vanished device shows as a hangup
         * in poll() instead (hw_serial_hangup). */
        enum sp_return rc = sp_nonblocking_read(s->port, buf, cap);
        char reason[256];
        if (rc < 0)
            return mark_broken(s, err, "read", sp_reason(rc, reason, sizeof(reason)));
        return rc;
    }
    ssize_t n = read(s->fd, buf, cap);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    /* A pty whose other side closed reads EIO (or end of file). */
    return mark_broken(s, err, "read", n == 0 ? "end of file" : strerror(errno));
}

/* ---- lifecycle and accessors ---- */

struct hw_serial *hw_serial_open(const char *path, int baud, struct fs_error *err)
{
    if (!path || !*path) {
        fs_error_set(err, "serial: no device path");
        return NULL;
    }
    if (strlen(path) >= HW_SERIAL_PATH_MAX) {
        fs_error_set(err, "serial: device path longer than %d bytes", HW_SERIAL_PATH_MAX - 1);
        return NULL;
    }
    struct hw_serial *s = calloc(1, sizeof(*s));
    if (!s) {
        fs_error_set(err, "serial %s: out of memory", path);
        return NULL;
    }
    s->fd = -1;
    strcpy(s->path, path);
    if (open_port(s, baud, err) < 0) {
        hw_serial_close(s);
        return NULL;
    }
    s->transport.send = serial_send;
    s->transport.impl = s;
    return s;
}

void hw_serial_close(struct hw_serial *s)
{
    if (!s)
        return;
    if (s->port) {
        sp_close(s->port);
        sp_free_port(s->port);
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
}

struct fs_transport *hw_serial_transport(struct hw_serial *s)
{
    return &s->transport;
}

void hw_serial_hangup(struct hw_serial *s)
{
    mark_broken(s, NULL, "poll", "hung up (device unplugged or MCU process gone)");
}

int hw_serial_fd(const struct hw_serial *s)
{
    return s->fd;
}

int hw_serial_uses_termios(const struct hw_serial *s)
{
    return s->port == NULL;
}

const char *hw_serial_path(const struct hw_serial *s)
{
    return s->path;
}

size_t hw_serial_pending_output(const struct hw_serial *s)
{
    return s->tx_used;
}

int hw_serial_is_broken(const struct hw_serial *s, struct fs_error *err)
{
    if (s->broken && err)
        *err = s->broken_reason;
    return s->broken;
}
