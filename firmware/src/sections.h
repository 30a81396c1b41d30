/* Walking the registration sections that command.h and sched.h fill.
 *
 * GNU ld defines __start_<name> and __stop_<name> around every section whose
 * name is a C identifier. They are declared weak so that a build without,
 * say, any shutdown hook still links: both ends are then NULL and the walk
 * is empty. */
#ifndef FW_SECTIONS_H
#define FW_SECTIONS_H

#include "command.h" /* the declaration structs */
#include "sched.h"   /* fw_hook_fn */

#define FW_SECTION_EXTERN(name, type)                                            \
    extern type const __start_##name[] __attribute__((weak));                   \
    extern type const __stop_##name[] __attribute__((weak))

FW_SECTION_EXTERN(fw_cmds, struct fw_command_decl *);
FW_SECTION_EXTERN(fw_resps, struct fw_response_decl *);
FW_SECTION_EXTERN(fw_consts, const struct fw_constant_decl *);
FW_SECTION_EXTERN(fw_enums, const struct fw_enumeration_decl *);
FW_SECTION_EXTERN(fw_strs, const struct fw_static_string_decl *);
FW_SECTION_EXTERN(fw_inits, fw_hook_fn);
FW_SECTION_EXTERN(fw_tasks, fw_hook_fn);
FW_SECTION_EXTERN(fw_shutdowns, fw_hook_fn);

/* for (FW_SECTION_EACH(p, fw_cmds)) { struct fw_command_decl *d = *p; } */
#define FW_SECTION_EACH(ptr, name) ptr = __start_##name; ptr && ptr < __stop_##name; ptr++
#define FW_SECTION_COUNT(name)                                                   \
    (__start_##name ? (uint32_t)(__stop_##name - __start_##name) : 0u)

#endif
