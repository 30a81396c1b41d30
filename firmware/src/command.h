/* Declaring commands, responses, constants, enumerations and shutdown
 * reasons next to the code that uses them, and sending responses.
 *
 * Every declaration lands in a linker section. At build time the dictionary
 * generator (firmware/tools/dictgen.c), linked with the same core and port,
 * walks those sections and writes the data dictionary; at start-up the
 * firmware walks them to build its dispatch table. Message ids are the rank
 * of a format string among all declared formats (ids 0 and 1 are the fixed
 * identify pair), so the generator and the running firmware agree without a
 * hand-kept list. Adding a command touches one file. */
#ifndef FW_COMMAND_H
#define FW_COMMAND_H

#include <stdint.h> /* uint32_t, uint8_t */

#define FW_MAX_PARAMS 12

/* Parsed parameters of one command, in format order. Integer parameters are
 * in v[i] (signed ones as their two's complement). For a string or buffer
 * parameter (%s %*s %.*s) v[i] is its length and data[i] its bytes, valid
 * only during the handler call. */
struct fw_args {
    uint32_t v[FW_MAX_PARAMS];
    const uint8_t *data[FW_MAX_PARAMS];
};

typedef void (*fw_command_fn)(const struct fw_args *args);

#define FW_HF_IN_SHUTDOWN 0x01 /* handler also runs while shut down */

struct fw_command_decl {
    const char *format;
    fw_command_fn handler;
    uint8_t flags;
    int16_t id; /* assigned at start-up */
};

struct fw_response_decl {
    const char *format;
    int16_t id; /* assigned at start-up */
};

struct fw_constant_decl {
    const char *name;
    const char *str_value; /* non-NULL for a string constant */
    int32_t value;
};

struct fw_enumeration_decl {
    const char *enumeration; /* "pin", "thermocouple_type", ... */
    const char *name;        /* first name of the range, e.g. "PA0" */
    int32_t value;           /* value of the first name */
    int32_t count;           /* 1, or the length of a range PA0..PA15 */
};

struct fw_static_string_decl {
    const char *text; /* shutdown reason; its id is its rank */
};

#define FW__SECTION(name) __attribute__((used, section(name), aligned(sizeof(void *))))
#define FW__CAT2(a, b) a##b
#define FW__CAT(a, b) FW__CAT2(a, b)
#define FW__UNIQUE(prefix) FW__CAT(prefix, __LINE__)

/* FW_DECL_COMMAND(command_get_clock, "get_clock"); at file scope, right
 * after the handler. */
#define FW_DECL_COMMAND_FLAGS(fn, flags_, fmt)                                   \
    static struct fw_command_decl fw__cmd_##fn = {fmt, fn, flags_, -1};          \
    static struct fw_command_decl *const fw__cmdp_##fn FW__SECTION("fw_cmds") =  \
        &fw__cmd_##fn
#define FW_DECL_COMMAND(fn, fmt) FW_DECL_COMMAND_FLAGS(fn, 0, fmt)

#define FW_DECL_CONSTANT(name_, value_)                                          \
    static const struct fw_constant_decl FW__UNIQUE(fw__const_) = {name_, 0, value_}; \
    static const struct fw_constant_decl *const FW__UNIQUE(fw__constp_)          \
        FW__SECTION("fw_consts") = &FW__UNIQUE(fw__const_)
#define FW_DECL_CONSTANT_STR(name_, str_)                                        \
    static const struct fw_constant_decl FW__UNIQUE(fw__const_) = {name_, str_, 0}; \
    static const struct fw_constant_decl *const FW__UNIQUE(fw__constp_)          \
        FW__SECTION("fw_consts") = &FW__UNIQUE(fw__const_)

#define FW_DECL_ENUMERATION_RANGE(enum_, name_, value_, count_)                  \
    static const struct fw_enumeration_decl FW__UNIQUE(fw__enum_) =             \
        {enum_, name_, value_, count_};                                          \
    static const struct fw_enumeration_decl *const FW__UNIQUE(fw__enump_)        \
        FW__SECTION("fw_enums") = &FW__UNIQUE(fw__enum_)
#define FW_DECL_ENUMERATION(enum_, name_, value_)                                \
    FW_DECL_ENUMERATION_RANGE(enum_, name_, value_, 1)

/* Sends one response. The format is declared on the spot; the arguments
 * follow it as in printf: an int for %c %hu %hi %u %i, and (int len,
 * const uint8_t *bytes) for %*s and %.*s, a const char * for %s. */
#define fw_sendf(fmt, ...)                                                       \
    do {                                                                         \
        static struct fw_response_decl fw__resp = {fmt, -1};                     \
        static struct fw_response_decl *const fw__respp                          \
            FW__SECTION("fw_resps") = &fw__resp;                                 \
        (void)fw__respp;                                                         \
        fw_response_send(&fw__resp, ##__VA_ARGS__);                              \
    } while (0)

void fw_response_send(const struct fw_response_decl *resp, ...);

/* The id of a static string declared on the spot (shutdown reasons). */
#define FW_STATIC_STRING(text_)                                                  \
    ({                                                                           \
        static const struct fw_static_string_decl fw__str = {text_};             \
        static const struct fw_static_string_decl *const fw__strp                \
            FW__SECTION("fw_strs") = &fw__str;                                   \
        (void)fw__strp;                                                          \
        fw_static_string_id(&fw__str);                                           \
    })

uint16_t fw_static_string_id(const struct fw_static_string_decl *s);

/* Called by the port with bytes from the host; parsing, acks and dispatch
 * happen in the command task. */
void fw_console_receive(const uint8_t *data, uint32_t len);

#endif
