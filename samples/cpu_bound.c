/* cpu_bound: a CPU-bound benchmark kernel (integer hashing, a double-precision matrix
 * multiply, a prime sieve). The default of 200 iterations runs for about a second
 * natively; argv[1] sets the iteration count. Prints a digest of all results.
 * Matrix entries are small integers, so every double operation is exact and fused
 * multiply-adds (which riscv64 compilers emit and x86-64 ones do not) give the same result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_WORDS 4096
#define HASH_ROUNDS 600000
#define MAT 64
#define SIEVE_LIMIT 1000000

static uint64_t table[HASH_WORDS];
static double ma[MAT][MAT], mb[MAT][MAT], mc[MAT][MAT];
static unsigned char composite[SIEVE_LIMIT + 1];

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_kernel(uint64_t seed)
{
    uint64_t h = seed;
    for (uint32_t i = 0; i < HASH_ROUNDS; i++) {
        uint32_t idx = (uint32_t)(h >> 20) & (HASH_WORDS - 1);
        uint64_t v = table[idx];
        h = mix64(h ^ v) + i;
        table[idx] = v + (h | 1);
        h = (h << 7 | h >> 57) ^ (uint64_t)idx;
    }
    return h;
}

static uint64_t matrix_kernel(unsigned iter)
{
    for (int i = 0; i < MAT; i++)
        for (int j = 0; j < MAT; j++) {
            ma[i][j] = (double)((int)((i * 7 + j * 3 + iter) % 9) - 4);
            mb[i][j] = (double)((int)((i * 5 + j * 11 + iter * 3) % 7) - 3);
        }
    /* Three chained products: C = A*B, A = C mod 5 - 2, C = A*B, ... */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < MAT; i++)
            for (int j = 0; j < MAT; j++) {
                double s = 0.0;
                for (int k = 0; k < MAT; k++)
                    s += ma[i][k] * mb[k][j];
                mc[i][j] = s;
            }
        for (int i = 0; i < MAT; i++)
            for (int j = 0; j < MAT; j++) {
                long v = (long)mc[i][j];
                ma[i][j] = (double)(((v % 5) + 5) % 5 - 2);
            }
    }
    uint64_t d = 0;
    for (int i = 0; i < MAT; i++)
        for (int j = 0; j < MAT; j++)
            d = d * 31 + (uint64_t)(int64_t)mc[i][j];
    return d;
}

static uint64_t sieve_kernel(unsigned iter)
{
    unsigned limit = SIEVE_LIMIT - (iter % 16) * 1000;
    memset(composite, 0, limit + 1);
    uint64_t count = 0, sum = 0;
    for (unsigned i = 2; i <= limit; i++) {
        if (composite[i])
            continue;
        count++;
        sum += i;
        for (unsigned long j = (unsigned long)i * i; j <= limit; j += i)
            composite[j] = 1;
    }
    return count << 32 ^ sum;
}

int main(int argc, char **argv)
{
    long iters = 200;
    if (argc > 1) {
        char *end;
        iters = strtol(argv[1], &end, 10);
        if (*end != '\0' || iters < 0) {
            fprintf(stderr, "usage: cpu_bound [iterations]\n");
            return 2;
        }
    }
    for (int i = 0; i < HASH_WORDS; i++)
        table[i] = mix64((uint64_t)i + 1);

    uint64_t digest = 0x243f6a8885a308d3ull, hsum = 0, msum = 0, ssum = 0;
    for (long it = 0; it < iters; it++) {
        uint64_t h = hash_kernel(digest ^ (uint64_t)it);
        uint64_t m = matrix_kernel((unsigned)it);
        uint64_t s = sieve_kernel((unsigned)it);
        hsum += h;
        msum ^= m;
        ssum += s;
        digest = mix64(digest ^ h ^ (m << 1) ^ (s << 2));
    }
    printf("cpu_bound: iterations=%ld\n", iters);
    printf("hash=%016llx matrix=%016llx sieve=%016llx\n", (unsigned long long)hsum,
           (unsigned long long)msum, (unsigned long long)ssum);
    printf("digest=%016llx\n", (unsigned long long)digest);
    return 0;
}
