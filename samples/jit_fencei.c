/* jit_fencei: generate machine code at run time, make it executable, call it, then
 * overwrite it with different code and call it again. This is the self-modifying-code
 * case a binary translator must notice (fence.i / __builtin___clear_cache / mprotect /
 * munmap). The riscv64 build emits RISC-V code; the x86-64 build emits equivalent x86-64
 * code so that both builds print the same thing. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef long (*fn1)(long);

struct code {
    unsigned char bytes[256];
    size_t len;
};

#if defined(__riscv) && __riscv_xlen == 64
static void emit32(struct code *c, uint32_t insn)
{
    memcpy(c->bytes + c->len, &insn, 4);
    c->len += 4;
}

enum { ZERO = 0, RA = 1, T0 = 5, A0 = 10, A1 = 11 };

static uint32_t i_type(int32_t imm, int rs1, int f3, int rd, int op)
{
    return ((uint32_t)imm & 0xfff) << 20 | (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 |
           (uint32_t)rd << 7 | (uint32_t)op;
}
static uint32_t r_type(int f7, int rs2, int rs1, int f3, int rd, int op)
{
    return (uint32_t)f7 << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 |
           (uint32_t)rd << 7 | (uint32_t)op;
}
static uint32_t b_type(int32_t off, int rs2, int rs1, int f3)
{
    uint32_t o = (uint32_t)off;
    return ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | (uint32_t)rs2 << 20 |
           (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 | ((o >> 1) & 0xf) << 8 | ((o >> 11) & 1) << 7 |
           0x63;
}
static uint32_t j_type(int32_t off, int rd)
{
    uint32_t o = (uint32_t)off;
    return ((o >> 20) & 1) << 31 | ((o >> 1) & 0x3ff) << 21 | ((o >> 11) & 1) << 20 |
           ((o >> 12) & 0xff) << 12 | (uint32_t)rd << 7 | 0x6f;
}
/* li rd, imm32 as lui + addiw (sign-extends like the x86 mov below) */
static void li32(struct code *c, int rd, int32_t v)
{
    int32_t lo = (int32_t)((uint32_t)v << 20) >> 20;
    uint32_t hi = ((uint32_t)v - (uint32_t)lo) >> 12;
    emit32(c, hi << 12 | (uint32_t)rd << 7 | 0x37);   /* lui rd, hi */
    emit32(c, i_type(lo, rd, 0, rd, 0x1b));            /* addiw rd, rd, lo */
}
static void ret(struct code *c)
{
    emit32(c, i_type(0, RA, 0, ZERO, 0x67)); /* jalr x0, 0(ra) */
}

/* long f(long) { return v; } */
static void gen_const(struct code *c, int32_t v)
{
    c->len = 0;
    li32(c, A0, v);
    ret(c);
}
/* long f(long x) { return x * k + add; } */
static void gen_affine(struct code *c, int32_t k, int32_t add)
{
    c->len = 0;
    li32(c, T0, k);
    emit32(c, r_type(1, T0, A0, 0, A0, 0x33)); /* mul a0, a0, t0 */
    li32(c, T0, add);
    emit32(c, r_type(0, T0, A0, 0, A0, 0x33)); /* add a0, a0, t0 */
    ret(c);
}
/* long f(long n) { long s = 0; while (n != 0) { s += n; n--; } return s; } */
static void gen_sum_loop(struct code *c)
{
    c->len = 0;
    emit32(c, i_type(0, ZERO, 0, A1, 0x13));   /* 0:  li a1, 0 */
    emit32(c, b_type(16, ZERO, A0, 0));        /* 4:  beq a0, zero, +16 -> 20 */
    emit32(c, r_type(0, A0, A1, 0, A1, 0x33)); /* 8:  add a1, a1, a0 */
    emit32(c, i_type(-1, A0, 0, A0, 0x13));    /* 12: addi a0, a0, -1 */
    emit32(c, j_type(-12, ZERO));              /* 16: j -12 -> 4 */
    emit32(c, i_type(0, A1, 0, A0, 0x13));     /* 20: mv a0, a1 */
    ret(c);
}
static void sync_icache(void *p, size_t n)
{
    __builtin___clear_cache((char *)p, (char *)p + n);
    __asm__ volatile("fence.i" ::: "memory");
}
#elif defined(__x86_64__)
static void emit8(struct code *c, const unsigned char *b, size_t n)
{
    memcpy(c->bytes + c->len, b, n);
    c->len += n;
}

