/* `failsoft check CONFIG`: read and validate a printer.cfg without any
 * hardware, listing every error with its file:line. */
#ifndef CLI_CHECK_H
#define CLI_CHECK_H

#include <stdio.h> /* FILE */

/* Returns 0 when the configuration is valid, 1 when it is not (errors
 * written to err_out), 2 when the command line is wrong. */
int cli_check(int argc, char **argv, FILE *out, FILE *err_out);

#endif
