/* The printer's side of the fault module: the action hooks (pause, halt,
 * cancel, shutdown, macros) wired to the job, the toolhead, the heaters and
 * the MCUs, and the sources that belong to the printer as a whole (each
 * MCU as "mcu" / "mcu NAME", and "printer" for M112). */
#ifndef FS_PRINTER_FAULT_ACTIONS_H
#define FS_PRINTER_FAULT_ACTIONS_H

struct fs_error;
struct fs_fault_source;
struct fs_mcu;
struct fs_printer;

/* Before any module: reads [fault_policy], creates p->faults, registers
 * FAULTS, FAULT_CLEAR, FAULT_ACK and FAULT_TEST. */
int fs_printer_faults_init(struct fs_printer *p, struct fs_error *err);
/* After the modules exist: the MCU sources (which need to know which MCU
 * steps which axis), RESUME's veto, the motion gate, the job's journal. */
int fs_printer_faults_connect(struct fs_printer *p, struct fs_error *err);
void fs_printer_faults_free(struct fs_printer *p);
/* The source of an MCU, or NULL. */
struct fs_fault_source *fs_printer_mcu_fault_source(struct fs_printer *p, struct fs_mcu *m);

#endif
