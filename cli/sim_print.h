/* `failsoft sim -c CONFIG FILE.gcode [--json]`: print a file on the
 * simulated printer a configuration describes, as fast as the machine
 * allows, with the real firmware in the loop; then report what happened,
 * from the engine's and from the plant's point of view. */
#ifndef CLI_SIM_PRINT_H
#define CLI_SIM_PRINT_H

#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* FILE */

struct sim_print_options {
    const char *config_path;
    const char *gcode_path;
    uint64_t seed;
    int json;          /* one JSON object on out instead of text */
    int progress;      /* a progress bar on err_out */
    double speed_factor; /* M220-like factor applied before the file, 1.0 = as sliced */
};

/* Returns 0 when the job completed, 1 when it ended otherwise (error,
 * cancelled, shutdown; reported), 2 on setup errors. */
int cli_sim_print(const struct sim_print_options *o, FILE *out, FILE *err_out);
int cli_sim_main(int argc, char **argv, FILE *out, FILE *err_out);

#endif
