/* The trapezoidal move the planner hands to each stepper: where along the
 * line the toolhead is, and how fast it goes, at a time into the move.
 *
 * The three phases are evaluated from their own start so that a long cruise
 * does not carry the rounding of the acceleration phase into every later
 * time; the deceleration phase starts from cruise_v, which is where the
 * planner's acceleration phase ends. */
#include "motion/stepper.h"

static double accel_distance(const struct fs_trapezoid *m)
{
    return (m->start_v + 0.5 * m->accel * m->accel_t) * m->accel_t;
}

double fs_trapezoid_duration(const struct fs_trapezoid *m)
{
    return m->accel_t + m->cruise_t + m->decel_t;
}

double fs_trapezoid_distance(const struct fs_trapezoid *m, double t)
{
    if (t <= 0.0)
        return 0.0;
    if (t < m->accel_t)
        return (m->start_v + 0.5 * m->accel * t) * t;
    double d = accel_distance(m);
    t -= m->accel_t;
    if (t < m->cruise_t)
        return d + m->cruise_v * t;
    d += m->cruise_v * m->cruise_t;
    t -= m->cruise_t;
    if (t > m->decel_t)
        t = m->decel_t;
    return d + (m->cruise_v - 0.5 * m->accel * t) * t;
}

double fs_trapezoid_velocity(const struct fs_trapezoid *m, double t)
{
    if (t < 0.0)
        return m->start_v;
    if (t < m->accel_t)
        return m->start_v + m->accel * t;
    t -= m->accel_t;
    if (t < m->cruise_t)
        return m->cruise_v;
    t -= m->cruise_t;
    if (t > m->decel_t)
        t = m->decel_t;
    return m->cruise_v - m->accel * t;
}
