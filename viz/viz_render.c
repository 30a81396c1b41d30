/* Rendering a chart to a PNG with no display: SDL2's software renderer draws
 * into a memory surface, SDL2_ttf sets the text, SDL2_image writes the file.
 *
 * The software renderer has no anti-aliasing, so the chart is drawn at twice
 * its size and scaled down with a linear filter; lines and text come out
 * smooth at the cost of four times the pixels, which is nothing for a chart.
 * Geometry is computed at the final size (viz_chart.c) and multiplied here. */
#include "viz_chart.h"

#include <math.h>   /* ceil, sqrt, fabs, isfinite */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* malloc, free */
#include <unistd.h> /* access */

#include <SDL.h>       /* SDL_Surface, SDL_Renderer, SDL_RenderGeometry */
#include <SDL_image.h> /* IMG_SavePNG */
#include <SDL_ttf.h>   /* TTF_Font, TTF_RenderUTF8_Blended */

#include "core/error.h" /* fs_error_set */
#include "viz_layout.h" /* VIZ_LAYOUT_*, viz_layout_* */

#define SS 2 /* supersampling factor */

static const struct viz_color ink = {40, 40, 40};
static const struct viz_color soft_ink = {100, 100, 100};
static const struct viz_color grid = {228, 228, 228};
static const struct viz_color frame = {150, 150, 150};
static const struct viz_color marker_ink = {120, 80, 160};

enum halign { LEFT, CENTER, RIGHT };

struct render {
    const struct viz_chart *chart;
    SDL_Surface *big;
    SDL_Renderer *r;
    TTF_Font *title_font, *label_font, *tick_font;
    struct viz_panel_layout layouts[VIZ_PANELS_MAX];
};

static void set_color(struct render *rd, struct viz_color c)
{
    SDL_SetRenderDrawColor(rd->r, c.r, c.g, c.b, 255);
}

static void fill_rect(struct render *rd, double x, double y, double w, double h,
                      struct viz_color c)
{
    set_color(rd, c);
    SDL_FRect box = {(float)(x * SS), (float)(y * SS), (float)(w * SS), (float)(h * SS)};
    SDL_RenderFillRectF(rd->r, &box);
}

/* Appends the two triangles of a segment of the given width to v. */
static int push_segment(SDL_Vertex *v, double x0, double y0, double x1, double y1,
                        double width, struct viz_color c)
{
    double dx = x1 - x0, dy = y1 - y0, len = sqrt(dx * dx + dy * dy);
    if (len < 1e-9)
        return 0;
    /* Extending each end by half the width hides the notches at joints. */
    double ux = dx / len, uy = dy / len, hw = width / 2;
    x0 -= ux * hw, y0 -= uy * hw, x1 += ux * hw, y1 += uy * hw;
    double nx = -uy * hw, ny = ux * hw;
    SDL_Color col = {c.r, c.g, c.b, 255};
    double px[4] = {x0 + nx, x1 + nx, x1 - nx, x0 - nx};
    double py[4] = {y0 + ny, y1 + ny, y1 - ny, y0 - ny};
    static const int order[6] = {0, 1, 2, 0, 2, 3};
    for (int i = 0; i < 6; i++) {
        v[i].position.x = (float)(px[order[i]] * SS);
        v[i].position.y = (float)(py[order[i]] * SS);
        v[i].color = col;
        v[i].tex_coord.x = v[i].tex_coord.y = 0;
    }
    return 6;
}

static void line(struct render *rd, double x0, double y0, double x1, double y1, double width,
                 struct viz_color c)
{
    SDL_Vertex v[6];
    int n = push_segment(v, x0, y0, x1, y1, width, c);
    if (n)
        SDL_RenderGeometry(rd->r, NULL, v, n, NULL, 0);
}

/* Horizontal or vertical only, which is all a chart needs. */
static void dashed_line(struct render *rd, double x0, double y0, double x1, double y1,
                        double width, double dash, double gap, struct viz_color c)
{
    int vertical = fabs(x1 - x0) < fabs(y1 - y0);
    double from = vertical ? y0 : x0, to = vertical ? y1 : x1;
    if (to < from) {
        double tmp = from;
        from = to;
        to = tmp;
    }
    for (double a = from; a < to; a += dash + gap) {
        double b = a + dash < to ? a + dash : to;
        if (vertical)
            fill_rect(rd, x0 - width / 2, a, width, b - a, c);
        else
            fill_rect(rd, a, y0 - width / 2, b - a, width, c);
    }
}

