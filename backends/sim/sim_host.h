/* A simulated printer with the engine attached: the world, the engine's
 * reactor running on the world's virtual time, and one connected fs_mcu per
 * simulated MCU. Tests, benchmarks and the demo start from here so that each
 * of them drives the firmware exactly as the engine would on hardware. */
#ifndef SIM_HOST_H
#define SIM_HOST_H

#include <stdint.h> /* uint64_t */

#include "core/reactor.h" /* struct fs_reactor */
#include "sim_world.h"    /* struct sim_world, SIM_WORLD_MCUS_MAX */

struct fs_error;
struct fs_logger;
struct fs_mcu;

struct sim_host {
    struct sim_world *world;
    struct fs_reactor reactor;
    const struct fs_logger *log;
    struct fs_mcu *mcus[SIM_WORLD_MCUS_MAX];
    int mcu_count;
};

int sim_host_init(struct sim_host *h, uint64_t seed, const struct fs_logger *log,
                  struct fs_error *err);
void sim_host_free(struct sim_host *h);

/* Adds a simulated MCU and the engine's fs_mcu on its wire. */
int sim_host_add_mcu(struct sim_host *h, const char *name, const struct sim_mcu_options *opt,
                     struct fs_error *err);
/* Connects every MCU; the first one added is the primary clock. */
int sim_host_connect(struct sim_host *h, double timeout_s, struct fs_error *err);
struct fs_mcu *sim_host_mcu(struct sim_host *h, const char *name);

double sim_host_now(const struct sim_host *h);
/* Lets the world and the engine run for this many seconds of virtual time. */
void sim_host_run_for(struct sim_host *h, double seconds);

#endif
