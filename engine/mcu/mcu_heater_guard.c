/* The per-heater guard seen from the host (see mcu_heater_guard.h): finds
 * out from the MCU's dictionary whether the firmware offers it, configures
 * and arms it, widens the analog input's whole-MCU range check when it does,
 * and hands trip reports to the heater.
 *
 * Order matters and comes from registration order: the guard is made after
 * its analog input and output, so its build-config callback runs after
 * theirs (their oids are known) and its configured callback after the
 * analog input's query (the sampling has started when the guard arms). */
#include "mcu/mcu_heater_guard.h"

#include <math.h>   /* floor, ceil */
#include <stdint.h> /* uint32_t, uint64_t */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */

#include "core/error.h"     /* fs_error_set */
#include "mcu/mcu.h"        /* fs_mcu_* */
#include "mcu/mcu_adc.h"    /* fs_mcu_adc_oid, fs_mcu_adc_full_scale, fs_mcu_adc_set_range */
#include "mcu/mcu_output.h" /* fs_mcu_output_oid, fs_mcu_output_mcu */

#define GUARD_CONFIG_FORMAT "config_heater_guard oid=%c adc_oid=%c out_oid=%c"
#define GUARD_ARM_FORMAT "heater_guard_arm oid=%c min_value=%hu max_value=%hu"
#define GUARD_TRIPPED_FORMAT "heater_guard_tripped oid=%c value=%hu clock=%u"

struct fs_mcu_heater_guard {
    struct fs_mcu *mcu; /* NULL: adc and output on different MCUs */
    struct fs_mcu_adc *adc;
    struct fs_mcu_output *out;
    double range_min, range_max;
    fs_mcu_heater_guard_fn on_trip;
    void *arg;
    int oid;
    int active;
    int tripped;
};

static void on_tripped(void *arg, const struct fs_msg *msg, double receive_time)
{
    (void)receive_time;
    struct fs_mcu_heater_guard *g = arg;
    double full = fs_mcu_adc_full_scale(g->adc);
    double value = full > 0.0 ? (double)fs_msg_get(msg, "value", 0) / full : 0.0;
    uint64_t clock = fs_mcu_clock32_to_64(g->mcu, (uint32_t)fs_msg_get(msg, "clock", 0));
    g->tripped = 1;
    if (g->on_trip)
        g->on_trip(g->arg, fs_mcu_clock_to_print_time(g->mcu, clock), value);
}

static int build_config(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_mcu_heater_guard *g = arg;
    /* Absence is the reference firmware, not an error: the probe's error
     * text is not wanted. */
    struct fs_error ignored;
    if (!fs_mcu_lookup_command(m, GUARD_CONFIG_FORMAT, &ignored) ||
        !fs_mcu_lookup_command(m, GUARD_ARM_FORMAT, &ignored) ||
        !fs_msgproto_lookup(fs_mcu_msgproto(m), GUARD_TRIPPED_FORMAT))
        return 0;
    if (fs_mcu_adc_oid(g->adc) < 0 || fs_mcu_output_oid(g->out) < 0)
        return fs_error_set(err, "mcu '%s': heater guard made before its analog input or output",
                            fs_mcu_name(m));
    g->oid = fs_mcu_create_oid(m);
    if (fs_mcu_add_config_cmd(m, err, "config_heater_guard oid=%d adc_oid=%d out_oid=%d", g->oid,
                              fs_mcu_adc_oid(g->adc), fs_mcu_output_oid(g->out)) < 0 ||
        fs_mcu_register_response(m, GUARD_TRIPPED_FORMAT, g->oid, on_tripped, g, err) < 0)
        return -1;
    g->active = 1;
    /* The guard takes the whole-MCU check's place, per heater. */
    fs_mcu_adc_set_range(g->adc, 0.0, 1.0, 1);
    return 0;
}

static int send_arm(struct fs_mcu_heater_guard *g, struct fs_error *err)
{
    double full = fs_mcu_adc_full_scale(g->adc);
    long lo = (long)floor(g->range_min * full), hi = (long)ceil(g->range_max * full);
    lo = lo < 0 ? 0 : lo > 0xffff ? 0xffff : lo;
    hi = hi < 0 ? 0 : hi > 0xffff ? 0xffff : hi;
    char text[128];
    snprintf(text, sizeof(text), "heater_guard_arm oid=%d min_value=%ld max_value=%ld", g->oid,
             lo, hi);
    if (fs_mcu_send_text(g->mcu, text, err) < 0)
        return -1;
    g->tripped = 0;
    return 0;
}

/* After every configure, a restart included: a fresh guard starts unarmed. */
static int on_configured(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    (void)m;
    struct fs_mcu_heater_guard *g = arg;
    return g->active ? send_arm(g, err) : 0;
}

struct fs_mcu_heater_guard *fs_mcu_heater_guard_new(struct fs_mcu_adc *adc,
                                                    struct fs_mcu_output *out,
                                                    double range_min, double range_max,
                                                    fs_mcu_heater_guard_fn on_trip, void *arg,
                                                    struct fs_error *err)
{
    struct fs_mcu_heater_guard *g = calloc(1, sizeof(*g));
    if (!g) {
        fs_error_set(err, "out of memory");
        return NULL;
    }
    g->adc = adc;
    g->out = out;
    g->range_min = range_min;
    g->range_max = range_max;
    g->on_trip = on_trip;
    g->arg = arg;
    g->oid = -1;
    if (!adc || !out || fs_mcu_adc_mcu(adc) != fs_mcu_output_mcu(out))
        return g; /* a sensor on another board: nothing local can cut this heater */
    g->mcu = fs_mcu_adc_mcu(adc);
    if (fs_mcu_on_build_config(g->mcu, build_config, g, err) < 0 ||
        fs_mcu_on_configured(g->mcu, on_configured, g, err) < 0) {
        free(g);
        return NULL;
    }
    return g;
}

void fs_mcu_heater_guard_free(struct fs_mcu_heater_guard *g) { free(g); }

int fs_mcu_heater_guard_is_active(const struct fs_mcu_heater_guard *g)
{
    return g && g->active;
}

int fs_mcu_heater_guard_is_tripped(const struct fs_mcu_heater_guard *g)
{
    return g && g->active && g->tripped;
}

int fs_mcu_heater_guard_rearm(struct fs_mcu_heater_guard *g, struct fs_error *err)
{
    if (!g || !g->active)
        return 0;
    return send_arm(g, err);
}
