/* Inside viz: the fixed geometry of a chart and the tick arithmetic shared by
 * the layout (viz_chart.c) and the renderer (viz_render.c). Margins are
 * fixed pixel sizes rather than measured from the text so that the layout
 * can be computed without a font. */
#ifndef VIZ_LAYOUT_H
#define VIZ_LAYOUT_H

#include <stddef.h> /* size_t */

#include "viz_chart.h" /* struct viz_chart */

#define VIZ_LAYOUT_TITLE_H 40     /* the title line */
#define VIZ_LAYOUT_MARKER_ROWS 3  /* rows for marker labels above the panels */
#define VIZ_LAYOUT_ROW_H 18
#define VIZ_LAYOUT_LEFT_W 78      /* value label and tick values */
#define VIZ_LAYOUT_RIGHT_W 24
#define VIZ_LAYOUT_BOTTOM_H 52    /* time tick values and label */
#define VIZ_LAYOUT_PANEL_GAP 18
#define VIZ_LAYOUT_T_TICKS 10     /* about this many ticks on each axis */
#define VIZ_LAYOUT_Y_TICKS 5

/* A 1-2-5 step giving about target_ticks ticks over span. */
double viz_layout_tick_step(double span, int target_ticks);
/* The chart's time range: given, or fitted to the data and rounded to ticks. */
void viz_layout_time_range(const struct viz_chart *c, double *t_min, double *t_max);
/* A tick value with as many decimals as the step needs. */
void viz_layout_format_tick(char *buf, size_t size, double v, double step);

#endif
