/* printer.cfg: the configuration dialect Klipper users already have.
 *
 * Sections `[name]` or `[kind suffix]`, options `key: value` or `key =
 * value`, indented continuation lines (multi-line values such as G-code),
 * `#` and `;` comments, `[include file]` with globs relative to the including
 * file. Options are read through typed getters that check bounds and mark the
 * option used; after every module has read its sections,
 * fs_config_check_unused() reports every option and section nobody read, so
 * a typo is an error with its file:line rather than a silent default.
 * Every error names file:line, the section and the option, and what was
 * expected. The exact line rules (continuations, blank lines inside values,
 * where a comment starts, include order) open config_parse.c. */
#ifndef FS_CONFIG_H
#define FS_CONFIG_H

#include <stddef.h> /* size_t */

#include <math.h> /* NAN, INFINITY */

struct fs_error;
struct fs_config;
struct fs_config_section;

/* Bounds on the input; anything larger is rejected with an error naming the
 * file (and line), never truncated. */
#define FS_CONFIG_FILE_MAX (1024 * 1024)   /* bytes in one file */
#define FS_CONFIG_LINE_MAX 4096            /* bytes in one line */
#define FS_CONFIG_VALUE_MAX (64 * 1024)    /* bytes in one (multi-line) value */
#define FS_CONFIG_NAME_MAX 128             /* bytes in a section or option name */
#define FS_CONFIG_INCLUDE_DEPTH_MAX 16     /* files open inside each other */
#define FS_CONFIG_FILES_MAX 256            /* files in one configuration */
#define FS_CONFIG_SECTIONS_MAX 4096
#define FS_CONFIG_OPTIONS_MAX 65536        /* options in all sections */

int fs_config_load(const char *path, struct fs_config **out, struct fs_error *err);
/* From text in memory (name is used in error messages; includes resolve
 * relative to the current directory). */
int fs_config_load_string(const char *text, const char *name, struct fs_config **out,
                          struct fs_error *err);
void fs_config_free(struct fs_config *cfg);

/* Sections in file order. */
int fs_config_section_count(const struct fs_config *cfg);
struct fs_config_section *fs_config_section_at(struct fs_config *cfg, int i);
/* The section with exactly this name ("stepper_x", "heater_generic chamber"),
 * or NULL. Looking a section up marks it known. */
struct fs_config_section *fs_config_get_section(struct fs_config *cfg, const char *name);
/* "heater_generic chamber": kind "heater_generic", suffix "chamber";
 * "stepper_x": kind "stepper_x", suffix "". */
const char *fs_config_section_name(const struct fs_config_section *s);
const char *fs_config_section_kind(const struct fs_config_section *s);
const char *fs_config_section_suffix(const struct fs_config_section *s);
/* "printer.cfg:12" of the section header. */
const char *fs_config_section_where(const struct fs_config_section *s);
/* Whether the option is present; does not mark it used. */
int fs_config_has(const struct fs_config_section *s, const char *option);

/* The options of a section in order of first appearance, for tools that copy
 * a configuration (capsule files): the lower-case name, the value as the
 * getters see it, "file:line" of its (last) definition, and the raw text of
 * the lines that made the value, exactly as written (comments included).
 * None of these marks the option used. */
int fs_config_option_count(const struct fs_config_section *s);
const char *fs_config_option_name(const struct fs_config_section *s, int i);
const char *fs_config_option_where(const struct fs_config_section *s, int i);
const char *fs_config_option_raw(const struct fs_config_section *s, int i);

/* The files the configuration was read from, in the order they were opened
 * (the top file first, then each include), with their full text. */
int fs_config_file_count(const struct fs_config *cfg);
const char *fs_config_file_path(const struct fs_config *cfg, int i);
const char *fs_config_file_text(const struct fs_config *cfg, int i);

/* Getters. Every getter marks the option used and its section known. A dflt
 * of NAN (floats) or FS_CFG_REQUIRED (ints) makes the option required; a
 * default is returned as given, without a bounds check. Bounds are inclusive
 * min/max; use -INFINITY / INFINITY for none. `above`/`below` variants are
 * strict. Return 0, or -1 with err filled:
 * "printer.cfg:14: [stepper_x] rotation_distance: expected a number above 0,
 * got '-40'". */
#define FS_CFG_REQUIRED (-2147483647 - 1)
int fs_config_get_float(struct fs_config_section *s, const char *option, double dflt,
                        double minval, double maxval, double *out, struct fs_error *err);
int fs_config_get_float_above(struct fs_config_section *s, const char *option, double dflt,
                              double above, double *out, struct fs_error *err);
int fs_config_get_float_below(struct fs_config_section *s, const char *option, double dflt,
                              double below, double *out, struct fs_error *err);
int fs_config_get_int(struct fs_config_section *s, const char *option, int dflt, int minval,
                      int maxval, int *out, struct fs_error *err);
/* True/False, yes/no, 1/0 (case-insensitive). dflt -1: required. */
int fs_config_get_bool(struct fs_config_section *s, const char *option, int dflt, int *out,
                       struct fs_error *err);
/* The value text (continuation lines joined with '\n'); dflt NULL: required.
 * The pointer stays valid while the config lives. */
int fs_config_get_str(struct fs_config_section *s, const char *option, const char *dflt,
                      const char **out, struct fs_error *err);
/* A path: "~/x" is in $HOME, a relative one is relative to the folder of
 * the file the option is written in (an included file's own folder), as
 * for [include]. dflt NULL: required; "" stays "". Longer than cap: an
 * error naming the option. */
int fs_config_get_path(struct fs_config_section *s, const char *option, const char *dflt,
                       char *out, size_t cap, struct fs_error *err);
/* One of choices (NULL-terminated); *out is its index. dflt NULL: required. */
int fs_config_get_choice(struct fs_config_section *s, const char *option,
                         const char *const *choices, const char *dflt, int *out,
                         struct fs_error *err);
/* Comma-separated floats (at most cap); *count receives how many. The option
 * is required (check fs_config_has first for an optional list); an empty
 * value gives *count 0. */
int fs_config_get_float_list(struct fs_config_section *s, const char *option,
                             double *out, int cap, int *count, struct fs_error *err);

/* A pin: "[!][^|~]name" or "[!][^|~]mcu_name:name". */
struct fs_pin_desc {
    char mcu[32];  /* "mcu" when not given */
    char pin[32];
    int invert;    /* ! */
    int pull_up;   /* ^ = 1, ~ = -1 (pull-down), 0 none */
};
/* can_invert / can_pull: whether ! and ^/~ are allowed for this option. The
 * prefixes may come in either order ("^!PA1" is common) with whitespace
 * between them. When not required and absent, returns 0 with out->pin "". */
int fs_config_get_pin(struct fs_config_section *s, const char *option, int required,
                      int can_invert, int can_pull, struct fs_pin_desc *out,
                      struct fs_error *err);

/* Error helper for a module that finds a value wrong after reading it
 * ("position_endstop must lie within position_min..position_max"): formats
 * "file:line: [section] option: message". */
int fs_config_error(const struct fs_config_section *s, const char *option,
                    struct fs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every section nobody looked up and every option nobody read is an error:
 * "printer.cfg:31: [extruder] unknown option 'nozle_diameter'". All of them
 * are listed in err (one per line), not just the first. */
int fs_config_check_unused(const struct fs_config *cfg, struct fs_error *err);

#endif
