/* The compressed data dictionary, generated at build time by
 * firmware/tools/dictgen.c for each port and linked into the firmware. */
#ifndef FW_DICTIONARY_H
#define FW_DICTIONARY_H

#include <stdint.h> /* uint8_t, uint32_t */

extern const uint8_t fw_dictionary_data[];
extern const uint32_t fw_dictionary_size;

#endif
