/* signals: guest signal handlers — raise/kill with siginfo, blocked signals left pending
 * and delivered when unblocked, handler masks, an alternate signal stack, SA_RESETHAND,
 * an illegal instruction caught by a SIGILL handler and left with siglongjmp, and a
 * handler that edits nothing and returns (rt_sigreturn restores every register). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static volatile sig_atomic_t hits[65];
static volatile int last_code;
static volatile int nested_blocked;
static char *alt_lo, *alt_hi;
static volatile int on_alt;
static sigjmp_buf env;

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    hits[sig]++;
    last_code = info->si_code;
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    /* The signal itself is blocked while its handler runs (no SA_NODEFER). */
    nested_blocked = sigismember(&cur, sig);
    char here;
    on_alt = &here >= alt_lo && &here < alt_hi;
}

static void on_sigill(int sig)
{
    hits[sig]++;
    siglongjmp(env, 1);
}

static void illegal_instruction(void)
{
#if defined(__riscv)
    __asm__ volatile(".word 0");
#elif defined(__x86_64__)
    __asm__ volatile("ud2");
#else
#error "unsupported architecture"
#endif
}

/* Work whose registers must survive a handler running in the middle of it. */
static uint64_t busy(uint64_t seed)
{
    uint64_t a = seed, b = seed * 3, c = seed ^ 0x5555, d = 7;
    for (int i = 0; i < 100; i++) {
        a = a * 6364136223846793005ull + b;
        b ^= a >> 7;
        c += a ^ b;
        d = d * 31 + c;
        if (i == 50)
            raise(SIGUSR1);
    }
    return a ^ b ^ c ^ d;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    raise(SIGUSR1);
    printf("raise: SIGUSR1 handled %d time(s), si_code %d (SI_TKILL), blocked inside: %d\n",
           hits[SIGUSR1], last_code, nested_blocked);
    kill(getpid(), SIGUSR2);
    printf("kill: SIGUSR2 handled %d time(s), si_code %d (SI_USER)\n", hits[SIGUSR2],
           last_code);

    sigset_t block, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR2);
    sigpending(&pending);
    printf("blocked: handled %d, pending %d\n", hits[SIGUSR2], sigismember(&pending, SIGUSR2));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("unblocked: handled %d\n", hits[SIGUSR2]);

    uint64_t expect = 0;
    {
        /* The same computation with the handler ignored, for comparison. */
        struct sigaction ign = {0}, old;
        ign.sa_handler = SIG_IGN;
        sigaction(SIGUSR1, &ign, &old);
        expect = busy(12345);
        sigaction(SIGUSR1, &old, NULL);
    }
    int before = hits[SIGUSR1];
    uint64_t got = busy(12345);
    printf("registers across a handler: %s (handled %d)\n", got == expect ? "intact" : "CLOBBERED",
           hits[SIGUSR1] - before);

    static char altstack[64 * 1024];
    alt_lo = altstack;
    alt_hi = altstack + sizeof altstack;
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("sigaltstack: handler ran on the alternate stack: %d\n", on_alt);
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("without SA_ONSTACK: on the alternate stack: %d\n", on_alt);

    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    printf("SA_RESETHAND: back to default: %d\n", now.sa_handler == SIG_DFL);

    struct sigaction ill = {0};
    ill.sa_handler = on_sigill;
    sigaction(SIGILL, &ill, NULL);
    for (int round = 0; round < 3; round++) {
        if (sigsetjmp(env, 1) == 0) {
            illegal_instruction();
            printf("not reached\n");
        }
    }
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("SIGILL: caught %d time(s), SIGILL unblocked again: %d\n", hits[SIGILL],
           !sigismember(&cur, SIGILL));
    fflush(stdout);
    return 0;
}
