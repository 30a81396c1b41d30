/* Faults in sequence, as a person meets them on a real slicer print in the
 * simulator: a fault that arrives while the job is already paused (by a
 * person or by another fault), a clear of one source while another is
 * still active, a cancel in a fault pause. Each test checks what the
 * person would check next: the heaters, RESUME, the print completing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON_Parse */
#include <math.h>        /* fabs */
#include <stdint.h>      /* uint64_t */
#include <stdio.h>       /* fopen, snprintf */
#include <string.h>      /* strstr */

#include "core/error.h"      /* struct fs_error */
#include "fault/fault.h"     /* struct fs_fault_record */
#include "fault_rig.h"       /* fault_rig_* */
#include "printer/printer.h" /* struct fs_printer */
#include "sim_host.h"        /* struct sim_host */
#include "sim_session.h"     /* sim_session_printer */
#include "thermal/heaters.h" /* fs_heaters_lookup */

#define GCODE "prusaslicer-cylinder20.gcode"

static double heater_target(struct fault_rig *r, const char *name)
{
    double temp, target;
    fs_heater_get_temp(fs_heaters_lookup(r->p->heaters, name), &temp, &target);
    return target;
}

static enum fs_job_state job_state(struct fault_rig *r)
{
    struct fs_job_status st;
    fs_job_get_status(r->p->job, &st);
    return st.state;
}

/* A person paused the print (heaters kept), then a halt came (all heaters
 * off). Once the halt is acknowledged and cleared, RESUME must bring the
 * heaters back to the print's targets before printing on: the halt made
 * the person's pause a fault pause. */
static void test_halt_during_a_person_pause_reheats_on_resume(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, NULL, 21);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    double hotend = heater_target(&r, "extruder"), bed = heater_target(&r, "heater_bed");
    assert_true(hotend > 0 && bed > 0);
    fault_rig_line(&r, "PAUSE");
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    fault_rig_line(&r, "FAULT_TEST SOURCE=toolhead KIND=timing_overrun");
    fault_rig_run_for(&r, 1.0);
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    /* The halt switched every heater off. */
    assert_true(heater_target(&r, "extruder") == 0.0);
    assert_true(heater_target(&r, "heater_bed") == 0.0);
    fault_rig_line(&r, "FAULT_ACK");
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=toolhead");
    fault_rig_line(&r, "RESUME");
    /* Not a cold continuation: RESUME heated back to the print's targets. */
    if (heater_target(&r, "extruder") != hotend || heater_target(&r, "heater_bed") != bed)
        fail_msg("after RESUME the extruder's target is %.1f (the print's %.1f), the bed's "
                 "%.1f (the print's %.1f)", heater_target(&r, "extruder"), hotend,
                 heater_target(&r, "heater_bed"), bed);
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    fault_rig_close(&r);
}

/* Two parts fault in one print: the runout sensor pauses it, then the
 * extruder's thermistor faults while it is paused (folded into the pause,
 * nothing moves again). Clearing one leaves RESUME refused naming the
 * other; clearing both resumes, and the print completes as the file says. */
static void test_second_fault_in_a_fault_pause_needs_its_own_clear(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[filament_switch_sensor runout]\nswitch_pin: ^toolboard:PA10\n", 22);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    fault_rig_line(&r, "FAULT_TEST SOURCE=\"filament_switch_sensor runout\" KIND=runout");
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_line(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open");
    fault_rig_run_for(&r, 1.0);
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    assert_true(heater_target(&r, "extruder") == 0.0);
    struct fs_error err;
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=\"filament_switch_sensor runout\"");
    const char *msg = fault_rig_line_refused(&r, "RESUME", &err);
    if (!strstr(msg, "extruder"))
        fail_msg("RESUME refused without naming the extruder: %s", msg);
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=extruder");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    fault_rig_close(&r);
}

/* A halt (timing overrun) while the print is already paused by a fault
 * and parked: after FAULT_ACK and both FAULT_CLEARs, RESUME heats, goes
 * back and the print completes as the file says. */
