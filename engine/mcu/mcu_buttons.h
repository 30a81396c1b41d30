/* A switch on an MCU input (a filament runout switch, a filament motion
 * sensor's toggling output), polled and debounced by the MCU's buttons
 * module, whose reports reach the owner as "pressed" / "released" with the
 * host time they arrived.
 *
 * Lifecycle as for the other MCU objects: fs_mcu_buttons_new at parse time
 * (no MCU contact); the build-config callback takes an oid and adds
 * `config_buttons` and `buttons_add`; after every configure `buttons_query`
 * starts polling. Reports that were already seen (the MCU sends its queue
 * again until acknowledged) are recognised by their ack_count and dropped;
 * new ones are acknowledged at once with `buttons_ack`. */
#ifndef FS_MCU_BUTTONS_H
#define FS_MCU_BUTTONS_H

struct fs_error;
struct fs_mcu;
struct fs_mcu_buttons;
struct fs_reactor;

/* One confirmed change: pressed is the logical level (after invert). */
typedef void (*fs_mcu_buttons_fn)(void *arg, double eventtime, int pressed);

struct fs_mcu_buttons_params {
    const char *pin;      /* the MCU's pin name ("PA3") */
    const char *where;    /* "printer.cfg:80: [filament_switch_sensor x]", or NULL */
    int invert;           /* '!': pressed reads low */
    int pull_up;          /* '^' 1, '~' -1, 0 none */
    double poll_time_s;   /* between two reads of the pin */
    int retransmit_count; /* polls before an unacknowledged report is resent, 0..127 */
};

/* Polled every 2 ms, resent after 50 polls, as the common host does. */
void fs_mcu_buttons_params_default(struct fs_mcu_buttons_params *p);

struct fs_mcu_buttons *fs_mcu_buttons_new(struct fs_mcu *m, struct fs_reactor *reactor,
                                          const struct fs_mcu_buttons_params *p,
                                          fs_mcu_buttons_fn fn, void *arg, struct fs_error *err);
void fs_mcu_buttons_free(struct fs_mcu_buttons *b);

#endif
