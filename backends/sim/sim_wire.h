/* One direction of a serial line between the host and an MCU.
 *
 * Bytes go out one after another at the configured baud, 10 bits each (start,
 * 8 data, stop): a byte handed over at t finishes at
 *   max(t, previous byte's finish) + 10 / baud
 * (rounded up to whole nanoseconds). Finished bytes wait in a bounded FIFO
 * until the world delivers them; the world schedules one delivery per run of
 * bytes sent together, at the finish of the run's last byte, so no byte
 * arrives before it has fully crossed the wire.
 *
 * Fault hooks, off by default: a cut line (the link is down: bytes vanish
 * without taking line time), a drop probability (the byte is lost to noise
 * after it took its line time) and a corruption probability (one random bit
 * flips). The random draws come from the direction's own generator. */
#ifndef SIM_WIRE_H
#define SIM_WIRE_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint8_t */

#include "sim_rng.h" /* struct sim_rng */

#define SIM_WIRE_BUFFER 8192
#define SIM_WIRE_DEFAULT_BAUD 250000
#define SIM_WIRE_BITS_PER_BYTE 10

struct sim_wire_stats {
    uint64_t bytes_sent;      /* accepted onto the line */
    uint64_t bytes_delivered;
    uint64_t bytes_dropped;   /* lost to the drop probability */
    uint64_t bytes_corrupted;
    uint64_t bytes_cut;       /* vanished while the line was cut */
    uint64_t bytes_overrun;   /* lost because the FIFO was full */
};

struct sim_wire {
    uint32_t baud;
    int64_t byte_ns;
    int64_t busy_until_ns; /* finish time of the last byte on the line */
    double drop_probability;
    double corrupt_probability;
    int cut;
    struct sim_rng rng;
    uint8_t fifo[SIM_WIRE_BUFFER];
    size_t head, count;
    struct sim_wire_stats stats;
};

void sim_wire_init(struct sim_wire *w, uint32_t baud, uint64_t seed);

/* Puts bytes on the line at now_ns. Returns how many of them will arrive
 * (were queued in the FIFO), and sets *finish_ns to when the last of the
 * whole run has crossed the line (now_ns when nothing took line time). */
size_t sim_wire_send(struct sim_wire *w, int64_t now_ns, const uint8_t *data, size_t len,
                     int64_t *finish_ns);

/* Takes up to max bytes from the front of the FIFO, in order. */
size_t sim_wire_take(struct sim_wire *w, uint8_t *out, size_t max);

void sim_wire_set_cut(struct sim_wire *w, int cut);
void sim_wire_set_drop(struct sim_wire *w, double probability);
void sim_wire_set_corrupt(struct sim_wire *w, double probability);

#endif
