/* `failsoft check`: the printer's parse phase with MCUs that are never
 * contacted, so a configuration can be validated on any machine. */
#include "check.h"

#include <string.h> /* strcmp */

#include "config/config.h"   /* fs_config_load */
#include "core/error.h"      /* struct fs_error */
#include "core/reactor.h"    /* struct fs_reactor */
#include "core/transport.h"  /* struct fs_transport */
#include "printer/printer.h" /* fs_printer_init */

/* Checking never talks to an MCU: every send fails, and nothing waits. */
static int unreachable_send(struct fs_transport *t, const uint8_t *data, size_t len,
                            struct fs_error *err)
{
    (void)t;
    (void)data;
    (void)len;
    return fs_error_set(err, "not connected: checking the configuration only");
}

struct check_backend {
    struct fs_transport transports[FS_PRINTER_MAX_MCUS];
    int used;
};

static struct fs_transport *open_unreachable(void *ctx, const char *name, const char *serial,
                                             uint32_t baud, struct fs_error *err)
{
    (void)name;
    (void)serial;
    (void)baud;
    struct check_backend *b = ctx;
    if (b->used >= FS_PRINTER_MAX_MCUS) {
        fs_error_set(err, "more than %d MCUs", FS_PRINTER_MAX_MCUS);
        return NULL;
    }
    struct fs_transport *t = &b->transports[b->used++];
    memset(t, 0, sizeof(*t));
    t->send = unreachable_send;
    return t;
}

static double frozen_now(void *ctx)
{
    (void)ctx;
    return 0.0;
}

static void no_wait(void *ctx, double until)
{
    (void)ctx;
    (void)until;
}

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
    struct fs_reactor reactor;
    struct fs_reactor_backend rb = {NULL, frozen_now, no_wait};
    fs_reactor_init(&reactor, &rb);
    struct check_backend cb = {0};
    struct fs_printer_backend pb = {&cb, open_unreachable};
    struct fs_printer printer;
    int status = fs_printer_init(&printer, &reactor, NULL, cfg, &pb, &err);
    if (status < 0)
        fprintf(err_out, "%s\n", err.msg);
    else
        fprintf(out, "%s: configuration is valid (%d mcu(s))\n", argv[0], printer.mcu_count);
    fs_printer_free(&printer);
    fs_reactor_free(&reactor);
    fs_config_free(cfg);
    return status < 0 ? 1 : 0;
}
