/* Stepper drivers with a UART in the simulated printer (see
 * sim_printer_drivers.h). */
#include "sim_printer_drivers.h"

#include <string.h> /* strcmp */

#include "config/config.h" /* fs_config_* */
#include "core/error.h"    /* fs_error_set */

int sim_printer_add_drivers(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err)
{
    (void)h;
    (void)p;
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        if (!strcmp(fs_config_section_kind(s), "tmc2209"))
            return fs_config_error(s, NULL, err, "the simulator has no TMC2209 model yet");
    }
    return 0;
}
