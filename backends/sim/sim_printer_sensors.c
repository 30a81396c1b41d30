/* Filament sensors and fan tachometers in the simulated printer (see
 * sim_printer_sensors.h). */
#include "sim_printer_sensors.h"

#include <string.h> /* strcmp */

#include "config/config.h" /* fs_config_* */
#include "core/error.h"    /* fs_error_set */

int sim_printer_add_sensors(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err)
{
    (void)h;
    (void)p;
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        const char *kind = fs_config_section_kind(s);
        if (!strcmp(kind, "filament_switch_sensor") || !strcmp(kind, "filament_motion_sensor"))
            return fs_config_error(s, NULL, err, "the simulator has no filament sensor model yet");
        if (fs_config_has(s, "tachometer_pin"))
            return fs_config_error(s, "tachometer_pin", err,
                                   "the simulator has no tachometer model yet");
    }
    return 0;
}
