/* Errors as values: a failing function returns -1 and fills a struct fs_error
 * with a message a person can act on (file:line, the MCU and its message...).
 * Libraries never print or exit; the caller decides what to do with it. */
#ifndef FS_ERROR_H
#define FS_ERROR_H

#include <stddef.h> /* size_t */

#define FS_ERROR_MSG_MAX 2048

struct fs_error {
    char msg[FS_ERROR_MSG_MAX];
};

/* Formats the message into err (when err is not NULL) and returns -1, so that
 * `return fs_error_set(err, "...", ...);` reads naturally. */
int fs_error_set(struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context ("mcu 'toolboard': ") to an existing message; returns -1. */
int fs_error_prefix(struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void fs_error_clear(struct fs_error *err);

#endif
