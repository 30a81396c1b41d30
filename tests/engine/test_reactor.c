/* Engine timers fire in (waketime, arming order) and pause/wait hand control
 * to the backend until time or a condition is reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/reactor.h" /* fs_reactor */

/* A minimal backend: time jumps to the next engine timer or to `until`. */
struct toy_world {
    double now;
    struct fs_reactor *reactor;
};

static double toy_now(void *ctx) { return ((struct toy_world *)ctx)->now; }

static void toy_wait(void *ctx, double until)
{
    struct toy_world *w = ctx;
    double next = fs_reactor_next_wake(w->reactor);
    if (next <= until) {
        if (next > w->now)
            w->now = next;
        fs_reactor_run_due(w->reactor, w->now);
    } else {
        w->now = until;
    }
}

struct firing_log {
    int order[16];
    int count;
};

struct logged_timer {
    struct fs_timer timer;
    struct firing_log *log;
    int id;
    int repeats;
};

static double log_fire(struct fs_timer *t, double eventtime)
{
    struct logged_timer *lt = (struct logged_timer *)t;
    lt->log->order[lt->log->count++] = lt->id;
    if (lt->repeats-- > 0)
        return eventtime + 1.0;
    return FS_NEVER;
}

static void test_timers_fire_in_time_then_arming_order(void **state)
{
    (void)state;
    struct toy_world w = {0};
    struct fs_reactor r;
    struct fs_reactor_backend be = {&w, toy_now, toy_wait};
    fs_reactor_init(&r, &be);
    w.reactor = &r;
    struct firing_log log = {0};
    struct logged_timer t[4];
    const double when[4] = {2.0, 1.0, 2.0, 0.5};
    for (int i = 0; i < 4; i++) {
        t[i] = (struct logged_timer){.log = &log, .id = i};
        fs_timer_init(&t[i].timer, log_fire, NULL);
        fs_reactor_timer_set(&r, &t[i].timer, when[i]);
    }
    fs_reactor_timer_cancel(&r, &t[3].timer);
    fs_reactor_pause(&r, 10.0);
    assert_int_equal(log.count, 3);
    assert_int_equal(log.order[0], 1);
    assert_int_equal(log.order[1], 0);
    assert_int_equal(log.order[2], 2);
    assert_true(w.now >= 10.0);
    fs_reactor_free(&r);
}

static void test_periodic_timer_rearms_by_return_value(void **state)
{
    (void)state;
    struct toy_world w = {0};
    struct fs_reactor r;
    struct fs_reactor_backend be = {&w, toy_now, toy_wait};
    fs_reactor_init(&r, &be);
    w.reactor = &r;
    struct firing_log log = {0};
    struct logged_timer t = {.log = &log, .id = 7, .repeats = 4};
    fs_timer_init(&t.timer, log_fire, NULL);
    fs_reactor_timer_set(&r, &t.timer, 1.0);
    fs_reactor_pause(&r, 100.0);
    assert_int_equal(log.count, 5);
    fs_reactor_free(&r);
}

static int reached_three(void *arg) { return *(int *)arg >= 3; }

static double count_up(struct fs_timer *t, double eventtime)
{
    (*(int *)t->arg)++;
    return eventtime + 0.25;
}

static void test_wait_for_stops_at_condition_or_deadline(void **state)
{
    (void)state;
    struct toy_world w = {0};
    struct fs_reactor r;
    struct fs_reactor_backend be = {&w, toy_now, toy_wait};
    fs_reactor_init(&r, &be);
    w.reactor = &r;
    int counter = 0;
    struct fs_timer t;
    fs_timer_init(&t, count_up, &counter);
    fs_reactor_timer_set(&r, &t, 0.25);
    assert_int_equal(fs_reactor_wait_for(&r, reached_three, &counter, 5.0), 0);
    assert_int_equal(counter, 3);
    assert_true(w.now >= 0.75 && w.now < 1.0);
    fs_reactor_timer_cancel(&r, &t);
    counter = 0;
    assert_int_equal(fs_reactor_wait_for(&r, reached_three, &counter, 2.0), -1);
    assert_true(w.now >= 2.0);
    fs_reactor_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_time_then_arming_order),
        cmocka_unit_test(test_periodic_timer_rearms_by_return_value),
        cmocka_unit_test(test_wait_for_stops_at_condition_or_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
