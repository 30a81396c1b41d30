/* `failsoft faults [-c CONFIG] [--json]`: the fault catalogue (every kind,
 * how it is detected and tuned, default actions, safety floors) and, with a
 * configuration, the effective policy of each configured part. */
#ifndef CLI_FAULTS_H
#define CLI_FAULTS_H

#include <stdio.h> /* FILE */

/* Returns 0 on success, 1 when the configuration is invalid (errors written
 * to err_out), 2 when the command line is wrong. */
int cli_faults(int argc, char **argv, FILE *out, FILE *err_out);

#endif
