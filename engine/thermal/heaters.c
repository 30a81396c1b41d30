/* The collection of heaters, sensors and fans: ownership, lookup, waiting
 * for temperatures, turning everything off and status. */
#include "thermal/heaters.h"

#include <math.h>   /* isnan */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp */

#include "core/error.h"   /* fs_error_set */
#include "core/reactor.h" /* fs_reactor_* */
#include "thermal/heaters_internal.h" /* struct fs_heaters */

struct fs_heaters *fs_heaters_create(struct fs_reactor *reactor, const struct fs_logger *log,
                                     struct fs_error *err)
{
    struct fs_heaters *h = calloc(1, sizeof(*h));
    if (!h) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    h->reactor = reactor;
    h->log = log;
    return h;
}

void fs_heaters_free(struct fs_heaters *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->heater_count; i++)
        fs_heater_free(h->heaters[i]);
    for (int i = 0; i < h->fan_count; i++)
        fs_fan_free(h->fans[i]);
    free(h);
}

struct fs_heater *fs_heaters_add_heater(struct fs_heaters *h, const struct fs_heater_params *p,
                                        struct fs_error *err)
{
    if (h->heater_count >= FS_HEATERS_MAX) {
        fs_error_set(err, "more than %d heaters and temperature sensors", FS_HEATERS_MAX);
        return NULL;
    }
    if (p->name && fs_heaters_lookup(h, p->name)) {
        fs_error_set(err, "a heater or sensor named '%s' exists already", p->name);
        return NULL;
    }
    struct fs_heater_params hp = *p;
    if (!hp.faults)
        hp.faults = h->faults;
    struct fs_heater *heater = fs_heater_new(h->reactor, h->log, &hp, err);
    if (!heater)
        return NULL;
    h->heaters[h->heater_count++] = heater;
    return heater;
}

struct fs_fan *fs_heaters_add_fan(struct fs_heaters *h, const struct fs_fan_params *p,
                                  struct fs_error *err)
{
    if (h->fan_count >= FS_FANS_MAX) {
        fs_error_set(err, "more than %d fans", FS_FANS_MAX);
        return NULL;
    }
    struct fs_fan *f = fs_fan_new(h->reactor, h->log, p, err);
    if (!f)
        return NULL;
    h->fans[h->fan_count++] = f;
    return f;
}

void fs_heaters_set_faults(struct fs_heaters *h, struct fs_faults *faults)
{
    h->faults = faults;
}

void fs_heaters_set_move_time_source(struct fs_heaters *h, fs_heaters_time_fn fn, void *arg)
{
    h->move_time_fn = fn;
    h->move_time_arg = arg;
}

struct fs_heater *fs_heaters_lookup(const struct fs_heaters *h, const char *name)
{
    for (int i = 0; i < h->heater_count; i++)
        if (!strcmp(fs_heater_name(h->heaters[i]), name))
            return h->heaters[i];
    return NULL;
}

struct fs_fan *fs_heaters_lookup_fan(const struct fs_heaters *h, const char *name)
{
    for (int i = 0; i < h->fan_count; i++)
        if (!strcmp(fs_fan_name(h->fans[i]), name))
            return h->fans[i];
    return NULL;
}

int fs_heaters_count(const struct fs_heaters *h) { return h->heater_count; }

struct fs_heater *fs_heaters_at(const struct fs_heaters *h, int i)
{
    return i >= 0 && i < h->heater_count ? h->heaters[i] : NULL;
}

struct fs_reactor *fs_heaters_reactor(const struct fs_heaters *h) { return h->reactor; }

/* ---- waiting ------------------------------------------------------------- */

struct wait_state {
    struct fs_heater *heater;
    double min_c, max_c;
    int need_heat; /* waiting for a target that was set: dropping it ends the wait */
};

static int wait_done(void *arg)
{
    const struct wait_state *w = arg;
    double temp, target;
    fs_heater_get_temp(w->heater, &temp, &target);
    if (fs_heater_fault(w->heater, NULL) || (w->need_heat && target <= 0.0))
        return 1;
    return !isnan(temp) && temp >= w->min_c && temp <= w->max_c;
}

int fs_heaters_wait(struct fs_heaters *h, struct fs_heater *heater, double min_c, double max_c,
                    double timeout_s, fs_heaters_report_fn report, void *report_arg,
                    struct fs_error *err)
{
    double target;
    fs_heater_get_temp(heater, NULL, &target);
    struct wait_state w = {heater, min_c, max_c, target > 0.0};
    double deadline = fs_reactor_now(h->reactor) + timeout_s;
    for (;;) {
        double step = fs_reactor_now(h->reactor) + FS_HEATERS_WAIT_REPORT_S;
        if (step > deadline)
            step = deadline;
        int done = fs_reactor_wait_for(h->reactor, wait_done, &w, step) == 0;
        const char *reason;
        if (fs_heater_fault(heater, &reason))
            return fs_error_set(err, "%s", reason);
        if (done) {
            fs_heater_get_temp(heater, NULL, &target);
            if (w.need_heat && target <= 0.0)
                return fs_error_set(err, "Heater %s was turned off while waiting",
                                    fs_heater_name(heater));
            return 0;
        }
        if (report)
            report(report_arg, h);
        if (fs_reactor_now(h->reactor) >= deadline)
            return fs_error_set(err, "%s: timed out after %.0f s waiting for %.1f..%.1f C",
                                fs_heater_name(heater), timeout_s, min_c, max_c);
    }
}

void fs_heaters_turn_off_all(struct fs_heaters *h)
{
    for (int i = 0; i < h->heater_count; i++)
        if (fs_heater_has_output(h->heaters[i]))
            fs_heater_set_target(h->heaters[i], 0.0, NULL);
}

/* ---- reporting ----------------------------------------------------------- */

/* M105's short names: T (T0, T1... for more extruders), B for the bed. */
static void short_name(const char *name, char *out, size_t cap)
{
    if (!strcmp(name, "extruder"))
        snprintf(out, cap, "T");
    else if (!strncmp(name, "extruder", 8))
        snprintf(out, cap, "T%s", name + 8);
    else if (!strcmp(name, "heater_bed"))
        snprintf(out, cap, "B");
    else
        snprintf(out, cap, "%s", name);
}

int fs_heaters_format_temps(const struct fs_heaters *h, char *out, int cap)
{
    int len = 0;
    if (cap > 0)
        out[0] = '\0';
    for (int i = 0; i < h->heater_count; i++) {
        double temp, target;
        fs_heater_get_temp(h->heaters[i], &temp, &target);
        char label[FS_HEATER_NAME_MAX + 2];
        short_name(fs_heater_name(h->heaters[i]), label, sizeof(label));
        int n = snprintf(len < cap ? out + len : NULL, len < cap ? (size_t)(cap - len) : 0,
                         "%s%s:%.1f /%.1f", len ? " " : "", label, isnan(temp) ? 0.0 : temp,
                         target);
        if (n < 0)
            return -1;
        len += n;
    }
    return len;
}

int fs_heaters_status(const struct fs_heaters *h, int i, struct fs_heater_status *out)
{
    const struct fs_heater *heater = fs_heaters_at(h, i);
    if (!heater)
        return -1;
    out->name = fs_heater_name(heater);
    fs_heater_get_temp(heater, &out->temperature_c, &out->target_c);
    out->power = fs_heater_get_power(heater);
    out->is_heater = fs_heater_has_output(heater);
    out->fault = fs_heater_fault(heater, NULL);
    return 0;
}
