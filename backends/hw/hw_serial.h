/* A serial port as an engine transport (struct fs_transport): the line to a
 * real MCU board, or to failsoft-mcu's pseudo-terminal.
 *
 * The port is non-blocking. Bytes the OS does not take at once wait in a
 * bounded output buffer until the port is writable; the real-time backend
 * (hw_loop.h) polls hw_serial_fd() and calls hw_serial_read and
 * hw_serial_flush. A port that fails (unplugged board, MCU process gone)
 * is marked broken: sends fail with the reason and the backend stops
 * polling it. */
#ifndef HW_SERIAL_H
#define HW_SERIAL_H

#include <stddef.h>  /* size_t */
#include <stdint.h>  /* uint8_t */
#include <sys/types.h> /* ssize_t */

struct fs_error;
struct fs_transport;
struct hw_serial;

#define HW_SERIAL_TX_MAX 16384 /* output waiting for the port; beyond, send fails */
#define HW_SERIAL_PATH_MAX 4096

/* Opens path at baud, 8N1, no flow control, discarding whatever was
 * waiting in either direction. A pty is opened with termios (see
 * hw_serial.c for why); baud is then ignored. NULL with err on failure. */
struct hw_serial *hw_serial_open(const char *path, int baud, struct fs_error *err);
void hw_serial_close(struct hw_serial *s);

/* The transport to give the engine (fs_link_new). Owned by s. */
struct fs_transport *hw_serial_transport(struct hw_serial *s);

/* For poll(): readable when bytes arrived, writable when output can go. */
int hw_serial_fd(const struct hw_serial *s);
/* The device was opened with termios (a pty, or a terminal libserialport
 * does not know) rather than through libserialport. */
int hw_serial_uses_termios(const struct hw_serial *s);
const char *hw_serial_path(const struct hw_serial *s);

/* Reads what is waiting: the byte count, 0 when nothing is, -1 with err
 * when the port failed (it is then broken). */
ssize_t hw_serial_read(struct hw_serial *s, uint8_t *buf, size_t cap, struct fs_error *err);
/* Writes buffered output the port now takes; -1 with err if it failed. */
int hw_serial_flush(struct hw_serial *s, struct fs_error *err);
size_t hw_serial_pending_output(const struct hw_serial *s);

/* poll() reported a hangup or error on the fd: the port is broken. */
void hw_serial_hangup(struct hw_serial *s);
/* 1 and the reason in err (if not NULL) once the port failed. */
int hw_serial_is_broken(const struct hw_serial *s, struct fs_error *err);

#endif
