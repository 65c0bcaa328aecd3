/* sigsegv: recovering from memory faults with a SIGSEGV handler — reads of unmapped
 * memory left with siglongjmp (si_addr and si_code checked), a write to a read-only
 * page whose handler makes it writable and returns (the write is retried), a fault deep
 * in a call chain, a use after munmap, and a stack overflow caught on an alternate
 * signal stack. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile uintptr_t fault_addr;
static volatile int fault_code, faults, fixups;
static char *volatile ro_page;
static long page;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    faults++;
    fault_addr = (uintptr_t)si->si_addr;
    fault_code = si->si_code;
    char *a = si->si_addr;
    if (ro_page && a >= ro_page && a < ro_page + page) {
        /* Make the page writable and return: the faulting store runs again. */
        mprotect(ro_page, page, PROT_READ | PROT_WRITE);
        fixups++;
        return;
    }
    siglongjmp(env, 1);
}

static const char *code_name(int code)
{
    return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
}

__attribute__((noinline)) static long deep(volatile long *p, int depth)
{
    if (depth == 0)
        return *p;
    return deep(p, depth - 1) + depth;
}

static volatile long overflow_limit = 1L << 40; /* never reached: the stack ends first */

__attribute__((noinline)) static long overflow(volatile char *prev, long n)
{
    volatile char buf[512];
    buf[0] = (char)n;
    buf[511] = prev ? prev[0] : 0;
    if (n == overflow_limit)
        return 0;
    return overflow(buf, n + 1) + buf[511];
}

static volatile uintptr_t bad_addr = 0x40;

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    static volatile long survived = 0;
    static volatile int round;
    for (round = 0; round < 3; round++) {
        if (sigsetjmp(env, 1) == 0) {
            volatile int *p = (volatile int *)(uintptr_t)(16 + round * 8);
            survived += *p;
            printf("not reached\n");
        } else {
            survived++;
            printf("read of %#lx: caught, %s\n", (unsigned long)fault_addr, code_name(fault_code));
        }
    }
    printf("recovered %ld time(s)\n", (long)survived);

    ro_page = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile char *w = (char *)ro_page + 100;
    *w = 42;
    printf("write to a read-only page: fixed up %d time(s), %s, value now %d\n", fixups,
           code_name(fault_code), *w);
    printf("fault address was the written byte: %s\n",
           fault_addr == (uintptr_t)(ro_page + 100) ? "yes" : "no");
    ro_page = NULL;

    static volatile long keep = 1234;
    if (sigsetjmp(env, 1) == 0) {
        deep((volatile long *)bad_addr, 50);
        printf("not reached\n");
    } else {
        printf("fault 50 calls deep at %#lx: back in main, local %ld\n",
               (unsigned long)fault_addr, (long)keep);
    }

    static char *gone;
    gone = mmap(NULL, page * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gone[page] = 1;
    munmap(gone, page * 4);
    if (sigsetjmp(env, 1) == 0) {
        volatile char c = gone[page + 8];
        (void)c;
        printf("not reached\n");
    } else {
        printf("use after munmap: caught, %s, offset %ld\n", code_name(fault_code),
               (long)(fault_addr - (uintptr_t)gone));
    }

    static char alt[256 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        overflow(NULL, 0);
        printf("not reached\n");
    } else {
        printf("stack overflow: caught on the alternate stack\n");
    }

    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("faults handled: %d, SIGSEGV unblocked again: %d\n", faults,
           !sigismember(&cur, SIGSEGV));
    return 0;
}