static void put_imm32(struct code *c, int32_t v)
{
    emit8(c, (const unsigned char *)&v, 4);
}
static void gen_const(struct code *c, int32_t v)
{
    static const unsigned char mov_rax[] = {0x48, 0xc7, 0xc0}, ret[] = {0xc3};
    c->len = 0;
    emit8(c, mov_rax, 3);
    put_imm32(c, v);
    emit8(c, ret, 1);
}
static void gen_affine(struct code *c, int32_t k, int32_t add)
{
    static const unsigned char imul[] = {0x48, 0x69, 0xc7}, addrax[] = {0x48, 0x05},
                               ret[] = {0xc3};
    c->len = 0;
    emit8(c, imul, 3); /* imul rax, rdi, k */
    put_imm32(c, k);
    emit8(c, addrax, 2); /* add rax, add */
    put_imm32(c, add);
    emit8(c, ret, 1);
}
static void gen_sum_loop(struct code *c)
{
    static const unsigned char body[] = {
        0x31, 0xc0,       /* xor eax, eax */
        0x48, 0x85, 0xff, /* test rdi, rdi */
        0x74, 0x08,       /* je end */
        0x48, 0x01, 0xf8, /* loop: add rax, rdi */
        0x48, 0xff, 0xcf, /* dec rdi */
        0x75, 0xf8,       /* jne loop */
        0xc3,             /* end: ret */
    };
    c->len = 0;
    emit8(c, body, sizeof body);
}
static void sync_icache(void *p, size_t n)
{
    __builtin___clear_cache((char *)p, (char *)p + n);
}
#else
#error "jit_fencei supports riscv64 and x86-64 only"
#endif

static void install(unsigned char *dst, const struct code *c)
{
    memcpy(dst, c->bytes, c->len);
    sync_icache(dst, c->len);
}

static long call(void *p, long arg)
{
    fn1 f;
    memcpy(&f, &p, sizeof f); /* object pointer -> function pointer, the POSIX way */
    return f(arg);
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    struct code c;

    /* 1. W^X style: write while RW, flip to RX, call; flip back, rewrite, call again. */
    unsigned char *wx = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (wx == MAP_FAILED) {
        perror("mmap RW");
        return 1;
    }
    gen_const(&c, 42);
    install(wx, &c);
    if (mprotect(wx, (size_t)page, PROT_READ | PROT_EXEC) != 0) {
        perror("mprotect RX");
        return 1;
    }
    printf("W^X: const function returned %ld\n", call(wx, 0));
    mprotect(wx, (size_t)page, PROT_READ | PROT_WRITE);
    gen_const(&c, -123456789);
    install(wx, &c);
    mprotect(wx, (size_t)page, PROT_READ | PROT_EXEC);
    printf("W^X: rewritten const function returned %ld\n", call(wx, 0));

    /* 2. One RWX mapping, rewritten in place many times, each followed by fence.i. */
    unsigned char *rwx = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE | PROT_EXEC,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED) {
        perror("mmap RWX");
        return 1;
    }
    gen_affine(&c, 3, 7);
    install(rwx, &c);
    printf("RWX: 3*x+7 at x=5 -> %ld\n", call(rwx, 5));
    gen_affine(&c, -2, 1000);
    install(rwx, &c);
    printf("RWX: rewritten -2*x+1000 at x=5 -> %ld\n", call(rwx, 5));

    long total = 0;
    for (int i = 0; i < 1000; i++) {
        gen_affine(&c, i % 17 - 8, i * 3);
        install(rwx, &c);
        long r = call(rwx, i);
        if (r != (long)(i % 17 - 8) * i + i * 3) {
            printf("RWX: stale code at round %d: got %ld\n", i, r);
            return 1;
        }
        total += r;
    }
    printf("RWX: 1000 rewrites, every call saw the new code, total=%ld\n", total);

    /* 3. Code that loops, placed across a page boundary. */
    gen_sum_loop(&c);
    unsigned char *straddle = rwx + page - 8;
    install(straddle, &c);
    printf("loop: sum(1..100000)=%ld sum(0)=%ld\n", call(straddle, 100000), call(straddle, 0));

    /* 4. Replace the mapping itself (MAP_FIXED) and put different code at the same address. */
    unsigned char *again = mmap(rwx, (size_t)page * 2, PROT_READ | PROT_WRITE | PROT_EXEC,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (again != rwx) {
        perror("mmap MAP_FIXED");
        return 1;
    }
    gen_const(&c, 777);
    install(again, &c);
    printf("remapped: const function returned %ld\n", call(again, 0));
    munmap(again, (size_t)page * 2);
    munmap(wx, (size_t)page);
    return 0;
}
