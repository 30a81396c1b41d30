/* The catalogue as `failsoft faults` prints it: every kind with how it is
 * detected and tuned, who can raise it, the default action of each profile
 * and the floor with its reason (per class, and per source flags where they
 * change it), the floor table itself, and when a fault module is given the
 * effective policy of every configured source. The text form is printed
 * from the JSON, so the two never disagree. */
#include "fault/fault_internal.h"

#include <cjson/cJSON.h> /* cJSON_* */
#include <string.h>      /* strcmp */

/* The flag variants that change a class's floors or defaults. */
struct variant {
    enum fs_fault_class cls;
    unsigned flags;
    const char *when; /* NULL: the class as a whole */
};

static const struct variant variants[] = {
    {FS_FAULT_CLASS_HEATER, 0, NULL},
    {FS_FAULT_CLASS_SENSOR, 0, NULL},
    {FS_FAULT_CLASS_FAN, FS_FAULT_SOURCE_COOLS_HEATER, "cools a heater (heater_fan)"},
    {FS_FAULT_CLASS_FAN, 0, "cools the part or anything else"},
    {FS_FAULT_CLASS_DRIVER, FS_FAULT_SOURCE_AXIS_X, "of an X/Y/Z stepper"},
    {FS_FAULT_CLASS_DRIVER, 0, "of an extruder"},
    {FS_FAULT_CLASS_FILAMENT, 0, NULL},
    {FS_FAULT_CLASS_MCU, FS_FAULT_SOURCE_DRIVES_AXES, "drives X/Y/Z steppers"},
    {FS_FAULT_CLASS_MCU, 0, "drives no X/Y/Z stepper (an extruder-only toolboard counts)"},
    {FS_FAULT_CLASS_MOTION, 0, NULL},
    {FS_FAULT_CLASS_PRINTER, 0, NULL},
};

static cJSON *kind_json(enum fs_fault_kind kind)
{
    const struct fs_fault_kind_info *info = fs_fault_kind_info(kind);
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "name", info->name);
    cJSON_AddStringToObject(k, "detected", info->detected);
    cJSON_AddStringToObject(k, "tuned_by", info->tuned_by);
    cJSON *by = cJSON_AddArrayToObject(k, "raised_by");
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        const struct variant *v = &variants[i];
        if (!fs_fault_class_can_raise(v->cls, kind))
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "class", fs_fault_class_name(v->cls));
        if (v->when)
            cJSON_AddStringToObject(e, "when", v->when);
        cJSON_AddStringToObject(
            e, "default_failsoft",
            fs_fault_action_name(
                fs_fault_default_action(FS_FAULT_PROFILE_FAILSOFT, v->cls, v->flags, kind)));
        cJSON_AddStringToObject(
            e, "default_strict",
            fs_fault_action_name(
                fs_fault_default_action(FS_FAULT_PROFILE_STRICT, v->cls, v->flags, kind)));
        const char *why;
        enum fs_fault_action floor = fs_fault_floor(v->cls, v->flags, kind, &why);
        cJSON_AddStringToObject(e, "floor", fs_fault_action_name(floor));
        cJSON_AddStringToObject(e, "why", why);
        cJSON_AddItemToArray(by, e);
    }
    return k;
}

static cJSON *floors_json(void)
{
    cJSON *rows = cJSON_CreateArray();
    for (int i = 0; i < fs_fault_floor_row_count(); i++) {
        unsigned classes, flags_any;
        unsigned long kinds;
        enum fs_fault_action floor;
        const char *why;
        fs_fault_floor_row(i, &classes, &kinds, &flags_any, &floor, &why);
        cJSON *r = cJSON_CreateObject();
        cJSON *c = cJSON_AddArrayToObject(r, "classes");
        for (int j = 0; j < FS_FAULT_CLASS_COUNT; j++)
            if (classes & (1u << j))
                cJSON_AddItemToArray(c, cJSON_CreateString(fs_fault_class_name(
                                            (enum fs_fault_class)j)));
        cJSON *k = cJSON_AddArrayToObject(r, "kinds");
        for (int j = 0; j < FS_FAULT_KIND_COUNT; j++)
            if (kinds & (1ul << j))
                cJSON_AddItemToArray(k, cJSON_CreateString(fs_fault_kind_name(
                                            (enum fs_fault_kind)j)));
        if (flags_any & FS_FAULT_SOURCE_DRIVES_AXES)
            cJSON_AddStringToObject(r, "when", "the MCU drives X/Y/Z steppers");
        else if (flags_any)
            cJSON_AddStringToObject(r, "when", "the driver's stepper moves X, Y or Z");
        cJSON_AddStringToObject(r, "floor", fs_fault_action_name(floor));
        cJSON_AddStringToObject(r, "why", why);
        cJSON_AddItemToArray(rows, r);
    }
    return rows;
}

