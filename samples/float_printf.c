/* float_printf: printf of floats and doubles in many formats, rounding edge cases,
 * math.h functions, float<->int conversions, NaN and infinity.
 * Inputs go through volatile variables so the compiler cannot fold anything away. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double vd[] = {0.0,    -0.0,   1.0,      -1.0,  0.5,  0.1,     1.0 / 3.0,
                               2.5,    -2.5,   123.456,  1e-7,  1e21, 6.02214076e23,
                               1.7976931348623157e308, 2.2250738585072014e-308, 4.9e-324,
                               3.14159265358979323846, -271.828182845904523536};
static volatile float vf[] = {0.0f, 1.5f, -0.1f, 3.4028235e38f, 1.17549435e-38f, 1.4e-45f,
                              16777217.0f, 0.3f, -1234.5678f};

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

int main(void)
{
    size_t nd = sizeof vd / sizeof vd[0], nf = sizeof vf / sizeof vf[0];

    printf("-- doubles: %%f %%e %%g %%a --\n");
    for (size_t i = 0; i < nd; i++) {
        double d = vd[i];
        printf("[%2zu] %f | %.3e | %g | %.17g | %a\n", i, d, d, d, d, d);
    }

    printf("-- floats (promoted to double) --\n");
    for (size_t i = 0; i < nf; i++) {
        float f = vf[i];
        printf("[%zu] %f | %e | %.9g | %a | bits=%08x\n", i, f, f, f, f, fbits(f));
    }

    printf("-- widths, flags, precision --\n");
    volatile double x = 3.14159265358979;
    printf("[%10.3f] [%-10.3f] [%+.2f] [% .2f] [%010.4f] [%#.0f] [%.0f]\n", x, x, x, x, -x, x, x);
    printf("[%15.6e] [%-+15.2E] [%G] [%#g] [%.0e] [%*.*f]\n", x, x, x * 1e-10, x, x, 12, 5, x);
    printf("[%a] [%A] [%.3a] [%.0a]\n", x, -x, x, x);

    printf("-- round-half-even and representation edge cases --\n");
    static volatile double halves[] = {0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 0.125, 0.375, 1.005,
                                       2.675, 1e15 + 0.5, 0.045};
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; i++)
        printf("%.17g -> %%.0f=%.0f %%.2f=%.2f %%.1e=%.1e\n", halves[i], halves[i], halves[i],
               halves[i]);
    printf("DBL_EPSILON=%g DBL_MAX=%g DBL_MIN=%g FLT_MAX=%g FLT_EPSILON=%g\n", DBL_EPSILON,
           DBL_MAX, DBL_MIN, FLT_MAX, FLT_EPSILON);
    printf("%.60f\n", vd[5]);
    printf("%.0f\n", vd[13]);

    printf("-- NaN and infinity --\n");
    volatile double zero = 0.0, one = 1.0;
    double inf = one / zero, ninf = -one / zero, qnan = NAN, nnan = -NAN;
    double computed_nan = zero / zero; /* sign of a generated NaN is ISA-specific: not printed */
    printf("inf: %f %e %g %a %F %E %G\n", inf, inf, inf, inf, inf, inf, inf);
    printf("-inf: %f %10.2f %-8g| %+f\n", ninf, ninf, ninf, inf);
    printf("nan: %f %e %g %F %+f %5.1f|\n", qnan, qnan, qnan, qnan, qnan, qnan);
    printf("-nan: %f %g\n", nnan, nnan);
    printf("isnan(0/0)=%d isinf(1/0)=%d signbit(-inf)=%d isfinite(DBL_MAX)=%d\n",
           isnan(computed_nan), isinf(inf), signbit(ninf) != 0, isfinite(vd[13]));
    printf("nan==nan: %d  nan<1: %d  nan!=nan: %d  fmax(nan,2)=%g fmin(3,nan)=%g\n",
           qnan == qnan, qnan < 1.0, qnan != qnan, fmax(qnan, 2.0), fmin(3.0, qnan));
    printf("overflow: %g underflow: %g\n", vd[13] * 10.0, vd[15] / 4.0);

    printf("-- exact math functions (bit patterns) --\n");
    static volatile double args[] = {2.0, 0.5, 10.0, 1e-3, 123456.789, -7.25, 1e300, 3.0};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        double a = args[i];
        double s = sqrt(fabs(a));
        printf("a=%-10g sqrt=%a floor=%g ceil=%g trunc=%g round=%g rint=%g fabs=%g fmod(a,0.75)=%a"
               " bits=%016llx\n",
               a, s, floor(a), ceil(a), trunc(a), round(a), rint(a), fabs(a), fmod(a, 0.75),
               (unsigned long long)bits(a));
    }
    volatile double fa = 0.1, fb = 10.0, fc = -1.0;
    volatile double product = fa * fb; /* a volatile store stops a*b+c being fused */
    printf("fma(0.1,10,-1)=%a  0.1*10-1 (separately rounded)=%a\n", fma(fa, fb, fc),
           product + fc);
    volatile float ff = 1.1f;
    printf("sqrtf(1.1f)=%a fmaf(1.1,1.1,-1.21)=%a\n", sqrtf(ff), fmaf(ff, ff, -1.21f));
    printf("copysign(3,-0.0)=%g nextafter(1,2)=%a ldexp(1,-1074)=%a frexp(48)=", copysign(3.0, -0.0),
           nextafter(fa * 0 + 1.0, 2.0), ldexp(1.0, -1074));
    int e;
    double m = frexp(48.0 + fa * 0, &e);
    printf("%g*2^%d modf(-3.75)=", m, e);
    double ip;
    double fp = modf(-3.75 + fa * 0, &ip);
    printf("%g+%g\n", ip, fp);

    printf("-- transcendental functions (12 significant digits) --\n");
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        double a = args[i];
        printf("a=%-10g sin=%.12g cos=%.12g exp=%.12g log=%.12g pow(a,1.5)=%.12g atan2=%.12g"
               " tanh=%.12g cbrt=%.12g\n",
               a, sin(a), cos(a), exp(a < 700 ? a : 700), log(fabs(a)), pow(fabs(a), 1.5),
               atan2(a, 3.0), tanh(a), cbrt(a));
    }
    printf("expf(1)=%.7g logf(10)=%.7g sinf(1)=%.7g powf(2,0.5)=%.7g\n", expf(ff - 0.1f),
           logf(ff * 0 + 10.0f), sinf(ff - 0.1f), powf(ff * 0 + 2.0f, 0.5f));

    printf("-- float <-> int conversions --\n");
    static volatile double conv[] = {-0.0, 0.999, -0.999, 2.5, -2.5, -3.7, 1e9, -2147483648.0,
                                     2147483647.0, 9.2233720368547748e18, -9.2233720368547758e18,
                                     1.8446744073709550e19, 4503599627370497.0, 1e18 + 1.0};
    for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++) {
        double d = conv[i];
        printf("%.17g:", d);
        if (d > -2147483649.0 && d < 2147483648.0)
            printf(" (int)=%d", (int)d);
        if (d > -1.0 && d < 4294967296.0)
            printf(" (unsigned)=%u", (unsigned)d);
        if (d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)
            printf(" (int64)=%lld llround=%lld lrint=%ld", (long long)(int64_t)d, llround(d),
                   lrint(d));
        if (d > -1.0 && d < 1.8446744073709552e19)
            printf(" (uint64)=%llu", (unsigned long long)(uint64_t)d);
        printf(" (float)=%a\n", (double)(float)d);
    }
    static volatile int64_t ints[] = {0, -1, 1, 16777217, -16777217, 9007199254740993LL,
                                      INT64_MAX, INT64_MIN, 123456789012345678LL};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v = ints[i];
        printf("%lld -> double %a float %a", (long long)v, (double)v, (double)(float)v);
        printf(" u64->double %a\n", (double)(uint64_t)v);
    }
    static volatile uint32_t u32s[] = {0u, 1u, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < 4; i++)
        printf("u32 %u -> float %a double %a\n", u32s[i], (double)(float)u32s[i],
               (double)u32s[i]);
    volatile float big_f = 3.0e9f, neg_f = -123.9f;
    printf("(int64)3e9f=%lld (int)-123.9f=%d (uint32)3e9f=%u\n", (long long)(int64_t)big_f,
           (int)neg_f, (unsigned)big_f);

    printf("-- dynamic rounding modes --\n");
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    static const char *const mode_names[] = {"nearest", "upward", "downward", "towardzero"};
    for (int i = 0; i < 4; i++) {
        if (fesetround(modes[i]) != 0) {
            printf("fesetround(%s) failed\n", mode_names[i]);
            continue;
        }
        /* Only operations whose rounding the compiler cannot assume (no rint/nearbyint:
         * GCC inlines those assuming round-to-nearest unless -frounding-math). */
        volatile double third = one / 3.0, neg_third = -one / 3.0, root = sqrt(vd[2] + one);
        volatile float tenth = (float)vd[5];
        volatile long l1 = lrint(-3.5 + zero), l2 = lrint(vd[7]);
        fesetround(FE_TONEAREST);
        printf("%-10s 1/3=%a -1/3=%a sqrt(2)=%a (float)0.1=%a lrint(-3.5)=%ld lrint(2.5)=%ld\n",
               mode_names[i], third, neg_third, root, (double)tenth, l1, l2);
    }
    printf("fegetround()==FE_TONEAREST: %d\n", fegetround() == FE_TONEAREST);

    printf("-- accumulation --\n");
    double sum = 0.0, harmonic = 0.0;
    float fsum = 0.0f;
    for (int i = 1; i <= 100000; i++) {
        sum += 1.0 / ((double)i * i);
        harmonic += 1.0 / i;
        fsum += 0.1f;
    }
    printf("sum 1/i^2 = %.17g (pi^2/6 = %.17g)\n", sum, M_PI * M_PI / 6);
    printf("harmonic(100000) = %.17g  100000 * 0.1f summed = %.9g\n", harmonic, fsum);
    return 0;
}
