/* The scheduler: the sorted timer list, tasks, init and shutdown hooks, and
 * the shutdown unwind.
 *
 * Each entry point the port calls (main init, run timers, run tasks) sets a
 * jump point in the instance. fw_sched_shutdown marks the instance shut
 * down, clears the timers, runs every shutdown hook, tells the host, then
 * jumps back to that point, so the code that found the fault never runs on
 * with a machine in an unknown state. Timers are cleared before the hooks
 * run so that a hook may re-arm one that must keep going in shutdown (e.g.
 * analog reports). */
#include <setjmp.h> /* setjmp, longjmp */
#include <string.h> /* memset */

#include "command.h"  /* fw_sendf */
#include "hal.h"      /* hal_instance, hal_timer_read_time, hal_timer_kick */
#include "instance.h" /* struct fw_instance */
#include "sched.h"    /* the API implemented here */
#include "sections.h" /* FW_SECTION_EACH over the hook sections */

/* A timer that reschedules itself further than this behind the clock has
 * lost real time; running it on would replay stale events at once. */
#define FW_RESCHEDULE_LATE_US 10000

void fw_instance_init(struct fw_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
}

uint32_t fw_timer_read_time(void)
{
    return hal_timer_read_time();
}

/* ---- timers ---- */

static void timer_unlink(struct fw_instance *inst, struct fw_timer *t)
{
    for (struct fw_timer **pp = &inst->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            return;
        }
    }
}

/* Inserts after timers with the same waketime, so equal timers run in the
 * order they were added. */
static void timer_insert(struct fw_instance *inst, struct fw_timer *t)
{
    struct fw_timer **pp = &inst->timers;
    while (*pp && !fw_timer_is_before(t->waketime, (*pp)->waketime))
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
}

void fw_sched_add_timer(struct fw_timer *timer)
{
    struct fw_instance *inst = hal_instance();
    if (fw_timer_is_before(timer->waketime, hal_timer_read_time())) {
        fw_try_shutdown("Timer too close");
        return;
    }
    /* Adding a timer twice would corrupt the list. */
    timer_unlink(inst, timer);
    timer_insert(inst, timer);
    if (inst->timers == timer)
        hal_timer_kick();
}

void fw_sched_del_timer(struct fw_timer *timer)
{
    struct fw_instance *inst = hal_instance();
    int was_first = inst->timers == timer;
    timer_unlink(inst, timer);
    if (was_first)
        hal_timer_kick();
}

void fw_sched_reset_timers(void)
{
    hal_instance()->timers = NULL;
    hal_timer_kick();
}

int fw_sched_has_timers(void)
{
    return hal_instance()->timers != NULL;
}

uint32_t fw_sched_next_waketime(void)
{
    struct fw_instance *inst = hal_instance();
    return inst->timers ? inst->timers->waketime : hal_timer_read_time();
}

static void run_timers(struct fw_instance *inst)
{
    for (;;) {
        struct fw_timer *t = inst->timers;
        uint32_t now = hal_timer_read_time();
        if (!t || fw_timer_is_before(now, t->waketime))
            break;
        inst->timers = t->next;
        uint8_t was_shutdown = inst->is_shutdown;
        uint_fast8_t ret = t->func(t);
        /* A timer that shut the MCU down (without unwinding) stays off. */
        if (ret != FW_SF_RESCHEDULE || inst->is_shutdown != was_shutdown)
            continue;
        if (fw_timer_is_before(t->waketime, now - fw_timer_from_us(FW_RESCHEDULE_LATE_US)))
            fw_shutdown("Rescheduled timer in the past");
        timer_insert(inst, t);
    }
    hal_timer_kick();
}

/* ---- tasks ---- */

void fw_sched_wake_task(struct fw_task_wake *w)
{
    w->wake = 1;
    hal_instance()->tasks_pending = 1;
}

int fw_sched_check_wake(struct fw_task_wake *w)
{
    int wake = w->wake;
    w->wake = 0;
    return wake;
}

static void run_hooks(const fw_hook_fn *begin, const fw_hook_fn *end)
{
    for (const fw_hook_fn *h = begin; h && h < end; h++)
        (*h)();
}

static void run_tasks(struct fw_instance *inst)
{
    (void)inst;
    run_hooks(__start_fw_tasks, __stop_fw_tasks);
}

/* ---- shutdown ---- */

int fw_sched_is_shutdown(void)
{
    return hal_instance()->is_shutdown;
}

void fw_sched_try_shutdown(uint16_t reason_id)
{
    struct fw_instance *inst = hal_instance();
    if (inst->is_shutdown)
        return;
    inst->is_shutdown = 1;
    inst->shutdown_reason = reason_id;
    inst->shutdown_clock = hal_timer_read_time();
    fw_sched_reset_timers();
    run_hooks(__start_fw_shutdowns, __stop_fw_shutdowns);
    fw_sendf("shutdown clock=%u static_string_id=%hu", inst->shutdown_clock, reason_id);
}

void fw_sched_shutdown(uint16_t reason_id)
{
    struct fw_instance *inst = hal_instance();
    fw_sched_try_shutdown(reason_id);
    if (inst->unwind)
        longjmp(*inst->unwind, 1);
    /* Only reachable if a port calls into the core outside an entry point;
     * carrying on would run with outputs in an unknown state. */
    __builtin_trap();
}

void fw_sched_clear_shutdown(void)
{
    hal_instance()->is_shutdown = 0;
}

/* ---- entry points ---- */

/* Runs fn with a jump point for fw_sched_shutdown (and a port's reset).
 * Nested calls keep the outer point and restore it on the way out. Returns
 * 1 if fn was cut short by an unwind. */
static int run_guarded(void (*fn)(struct fw_instance *inst))
{
    struct fw_instance *inst = hal_instance();
    jmp_buf env;
    jmp_buf *saved = inst->unwind;
    volatile int unwound = 1;
    inst->unwind = &env;
    if (setjmp(env) == 0) {
        fn(inst);
        unwound = 0;
    }
    inst->unwind = saved;
    return unwound;
}

void fw_sched_run_init_hooks(void)
{
    run_hooks(__start_fw_inits, __stop_fw_inits);
}

static void main_init(struct fw_instance *inst)
{
    (void)inst;
    fw_console_reset();
    fw_basecmd_reset();
    fw_sched_reset_timers();
    fw_sched_clear_shutdown();
    fw_sched_run_init_hooks();
}

void fw_sched_main_init(void)
{
    fw_command_assign_ids();
    run_guarded(main_init);
}

void fw_sched_run_timers(void)
{
    run_guarded(run_timers);
}

/* The port calls this after every timer run and every receive, steps
 * included, but a task only has work when a timer or handler woke it or
 * bytes arrived; the stats task's per-pass bookkeeping is all the rest
 * would do. So a pass with nothing pending only does that bookkeeping and
 * skips the guard and the visit of every object. A pass an unwind cut
 * short leaves the pending mark set: the tasks after the unwinding one, and
 * any block still buffered, get their turn on the next call, as they would
 * if every call ran a pass. */
void fw_sched_run_tasks(void)
{
    struct fw_instance *inst = hal_instance();
    if (!inst->tasks_pending && fw_basecmd_stats_idle_pass())
        return;
    inst->tasks_pending = 0;
    if (run_guarded(run_tasks))
        inst->tasks_pending = 1;
}
