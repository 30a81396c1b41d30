/* Error values: formatting and prefixing of struct fs_error messages. */
#include "error.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */
#include <string.h> /* memcpy, strlen */

int fs_error_set(struct fs_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int fs_error_prefix(struct fs_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[FS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    size_t plen = strlen(prefix);
    size_t mlen = strlen(err->msg);
    if (plen >= sizeof(err->msg))
        plen = sizeof(err->msg) - 1;
    if (plen + mlen >= sizeof(err->msg))
        mlen = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + mlen] = '\0';
    return -1;
}

void fs_error_clear(struct fs_error *err)
{
    if (err)
        err->msg[0] = '\0';
}
