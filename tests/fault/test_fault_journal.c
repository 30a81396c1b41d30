/* The fault journal: each fault leaves one JSON line (evidence, policy,
 * actions carried out, position validity per axis, capsule name) and a
 * capsule that is complete JSON with the configuration, the states and the
 * last seconds of history; a crash between writing and renaming never
 * leaves half a file under a final name; ids go on across runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h> /* cJSON_* */
#include <dirent.h>      /* opendir */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* free */
#include <string.h>      /* strstr */

#include "core/error.h"           /* struct fs_error */
#include "fault/fault.h"          /* fs_faults_* */
#include "core/atomic_file.h" /* fs_atomic_write_parts (crash simulation) */
#include "fault_test_util.h"

static const char *const config_text =
    "[fault_policy]\njournal_path: journal\ncapsule_seconds: 5\n"
    "[extruder]\n[tmc2209 stepper_z]\n";

static unsigned homed_xyz(void *arg) { return 7; }
static int printing(void *arg) { return 1; }
static void printer_state(void *arg, struct cJSON *obj)
{
    cJSON_AddStringToObject(obj, "job", "printing benchy.gcode");
}
static void heater_state(void *arg, struct cJSON *obj)
{
    cJSON_AddNumberToObject(obj, "temperature", -14.2);
}
static unsigned z_lost(void *arg, enum fs_fault_kind kind) { return FS_FAULT_AXIS_Z; }

struct rig {
    struct fake_clock clock;
    struct cfg_fixture fx;
    struct fs_fault_policy_config pc;
    struct fs_faults *f;
    struct fs_fault_source *extruder, *driver;
    char journal[256];
};

static void rig_open(struct rig *r)
{
    struct fs_error err = {{0}};
    r->f = fs_faults_new(&r->clock.reactor, NULL, &r->pc, &err);
    assert_non_null(r->f);
    struct fs_fault_actions a = {
        .homed_axes = homed_xyz, .job_active = printing, .describe = printer_state};
    fs_faults_set_actions(r->f, &a);
    fs_faults_set_config_text(r->f, r->fx.path, config_text);
    struct fs_fault_source_ops heater = {.describe = heater_state};
    struct fs_fault_source_ops driver = {.untrusted_axes = z_lost};
    r->extruder = fs_faults_add_source(r->f, "extruder", FS_FAULT_CLASS_HEATER, 0,
                                       fs_config_get_section(r->fx.cfg, "extruder"), &heater,
                                       NULL, &err);
    r->driver = fs_faults_add_source(r->f, "tmc2209 stepper_z", FS_FAULT_CLASS_DRIVER,
                                     FS_FAULT_SOURCE_AXIS_Z,
                                     fs_config_get_section(r->fx.cfg, "tmc2209 stepper_z"),
                                     &driver, NULL, &err);
    assert_non_null(r->extruder);
    assert_non_null(r->driver);
}

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    fake_clock_init(&r->clock);
    r->clock.now = 50.0;
    cfg_fixture_load(&r->fx, config_text);
    struct fs_error err = {{0}};
    if (fs_fault_policy_read(r->fx.cfg, &r->pc, &err) < 0)
        fail_msg("%s", err.msg);
    snprintf(r->journal, sizeof(r->journal), "%s/journal", r->fx.dir);
    assert_string_equal(r->pc.journal_path, r->journal);
    rig_open(r);
}

static void rig_free(struct rig *r)
{
    fs_faults_free(r->f);
    remove_folder(r->journal);
    cfg_fixture_free(&r->fx);
    fake_clock_free(&r->clock);
}

struct lines {
    cJSON *entries[16];
    int count;
};

static int collect(void *arg, const struct cJSON *entry)
{
    struct lines *l = arg;
    if (l->count < 16)
        l->entries[l->count++] = cJSON_Duplicate(entry, 1);
    return 0;
}

static void lines_free(struct lines *l)
{
    for (int i = 0; i < l->count; i++)
        cJSON_Delete(l->entries[i]);
    l->count = 0;
}

