/* The firmware's timer scheduler, tasks, start-up and shutdown hooks.
 *
 * Timers run at an exact MCU clock (32-bit ticks, wrapping) and must be
 * short; tasks run from the main loop when woken. Shutdown stops everything:
 * every shutdown hook puts its outputs at their defaults, the reason is sent
 * to the host as `shutdown clock=%u static_string_id=%hu`, and from then on
 * only commands flagged FW_HF_IN_SHUTDOWN run until `clear_shutdown`. */
#ifndef FW_SCHED_H
#define FW_SCHED_H

#include <stdint.h> /* uint32_t */

#include "command.h" /* FW_STATIC_STRING, FW__SECTION */

struct fw_timer {
    struct fw_timer *next;
    uint_fast8_t (*func)(struct fw_timer *timer);
    uint32_t waketime;
};

enum { FW_SF_DONE = 0, FW_SF_RESCHEDULE = 1 };

/* A timer or event in the past makes the MCU shut down with
 * "Timer too close", as the protocol's reference firmware does. */
void fw_sched_add_timer(struct fw_timer *timer);
void fw_sched_del_timer(struct fw_timer *timer);

static inline int fw_timer_is_before(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
uint32_t fw_timer_read_time(void);
uint32_t fw_timer_from_us(uint32_t us);

/* A flag a timer or handler sets to get a task to run. Tasks run only
 * after a wake (or received bytes), so a task with work must be woken. */
struct fw_task_wake {
    uint8_t wake;
};
void fw_sched_wake_task(struct fw_task_wake *w);
int fw_sched_check_wake(struct fw_task_wake *w); /* reads and clears */

typedef void (*fw_hook_fn)(void);
#define FW__DECL_HOOK(section_, fn)                                              \
    static const fw_hook_fn fw__hook_##fn FW__SECTION(section_) = fn
/* Runs once at start-up and again after config_reset. */
#define FW_DECL_INIT(fn) FW__DECL_HOOK("fw_inits", fn)
/* Runs from the main loop after a task was woken or bytes arrived. */
#define FW_DECL_TASK(fn) FW__DECL_HOOK("fw_tasks", fn)
/* Runs on shutdown: put outputs at their defaults, stop motion. */
#define FW_DECL_SHUTDOWN(fn) FW__DECL_HOOK("fw_shutdowns", fn)

/* Shuts the MCU down with a reason from the dictionary's static strings.
 * fw_shutdown does not return to its caller (it unwinds to the scheduler);
 * fw_try_shutdown returns, for callers that can carry on safely. */
#define fw_shutdown(reason) fw_sched_shutdown(FW_STATIC_STRING(reason))
#define fw_try_shutdown(reason) fw_sched_try_shutdown(FW_STATIC_STRING(reason))
__attribute__((noreturn)) void fw_sched_shutdown(uint16_t reason_id);
void fw_sched_try_shutdown(uint16_t reason_id);
int fw_sched_is_shutdown(void);

/* Entry points for the port. Each one runs on the current instance and is a
 * shutdown unwind point. */
void fw_sched_main_init(void);       /* power-on: run init hooks */
void fw_sched_run_timers(void);      /* run every timer that is due now */
uint32_t fw_sched_next_waketime(void);
int fw_sched_has_timers(void);
void fw_sched_run_tasks(void);       /* a pass over the tasks, if any has work */

#endif
