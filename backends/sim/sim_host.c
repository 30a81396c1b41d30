/* The simulated printer with the engine attached. */
#include "sim_host.h"

#include <string.h> /* strcmp, memset */

#include "core/error.h" /* fs_error_prefix */
#include "mcu/mcu.h"    /* fs_mcu_new, fs_mcu_connect */

int sim_host_init(struct sim_host *h, uint64_t seed, const struct fs_logger *log,
                  struct fs_error *err)
{
    memset(h, 0, sizeof(*h));
    h->log = log;
    h->world = sim_world_new(seed, err);
    if (!h->world)
        return -1;
    struct fs_reactor_backend be = sim_world_reactor_backend(h->world);
    fs_reactor_init(&h->reactor, &be);
    sim_world_attach_reactor(h->world, &h->reactor);
    return 0;
}

void sim_host_free(struct sim_host *h)
{
    for (int i = 0; i < h->mcu_count; i++)
        fs_mcu_free(h->mcus[i]);
    h->mcu_count = 0;
    fs_reactor_free(&h->reactor);
    sim_world_free(h->world);
    h->world = NULL;
}

int sim_host_add_mcu(struct sim_host *h, const char *name, const struct sim_mcu_options *opt,
                     struct fs_error *err)
{
    if (h->mcu_count >= SIM_WORLD_MCUS_MAX)
        return fs_error_set(err, "at most %d simulated MCUs", SIM_WORLD_MCUS_MAX);
    if (sim_world_add_mcu(h->world, name, opt, err) < 0)
        return -1;
    struct fs_mcu *m =
        fs_mcu_new(&h->reactor, sim_world_transport(h->world, name), name, h->log, err);
    if (!m)
        return -1;
    h->mcus[h->mcu_count++] = m;
    return 0;
}

int sim_host_connect(struct sim_host *h, double timeout_s, struct fs_error *err)
{
    for (int i = 0; i < h->mcu_count; i++) {
        if (fs_mcu_connect(h->mcus[i], timeout_s, err) < 0)
            return -1;
        fs_mcu_set_primary(h->mcus[i], h->mcus[0]);
    }
    return 0;
}

struct fs_mcu *sim_host_mcu(struct sim_host *h, const char *name)
{
    for (int i = 0; i < h->mcu_count; i++)
        if (!strcmp(fs_mcu_name(h->mcus[i]), name))
            return h->mcus[i];
    return NULL;
}

double sim_host_now(const struct sim_host *h) { return fs_reactor_now(&h->reactor); }

void sim_host_run_for(struct sim_host *h, double seconds)
{
    fs_reactor_pause(&h->reactor, sim_host_now(h) + seconds);
}
