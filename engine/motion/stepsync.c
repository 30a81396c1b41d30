/* One MCU's move-queue budget, shared by all its steppers (and their enable
 * pins).
 *
 * Design. The firmware holds move_count records; a queue_step (or a
 * queue_digital_out) takes one when it arrives and the MCU frees it no
 * later than the command's last step. A command that arrives while none is
 * free shuts the MCU down ("Move queue overflow"), so every command gets a
 * min_clock: the link keeps it back until the MCU's clock has passed the
 * release clock of the slot it will take. The slots are a min-heap of
 * release clocks (0 = free): a new command takes the earliest-released slot,
 * its min_clock is that slot's old release clock, and the slot's new
 * release clock is the command's last step. Holding a slot until the last
 * step is conservative (the firmware frees a record when it loads the move,
 * at or before its first step), which costs nothing as long as move_count
 * commands span more time than the lead below - true by orders of
 * magnitude at any real step rate.
 *
 * Each slot also remembers which stepper's queue_step holds it. When the
 * MCU stops a stepper on a trigger it returns that stepper's queued moves
 * to its pool at once, and the stepper drops its commands still waiting in
 * the link; fs_stepsync_release then frees that stepper's slots, so motion
 * after a homing stop does not wait for (or run out of) slots that only
 * the plan still held. Enable-pin commands are not freed by a stop and are
 * taken without an owner.
 *
 * It is also the last check on timing: a command whose first clock is not
 * at least FS_STEPSYNC_LEAD_S ahead of the MCU's estimated clock could reach
 * the MCU after its time and shut it down ("Stepper too far in past"); the
 * toolhead keeps print time far enough ahead, and this is what reports it
 * (as an error value) when it did not. */
#include "motion/stepsync.h"

#include <stdlib.h> /* calloc, realloc, free */

#include "core/error.h"   /* fs_error_set */
#include "fault/fault.h"  /* fs_fault_raise */
#include "core/reactor.h" /* fs_reactor_now */
#include "mcu/link.h"     /* fs_link_last_receive_time */
#include "mcu/mcu.h"      /* fs_mcu_* */

struct stepsync_slot {
    uint64_t release_clock; /* 0: free */
    const void *owner;      /* the stepper a stop frees it for, or NULL */
};

struct fs_stepsync {
    struct fs_mcu *mcu;
    struct fs_reactor *reactor;
    int reserved;
    struct stepsync_slot *slots; /* min-heap by release clock */
    int slot_count;
    struct fs_fault_source *fault_src; /* timing overruns are raised on it */
};

static int stepsync_configured(void *arg, struct fs_mcu *m, struct fs_error *err)
{
    struct fs_stepsync *s = arg;
    int moves = fs_mcu_state(m)->move_count;
    int count = moves - s->reserved;
    if (count < 1)
        return fs_error_set(err, "mcu '%s': its move queue has %d slots and %d are reserved "
                            "for outputs; none is left for steppers", fs_mcu_name(m), moves,
                            s->reserved);
    if (count != s->slot_count) {
        struct stepsync_slot *grown = realloc(s->slots, (size_t)count * sizeof(*grown));
        if (!grown)
            return fs_error_set(err, "mcu '%s': out of memory", fs_mcu_name(m));
        s->slots = grown;
        s->slot_count = count;
    }
    /* A (re)configured MCU starts with an empty queue. */
    for (int i = 0; i < count; i++)
        s->slots[i] = (struct stepsync_slot){0, NULL};
    return 0;
}

