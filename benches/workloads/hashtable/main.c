/* An open-addressing hash table (linear probing, backward-shift deletion) of 64-bit keys
 * and values: a mix of inserts, lookups (hits and misses) and deletes, with the table
 * growing from 16 slots. Digest: FNV-1a of the lookup results. */
#include "../common.h"

struct table {
    uint64_t *keys, *vals;
    size_t cap, len;
};

#define EMPTY 0

static inline size_t slot(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static void grow(struct table *t);

static void put(struct table *t, uint64_t k, uint64_t v)
{
    if ((t->len + 1) * 4 > t->cap * 3)
        grow(t);
    size_t i = slot(k, t->cap);
    while (t->keys[i] != EMPTY && t->keys[i] != k)
        i = (i + 1) & (t->cap - 1);
    if (t->keys[i] == EMPTY)
        t->len++;
    t->keys[i] = k;
    t->vals[i] = v;
}

static void grow(struct table *t)
{
    struct table n = {calloc(t->cap * 2, 8), calloc(t->cap * 2, 8), t->cap * 2, 0};
    for (size_t i = 0; i < t->cap; i++)
        if (t->keys[i] != EMPTY)
            put(&n, t->keys[i], t->vals[i]);
    free(t->keys);
    free(t->vals);
    *t = n;
}

static int get(const struct table *t, uint64_t k, uint64_t *v)
{
    size_t i = slot(k, t->cap);
    while (t->keys[i] != EMPTY) {
        if (t->keys[i] == k) {
            *v = t->vals[i];
            return 1;
        }
        i = (i + 1) & (t->cap - 1);
    }
    return 0;
}

static int del(struct table *t, uint64_t k)
{
    size_t i = slot(k, t->cap);
    while (t->keys[i] != k) {
        if (t->keys[i] == EMPTY)
            return 0;
        i = (i + 1) & (t->cap - 1);
    }
    /* Backward shift: move later entries of the cluster into the hole. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & (t->cap - 1);
        if (t->keys[j] == EMPTY)
            break;
        size_t home = slot(t->keys[j], t->cap);
        if (((j - home) & (t->cap - 1)) >= ((j - i) & (t->cap - 1))) {
            t->keys[i] = t->keys[j];
            t->vals[i] = t->vals[j];
            i = j;
        }
    }
    t->keys[i] = EMPTY;
    t->len--;
    return 1;
}

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 12);
    uint64_t digest = FNV_INIT;
    unsigned long hits = 0, deleted = 0;
    size_t final_len = 0;
    for (long round = 0; round < scale; round++) {
        struct table t = {calloc(16, 8), calloc(16, 8), 16, 0};
        rng_seed(100 + round);
        const long ops = 1000000;
        for (long i = 0; i < ops; i++) {
            uint64_t r = rng_next();
            uint64_t k = (r >> 8) % 400000 + 1; /* never EMPTY */
            uint64_t v;
            switch (r & 7) {
            case 0: case 1: case 2:
                put(&t, k, r);
                break;
            case 3:
                deleted += del(&t, k);
                break;
            default:
                if (get(&t, k, &v)) {
                    hits++;
                    digest = fnv1a(digest, &v, sizeof v);
                } else {
                    digest = fnv1a(digest, &k, sizeof k);
                }
            }
        }
        final_len += t.len;
        free(t.keys);
        free(t.vals);
    }
    printf("hashtable: %ld rounds, %lu hits, %lu deleted, %zu left, digest %016llx\n", scale,
           hits, deleted, final_len, (unsigned long long)digest);
    return 0;
}
