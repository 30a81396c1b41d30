/* The print-job test world (see job_fixture.h). */
#include "job_fixture.h"

#include <setjmp.h> /* cmocka */
#include <stdarg.h> /* cmocka */
#include <stddef.h> /* cmocka */
#include <stdint.h> /* cmocka */
#include <cmocka.h> /* assert_* */

#include <math.h>     /* NAN, INFINITY */
#include <stdio.h>    /* snprintf, fopen */
#include <stdlib.h>   /* mkdtemp, system */
#include <string.h>   /* strcmp, memset */
#include <sys/stat.h> /* mkdir */
#include <unistd.h>   /* unlink, rmdir */

#include "core/error.h"  /* struct fs_error */
#include "gcode/gcode.h" /* fs_gcode_new, fs_gcode_register */

static double toy_now(void *ctx) { return ((struct job_fixture *)ctx)->now; }

/* Time jumps to the next engine timer, or to `until` when none is due. */
static void toy_wait(void *ctx, double until)
{
    struct job_fixture *fx = ctx;
    double next = fs_reactor_next_wake(&fx->reactor);
    if (next <= until) {
        if (next > fx->now)
            fx->now = next;
        fs_reactor_run_due(&fx->reactor, fx->now);
    } else {
        fx->now = until;
    }
}

static void record(struct job_fixture *fx, const struct fs_gcode_command *cmd)
{
    fx->call_total++;
    if (fx->call_count >= FX_MAX_CALLS)
        return;
    struct fx_call *c = &fx->calls[fx->call_count++];
    snprintf(c->name, sizeof(c->name), "%s", cmd->name);
    snprintf(c->source, sizeof(c->source), "%s", cmd->source ? cmd->source : "");
    snprintf(c->line, sizeof(c->line), "%s", cmd->line ? cmd->line : "");
    c->t = fx->now;
}

/* G1: records the move; E is absolute, so the extrusion is its change. */
static int fake_g1(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                   struct fs_error *err)
{
    struct job_fixture *fx = arg;
    double e;
    if (fs_gcode_get_float(cmd, "E", fx->last_e, -INFINITY, INFINITY, &e, err) < 0)
        return -1;
    record(fx, cmd);
    if (fx->job)
        fs_job_note_extrusion(fx->job, e - fx->last_e);
    fx->last_e = e;
    return 0;
}

static int fake_record(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                       struct fs_error *err)
{
    record(arg, cmd);
    return 0;
}

int fx_count_only(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                  struct fs_error *err)
{
    ((struct job_fixture *)arg)->call_total++;
    return 0;
}

void fx_copy_file(struct job_fixture *fx, const char *from, const char *name)
{
    char path[2 * FX_TEXT], chunk[4096];
    size_t n;
    snprintf(path, sizeof(path), "%s/%s", fx->sdcard, name);
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
        assert_int_equal(fwrite(chunk, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void capture_output(void *arg, const char *text)
{
    struct job_fixture *fx = arg;
    if (fx->output_count < FX_MAX_OUTPUT)
        snprintf(fx->output[fx->output_count++], FX_TEXT, "%s", text);
}

static void on_emergency(void *arg, const char *reason)
{
    struct job_fixture *fx = arg;
    fx->emergencies++;
    snprintf(fx->emergency_reason, sizeof(fx->emergency_reason), "%s", reason);
}

void fx_setup(struct job_fixture *fx, struct fs_job_config *cfg)
{
    struct fs_error err = {{0}};
    memset(fx, 0, sizeof(*fx));
    struct fs_reactor_backend be = {fx, toy_now, toy_wait};
    fs_reactor_init(&fx->reactor, &be);
    fx->printer.reactor = &fx->reactor;
    fx->printer.gcode = fs_gcode_new(&err);
    assert_non_null(fx->printer.gcode);
    fs_gcode_set_output(fx->printer.gcode, capture_output, fx);
    static const char *const recorded[] = {"M104", "M84", "SAVE_GCODE_STATE",
                                           "RESTORE_GCODE_STATE", NULL};
    assert_int_equal(fs_gcode_register(fx->printer.gcode, "G1", fake_g1, fx, "", &err), 0);
    for (int i = 0; recorded[i]; i++)
        assert_int_equal(
            fs_gcode_register(fx->printer.gcode, recorded[i], fake_record, fx, "", &err), 0);

    snprintf(fx->root, sizeof(fx->root), "/tmp/fs_job_test_XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->sdcard, sizeof(fx->sdcard), "%s/sdcard", fx->root);
    assert_int_equal(mkdir(fx->sdcard, 0700), 0);

    struct fs_job_config defaults;
    if (cfg && cfg->has_virtual_sdcard && !cfg->sdcard_path[0]) {
        defaults = *cfg;
        snprintf(defaults.sdcard_path, sizeof(defaults.sdcard_path), "%s", fx->sdcard);
        cfg = &defaults;
    } else if (!cfg) {
        fs_job_config_defaults(&defaults);
        defaults.has_virtual_sdcard = 1;
        snprintf(defaults.sdcard_path, sizeof(defaults.sdcard_path), "%s", fx->sdcard);
        defaults.has_pause_resume = 1;
        defaults.has_respond = 1;
        cfg = &defaults;
    }
    int rc = fs_job_new(&fx->printer, cfg, &fx->job, &err);
    if (rc < 0)
        fail_msg("fs_job_new: %s", err.msg);
    fx->printer.job = fx->job;
    fs_job_set_emergency_handler(fx->job, on_emergency, fx);
}

void fx_teardown(struct job_fixture *fx)
{
    char cmd[FX_TEXT + 16];
    fs_gcode_free(fx->printer.gcode);
    fs_job_free(fx->job);
    fs_reactor_free(&fx->reactor);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
}

void fx_write_file(struct job_fixture *fx, const char *name, const char *text, int outside)
{
    char path[2 * FX_TEXT];
    snprintf(path, sizeof(path), "%s/%s", outside ? fx->root : fx->sdcard, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

int fx_console(struct job_fixture *fx, const char *line, char *err_out, size_t err_size)
{
    struct fs_error err = {{0}};
    int rc = fs_gcode_run_line(fx->printer.gcode, line, "console", &err);
    if (err_out)
        snprintf(err_out, err_size, "%s", rc < 0 ? err.msg : "");
    return rc;
}

void fx_advance_to(struct job_fixture *fx, double t)
{
    fs_reactor_pause(&fx->reactor, t);
}

const struct fx_call *fx_find_call(const struct job_fixture *fx, const char *name, int i)
{
    for (int k = 0; k < fx->call_count; k++)
        if (!strcmp(fx->calls[k].name, name) && i-- == 0)
            return &fx->calls[k];
    return NULL;
}

int fx_count_calls(const struct job_fixture *fx, const char *name)
{
    int n = 0;
    for (int k = 0; k < fx->call_count; k++)
        n += !strcmp(fx->calls[k].name, name);
    return n;
}

int fx_has_output(const struct job_fixture *fx, const char *text)
{
    for (int i = 0; i < fx->output_count; i++)
        if (!strcmp(fx->output[i], text))
            return 1;
    return 0;
}