/* Size of a text at the final scale. */
static void text_size(TTF_Font *font, const char *text, double *w, double *h)
{
    int iw = 0, ih = 0;
    TTF_SizeUTF8(font, text, &iw, &ih);
    *w = (double)iw / SS;
    *h = (double)ih / SS;
}

/* Draws text with its box aligned on (x, y): horizontally by align,
 * vertically centred. rotate turns it to read bottom to top. */
static int text(struct render *rd, TTF_Font *font, const char *s, double x, double y,
                enum halign align, struct viz_color c, int rotate, struct fs_error *err)
{
    if (!s[0])
        return 0;
    SDL_Color col = {c.r, c.g, c.b, 255};
    SDL_Surface *surf = TTF_RenderUTF8_Blended(font, s, col);
    if (!surf)
        return fs_error_set(err, "viz: cannot set text '%s': %s", s, TTF_GetError());
    SDL_Texture *tex = SDL_CreateTextureFromSurface(rd->r, surf);
    if (!tex) {
        SDL_FreeSurface(surf);
        return fs_error_set(err, "viz: cannot draw text '%s': %s", s, SDL_GetError());
    }
    double w = surf->w, h = surf->h, cx = x * SS, cy = y * SS;
    double along = rotate ? h : w; /* extent along the x axis once drawn */
    if (align == LEFT)
        cx += along / 2;
    else if (align == RIGHT)
        cx -= along / 2;
    SDL_FRect dst = {(float)(cx - w / 2), (float)(cy - h / 2), (float)w, (float)h};
    SDL_RenderCopyExF(rd->r, tex, NULL, &dst, rotate ? -90.0 : 0.0, NULL, SDL_FLIP_NONE);
    SDL_DestroyTexture(tex);
    SDL_FreeSurface(surf);
    return 0;
}

static double map_x(const struct viz_panel_layout *l, double t)
{
    return l->x + (t - l->t_min) / (l->t_max - l->t_min) * l->w;
}

static double map_y(const struct viz_panel_layout *l, double v)
{
    return l->y + l->h - (v - l->y_min) / (l->y_max - l->y_min) * l->h;
}

static void clip_to(struct render *rd, const struct viz_panel_layout *l)
{
    SDL_Rect clip = {l->x * SS, l->y * SS, l->w * SS, l->h * SS};
    SDL_RenderSetClipRect(rd->r, &clip);
}

static int draw_grid_and_ticks(struct render *rd, int p, struct fs_error *err)
{
    const struct viz_panel_layout *l = &rd->layouts[p];
    const struct viz_chart *c = rd->chart;
    char buf[32];
    fill_rect(rd, l->x, l->y, l->w, l->h, (struct viz_color){253, 253, 253});

    double ystep = viz_layout_tick_step(l->y_max - l->y_min, VIZ_LAYOUT_Y_TICKS);
    for (double v = ceil(l->y_min / ystep - 1e-9) * ystep; v <= l->y_max + ystep * 1e-6;
         v += ystep) {
        double y = map_y(l, v);
        line(rd, l->x, y, l->x + l->w, y, 1.0, grid);
        viz_layout_format_tick(buf, sizeof(buf), v, ystep);
        if (text(rd, rd->tick_font, buf, l->x - 6, y, RIGHT, soft_ink, 0, err) < 0)
            return -1;
    }
    double tstep = viz_layout_tick_step(l->t_max - l->t_min, VIZ_LAYOUT_T_TICKS);
    int last = p == c->panel_count - 1;
    for (double t = l->t_min; t <= l->t_max + tstep * 1e-6; t += tstep) {
        double x = map_x(l, t);
        line(rd, x, l->y, x, l->y + l->h, 1.0, grid);
        if (!last)
            continue;
        line(rd, x, l->y + l->h, x, l->y + l->h + 4, 1.0, frame);
        viz_layout_format_tick(buf, sizeof(buf), t, tstep);
        if (text(rd, rd->tick_font, buf, x, l->y + l->h + 14, CENTER, soft_ink, 0, err) < 0)
            return -1;
    }
    /* The value label reads upwards beside the tick values. */
    return text(rd, rd->label_font, c->panels[p].y_label, 14, l->y + l->h / 2.0, CENTER, ink,
                1, err);
}

