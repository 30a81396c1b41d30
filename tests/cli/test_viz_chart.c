/* viz: a chart rendered without any display is a PNG of the asked size,
 * with the series drawn where the layout says, and a missing font is a
 * clear error rather than a crash or an empty picture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>  /* snprintf, remove */
#include <stdlib.h> /* mkdtemp, unsetenv */
#include <string.h> /* strstr */
#include <unistd.h> /* rmdir */

#include <SDL.h>       /* SDL_Surface, SDL_ConvertSurfaceFormat */
#include <SDL_image.h> /* IMG_Load */

#include "core/error.h" /* struct fs_error */
#include "viz_chart.h"  /* viz_chart_* */

#define W 480
#define H 320

struct tmp_png {
    char dir[64], path[96];
};

static void tmp_png_make(struct tmp_png *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/fs_viz_test_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/chart.png", t->dir);
}

static void tmp_png_remove(struct tmp_png *t)
{
    remove(t->path);
    rmdir(t->dir);
}

static struct viz_point ramp[50];

static void build_chart(struct viz_chart *c)
{
    struct fs_error err = {{0}};
    for (int i = 0; i < 50; i++) {
        ramp[i].t = i * 0.2;
        ramp[i].v = 20.0 + 4.0 * i;
    }
    assert_int_equal(viz_chart_init(c, "test chart", W, H, &err), 0);
    assert_int_equal(viz_chart_add_panel(c, "temp (C)", &err), 0);
    assert_int_equal(viz_chart_add_series(c, 0, "ramp", ramp, 50, &err), 0);
    assert_int_equal(viz_chart_add_ref_line(c, 0, "target 200", 200.0, &err), 0);
    assert_int_equal(viz_chart_add_marker(c, 5.0, "half way", &err), 0);
}

/* Whether any pixel within r of (x, y) is close to the colour; s is
 * ARGB8888. */
static int color_near(SDL_Surface *s, int x, int y, int r, struct viz_color want)
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            if (x + dx < 0 || y + dy < 0 || x + dx >= s->w || y + dy >= s->h)
                continue;
            const Uint8 *row = (const Uint8 *)s->pixels + (size_t)(y + dy) * (size_t)s->pitch;
            Uint32 px = ((const Uint32 *)row)[x + dx];
            int pr = (px >> 16) & 0xff, pg = (px >> 8) & 0xff, pb = px & 0xff;
            if (abs(pr - want.r) < 40 && abs(pg - want.g) < 40 && abs(pb - want.b) < 40)
                return 1;
        }
    return 0;
}

static void test_chart_renders_png_of_asked_size_with_series_drawn(void **state)
{
    (void)state;
    /* No display of any kind: rendering must not need one. */
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    static struct viz_chart c;
    build_chart(&c);
    struct tmp_png t;
    tmp_png_make(&t);
    struct fs_error err = {{0}};
    if (viz_chart_render_png(&c, t.path, &err) < 0)
        fail_msg("%s", err.msg);

    SDL_Surface *loaded = IMG_Load(t.path);
    assert_non_null(loaded);
    SDL_Surface *img = SDL_ConvertSurfaceFormat(loaded, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_FreeSurface(loaded);
    assert_non_null(img);
    assert_int_equal(img->w, W);
    assert_int_equal(img->h, H);

    struct viz_panel_layout l;
    assert_int_equal(viz_chart_panel_layout(&c, 0, &l, &err), 0);
    /* The fitted range holds the data and the reference line. */
    assert_true(l.y_min <= 20.0 && l.y_max >= 216.0);
    /* Along the series, its colour; in an empty corner of the plot, not. */
    struct viz_color col = c.panels[0].series[0].color;
    for (int i = 5; i < 50; i += 11) {
        int x, y;
        viz_panel_layout_pixel(&l, ramp[i].t, ramp[i].v, &x, &y);
        assert_true(color_near(img, x, y, 1, col));
    }
    int x, y;
    viz_panel_layout_pixel(&l, 9.0, 30.0, &x, &y);
    assert_false(color_near(img, x, y, 3, col));
    SDL_FreeSurface(img);
    tmp_png_remove(&t);
}

static void test_missing_font_is_a_clear_error(void **state)
{
    (void)state;
    static struct viz_chart c;
    build_chart(&c);
    c.font_path = "/nonexistent/DejaVuSans.ttf";
    struct tmp_png t;
    tmp_png_make(&t);
    struct fs_error err = {{0}};
    assert_int_equal(viz_chart_render_png(&c, t.path, &err), -1);
    assert_non_null(strstr(err.msg, "fonts-dejavu-core"));
    assert_int_not_equal(access(t.path, F_OK), 0);
    tmp_png_remove(&t);
}

static void test_chart_limits_are_errors(void **state)
{
    (void)state;
    static struct viz_chart c;
    struct fs_error err = {{0}};
    assert_int_equal(viz_chart_init(&c, "tiny", 10, 10, &err), -1);
    assert_int_equal(viz_chart_init(&c, "ok", W, H, &err), 0);
    assert_int_equal(viz_chart_add_series(&c, 0, "no panel", ramp, 1, &err), -1);
    assert_non_null(strstr(err.msg, "no panel 0"));
    for (int i = 0; i < VIZ_PANELS_MAX; i++)
        assert_int_equal(viz_chart_add_panel(&c, "p", &err), i);
    assert_int_equal(viz_chart_add_panel(&c, "one too many", &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chart_renders_png_of_asked_size_with_series_drawn),
        cmocka_unit_test(test_missing_font_is_a_clear_error),
        cmocka_unit_test(test_chart_limits_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
