/* Dense double-precision matrix multiply, C = A * B (i-k-j order, 4x4 blocked inner
 * loops left to the compiler), N = 192. Digest: FNV-1a of C's bits: the build uses
 * -ffp-contract=off, so every ISA rounds every operation the same way. */
#include "../common.h"

#define N 192

static double A[N][N], B[N][N], C[N][N];

static void multiply(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            C[i][j] = 0.0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            double a = A[i][k];
            for (int j = 0; j < N; j++)
                C[i][j] += a * B[k][j];
        }
}

int main(int argc, char **argv)
{
    long scale = scale_arg(argc, argv, 300);
    rng_seed(5);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (double)(int64_t)(rng_next() % 2001 - 1000) / 256.0;
            B[i][j] = (double)(int64_t)(rng_next() % 2001 - 1000) / 512.0;
        }
    uint64_t digest = FNV_INIT;
    for (long it = 0; it < scale; it++) {
        multiply();
        digest = fnv1a(digest, C, sizeof C);
        /* Feed the result back so no iteration can be skipped. */
        A[it % N][(it * 7) % N] = C[(it * 3) % N][(it * 5) % N] / 1024.0;
    }
    printf("matmul: %ld x %dx%d, C[1][2] = %.6f, digest %016llx\n", scale, N, N, C[1][2],
           (unsigned long long)digest);
    return 0;
}
