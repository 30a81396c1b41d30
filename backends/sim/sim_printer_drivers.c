/* Stepper drivers with a UART in the simulated printer (see
 * sim_printer_drivers.h).
 *
 * struct sim_printer has no room for driver models and the world does not
 * own device models, so the models live in a fixed table in this file,
 * keyed by the sim_printer they were built for. Building a printer first
 * drops whatever an earlier printer at the same address left; when the
 * table is full, the entries built longest ago are reused (only a process
 * with more than SIM_DRIVERS_MAX drivers alive at once could notice). */
#include "sim_printer_drivers.h"

#include <stddef.h> /* size_t */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, memset */

#include "config/config.h"  /* fs_config_* */
#include "core/error.h"     /* fs_error_set */
#include "plant_axis.h"     /* plant_axis_set_enable */
#include "plant_tmc2209.h"  /* struct plant_tmc2209 */
#include "sim_printer.h"    /* struct sim_printer, sim_printer_axis */
#include "sim_world.h"      /* sim_world_add_pin_device */

#define SIM_DRIVERS_MAX 32
#define BUS_CHIPS_MAX 4 /* node addresses 0..3 */

/* The head of every table entry. */
struct slot {
    const struct sim_printer *owner; /* NULL: free */
    unsigned long built;             /* age, for reuse of the oldest */
};

struct sim_driver {
    struct slot slot;
    struct sim_world *world;
    char stepper[32];
    int axis_id;
    int has_enable;
    char enable_mcu[32], enable_pin[32];
    struct plant_tmc2209 chip;
};

/* One wire (a UART pin, with its tx pin when separate) and the chips on it. */
struct sim_driver_bus {
    struct slot slot;
    char mcu[32], pin[32];
    uint8_t tx_level; /* two wires: what the MCU's tx pin drives (via its resistor) */
    struct sim_driver *chips[BUS_CHIPS_MAX];
    int chip_count;
};

static struct sim_driver drivers[SIM_DRIVERS_MAX];
static struct sim_driver_bus buses[SIM_DRIVERS_MAX];
static unsigned long build_counter;

static void bus_output(void *arg, int pin_index, uint8_t level, int64_t t_ns)
{
    struct sim_driver_bus *b = arg;
    (void)pin_index; /* one wire: pin 0 itself; two wires: the tx pin (1) */
    b->tx_level = level;
    for (int i = 0; i < b->chip_count; i++)
        plant_tmc2209_line(&b->chips[i]->chip, level, t_ns);
}

/* Every chip and the MCU's tx (high when released) can pull the wire low. */
static uint8_t bus_input(void *arg, int pin_index, int64_t t_ns)
{
    struct sim_driver_bus *b = arg;
    (void)pin_index;
    uint8_t level = b->tx_level;
    for (int i = 0; i < b->chip_count; i++)
        level &= plant_tmc2209_reply_level(&b->chips[i]->chip, t_ns);
    return level;
}

static void driver_outputs_changed(void *arg, int enabled)
{
    struct sim_driver *d = arg;
    struct plant_axis *a = sim_world_axis(d->world, d->axis_id);
    if (!a || !d->has_enable)
        return;
    if (!enabled) {
        plant_axis_set_enable(a, a->params.enable_active_low ? 1 : 0);
        return;
    }
    int level = sim_world_pin_level(d->world, d->enable_mcu, d->enable_pin);
    if (level >= 0)
        plant_axis_set_enable(a, (uint8_t)level);
}

static void forget_owner(const struct sim_printer *p)
{
    for (int i = 0; i < SIM_DRIVERS_MAX; i++) {
        if (drivers[i].slot.owner == p)
            drivers[i].slot.owner = NULL;
        if (buses[i].slot.owner == p)
            buses[i].slot.owner = NULL;
    }
}

/* A free entry, else the oldest one; entries are stride bytes apart, each
 * starting with its struct slot. */
static void *take_slot(void *first, size_t stride)
{
    char *best = first;
    for (int i = 0; i < SIM_DRIVERS_MAX; i++) {
        char *e = (char *)first + (size_t)i * stride;
        const struct slot *sl = (const struct slot *)e;
        if (!sl->owner)
            return e;
        if (sl->built < ((const struct slot *)best)->built)
            best = e;
    }
    return best;
}

static void claim_slot(struct slot *sl, const struct sim_printer *p)
{
    sl->owner = p;
    sl->built = ++build_counter;
}

static struct sim_driver_bus *find_bus(const struct sim_printer *p, const char *mcu,
                                       const char *pin)
{
    for (int i = 0; i < SIM_DRIVERS_MAX; i++)
        if (buses[i].slot.owner == p && !strcmp(buses[i].mcu, mcu) && !strcmp(buses[i].pin, pin))
            return &buses[i];
    return NULL;
}