struct fs_stepsync *fs_stepsync_new(struct fs_mcu *mcu, struct fs_error *err)
{
    struct fs_stepsync *s = calloc(1, sizeof(*s));
    if (!s) {
        fs_error_set(err, "mcu '%s': out of memory", fs_mcu_name(mcu));
        return NULL;
    }
    s->mcu = mcu;
    if (fs_mcu_on_configured(mcu, stepsync_configured, s, err) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

void fs_stepsync_free(struct fs_stepsync *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s);
}

void fs_stepsync_set_reactor(struct fs_stepsync *s, struct fs_reactor *reactor)
{
    s->reactor = reactor;
}

int fs_stepsync_reserve_slots(struct fs_stepsync *s, int count, struct fs_error *err)
{
    if (count < 0 || count > 0xffff - s->reserved)
        return fs_error_set(err, "mcu '%s': cannot reserve %d move-queue slots",
                            fs_mcu_name(s->mcu), count);
    s->reserved += count;
    return 0;
}

uint64_t fs_stepsync_clock_now(const struct fs_stepsync *s)
{
    double host_time = s->reactor ? fs_reactor_now(s->reactor)
                                  : fs_link_last_receive_time(fs_mcu_link(s->mcu));
    if (host_time < 0.0)
        return 0;
    double print_time = fs_mcu_estimated_print_time(s->mcu, host_time);
    return fs_mcu_print_time_to_clock(s->mcu, print_time);
}

void fs_stepsync_set_fault_source(struct fs_stepsync *s, struct fs_fault_source *src)
{
    s->fault_src = src;
}

struct fs_fault_source *fs_stepsync_fault_source(const struct fs_stepsync *s)
{
    return s->fault_src;
}

/* The command is refused (nothing late reaches the MCU, which would shut
 * down on it) and the fault is raised with the same words. */
static int overrun(struct fs_stepsync *s, struct fs_error *err)
{
    fs_fault_raise(s->fault_src, FS_FAULT_TIMING_OVERRUN, "%s", err->msg);
    return -1;
}

int fs_stepsync_check_lead(struct fs_stepsync *s, const char *who, uint64_t clock,
                           struct fs_error *err)
{
    uint64_t now = fs_stepsync_clock_now(s);
    uint64_t lead = fs_mcu_seconds_to_ticks(s->mcu, FS_STEPSYNC_LEAD_S);
    if (clock >= now + lead)
        return 0;
    double ahead_s = ((double)clock - (double)now) / fs_mcu_clock_freq(s->mcu);
    fs_error_set(err, "%s: step scheduled in the past (timing overrun): due %.1f ms "
                 "from mcu '%s''s clock now, needs at least %.0f ms", who,
                 ahead_s * 1e3, fs_mcu_name(s->mcu), FS_STEPSYNC_LEAD_S * 1e3);
    return overrun(s, err);
}

static void sift_down(struct stepsync_slot *heap, int count, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, least = i;
        if (l < count && heap[l].release_clock < heap[least].release_clock)
            least = l;
        if (r < count && heap[r].release_clock < heap[least].release_clock)
            least = r;
        if (least == i)
            return;
        struct stepsync_slot t = heap[i];
        heap[i] = heap[least];
        heap[least] = t;
        i = least;
    }
}

int fs_stepsync_take_slot(struct fs_stepsync *s, const void *owner, const char *who,
                          uint64_t first_clock, uint64_t release_clock, uint64_t *min_clock,
                          struct fs_error *err)
{
    if (!s->slot_count)
        return fs_error_set(err, "%s: mcu '%s' is not configured", who, fs_mcu_name(s->mcu));
    if (fs_stepsync_check_lead(s, who, first_clock, err) < 0)
        return -1;
    uint64_t lead = fs_mcu_seconds_to_ticks(s->mcu, FS_STEPSYNC_LEAD_S);
    uint64_t free_at = s->slots[0].release_clock;
    if (free_at + lead > first_clock) {
        fs_error_set(err, "%s: mcu '%s' move queue full: all %d slots stay busy "
                     "until %.1f ms before this step (less than the %.0f ms lead)",
                     who, fs_mcu_name(s->mcu), s->slot_count,
                     ((double)first_clock - (double)free_at) / fs_mcu_clock_freq(s->mcu) * 1e3,
                     FS_STEPSYNC_LEAD_S * 1e3);
        return overrun(s, err);
    }
    *min_clock = free_at;
    s->slots[0].release_clock = release_clock > free_at ? release_clock : free_at;
    s->slots[0].owner = owner;
    sift_down(s->slots, s->slot_count, 0);
    return 0;
}

void fs_stepsync_release(struct fs_stepsync *s, const void *owner)
{
    int changed = 0;
    for (int i = 0; i < s->slot_count; i++) {
        if (s->slots[i].owner != owner)
            continue;
        s->slots[i] = (struct stepsync_slot){0, NULL};
        changed = 1;
    }
    if (!changed)
        return;
    for (int i = s->slot_count / 2 - 1; i >= 0; i--)
        sift_down(s->slots, s->slot_count, i);
}
