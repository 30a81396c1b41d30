/* The demo's picture (see demo_chart.h). */
#include "demo_chart.h"

#include <errno.h>    /* errno, EEXIST */
#include <stdio.h>    /* snprintf */
#include <string.h>   /* strrchr, strerror */
#include <sys/stat.h> /* mkdir */

#include "core/error.h" /* fs_error_set */

static int make_parent_dirs(const char *path, struct fs_error *err)
{
    char dir[512];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return fs_error_set(err, "demo: path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0777) < 0 && errno != EEXIST)
            return fs_error_set(err, "demo: cannot create %s: %s", dir, strerror(errno));
        *p = c;
        if (!c)
            return 0;
    }
}

static int series(struct viz_chart *c, int panel, const char *name, const struct demo_record *r,
                  enum demo_series_id id, struct viz_color color, struct fs_error *err)
{
    int i = viz_chart_add_series(c, panel, name, r->series[id].points, r->series[id].count, err);
    if (i < 0)
        return -1;
    c->panels[panel].series[i].color = color;
    return 0;
}

int demo_chart_draw(const struct demo_record *r, const struct viz_marker *markers, int count,
                    const char *title, const char *path, struct fs_error *err)
{
    static struct viz_chart c; /* large; one demo at a time */
    const struct viz_color red = {214, 39, 40}, orange = {255, 127, 14}, grey = {110, 110, 110},
                           blue = {31, 119, 180}, green = {44, 160, 44}, purple = {148, 103, 189};
    if (make_parent_dirs(path, err) < 0 || viz_chart_init(&c, title, 1200, 900, err) < 0)
        return -1;
    snprintf(c.t_label, sizeof(c.t_label), "simulated time since the print started (s)");
    if (viz_chart_add_panel(&c, "hotend (C)", err) < 0 ||
        series(&c, 0, "hotend block (simulator)", r, DEMO_HOTEND_TRUE, red, err) < 0 ||
        series(&c, 0, "as the toolboard reads it", r, DEMO_HOTEND_READING, orange, err) < 0 ||
        series(&c, 0, "target", r, DEMO_HOTEND_TARGET, grey, err) < 0 ||
        viz_chart_add_panel(&c, "bed (C)", err) < 0 ||
        series(&c, 1, "bed (simulator)", r, DEMO_BED_TRUE, blue, err) < 0 ||
        series(&c, 1, "target", r, DEMO_BED_TARGET, grey, err) < 0 ||
        viz_chart_add_panel(&c, "hotend heater (%)", err) < 0 ||
        series(&c, 2, "power the host commands", r, DEMO_HOTEND_POWER, purple, err) < 0 ||
        series(&c, 2, "duty measured at the pin", r, DEMO_HOTEND_PIN, red, err) < 0 ||
        viz_chart_add_panel(&c, "head Z (mm)", err) < 0 ||
        series(&c, 3, "head height (simulator)", r, DEMO_HEAD_Z, green, err) < 0)
        return -1;
    /* From room temperature's side of 0, with headroom, as a person would
     * scale them. */
    c.panels[0].y_min = 0.0;
    c.panels[0].y_max = 260.0;
    c.panels[1].y_min = 0.0;
    c.panels[1].y_max = 80.0;
    c.panels[2].y_min = 0.0;
    c.panels[2].y_max = 105.0;
    for (int i = 0; i < count; i++)
        if (viz_chart_add_marker(&c, markers[i].t, markers[i].label, err) < 0)
            return -1;
    return viz_chart_render_png(&c, path, err);
}
