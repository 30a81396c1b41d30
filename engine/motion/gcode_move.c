/* G-code coordinates and the motion commands; see gcode_move.h.
 *
 * The toolhead's position is the single source of truth; this module only
 * keeps what turns it into G-code coordinates: `base` (toolhead = G-code +
 * base, for X Y Z E) collects the G92 origin and the SET_GCODE_OFFSET part
 * (`homing`), and E in G-code is scaled by the extrude factor. Reading the
 * position from the toolhead before each move means homing or
 * SET_KINEMATIC_POSITION need no notification to keep both in step. */
#include "motion/gcode_move.h"

#include <math.h>   /* sqrt, atan2, cos, sin, ceil, fabs, M_PI, INFINITY, NAN */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strncpy */

#include "config/config.h"     /* fs_config_get_section */
#include "core/error.h"        /* fs_error_set */
#include "gcode/gcode.h"       /* fs_gcode_* */
#include "motion/kinematics.h" /* fs_kinematics_calc_position */
#include "motion/lookahead.h"  /* FS_AXIS_* */
#include "motion/stepper.h"    /* fs_stepper_get_position */
#include "motion/toolhead.h"   /* fs_toolhead_* */
#include "printer/printer.h"   /* struct fs_printer (its config) */

#define DEFAULT_SPEED_MM_S 25.0
#define STATE_NAME_MAX 48

struct saved_state {
    char name[STATE_NAME_MAX];
    struct fs_gcode_move_state state;
};

struct fs_gcode_move {
    struct fs_toolhead *th;
    struct fs_gcode *g;
    int absolute_coord, absolute_extrude;
    double base[4];
    double homing[4];
    double speed; /* mm/s, as last set by F */
    double speed_factor, extrude_factor;
    int saved_count;
    struct saved_state saved[FS_GCODE_MOVE_SAVED_STATES];
    unsigned homing_seen[3]; /* fs_toolhead_homing_count when last looked */
    double arc_segment_mm;
};

static const char axis_keys[4][2] = {"X", "Y", "Z", "E"};

/* An axis homed since we last looked starts again from its SET_GCODE_OFFSET
 * alone: a G92 shift does not survive homing. */
static void follow_homing(struct fs_gcode_move *gm)
{
    for (int i = 0; i < 3; i++) {
        unsigned n = fs_toolhead_homing_count(gm->th, i);
        if (n != gm->homing_seen[i]) {
            gm->homing_seen[i] = n;
            gm->base[i] = gm->homing[i];
        }
    }
}

void fs_gcode_move_get_position(const struct fs_gcode_move *gm, double pos[4])
{
    double last[4];
    fs_toolhead_get_position(gm->th, last);
    for (int i = 0; i < 3; i++) {
        int rehomed = fs_toolhead_homing_count(gm->th, i) != gm->homing_seen[i];
        pos[i] = last[i] - (rehomed ? gm->homing[i] : gm->base[i]);
    }
    pos[3] = (last[3] - gm->base[3]) / gm->extrude_factor;
}

static int get_float(const struct fs_gcode_command *c, const char *key, double *out,
                     struct fs_error *err)
{
    return fs_gcode_get_float(c, key, NAN, -INFINITY, INFINITY, out, err);
}

/* The toolhead position a G0/G1/G2/G3 asks for (X Y Z E) and its F. */
static int target_of(struct fs_gcode_move *gm, const struct fs_gcode_command *c,
                     double last[4], struct fs_error *err)
{
    follow_homing(gm);
    fs_toolhead_get_position(gm->th, last);
    for (int i = 0; i < 4; i++) {
        if (!fs_gcode_has(c, axis_keys[i]))
            continue;
        double v;
        if (get_float(c, axis_keys[i], &v, err) < 0)
            return -1;
        if (i == FS_AXIS_E) {
            v *= gm->extrude_factor;
            last[i] = gm->absolute_extrude ? v + gm->base[i] : last[i] + v;
        } else {
            last[i] = gm->absolute_coord ? v + gm->base[i] : last[i] + v;
        }
    }
    if (fs_gcode_has(c, "F")) {
        double f;
        if (fs_gcode_get_float(c, "F", NAN, -INFINITY, INFINITY, &f, err) < 0)
            return -1;
        if (!(f > 0.0))
            return fs_error_set(err, "%s: invalid speed F=%.3f (mm/min, must be above 0)",
                                c->name, f);
        gm->speed = f / 60.0;
    }
    return 0;
}

