/* [respond]: messages from G-code to whoever reads the printer's output —
 * RESPOND MSG="..." [TYPE=echo|command|error] [PREFIX=...] and M118 <text>.
 * The type picks the prefix a host program understands: "echo:" for plain
 * messages, "//" for informational lines (shown as comments), "!!" for
 * errors (shown as errors, without failing the macro that sent them). */
#include "job/job_internal.h"

#include <strings.h> /* strcasecmp */

#include "core/error.h"  /* fs_error_set */
#include "gcode/gcode.h" /* fs_gcode_register, fs_gcode_respond */

static const char *const respond_type_names[] = {
    [FS_RESPOND_ECHO] = "echo", [FS_RESPOND_COMMAND] = "command", [FS_RESPOND_ERROR] = "error"};
static const char *const respond_type_prefixes[] = {
    [FS_RESPOND_ECHO] = "echo:", [FS_RESPOND_COMMAND] = "//", [FS_RESPOND_ERROR] = "!!"};

static const char *default_prefix(const struct fs_job *job)
{
    if (job->cfg.respond_default_prefix[0])
        return job->cfg.respond_default_prefix;
    return respond_type_prefixes[job->cfg.respond_default_type];
}

static int cmd_respond(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                       struct fs_error *err)
{
    const struct fs_job *job = arg;
    char msg[FS_JOB_MESSAGE_MAX], prefix[FS_JOB_PREFIX_MAX];
    const char *p = default_prefix(job);
    const char *type = fs_gcode_get_str(cmd, "TYPE", NULL);
    if (type) {
        size_t i = 0;
        while (i < 3 && strcasecmp(type, respond_type_names[i]))
            i++;
        if (i == 3)
            return fs_error_set(err, "RESPOND: TYPE must be echo, command or error, not '%s'",
                                type);
        p = respond_type_prefixes[i];
    }
    const char *given = fs_gcode_get_str(cmd, "PREFIX", NULL);
    if (given) {
        if (fs_job_copy_text(given, prefix, sizeof(prefix)) < 0)
            return fs_error_set(err, "RESPOND: PREFIX longer than %zu characters",
                                sizeof(prefix) - 1);
        p = prefix;
    }
    if (fs_job_copy_text(fs_gcode_get_str(cmd, "MSG", ""), msg, sizeof(msg)) < 0)
        return fs_error_set(err, "RESPOND: MSG longer than %zu characters", sizeof(msg) - 1);
    fs_gcode_respond(g, "%s %s", p, msg);
    return 0;
}

static int cmd_m118(void *arg, struct fs_gcode *g, const struct fs_gcode_command *cmd,
                    struct fs_error *err)
{
    char msg[FS_JOB_MESSAGE_MAX];
    if (fs_job_rest_text(cmd, msg, sizeof(msg)) < 0)
        return fs_error_set(err, "M118: message longer than %zu characters", sizeof(msg) - 1);
    fs_gcode_respond(g, "%s %s", default_prefix(arg), msg);
    return 0;
}

int fs_job_respond_register(struct fs_job *job, struct fs_error *err)
{
    if (fs_gcode_register(job->gcode, "RESPOND", cmd_respond, job,
                          "Send a message: MSG= [TYPE=echo|command|error] [PREFIX=]", err) < 0)
        return -1;
    return fs_gcode_register(job->gcode, "M118", cmd_m118, job, "Send a message", err);
}