static void draw_frame(struct render *rd, const struct viz_panel_layout *l)
{
    double x0 = l->x, y0 = l->y, x1 = l->x + l->w, y1 = l->y + l->h;
    line(rd, x0, y0, x1, y0, 1.0, frame);
    line(rd, x0, y1, x1, y1, 1.0, frame);
    line(rd, x0, y0, x0, y1, 1.0, frame);
    line(rd, x1, y0, x1, y1, 1.0, frame);
}

static int draw_series(struct render *rd, const struct viz_panel_layout *l,
                       const struct viz_series *s, struct fs_error *err)
{
    if (s->count == 0)
        return 0;
    if (s->count == 1) {
        double x = map_x(l, s->points[0].t), y = map_y(l, s->points[0].v);
        fill_rect(rd, x - 2, y - 2, 4, 4, s->color);
        return 0;
    }
    SDL_Vertex *v = malloc(sizeof(*v) * 6 * (s->count - 1));
    if (!v)
        return fs_error_set(err, "viz: out of memory drawing series '%s'", s->name);
    int n = 0;
    for (size_t i = 1; i < s->count; i++) {
        const struct viz_point *a = &s->points[i - 1], *b = &s->points[i];
        if (!isfinite(a->v) || !isfinite(b->v))
            continue; /* a gap in the data stays a gap */
        n += push_segment(v + n, map_x(l, a->t), map_y(l, a->v), map_x(l, b->t),
                          map_y(l, b->v), 2.0, s->color);
    }
    if (n)
        SDL_RenderGeometry(rd->r, NULL, v, n, NULL, 0);
    free(v);
    return 0;
}

static int draw_ref_lines(struct render *rd, int p, struct fs_error *err)
{
    const struct viz_panel_layout *l = &rd->layouts[p];
    const struct viz_panel *panel = &rd->chart->panels[p];
    for (int i = 0; i < panel->ref_count; i++) {
        const struct viz_ref_line *ref = &panel->refs[i];
        double y = map_y(l, ref->value);
        dashed_line(rd, l->x, y, l->x + l->w, y, 1.5, 8, 5, ref->color);
        double w, h;
        text_size(rd->tick_font, ref->label, &w, &h);
        /* Above the line, unless that would leave the panel. */
        double ly = y - 9 - h / 2 < l->y ? y + 9 : y - 9;
        fill_rect(rd, l->x + l->w - 8 - w, ly - h / 2, w + 4, h,
                  (struct viz_color){253, 253, 253});
        if (text(rd, rd->tick_font, ref->label, l->x + l->w - 6, ly, RIGHT, ref->color, 0,
                 err) < 0)
            return -1;
    }
    return 0;
}

/* Counts the points of a panel inside a box, to keep the legend off them. */
static size_t points_in_box(const struct viz_panel_layout *l, const struct viz_panel *p,
                            double x0, double y0, double x1, double y1)
{
    size_t n = 0;
    for (int s = 0; s < p->series_count; s++)
        for (size_t i = 0; i < p->series[s].count; i++) {
            double x = map_x(l, p->series[s].points[i].t);
            double y = map_y(l, p->series[s].points[i].v);
            n += x >= x0 && x <= x1 && y >= y0 && y <= y1;
        }
    return n;
}

static int draw_legend(struct render *rd, int p, struct fs_error *err)
{
    const struct viz_panel_layout *l = &rd->layouts[p];
    const struct viz_panel *panel = &rd->chart->panels[p];
    if (panel->series_count == 0)
        return 0;
    double widths[VIZ_SERIES_MAX], total = 8, h = 0, th;
    for (int s = 0; s < panel->series_count; s++) {
        text_size(rd->tick_font, panel->series[s].name, &widths[s], &th);
        total += 22 + widths[s] + 10;
        h = th > h ? th : h;
    }
    double box_h = h + 8, left = l->x + 8, right = l->x + l->w - 8 - total, top = l->y + 8;
    double x0 = points_in_box(l, panel, right, top, right + total, top + box_h) <
                        points_in_box(l, panel, left, top, left + total, top + box_h)
                    ? right
                    : left;
    fill_rect(rd, x0, top, total, box_h, frame);
    fill_rect(rd, x0 + 1, top + 1, total - 2, box_h - 2, (struct viz_color){255, 255, 255});
    double x = x0 + 8, y = top + box_h / 2;
    for (int s = 0; s < panel->series_count; s++) {
        line(rd, x, y, x + 16, y, 3.0, panel->series[s].color);
        if (text(rd, rd->tick_font, panel->series[s].name, x + 22, y, LEFT, ink, 0, err) < 0)
            return -1;
        x += 22 + widths[s] + 10;
    }
    return 0;
}

