/* A time chart as plain data, and its rendering to a PNG file.
 *
 * A chart has a title, one shared time axis and one or more panels stacked
 * top to bottom; each panel has its own value axis, named series of
 * (t, value) points, horizontal reference lines (a target temperature) and
 * the chart's vertical event markers ("homed", "move") run through all of
 * them. The caller owns the struct viz_chart and fills it with the add
 * functions (bounded, nothing allocated), then renders it. Series points are not copied: they must stay
 * valid until the chart is rendered.
 *
 * Rendering draws into a software surface with SDL2 and SDL2_ttf and saves
 * it with SDL2_image, so it needs no display, window system or GPU. Text is
 * set in DejaVu Sans (Debian package fonts-dejavu-core); without that font
 * rendering fails with an error that says so. */
#ifndef VIZ_CHART_H
#define VIZ_CHART_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

struct fs_error;

#define VIZ_PANELS_MAX 4
#define VIZ_SERIES_MAX 6    /* per panel */
#define VIZ_REF_LINES_MAX 4 /* per panel */
#define VIZ_MARKERS_MAX 32
#define VIZ_TEXT_MAX 96
#define VIZ_DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

struct viz_color {
    uint8_t r, g, b;
};

struct viz_point {
    double t, v;
};

struct viz_series {
    char name[VIZ_TEXT_MAX];
    const struct viz_point *points; /* in time order; not owned */
    size_t count;
    struct viz_color color;
};

struct viz_ref_line {
    char label[VIZ_TEXT_MAX];
    double value;
    struct viz_color color;
};

struct viz_panel {
    char y_label[VIZ_TEXT_MAX];
    /* Value range; when y_min >= y_max it is fitted to the data. */
    double y_min, y_max;
    struct viz_series series[VIZ_SERIES_MAX];
    int series_count;
    struct viz_ref_line refs[VIZ_REF_LINES_MAX];
    int ref_count;
};

struct viz_marker {
    double t;
    char label[VIZ_TEXT_MAX];
};

struct viz_chart {
    char title[VIZ_TEXT_MAX];
    char t_label[VIZ_TEXT_MAX];
    int width, height; /* pixels of the PNG */
    /* Time range; when t_min >= t_max it is fitted to the data. */
    double t_min, t_max;
    struct viz_panel panels[VIZ_PANELS_MAX];
    int panel_count;
    struct viz_marker markers[VIZ_MARKERS_MAX];
    int marker_count;
    const char *font_path; /* VIZ_DEFAULT_FONT unless changed */
};

/* Where the plot area of a panel lies in the picture, and the ranges it
 * shows (after fitting). Useful to tests and to callers that annotate. */
struct viz_panel_layout {
    int x, y, w, h;
    double t_min, t_max, y_min, y_max;
};

/* An empty chart of the given size (at least 200 x 150 pixels). */
int viz_chart_init(struct viz_chart *c, const char *title, int width, int height,
                   struct fs_error *err);
/* Each returns the new panel's or object's index, or -1 with err filled
 * (too many, bad panel index, text too long). */
int viz_chart_add_panel(struct viz_chart *c, const char *y_label, struct fs_error *err);
int viz_chart_add_series(struct viz_chart *c, int panel, const char *name,
                         const struct viz_point *points, size_t count, struct fs_error *err);
int viz_chart_add_ref_line(struct viz_chart *c, int panel, const char *label, double value,
                           struct fs_error *err);
int viz_chart_add_marker(struct viz_chart *c, double t, const char *label,
                         struct fs_error *err);

/* The layout the renderer uses for a panel (ranges fitted, ticks rounded). */
int viz_chart_panel_layout(const struct viz_chart *c, int panel, struct viz_panel_layout *out,
                           struct fs_error *err);
/* The pixel a (t, value) point of a panel is drawn at. */
void viz_panel_layout_pixel(const struct viz_panel_layout *l, double t, double v, int *x,
                            int *y);

/* Draws the chart and writes it as a PNG of c->width x c->height. */
int viz_chart_render_png(const struct viz_chart *c, const char *path, struct fs_error *err);

#endif
