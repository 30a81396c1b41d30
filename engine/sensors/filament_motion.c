/* [filament_motion_sensor NAME]: a sensor whose switch toggles while the
 * filament moves through it. A jam (or filament that ended before the
 * sensor and no longer moves) shows as extruder travel without toggles.
 *
 * The extruder's travel is known as steps generated, which run up to the
 * toolhead's look-ahead later. A tenth-second timer records (print time the
 * generated motion ends, travel) pairs; the travel at the MCUs' current
 * print time is interpolated between them, so motion still in the queue
 * never counts as travel the sensor should have seen. Each toggle sets
 * the travel at which the next one is overdue: now + detection_length.
 * Only travel while a job prints counts: the mark is kept at now +
 * detection_length while none does (manual extrusion with the sensor
 * disconnected must not raise a jam when the print starts). Retraction
 * lowers the travel and so delays detection, as it should. */
#include <string.h> /* strcmp */

#include "config/config.h"             /* fs_config_* */
#include "core/error.h"                /* fs_error_set */
#include "core/reactor.h"              /* fs_reactor_*, fs_timer */
#include "motion/rail.h"               /* fs_rail_motor_read */
#include "motion/toolhead.h"           /* fs_toolhead_* */
#include "printer/printer.h"           /* struct fs_printer */
#include "sensors/filament_internal.h" /* struct fs_filament_sensor */

#define EXTRUDER_STEPPER 3 /* after the X Y Z rails in the toolhead's list */

static double travel_generated(const struct fs_filament_sensor *fsn)
{
    struct fs_toolhead *th = fsn->printer->toolhead;
    if (!th || fs_toolhead_stepper_count(th) <= EXTRUDER_STEPPER)
        return 0.0;
    return (double)fs_toolhead_stepper_steps(th, EXTRUDER_STEPPER) * fsn->step_dist_mm;
}

static void record_travel(struct fs_filament_sensor *fsn)
{
    struct fs_toolhead_status st;
    fs_toolhead_get_status(fsn->printer->toolhead, &st);
    int newest = (fsn->travel_head + FS_FILAMENT_TRAVEL_SAMPLES - 1) % FS_FILAMENT_TRAVEL_SAMPLES;
    double travel = travel_generated(fsn);
    /* Nothing new: keep the older sample, which spans more time. */
    if (fsn->travel_count && fsn->travel[newest].print_time == st.print_time &&
        fsn->travel[newest].travel_mm == travel)
        return;
    fsn->travel[fsn->travel_head].print_time = st.print_time;
    fsn->travel[fsn->travel_head].travel_mm = travel;
    fsn->travel_head = (fsn->travel_head + 1) % FS_FILAMENT_TRAVEL_SAMPLES;
    if (fsn->travel_count < FS_FILAMENT_TRAVEL_SAMPLES)
        fsn->travel_count++;
}

/* Travel at print time t: interpolated between the samples around it; the
 * oldest sample's when t is older (underestimates: detection is late, never
 * early). */
static double travel_at(const struct fs_filament_sensor *fsn, double t)
{
    if (!fsn->travel_count)
        return travel_generated(fsn);
    int oldest = (fsn->travel_head + FS_FILAMENT_TRAVEL_SAMPLES - fsn->travel_count) %
                 FS_FILAMENT_TRAVEL_SAMPLES;
    double prev_t = fsn->travel[oldest].print_time;
    double prev_x = fsn->travel[oldest].travel_mm;
    if (t <= prev_t)
        return prev_x;
    for (int k = 1; k < fsn->travel_count; k++) {
        int i = (oldest + k) % FS_FILAMENT_TRAVEL_SAMPLES;
        double ti = fsn->travel[i].print_time, xi = fsn->travel[i].travel_mm;
        if (t <= ti) {
            double span = ti - prev_t;
            return span > 0.0 ? prev_x + (xi - prev_x) * (t - prev_t) / span : xi;
        }
        prev_t = ti;
        prev_x = xi;
    }
    return prev_x;
}

static double travel_now(const struct fs_filament_sensor *fsn)
{
    return travel_at(fsn, fs_toolhead_estimated_print_time(fsn->printer->toolhead));
}

void fs_filament_motion_restart(struct fs_filament_sensor *fsn)
{
    fsn->runout_travel_mm = travel_now(fsn) + fsn->detection_length_mm;
}

static void on_toggle(void *arg, double eventtime, int pressed)
{
    (void)pressed;
    struct fs_filament_sensor *fsn = arg;
    record_travel(fsn);
    fs_filament_motion_restart(fsn);
    fs_filament_sensor_note_present(fsn, eventtime, 1);
}

static double check_travel(struct fs_timer *t, double eventtime)
{
    struct fs_filament_sensor *fsn = t->arg;
    record_travel(fsn);
    int printing = fs_filament_sensor_is_printing(fsn);
    if (!printing || !fsn->was_printing) {
        fs_filament_motion_restart(fsn);
    } else {
        double now = travel_now(fsn);
        if (now > fsn->runout_travel_mm)
            fs_filament_sensor_note_present(fsn, eventtime, 0);
    }
    fsn->was_printing = printing;
    return eventtime + FS_FILAMENT_CHECK_S;
}

int fs_filament_motion_init(struct fs_filament_sensor *fsn, struct fs_printer *p,
                            struct fs_config_section *s, struct fs_error *err)
{
    const char *extruder;
    if (fs_filament_sensor_init(fsn, p, s, on_toggle, err) < 0 ||
        fs_config_get_float_above(s, "detection_length", 7.0, 0.0, &fsn->detection_length_mm,
                                  err) < 0 ||
        fs_config_get_str(s, "extruder", "extruder", &extruder, err) < 0)
        return -1;
    /* The toolhead drives one extruder, [extruder]. */
    if (strcmp(extruder, "extruder"))
        return fs_config_error(s, "extruder", err, "only 'extruder' is supported, not '%s'",
                               extruder);
    struct fs_config_section *es = fs_config_get_section(p->config, "extruder");
    struct fs_rail_motor motor;
    if (!es)
        return fs_config_error(s, "extruder", err, "no [extruder] section");
    if (fs_rail_motor_read(es, &motor, err) < 0)
        return -1;
    fsn->is_motion = 1;
    fsn->step_dist_mm = motor.step_dist;
    /* Until the first toggle, filament is assumed present: a sensor that
     * never toggles is found out by the first detection_length of printing. */
    fsn->present = 1;
    fs_timer_init(&fsn->check, check_travel, fsn);
    if (fs_reactor_timer_set(p->reactor, &fsn->check,
                             fs_reactor_now(p->reactor) + FS_FILAMENT_CHECK_S) < 0)
        return fs_error_set(err, "%s: cannot arm its timer", fsn->source_name);
    return 0;
}
