/* Log messages from the engine go to a sink the program installs; the engine
 * itself never prints. A NULL logger drops everything. */
#ifndef FS_LOG_H
#define FS_LOG_H

enum fs_log_level { FS_LOG_DEBUG, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR };

struct fs_logger {
    void (*sink)(void *arg, enum fs_log_level level, const char *msg);
    void *arg;
    enum fs_log_level min_level;
};

void fs_log(const struct fs_logger *log, enum fs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *fs_log_level_name(enum fs_log_level level);

#endif
