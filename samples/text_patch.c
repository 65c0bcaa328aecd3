/* text_patch: the program rewrites a function in its own text segment (the code a binary
 * translator translated ahead of time), flushes the instruction cache, and calls it
 * again, directly and through a pointer; then patches it back. Every call must run the
 * code that is there at the time. The riscv64 build writes RISC-V code, the x86-64 build
 * the equivalent x86-64 code, so both print the same thing. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Alone on its page, so making that page writable touches nothing else. */
__attribute__((noipa, aligned(4096), section(".text.patchme"))) long patchme(long x)
{
    return x + 1;
}

/* Something translated that calls `patchme` directly. */
__attribute__((noipa)) long twice(long x)
{
    return patchme(x) + patchme(x);
}

static unsigned char original[64];

#if defined(__riscv) && __riscv_xlen == 64
/* long f(long x) { return x * 100 + k; }  (k < 2048) */
static size_t gen(unsigned char *p, int32_t k)
{
    uint32_t code[] = {
        0x06400293,                                           /* li t0, 100 */
        0x02550533,                                           /* mul a0, a0, t0 */
        ((uint32_t)k & 0xfff) << 20 | 10u << 15 | 10u << 7 | 0x13, /* addi a0, a0, k */
        0x00008067,                                           /* ret */
    };
    memcpy(p, code, sizeof code);
    return sizeof code;
}
static void flush(void *p, size_t n)
{
    __builtin___clear_cache((char *)p, (char *)p + n);
}
#elif defined(__x86_64__)
static size_t gen(unsigned char *p, int32_t k)
{
    unsigned char code[] = {
        0x48, 0x6b, 0xc7, 0x64, /* imul rax, rdi, 100 */
        0x48, 0x05, 0, 0, 0, 0, /* add rax, k */
        0xc3,                   /* ret */
    };
    memcpy(code + 6, &k, 4);
    memcpy(p, code, sizeof code);
    return sizeof code;
}
static void flush(void *p, size_t n)
{
    (void)p;
    (void)n;
}
#else
#error "unsupported architecture"
#endif

int main(void)
{
    long (*volatile indirect)(long) = patchme;
    unsigned char *page = (unsigned char *)(uintptr_t)patchme;
    long pagesize = sysconf(_SC_PAGESIZE);

    printf("original: patchme(5)=%ld twice(5)=%ld indirect(5)=%ld\n", patchme(5), twice(5),
           indirect(5));
    memcpy(original, page, sizeof original);
    if (mprotect(page, (size_t)pagesize, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        perror("mprotect");
        return 1;
    }
    for (int k = 1; k <= 3; k++) {
        size_t n = gen(page, k * 7);
        flush(page, n);
        printf("patch %d: patchme(5)=%ld twice(5)=%ld indirect(5)=%ld\n", k, patchme(5),
               twice(5), indirect(5));
    }
    memcpy(page, original, sizeof original);
    flush(page, sizeof original);
    if (mprotect(page, (size_t)pagesize, PROT_READ | PROT_EXEC) != 0) {
        perror("mprotect");
        return 1;
    }
    printf("restored: patchme(5)=%ld twice(5)=%ld indirect(5)=%ld\n", patchme(5), twice(5),
           indirect(5));
    return 0;
}