static const char *s_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static int bool_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsBool(v));
    return cJSON_IsTrue(v);
}

static cJSON *read_json_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    if (!j)
        fail_msg("%s is not complete JSON", path);
    return j;
}

static void test_each_fault_writes_a_line_and_a_capsule(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    for (int i = 0; i < 20; i++) {
        fs_faults_note_sample(r.f, "extruder", 40.0 + i, 210.0 - i);
        double pos[4] = {10.0 + i, 20.0, 0.4, 100.0 + i};
        fs_faults_note_position(r.f, 40.0 + i, pos);
    }
    fs_faults_note_command(r.f, 49.5, "G1 X30 E101");
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "reads %.1f C", -14.2);
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "again");
    r.clock.now = 51.0;
    fs_fault_raise(r.driver, FS_FAULT_DRIVER_ERROR, "GSTAT uv_cp");
    /* files are written by the main loop, not inside the raise */
    struct lines l = {0};
    struct fs_error err = {{0}};
    assert_int_equal(fs_fault_journal_for_each(r.journal, collect, &l, &err), 0);
    assert_int_equal(l.count, 0);
    fs_faults_run_deferred(r.f);
    assert_int_equal(fs_fault_journal_for_each(r.journal, collect, &l, &err), 0);
    assert_int_equal(l.count, 2);

    /* most severe first: the halt of Z's driver, then the extruder's pause */
    const cJSON *halt = l.entries[0], *pause = l.entries[1];
    assert_string_equal(s_of(halt, "source"), "tmc2209 stepper_z");
    assert_string_equal(s_of(halt, "action"), "halt");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(halt, "position_valid");
    assert_true(bool_of(pv, "x") && bool_of(pv, "y") && !bool_of(pv, "z"));

    assert_string_equal(s_of(pause, "source"), "extruder");
    assert_string_equal(s_of(pause, "kind"), "sensor_open");
    assert_string_equal(s_of(pause, "evidence"), "reads -14.2 C");
    assert_string_equal(s_of(pause, "policy"), "pause");
    assert_string_equal(s_of(pause, "action"), "pause");
    assert_false(bool_of(pause, "escalated"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pause, "folded")->valueint, 1);
    assert_true(cJSON_GetObjectItemCaseSensitive(pause, "time")->valuedouble == 50.0);
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(pause, "actions");
    assert_int_equal(cJSON_GetArraySize(acts), 2);
    assert_string_equal(cJSON_GetArrayItem(acts, 0)->valuestring, "disable");
    assert_string_equal(cJSON_GetArrayItem(acts, 1)->valuestring, "pause");
    pv = cJSON_GetObjectItemCaseSensitive(pause, "position_valid");
    assert_true(bool_of(pv, "x") && bool_of(pv, "y") && bool_of(pv, "z"));
    char capsule_name[64];
    snprintf(capsule_name, sizeof(capsule_name), "fault-%d-sensor_open.json",
             cJSON_GetObjectItemCaseSensitive(pause, "id")->valueint);
    assert_string_equal(s_of(pause, "capsule"), capsule_name);
    assert_string_equal(fs_faults_record_at(r.f, 0)->capsule, capsule_name);

    char path[512];
    snprintf(path, sizeof(path), "%s/%s", r.journal, capsule_name);
    cJSON *cap = read_json_file(path);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cap, "config");
    assert_string_equal(s_of(cfg, "text"), config_text);
    assert_string_equal(s_of(cJSON_GetObjectItemCaseSensitive(cap, "printer"), "job"),
                        "printing benchy.gcode");
    assert_true(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cap, "source"),
                                                 "temperature")
                    ->valuedouble == -14.2);
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(cap, "history");
    /* capsule_seconds 5 before t=50: samples at 45..50 (the one at 59 is
     * after the fault, those before 45 too old) */
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(hist, "samples");
    assert_int_equal(cJSON_GetArraySize(samples), 6);
    assert_true(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(samples, 0), "time")
                    ->valuedouble == 45.0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(hist, "positions")), 6);
    const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(hist, "commands");
    assert_int_equal(cJSON_GetArraySize(cmds), 1);
    assert_string_equal(s_of(cJSON_GetArrayItem(cmds, 0), "line"), "G1 X30 E101");
    assert_string_equal(s_of(cJSON_GetObjectItemCaseSensitive(cap, "fault"), "evidence"),
                        "reads -14.2 C");
    cJSON_Delete(cap);
    lines_free(&l);
    rig_free(&r);
}

