/* Formatting of log messages for the installed sink. */
#include "log.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */

void fs_log(const struct fs_logger *log, enum fs_log_level level, const char *fmt, ...)
{
    if (!log || !log->sink || level < log->min_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log->sink(log->arg, level, msg);
}

const char *fs_log_level_name(enum fs_log_level level)
{
    switch (level) {
    case FS_LOG_DEBUG: return "debug";
    case FS_LOG_INFO: return "info";
    case FS_LOG_WARN: return "warn";
    case FS_LOG_ERROR: return "error";
    }
    return "?";
}