static int cmd_g1(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                  struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double target[4];
    if (target_of(gm, c, target, err) < 0)
        return -1;
    return fs_toolhead_move(gm->th, target, gm->speed * gm->speed_factor, err);
}

/* The arc's centre from R: on the perpendicular bisector of the chord, on
 * the side that makes the arc shorter than half a circle for R > 0. */
static int centre_from_radius(const struct fs_gcode_command *c, int clockwise,
                              const double start[4], const double end[4], double r,
                              double centre[2], struct fs_error *err)
{
    double dx = end[0] - start[0], dy = end[1] - start[1];
    double chord = sqrt(dx * dx + dy * dy);
    if (chord < 1e-9)
        return fs_error_set(err, "%s: R needs an end point different from the start",
                            c->name);
    double half = chord / 2.0;
    if (fabs(r) < half - 1e-6)
        return fs_error_set(err, "%s: radius R=%.3f is too small for a chord of %.3f mm",
                            c->name, r, chord);
    double h = fabs(r) > half ? sqrt(r * r - half * half) : 0.0;
    /* Unit normal to the left of the chord direction. */
    double nx = -dy / chord, ny = dx / chord;
    int left = clockwise ? (r < 0) : (r > 0);
    double side = left ? 1.0 : -1.0;
    centre[0] = start[0] + dx / 2.0 + side * h * nx;
    centre[1] = start[1] + dy / 2.0 + side * h * ny;
    return 0;
}

static int cmd_arc(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                   struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    int clockwise = !strcmp(c->name, "G2");
    double start[4], end[4], centre[2] = {0.0, 0.0};
    fs_toolhead_get_position(gm->th, start);
    if (target_of(gm, c, end, err) < 0)
        return -1;
    if (fs_gcode_has(c, "R")) {
        double r;
        if (get_float(c, "R", &r, err) < 0 ||
            centre_from_radius(c, clockwise, start, end, r, centre, err) < 0)
            return -1;
    } else if (fs_gcode_has(c, "I") || fs_gcode_has(c, "J")) {
        double i = 0.0, j = 0.0;
        if ((fs_gcode_has(c, "I") && get_float(c, "I", &i, err) < 0) ||
            (fs_gcode_has(c, "J") && get_float(c, "J", &j, err) < 0))
            return -1;
        centre[0] = start[0] + i;
        centre[1] = start[1] + j;
    } else {
        return fs_error_set(err, "%s: needs the centre (I J) or a radius (R)", c->name);
    }
    double radius = hypot(start[0] - centre[0], start[1] - centre[1]);
    if (radius < 1e-6)
        return fs_error_set(err, "%s: the arc's radius is zero", c->name);
    double a0 = atan2(start[1] - centre[1], start[0] - centre[0]);
    double a1 = atan2(end[1] - centre[1], end[0] - centre[0]);
    double sweep = clockwise ? a0 - a1 : a1 - a0;
    while (sweep <= 1e-9)
        sweep += 2.0 * M_PI; /* same start and end: a full circle */
    double length = hypot(sweep * radius, end[2] - start[2]);
    int segments = (int)ceil(length / gm->arc_segment_mm);
    if (segments < 1)
        segments = 1;
    double speed = gm->speed * gm->speed_factor;
    for (int k = 1; k < segments; k++) {
        double f = (double)k / segments;
        double a = a0 + (clockwise ? -sweep : sweep) * f;
        double p[4] = {centre[0] + radius * cos(a), centre[1] + radius * sin(a),
                       start[2] + (end[2] - start[2]) * f, start[3] + (end[3] - start[3]) * f};
        if (fs_toolhead_move(gm->th, p, speed, err) < 0)
            return -1;
    }
    /* The last segment ends exactly where the G-code said. */
    return fs_toolhead_move(gm->th, end, speed, err);
}

static int cmd_g4(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                  struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double seconds = 0.0;
    if (fs_gcode_has(c, "S")) {
        if (fs_gcode_get_float(c, "S", NAN, 0.0, INFINITY, &seconds, err) < 0)
            return -1;
    } else if (fs_gcode_get_float(c, "P", 0.0, 0.0, INFINITY, &seconds, err) < 0) {
        return -1;
    } else {
        seconds /= 1000.0;
    }
    return fs_toolhead_dwell(gm->th, seconds, err);
}

static int cmd_g20(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                   struct fs_error *err)
{
    (void)arg;
    (void)g;
    (void)c;
    return fs_error_set(err, "G20: inches are not supported; the machine works in "
                             "millimetres (G21)");
}