static void test_halt_during_a_fault_pause_resumes_to_the_end(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[fault_policy]\npark_x: 200\npark_y: 210\n", 23);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    double hotend = heater_target(&r, "extruder");
    fault_rig_line(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open");
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_line(&r, "FAULT_TEST SOURCE=toolhead KIND=timing_overrun");
    fault_rig_run_for(&r, 1.0);
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    struct fs_error err;
    fault_rig_line_refused(&r, "G1 X100 F3000", &err);
    fault_rig_line(&r, "FAULT_ACK");
    fault_rig_line(&r, "FAULT_CLEAR");
    fault_rig_line(&r, "RESUME");
    assert_true(heater_target(&r, "extruder") == hotend);
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    fault_rig_close(&r);
}

/* CANCEL_PRINT in a fault pause ends the job; once the part is cleared
 * the next print starts and completes. */
static void test_cancel_in_a_fault_pause_then_print_again(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, NULL, 24);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.2, 3000);
    fault_rig_line(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open");
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_line(&r, "CANCEL_PRINT");
    assert_int_equal(job_state(&r), FS_JOB_CANCELLED);
    struct fs_job_status st;
    fs_job_get_status(r.p->job, &st);
    assert_false(st.paused_by_fault);
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=extruder");
    fault_rig_line(&r, "G28");
    fault_rig_start_print(&r, path);
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    fault_rig_close(&r);
}

/* The journal's head_position Z and whether it says paused_by_fault. */
static double journal_head_z(struct fault_rig *r, int *paused_by_fault, char *state,
                             size_t state_cap)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/job.json", r->journal);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    double z = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "head_position"), 2)->valuedouble;
    *paused_by_fault = cJSON_IsTrue(cJSON_GetObjectItem(j, "paused_by_fault"));
    snprintf(state, state_cap, "%s", cJSON_GetObjectItem(j, "state")->valuestring);
    cJSON_Delete(j);
    return z;
}

/* An emergency stop while the print is paused by a fault and parked: the
 * job's journal keeps the pause (the line to run next, the state before
 * the park, the print's heater targets), and after the repair and a
 * restart JOB_RECOVER completes the print as the file says. */
static void test_shutdown_in_a_fault_pause_recovers_from_the_journal(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[fault_policy]\npark_x: 200\npark_y: 210\n", 25);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    fault_rig_line(&r, "FAULT_TEST SOURCE=extruder KIND=sensor_open");
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_line(&r, "M112");
    fault_rig_run_for(&r, 1.0);
    assert_true(r.p->is_shutdown);
    int by_fault;
    char jstate[32];
    double z = journal_head_z(&r, &by_fault, jstate, sizeof(jstate));
    assert_string_equal(jstate, "interrupted");
    assert_true(by_fault);
    fault_rig_line(&r, "FIRMWARE_RESTART");
    r.p = sim_session_printer(r.s);
    assert_false(r.p->is_shutdown);
    char line[96];
    fault_rig_line(&r, "G28 X Y");
    snprintf(line, sizeof(line), "SET_KINEMATIC_POSITION Z=%.4f", z);
    fault_rig_line(&r, line);
    fault_rig_line(&r, "JOB_RECOVER");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    fault_rig_close(&r);
}

static void overrun(void *arg)
{
    struct fault_rig *r = arg;
    fs_fault_raise(fs_faults_lookup(r->p->faults, "toolhead"), FS_FAULT_TIMING_OVERRUN,
                   "steps in the past (test)");
}

/* A halt (timing overrun) 50 ms after pause_line while the pause still
 * waits for the queued moves: the halt drops those moves, so the lines
 * they belonged to must run again after RESUME (as after any halt), not be
 * skipped because the job had just become paused. The print completes
 * with the file's extrusion. */
static void halt_while_a_pause_waits_for_its_moves(const char *pause_line, uint64_t seed)
{
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[fault_policy]\npark_x: 200\npark_y: 210\n", seed);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    struct fault_rig_at at;
    fault_rig_at(&r, &at, fault_rig_now(&r) + 0.05, overrun, &r);
    fault_rig_line(&r, pause_line);
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_run_for(&r, 1.0);
    fault_rig_print_faults(&r);
    assert_non_null(fault_rig_record(&r, "toolhead", "timing_overrun"));
    fault_rig_line(&r, "FAULT_ACK");
    fault_rig_line(&r, "FAULT_CLEAR");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    /* Nothing skipped; the line the motors stopped in ran again from its
     * start (at most one line's extrusion more). */
    struct gcode_expect expect;
    fault_rig_expect(path, &expect);
    cJSON *rep = sim_session_report(r.s);
    double extra = cJSON_GetObjectItem(rep, "extruded_mm")->valuedouble - expect.net_extrusion;
    cJSON_Delete(rep);
    if (!(extra > -0.01 && extra < 1.0))
        fail_msg("extruded %.4f mm more than the file commands", extra);
    fault_rig_close(&r);
}

