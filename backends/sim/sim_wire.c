/* Byte timing, the FIFO and the fault hooks of one line direction. */
#include "sim_wire.h"

#define NS_PER_S 1000000000LL

void sim_wire_init(struct sim_wire *w, uint32_t baud, uint64_t seed)
{
    if (baud == 0)
        baud = SIM_WIRE_DEFAULT_BAUD;
    w->baud = baud;
    int64_t bit_ns_scaled = SIM_WIRE_BITS_PER_BYTE * NS_PER_S;
    w->byte_ns = (bit_ns_scaled + baud - 1) / baud;
    w->busy_until_ns = 0;
    w->drop_probability = 0.0;
    w->corrupt_probability = 0.0;
    w->cut = 0;
    sim_rng_seed(&w->rng, seed);
    w->head = w->count = 0;
    w->stats = (struct sim_wire_stats){0};
}

static int fifo_put(struct sim_wire *w, uint8_t byte)
{
    if (w->count == SIM_WIRE_BUFFER) {
        w->stats.bytes_overrun++;
        return 0;
    }
    w->fifo[(w->head + w->count) % SIM_WIRE_BUFFER] = byte;
    w->count++;
    return 1;
}

size_t sim_wire_send(struct sim_wire *w, int64_t now_ns, const uint8_t *data, size_t len,
                     int64_t *finish_ns)
{
    size_t queued = 0;
    *finish_ns = now_ns;
    if (w->cut) {
        w->stats.bytes_cut += len;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        int64_t start = w->busy_until_ns > now_ns ? w->busy_until_ns : now_ns;
        w->busy_until_ns = start + w->byte_ns;
        w->stats.bytes_sent++;
        if (sim_rng_chance(&w->rng, w->drop_probability)) {
            w->stats.bytes_dropped++;
            continue;
        }
        uint8_t byte = data[i];
        if (sim_rng_chance(&w->rng, w->corrupt_probability)) {
            byte ^= (uint8_t)(1u << (sim_rng_next(&w->rng) & 7));
            w->stats.bytes_corrupted++;
        }
        queued += (size_t)fifo_put(w, byte);
    }
    if (len)
        *finish_ns = w->busy_until_ns;
    return queued;
}

size_t sim_wire_take(struct sim_wire *w, uint8_t *out, size_t max)
{
    size_t n = w->count < max ? w->count : max;
    for (size_t i = 0; i < n; i++)
        out[i] = w->fifo[(w->head + i) % SIM_WIRE_BUFFER];
    w->head = (w->head + n) % SIM_WIRE_BUFFER;
    w->count -= n;
    w->stats.bytes_delivered += n;
    return n;
}

void sim_wire_set_cut(struct sim_wire *w, int cut)
{
    w->cut = cut ? 1 : 0;
}

void sim_wire_set_drop(struct sim_wire *w, double probability)
{
    w->drop_probability = probability;
}

void sim_wire_set_corrupt(struct sim_wire *w, double probability)
{
    w->corrupt_probability = probability;
}