static int cmd_noop(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                    struct fs_error *err)
{
    (void)arg;
    (void)g;
    (void)c;
    (void)err;
    return 0;
}

static int cmd_modes(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                     struct fs_error *err)
{
    (void)g;
    (void)err;
    struct fs_gcode_move *gm = arg;
    if (!strcmp(c->name, "G90"))
        gm->absolute_coord = gm->absolute_extrude = 1;
    else if (!strcmp(c->name, "G91"))
        gm->absolute_coord = gm->absolute_extrude = 0;
    else if (!strcmp(c->name, "M82"))
        gm->absolute_extrude = 1;
    else if (!strcmp(c->name, "M83"))
        gm->absolute_extrude = 0;
    return 0;
}

static int cmd_g92(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                   struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double last[4];
    follow_homing(gm);
    fs_toolhead_get_position(gm->th, last);
    int any = 0;
    for (int i = 0; i < 4; i++) {
        if (!fs_gcode_has(c, axis_keys[i]))
            continue;
        double v;
        if (get_float(c, axis_keys[i], &v, err) < 0)
            return -1;
        if (i == FS_AXIS_E)
            v *= gm->extrude_factor;
        gm->base[i] = last[i] - v;
        any = 1;
    }
    if (!any)
        for (int i = 0; i < 4; i++)
            gm->base[i] = last[i];
    return 0;
}

static int cmd_m114(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                    struct fs_error *err)
{
    (void)c;
    (void)err;
    struct fs_gcode_move *gm = arg;
    double p[4];
    fs_gcode_move_get_position(gm, p);
    fs_gcode_respond(g, "X:%.3f Y:%.3f Z:%.3f E:%.3f", p[0], p[1], p[2], p[3]);
    return 0;
}

static int cmd_m220(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                    struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double percent;
    if (fs_gcode_get_float(c, "S", 100.0, 1e-3, INFINITY, &percent, err) < 0)
        return -1;
    gm->speed_factor = percent / 100.0;
    return 0;
}

static int cmd_m221(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                    struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double percent;
    if (fs_gcode_get_float(c, "S", 100.0, 1e-3, INFINITY, &percent, err) < 0)
        return -1;
    /* Keep the G-code E position where it is under the new factor. */
    double last[4];
    fs_toolhead_get_position(gm->th, last);
    double e = (last[3] - gm->base[3]) / gm->extrude_factor;
    gm->extrude_factor = percent / 100.0;
    gm->base[3] = last[3] - e * gm->extrude_factor;
    return 0;
}

static int cmd_m204(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                    struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double accel;
    if (fs_gcode_has(c, "S")) {
        if (fs_gcode_get_float(c, "S", NAN, 1e-6, INFINITY, &accel, err) < 0)
            return -1;
    } else if (fs_gcode_has(c, "P") && fs_gcode_has(c, "T")) {
        double p, t;
        if (fs_gcode_get_float(c, "P", NAN, 1e-6, INFINITY, &p, err) < 0 ||
            fs_gcode_get_float(c, "T", NAN, 1e-6, INFINITY, &t, err) < 0)
            return -1;
        accel = p < t ? p : t;
    } else {
        return fs_error_set(err, "M204: give S<accel>, or both P<print> and T<travel>");
    }
    fs_toolhead_set_limits(gm->th, NAN, accel, NAN, NAN);
    return 0;
}

static int cmd_m400(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                    struct fs_error *err)
{
    (void)g;
    (void)c;
    struct fs_gcode_move *gm = arg;
    fs_toolhead_wait_moves(gm->th);
    return fs_toolhead_flush(gm->th, err);
}

static int cmd_motors(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                      struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    int on = !strcmp(c->name, "M17");
    if (!on)
        fs_toolhead_wait_moves(gm->th);
    return fs_toolhead_motors_enable(gm->th, on, err);
}

/* An optional parameter: out is left alone when absent. */
static int opt_float(const struct fs_gcode_command *c, const char *key, double minval,
                     double maxval, double *out, struct fs_error *err)
{
    if (!fs_gcode_has(c, key))
        return 0;
    return fs_gcode_get_float(c, key, NAN, minval, maxval, out, err);
}

