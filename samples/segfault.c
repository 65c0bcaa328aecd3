/* segfault: flush stdout, then store through a bad pointer; the status must be 139 (SIGSEGV). */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    printf("about to write through a bad pointer\n");
    fflush(stdout);
    volatile uintptr_t bad = 0x10;
    *(volatile int *)bad = 42;
    printf("still alive?!\n");
    return 0;
}