static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            n++;
    closedir(d);
    return n;
}

static void test_crash_before_rename_leaves_no_half_file(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "first");
    fs_faults_run_deferred(r.f);
    char path[512];
    snprintf(path, sizeof(path), "%s/faults.jsonl", r.journal);
    cJSON *before = NULL;
    {
        struct lines l = {0};
        struct fs_error err = {{0}};
        assert_int_equal(fs_fault_journal_for_each(r.journal, collect, &l, &err), 0);
        assert_int_equal(l.count, 1);
        before = cJSON_Duplicate(l.entries[0], 1);
        lines_free(&l);
    }
    /* The writer stops after writing half of a new journal to its temp
     * file, as a crash would: the final name still holds the old, whole
     * journal, and a capsule that was never renamed does not exist. */
    const char *half = "{\"id\":2,\"source\":\"extr";
    const char *parts[1] = {half};
    size_t lens[1] = {strlen(half)};
    struct fs_error err = {{0}};
    assert_int_equal(fs_atomic_write_parts(r.journal, "faults.jsonl", parts, lens, 1, 1,
                                                 &err),
                     0);
    assert_int_equal(fs_atomic_write_parts(r.journal, "fault-2-runaway.json", parts, lens,
                                                 1, 1, &err),
                     0);
    assert_int_equal(count_files(r.journal, ".faults.jsonl."), 1);
    assert_int_equal(count_files(r.journal, "fault-2-"), 0);
    struct lines l = {0};
    assert_int_equal(fs_fault_journal_for_each(r.journal, collect, &l, &err), 0);
    assert_int_equal(l.count, 1);
    assert_true(cJSON_Compare(l.entries[0], before, 1));
    lines_free(&l);

    /* The next fault is written whole next to the leftover temp file. */
    fs_fault_raise(r.extruder, FS_FAULT_RUNAWAY, "second");
    fs_faults_run_deferred(r.f);
    assert_int_equal(fs_fault_journal_for_each(r.journal, collect, &l, &err), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(s_of(l.entries[1], "evidence"), "second");
    lines_free(&l);
    cJSON_Delete(before);
    rig_free(&r);
}

static void test_ids_go_on_across_runs(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "run 1");
    fs_faults_run_deferred(r.f);
    unsigned long first = fs_faults_record_at(r.f, 0)->id;
    /* a restart: a new fault module on the same journal */
    fs_faults_free(r.f);
    rig_open(&r);
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "run 2");
    fs_faults_run_deferred(r.f);
    assert_int_equal(fs_faults_record_at(r.f, 0)->id, first + 1);
    assert_int_equal(count_files(r.journal, "fault-"), 2);
    rig_free(&r);
}

static void test_unwritable_journal_is_reported_not_fatal(void **state)
{
    (void)state;
    struct rig r;
    memset(&r, 0, sizeof(r));
    fake_clock_init(&r.clock);
    cfg_fixture_load(&r.fx, "[extruder]\n");
    struct fs_error err = {{0}};
    assert_int_equal(fs_fault_policy_read(r.fx.cfg, &r.pc, &err), 0);
    /* a regular file where the folder should be */
    snprintf(r.pc.journal_path, sizeof(r.pc.journal_path), "%s", r.fx.path);
    r.f = fs_faults_new(&r.clock.reactor, NULL, &r.pc, &err);
    assert_non_null(r.f);
    struct fs_fault_source *s =
        fs_faults_add_source(r.f, "extruder", FS_FAULT_CLASS_HEATER, 0, NULL, NULL, NULL, &err);
    fs_fault_raise(s, FS_FAULT_SENSOR_OPEN, "x");
    fs_faults_run_deferred(r.f);
    assert_int_equal(fs_faults_record_count(r.f), 1);
    assert_string_equal(fs_faults_record_at(r.f, 0)->capsule, "");
    fs_faults_free(r.f);
    cfg_fixture_free(&r.fx);
    fake_clock_free(&r.clock);
}