/* The pause is a fault's (the extruder's sensor). */
static void test_halt_while_a_pause_waits_for_its_moves(void **state)
{
    (void)state;
    halt_while_a_pause_waits_for_its_moves("FAULT_TEST SOURCE=extruder KIND=sensor_open", 26);
}

/* The same for a person's PAUSE: the halt that came while PAUSE waited
 * for the queued moves decides where the print stands. */
static void test_halt_while_a_person_pause_waits_for_its_moves(void **state)
{
    (void)state;
    halt_while_a_pause_waits_for_its_moves("PAUSE", 27);
}

/* MCU_RECONNECT tried while the link is still cut fails and says why;
 * once the link is back it succeeds, a second one is refused (nothing to
 * do), and RESUME completes the print. */
static void test_repeated_mcu_reconnect(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, "[mcu toolboard]\non_fault: pause\n", 28);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    struct fault_rig_at at;
    struct fault_rig_cut cut = {&r, 30.0};
    fault_rig_at(&r, &at, fault_rig_now(&r) + 0.05, fault_rig_cut_toolboard, &cut);
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 120);
    fault_rig_run_for(&r, 6.0);
    fault_rig_print_faults(&r);
    struct fs_error err;
    print_message("while cut: %s\n",
                  fault_rig_line_refused(&r, "MCU_RECONNECT MCU=toolboard", &err));
    /* The refusal names what brings a lost board back, not a FAULT_CLEAR
     * that would be refused in turn. */
    const char *msg = fault_rig_line_refused(&r, "RESUME", &err);
    print_message("while cut: %s\n", msg);
    if (!strstr(msg, "MCU_RECONNECT MCU=toolboard"))
        fail_msg("RESUME's refusal does not say MCU_RECONNECT MCU=toolboard: %s", msg);
    fault_rig_run_for(&r, 30.0);
    fault_rig_line(&r, "MCU_RECONNECT MCU=toolboard");
    print_message("again: %s\n",
                  fault_rig_line_refused(&r, "MCU_RECONNECT MCU=toolboard", &err));
    fault_rig_print_faults(&r);
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    fault_rig_close(&r);
}

/* The owner chose on_fault: disable for the chamber: its sensor breaks,
 * the chamber is off and the print goes on. When the print is later
 * paused for another reason (here a person's PAUSE), RESUME must not be
 * refused because of the chamber, which cannot be cleared while it stays
 * broken: the job was meant to go on without it. */
static void test_a_disabled_part_does_not_block_resume(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, fault_rig_chamber_cfg, 29);
    fault_rig_line(&r, "SET_HEATER_TEMPERATURE HEATER=chamber TARGET=35");
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    struct fault_rig_at at;
    fault_rig_at(&r, &at, fault_rig_now(&r) + 0.05, fault_rig_open_chamber_sensor, &r);
    fault_rig_run_for(&r, 5.0);
    const struct fs_fault_record *rec =
        fault_rig_record(&r, "heater_generic chamber", "sensor_open");
    assert_non_null(rec);
    assert_int_equal(rec->action, FS_FAULT_DISABLE);
    assert_int_equal(job_state(&r), FS_JOB_PRINTING);
    fault_rig_line(&r, "PAUSE");
    struct fs_error err;
    fault_rig_line_refused(&r, "FAULT_CLEAR SOURCE=\"heater_generic chamber\"", &err);
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    /* Still latched: the chamber stays off until it is repaired. */
    assert_true(fault_rig_record(&r, "heater_generic chamber", "sensor_open")->active);
    fault_rig_close(&r);
}

/* Extruding cold at the console while nothing prints (a person pushing
 * filament before heating) is refused and recorded. Nothing was paused
 * and nothing is switched off, so nothing may stay latched: the same fault
 * in a later print must still pause that print (not be folded into the
 * old record), and RESUME must not be refused for it. */
