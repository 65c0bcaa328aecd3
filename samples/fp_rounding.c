/* fp_rounding: every rounding F/D operation (add, sub, mul, div, sqrt, the four fused
 * multiply-adds, fcvt.s.d, integer to float conversions) in every IEEE rounding mode, on
 * edge cases (ties, halfway subnormals, overflow to inf or max-finite, exact results, zero
 * results and their sign) and pseudo-random operands.
 *
 * Dynamic modes (rm = dyn) go through fesetround. Static modes (the rm field: rne, rtz,
 * rdn, rup) go through inline assembly on riscv64 - run while frm says "upward", which they
 * must ignore - and through fesetround elsewhere, which computes the same thing.
 * (Round-to-nearest-max-magnitude has no host equivalent here.) Each line prints a digest
 * of all results of one operation in one mode and how many differ from round-to-nearest. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 1500

static volatile double da[N], db[N], dc[N];
static volatile float fa[N], fb[N], fc[N];
static volatile int64_t ia[N];

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static double dfrom(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float ffrom(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

/* An operand with `p` significand bits and `ebits` exponent bits, biased toward ties,
 * subnormals, the top of the range and values near 1. */
static uint64_t operand(int p, int ebits)
{
    uint64_t emax = (1ull << ebits) - 1, bias = emax >> 1, mant = (1ull << (p - 1)) - 1;
    uint64_t sign = (rnd() & 1) << (p - 1 + ebits), r = rnd(), v;
    switch (rnd() % 7) {
    case 0:
        v = r & ((1ull << (p - 1 + ebits)) - 1);
        break;
    case 1:
        v = (bias + rnd() % 5 - 2) << (p - 1) | (r & mant);
        break;
    case 2: /* few significant bits: sums and products land on ties */
        v = (bias + rnd() % 60 - 30) << (p - 1) | (r & mant & ~(mant >> (rnd() % 6)));
        break;
    case 3: /* subnormal */
        v = r & (mant >> (rnd() % p));
        break;
    case 4: /* near max-finite */
        v = (emax - 1 - rnd() % 3) << (p - 1) | (r & mant);
        break;
    case 5: /* small normal */
        v = (1 + rnd() % 3) << (p - 1) | (r & mant);
        break;
    default: /* small multiples of 1/8 */
        v = (bias - 3 + rnd() % 8) << (p - 1) | (r & mant & ~(mant >> 3));
        break;
    }
    return sign | v;
}

