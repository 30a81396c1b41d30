/* Helpers of the fault module's tests: temp-file configurations and a fake
 * clock behind a real reactor. */
#include "fault_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h> /* opendir */
#include <stdio.h>  /* fopen, snprintf */
#include <stdlib.h> /* mkdtemp */
#include <string.h> /* strcmp */
#include <unistd.h> /* rmdir, unlink */

#include "core/error.h" /* struct fs_error */

void cfg_fixture_load(struct cfg_fixture *fx, const char *text)
{
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/fs_fault_test_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/printer.cfg", fx->dir);
    FILE *fp = fopen(fx->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
    struct fs_error err = {{0}};
    if (fs_config_load(fx->path, &fx->cfg, &err) < 0)
        fail_msg("config did not load: %s", err.msg);
}

void remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

void cfg_fixture_free(struct cfg_fixture *fx)
{
    fs_config_free(fx->cfg);
    remove_folder(fx->dir);
}

static double clock_now(void *ctx) { return ((struct fake_clock *)ctx)->now; }

static void clock_wait(void *ctx, double until)
{
    struct fake_clock *c = ctx;
    c->now = until;
    fs_reactor_run_due(&c->reactor, c->now);
}

void fake_clock_init(struct fake_clock *c)
{
    c->now = 0.0;
    struct fs_reactor_backend be = {c, clock_now, clock_wait};
    fs_reactor_init(&c->reactor, &be);
}

void fake_clock_free(struct fake_clock *c) { fs_reactor_free(&c->reactor); }
