/* PID_CALIBRATE: relay auto-tuning of a heater's PID gains.
 *
 * The heater is driven as a relay around the target: full max_power until
 * the reading reaches the target, off until it falls FS_PID_CALIBRATE_BAND_C
 * below it, and so on. The resulting oscillation's amplitude a and period
 * Tu give the ultimate gain Ku = 4 d / (pi a), with d = max_power / 2 the
 * relay's half swing (the describing-function estimate), and the classic
 * Ziegler-Nichols rules turn (Ku, Tu) into Kp = 0.6 Ku, Ti = Tu / 2,
 * Td = Tu / 8. Keeping the swing below the target means calibration never
 * overshoots the temperature the user asked for by more than the sensor and
 * output delays. The first cycle (heating up from cold) is not measured. */
#ifndef FS_PID_CALIBRATE_H
#define FS_PID_CALIBRATE_H

struct fs_error;
struct fs_heater;
struct fs_heaters;

#define FS_PID_CALIBRATE_BAND_C 5.0
#define FS_PID_CALIBRATE_CYCLES 5 /* measured cycles, after the first */

struct fs_pid_calibrate_result {
    double kp, ki, kd;   /* printer.cfg units */
    double ku;           /* power per C, 0..1 scale */
    double tu_s;
    double amplitude_c;
};

/* Runs the relay until enough cycles were seen or timeout_s passes (the
 * world runs meanwhile); the heater is off afterwards and keeps its old
 * gains — the caller decides whether to apply the result. */
int fs_pid_calibrate(struct fs_heaters *hs, struct fs_heater *heater, double target_c,
                     double timeout_s, struct fs_pid_calibrate_result *out,
                     struct fs_error *err);

#endif
