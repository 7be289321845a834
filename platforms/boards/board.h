/* What a hone harness needs from a bare-metal board (boards/cortex_m.c implements it for
   Cortex-M under QEMU): files on the host through semihosting, a cycle counter, and exit. */
#ifndef HONE_BOARD_H
#define HONE_BOARD_H

#include <stdint.h>

/* Opens a file on the host (relative to the emulator's working folder): a handle >= 0, or -1. */
int hone_board_open(const char* name, int for_writing);
/* Reads up to `bytes`; returns how many were read (0 at the end of the file). */
uint32_t hone_board_read(int handle, void* data, uint32_t bytes);
/* Writes all `bytes`; returns 0, or -1 when the host could not take them. */
int hone_board_write(int handle, const void* data, uint32_t bytes);
/* Timer ticks since the first call; 64 bits, so it never wraps in practice. */
uint64_t hone_board_ticks(void);

/* The harness's entry point, called by the board's reset code after RAM is set up; its return
   value is the program's exit status on the host. */
int hone_main(void);

#endif
