/* The parse phase against MCUs that cannot be reached: every send fails,
 * time stands still and nothing waits, so nothing but the configuration is
 * looked at. */
#include "printer/printer_check.h"

#include <string.h> /* memset */

#include "core/error.h"      /* fs_error_set */
#include "core/reactor.h"    /* struct fs_reactor */
#include "core/transport.h"  /* struct fs_transport */
#include "printer/printer.h" /* fs_printer_init */

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

int fs_printer_check(struct fs_config *cfg, int *mcu_count, struct fs_error *err)
{
    return fs_printer_check_inspect(cfg, mcu_count, NULL, NULL, err);
}

int fs_printer_check_inspect(struct fs_config *cfg, int *mcu_count,
                             void (*inspect)(void *arg, struct fs_printer *p), void *arg,
                             struct fs_error *err)
{
    struct fs_reactor reactor;
    struct fs_reactor_backend rb = {NULL, frozen_now, no_wait};
    fs_reactor_init(&reactor, &rb);
    struct check_backend cb = {0};
    struct fs_printer_backend pb = {&cb, open_unreachable};
    struct fs_printer trial;
    int status = fs_printer_init(&trial, &reactor, NULL, cfg, &pb, err);
    if (mcu_count)
        *mcu_count = trial.mcu_count;
    if (status == 0 && inspect)
        inspect(arg, &trial);
    fs_printer_free(&trial);
    fs_reactor_free(&reactor);
    return status;
}
