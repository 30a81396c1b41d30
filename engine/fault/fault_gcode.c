/* The fault module's G-code: FAULTS (what happened, what was done, which
 * axes can still be trusted), FAULT_CLEAR (a part back in service once it
 * reads sane), FAULT_ACK (maintenance moves after a halt) and FAULT_TEST
 * (any fault on purpose, through the same fs_fault_raise as a real one). */
#include "fault/fault_internal.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* strlen */

#include "core/error.h"  /* fs_error_set */
#include "gcode/gcode.h" /* fs_gcode_register, fs_gcode_respond_info */

#define LIST_MAX 1024

static const char *axis_word(unsigned valid, unsigned axis)
{
    return (valid & axis) ? "valid" : "LOST";
}

static void respond_record(struct fs_gcode *g, const struct fs_fault_record *r)
{
    char extra[128] = "";
    size_t len = 0;
    if (r->escalated)
        len += (size_t)snprintf(extra + len, sizeof(extra) - len, ", escalated from %s",
                                fs_fault_action_name(r->policy));
    if (r->folded)
        len += (size_t)snprintf(extra + len, sizeof(extra) - len, ", %d more report(s) folded",
                                r->folded);
    if (r->acked)
        snprintf(extra + len, sizeof(extra) - len, ", acknowledged");
    fs_gcode_respond_info(g, "#%lu %s t=%.3f %s %s: %s -> %s%s; position x:%s y:%s z:%s",
                          r->id, r->active ? "ACTIVE" : "cleared", r->time, r->source,
                          fs_fault_kind_name(r->kind), r->evidence,
                          fs_fault_action_name(r->action), extra,
                          axis_word(r->axes_valid, FS_FAULT_AXIS_X),
                          axis_word(r->axes_valid, FS_FAULT_AXIS_Y),
                          axis_word(r->axes_valid, FS_FAULT_AXIS_Z));
}

static int cmd_faults(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                      struct fs_error *err)
{
    struct fs_faults *f = arg;
    int active = 0;
    for (int i = 0; i < f->record_count; i++)
        active += f->records[i].active;
    if (!f->record_count) {
        fs_gcode_respond_info(g, "No faults");
        return 0;
    }
    fs_gcode_respond_info(g, "Faults: %d active, %d cleared%s", active, f->record_count - active,
                          f->shutdown ? " (shut down: RESTART or FIRMWARE_RESTART)" : "");
    /* Active first: they are what stands between the user and RESUME. */
    for (int pass = 1; pass >= 0; pass--)
        for (int i = 0; i < f->record_count; i++)
            if (f->records[i].active == pass)
                respond_record(g, &f->records[i]);
    return 0;
}

static void list_sources(const struct fs_faults *f, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < f->source_count && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s'%s'", i ? ", " : "",
                                f->sources[i].name);
}

static struct fs_fault_source *source_param(struct fs_faults *f,
                                            const struct fs_gcode_command *cmd,
                                            struct fs_error *err)
{
    const char *name = fs_gcode_get_str(cmd, "SOURCE", NULL);
    if (!name) {
        fs_error_set(err, "%s: missing SOURCE", cmd->name);
        return NULL;
    }
    struct fs_fault_source *s = fs_faults_lookup(f, name);
    if (!s) {
        char list[LIST_MAX];
        list_sources(f, list, sizeof(list));
        fs_error_set(err, "%s: unknown SOURCE '%s'; the fault sources are: %s", cmd->name, name,
                     list[0] ? list : "(none)");
    }
    return s;
}

static int cmd_fault_clear(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                           struct fs_error *err)
{
    struct fs_faults *f = arg;
    struct fs_fault_source *s = NULL;
    if (fs_gcode_has(cmd, "SOURCE") && !(s = source_param(f, cmd, err)))
        return -1;
    if (fs_faults_clear(f, s, err) < 0)
        return -1;
    fs_gcode_respond_info(g, "FAULT_CLEAR: %s cleared", s ? s->name : "every fault");
    return 0;
}

static int cmd_fault_ack(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                         struct fs_error *err)
{
    int n = fs_faults_ack(arg);
    if (n)
        fs_gcode_respond_info(g, "FAULT_ACK: %d halt(s) acknowledged; maintenance moves are "
                                 "allowed (the faults stay active until FAULT_CLEAR)",
                              n);
    else
        fs_gcode_respond_info(g, "FAULT_ACK: no halt to acknowledge");
    return 0;
}

static int cmd_fault_test(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                          struct fs_error *err)
{
    struct fs_faults *f = arg;
    struct fs_fault_source *s = source_param(f, cmd, err);
    if (!s)
        return -1;
    const char *kind_name = fs_gcode_get_str(cmd, "KIND", NULL);
    int kind = kind_name ? fs_fault_kind_from_name(kind_name) : -1;
    if (kind < 0 || !fs_fault_class_can_raise(s->cls, (enum fs_fault_kind)kind)) {
        char list[LIST_MAX];
        size_t len = 0;
        list[0] = '\0';
        for (int k = 0; k < FS_FAULT_KIND_COUNT && len < sizeof(list); k++)
            if (fs_fault_class_can_raise(s->cls, (enum fs_fault_kind)k))
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
                                        fs_fault_kind_name((enum fs_fault_kind)k));
        if (!kind_name)
            return fs_error_set(err, "FAULT_TEST: missing KIND; %s can raise: %s", s->name, list);
        return fs_error_set(err, "FAULT_TEST: %s (%s) cannot raise KIND '%s'; it can raise: %s",
                            s->name, fs_fault_class_name(s->cls), kind_name, list);
    }
    const char *text = fs_gcode_get_str(cmd, "EVIDENCE", "raised on purpose");
    fs_fault_raise(s, (enum fs_fault_kind)kind, "FAULT_TEST: %s", text);
    return 0;
}

int fs_faults_register_gcode(struct fs_faults *f, struct fs_gcode *g, struct fs_error *err)
{
    if (fs_gcode_register(g, "FAULTS", cmd_faults, f,
                          "List active and recent faults with evidence, action and position "
                          "validity",
                          err) < 0 ||
        fs_gcode_register(g, "FAULT_CLEAR", cmd_fault_clear, f,
                          "Clear the faults of SOURCE (all when omitted) once it reads sane",
                          err) < 0 ||
        fs_gcode_register(g, "FAULT_ACK", cmd_fault_ack, f,
                          "Acknowledge a halt: maintenance moves are allowed again", err) < 0 ||
        fs_gcode_register(g, "FAULT_TEST", cmd_fault_test, f,
                          "Raise fault KIND on SOURCE on purpose (EVIDENCE= text)", err) < 0)
        return -1;
    return 0;
}
