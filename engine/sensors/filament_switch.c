/* [filament_switch_sensor NAME]: a switch that is pressed while filament
 * is in the path. Its level is the reading, nothing more: what a runout or
 * an insert means is decided in filament_sensors.c. */
#include "sensors/filament_internal.h" /* struct fs_filament_sensor */

static void on_switch(void *arg, double eventtime, int pressed)
{
    fs_filament_sensor_note_present(arg, eventtime, pressed);
}

int fs_filament_switch_init(struct fs_filament_sensor *fsn, struct fs_printer *p,
                            struct fs_config_section *s, struct fs_error *err)
{
    return fs_filament_sensor_init(fsn, p, s, on_switch, err);
}
