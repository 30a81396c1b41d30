/* printer.cfg internals shared by the reader (config_parse.c), the section
 * and option accessors (config.c) and the typed getters (config_get.c).
 * Nothing outside engine/config includes this file. */
#ifndef FS_CONFIG_INTERNAL_H
#define FS_CONFIG_INTERNAL_H

#include <stddef.h> /* size_t */

/* One option of a section. `seq` orders everything by where it was read (an
 * included file's lines come at the include), so that the unused-option
 * report lists problems in the order a person reads the files. */
struct fs_config_option {
    char *name;  /* lower-case */
    char *value; /* trimmed, continuation lines joined with '\n' */
    char *raw;   /* the source lines, as written */
    char *where; /* "file:line" of the definition that won */
    unsigned seq;
    int used;
};

struct fs_config_section {
    char *name;   /* "kind suffix", or "kind" */
    char *kind;
    char *suffix; /* "" when none */
    char *where;  /* "file:line" of the first header */
    unsigned seq;
    int known;
    struct fs_config_option *options;
    int option_count, option_cap;
};

struct fs_config_file {
    char *path;
    char *text;
};

struct fs_config {
    /* Pointers, so that a section keeps its address while the list grows. */
    struct fs_config_section **sections;
    int section_count, section_cap;
    struct fs_config_file *files;
    int file_count, file_cap;
    int total_options;
    unsigned next_seq;
};

/* The option of s with this name (case-insensitive), or NULL. */
struct fs_config_option *fs_config_find_option(const struct fs_config_section *s,
                                               const char *name);
/* The section with exactly this name, or NULL; marks nothing. */
struct fs_config_section *fs_config_find_section(const struct fs_config *cfg,
                                                 const char *name);

#endif
