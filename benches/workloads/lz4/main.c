/* LZ4 1.10 (the sources bundled in the lz4-sys crate): the fast compressor at two
 * accelerations, the HC compressor at level 9, and decompression with checks.
 * Digest: FNV-1a of every compressed block. */
#include "../common.h"
#include "lz4.h"
#include "lz4hc.h"

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 4);
    const int n = 1024 * 1024;
    unsigned char *text = make_text(n, 2);
    int cap = LZ4_compressBound(n);
    char *packed = malloc(cap);
    char *back = malloc(n);
    uint64_t digest = FNV_INIT;
    unsigned long total = 0;
    for (long it = 0; it < scale; it++) {
        for (int mode = 0; mode < 3; mode++) {
            int plen;
            if (mode == 0)
                plen = LZ4_compress_default((const char *)text, packed, n, cap);
            else if (mode == 1)
                plen = LZ4_compress_fast((const char *)text, packed, n, cap, 8);
            else
                plen = LZ4_compress_HC((const char *)text, packed, n, cap, 9);
            if (plen <= 0) {
                fprintf(stderr, "compression failed\n");
                return 1;
            }
            for (int d = 0; d < 8; d++) {
                int blen = LZ4_decompress_safe(packed, back, plen, n);
                if (blen != n || memcmp(back, text, n) != 0) {
                    fprintf(stderr, "round trip failed\n");
                    return 1;
                }
            }
            digest = fnv1a(digest, packed, plen);
            total += plen;
        }
        text[it % n] ^= 0x20;
    }
    printf("lz4: %ld x 3 modes of %d bytes -> %lu bytes, digest %016llx\n", scale, n, total,
           (unsigned long long)digest);
    return 0;
}
