/* bzip2 1.0.8's library (the sources bundled in the bzip2-sys crate): compress with
 * 900k blocks, decompress, check. Digest: FNV-1a of the compressed streams. */
#include "../common.h"
#include "bzlib.h"

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 3);
    const unsigned n = 768 * 1024;
    unsigned char *text = make_text(n, 3);
    unsigned cap = n + n / 100 + 600;
    char *packed = malloc(cap);
    char *back = malloc(n);
    uint64_t digest = FNV_INIT;
    unsigned long total = 0;
    for (long it = 0; it < scale; it++) {
        unsigned plen = cap;
        int rc = BZ2_bzBuffToBuffCompress(packed, &plen, (char *)text, n, 9, 0, 30);
        if (rc != BZ_OK) {
            fprintf(stderr, "compress failed: %d\n", rc);
            return 1;
        }
        unsigned blen = n;
        rc = BZ2_bzBuffToBuffDecompress(back, &blen, packed, plen, 0, 0);
        if (rc != BZ_OK || blen != n || memcmp(back, text, n) != 0) {
            fprintf(stderr, "round trip failed: %d\n", rc);
            return 1;
        }
        digest = fnv1a(digest, packed, plen);
        total += plen;
        text[(it * 7919) % n] ^= 0x20;
    }
    printf("bzip2: %ld x %u bytes -> %lu bytes, digest %016llx\n", scale, n, total,
           (unsigned long long)digest);
    return 0;
}
