/* A printing session on the simulated printer: the configuration, the
 * physical printer it describes, the engine's printer object on the
 * simulator backend, and what is measured while it runs. `failsoft sim`
 * prints one file in a session; tests and scenarios run several steps in
 * one (print, then check that the machine is still usable). */
#ifndef CLI_SIM_SESSION_H
#define CLI_SIM_SESSION_H

#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* FILE */

struct cJSON;
struct fs_error;
struct fs_printer;
struct sim_host;
struct sim_printer;
struct sim_session;

/* Builds and starts the printer. Log warnings and G-code errors go to
 * err_out (NULL: kept quiet, still recorded for the report). */
struct sim_session *sim_session_open(const char *config_path, uint64_t seed, FILE *err_out,
                                     struct fs_error *err);
void sim_session_close(struct sim_session *s);

/* Prints a file to its end (complete, error, cancelled or shutdown); a
 * progress bar goes to progress_out when not NULL. -1 only when the file
 * cannot be started, or when a RESTART in it left the printer not ready. */
int sim_session_print(struct sim_session *s, const char *gcode_path, FILE *progress_out,
                      struct fs_error *err);
/* The same in steps, for tests and scenarios that act during a print:
 * start the file, run the program loop (fault work, file lines, the world)
 * until host time `until` (checked between turns of at most 256 lines;
 * INFINITY: until the job and the fault module have nothing left to run,
 * e.g. the print completed or paused) or until stop returns non-zero, then
 * finish (wait for the moves, close the report's clock). A paused job
 * keeps its file between runs; RESUME through sim_session_run_line. */
typedef int (*sim_session_stop_fn)(void *arg, struct sim_session *s);
int sim_session_start_print(struct sim_session *s, const char *gcode_path, FILE *progress_out,
                            struct fs_error *err);
int sim_session_run(struct sim_session *s, double until, sim_session_stop_fn stop, void *arg,
                    struct fs_error *err);
int sim_session_finish_print(struct sim_session *s, struct fs_error *err);
/* Host time in the simulation (seconds). */
double sim_session_now(const struct sim_session *s);

/* One console line, as a person would type it. RESTART and
 * FIRMWARE_RESTART rebuild the printer before this returns (-1 with the
 * reason when the rebuilt printer is not ready, e.g. a changed MCU
 * configuration that needs FIRMWARE_RESTART); a printer that is shut down
 * or not ready refuses all but STATUS, M115, HELP and the restarts. */
int sim_session_run_line(struct sim_session *s, const char *line, struct fs_error *err);

/* The report of the last print: state, times, positions (engine, G-code,
 * plant), extrusion, steps, heaters with their hold quality. The caller
 * frees it with cJSON_Delete. */
struct cJSON *sim_session_report(struct sim_session *s);

struct fs_printer *sim_session_printer(struct sim_session *s);
struct sim_host *sim_session_host(struct sim_session *s);
const struct sim_printer *sim_session_plant(const struct sim_session *s);

#endif
