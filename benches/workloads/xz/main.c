/* liblzma from xz 5.2 (the sources bundled in the lzma-sys crate): .xz streams at
 * presets 0 and 3 with CRC64 checks, decoded back. Digest: FNV-1a of the streams. */
#include "../common.h"
#include "lzma.h"

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 3);
    const size_t n = 512 * 1024;
    unsigned char *text = make_text(n, 4);
    size_t cap = lzma_stream_buffer_bound(n);
    uint8_t *packed = malloc(cap);
    uint8_t *back = malloc(n);
    uint64_t digest = FNV_INIT;
    unsigned long total = 0;
    static const uint32_t presets[] = {0, 3};
    for (long it = 0; it < scale; it++) {
        for (int p = 0; p < 2; p++) {
            size_t plen = 0;
            lzma_ret rc = lzma_easy_buffer_encode(presets[p], LZMA_CHECK_CRC64, NULL, text, n,
                                                  packed, &plen, cap);
            if (rc != LZMA_OK) {
                fprintf(stderr, "encode failed: %d\n", rc);
                return 1;
            }
            uint64_t memlimit = UINT64_MAX;
            size_t in_pos = 0, out_pos = 0;
            rc = lzma_stream_buffer_decode(&memlimit, 0, NULL, packed, &in_pos, plen, back,
                                           &out_pos, n);
            if (rc != LZMA_OK || out_pos != n || memcmp(back, text, n) != 0) {
                fprintf(stderr, "round trip failed: %d\n", rc);
                return 1;
            }
            digest = fnv1a(digest, packed, plen);
            total += plen;
        }
        text[(it * 104729) % n] ^= 0x20;
    }
    printf("xz: %ld x 2 presets of %zu bytes -> %lu bytes, crc64 %016llx, digest %016llx\n",
           scale, n, total, (unsigned long long)lzma_crc64(text, n, 0),
           (unsigned long long)digest);
    return 0;
}
