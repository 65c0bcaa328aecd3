/* malloc_heavy: many mallocs, callocs, reallocs and frees of small and large (mmap-sized)
 * blocks, with every block's contents verified before it is released. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 2048
#define OPS 100000

struct slot {
    unsigned char *p;
    size_t size;
    unsigned char seed;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t pick_size(void)
{
    uint64_t r = next();
    switch (r % 16) {
    case 0:
        return 0; /* malloc(0) is allowed to return a unique pointer or NULL */
    case 1:
    case 2:
        return 1 + (r >> 8) % 8;
    case 15:
        return (r >> 8) % 8 == 0 ? 132 * 1024 + (r >> 16) % (128 * 1024) : 4096 + (r >> 16) % 8192;
    default:
        return 1 + (r >> 8) % 512;
    }
}

/* Large blocks are touched sparsely (every 61st byte and the last one) to keep this quick. */
static size_t stride(size_t size)
{
    return size > 4096 ? 61 : 1;
}

static void fill(struct slot *s)
{
    size_t step = stride(s->size);
    for (size_t i = 0; i < s->size; i += step)
        s->p[i] = (unsigned char)(s->seed + i * 13);
    if (s->size > 0)
        s->p[s->size - 1] = (unsigned char)(s->seed + (s->size - 1) * 13);
}

static int verify(const struct slot *s, size_t n)
{
    size_t step = stride(s->size);
    for (size_t i = 0; i < n; i += step)
        if (s->p[i] != (unsigned char)(s->seed + i * 13))
            return 0;
    return 1;
}

static uint64_t sum_block(const struct slot *s)
{
    uint64_t h = s->size;
    size_t step = stride(s->size);
    for (size_t i = 0; i < s->size; i += step)
        h = h * 1099511628211ull + s->p[i];
    return h;
}

int main(void)
{
    static struct slot slots[SLOTS];
    uint64_t checksum = 0;
    unsigned long mallocs = 0, callocs = 0, reallocs = 0, frees = 0, bad = 0;
    size_t live_bytes = 0, peak_bytes = 0;

    for (int op = 0; op < OPS; op++) {
        struct slot *s = &slots[next() % SLOTS];
        uint64_t what = next() % 10;
        if (s->p == NULL && s->size == 0 && what < 8) {
            s->size = pick_size();
            s->seed = (unsigned char)next();
            if (what < 2) {
                s->p = calloc(1, s->size ? s->size : 1);
                callocs++;
                for (size_t i = 0; i < s->size; i++)
                    if (s->p[i] != 0) {
                        bad++;
                        break;
                    }
            } else {
                s->p = malloc(s->size ? s->size : 1);
                mallocs++;
            }
            if (s->p == NULL) {
                printf("allocation of %zu bytes failed\n", s->size);
                return 1;
            }
            fill(s);
            live_bytes += s->size;
        } else if (s->p != NULL && what < 5) {
            /* realloc: the common prefix must survive. */
            size_t old = s->size, nsize = pick_size() + 1;
            unsigned char *np = realloc(s->p, nsize);
            if (np == NULL) {
                printf("realloc to %zu bytes failed\n", nsize);
                return 1;
            }
            reallocs++;
            s->p = np;
            if (!verify(s, old < nsize ? old : nsize))
                bad++;
            s->size = nsize;
            fill(s);
            live_bytes = live_bytes - old + nsize;
        } else if (s->p != NULL) {
            if (!verify(s, s->size))
                bad++;
            checksum = checksum * 31 + sum_block(s);
            live_bytes -= s->size;
            free(s->p);
            frees++;
            s->p = NULL;
            s->size = 0;
        }
        if (live_bytes > peak_bytes)
            peak_bytes = live_bytes;
    }

    /* Release everything that is still live, in reverse order. */
    for (int i = SLOTS - 1; i >= 0; i--)
        if (slots[i].p != NULL) {
            if (!verify(&slots[i], slots[i].size))
                bad++;
            checksum = checksum * 31 + sum_block(&slots[i]);
            free(slots[i].p);
            frees++;
        }

    /* A burst of same-sized allocations, freed in an interleaved order. */
    void *burst[10000];
    for (int i = 0; i < 10000; i++) {
        burst[i] = malloc(48);
        memset(burst[i], i & 0xff, 48);
    }
    for (int i = 0; i < 10000; i += 2)
        free(burst[i]);
    for (int i = 1; i < 10000; i += 2) {
        if (((unsigned char *)burst[i])[47] != (i & 0xff))
            bad++;
        free(burst[i]);
    }

    printf("mallocs=%lu callocs=%lu reallocs=%lu frees=%lu\n", mallocs, callocs, reallocs, frees);
    printf("peak live bytes=%zu\n", peak_bytes);
    printf("checksum=%016llx\n", (unsigned long long)checksum);
    printf("corrupted blocks=%lu\n", bad);
    return bad == 0 ? 0 : 1;
}