static cJSON *source_json(const struct fs_fault_source *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "class", fs_fault_class_name(s->cls));
    cJSON *acts = cJSON_AddObjectToObject(o, "actions");
    cJSON *from = cJSON_AddObjectToObject(o, "set_by");
    for (int k = 0; k < FS_FAULT_KIND_COUNT; k++) {
        if (!fs_fault_class_can_raise(s->cls, (enum fs_fault_kind)k))
            continue;
        const char *kind = fs_fault_kind_name((enum fs_fault_kind)k);
        cJSON_AddStringToObject(acts, kind, fs_fault_action_name(s->policy.action[k]));
        cJSON_AddStringToObject(from, kind, s->policy.origin[k]);
    }
    if (s->policy.has_tolerance)
        cJSON_AddNumberToObject(o, "fault_tolerance", s->policy.tolerance_s);
    else
        cJSON_AddNullToObject(o, "fault_tolerance");
    if (s->policy.gcode[0])
        cJSON_AddStringToObject(o, "on_fault_gcode", s->policy.gcode);
    else
        cJSON_AddNullToObject(o, "on_fault_gcode");
    return o;
}

struct cJSON *fs_faults_catalogue_json(const struct fs_faults *f)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *actions = cJSON_AddArrayToObject(root, "actions");
    for (int a = 0; a < FS_FAULT_ACTION_COUNT; a++)
        cJSON_AddItemToArray(actions,
                             cJSON_CreateString(fs_fault_action_name((enum fs_fault_action)a)));
    cJSON *kinds = cJSON_AddArrayToObject(root, "kinds");
    for (int k = 0; k < FS_FAULT_KIND_COUNT; k++)
        cJSON_AddItemToArray(kinds, kind_json((enum fs_fault_kind)k));
    cJSON_AddItemToObject(root, "floors", floors_json());
    if (f) {
        cJSON_AddStringToObject(root, "profile",
                                f->pc.profile == FS_FAULT_PROFILE_STRICT ? "strict" : "failsoft");
        cJSON *sources = cJSON_AddArrayToObject(root, "sources");
        for (int i = 0; i < f->source_count; i++)
            cJSON_AddItemToArray(sources, source_json(&f->sources[i]));
    }
    return root;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void print_list(FILE *out, const cJSON *arr)
{
    const cJSON *e;
    int first = 1;
    cJSON_ArrayForEach(e, arr)
    {
        fprintf(out, "%s%s", first ? "" : ", ", cJSON_IsString(e) ? e->valuestring : "?");
        first = 0;
    }
}

static void print_sources(FILE *out, const cJSON *root)
{
    const cJSON *sources = cJSON_GetObjectItemCaseSensitive(root, "sources");
    if (!sources)
        return;
    fprintf(out, "\nEffective policy (profile %s):\n", str(root, "profile"));
    if (!cJSON_GetArraySize(sources))
        fprintf(out, "  (no fault sources configured)\n");
    const cJSON *s;
    cJSON_ArrayForEach(s, sources)
    {
        fprintf(out, "  %s (%s)\n", str(s, "name"), str(s, "class"));
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(s, "set_by");
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(s, "actions"))
        {
            fprintf(out, "    %-20s %-8s (%s)\n", a->string, a->valuestring,
                    str(from, a->string));
        }
        const cJSON *tol = cJSON_GetObjectItemCaseSensitive(s, "fault_tolerance");
        if (cJSON_IsNumber(tol))
            fprintf(out, "    fault_tolerance      %g s\n", tol->valuedouble);
        const char *macro = str(s, "on_fault_gcode");
        if (*macro)
            fprintf(out, "    on_fault_gcode       %s\n", macro);
    }
}

int fs_faults_catalogue_print(const struct fs_faults *f, FILE *out)
{
    cJSON *root = fs_faults_catalogue_json(f);
    if (!root)
        return -1;
    fprintf(out, "Fault kinds (actions from mild to severe: ");
    print_list(out, cJSON_GetObjectItemCaseSensitive(root, "actions"));
    fprintf(out, ")\n");
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(root, "kinds"))
    {
        fprintf(out, "\n%s\n  detected: %s\n  tuned by: %s\n", str(k, "name"),
                str(k, "detected"), str(k, "tuned_by"));
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(k, "raised_by"))
        {
            const char *when = str(e, "when");
            fprintf(out, "  %s%s%s: default %s (strict: %s), floor %s", str(e, "class"),
                    *when ? " that " : "", when, str(e, "default_failsoft"),
                    str(e, "default_strict"), str(e, "floor"));
            if (strcmp(str(e, "floor"), "log"))
                fprintf(out, " (%s)", str(e, "why"));
            fprintf(out, "\n");
        }
    }
    fprintf(out, "\nSafety floors (a configuration asking for less is rejected):\n");
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(root, "floors"))
    {
        fprintf(out, "  ");
        print_list(out, cJSON_GetObjectItemCaseSensitive(r, "kinds"));
        const cJSON *classes = cJSON_GetObjectItemCaseSensitive(r, "classes");
        if (cJSON_GetArraySize(classes) == FS_FAULT_CLASS_COUNT) {
            fprintf(out, " on any part");
        } else {
            fprintf(out, " on ");
            print_list(out, classes);
        }
        const char *when = str(r, "when");
        if (*when)
            fprintf(out, " when %s", when);
        fprintf(out, ": %s (%s)\n", str(r, "floor"), str(r, "why"));
    }
    print_sources(out, root);
    cJSON_Delete(root);
    return ferror(out) ? -1 : 0;
}
