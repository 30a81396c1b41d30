/* Benchmark: how fast a heater fault is acted on, over many randomly timed
 * faults on the demo printer with failsoft's firmware in the loop.
 *
 * Each fault: the hotend holds 200 C, its thermistor opens at a random
 * moment (uniform over two report periods, so it lands anywhere in the
 * ADC's cycle), the fault is handled (policy disable), the thermistor is
 * repaired, FAULT_CLEAR, the target is set again, and the next one comes.
 * Three figures per fault, all in simulated time, which is exact:
 *   - onset -> pin off: from the thermistor opening to the heater pin off
 *     for good (bounded by when the ADC next samples: one report period);
 *   - detecting sample -> pin off: from the last conversion of the first
 *     reading that is out of range (the one the firmware guard judges) to
 *     the pin off. Goal: within one ADC sample period (the guard acts in
 *     the same timer event, so 0 unless the pin was on);
 *   - deciding reading -> action: from the last conversion of the reading
 *     that pushed the fault over its tolerance to the fault module raising
 *     it (the action starts inside that call). Goal: within one report
 *     period.
 * Pin changes come from the world's trace (exact to the nanosecond); the
 * readings' times follow from the ADC schedule, anchored on the host's
 * own reading times.
 *
 * The hotend's output is refreshed right after a reading, so with a PWM
 * cycle that divides the report period (the demo's 0.1 s) every reading
 * falls at the same PWM phase and the guard always meets a pin about to
 * turn on; the default 0.0137 s cycle spreads the phases so that the
 * figures include guards cutting a pin that is on. A pin the PWM had off
 * at the detecting sample counts as off at that sample (it never comes on
 * again: pin_on_after_detecting_sample); guard_writes_seen_at_detecting_
 * sample counts the faults where a write of the pin to off was found in
 * the trace within a conversion of the computed sample time. */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>   /* floor, fmax */
#include <stdio.h>  /* open_memstream, snprintf */
#include <stdlib.h> /* free, qsort, mkdtemp */
#include <string.h> /* strstr */
#include <unistd.h> /* rmdir */

#include "bench_common.h"    /* bench_parse_options, bench_report_* */
#include "core/error.h"      /* struct fs_error */
#include "core/reactor.h"    /* fs_reactor_pause */
#include "fault/fault.h"     /* fs_faults_record_* */
#include "mcu/mcu.h"         /* fs_mcu_estimated_print_time */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "sim_inject.h"      /* sim_inject_thermistor */
#include "sim_printer.h"     /* sim_printer_heater */
#include "sim_rng.h"         /* sim_rng */
#include "sim_session.h"     /* sim_session_* */
#include "sim_world.h"       /* sim_world_trace_* */
#include "thermal/heaters.h" /* fs_heaters_lookup */

/* The demo printer's hotend: a reading sums 8 conversions 1 ms apart,
 * every 0.3 s; its heater is PA1 on the toolboard. */
#define REPORT_S 0.3
#define CONVERSIONS 8
#define CONVERSION_S 0.001
#define HEATER_PIN_TRACE "toolboard pin 1="

struct figures {
    double *onset_to_off, *sample_to_off, *decide_to_action;
    int count;
};

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n)
{
    char key[96];
    qsort(v, (size_t)n, sizeof(*v), compare);
    snprintf(key, sizeof(key), "%s_median_ms", name);
    bench_report_double(key, v[n / 2] * 1e3, 3);
    snprintf(key, sizeof(key), "%s_p99_ms", name);
    bench_report_double(key, v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] * 1e3, 3);
    snprintf(key, sizeof(key), "%s_max_ms", name);
    bench_report_double(key, v[n - 1] * 1e3, 3);
}

/* The world time of a print time on the toolboard: the print time back to
 * the MCU's own clock (the inverse of the conversion the host dated the
 * reading with, so the clock is the one the MCU reported), then the clock
 * to world time through the simulated MCU's exact clock. */
static double world_time_of(struct sim_session *s, struct fs_mcu *m, double print_time)
{
    struct sim_world *w = sim_session_host(s)->world;
    uint64_t clock = fs_mcu_print_time_to_clock(m, print_time);
    uint64_t now_clock = sim_world_mcu_clock(w, fs_mcu_name(m));
    double now = sim_world_now_ns(w) * 1e-9;
    return now - ((double)now_clock - (double)clock) / fs_mcu_clock_freq(m);
}