static void setup(void)
{
    const double e = DBL_EPSILON, m = DBL_MAX, s = dfrom(1);
    const float fe = FLT_EPSILON, fm = FLT_MAX, fs = ffrom(1);
    /* a, b, c triples: ties, exact, zero sums, overflow, halfway subnormals */
    const double ed[][3] = {
        {1.0, e / 2, 0.0},   {1.0 + e, e / 2, 0.0}, {-1.0, -e / 2, 0.0}, {1.0, -e / 4, 0.0},
        {1.5, 2.25, -1.0},   {1.0, -1.0, 0.0},      {-0.0, 0.0, -0.0},   {-0.0, -0.0, 0.0},
        {m, m, -m},          {m, m * e / 4, 0.0},   {m, 1.5, -m},        {-m, 1.0 + e, m},
        {s, 0.5, 0.0},       {3 * s, 0.5, -0.0},    {s, -0.25, 0.0},     {1e-300, 1e-300, 0.0},
        {1.0, 3.0, -1.0},    {-1.0, 3.0, 1.0},      {2.0, 3.0, -6.0},    {0.1, 10.0, -1.0},
        {DBL_MIN, 1.0 - e / 2, 0.0}, {s, 2.0, s},   {16.0, 0.0, 0.0},    {2.0, 2.0, 2.0},
    };
    const float ef[][3] = {
        {1.0f, fe / 2, 0.0f}, {1.0f + fe, fe / 2, 0.0f}, {-1.0f, -fe / 2, 0.0f},
        {1.0f, -1.0f, 0.0f},  {-0.0f, 0.0f, -0.0f},      {fm, fm, -fm},
        {fm, 1.5f, -fm},      {fs, 0.5f, 0.0f},          {3 * fs, -0.5f, 0.0f},
        {1.0f, 3.0f, -1.0f},  {1.1f, 1.1f, -1.21f},      {2.0f, 3.0f, -6.0f},
        {1.0f + fe, 1.0f + 0x1p-40f, -0x1p-24f - 0x1p-40f}, /* double rounding in fma.s */
    };
    const int64_t ei[] = {0, 1, -1, INT64_MAX, INT64_MIN, (1ll << 53) + 1, (1ll << 53) + 3,
                          (1ll << 54) + 2, -(1ll << 53) - 1, (1 << 24) + 1, (1 << 24) + 3,
                          -(1 << 24) - 1, 0x7fffffff, -0x7fffffff - 1, -1024, -2047,
                          123456789012345678ll};
    size_t nd = sizeof ed / sizeof ed[0], nf = sizeof ef / sizeof ef[0], ni = sizeof ei / sizeof ei[0];
    for (size_t i = 0; i < N; i++) {
        if (i < nd) {
            da[i] = ed[i][0], db[i] = ed[i][1], dc[i] = ed[i][2];
        } else {
            da[i] = dfrom(operand(53, 11)), db[i] = dfrom(operand(53, 11));
            /* c: anything, or close to -a*b (cancellation) */
            uint64_t p = dbits(-(da[i] * db[i]));
            dc[i] = dfrom(rnd() % 3 ? operand(53, 11) : p ^ (rnd() & 0xff));
        }
        if (i < nf) {
            fa[i] = ef[i][0], fb[i] = ef[i][1], fc[i] = ef[i][2];
        } else {
            fa[i] = ffrom(operand(24, 8)), fb[i] = ffrom(operand(24, 8));
            uint32_t p = fbits(-(fa[i] * fb[i]));
            fc[i] = ffrom(rnd() % 3 ? operand(24, 8) : p ^ (rnd() & 0xf));
        }
        ia[i] = i < ni ? ei[i] : (int64_t)(rnd() >> (rnd() % 64)) * (rnd() & 1 ? 1 : -1);
    }
}

/* ---- the operations: dynamic mode (plain C), static modes (rm field) ---- */

#define DYN2(name, T, expr)                                                                   \
    static T name##_dyn(T a0, T b0)                                                           \
    {                                                                                         \
        volatile T a = a0, b = b0;                                                            \
        volatile T r = (expr);                                                                \
        return r;                                                                             \
    }
#define DYN3(name, T, expr)                                                                   \
    static T name##_dyn(T a0, T b0, T c0)                                                     \
    {                                                                                         \
        volatile T a = a0, b = b0, c = c0;                                                    \
        volatile T r = (expr);                                                                \
        return r;                                                                             \
    }
#define DYNC(name, T, S, expr)                                                                \
    static T name##_dyn(S a0)                                                                 \
    {                                                                                         \
        volatile S a = a0;                                                                    \
        volatile T r = (expr);                                                                \
        return r;                                                                             \
    }

