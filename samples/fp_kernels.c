/* fp_kernels: numerical kernels whose results are printed to 17 significant digits, so
 * any difference in rounding, fused multiply-add, conversions or libm shows.
 * No implicit contraction of a*b+c into fused multiply-adds: the riscv64 and x86-64
 * builds must compute the same thing (fma() is used where fusing is meant). */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 48

static double a[N][N], b[N][N], c[N][N];

static void matmul(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
}

static double horner(const double *coef, int n, double x)
{
    double r = coef[n - 1];
    for (int i = n - 2; i >= 0; i--)
        r = fma(r, x, coef[i]);
    return r;
}

static double kahan_sum(const double *v, int n)
{
    double s = 0, comp = 0;
    for (int i = 0; i < n; i++) {
        double y = v[i] - comp;
        double t = s + y;
        comp = (t - s) - y;
        s = t;
    }
    return s;
}

static double newton_sqrt(double x)
{
    double r = x > 1 ? x / 2 : 1;
    for (int i = 0; i < 60; i++)
        r = 0.5 * (r + x / r);
    return r;
}

static float saxpy_sum(float alpha, int n)
{
    float x[64], y[64], s = 0;
    for (int i = 0; i < n; i++) {
        x[i] = (float)i / 3.0f;
        y[i] = 1.0f / (float)(i + 1);
    }
    for (int i = 0; i < n; i++)
        s += alpha * x[i] + y[i];
    return s;
}

/* A small LCG so the inputs are the same everywhere. */
static uint64_t state = 0x853c49e6748fea9bULL;
static double next_double(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = next_double();
            b[i][j] = next_double() * 1e3;
        }
    matmul();
    double trace = 0;
    for (int i = 0; i < N; i++)
        trace += c[i][i];
    printf("matmul trace %.17g c[3][7] %.17g\n", trace, c[3][7]);

    const double coef[] = {1, -0.5, 1.0 / 6, -1.0 / 24, 1.0 / 120, -1.0 / 720, 1e-7};
    for (double x = -2; x <= 2; x += 0.75)
        printf("horner(%.2f) = %.17g\n", x, horner(coef, 7, x));

    double v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = 1.0 / (i + 1) * (i % 2 ? -1 : 1) + 1e-9 * i;
    printf("kahan %.17g naive ", kahan_sum(v, 1000));
    double naive = 0;
    for (int i = 0; i < 1000; i++)
        naive += v[i];
    printf("%.17g\n", naive);

    for (double x = 0.5; x < 1e6; x *= 7.3)
        printf("sqrt(%.17g): newton %.17g libm %.17g\n", x, newton_sqrt(x), sqrt(x));

    printf("saxpy %.9g %.9g\n", (double)saxpy_sum(1.5f, 64), (double)saxpy_sum(-0.25f, 33));

    for (double x = -3.5; x <= 3.5; x += 1.25)
        printf("x=%.2f exp %.17g log1p %.17g sin %.17g atan %.17g\n", x, exp(x),
               log1p(fabs(x)), sin(x), atan(x));

    /* Conversions and rounding to integers, including the edges. */
    const double edges[] = {2.5, -2.5, 3.5, 1e19, -1e19, 4294967295.5, -0.5, 0x1p63, NAN};
    for (unsigned i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        double x = edges[i];
        long l = (x == x && fabs(x) < 9e18) ? (long)x : -1;
        printf("%.17g: trunc %ld rint %.17g floor %.17g lround %ld nearbyint %.17g\n", x, l,
               rint(x), floor(x), (x == x && fabs(x) < 9e18) ? lround(x) : -1L,
               nearbyint(x));
    }
    float f = 16777217.0f, g = (float)0.1;
    double d = 0.1;
    printf("float %.9g %.9g double->float %.9g float->double %.17g\n", (double)f, (double)g,
           (double)(float)d, (double)g);
    printf("fmaf %.9g fma %.17g\n", (double)fmaf(1.0000001f, 1.0000001f, -1.0000002f),
           fma(1.0000000000000002, 1.0000000000000002, -1.0000000000000004));
    return 0;
}
