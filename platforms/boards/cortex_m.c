/* Cortex-M (ARMv7-M) board support for hone programs run by qemu-system-arm: the vector table,
   reset code (FPU on, .data copied, .bss zeroed), file I/O and exit through Arm semihosting
   (bkpt 0xAB; QEMU's -semihosting), and SysTick as the cycle counter. No newlib syscalls, no
   heap. Section and symbol names come from ld/cortex_m_sections.ld. */
#include "board.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------ semihosting */

enum { SYS_OPEN = 0x01, SYS_WRITE = 0x05, SYS_READ = 0x06, SYS_EXIT_EXTENDED = 0x20 };

static int semihost(int op, const void* args) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = args;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static uint32_t length(const char* s) {
  uint32_t n = 0;
  while (s[n]) ++n;
  return n;
}

int hone_board_open(const char* name, int for_writing) {
  /* modes: 1 = "rb", 5 = "wb" */
  const uint32_t args[3] = {(uint32_t)(uintptr_t)name, for_writing ? 5u : 1u, length(name)};
  return semihost(SYS_OPEN, args);
}

uint32_t hone_board_read(int handle, void* data, uint32_t bytes) {
  const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)data, bytes};
  return bytes - (uint32_t)semihost(SYS_READ, args); /* SYS_READ returns the bytes NOT read */
}

int hone_board_write(int handle, const void* data, uint32_t bytes) {
  const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)data, bytes};
  return semihost(SYS_WRITE, args) == 0 ? 0 : -1;
}

/* ADP_Stopped_ApplicationExit with a status: QEMU exits with that status. */
static void board_exit(int status) {
  const uint32_t args[2] = {0x20026u, (uint32_t)status};
  semihost(SYS_EXIT_EXTENDED, args);
  for (;;) {
  }
}

/* ---------------------------------------------------------------------------------- SysTick */

#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)

static volatile uint32_t systick_wraps;

static void systick_handler(void) { ++systick_wraps; }

static void systick_start(void) {
  SYST_RVR = 0xFFFFFFu; /* 24-bit down counter; each wrap is counted by the interrupt */
  SYST_CVR = 0;
  SYST_CSR = 7; /* processor clock, interrupt on wrap, enabled */
  while (SYST_CVR == 0) {
  }
  systick_wraps = 0; /* the first reload is not a full period */
}

uint64_t hone_board_ticks(void) {
  uint32_t wraps, value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return (uint64_t)wraps * 0x1000000u + (0xFFFFFFu - value);
}

/* ------------------------------------------------------------------------------------ reset */

extern uint32_t __hone_data_start, __hone_data_end, __hone_data_load, __hone_bss_start, __hone_bss_end;
extern uint32_t __hone_stack_top;

void hone_reset(void);

static void fault(void) { board_exit(99); }

__attribute__((section(".vectors"), used)) static const void* const vectors[16] = {
    &__hone_stack_top,     (const void*)hone_reset, (const void*)fault, (const void*)fault,
    (const void*)fault,    (const void*)fault,      (const void*)fault, 0,
    0,                     0,                       0,                  (const void*)fault,
    (const void*)fault,    0,                       (const void*)fault, (const void*)systick_handler};

__attribute__((noinline)) static void start(void) {
  const uint32_t* from = &__hone_data_load;
  uint32_t* to = &__hone_data_start;
  while (to < &__hone_data_end) *to++ = *from++;
  for (to = &__hone_bss_start; to < &__hone_bss_end;) *to++ = 0;
  systick_start();
  board_exit(hone_main());
}

void hone_reset(void) {
  /* CPACR: full access to coprocessors 10 and 11 (the FPU) before any floating-point code. */
  *(volatile uint32_t*)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  start();
}
