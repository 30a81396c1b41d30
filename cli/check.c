/* `failsoft check`: a configuration validated on any machine, no MCU
 * contacted (see printer/printer_check.h). */
#include "check.h"

#include <string.h> /* strcmp */

#include "config/config.h"         /* fs_config_load */
#include "core/error.h"            /* struct fs_error */
#include "printer/printer_check.h" /* fs_printer_check */

int cli_check(int argc, char **argv, FILE *out, FILE *err_out)
{
    if (argc != 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        fprintf(argc == 1 ? out : err_out, "usage: failsoft check CONFIG\n");
        return argc == 1 ? 0 : 2;
    }
    struct fs_error err = {{0}};
    struct fs_config *cfg = NULL;
    if (fs_config_load(argv[0], &cfg, &err) < 0) {
        fprintf(err_out, "%s\n", err.msg);
        return 1;
    }
    int mcus = 0;
    int status = fs_printer_check(cfg, &mcus, &err);
    if (status < 0)
        fprintf(err_out, "%s\n", err.msg);
    else
        fprintf(out, "%s: configuration is valid (%d mcu(s))\n", argv[0], mcus);
    fs_config_free(cfg);
    return status < 0 ? 1 : 0;
}
