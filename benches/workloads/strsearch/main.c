/* String search in 4 MiB of text: Boyer-Moore-Horspool and a naive scan (hand-written)
 * against the C library's memmem and strstr, for a set of patterns. Every method must
 * count the same matches. Digest: FNV-1a of the match positions. */
#include "../common.h"

static long naive(const unsigned char *t, long n, const unsigned char *p, long m, uint64_t *h)
{
    long count = 0;
    for (long i = 0; i + m <= n; i++) {
        long k = 0;
        while (k < m && t[i + k] == p[k])
            k++;
        if (k == m) {
            count++;
            *h = fnv1a(*h, &i, sizeof i);
        }
    }
    return count;
}

static long horspool(const unsigned char *t, long n, const unsigned char *p, long m)
{
    long shift[256];
    for (int c = 0; c < 256; c++)
        shift[c] = m;
    for (long k = 0; k < m - 1; k++)
        shift[p[k]] = m - 1 - k;
    long count = 0;
    for (long i = 0; i + m <= n; i += shift[t[i + m - 1]]) {
        long k = m - 1;
        while (k >= 0 && t[i + k] == p[k])
            k--;
        if (k < 0)
            count++;
    }
    return count;
}

static long libc_memmem(const unsigned char *t, long n, const unsigned char *p, long m)
{
    long count = 0;
    const unsigned char *s = t, *end = t + n;
    while ((s = memmem(s, end - s, p, m)) != NULL) {
        count++;
        s++;
    }
    return count;
}

static long libc_strstr(const char *t, const char *p)
{
    long count = 0;
    for (const char *s = t; (s = strstr(s, p)) != NULL; s++)
        count++;
    return count;
}

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 8);
    const long n = 4 * 1024 * 1024;
    unsigned char *text = make_text(n + 1, 6);
    text[n] = 0;
    static const char *patterns[] = {
        "the", "translation", "instruction memory", "kernel signal process",
        "zzz", "guest, host", "4711", "value result system",
    };
    uint64_t digest = FNV_INIT;
    long total = 0;
    for (long round = 0; round < scale; round++) {
        for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++) {
            const unsigned char *p = (const unsigned char *)patterns[k];
            long m = (long)strlen(patterns[k]);
            long a = naive(text, n, p, m, &digest);
            long b = horspool(text, n, p, m);
            long c = libc_memmem(text, n, p, m);
            long d = libc_strstr((const char *)text, patterns[k]);
            if (a != b || a != c || a != d) {
                fprintf(stderr, "%s: naive %ld, horspool %ld, memmem %ld, strstr %ld\n",
                        patterns[k], a, b, c, d);
                return 1;
            }
            total += a;
        }
        text[(round * 65537) % n] = 'x';
    }
    printf("strsearch: %ld rounds, %ld matches, digest %016llx\n", scale, total,
           (unsigned long long)digest);
    return 0;
}
