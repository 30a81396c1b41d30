/* Firmware retraction ([firmware_retraction]): G10 pulls the filament back
 * by retract_length, G11 pushes it forward again by that much plus
 * unretract_extra_length; SET_RETRACTION and GET_RETRACTION change and show
 * the settings at run time. The commands exist only when the section does
 * (without it G10 is an unknown command, as slicers expect). */
#ifndef FS_FIRMWARE_RETRACTION_H
#define FS_FIRMWARE_RETRACTION_H

struct fs_config_section;
struct fs_error;
struct fs_firmware_retraction;
struct fs_gcode;

/* Reads the section and registers G10, G11, SET_RETRACTION and
 * GET_RETRACTION with g (after the G-code move layer: the moves go through
 * its G1 and SAVE/RESTORE_GCODE_STATE). */
struct fs_firmware_retraction *fs_firmware_retraction_new(struct fs_config_section *s,
                                                          struct fs_gcode *g,
                                                          struct fs_error *err);
void fs_firmware_retraction_free(struct fs_firmware_retraction *fr);

#endif