#if defined(__riscv)
#define ST2(name, T, insn, expr, RM, MODE)                                                    \
    static T name##_##RM(T a, T b)                                                            \
    {                                                                                         \
        T r;                                                                                  \
        __asm__ volatile(insn " %0, %1, %2, " #RM : "=f"(r) : "f"(a), "f"(b));                \
        return r;                                                                             \
    }
#define ST3(name, T, insn, expr, RM, MODE)                                                    \
    static T name##_##RM(T a, T b, T c)                                                       \
    {                                                                                         \
        T r;                                                                                  \
        __asm__ volatile(insn " %0, %1, %2, %3, " #RM : "=f"(r) : "f"(a), "f"(b), "f"(c));    \
        return r;                                                                             \
    }
#define STC(name, T, S, insn, reg, expr, RM, MODE)                                            \
    static T name##_##RM(S a)                                                                 \
    {                                                                                         \
        T r;                                                                                  \
        __asm__ volatile(insn " %0, %1, " #RM : "=f"(r) : reg(a));                            \
        return r;                                                                             \
    }
#else
#define ST2(name, T, insn, expr, RM, MODE)                                                    \
    static T name##_##RM(T a0, T b0)                                                          \
    {                                                                                         \
        volatile T a = a0, b = b0;                                                            \
        int old = fegetround();                                                               \
        fesetround(MODE);                                                                     \
        volatile T r = (expr);                                                                \
        fesetround(old);                                                                      \
        return r;                                                                             \
    }
#define ST3(name, T, insn, expr, RM, MODE)                                                    \
    static T name##_##RM(T a0, T b0, T c0)                                                    \
    {                                                                                         \
        volatile T a = a0, b = b0, c = c0;                                                    \
        int old = fegetround();                                                               \
        fesetround(MODE);                                                                     \
        volatile T r = (expr);                                                                \
        fesetround(old);                                                                      \
        return r;                                                                             \
    }
#define STC(name, T, S, insn, reg, expr, RM, MODE)                                            \
    static T name##_##RM(S a0)                                                                \
    {                                                                                         \
        volatile S a = a0;                                                                    \
        int old = fegetround();                                                               \
        fesetround(MODE);                                                                     \
        volatile T r = (expr);                                                                \
        fesetround(old);                                                                      \
        return r;                                                                             \
    }
#endif

/* X(kind, name, type, source type, instruction, register constraint, C expression) */
#define OPS(X)                                                                                \
    X(2, fadd_d, double, double, "fadd.d", "f", a + b)                                        \
    X(2, fsub_d, double, double, "fsub.d", "f", a - b)                                        \
    X(2, fmul_d, double, double, "fmul.d", "f", a * b)                                        \
    X(2, fdiv_d, double, double, "fdiv.d", "f", a / b)                                        \
    X(1, fsqrt_d, double, double, "fsqrt.d", "f", sqrt(a))                                    \
    X(3, fmadd_d, double, double, "fmadd.d", "f", fma(a, b, c))                               \
    X(3, fmsub_d, double, double, "fmsub.d", "f", fma(a, b, -c))                              \
    X(3, fnmsub_d, double, double, "fnmsub.d", "f", fma(-a, b, c))                            \
    X(3, fnmadd_d, double, double, "fnmadd.d", "f", fma(-a, b, -c))                           \
    X(2, fadd_s, float, float, "fadd.s", "f", a + b)                                          \
    X(2, fsub_s, float, float, "fsub.s", "f", a - b)                                           \
    X(2, fmul_s, float, float, "fmul.s", "f", a * b)                                          \
    X(2, fdiv_s, float, float, "fdiv.s", "f", a / b)                                          \
    X(1, fsqrt_s, float, float, "fsqrt.s", "f", sqrtf(a))                                     \
    X(3, fmadd_s, float, float, "fmadd.s", "f", fmaf(a, b, c))                                \
    X(3, fnmadd_s, float, float, "fnmadd.s", "f", fmaf(-a, b, -c))                            \
    X(1, fcvt_s_d, float, double, "fcvt.s.d", "f", (float)a)                                  \
    X(1, fcvt_d_l, double, int64_t, "fcvt.d.l", "r", (double)a)                               \
    X(1, fcvt_d_lu, double, uint64_t, "fcvt.d.lu", "r", (double)a)                            \
    X(1, fcvt_s_l, float, int64_t, "fcvt.s.l", "r", (float)a)                                 \
    X(1, fcvt_s_lu, float, uint64_t, "fcvt.s.lu", "r", (float)a)                              \
    X(1, fcvt_s_w, float, int32_t, "fcvt.s.w", "r", (float)a)                                 \
    X(1, fcvt_s_wu, float, uint32_t, "fcvt.s.wu", "r", (float)a)

#define DEF_DYN(k, name, T, S, insn, reg, expr) DEF_DYN##k(name, T, S, expr)
#define DEF_DYN1(name, T, S, expr) DYNC(name, T, S, expr)
#define DEF_DYN2(name, T, S, expr) DYN2(name, T, expr)
#define DEF_DYN3(name, T, S, expr) DYN3(name, T, expr)
OPS(DEF_DYN)

#define DEF_ST(k, name, T, S, insn, reg, expr)                                                \
    DEF_ST##k(name, T, S, insn, reg, expr, rne, FE_TONEAREST)                                 \
    DEF_ST##k(name, T, S, insn, reg, expr, rtz, FE_TOWARDZERO)                                \
    DEF_ST##k(name, T, S, insn, reg, expr, rdn, FE_DOWNWARD)                                  \
    DEF_ST##k(name, T, S, insn, reg, expr, rup, FE_UPWARD)
#define DEF_ST1(name, T, S, insn, reg, expr, RM, MODE) STC(name, T, S, insn, reg, expr, RM, MODE)
#define DEF_ST2(name, T, S, insn, reg, expr, RM, MODE) ST2(name, T, insn, expr, RM, MODE)
#define DEF_ST3(name, T, S, insn, reg, expr, RM, MODE) ST3(name, T, insn, expr, RM, MODE)
OPS(DEF_ST)

/* ---- running and digesting ---- */

static uint64_t bits_of_double(double d)
{
    return isnan(d) ? 0x7ff8000000000000ull : dbits(d); /* NaN signs differ by ISA */
}
static uint64_t bits_of_float(float f)
{
    return isnan(f) ? 0x7fc00000u : fbits(f);
}
#define BITS(T, v) (sizeof(T) == 8 ? bits_of_double((double)(v)) : bits_of_float((float)(v)))

/* Operands of each operation's i-th run. */
#define ARGS_1_double(i) da[i]
#define ARGS_1_float(i) fa[i]
#define ARGS_1_int64_t(i) ia[i]
#define ARGS_1_uint64_t(i) (uint64_t) ia[i]
#define ARGS_1_int32_t(i) (int32_t) ia[i]
#define ARGS_1_uint32_t(i) (uint32_t) ia[i]
#define ARGS_2_double(i) da[i], db[i]
#define ARGS_2_float(i) fa[i], fb[i]
#define ARGS_3_double(i) da[i], db[i], dc[i]
#define ARGS_3_float(i) fa[i], fb[i], fc[i]

static uint64_t rne_results[N];

static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        h = (h ^ ((v >> (8 * k)) & 0xff)) * 0x100000001b3ull;
    return h;
}

static void line(const char *op, const char *mode, uint64_t h, int changed)
{
    printf("%-10s %-8s digest=%016llx differs-from-rne=%d\n", op, mode, (unsigned long long)h,
           changed);
}

#define RUN(k, name, T, S, insn, reg, expr)                                                   \
    {                                                                                         \
        static const int dyn_modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO}; \
        static const char *const dyn_names[] = {"dyn-rne", "dyn-rup", "dyn-rdn", "dyn-rtz"};  \
        for (int m = 0; m < 4; m++) {                                                         \
            uint64_t h = 0xcbf29ce484222325ull;                                               \
            int changed = 0;                                                                  \
            fesetround(dyn_modes[m]);                                                         \
            for (int i = 0; i < N; i++) {                                                     \
                uint64_t v = BITS(T, name##_dyn(ARGS_##k##_##S(i)));                          \
                h = fnv(h, v);                                                                \
                if (m == 0)                                                                   \
                    rne_results[i] = v;                                                       \
                changed += v != rne_results[i];                                               \
            }                                                                                 \
            fesetround(FE_TONEAREST);                                                         \
            line(#name, dyn_names[m], h, changed);                                            \
        }                                                                                     \
        static const char *const st_names[] = {"rne", "rtz", "rdn", "rup"};                   \
        for (int m = 0; m < 4; m++) {                                                         \
            uint64_t h = 0xcbf29ce484222325ull;                                               \
            int changed = 0;                                                                  \
            fesetround(FE_UPWARD); /* static modes must ignore frm */                         \
            for (int i = 0; i < N; i++) {                                                     \
                T r = m == 0   ? name##_rne(ARGS_##k##_##S(i))                                \
                      : m == 1 ? name##_rtz(ARGS_##k##_##S(i))                                \
                      : m == 2 ? name##_rdn(ARGS_##k##_##S(i))                                \
                               : name##_rup(ARGS_##k##_##S(i));                               \
                uint64_t v = BITS(T, r);                                                      \
                h = fnv(h, v);                                                                \
                changed += v != rne_results[i];                                               \
            }                                                                                 \
            fesetround(FE_TONEAREST);                                                         \
            line(#name, st_names[m], h, changed);                                             \
        }                                                                                     \
    }

int main(void)
{
    setup();
    OPS(RUN)
    printf("fegetround()==FE_TONEAREST: %d\n", fegetround() == FE_TONEAREST);
    return 0;
}
