/* G-code positions and the motion commands: G0/G1, G2/G3 arcs, G4, G20/G21,
 * G90/G91, G92, M82/M83, M114, M17/M18/M84, M204, M220, M221, M400,
 * SET_VELOCITY_LIMIT, SAVE_GCODE_STATE, RESTORE_GCODE_STATE,
 * SET_GCODE_OFFSET, SET_KINEMATIC_POSITION, GET_POSITION.
 *
 * A G-code position differs from the toolhead's by offsets: the G92 origin
 * and SET_GCODE_OFFSET. E is scaled by the extrude factor (M221); speeds
 * by the speed factor (M220). */
#ifndef FS_GCODE_MOVE_H
#define FS_GCODE_MOVE_H

struct fs_error;
struct fs_gcode;
struct fs_gcode_move;
struct fs_toolhead;

#define FS_GCODE_MOVE_SAVED_STATES 16
/* Arcs are cut into straight segments of about this length (mm), or of
 * [gcode_arcs] resolution when the configuration has that section. */
#define FS_GCODE_MOVE_ARC_SEGMENT_MM 1.0

/* Reads [gcode_arcs] (optional) and registers the commands with g. */
struct fs_gcode_move *fs_gcode_move_new(struct fs_toolhead *th, struct fs_gcode *g,
                                        struct fs_error *err);
void fs_gcode_move_free(struct fs_gcode_move *gm);

/* The G-code position (what M114 reports): X Y Z E. */
void fs_gcode_move_get_position(const struct fs_gcode_move *gm, double pos[4]);

/* What SAVE_GCODE_STATE keeps, for the print job's journal (a print resumed
 * after a restart needs it outside this process). */
struct fs_gcode_move_state {
    int absolute_coord, absolute_extrude;
    double base[4];     /* toolhead = G-code + base (G92 and SET_GCODE_OFFSET) */
    double homing[4];   /* the SET_GCODE_OFFSET part */
    double position[4]; /* the toolhead's position when taken */
    double speed;       /* mm/s, as last set by F */
    double speed_factor, extrude_factor;
};
void fs_gcode_move_get_state(struct fs_gcode_move *gm, struct fs_gcode_move_state *out);
/* Like RESTORE_GCODE_STATE MOVE=0: modes, offsets, speed and factors come
 * back, and E keeps the G-code value it had when the state was taken
 * whatever the extruder did since (or on a restarted toolhead). */
void fs_gcode_move_set_state(struct fs_gcode_move *gm, const struct fs_gcode_move_state *s);

#endif
