/* Shared by the benchmark drivers (benches/workloads/NAME/main.c): a deterministic
 * generator, a digest, and compressible text. Everything here is exact integer
 * arithmetic, so that every ISA's build prints the same digest. */
#ifndef VMX_BENCH_COMMON_H
#define VMX_BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64* */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static inline void rng_seed(uint64_t s) { rng_state = s ? s : 1; }

/* FNV-1a, 64-bit. */
static inline uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

/* The work size: argv[1] if given, else `dflt`. */
static inline long scale_arg(int argc, char **argv, long dflt)
{
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (*end || v <= 0) {
            fprintf(stderr, "usage: %s [scale > 0]\n", argv[0]);
            exit(2);
        }
        return v;
    }
    return dflt;
}

/* `n` bytes of English-like text (words with a skewed distribution, punctuation,
 * line breaks) and some runs of digits: compressible about 3:1, like real text. */
static inline unsigned char *make_text(size_t n, uint64_t seed)
{
    static const char *words[] = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was",
        "with", "be", "by", "on", "not", "he", "translation", "this", "are", "or",
        "his", "from", "at", "which", "but", "have", "an", "had", "they", "you",
        "were", "their", "one", "all", "we", "can", "her", "has", "there", "been",
        "if", "more", "when", "will", "would", "who", "so", "no", "register",
        "instruction", "memory", "compiler", "guest", "host", "binary", "program",
        "function", "value", "result", "system", "process", "kernel", "signal",
    };
    const size_t nwords = sizeof words / sizeof words[0];
    unsigned char *buf = malloc(n);
    if (!buf) {
        perror("malloc");
        exit(1);
    }
    uint64_t saved = rng_state;
    rng_seed(seed);
    size_t i = 0, col = 0;
    while (i < n) {
        uint64_t r = rng_next();
        /* Skewed: small indices far more often. */
        size_t w = (size_t)((r >> 32) % nwords);
        w = (w * w) / nwords;
        const char *s = words[w];
        if ((r & 63) == 0) {
            char num[24];
            int len = snprintf(num, sizeof num, "%llu", (unsigned long long)(r >> 40));
            for (int k = 0; k < len && i < n; k++)
                buf[i++] = (unsigned char)num[k];
        } else {
            for (; *s && i < n; s++)
                buf[i++] = (unsigned char)*s;
        }
        col += 6;
        if (i < n)
            buf[i++] = (r & 0xf00) == 0 ? '.' : (r & 0xf000) == 0 ? ',' : ' ';
        if (col > 70 && i < n) {
            buf[i++] = '\n';
            col = 0;
        }
    }
    rng_state = saved;
    return buf;
}

#endif
