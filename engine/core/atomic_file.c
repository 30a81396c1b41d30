/* Crash-safe whole-file writes (see atomic_file.h). */
#include "core/atomic_file.h"

#include <errno.h>    /* errno */
#include <fcntl.h>    /* open */
#include <stdio.h>    /* snprintf, rename */
#include <stdlib.h>   /* mkstemp */
#include <string.h>   /* strerror, strlen */
#include <sys/stat.h> /* mkdir, stat */
#include <unistd.h>   /* write, fsync, close, unlink */

#include "core/error.h" /* fs_error_set */

#define ATOMIC_PATH_MAX 1200

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The rename itself reaches the disk with the folder. */
static void sync_folder(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int fs_atomic_ensure_folder(const char *dir, struct fs_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : fs_error_set(err, "%s is not a folder", dir);
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return fs_error_set(err, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

int fs_atomic_write_parts(const char *dir, const char *name, const char *const *parts,
                          const size_t *lens, int count, int stop_before_rename,
                          struct fs_error *err)
{
    char tmp[ATOMIC_PATH_MAX], final[ATOMIC_PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp) ||
        (size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final))
        return fs_error_set(err, "path too long: %s/%s", dir, name);
    if (fs_atomic_ensure_folder(dir, err) < 0)
        return -1;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return fs_error_set(err, "cannot create a file in %s: %s", dir, strerror(errno));
    for (int i = 0; i < count; i++) {
        if (write_all(fd, parts[i], lens[i]) < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return fs_error_set(err, "writing %s: %s", tmp, strerror(e));
        }
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return fs_error_set(err, "syncing %s: %s", tmp, strerror(e));
    }
    if (stop_before_rename)
        return 0;
    if (rename(tmp, final) < 0) {
        int e = errno;
        unlink(tmp);
        return fs_error_set(err, "renaming %s to %s: %s", tmp, final, strerror(e));
    }
    sync_folder(dir);
    return 0;
}

int fs_atomic_write(const char *dir, const char *name, const char *text, struct fs_error *err)
{
    size_t len = strlen(text);
    return fs_atomic_write_parts(dir, name, &text, &len, 1, 0, err);
}