static void test_a_console_cold_extrusion_does_not_latch(void **state)
{
    (void)state;
    char path[512];
    struct fault_rig r;
    fault_rig_open(&r, NULL, 30);
    fault_rig_run_for(&r, 2.0);
    struct fs_error err;
    print_message("console: %s\n", fault_rig_line_refused(&r, "G1 E5 F300", &err));
    const struct fs_fault_record *rec = fault_rig_record(&r, "toolhead", "cold_extrude");
    assert_non_null(rec);
    assert_false(rec->active);
    assert_int_equal(fs_faults_check_resume(r.p->faults, &err), 0);
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    fault_rig_line(&r, "FAULT_TEST SOURCE=toolhead KIND=cold_extrude");
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    assert_int_equal(fault_rig_record_count(&r, "toolhead", "cold_extrude"), 2);
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=toolhead");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    fault_rig_close(&r);
}

/* The same when the later pause is a fault's: RESUME heats the heaters
 * back to the print's targets, except the disabled one, which cannot be
 * heated and which the job was meant to go on without. */
static void test_a_disabled_part_does_not_block_a_fault_resume(void **state)
{
    (void)state;
    char path[512];
    char cfg[1024];
    snprintf(cfg, sizeof(cfg), "%s\n[filament_switch_sensor runout]\n"
             "switch_pin: ^toolboard:PA10\n", fault_rig_chamber_cfg);
    struct fault_rig r;
    fault_rig_open(&r, cfg, 31);
    fault_rig_line(&r, "SET_HEATER_TEMPERATURE HEATER=chamber TARGET=35");
    fault_rig_start_print(&r, fault_rig_gcode(GCODE, path, sizeof(path)));
    fault_rig_run_until_progress(&r, 0.3, 3000);
    struct fault_rig_at at;
    fault_rig_at(&r, &at, fault_rig_now(&r) + 0.05, fault_rig_open_chamber_sensor, &r);
    fault_rig_run_for(&r, 5.0);
    assert_int_equal(fault_rig_record(&r, "heater_generic chamber", "sensor_open")->action,
                     FS_FAULT_DISABLE);
    fault_rig_line(&r, "FAULT_TEST SOURCE=\"filament_switch_sensor runout\" KIND=runout");
    fault_rig_run_until_state(&r, FS_JOB_PAUSED, 30);
    fault_rig_line(&r, "FAULT_CLEAR SOURCE=\"filament_switch_sensor runout\"");
    fault_rig_line(&r, "RESUME");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 1);
    fault_rig_close(&r);
}

/* The file without its final M84, so that the job's own end waits for the
 * last moves. Returns the copy's path (in the rig's folder). */
static const char *copy_without_m84(struct fault_rig *r, const char *src, char *out, size_t cap)
{
    snprintf(out, cap, "%s/no-m84.gcode", r->dir);
    FILE *in = fopen(src, "r"), *o = fopen(out, "w");
    assert_non_null(in);
    assert_non_null(o);
    char line[4096];
    while (fgets(line, sizeof(line), in))
        if (strncmp(line, "M84", 3))
            fputs(line, o);
    fclose(in);
    fclose(o);
    return out;
}

/* Raises a timing overrun once the whole file has been read while the
 * job still prints (its end waits for the last moves). */
struct end_watch {
    struct fs_timer timer;
    struct fault_rig *r;
    int fired;
    void (*fn)(void *arg); /* NULL: a timing overrun */
};

static void emergency(void *arg)
{
    struct fault_rig *r = arg;
    fs_fault_raise(r->p->printer_fault_source, FS_FAULT_EMERGENCY_STOP, "M112 (test)");
}

static double overrun_at_the_end(struct fs_timer *t, double now)
{
    struct end_watch *w = (struct end_watch *)t;
    struct fs_job_status st;
    fs_job_get_status(w->r->p->job, &st);
    if (st.state == FS_JOB_PRINTING && st.position == st.size) {
        (w->fn ? w->fn : overrun)(w->r);
        w->fired = 1;
        return FS_NEVER;
    }
    return now + 0.001;
}

/* A halt while the job's end waits for the last moves: those moves were
 * dropped, so the print is not done; it pauses at the line the motors
 * stopped in, and RESUME (heating to the targets before that line, not
 * the end's M104 S0 read ahead) completes it as the file says. */
