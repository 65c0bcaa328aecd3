/* A tiny static program without libc: the seed for the `elf`, `aot` and `cache_entry`
 * fuzz targets (`cargo xtask fuzz-targets` builds it for riscv64, aarch64 and x86-64 and
 * translates the riscv64 build). Small, so that libFuzzer mutates it quickly, but with
 * what discovery looks for: calls, a function pointer in data, a jump table, a loop. */
typedef long (*op_fn)(long);

static long twice(long x) { return 2 * x; }
static long negate(long x) { return -x; }
static long bump(long x) { return x + 7; }

op_fn ops[] = {twice, negate, bump};

__attribute__((noinline)) static long pick(long k, long x)
{
    switch (k) {
    case 0: return x + 1;
    case 1: return x ^ 0x55;
    case 2: return x * 3;
    case 3: return x >> 2;
    case 4: return x - 9;
    case 5: return ~x;
    default: return ops[k % 3](x);
    }
}

void _start(void)
{
    long acc = 1;
    for (long i = 0; i < 40; i++)
        acc = pick(i % 9, acc);
    for (;;)
        __asm__ volatile("" : : "r"(acc) : "memory");
}
