/* The demo's picture: the recorded run as a PNG (hotend and bed temperature
 * with their targets, the hotend heater's commanded power and measured pin
 * duty, the head's height), with the story's events as markers. */
#ifndef DEMO_CHART_H
#define DEMO_CHART_H

#include "demo_record.h" /* struct demo_record */
#include "viz_chart.h"   /* struct viz_marker */

struct fs_error;

/* Creates the PNG's folder when missing. */
int demo_chart_draw(const struct demo_record *r, const struct viz_marker *markers, int count,
                    const char *title, const char *path, struct fs_error *err);

#endif