static struct sim_driver_bus *open_bus(struct sim_host *h, const struct sim_printer *p,
                                       struct fs_config_section *s, const struct fs_pin_desc *rx,
                                       const struct fs_pin_desc *tx, struct fs_error *err)
{
    struct sim_driver_bus *b = find_bus(p, rx->mcu, rx->pin);
    if (b)
        return b;
    b = take_slot(buses, sizeof(buses[0]));
    memset(b, 0, sizeof(*b));
    snprintf(b->mcu, sizeof(b->mcu), "%s", rx->mcu);
    snprintf(b->pin, sizeof(b->pin), "%s", rx->pin);
    b->tx_level = 1;
    static const struct sim_pin_device_ops ops = {bus_output, bus_input};
    if (sim_world_add_pin_device(h->world, rx->mcu, rx->pin, 0, &ops, b, err) < 0 ||
        (tx->pin[0] &&
         sim_world_add_pin_device(h->world, tx->mcu, tx->pin, 1, &ops, b, err) < 0)) {
        fs_error_prefix(err, "%s: [%s] ", fs_config_section_where(s), fs_config_section_name(s));
        return NULL;
    }
    claim_slot(&b->slot, p);
    return b;
}

static int read_enable_pin(struct fs_config *cfg, struct sim_driver *d, struct fs_error *err)
{
    struct fs_config_section *st = fs_config_get_section(cfg, d->stepper);
    if (!st || !fs_config_has(st, "enable_pin"))
        return 0;
    struct fs_pin_desc en;
    if (fs_config_get_pin(st, "enable_pin", 1, 1, 0, &en, err) < 0)
        return -1;
    d->has_enable = 1;
    snprintf(d->enable_mcu, sizeof(d->enable_mcu), "%s", en.mcu);
    snprintf(d->enable_pin, sizeof(d->enable_pin), "%s", en.pin);
    return 0;
}

static int add_driver(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                      struct fs_config_section *s, struct fs_error *err)
{
    const char *stepper = fs_config_section_suffix(s);
    int axis_id = sim_printer_axis(p, stepper);
    if (axis_id < 0)
        return fs_config_error(s, NULL, err, "no stepper '%s' for this driver", stepper);
    struct fs_pin_desc rx, tx;
    int address;
    if (fs_config_get_pin(s, "uart_pin", 1, 0, 1, &rx, err) < 0 ||
        fs_config_get_pin(s, "tx_pin", 0, 0, 0, &tx, err) < 0 ||
        fs_config_get_int(s, "uart_address", 0, 0, 3, &address, err) < 0)
        return -1;
    if (tx.pin[0] && strcmp(tx.mcu, rx.mcu))
        return fs_config_error(s, "tx_pin", err, "uart_pin and tx_pin must be on one mcu");
    struct sim_driver_bus *b = open_bus(h, p, s, &rx, &tx, err);
    if (!b)
        return -1;
    for (int i = 0; i < b->chip_count; i++)
        if (b->chips[i]->chip.address == address)
            return fs_config_error(s, "uart_address", err,
                                   "address %d is taken on %s:%s by [tmc2209 %s]", address,
                                   rx.mcu, rx.pin, b->chips[i]->stepper);
    struct sim_driver *d = take_slot(drivers, sizeof(drivers[0]));
    memset(d, 0, sizeof(*d));
    d->world = h->world;
    d->axis_id = axis_id;
    snprintf(d->stepper, sizeof(d->stepper), "%s", stepper);
    if (read_enable_pin(cfg, d, err) < 0)
        return -1;
    plant_tmc2209_init(&d->chip, (uint8_t)address);
    d->chip.outputs_changed = driver_outputs_changed;
    d->chip.outputs_arg = d;
    claim_slot(&d->slot, p);
    b->chips[b->chip_count++] = d;
    return 0;
}

int sim_printer_add_drivers(struct sim_host *h, struct fs_config *cfg, struct sim_printer *p,
                            struct fs_error *err)
{
    forget_owner(p);
    for (int i = 0; i < fs_config_section_count(cfg); i++) {
        struct fs_config_section *s = fs_config_section_at(cfg, i);
        if (!strcmp(fs_config_section_kind(s), "tmc2209") && add_driver(h, cfg, p, s, err) < 0)
            return -1;
    }
    return 0;
}

struct plant_tmc2209 *sim_printer_driver(const struct sim_printer *p, const char *stepper)
{
    for (int i = 0; i < SIM_DRIVERS_MAX; i++)
        if (drivers[i].slot.owner == p && !strcmp(drivers[i].stepper, stepper))
            return &drivers[i].chip;
    return NULL;
}
