/* Kinematics dispatch and the reachable-position check shared by every
 * kinematics; see kinematics.h. */
#include "motion/kinematics.h"

#include "core/error.h" /* fs_error_set */

#define LIMIT_EPSILON_MM 1e-9

const char *const fs_kinematics_names[] = {"cartesian", "corexy", NULL};

void fs_kinematics_init(struct fs_kinematics *k, enum fs_kin_type type,
                        const double position_min[3], const double position_max[3])
{
    k->type = type;
    for (int i = 0; i < 3; i++) {
        k->position_min[i] = position_min[i];
        k->position_max[i] = position_max[i];
    }
    k->homed_axes = 0;
}

void fs_kinematics_calc_steppers(const struct fs_kinematics *k, const double pos[3],
                                 double steppers[3])
{
    if (k->type == FS_KIN_COREXY)
        fs_kin_corexy_calc_steppers(pos, steppers);
    else
        fs_kin_cartesian_calc_steppers(pos, steppers);
}

void fs_kinematics_calc_position(const struct fs_kinematics *k, const double steppers[3],
                                 double pos[3])
{
    if (k->type == FS_KIN_COREXY)
        fs_kin_corexy_calc_position(steppers, pos);
    else
        fs_kin_cartesian_calc_position(steppers, pos);
}

void fs_kinematics_calc_ratios(const struct fs_kinematics *k, const double axes_r[3],
                               double ratios[3])
{
    if (k->type == FS_KIN_COREXY)
        fs_kin_corexy_calc_ratios(axes_r, ratios);
    else
        fs_kin_cartesian_calc_ratios(axes_r, ratios);
}

unsigned fs_kinematics_axis_steppers(const struct fs_kinematics *k, int axis)
{
    if (k->type == FS_KIN_COREXY && axis < 2)
        return 0x3;
    return 1u << axis;
}

int fs_kinematics_check_move(const struct fs_kinematics *k, const double start[4],
                             const double end[4], struct fs_error *err)
{
    for (int i = 0; i < 3; i++) {
        if (end[i] == start[i])
            continue;
        if (!(k->homed_axes & (1u << i)))
            return fs_error_set(err, "Must home axis first: %.3f %.3f %.3f [%.3f]", end[0],
                                end[1], end[2], end[3]);
        if (end[i] < k->position_min[i] - LIMIT_EPSILON_MM ||
            end[i] > k->position_max[i] + LIMIT_EPSILON_MM)
            return fs_error_set(err, "Move out of range: %.3f %.3f %.3f [%.3f]", end[0],
                                end[1], end[2], end[3]);
    }
    return 0;
}

int fs_kinematics_out_of_range_axis(const struct fs_kinematics *k, const double start[4],
                                    const double end[4])
{
    /* The same order as fs_kinematics_check_move: the first refusal counts. */
    for (int i = 0; i < 3; i++) {
        if (end[i] == start[i])
            continue;
        if (!(k->homed_axes & (1u << i)))
            return -1;
        if (end[i] < k->position_min[i] - LIMIT_EPSILON_MM ||
            end[i] > k->position_max[i] + LIMIT_EPSILON_MM)
            return i;
    }
    return -1;
}

void fs_kinematics_homed_string(unsigned homed_axes, char out[4])
{
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (homed_axes & (1u << i))
            out[n++] = "xyz"[i];
    out[n] = '\0';
}
