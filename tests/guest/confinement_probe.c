/* Confinement probe (tests/confinement.rs): `probe <case>` makes one access, jump or
 * batch of system calls that a process not owning the memory must see fail. Fault cases
 * print their name, then fault: the process must die of SIGSEGV (status 139) and print
 * nothing more. `probe syscalls` prints one line per call with its result. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GIB64 ((uintptr_t)1 << 36)

static const char *err(long r)
{
    if (r >= 0)
        return "ok";
    switch (errno) {
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: return strerror(errno);
    }
}

#define SYS(what, call) do { errno = 0; long r_ = (long)(call); printf("%s: %s\n", what, err(r_)); } while (0)
#define MAPS(addr, len, flags) (syscall(SYS_mmap, (uintptr_t)(addr), (size_t)(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (flags), -1, 0) == -1 ? -1 : 0)

static int local = 42;

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *c = argv[1];
    int here = 1;
    uintptr_t stack = (uintptr_t)&here;
    char *heap = malloc(64);
    strcpy(heap, "heap");
    uintptr_t addr = 0;
    int kind = 0; /* 1 load, 2 store, 3 jump */
    if (!strcmp(c, "load-null")) { kind = 1; addr = 0x10; }
    else if (!strcmp(c, "load-64gib")) { kind = 1; addr = GIB64; }
    else if (!strcmp(c, "store-1tib")) { kind = 2; addr = (uintptr_t)1 << 40; }
    else if (!strcmp(c, "load-stack+64gib")) { kind = 1; addr = stack + GIB64; }
    else if (!strcmp(c, "store-heap+64gib")) { kind = 2; addr = (uintptr_t)heap + GIB64; }
    else if (!strcmp(c, "store-data+64gib")) { kind = 2; addr = (uintptr_t)&local + GIB64; }
    else if (!strcmp(c, "load-stack+2^47")) { kind = 1; addr = stack + ((uintptr_t)1 << 47); }
    else if (!strcmp(c, "load-host-binary")) { kind = 1; addr = 0x555555554000ul; }
    else if (!strcmp(c, "store-host-libraries")) { kind = 2; addr = 0x7f0000000000ul; }
    else if (!strcmp(c, "store-host-stack")) { kind = 2; addr = 0x7ffffffde000ul; }
    else if (!strcmp(c, "load-kernel-half")) { kind = 1; addr = 0xffffffc000000000ul; }
    else if (!strcmp(c, "store-negative")) { kind = 2; addr = (uintptr_t)-4096; }
    else if (!strcmp(c, "load-wraps-around")) { kind = 1; addr = (uintptr_t)heap - 2 * GIB64; }
    else if (!strcmp(c, "jump-1tib")) { kind = 3; addr = (uintptr_t)1 << 40; }
    else if (!strcmp(c, "jump-host-binary")) { kind = 3; addr = 0x555555554000ul; }
    else if (!strcmp(c, "jump-kernel-half")) { kind = 3; addr = 0xffffffc000000000ul; }
    else if (!strcmp(c, "jump-heap")) { kind = 3; addr = (uintptr_t)heap; }
    else if (!strcmp(c, "jump-code+64gib")) { kind = 3; addr = (uintptr_t)&main + GIB64; }
    if (kind) {
        printf("%s\n", c);
        fflush(stdout);
        if (kind == 1)
            printf("loaded %d\n", *(volatile char *)addr);
        else if (kind == 2)
            *(volatile char *)addr = 1;
        else
            ((void (*)(void))addr)();
        printf("survived\n");
        return 0;
    }
    if (strcmp(c, "syscalls") != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    volatile size_t huge = (size_t)1 << 40;
    SYS("write(1 TiB)", write(1, (void *)((uintptr_t)1 << 40), 16));
    SYS("write(stack + 64 GiB)", write(1, (void *)(stack + GIB64), 4));
    SYS("write(host libraries)", write(1, (void *)0x7f0000001000ul, 16));
    SYS("write(wraps around)", write(1, (void *)(uintptr_t)-4096, 8192));
    SYS("write(straddles 64 GiB)", write(1, (void *)(GIB64 - 8), 16));
    int fd = open("/dev/zero", O_RDONLY);
    SYS("read(kernel half)", read(fd, (void *)0xffffffc000000000ul, 16));
    SYS("read(host stack)", read(fd, (void *)0x7ffffffde000ul, 16));
    /* Linux fills what is mapped and returns the count; qemu checks the whole range
     * first and returns EFAULT. Either way nothing outside the two pages changes. */
    char *two = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + 2 * 4096, 4096);
    errno = 0;
    long got = read(fd, two, huge);
    printf("read(two pages, huge length): %s\n", got > 0 && got <= 2 * 4096 ? "short" : err(got));
    struct stat st;
    SYS("stat(path at 1 TiB)", stat((const char *)((uintptr_t)1 << 40), &st));
    SYS("stat(buffer at host binary)", stat("/", (struct stat *)0x555555554000ul));
    SYS("stat(buffer at stack + 64 GiB)", stat("/", (struct stat *)(stack + GIB64)));
    SYS("clock_gettime(negative)", syscall(SYS_clock_gettime, 0, (void *)(uintptr_t)-64));
    SYS("getcwd(kernel half)", syscall(SYS_getcwd, (void *)0xffffffc000000000ul, 256));
    SYS("pipe2(host binary)", syscall(SYS_pipe2, (void *)0x555555554000ul, 0));
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 7;
    SYS("mmap FIXED at 1 TiB", MAPS((uintptr_t)1 << 40, 4096, MAP_FIXED));
    SYS("mmap FIXED at host libraries", MAPS(0x7f0000000000ul, 4096, MAP_FIXED));
    SYS("mmap FIXED straddling 64 GiB", MAPS(GIB64 - 4096, 8192, MAP_FIXED));
    SYS("mmap FIXED_NOREPLACE at host binary", MAPS(0x555555554000ul, 4096, MAP_FIXED_NOREPLACE));
    SYS("mmap FIXED in the kernel half", MAPS(0xffffffc000000000ul, 4096, MAP_FIXED));
    SYS("mmap FIXED wrapping around", MAPS((uintptr_t)-8192, 16384, MAP_FIXED));
    SYS("mmap 2^62 bytes", MAPS(0, (uintptr_t)1 << 62, 0));
    SYS("mmap -4096 bytes", MAPS(0, (uintptr_t)-4096, 0));
    SYS("mprotect host libraries", mprotect((void *)0x7f0000000000ul, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
    SYS("mprotect kernel half", mprotect((void *)0xffffffc000000000ul, 4096, PROT_READ));
    SYS("mprotect wrapping around", mprotect((void *)(uintptr_t)-8192, 16384, PROT_READ));
    SYS("mprotect straddling 64 GiB", mprotect((void *)(GIB64 - 4096), 8192, PROT_READ));
    SYS("munmap kernel half", munmap((void *)0xffffffc000000000ul, 4096));
    SYS("munmap wrapping around", munmap((void *)(uintptr_t)-8192, 16384));
    errno = 0;
    long moved = syscall(SYS_mremap, page, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, 0x7f0000000000ul);
    printf("mremap to host libraries: %s\n", err(moved == -1 ? -1 : 0));
    if (moved != -1)
        page = (char *)moved;
    SYS("mremap growing to 2^62 bytes", syscall(SYS_mremap, page, 4096, (uintptr_t)1 << 62, MREMAP_MAYMOVE) == -1 ? -1 : 0);
    printf("page still there %d, heap intact %d, data intact %d\n", page[0] == 7, strcmp(heap, "heap") == 0, local == 42);
    printf("alive\n");
    return 0;
}
