/* The look-ahead planner: a queue of straight moves whose speeds at each
 * junction are chosen so that the head never exceeds its velocity and
 * acceleration limits, never has to stop at a gentle corner, and always can
 * stop at the end of what it knows about.
 *
 * A move is a straight line in four axes (X Y Z E). Its own limits (cruise
 * speed, acceleration) come from the requested speed and the printer's
 * limits, scaled down when Z takes part (max_z_velocity / max_z_accel apply
 * to the Z component) or when only the extruder moves. Junction limits come
 * from the angle between consecutive moves (the "junction deviation" model:
 * a 90 degree corner is taken at square_corner_velocity) and from the change
 * of extrusion rate (instantaneous_corner_velocity). The planner itself does
 * no I/O: the toolhead commits planned moves through a callback. */
#ifndef FS_LOOKAHEAD_H
#define FS_LOOKAHEAD_H

#define FS_AXIS_X 0
#define FS_AXIS_Y 1
#define FS_AXIS_Z 2
#define FS_AXIS_E 3
#define FS_AXES 4

/* Moves held before the oldest are committed. Committing assumes the head
 * stops after the last queued move, so a longer queue only buys speed. */
#define FS_LOOKAHEAD_MAX 64
/* ...and at most this much motion (at full cruise speed): slow moves must
 * not pile up tens of seconds ahead, since commands timed to the end of
 * the queue (fans, heaters) travel as 32-bit MCU clocks, which reach only
 * about 40 s ahead on a 50 MHz MCU. */
#define FS_LOOKAHEAD_MAX_TIME_S 2.0

struct fs_error;

struct fs_planner_limits {
    double max_velocity, max_accel;     /* mm/s, mm/s^2 */
    double min_cruise_ratio;            /* 0 <= r < 1 */
    double square_corner_velocity;      /* mm/s */
    double max_z_velocity, max_z_accel;
    double max_e_only_velocity, max_e_only_accel; /* extrude-only moves */
    double instant_corner_velocity;     /* extruder, mm/s of filament */
};

struct fs_move {
    double start[FS_AXES], end[FS_AXES];
    double axes_d[FS_AXES]; /* end - start */
    double axes_r[FS_AXES]; /* axes_d / move_d */
    double move_d;          /* XYZ length, or |E| for an extrude-only move */
    int is_kinematic;       /* X, Y or Z moves */
    /* Limits of this move alone, in squared speeds. */
    double accel;
    double max_cruise_v2;
    double max_start_v2;    /* junction with the previous move */
    double delta_v2;        /* 2 * accel * move_d */
    double smooth_delta_v2; /* the same with accel * (1 - min_cruise_ratio) */
    /* The plan: speeds (mm/s) and phase durations (s). */
    double start_v, cruise_v, end_v;
    double accel_t, cruise_t, decel_t;
};

/* Fills a move from start to end at the requested speed (mm/s, along the
 * move). Returns 0, or 1 for a move that goes nowhere (nothing to plan). */
int fs_move_init(struct fs_move *m, const double start[FS_AXES], const double end[FS_AXES],
                 double speed, const struct fs_planner_limits *lim);
double fs_move_duration(const struct fs_move *m);

/* Called for each move the planner has settled, oldest first. */
typedef int (*fs_lookahead_commit_fn)(void *arg, const struct fs_move *m,
                                      struct fs_error *err);

struct fs_lookahead {
    struct fs_move moves[FS_LOOKAHEAD_MAX];
    int count;
    struct fs_move prev;  /* the last move added (for the next junction) */
    int has_prev;
    double start_v2;      /* speed at the start of the queue (already committed) */
    double queued_time;   /* sum of the queued moves' shortest durations */
    struct fs_planner_limits limits;
};

void fs_lookahead_init(struct fs_lookahead *la, const struct fs_planner_limits *lim);
void fs_lookahead_set_limits(struct fs_lookahead *la, const struct fs_planner_limits *lim);
/* Queues a move (its junction with the previous one computed here). When
 * the queue is full, or holds more than FS_LOOKAHEAD_MAX_TIME_S of motion,
 * the older half is planned and committed. */
int fs_lookahead_add(struct fs_lookahead *la, const struct fs_move *m,
                     fs_lookahead_commit_fn commit, void *arg, struct fs_error *err);
/* Plans every queued move to end at rest and commits them all. */
int fs_lookahead_flush(struct fs_lookahead *la, fs_lookahead_commit_fn commit, void *arg,
                       struct fs_error *err);
/* Plans the queue (ending at rest) without committing: for tests and
 * status. */
void fs_lookahead_plan(struct fs_lookahead *la);
/* Forgets queued moves and junction history (after an emergency stop). */
void fs_lookahead_reset(struct fs_lookahead *la);

/* The junction speed limit (squared) between two moves, exposed for tests. */
double fs_lookahead_junction_v2(const struct fs_move *prev, const struct fs_move *m,
                                const struct fs_planner_limits *lim);

#endif
