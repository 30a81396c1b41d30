/* A byte pipe between the engine and one MCU. The engine sends with
 * fs_transport_send(); the backend delivers received bytes by calling the
 * receiver the engine installed. The simulator's wire and a serial port
 * (libserialport) are the two implementations; the engine cannot tell them
 * apart. */
#ifndef FS_TRANSPORT_H
#define FS_TRANSPORT_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

struct fs_error;

typedef void (*fs_transport_receive_fn)(void *arg, const uint8_t *data, size_t len,
                                        double receive_time);

struct fs_transport {
    /* Implementation: queue len bytes for sending. Returns -1 with err
     * filled when the pipe is broken. */
    int (*send)(struct fs_transport *t, const uint8_t *data, size_t len,
                struct fs_error *err);
    void *impl;

    /* Installed by the engine; called by the backend. */
    fs_transport_receive_fn on_receive;
    void *receive_arg;
};

static inline int fs_transport_send(struct fs_transport *t, const uint8_t *data,
                                    size_t len, struct fs_error *err)
{
    return t->send(t, data, len, err);
}

static inline void fs_transport_set_receiver(struct fs_transport *t,
                                             fs_transport_receive_fn fn, void *arg)
{
    t->on_receive = fn;
    t->receive_arg = arg;
}

/* Backend side: hand received bytes to the engine. */
static inline void fs_transport_deliver(struct fs_transport *t, const uint8_t *data,
                                        size_t len, double receive_time)
{
    if (t->on_receive)
        t->on_receive(t->receive_arg, data, len, receive_time);
}

#endif
