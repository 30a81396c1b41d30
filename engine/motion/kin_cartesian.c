/* Cartesian kinematics: each rail drives one axis, so stepper coordinates
 * are the head coordinates. */
#include "motion/kinematics.h"

void fs_kin_cartesian_calc_steppers(const double pos[3], double steppers[3])
{
    for (int i = 0; i < 3; i++)
        steppers[i] = pos[i];
}

void fs_kin_cartesian_calc_position(const double steppers[3], double pos[3])
{
    for (int i = 0; i < 3; i++)
        pos[i] = steppers[i];
}

void fs_kin_cartesian_calc_ratios(const double axes_r[3], double ratios[3])
{
    for (int i = 0; i < 3; i++)
        ratios[i] = axes_r[i];
}