/* The time the pin went off for good around the detecting sample at
 * `sample`: the last 1->0 change from a conversion period before it (the
 * host dates a reading from the MCU's schedule, a few microseconds off the
 * simulated conversion), or `sample` itself when it was already off. */
static double pin_off_time(const char *trace, double sample, int *was_on_after, int *cut_at)
{
    double off = sample, after = sample - CONVERSION_S;
    *was_on_after = 0;
    *cut_at = 0;
    for (const char *line = trace; line && *line;) {
        const char *end = strchr(line, '\n');
        const char *hit = strstr(line, HEATER_PIN_TRACE);
        if (hit && (!end || hit < end)) {
            double t = strtod(line, NULL);
            int level = hit[strlen(HEATER_PIN_TRACE)] == '1';
            if (t >= sample + CONVERSION_S && level)
                *was_on_after = 1;
            if (!level && t >= after)
                off = t;
            /* The guard's own write of the pin (it writes off even when
             * the PWM had it off already), within a conversion of the
             * detecting sample. */
            if (!level && fabs(t - sample) < CONVERSION_S)
                *cut_at = 1;
        }
        line = end ? end + 1 : NULL;
    }
    return off;
}

static int set_sensor(struct sim_session *s, int plant, enum sim_thermistor_fault_kind kind,
                      struct fs_error *err)
{
    struct sim_thermistor_fault f = {.kind = kind};
    return sim_inject_thermistor(sim_session_host(s)->world, plant, &f, err);
}

