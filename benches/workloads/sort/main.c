/* Sorting: a hand-written introsort-free quicksort (median of three, insertion sort
 * below 16) of 64-bit integers, a merge sort of the same, and the C library's qsort
 * with a comparison callback on 24-byte records. Checked sorted; digest: FNV-1a of
 * the sorted data. */
#include "../common.h"

struct rec {
    uint32_t key;
    uint32_t seq;
    char tag[16];
};

static void insertion(uint64_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        uint64_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quick(uint64_t *a, long n)
{
    while (n > 16) {
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        long i = 0, j = n - 1;
        for (;;) {
            while (a[i] < p)
                i++;
            while (a[j] > p)
                j--;
            if (i >= j)
                break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* Recurse into the smaller half. */
        if (j + 1 < n - j - 1) {
            quick(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            quick(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion(a, n);
}

static void merge_sort(uint64_t *a, uint64_t *tmp, long n)
{
    if (n <= 16) {
        insertion(a, n);
        return;
    }
    long h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    long i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int cmp_rec(const void *pa, const void *pb)
{
    const struct rec *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 4);
    const long n = 400000;
    uint64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *tmp = malloc(n * 8);
    struct rec *r = malloc(n * sizeof *r);
    uint64_t digest = FNV_INIT;
    rng_seed(9);
    for (long round = 0; round < scale; round++) {
        for (long i = 0; i < n; i++) {
            a[i] = b[i] = rng_next() >> (round % 3 == 2 ? 44 : 0); /* some rounds: many duplicates */
            r[i].key = (uint32_t)(rng_next() >> 48);
            r[i].seq = (uint32_t)i;
            snprintf(r[i].tag, sizeof r[i].tag, "r%ld", i);
        }
        quick(a, n);
        merge_sort(b, tmp, n);
        qsort(r, n, sizeof *r, cmp_rec);
        for (long i = 1; i < n; i++)
            if (a[i - 1] > a[i] || a[i] != b[i] || cmp_rec(&r[i - 1], &r[i]) > 0) {
                fprintf(stderr, "not sorted at %ld\n", i);
                return 1;
            }
        digest = fnv1a(digest, a, n * sizeof *a);
        digest = fnv1a(digest, r, n * sizeof *r);
    }
    printf("sort: %ld rounds of %ld, min %llu max %llu, digest %016llx\n", scale, n,
           (unsigned long long)a[0], (unsigned long long)a[n - 1], (unsigned long long)digest);
    return 0;
}
