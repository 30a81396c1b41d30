/* A deliberately small G-code reader for tests: only what decides where the
 * head ends up and how much filament went through, written separately from
 * the engine so that the two can be compared. */
#include "gcode_expect.h"

#include <ctype.h>  /* toupper, isspace */
#include <stdio.h>  /* fopen, fgets */
#include <stdlib.h> /* strtod */
#include <string.h> /* strchr, strcspn */

struct reader {
    double gcode[4]; /* G-code coordinates */
    double base[4];  /* machine = gcode + base (G92 shifts) */
    int relative_xyz, relative_e;
};

static int axis_of(char c)
{
    switch (c) {
    case 'X': return 0;
    case 'Y': return 1;
    case 'Z': return 2;
    case 'E': return 3;
    default: return -1;
    }
}

/* Calls fn for every "letter value" word after the command. */
static void each_word(const char *args, void (*fn)(void *, char, double, int), void *arg)
{
    const char *p = args;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char letter = (char)toupper((unsigned char)*p++);
        char *end;
        double v = strtod(p, &end);
        fn(arg, letter, v, end != p);
        p = end;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
}

static void apply_move(void *arg, char letter, double v, int has_value)
{
    struct reader *r = arg;
    int axis = axis_of(letter);
    if (axis < 0 || !has_value)
        return;
    int rel = axis == 3 ? r->relative_e : r->relative_xyz;
    r->gcode[axis] = rel ? r->gcode[axis] + v : v;
}

static void apply_g92(void *arg, char letter, double v, int has_value)
{
    struct reader *r = arg;
    int axis = axis_of(letter);
    if (axis < 0 || !has_value)
        return;
    double machine = r->gcode[axis] + r->base[axis];
    r->gcode[axis] = v;
    r->base[axis] = machine - v;
}

struct homing {
    struct reader *r;
    const double *home;
    int any;
};

static void note_home_axis(void *arg, char letter, double v, int has_value)
{
    (void)v;
    (void)has_value;
    struct homing *h = arg;
    int axis = axis_of(letter);
    if (axis < 0 || axis > 2)
        return;
    h->any = 1;
    h->r->gcode[axis] = h->home[axis];
    h->r->base[axis] = 0.0;
}

int gcode_expect_file(const char *path, const double home[3], struct gcode_expect *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    struct reader r = {{0}, {0}, 0, 0};
    out->moves = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, ";\r\n")] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        char cmd[16];
        int n = 0;
        while (*p && !isspace((unsigned char)*p) && n < (int)sizeof(cmd) - 1)
            cmd[n++] = (char)toupper((unsigned char)*p++);
        cmd[n] = '\0';
        if (!strcmp(cmd, "G0") || !strcmp(cmd, "G1")) {
            each_word(p, apply_move, &r);
            out->moves++;
        } else if (!strcmp(cmd, "G90")) {
            r.relative_xyz = r.relative_e = 0;
        } else if (!strcmp(cmd, "G91")) {
            r.relative_xyz = r.relative_e = 1;
        } else if (!strcmp(cmd, "M82")) {
            r.relative_e = 0;
        } else if (!strcmp(cmd, "M83")) {
            r.relative_e = 1;
        } else if (!strcmp(cmd, "G92")) {
            each_word(p, apply_g92, &r);
        } else if (!strcmp(cmd, "G28")) {
            struct homing h = {&r, home, 0};
            each_word(p, note_home_axis, &h);
            if (!h.any)
                for (int i = 0; i < 3; i++) {
                    r.gcode[i] = home[i];
                    r.base[i] = 0.0;
                }
        }
    }
    fclose(f);
    for (int i = 0; i < 4; i++)
        out->toolhead[i] = r.gcode[i] + r.base[i];
    out->net_extrusion = out->toolhead[3];
    return 0;
}
