/* G-code: parsing lines and dispatching commands to the modules that
 * registered them.
 *
 * A line may carry a line number (N123) and a checksum (*71), comments
 * (`;` to the end of the line, and `( ... )`), and either a classic command
 * (a letter and a number, G1 X10 Y5.5 F3000: parameters are a letter and a
 * value each) or an extended command (NAME KEY=VALUE ..., SET_HEATER_TEMPERATURE
 * HEATER=extruder TARGET=210: keys are words). Command names and parameter
 * keys are case-insensitive. M117/M118-style commands keep their rest of line
 * as a message (fs_gcode_command.rest).
 *
 * Each module registers its commands next to its own code. Errors are values:
 * a handler returns -1 with err filled ("G1: unable to parse X='abc'"), the
 * dispatcher prefixes the source (file:line) and the caller decides (a print
 * job goes to its error state; a console just reports it). */
#ifndef FS_GCODE_H
#define FS_GCODE_H

#include <stddef.h> /* size_t */

struct fs_error;
struct fs_gcode;

#define FS_GCODE_MAX_PARAMS 24
#define FS_GCODE_NAME_MAX 48
#define FS_GCODE_LINE_MAX 512
/* A parse buffer that holds any line up to FS_GCODE_LINE_MAX: the raw line,
 * the rest of line and the parameter values are each kept NUL-terminated. */
#define FS_GCODE_BUF_SIZE (3 * (FS_GCODE_LINE_MAX + 1))
/* Scripts (macros) that run scripts: deeper nesting is an error. */
#define FS_GCODE_SCRIPT_DEPTH_MAX 32

struct fs_gcode_param {
    char key[FS_GCODE_NAME_MAX]; /* upper-case: "X", "TARGET" */
    const char *value;           /* text as written (may be empty) */
};

struct fs_gcode_command {
    char name[FS_GCODE_NAME_MAX]; /* upper-case: "G1", "M104", "SET_VELOCITY_LIMIT" */
    int param_count;
    struct fs_gcode_param params[FS_GCODE_MAX_PARAMS];
    const char *rest;   /* the text after the command name (for M117 messages) */
    const char *line;   /* the whole raw line */
    const char *source; /* "print.gcode:1234", "console", "macro START_PRINT" */
    long line_number;   /* N123 at the start of the line, or -1 */
};

typedef int (*fs_gcode_handler)(void *arg, struct fs_gcode *g,
                                const struct fs_gcode_command *cmd, struct fs_error *err);
/* Where responses go ("ok" is not produced here; the console adds it). */
typedef void (*fs_gcode_output_fn)(void *arg, const char *text);

struct fs_gcode *fs_gcode_new(struct fs_error *err);
void fs_gcode_free(struct fs_gcode *g);
void fs_gcode_set_output(struct fs_gcode *g, fs_gcode_output_fn fn, void *arg);

/* Registers a command by name (case-insensitive); a second registration of
 * the same name is an error. help is shown by HELP. */
int fs_gcode_register(struct fs_gcode *g, const char *name, fs_gcode_handler fn, void *arg,
                      const char *help, struct fs_error *err);
int fs_gcode_is_registered(const struct fs_gcode *g, const char *name);

/* Parses one line into cmd (pointers into buf, which must outlive cmd; a
 * buffer of FS_GCODE_BUF_SIZE bytes fits any line, a smaller one is an error
 * for lines longer than buf_size / 3 - 1). Does not allocate. cmd->source is
 * left NULL. Returns 1 for a command, 0 for a blank or comment-only line, -1
 * on a bad line (bad checksum, malformed parameter, too long). */
int fs_gcode_parse(const char *line, char *buf, size_t buf_size,
                   struct fs_gcode_command *cmd, struct fs_error *err);
/* Parses and runs one line. An unknown command is an error: "Unknown command:
 * 'G999'". */
int fs_gcode_run_line(struct fs_gcode *g, const char *line, const char *source,
                      struct fs_error *err);
/* Runs several lines (a macro body); stops at the first error. */
int fs_gcode_run_script(struct fs_gcode *g, const char *script, const char *source,
                        struct fs_error *err);

/* Parameters. A missing required parameter, a value that is not a number
 * or out of bounds is an error naming the command and the parameter. */
int fs_gcode_has(const struct fs_gcode_command *c, const char *key);
const char *fs_gcode_get_str(const struct fs_gcode_command *c, const char *key,
                             const char *dflt);
/* dflt NAN: required. Bounds inclusive (use -INFINITY/INFINITY). */
int fs_gcode_get_float(const struct fs_gcode_command *c, const char *key, double dflt,
                       double minval, double maxval, double *out, struct fs_error *err);
int fs_gcode_get_int(const struct fs_gcode_command *c, const char *key, int has_dflt,
                     int dflt, int minval, int maxval, int *out, struct fs_error *err);

/* Responses to the user: fs_gcode_respond("// text"), fs_gcode_respond_info
 * prefixes "// ", fs_gcode_respond_error prefixes "!! ". */
void fs_gcode_respond(struct fs_gcode *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fs_gcode_respond_info(struct fs_gcode *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fs_gcode_respond_error(struct fs_gcode *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For HELP: the registered names and their help, sorted by name. */
int fs_gcode_command_count(const struct fs_gcode *g);
const char *fs_gcode_command_name(const struct fs_gcode *g, int i);
const char *fs_gcode_command_help(const struct fs_gcode *g, int i);

#endif
