/* Building a chart and computing its layout: plain arithmetic, no SDL, so
 * that callers and tests can ask where things go without a font or a
 * surface. viz_render.c draws what this file lays out. */
#include "viz_chart.h"

#include <math.h>   /* floor, ceil, log10, pow, fabs, isfinite */
#include <string.h> /* memset, strlen */
#include <stdio.h>  /* snprintf */

#include "core/error.h" /* fs_error_set */
#include "viz_layout.h" /* viz_layout_*, the margins shared with the renderer */

static const struct viz_color series_palette[] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},
    {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
};
static const struct viz_color ref_line_color = {110, 110, 110};

static int copy_text(char *dst, const char *src, const char *what, struct fs_error *err)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= VIZ_TEXT_MAX)
        return fs_error_set(err, "viz: %s '%.40s...' is longer than %d bytes", what, src,
                            VIZ_TEXT_MAX - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

int viz_chart_init(struct viz_chart *c, const char *title, int width, int height,
                   struct fs_error *err)
{
    memset(c, 0, sizeof(*c));
    if (width < 200 || height < 150 || width > 8000 || height > 8000)
        return fs_error_set(err, "viz: chart size %dx%d outside 200x150 .. 8000x8000", width,
                            height);
    c->width = width;
    c->height = height;
    c->font_path = VIZ_DEFAULT_FONT;
    if (copy_text(c->title, title, "title", err) < 0)
        return -1;
    return copy_text(c->t_label, "time (s)", "time label", err);
}

int viz_chart_add_panel(struct viz_chart *c, const char *y_label, struct fs_error *err)
{
    if (c->panel_count >= VIZ_PANELS_MAX)
        return fs_error_set(err, "viz: at most %d panels", VIZ_PANELS_MAX);
    struct viz_panel *p = &c->panels[c->panel_count];
    memset(p, 0, sizeof(*p));
    if (copy_text(p->y_label, y_label, "panel label", err) < 0)
        return -1;
    return c->panel_count++;
}

static struct viz_panel *panel_at(struct viz_chart *c, int panel, struct fs_error *err)
{
    if (panel < 0 || panel >= c->panel_count) {
        fs_error_set(err, "viz: no panel %d (the chart has %d)", panel, c->panel_count);
        return NULL;
    }
    return &c->panels[panel];
}

int viz_chart_add_series(struct viz_chart *c, int panel, const char *name,
                         const struct viz_point *points, size_t count, struct fs_error *err)
{
    struct viz_panel *p = panel_at(c, panel, err);
    if (!p)
        return -1;
    if (p->series_count >= VIZ_SERIES_MAX)
        return fs_error_set(err, "viz: at most %d series per panel", VIZ_SERIES_MAX);
    if (count && !points)
        return fs_error_set(err, "viz: series '%s' has %zu points but no data", name, count);
    struct viz_series *s = &p->series[p->series_count];
    if (copy_text(s->name, name, "series name", err) < 0)
        return -1;
    s->points = points;
    s->count = count;
    /* Colours follow the series' place in the whole chart, so that two
     * panels never show the same colour for different things. */
    int nth = 0;
    for (int i = 0; i < panel; i++)
        nth += c->panels[i].series_count;
    nth += p->series_count;
    s->color = series_palette[nth % (int)(sizeof(series_palette) / sizeof(series_palette[0]))];
    return p->series_count++;
}

int viz_chart_add_ref_line(struct viz_chart *c, int panel, const char *label, double value,
                           struct fs_error *err)
{
    struct viz_panel *p = panel_at(c, panel, err);
    if (!p)
        return -1;
    if (p->ref_count >= VIZ_REF_LINES_MAX)
        return fs_error_set(err, "viz: at most %d reference lines per panel",
                            VIZ_REF_LINES_MAX);
    if (!isfinite(value))
        return fs_error_set(err, "viz: reference line '%s' has no finite value", label);
    struct viz_ref_line *r = &p->refs[p->ref_count];
    if (copy_text(r->label, label, "reference label", err) < 0)
        return -1;
    r->value = value;
    r->color = ref_line_color;
    return p->ref_count++;
}

int viz_chart_add_marker(struct viz_chart *c, double t, const char *label,
                         struct fs_error *err)
{
    if (c->marker_count >= VIZ_MARKERS_MAX)
        return fs_error_set(err, "viz: at most %d event markers", VIZ_MARKERS_MAX);
    if (!isfinite(t))
        return fs_error_set(err, "viz: marker '%s' has no finite time", label);
    struct viz_marker *m = &c->markers[c->marker_count];
    if (copy_text(m->label, label, "marker label", err) < 0)
        return -1;
    m->t = t;
    return c->marker_count++;
}

/* ---- ranges and ticks ----------------------------------------------------- */

double viz_layout_tick_step(double span, int target_ticks)
{
    if (!(span > 0) || target_ticks < 1)
        return 1.0;
    double raw = span / target_ticks;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    /* 1-2-5 steps read well and keep tick labels short. */
    double nice = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
    return nice * mag;
}

/* Widens [*lo, *hi] to whole tick steps; a flat range gets some height. */
static void round_range(double *lo, double *hi, int target_ticks)
{
    if (*hi - *lo < 1e-9) {
        double pad = fabs(*lo) > 1e-9 ? fabs(*lo) * 0.1 : 1.0;
        *lo -= pad;
        *hi += pad;
    }
    double step = viz_layout_tick_step(*hi - *lo, target_ticks);
    *lo = floor(*lo / step + 1e-9) * step;
    *hi = ceil(*hi / step - 1e-9) * step;
}

static void widen(double *lo, double *hi, double v)
{
    if (!isfinite(v))
        return;
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

void viz_layout_time_range(const struct viz_chart *c, double *t_min, double *t_max)
{
    if (c->t_min < c->t_max) {
        *t_min = c->t_min;
        *t_max = c->t_max;
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int p = 0; p < c->panel_count; p++)
        for (int s = 0; s < c->panels[p].series_count; s++) {
            const struct viz_series *se = &c->panels[p].series[s];
            for (size_t i = 0; i < se->count; i++)
                widen(&lo, &hi, se->points[i].t);
        }
    for (int m = 0; m < c->marker_count; m++)
        widen(&lo, &hi, c->markers[m].t);
    if (lo > hi)
        lo = 0, hi = 1;
    /* A run that starts near zero reads best from zero. */
    if (lo > 0 && lo < 0.1 * (hi - lo))
        lo = 0;
    round_range(&lo, &hi, VIZ_LAYOUT_T_TICKS);
    *t_min = lo;
    *t_max = hi;
}

static void value_range(const struct viz_panel *p, double *y_min, double *y_max)
{
    if (p->y_min < p->y_max) {
        *y_min = p->y_min;
        *y_max = p->y_max;
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < p->series_count; s++)
        for (size_t i = 0; i < p->series[s].count; i++)
            widen(&lo, &hi, p->series[s].points[i].v);
    for (int r = 0; r < p->ref_count; r++)
        widen(&lo, &hi, p->refs[r].value);
    if (lo > hi)
        lo = 0, hi = 1;
    if (hi - lo < 1e-9) {
        double flat = fabs(lo) > 1e-9 ? fabs(lo) * 0.1 : 1.0;
        lo -= flat;
        hi += flat;
    }
    /* Headroom so that a line at the extreme is not glued to the frame; the
     * range is not rounded to ticks, which would waste up to a tick of
     * height on each side. */
    double pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
    *y_min = lo;
    *y_max = hi;
}

int viz_chart_panel_layout(const struct viz_chart *c, int panel, struct viz_panel_layout *out,
                           struct fs_error *err)
{
    if (panel < 0 || panel >= c->panel_count)
        return fs_error_set(err, "viz: no panel %d (the chart has %d)", panel, c->panel_count);
    int top = VIZ_LAYOUT_TITLE_H + (c->marker_count ? VIZ_LAYOUT_MARKER_ROWS * VIZ_LAYOUT_ROW_H : 8);
    int bottom = c->height - VIZ_LAYOUT_BOTTOM_H;
    int gaps = (c->panel_count - 1) * VIZ_LAYOUT_PANEL_GAP;
    int h = (bottom - top - gaps) / c->panel_count;
    if (h < 20)
        return fs_error_set(err, "viz: %d panels do not fit in %d pixels of height",
                            c->panel_count, c->height);
    out->x = VIZ_LAYOUT_LEFT_W;
    out->w = c->width - VIZ_LAYOUT_LEFT_W - VIZ_LAYOUT_RIGHT_W;
    out->y = top + panel * (h + VIZ_LAYOUT_PANEL_GAP);
    out->h = h;
    viz_layout_time_range(c, &out->t_min, &out->t_max);
    value_range(&c->panels[panel], &out->y_min, &out->y_max);
    return 0;
}

void viz_panel_layout_pixel(const struct viz_panel_layout *l, double t, double v, int *x,
                            int *y)
{
    *x = (int)lround(l->x + (t - l->t_min) / (l->t_max - l->t_min) * l->w);
    *y = (int)lround(l->y + l->h - (v - l->y_min) / (l->y_max - l->y_min) * l->h);
}

void viz_layout_format_tick(char *buf, size_t size, double v, double step)
{
    /* Enough decimals to tell neighbouring ticks apart, no more. */
    int decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < step * 1e-6)
        v = 0.0; /* no "-0" */
    snprintf(buf, size, "%.*f", decimals, v);
}