static void test_halt_while_the_end_waits_for_the_last_moves(void **state)
{
    (void)state;
    char orig[512], path[600];
    struct fault_rig r;
    fault_rig_open(&r, NULL, 32);
    copy_without_m84(&r, fault_rig_gcode(GCODE, orig, sizeof(orig)), path, sizeof(path));
    fault_rig_start_print(&r, path);
    fault_rig_run_until_progress(&r, 0.9, 3000);
    struct end_watch w = {.r = &r};
    fs_timer_init(&w.timer, overrun_at_the_end, &w);
    fs_reactor_timer_set(&sim_session_host(r.s)->reactor, &w.timer, fault_rig_now(&r));
    fault_rig_run_for(&r, 300.0);
    fs_reactor_timer_cancel(&sim_session_host(r.s)->reactor, &w.timer);
    assert_true(w.fired);
    fault_rig_print_faults(&r);
    assert_non_null(fault_rig_record(&r, "toolhead", "timing_overrun"));
    assert_int_equal(job_state(&r), FS_JOB_PAUSED);
    fault_rig_line(&r, "FAULT_ACK");
    fault_rig_line(&r, "FAULT_CLEAR");
    fault_rig_line(&r, "RESUME");
    
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    fault_rig_close(&r);
}

/* The same with a shutdown: the journal goes back to the line the motors
 * stopped in, with the heater targets before it (not the end's M104 S0
 * read ahead), so that JOB_RECOVER after the restart heats and completes
 * the print. */
static void test_shutdown_while_the_end_waits_keeps_the_targets(void **state)
{
    (void)state;
    char orig[512], path[600];
    struct fault_rig r;
    fault_rig_open(&r, NULL, 33);
    copy_without_m84(&r, fault_rig_gcode(GCODE, orig, sizeof(orig)), path, sizeof(path));
    fault_rig_start_print(&r, path);
    fault_rig_run_until_progress(&r, 0.9, 3000);
    struct end_watch w = {.r = &r, .fn = emergency};
    fs_timer_init(&w.timer, overrun_at_the_end, &w);
    fs_reactor_timer_set(&sim_session_host(r.s)->reactor, &w.timer, fault_rig_now(&r));
    fault_rig_run_for(&r, 300.0);
    fs_reactor_timer_cancel(&sim_session_host(r.s)->reactor, &w.timer);
    assert_true(w.fired);
    assert_true(r.p->is_shutdown);
    int by_fault;
    char jstate[32];
    double z = journal_head_z(&r, &by_fault, jstate, sizeof(jstate));
    assert_string_equal(jstate, "interrupted");
    fault_rig_line(&r, "FIRMWARE_RESTART");
    r.p = sim_session_printer(r.s);
    char line[96];
    fault_rig_line(&r, "G28 X Y");
    snprintf(line, sizeof(line), "SET_KINEMATIC_POSITION Z=%.4f", z);
    fault_rig_line(&r, line);
    fault_rig_line(&r, "JOB_RECOVER");
    fault_rig_run_until_state(&r, FS_JOB_COMPLETE, 3000);
    fault_rig_check_completed(&r, path, 0);
    fault_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halt_during_a_person_pause_reheats_on_resume),
        cmocka_unit_test(test_second_fault_in_a_fault_pause_needs_its_own_clear),
        cmocka_unit_test(test_halt_during_a_fault_pause_resumes_to_the_end),
        cmocka_unit_test(test_cancel_in_a_fault_pause_then_print_again),
        cmocka_unit_test(test_shutdown_in_a_fault_pause_recovers_from_the_journal),
        cmocka_unit_test(test_halt_while_a_pause_waits_for_its_moves),
        cmocka_unit_test(test_halt_while_a_person_pause_waits_for_its_moves),
        cmocka_unit_test(test_repeated_mcu_reconnect),
        cmocka_unit_test(test_a_disabled_part_does_not_block_resume),
        cmocka_unit_test(test_a_disabled_part_does_not_block_a_fault_resume),
        cmocka_unit_test(test_a_console_cold_extrusion_does_not_latch),
        cmocka_unit_test(test_halt_while_the_end_waits_for_the_last_moves),
        cmocka_unit_test(test_shutdown_while_the_end_waits_keeps_the_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
