/* CoreXY kinematics: two motors (A on the stepper_x rail, B on stepper_y)
 * pull one belt system; moving both the same way moves X, moving them
 * against each other moves Y. With a = x + y and b = x - y (the usual
 * wiring), a belt length change of one millimetre on A alone moves the head
 * half a millimetre in X and in Y. Z is its own rail. */
#include "motion/kinematics.h"

void fs_kin_corexy_calc_steppers(const double pos[3], double steppers[3])
{
    steppers[0] = pos[0] + pos[1];
    steppers[1] = pos[0] - pos[1];
    steppers[2] = pos[2];
}

void fs_kin_corexy_calc_position(const double steppers[3], double pos[3])
{
    pos[0] = 0.5 * (steppers[0] + steppers[1]);
    pos[1] = 0.5 * (steppers[0] - steppers[1]);
    pos[2] = steppers[2];
}

void fs_kin_corexy_calc_ratios(const double axes_r[3], double ratios[3])
{
    ratios[0] = axes_r[0] + axes_r[1];
    ratios[1] = axes_r[0] - axes_r[1];
    ratios[2] = axes_r[2];
}
