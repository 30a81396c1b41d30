/* Files that a crash can never leave half written (the fault journal, its
 * capsules, the job's journal): the content goes whole into a temporary
 * file in the same folder, is fsync'ed, then renamed over the final name
 * and the folder fsync'ed, so the final name only ever holds a complete
 * file, old or new. Temporary files are named ".NAME.XXXXXX"; readers
 * ignore them. */
#ifndef FS_ATOMIC_FILE_H
#define FS_ATOMIC_FILE_H

#include <stddef.h> /* size_t */

struct fs_error;

/* The folder, made when missing (its parent must exist); -1 when the path
 * is something else than a folder or cannot be made. */
int fs_atomic_ensure_folder(const char *dir, struct fs_error *err);

/* Writes the concatenation of count parts as dir/name, making dir when
 * missing. stop_before_rename (tests only) leaves the temporary file where
 * a crash between the write and the rename would. */
int fs_atomic_write_parts(const char *dir, const char *name, const char *const *parts,
                          const size_t *lens, int count, int stop_before_rename,
                          struct fs_error *err);
/* One string. */
int fs_atomic_write(const char *dir, const char *name, const char *text, struct fs_error *err);

#endif
