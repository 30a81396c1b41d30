/* G-code macros from the configuration: one `[gcode_macro NAME]` section
 * becomes one macro (see macro.h). Kept apart from macro.c so that using
 * macros does not pull the config reader into a program that has none. */
#include "gcode/macro.h"

#include "config/config.h" /* fs_config_get_str, fs_config_error */
#include "core/error.h"    /* fs_error_set */

struct fs_macro *fs_macro_from_config(struct fs_config_section *s, struct fs_error *err)
{
    const char *name = fs_config_section_suffix(s);
    if (!name || !name[0]) {
        fs_error_set(err, "%s: [%s] needs a name: [gcode_macro NAME]",
                     fs_config_section_where(s), fs_config_section_name(s));
        return NULL;
    }
    const char *body;
    const char *description;
    if (fs_config_get_str(s, "gcode", NULL, &body, err) < 0 ||
        fs_config_get_str(s, "description", "G-Code macro", &description, err) < 0)
        return NULL;
    struct fs_error why;
    struct fs_macro *m = fs_macro_new(name, body, &why);
    if (!m || fs_macro_set_description(m, description, &why) < 0) {
        fs_config_error(s, m ? "description" : "gcode", err, "%s", why.msg);
        fs_macro_free(m);
        return NULL;
    }
    return m;
}