/* A part that faults now and then for months (a flaky sensor glitching
 * once a minute, a driver warning every hour) must not fill the disk with
 * capsules: the newest are kept, older ones go (the journal's lines stay,
 * and the journal itself rotates). */
static void test_capsules_do_not_grow_without_bound(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    enum { FAULTS = 250 };
    for (int i = 0; i < FAULTS; i++) {
        /* Far apart: no folding, no escalation; each is its own fault. */
        r.clock.now += 120.0;
        fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "fault %d", i);
        fs_faults_run_deferred(r.f);
        struct fs_error err = {{0}};
        assert_int_equal(fs_faults_clear(r.f, r.extruder, &err), 0);
    }
    int capsules = count_files(r.journal, "fault-");
    print_message("%d faults left %d capsules\n", FAULTS, capsules);
    assert_true(capsules > 0 && capsules < FAULTS);
    /* The newest fault's capsule is among those kept. */
    const struct fs_fault_record *last = fs_faults_record_at(r.f, fs_faults_record_count(r.f) - 1);
    char path[sizeof(r.journal) + FS_FAULT_PATH_MAX + 2];
    snprintf(path, sizeof(path), "%s/%s", r.journal, last->capsule);
    cJSON *cap = read_json_file(path);
    cJSON_Delete(cap);
    rig_free(&r);
}

/* The journal rotates by renaming faults.jsonl to faults.jsonl.1 and then
 * writing the new one. A crash between the two leaves only the rotated
 * file: after the restart ids must still go on from it, or the new
 * faults' capsules would take the names of old ones and overwrite them. */
static void test_ids_go_on_after_a_crash_during_rotation(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r);
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "before the crash");
    fs_faults_run_deferred(r.f);
    unsigned long first = fs_faults_record_at(r.f, 0)->id;
    char capsule[sizeof(r.journal) + FS_FAULT_PATH_MAX + 2], journal[512], rotated[520];
    snprintf(capsule, sizeof(capsule), "%s/%s", r.journal, fs_faults_record_at(r.f, 0)->capsule);
    snprintf(journal, sizeof(journal), "%s/faults.jsonl", r.journal);
    snprintf(rotated, sizeof(rotated), "%s.1", journal);
    fs_faults_free(r.f);
    assert_int_equal(rename(journal, rotated), 0);
    rig_open(&r);
    fs_fault_raise(r.extruder, FS_FAULT_SENSOR_OPEN, "after the restart");
    fs_faults_run_deferred(r.f);
    assert_int_equal(fs_faults_record_at(r.f, 0)->id, first + 1);
    /* The old capsule is still the old fault's. */
    cJSON *cap = read_json_file(capsule);
    assert_string_equal(s_of(cJSON_GetObjectItemCaseSensitive(cap, "fault"), "evidence"),
                        "before the crash");
    cJSON_Delete(cap);
    remove(rotated);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_fault_writes_a_line_and_a_capsule),
        cmocka_unit_test(test_crash_before_rename_leaves_no_half_file),
        cmocka_unit_test(test_ids_go_on_across_runs),
        cmocka_unit_test(test_unwritable_journal_is_reported_not_fatal),
        cmocka_unit_test(test_capsules_do_not_grow_without_bound),
        cmocka_unit_test(test_ids_go_on_after_a_crash_during_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
