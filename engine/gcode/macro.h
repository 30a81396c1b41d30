/* G-code macros: `[gcode_macro NAME]` sections whose gcode is a template
 * rendered at each call, then run as a script.
 *
 * The template language is a small subset of Jinja2, kept to what printer
 * macros use: `{ expression }` substitutions and `{% if %} / {% elif %} /
 * {% else %} / {% endif %}` blocks. Expressions know numbers, "strings" (or
 * 'strings'), True/False, `params.X` (the call's parameters, keys
 * upper-cased, text that acts as a number where one is needed),
 * `rawparams` (the call's rest of line), `printer.<object>.<field>` (looked
 * up through a callback), + - * / with the usual precedence and
 * parentheses, < <= > >= == !=, and/or/not, and the filters |float, |int,
 * |default(v) and |round(n). Unlike Jinja2, a value that cannot be converted
 * (`"abc"|float`) and an undefined value that is printed or computed with
 * are errors, not 0 or empty text: a print must not start with a silently
 * wrong temperature. Errors name the macro, the template line and the
 * expression. */
#ifndef FS_MACRO_H
#define FS_MACRO_H

#include <stddef.h> /* size_t */

struct fs_config_section;
struct fs_error;
struct fs_gcode;
struct fs_gcode_command;
struct fs_macro;

#define FS_MACRO_BODY_MAX 65536  /* template text */
#define FS_MACRO_SCRIPT_MAX 16384 /* one rendered script */
#define FS_MACRO_STR_MAX 520      /* one string value (a whole G-code line fits) */
#define FS_MACRO_DEPTH_MAX 16     /* a macro running inside itself */

enum fs_macro_kind {
    FS_MACRO_UNDEFINED, /* absent: false in an if, replaced by |default */
    FS_MACRO_BOOL,
    FS_MACRO_INT,
    FS_MACRO_FLOAT,
    FS_MACRO_STRING,
};

struct fs_macro_value {
    enum fs_macro_kind kind;
    double number; /* BOOL (0/1), INT, FLOAT */
    char str[FS_MACRO_STR_MAX];
};

/* Looks up "toolhead.position.x", "extruder.temperature" (the path after
 * `printer.`). Fill out and return 0; leave out->kind FS_MACRO_UNDEFINED for
 * a field that does not exist (|default applies); return -1 with err filled
 * for a failure worth stopping the macro. */
typedef int (*fs_macro_lookup_fn)(void *arg, const char *path, struct fs_macro_value *out,
                                  struct fs_error *err);

/* Helpers for lookup callbacks. */
void fs_macro_value_float(struct fs_macro_value *v, double x);
void fs_macro_value_int(struct fs_macro_value *v, long x);
void fs_macro_value_bool(struct fs_macro_value *v, int b);
/* -1 when text is FS_MACRO_STR_MAX characters or longer. */
int fs_macro_value_string(struct fs_macro_value *v, const char *text, struct fs_error *err);

/* Parses the template once; syntax errors name the macro and line. NAME is
 * upper-cased ([A-Za-z0-9_], shorter than FS_GCODE_NAME_MAX). */
struct fs_macro *fs_macro_new(const char *name, const char *body, struct fs_error *err);
void fs_macro_free(struct fs_macro *m);
const char *fs_macro_name(const struct fs_macro *m);
/* Shown by HELP; "G-Code macro" unless set. */
const char *fs_macro_description(const struct fs_macro *m);
int fs_macro_set_description(struct fs_macro *m, const char *text, struct fs_error *err);

/* Renders the template with the call's parameters (params may be NULL: no
 * parameters) into out; a script that does not fit is an error. */
int fs_macro_render(const struct fs_macro *m, const struct fs_gcode_command *params,
                    fs_macro_lookup_fn lookup, void *arg, char *out, size_t out_size,
                    struct fs_error *err);

/* Registers NAME as a G-code command that renders the macro with the
 * command's parameters and runs the script ("macro NAME:3: ..." in errors).
 * The macro must outlive g's use of it. A macro that runs inside itself more
 * than FS_MACRO_DEPTH_MAX deep is an error. */
int fs_macro_register(struct fs_gcode *g, struct fs_macro *m, fs_macro_lookup_fn lookup,
                      void *arg, struct fs_error *err);

/* From a `[gcode_macro NAME]` section: options `gcode` (required) and
 * `description`. Errors carry the section's file:line. */
struct fs_macro *fs_macro_from_config(struct fs_config_section *s, struct fs_error *err);

#endif