static const struct fs_fault_record *newest_record(struct fs_printer *p, unsigned long after_id)
{
    int n = fs_faults_record_count(p->faults);
    for (int i = n - 1; i >= 0; i--) {
        const struct fs_fault_record *rec = fs_faults_record_at(p->faults, i);
        if (rec->id > after_id && rec->kind == FS_FAULT_SENSOR_OPEN)
            return rec;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t faults = 1000, seed = 1;
    double pwm_cycle = 0.0137;
    const struct bench_option options[] = {
        {"--faults", BENCH_OPTION_U64, &faults, "faults to inject (1000)"},
        {"--seed", BENCH_OPTION_U64, &seed, "world and timing seed (1)"},
        {"--pwm-cycle", BENCH_OPTION_DOUBLE, &pwm_cycle,
         "the hotend's pwm_cycle_time (0.0137 s: not a divisor of the 0.3 s report period, "
         "so the detecting sample meets the pin in every phase)"},
    };
    int rc = bench_parse_options(argc, argv, options, 3);
    if (rc)
        return rc < 0 ? 2 : 0;
    char dir[] = "/tmp/failsoft-bench-XXXXXX", config[128];
    if (!mkdtemp(dir))
        return 2;
    snprintf(config, sizeof(config), "%s/printer.cfg", dir);
    FILE *f = fopen(config, "w");
    if (!f)
        return 2;
    fprintf(f, "[include %s/scenarios/configs/demo_cartesian.cfg]\n\n"
               "[extruder]\non_sensor_open: disable\nfault_tolerance: 1.0\n"
               "pwm_cycle_time: %.4f\n",
            BENCH_SOURCE_DIR, pwm_cycle);
    fclose(f);

    struct fs_error err = {{0}};
    struct sim_session *s = sim_session_open(config, seed, NULL, &err);
    if (!s) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct fs_printer *p = sim_session_printer(s);
    struct sim_world *w = sim_session_host(s)->world;
    struct fs_reactor *reactor = &sim_session_host(s)->reactor;
    struct fs_heater *hotend = fs_heaters_lookup(p->heaters, "extruder");
    struct fs_mcu *toolboard = fs_printer_mcu(p, "toolboard");
    int plant = sim_printer_heater(sim_session_plant(s), "extruder");
    struct sim_rng rng;
    sim_rng_seed(&rng, seed ^ 0x5eedfa17u);
    if (sim_session_run_line(s, "M109 S200", &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }

    struct figures fig = {calloc(faults, sizeof(double)), calloc(faults, sizeof(double)),
                          calloc(faults, sizeof(double)), 0};
    unsigned long last_id = 0;
    int missed = 0, on_after_trip = 0, guard_writes = 0;
    double wall0 = bench_wall_seconds(), sim0 = sim_session_now(s);
    for (uint64_t i = 0; i < faults; i++) {
        /* A random moment inside the next two report periods. */
        double onset = sim_session_now(s) + 0.5 + 2.0 * REPORT_S * sim_rng_unit(&rng);
        fs_reactor_pause(reactor, onset);
        /* The reading schedule, anchored on the latest reading: readings
         * end at last + k * REPORT_S (print time). */
        double last_pt = fs_heater_last_reading_time(hotend);
        char *trace = NULL;
        size_t trace_len = 0;
        FILE *mem = open_memstream(&trace, &trace_len);
        sim_world_trace_start(w, mem);
        double onset_pt = fs_mcu_estimated_print_time(toolboard, sim_session_now(s));
        if (set_sensor(s, plant, SIM_THERMISTOR_OPEN, &err) < 0)
            break;
        const struct fs_fault_record *rec = NULL;
        double deadline = onset + 5.0;
        while (!(rec = newest_record(p, last_id)) && sim_session_now(s) < deadline)
            fs_reactor_pause(reactor, sim_session_now(s) + 0.01);
        fs_reactor_pause(reactor, sim_session_now(s) + 0.2);
        sim_world_trace_stop(w);
        fclose(mem);
        if (!rec) {
            missed++;
            free(trace);
            break;
        }
        last_id = rec->id;
        /* The first reading whose every conversion came after the onset is
         * the first one out of range (a partly open sum still reads in
         * range); it ends 7 ms after it starts. */
        double k = ceil((onset_pt - (last_pt - (CONVERSIONS - 1) * CONVERSION_S)) / REPORT_S);
        double first_bad_pt = last_pt + k * REPORT_S;
        double first_bad = world_time_of(s, toolboard, first_bad_pt);
        /* The deciding reading: the last one to end before the raise. */
        double raise_pt = fs_mcu_estimated_print_time(toolboard, rec->time);
        double decide_pt = last_pt + floor((raise_pt - last_pt) / REPORT_S) * REPORT_S;
        double decide = world_time_of(s, toolboard, decide_pt);
        int was_on, cut;
        double off = pin_off_time(trace, first_bad, &was_on, &cut);
        on_after_trip += was_on;
        guard_writes += cut;
        free(trace);
        fig.onset_to_off[fig.count] = off - onset;
        fig.sample_to_off[fig.count] = off - first_bad;
        fig.decide_to_action[fig.count] = rec->time - decide;
        fig.count++;

        if (set_sensor(s, plant, SIM_THERMISTOR_HEALTHY, &err) < 0)
            break;
        fs_reactor_pause(reactor, sim_session_now(s) + 2 * REPORT_S);
        if (sim_session_run_line(s, "FAULT_CLEAR SOURCE=extruder", &err) < 0 ||
            sim_session_run_line(s, "M104 S200", &err) < 0)
            break;
    }
    double wall = bench_wall_seconds() - wall0, sim = sim_session_now(s) - sim0;
    if (fig.count < (int)faults) {
        fprintf(stderr, "stopped after %d faults: %s%s\n", fig.count,
                missed ? "a fault was not raised within 5 s " : "", err.msg);
        bench_report_text("result", "FAILED");
        return 1;
    }
    bench_report_u64("faults", (uint64_t)fig.count);
    bench_report_double("sim_s", sim, 1);
    bench_report_double("wall_s", wall, 3);
    report("onset_to_pin_off", fig.onset_to_off, fig.count);
    bench_report_double("onset_to_pin_off_min_ms", fig.onset_to_off[0] * 1e3, 3);
    report("detecting_sample_to_pin_off", fig.sample_to_off, fig.count);
    report("deciding_reading_to_action", fig.decide_to_action, fig.count);
    bench_report_double("detecting_sample_to_pin_off_min_ms", fig.sample_to_off[0] * 1e3, 3);
    bench_report_u64("pin_on_after_detecting_sample", (uint64_t)on_after_trip);
    bench_report_u64("guard_writes_seen_at_detecting_sample", (uint64_t)guard_writes);
    qsort(fig.sample_to_off, (size_t)fig.count, sizeof(double), compare);
    qsort(fig.decide_to_action, (size_t)fig.count, sizeof(double), compare);
    int ok = fabs(fig.sample_to_off[0]) <= CONVERSION_S &&
             fabs(fig.sample_to_off[fig.count - 1]) <= CONVERSION_S && on_after_trip == 0 &&
             fig.decide_to_action[fig.count - 1] <= REPORT_S;
    bench_report_text("goal_pin_off_within_one_sample_period", ok ? "met" : "missed");
    bench_report_text("result", ok ? "ok" : "FAILED");
    sim_session_close(s);
    free(fig.onset_to_off);
    free(fig.sample_to_off);
    free(fig.decide_to_action);
    remove(config);
    rmdir(dir);
    return ok ? 0 : 1;
}
