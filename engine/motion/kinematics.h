/* Kinematics: how the head's X Y Z relate to the positions of the three
 * axis steppers (one per rail: stepper_x, stepper_y, stepper_z), and which
 * positions the head may reach.
 *
 * For cartesian and corexy machines every stepper coordinate is a linear
 * combination of X Y Z, so a straight move is straight for every stepper
 * too: a stepper moves `ratio` times the distance travelled along the move.
 * That is all the step generator needs (see stepper.h). */
#ifndef FS_KINEMATICS_H
#define FS_KINEMATICS_H

struct fs_error;

enum fs_kin_type {
    FS_KIN_CARTESIAN = 0,
    FS_KIN_COREXY = 1,
};

struct fs_kinematics {
    enum fs_kin_type type;
    double position_min[3], position_max[3];
    unsigned homed_axes; /* bit per axis: 1 << FS_AXIS_X ... */
};

/* The names accepted for [printer] kinematics, NULL-terminated, in enum
 * order. */
extern const char *const fs_kinematics_names[];

void fs_kinematics_init(struct fs_kinematics *k, enum fs_kin_type type,
                        const double position_min[3], const double position_max[3]);

/* The axis (0..2) whose limit refuses the move in fs_kinematics_check_move,
 * or -1 when it is refused for another reason or not at all. */
int fs_kinematics_out_of_range_axis(const struct fs_kinematics *k, const double start[4],
                                    const double end[4]);

/* Head position (X Y Z) -> stepper coordinates (mm of each rail). */
void fs_kinematics_calc_steppers(const struct fs_kinematics *k, const double pos[3],
                                 double steppers[3]);
/* Stepper coordinates -> head position. */
void fs_kinematics_calc_position(const struct fs_kinematics *k, const double steppers[3],
                                 double pos[3]);
/* Per stepper: its distance per unit distance along a move whose direction
 * (unit vector in X Y Z) is axes_r. */
void fs_kinematics_calc_ratios(const struct fs_kinematics *k, const double axes_r[3],
                               double ratios[3]);
/* The steppers (bit per rail) that move when the axis moves alone: corexy
 * moves both A and B for X or Y. */
unsigned fs_kinematics_axis_steppers(const struct fs_kinematics *k, int axis);

/* Checks a move from start to end (X Y Z E). Axes that move must be homed
 * ("Must home axis first: 10.000 0.000 0.300 [0.000]") and stay within
 * position_min..position_max ("Move out of range: 250.000 10.000 0.300
 * [1.000]"; the end position, E in brackets). */
int fs_kinematics_check_move(const struct fs_kinematics *k, const double start[4],
                             const double end[4], struct fs_error *err);

/* "xyz", "xy", "" */
void fs_kinematics_homed_string(unsigned homed_axes, char out[4]);

/* Implemented per kinematics (kin_cartesian.c, kin_corexy.c). */
void fs_kin_cartesian_calc_steppers(const double pos[3], double steppers[3]);
void fs_kin_cartesian_calc_position(const double steppers[3], double pos[3]);
void fs_kin_cartesian_calc_ratios(const double axes_r[3], double ratios[3]);
void fs_kin_corexy_calc_steppers(const double pos[3], double steppers[3]);
void fs_kin_corexy_calc_position(const double steppers[3], double pos[3]);
void fs_kin_corexy_calc_ratios(const double axes_r[3], double ratios[3]);

#endif
