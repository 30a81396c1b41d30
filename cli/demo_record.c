/* The demo's measurements over time (see demo_record.h). */
#include "demo_record.h"

#include <math.h>   /* fabs, isfinite */
#include <string.h> /* memset, strcmp */

#include "core/error.h"       /* fs_error_set */
#include "job/job.h"          /* fs_job_get_status */
#include "motion/toolhead.h"  /* fs_toolhead_get_status */
#include "printer/printer.h"  /* struct fs_printer */
#include "sim_host.h"         /* struct sim_host */
#include "sim_printer.h"      /* sim_printer_heater, sim_printer_position */
#include "sim_session.h"      /* sim_session_* */
#include "sim_world.h"        /* sim_world_heater_* */
#include "thermal/heaters.h"  /* fs_heaters_status */

/* A reading outside this range is a broken sensor, not a temperature:
 * left out of the picture rather than squashing its scale. */
#define READING_MIN_C -20.0
#define READING_MAX_C 400.0

static void add_point(struct demo_record *r, enum demo_series_id id, double t, double v)
{
    struct demo_series *s = &r->series[id];
    if (s->count < DEMO_POINTS_MAX)
        s->points[s->count++] = (struct viz_point){t, v};
}

static int host_heater(const struct fs_printer *p, const char *name)
{
    for (int i = 0; i < fs_heaters_count(p->heaters); i++) {
        struct fs_heater_status st;
        if (fs_heaters_status(p->heaters, i, &st) == 0 && !strcmp(st.name, name))
            return i;
    }
    return -1;
}

static double probe(struct fs_timer *t, double eventtime)
{
    struct demo_record *r = t->arg;
    struct sim_world *w = sim_session_host(r->s)->world;
    int hotend = sim_world_heater_drive(w, r->plant_hotend) > 0.0;
    int bed = sim_world_heater_drive(w, r->plant_bed) > 0.0;
    r->probes++;
    r->hotend_on += hotend;
    if (hotend)
        r->hotend_last_on = eventtime;
    if (r->window.open) {
        r->window.probes++;
        r->window.hotend_on += hotend;
        r->window.bed_on += bed;
    }
    return eventtime + DEMO_PIN_PROBE_S;
}

static double sample(struct fs_timer *t, double eventtime)
{
    struct demo_record *r = t->arg;
    struct sim_world *w = sim_session_host(r->s)->world;
    struct fs_printer *p = sim_session_printer(r->s);
    double ts = eventtime - r->t0;
    struct fs_heater_status hot, bed;
    if (fs_heaters_status(p->heaters, r->host_hotend, &hot) < 0 ||
        fs_heaters_status(p->heaters, r->host_bed, &bed) < 0)
        return eventtime + DEMO_SAMPLE_S;
    double bed_true = sim_world_heater_temp_c(w, r->plant_bed);
    add_point(r, DEMO_HOTEND_TRUE, ts, sim_world_heater_temp_c(w, r->plant_hotend));
    if (isfinite(hot.temperature_c) && hot.temperature_c > READING_MIN_C &&
        hot.temperature_c < READING_MAX_C)
        add_point(r, DEMO_HOTEND_READING, ts, hot.temperature_c);
    add_point(r, DEMO_HOTEND_TARGET, ts, hot.target_c);
    add_point(r, DEMO_BED_TRUE, ts, bed_true);
    add_point(r, DEMO_BED_TARGET, ts, bed.target_c);
    add_point(r, DEMO_HOTEND_POWER, ts, hot.power * 100.0);
    add_point(r, DEMO_HOTEND_PIN, ts, r->probes ? 100.0 * r->hotend_on / r->probes : 0.0);
    r->probes = r->hotend_on = 0;
    struct fs_toolhead_status th;
    fs_toolhead_get_status(p->toolhead, &th);
    /* Before homing the head is wherever the simulator left it: not part
     * of the print's story, and it would squash the scale. */
    if (th.homed_axes == 7) {
        double pos[4];
        sim_printer_position(sim_session_plant(r->s), w, pos);
        add_point(r, DEMO_HEAD_Z, ts, pos[2]);
    }
    if (th.homed_axes == 7) {
        r->homed_seen = 1;
    } else if (r->homed_seen && !r->homed_lost) {
        r->homed_lost = 1;
        r->homed_lost_t = ts;
    }
    if (r->window.open) {
        if (bed.target_c != r->window.bed_target_c)
            r->window.bed_target_changed = 1;
        double dev = fabs(bed_true - r->window.bed_target_c);
        if (dev > r->window.bed_max_dev_c)
            r->window.bed_max_dev_c = dev;
        if (hot.target_c > r->window.hotend_target_max_c)
            r->window.hotend_target_max_c = hot.target_c;
    }
    return eventtime + DEMO_SAMPLE_S;
}

int demo_record_start(struct demo_record *r, struct sim_session *s, double t0,
                      struct fs_error *err)
{
    memset(r, 0, sizeof(*r));
    r->s = s;
    r->t0 = t0;
    r->hotend_last_on = -1.0;
    const struct fs_printer *p = sim_session_printer(s);
    r->plant_hotend = sim_printer_heater(sim_session_plant(s), "extruder");
    r->plant_bed = sim_printer_heater(sim_session_plant(s), "heater_bed");
    r->host_hotend = host_heater(p, "extruder");
    r->host_bed = host_heater(p, "heater_bed");
    if (r->plant_hotend < 0 || r->plant_bed < 0 || r->host_hotend < 0 || r->host_bed < 0)
        return fs_error_set(err, "demo: the printer has no [extruder] or no [heater_bed]");
    struct fs_reactor *reactor = &sim_session_host(s)->reactor;
    fs_timer_init(&r->sample_timer, sample, r);
    fs_timer_init(&r->probe_timer, probe, r);
    if (fs_reactor_timer_set(reactor, &r->sample_timer, t0) < 0 ||
        fs_reactor_timer_set(reactor, &r->probe_timer, t0) < 0)
        return fs_error_set(err, "demo: out of memory for the reactor's timers");
    return 0;
}

void demo_record_stop(struct demo_record *r)
{
    struct fs_reactor *reactor = &sim_session_host(r->s)->reactor;
    fs_reactor_timer_cancel(reactor, &r->sample_timer);
    fs_reactor_timer_cancel(reactor, &r->probe_timer);
}

void demo_record_window_open(struct demo_record *r)
{
    struct fs_printer *p = sim_session_printer(r->s);
    struct fs_heater_status bed;
    memset(&r->window, 0, sizeof(r->window));
    if (fs_heaters_status(p->heaters, r->host_bed, &bed) == 0)
        r->window.bed_target_c = bed.target_c;
    r->window.open = 1;
}

void demo_record_window_close(struct demo_record *r) { r->window.open = 0; }