static int cmd_set_velocity_limit(void *arg, struct fs_gcode *g,
                                  const struct fs_gcode_command *c, struct fs_error *err)
{
    struct fs_gcode_move *gm = arg;
    double v = NAN, a = NAN, mcr = NAN, scv = NAN;
    if (opt_float(c, "VELOCITY", 1e-6, INFINITY, &v, err) < 0 ||
        opt_float(c, "ACCEL", 1e-6, INFINITY, &a, err) < 0 ||
        opt_float(c, "MINIMUM_CRUISE_RATIO", 0.0, 0.99, &mcr, err) < 0 ||
        opt_float(c, "SQUARE_CORNER_VELOCITY", 0.0, INFINITY, &scv, err) < 0)
        return -1;
    fs_toolhead_set_limits(gm->th, v, a, mcr, scv);
    struct fs_toolhead_status st;
    fs_toolhead_get_status(gm->th, &st);
    fs_gcode_respond_info(g, "max_velocity: %.6f max_accel: %.6f minimum_cruise_ratio: %.6f "
                          "square_corner_velocity: %.6f", st.max_velocity, st.max_accel,
                          st.min_cruise_ratio, st.square_corner_velocity);
    return 0;
}

static struct saved_state *find_state(struct fs_gcode_move *gm, const char *name)
{
    for (int i = 0; i < gm->saved_count; i++)
        if (!strcmp(gm->saved[i].name, name))
            return &gm->saved[i];
    return NULL;
}

