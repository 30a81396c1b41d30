/* What a G-code file commands, worked out independently of the engine: the
 * toolhead position at its end and the net extruder travel, following
 * G90/G91, M82/M83, G92 and G28 (to the configured endstop positions). */
#ifndef GCODE_EXPECT_H
#define GCODE_EXPECT_H

struct gcode_expect {
    double toolhead[4];  /* machine coordinates at the end */
    double net_extrusion; /* E travel from the first line to the last */
    int moves;
};

/* home[3]: position_endstop of X, Y, Z. Returns -1 if the file can't be read. */
int gcode_expect_file(const char *path, const double home[3], struct gcode_expect *out);

#endif
