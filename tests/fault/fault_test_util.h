/* Shared helpers of the fault module's tests: a configuration written to a
 * temporary folder and loaded the way the program loads printer.cfg, and a
 * fake clock for a real reactor. */
#ifndef FAULT_TEST_UTIL_H
#define FAULT_TEST_UTIL_H

#include "config/config.h" /* fs_config_load */
#include "core/reactor.h"  /* fs_reactor */

struct cfg_fixture {
    char dir[64];
    char path[128];
    struct fs_config *cfg;
};

/* Writes text to <tmpdir>/printer.cfg and loads it; asserts it loads. */
void cfg_fixture_load(struct cfg_fixture *fx, const char *text);
void cfg_fixture_free(struct cfg_fixture *fx);

/* A backend whose time only moves when the test says so. */
struct fake_clock {
    double now;
    struct fs_reactor reactor;
};
void fake_clock_init(struct fake_clock *c);
void fake_clock_free(struct fake_clock *c);

/* Removes a folder and the files in it (one level). */
void remove_folder(const char *dir);

#endif