static int cmd_save_state(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                          struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    const char *name = fs_gcode_get_str(c, "NAME", "default");
    if (strlen(name) >= STATE_NAME_MAX)
        return fs_error_set(err, "SAVE_GCODE_STATE: NAME longer than %d characters",
                            STATE_NAME_MAX - 1);
    follow_homing(gm);
    struct saved_state *s = find_state(gm, name);
    if (!s) {
        if (gm->saved_count == FS_GCODE_MOVE_SAVED_STATES)
            return fs_error_set(err, "SAVE_GCODE_STATE: already %d states saved",
                                FS_GCODE_MOVE_SAVED_STATES);
        s = &gm->saved[gm->saved_count++];
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    fs_gcode_move_get_state(gm, &s->state);
    return 0;
}

static int cmd_restore_state(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                             struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    const char *name = fs_gcode_get_str(c, "NAME", "default");
    struct saved_state *s = find_state(gm, name);
    if (!s)
        return fs_error_set(err, "RESTORE_GCODE_STATE: unknown state '%s' (save it with "
                                 "SAVE_GCODE_STATE NAME=%s first)", name, name);
    int move;
    double move_speed;
    if (fs_gcode_get_int(c, "MOVE", 1, 0, 0, 1, &move, err) < 0 ||
        fs_gcode_get_float(c, "MOVE_SPEED", s->state.speed, 1e-6, INFINITY, &move_speed,
                           err) < 0)
        return -1;
    fs_gcode_move_set_state(gm, &s->state);
    if (!move)
        return 0;
    double last[4];
    fs_toolhead_get_position(gm->th, last);
    for (int i = 0; i < 3; i++)
        last[i] = s->state.position[i];
    return fs_toolhead_move(gm->th, last, move_speed, err);
}

static int cmd_set_gcode_offset(void *arg, struct fs_gcode *g,
                                const struct fs_gcode_command *c, struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    static const char *const adjust_keys[3] = {"X_ADJUST", "Y_ADJUST", "Z_ADJUST"};
    double delta[4] = {0, 0, 0, 0};
    follow_homing(gm);
    for (int i = 0; i < 3; i++) {
        double offset, v;
        if (fs_gcode_has(c, axis_keys[i])) {
            if (get_float(c, axis_keys[i], &v, err) < 0)
                return -1;
            offset = v;
        } else if (fs_gcode_has(c, adjust_keys[i])) {
            if (get_float(c, adjust_keys[i], &v, err) < 0)
                return -1;
            offset = gm->homing[i] + v;
        } else {
            continue;
        }
        delta[i] = offset - gm->homing[i];
        gm->base[i] += delta[i];
        gm->homing[i] = offset;
    }
    int move;
    double move_speed;
    if (fs_gcode_get_int(c, "MOVE", 1, 0, 0, 1, &move, err) < 0 ||
        fs_gcode_get_float(c, "MOVE_SPEED", gm->speed, 1e-6, INFINITY, &move_speed, err) < 0)
        return -1;
    if (!move)
        return 0;
    double last[4];
    fs_toolhead_get_position(gm->th, last);
    for (int i = 0; i < 3; i++)
        last[i] += delta[i];
    return fs_toolhead_move(gm->th, last, move_speed, err);
}

static int cmd_set_kinematic_position(void *arg, struct fs_gcode *g,
                                      const struct fs_gcode_command *c, struct fs_error *err)
{
    (void)g;
    struct fs_gcode_move *gm = arg;
    double pos[4];
    fs_toolhead_wait_moves(gm->th);
    fs_toolhead_get_position(gm->th, pos);
    for (int i = 0; i < 3; i++)
        if (fs_gcode_has(c, axis_keys[i]) && get_float(c, axis_keys[i], &pos[i], err) < 0)
            return -1;
    return fs_toolhead_set_position(gm->th, pos, 0x7u, err);
}

static int cmd_get_position(void *arg, struct fs_gcode *g, const struct fs_gcode_command *c,
                            struct fs_error *err)
{
    (void)c;
    (void)err;
    struct fs_gcode_move *gm = arg;
    struct fs_toolhead *th = gm->th;
    fs_toolhead_wait_moves(th);
    follow_homing(gm);
    char steps[256] = "", coords[256] = "";
    size_t ns = 0, nc = 0;
    double stepper_pos[3];
    for (int i = 0; i < fs_toolhead_stepper_count(th); i++) {
        ns += (size_t)snprintf(steps + ns, sizeof(steps) - ns, " %s:%lld",
                               fs_toolhead_stepper_name(th, i),
                               (long long)fs_toolhead_stepper_steps(th, i));
        if (ns >= sizeof(steps))
            ns = sizeof(steps) - 1;
        if (i < 3) {
            stepper_pos[i] = fs_stepper_get_position(fs_toolhead_rail_stepper(th, i));
            nc += (size_t)snprintf(coords + nc, sizeof(coords) - nc, " %s:%.6f",
                                   fs_toolhead_stepper_name(th, i), stepper_pos[i]);
            if (nc >= sizeof(coords))
                nc = sizeof(coords) - 1;
        }
    }
    double kin[3], head[4], gpos[4];
    fs_kinematics_calc_position(fs_toolhead_kinematics(th), stepper_pos, kin);
    fs_toolhead_get_position(th, head);
    fs_gcode_move_get_position(gm, gpos);
    fs_gcode_respond_info(g, "steps:%s", steps);
    fs_gcode_respond_info(g, "stepper:%s", coords);
    fs_gcode_respond_info(g, "kinematic: X:%.6f Y:%.6f Z:%.6f", kin[0], kin[1], kin[2]);
    fs_gcode_respond_info(g, "toolhead: X:%.6f Y:%.6f Z:%.6f E:%.6f", head[0], head[1], head[2],
                          head[3]);
    fs_gcode_respond_info(g, "gcode: X:%.6f Y:%.6f Z:%.6f E:%.6f", gpos[0], gpos[1], gpos[2],
                          gpos[3]);
    fs_gcode_respond_info(g, "gcode base: X:%.6f Y:%.6f Z:%.6f E:%.6f", gm->base[0],
                          gm->base[1], gm->base[2], gm->base[3]);
    fs_gcode_respond_info(g, "gcode homing: X:%.6f Y:%.6f Z:%.6f", gm->homing[0],
                          gm->homing[1], gm->homing[2]);
    return 0;
}

struct command {
    const char *name;
    fs_gcode_handler fn;
    const char *help;
};

static const struct command commands[] = {
    {"G0", cmd_g1, "Move in a straight line: G0 [X] [Y] [Z] [E] [F mm/min]"},
    {"G1", cmd_g1, "Move in a straight line: G1 [X] [Y] [Z] [E] [F mm/min]"},
    {"G2", cmd_arc, "Clockwise arc in XY: G2 X Y (I J | R) [Z] [E] [F]"},
    {"G3", cmd_arc, "Counter-clockwise arc in XY: G3 X Y (I J | R) [Z] [E] [F]"},
    {"G4", cmd_g4, "Dwell: G4 P<ms> or G4 S<s>"},
    {"G20", cmd_g20, "Inches (not supported)"},
    {"G21", cmd_noop, "Millimetres (the only unit)"},
    {"G90", cmd_modes, "Absolute coordinates (X Y Z and E)"},
    {"G91", cmd_modes, "Relative coordinates (X Y Z and E)"},
    {"M82", cmd_modes, "Absolute extrusion"},
    {"M83", cmd_modes, "Relative extrusion"},
    {"G92", cmd_g92, "Set the G-code position: G92 [X] [Y] [Z] [E]"},
    {"M114", cmd_m114, "Report the G-code position"},
    {"M220", cmd_m220, "Speed factor: M220 S<percent>"},
    {"M221", cmd_m221, "Extrude factor: M221 S<percent>"},
    {"M204", cmd_m204, "Acceleration: M204 S<accel> or M204 P<accel> T<accel>"},
    {"M400", cmd_m400, "Wait until every queued move has run"},
    {"M17", cmd_motors, "Enable every motor"},
    {"M18", cmd_motors, "Disable every motor (homing is lost)"},
    {"M84", cmd_motors, "Disable every motor (homing is lost)"},
    {"SET_VELOCITY_LIMIT", cmd_set_velocity_limit,
     "Change limits: [VELOCITY] [ACCEL] [MINIMUM_CRUISE_RATIO] [SQUARE_CORNER_VELOCITY]"},
    {"SAVE_GCODE_STATE", cmd_save_state, "Save the G-code state: [NAME]"},
    {"RESTORE_GCODE_STATE", cmd_restore_state,
     "Restore a saved G-code state: [NAME] [MOVE=1] [MOVE_SPEED]"},
    {"SET_GCODE_OFFSET", cmd_set_gcode_offset,
     "Offset the G-code position: [X|X_ADJUST] [Y|Y_ADJUST] [Z|Z_ADJUST] [MOVE=1] "
     "[MOVE_SPEED]"},
    {"SET_KINEMATIC_POSITION", cmd_set_kinematic_position,
     "Declare where the head is (marks axes homed): [X] [Y] [Z]"},
    {"GET_POSITION", cmd_get_position, "Report the position at every level"},
};

struct fs_gcode_move *fs_gcode_move_new(struct fs_toolhead *th, struct fs_gcode *g,
                                        struct fs_error *err)
{
    struct fs_gcode_move *gm = calloc(1, sizeof(*gm));
    if (!gm) {
        fs_error_set(err, "gcode_move: out of memory");
        return NULL;
    }
    gm->th = th;
    gm->g = g;
    gm->absolute_coord = gm->absolute_extrude = 1;
    gm->speed = DEFAULT_SPEED_MM_S;
    gm->speed_factor = gm->extrude_factor = 1.0;
    gm->arc_segment_mm = FS_GCODE_MOVE_ARC_SEGMENT_MM;
    struct fs_printer *p = fs_toolhead_printer(th);
    struct fs_config_section *arcs = p->config ? fs_config_get_section(p->config, "gcode_arcs")
                                               : NULL;
    if (arcs && fs_config_get_float_above(arcs, "resolution", FS_GCODE_MOVE_ARC_SEGMENT_MM, 0.0,
                                          &gm->arc_segment_mm, err) < 0) {
        free(gm);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (fs_gcode_register(g, commands[i].name, commands[i].fn, gm, commands[i].help,
                              err) < 0) {
            free(gm);
            return NULL;
        }
    }
    return gm;
}

void fs_gcode_move_free(struct fs_gcode_move *gm) { free(gm); }

void fs_gcode_move_get_state(struct fs_gcode_move *gm, struct fs_gcode_move_state *out)
{
    follow_homing(gm);
    out->absolute_coord = gm->absolute_coord;
    out->absolute_extrude = gm->absolute_extrude;
    memcpy(out->base, gm->base, sizeof(out->base));
    memcpy(out->homing, gm->homing, sizeof(out->homing));
    fs_toolhead_get_position(gm->th, out->position);
    out->speed = gm->speed;
    out->speed_factor = gm->speed_factor;
    out->extrude_factor = gm->extrude_factor;
}

void fs_gcode_move_set_state(struct fs_gcode_move *gm, const struct fs_gcode_move_state *s)
{
    double last[4];
    follow_homing(gm);
    fs_toolhead_get_position(gm->th, last);
    gm->absolute_coord = s->absolute_coord;
    gm->absolute_extrude = s->absolute_extrude;
    memcpy(gm->homing, s->homing, sizeof(gm->homing));
    for (int i = 0; i < 3; i++)
        gm->base[i] = s->base[i];
    /* E went on since the state was taken (or was retracted): keep its
     * G-code value. */
    gm->base[3] = s->base[3] + (last[3] - s->position[3]);
    gm->speed = s->speed;
    gm->speed_factor = s->speed_factor;
    gm->extrude_factor = s->extrude_factor;
}
