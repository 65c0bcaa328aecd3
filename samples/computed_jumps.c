/* computed_jumps: indirect calls and jumps whose targets exist only at run time.
 * Function addresses are stored XOR-ed with a key derived from the environment of the
 * run (argc), and a threaded bytecode interpreter jumps through label offsets, so a
 * static code-discovery pass cannot resolve the targets. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t (*op_fn)(uint64_t, uint64_t);

__attribute__((noinline)) static uint64_t f_mix(uint64_t a, uint64_t b)
{
    return (a ^ (b << 7)) * 0x100000001b3ull;
}
__attribute__((noinline)) static uint64_t f_add(uint64_t a, uint64_t b)
{
    return a + b + 1;
}
__attribute__((noinline)) static uint64_t f_rot(uint64_t a, uint64_t b)
{
    unsigned r = (unsigned)(b & 63);
    return r ? (a << r) | (a >> (64 - r)) : a;
}
__attribute__((noinline)) static uint64_t f_sub(uint64_t a, uint64_t b)
{
    return a - (b | 3);
}
__attribute__((noinline)) static uint64_t f_mulhi(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * (b | 1)) >> 64) ^ a;
}

/* Tail-call chain through encoded pointers: each step picks the next one. */
static uintptr_t chain[4];
static uintptr_t key;

__attribute__((noinline)) static uint64_t hop(uint64_t n, uint64_t acc);
__attribute__((noinline)) static uint64_t hop_a(uint64_t n, uint64_t acc)
{
    return hop(n - 1, acc * 3 + n);
}
__attribute__((noinline)) static uint64_t hop_b(uint64_t n, uint64_t acc)
{
    return hop(n - 1, acc ^ (n << 9));
}
__attribute__((noinline)) static uint64_t hop_c(uint64_t n, uint64_t acc)
{
    return hop(n - 1, acc + 0x9e3779b9u);
}
__attribute__((noinline)) static uint64_t hop_d(uint64_t n, uint64_t acc)
{
    return hop(n - 1, acc - n * n);
}
__attribute__((noinline)) static uint64_t hop(uint64_t n, uint64_t acc)
{
    if (n == 0)
        return acc;
    uint64_t (*next)(uint64_t, uint64_t);
    uintptr_t p = chain[(acc ^ n) & 3] ^ key;
    memcpy(&next, &p, sizeof next);
    return next(n, acc);
}

/* A tiny register machine with threaded dispatch through label *offsets* that are
 * scrambled with a run-time salt: no code address appears anywhere in data. */
enum { OP_LOADI, OP_MOV, OP_ADD, OP_MUL, OP_XOR, OP_DEC, OP_JNZ, OP_HALT };

__attribute__((noinline)) static int64_t run_vm(const int *prog, int salt)
{
    static const int offsets[] = {&&do_loadi - &&base, &&do_mov - &&base, &&do_add - &&base,
                                  &&do_mul - &&base,   &&do_xor - &&base, &&do_dec - &&base,
                                  &&do_jnz - &&base,   &&do_halt - &&base};
    int scrambled[8];
    for (int i = 0; i < 8; i++)
        scrambled[i] = offsets[i] ^ salt;
    int64_t r[4] = {0, 0, 0, 0};
    int pc = 0;
#define NEXT goto *(&&base + (scrambled[prog[pc++]] ^ salt))
base:
    NEXT;
do_loadi: /* LOADI rd, imm */
    r[prog[pc]] = prog[pc + 1];
    pc += 2;
    NEXT;
do_mov: /* MOV rd, rs */
    r[prog[pc]] = r[prog[pc + 1]];
    pc += 2;
    NEXT;
do_add:
    r[prog[pc]] += r[prog[pc + 1]];
    pc += 2;
    NEXT;
do_mul:
    r[prog[pc]] *= r[prog[pc + 1]];
    pc += 2;
    NEXT;
do_xor:
    r[prog[pc]] ^= r[prog[pc + 1]];
    pc += 2;
    NEXT;
do_dec: /* DEC rd */
    r[prog[pc]]--;
    pc += 1;
    NEXT;
do_jnz: /* JNZ rs, target */
    pc = r[prog[pc]] != 0 ? prog[pc + 1] : pc + 2;
    NEXT;
do_halt: /* HALT rs */
    return r[prog[pc]];
#undef NEXT
}

int main(int argc, char **argv)
{
    (void)argv;
    /* The key depends on argc (1 in every normal run), so it is unknown at translation time. */
    key = (uintptr_t)0x5a5aa5a5c3c33c3cull * (uintptr_t)(argc + 6);

    op_fn plain[] = {f_mix, f_add, f_rot, f_sub, f_mulhi};
    uintptr_t encoded[5];
    for (int i = 0; i < 5; i++) {
        uintptr_t p;
        memcpy(&p, &plain[i], sizeof p);
        encoded[i] = p ^ key;
    }
    memset(plain, 0, sizeof plain); /* only the encoded copies remain */

    uint64_t acc = 1;
    unsigned long calls[5] = {0};
    for (uint64_t i = 0; i < 200000; i++) {
        unsigned which = (unsigned)((acc >> 17) ^ i) % 5;
        uintptr_t p = encoded[which] ^ key;
        op_fn f;
        memcpy(&f, &p, sizeof f);
        acc = f(acc, i);
        calls[which]++;
    }
    printf("encoded calls: acc=%016llx per-target=%lu,%lu,%lu,%lu,%lu\n", (unsigned long long)acc,
           calls[0], calls[1], calls[2], calls[3], calls[4]);

    uint64_t (*hops[4])(uint64_t, uint64_t) = {hop_a, hop_b, hop_c, hop_d};
    for (int i = 0; i < 4; i++) {
        uintptr_t p;
        memcpy(&p, &hops[i], sizeof p);
        chain[i] = p ^ key;
    }
    printf("hop chain: %016llx\n", (unsigned long long)hop(5000, 7));

    /* sum over n = 1000..1 of (n*n ^ 5) */
    static const int prog[] = {
        OP_LOADI, 0, 0,    /* 0: r0 = 0 (sum) */
        OP_LOADI, 1, 1000, /* 3: r1 = 1000 (n) */
        OP_LOADI, 3, 5,    /* 6: r3 = 5 */
        OP_MOV,   2, 1,    /* 9: r2 = n */
        OP_MUL,   2, 1,    /* 12: r2 *= n */
        OP_XOR,   2, 3,    /* 15: r2 ^= 5 */
        OP_ADD,   0, 2,    /* 18: sum += r2 */
        OP_DEC,   1,       /* 21: n-- */
        OP_JNZ,   1, 9,    /* 23: loop while n != 0 */
        OP_HALT,  0,       /* 26 */
    };
    int64_t vm_total = 0;
    for (int round = 0; round < 50; round++)
        vm_total += run_vm(prog, (int)(key >> 7) & 0x3ff0) + round;
    printf("threaded VM: one run=%lld, 50 runs=%lld\n",
           (long long)run_vm(prog, (int)key & 0x7ff0), (long long)vm_total);
    return 0;
}