/* Marker labels sit in rows above the first panel; each label takes the
 * lowest row where it does not overlap its left neighbour, so markers close
 * in time stay readable. */
static int draw_markers(struct render *rd, struct fs_error *err)
{
    const struct viz_chart *c = rd->chart;
    if (!c->marker_count)
        return 0;
    const struct viz_panel_layout *first = &rd->layouts[0];
    const struct viz_panel_layout *lastp = &rd->layouts[c->panel_count - 1];
    int order[VIZ_MARKERS_MAX];
    for (int i = 0; i < c->marker_count; i++)
        order[i] = i;
    for (int i = 1; i < c->marker_count; i++) /* few markers: insertion sort */
        for (int j = i; j > 0 && c->markers[order[j]].t < c->markers[order[j - 1]].t; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    double row_end[VIZ_LAYOUT_MARKER_ROWS];
    for (int r = 0; r < VIZ_LAYOUT_MARKER_ROWS; r++)
        row_end[r] = -1e9;
    double label_x[VIZ_MARKERS_MAX], label_y[VIZ_MARKERS_MAX], label_w[VIZ_MARKERS_MAX];
    int shown[VIZ_MARKERS_MAX], n = 0;
    SDL_RenderSetClipRect(rd->r, NULL);
    for (int i = 0; i < c->marker_count; i++) {
        const struct viz_marker *m = &c->markers[order[i]];
        if (m->t < first->t_min || m->t > first->t_max)
            continue;
        double x = map_x(first, m->t), w, h;
        text_size(rd->tick_font, m->label, &w, &h);
        /* Labels start at their line and stay inside the picture. */
        double lx = x + 3;
        if (lx + w > c->width - 4)
            lx = x - 3 - w;
        int row = 0;
        for (int r = 0; r < VIZ_LAYOUT_MARKER_ROWS; r++) {
            if (row_end[r] + 6 < lx) {
                row = r;
                break;
            }
            if (row_end[r] < row_end[row])
                row = r;
        }
        row_end[row] = lx + w > row_end[row] ? lx + w : row_end[row];
        double y = first->y - 4 - (row + 0.5) * VIZ_LAYOUT_ROW_H;
        /* The line runs from its label through every panel, gaps included. */
        dashed_line(rd, x, y - VIZ_LAYOUT_ROW_H / 2.0 + 2, x, lastp->y + lastp->h, 1.2, 5, 4,
                    marker_ink);
        shown[n] = order[i];
        label_x[n] = lx, label_y[n] = y, label_w[n] = w;
        n++;
    }
    /* Labels last, on white, so that a later marker's line passing through a
     * lower row does not strike through an earlier label. */
    for (int i = 0; i < n; i++) {
        fill_rect(rd, label_x[i] - 2, label_y[i] - VIZ_LAYOUT_ROW_H / 2.0 + 1, label_w[i] + 4,
                  VIZ_LAYOUT_ROW_H - 2, (struct viz_color){255, 255, 255});
        if (text(rd, rd->tick_font, c->markers[shown[i]].label, label_x[i], label_y[i], LEFT,
                 marker_ink, 0, err) < 0)
            return -1;
    }
    return 0;
}

static int draw_chart(struct render *rd, struct fs_error *err)
{
    const struct viz_chart *c = rd->chart;
    SDL_SetRenderDrawColor(rd->r, 255, 255, 255, 255);
    SDL_RenderClear(rd->r);
    if (text(rd, rd->title_font, c->title, c->width / 2.0, VIZ_LAYOUT_TITLE_H / 2.0, CENTER,
             ink, 0, err) < 0)
        return -1;
    for (int p = 0; p < c->panel_count; p++)
        if (draw_grid_and_ticks(rd, p, err) < 0)
            return -1;
    if (draw_markers(rd, err) < 0)
        return -1;
    for (int p = 0; p < c->panel_count; p++) {
        const struct viz_panel_layout *l = &rd->layouts[p];
        clip_to(rd, l);
        if (draw_ref_lines(rd, p, err) < 0)
            return -1;
        for (int s = 0; s < c->panels[p].series_count; s++)
            if (draw_series(rd, l, &c->panels[p].series[s], err) < 0)
                return -1;
        SDL_RenderSetClipRect(rd->r, NULL);
        draw_frame(rd, l);
        if (draw_legend(rd, p, err) < 0)
            return -1;
    }
    const struct viz_panel_layout *last = &rd->layouts[c->panel_count - 1];
    return text(rd, rd->label_font, c->t_label, last->x + last->w / 2.0,
                c->height - VIZ_LAYOUT_BOTTOM_H / 2.0 + 10, CENTER, ink, 0, err);
}

static int open_fonts(struct render *rd, struct fs_error *err)
{
    const char *path = rd->chart->font_path ? rd->chart->font_path : VIZ_DEFAULT_FONT;
    if (access(path, R_OK) != 0)
        return fs_error_set(err,
                            "viz: font %s not found: install the Debian package "
                            "fonts-dejavu-core (scripts/setup.sh does)",
                            path);
    rd->title_font = TTF_OpenFont(path, 17 * SS);
    rd->label_font = TTF_OpenFont(path, 13 * SS);
    rd->tick_font = TTF_OpenFont(path, 11 * SS);
    if (!rd->title_font || !rd->label_font || !rd->tick_font)
        return fs_error_set(err, "viz: cannot open font %s: %s", path, TTF_GetError());
    TTF_SetFontStyle(rd->title_font, TTF_STYLE_BOLD);
    return 0;
}

static void close_render(struct render *rd)
{
    if (rd->title_font)
        TTF_CloseFont(rd->title_font);
    if (rd->label_font)
        TTF_CloseFont(rd->label_font);
    if (rd->tick_font)
        TTF_CloseFont(rd->tick_font);
    if (rd->r)
        SDL_DestroyRenderer(rd->r);
    if (rd->big)
        SDL_FreeSurface(rd->big);
}

static int render_and_save(struct render *rd, const char *path, struct fs_error *err)
{
    const struct viz_chart *c = rd->chart;
    if (open_fonts(rd, err) < 0)
        return -1;
    rd->big = SDL_CreateRGBSurfaceWithFormat(0, c->width * SS, c->height * SS, 32,
                                             SDL_PIXELFORMAT_ARGB8888);
    if (!rd->big)
        return fs_error_set(err, "viz: cannot create a %dx%d surface: %s", c->width * SS,
                            c->height * SS, SDL_GetError());
    rd->r = SDL_CreateSoftwareRenderer(rd->big);
    if (!rd->r)
        return fs_error_set(err, "viz: no software renderer: %s", SDL_GetError());
    SDL_SetRenderDrawBlendMode(rd->r, SDL_BLENDMODE_BLEND);
    if (draw_chart(rd, err) < 0)
        return -1;
    SDL_RenderPresent(rd->r); /* the software renderer draws on present */

    SDL_Surface *out =
        SDL_CreateRGBSurfaceWithFormat(0, c->width, c->height, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!out)
        return fs_error_set(err, "viz: cannot create the output surface: %s", SDL_GetError());
    int rc = 0;
    if (SDL_SoftStretchLinear(rd->big, NULL, out, NULL) < 0)
        rc = fs_error_set(err, "viz: cannot scale the chart: %s", SDL_GetError());
    else if (IMG_SavePNG(out, path) < 0)
        rc = fs_error_set(err, "viz: cannot write %s: %s", path, IMG_GetError());
    SDL_FreeSurface(out);
    return rc;
}

int viz_chart_render_png(const struct viz_chart *c, const char *path, struct fs_error *err)
{
    if (c->panel_count == 0)
        return fs_error_set(err, "viz: chart '%s' has no panels", c->title);
    struct render rd = {.chart = c};
    for (int p = 0; p < c->panel_count; p++)
        if (viz_chart_panel_layout(c, p, &rd.layouts[p], err) < 0)
            return -1;
    /* TTF_Init counts its callers, so pairing it with TTF_Quit here leaves
     * a program that uses SDL_ttf itself undisturbed. */
    if (TTF_Init() < 0)
        return fs_error_set(err, "viz: cannot start SDL_ttf: %s", TTF_GetError());
    int rc = render_and_save(&rd, path, err);
    close_render(&rd);
    TTF_Quit();
    return rc;
}
