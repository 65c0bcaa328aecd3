/* zlib 1.3 (the sources bundled in the libz-sys crate): deflate at levels 1, 6 and 9,
 * inflate, check the round trip. Digest: FNV-1a of every compressed stream. */
#include "../common.h"
#include "zlib.h"

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 4);
    const size_t n = 512 * 1024;
    unsigned char *text = make_text(n, 1);
    uLongf cap = compressBound(n);
    unsigned char *packed = malloc(cap);
    unsigned char *back = malloc(n);
    uint64_t digest = FNV_INIT;
    unsigned long total = 0;
    static const int levels[] = {1, 6, 9};
    for (long it = 0; it < scale; it++) {
        for (int l = 0; l < 3; l++) {
            uLongf plen = cap;
            if (compress2(packed, &plen, text, n, levels[l]) != Z_OK) {
                fprintf(stderr, "compress2 failed\n");
                return 1;
            }
            uLongf blen = n;
            if (uncompress(back, &blen, packed, plen) != Z_OK || blen != n ||
                memcmp(back, text, n) != 0) {
                fprintf(stderr, "round trip failed\n");
                return 1;
            }
            digest = fnv1a(digest, packed, plen);
            total += plen;
        }
        text[it % n] ^= 0x20; /* the next iteration compresses something else */
    }
    printf("zlib: %ld x 3 levels of %zu bytes -> %lu bytes, crc32 %08lx, digest %016llx\n",
           scale, n, total, crc32(0, text, n), (unsigned long long)digest);
    return 0;
}
