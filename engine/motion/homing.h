/* Homing (G28): each axis runs towards its endstop until the MCU stops its
 * steppers on the switch, backs off, touches again slowly, and then knows
 * where it is. */
#ifndef FS_HOMING_H
#define FS_HOMING_H

struct fs_error;
struct fs_homing;
struct fs_toolhead;

/* Sets up the endstops (config_endstop and config_trsync on the endstop's
 * MCU when it is configured) and registers G28. */
struct fs_homing *fs_homing_new(struct fs_toolhead *th, struct fs_error *err);
void fs_homing_free(struct fs_homing *h);

/* Homes the axes in the mask (bit 0 X, 1 Y, 2 Z), in that order. Errors:
 * "No trigger on x after full movement", "Endstop x still triggered after
 * retract". An axis that failed stays unhomed. */
int fs_homing_home_axes(struct fs_homing *h, unsigned axes, struct fs_error *err);

#endif
