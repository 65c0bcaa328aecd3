/* setjmp_longjmp: nested setjmp/longjmp across several frames, values that survive the
 * jump (volatile), longjmp(…, 0) turning into 1, and many jumps in a loop. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf outer, inner;
static int trace[64];
static int ntrace;

static void note(int v)
{
    if (ntrace < 64)
        trace[ntrace++] = v;
}

__attribute__((noinline)) static void level4(int how)
{
    note(4);
    if (how == 1)
        longjmp(inner, 41);
    if (how == 2)
        longjmp(outer, 42);
    if (how == 3)
        longjmp(inner, 0); /* setjmp must then return 1 */
    note(-4);
}

__attribute__((noinline)) static void level3(int how)
{
    char big[256]; /* make the frames uneven */
    big[how & 255] = (char)how;
    note(3);
    level4(how + big[how & 255] - how);
    note(-3);
}

__attribute__((noinline)) static int level2(int how)
{
    volatile int local = 1000 + how;
    int r = setjmp(inner);
    if (r != 0) {
        note(100 + r);
        return local + r;
    }
    note(2);
    local = 2000 + how; /* changed after setjmp: volatile keeps the new value */
    level3(how);
    note(-2);
    return -1;
}

__attribute__((noinline)) static int level1(int how)
{
    note(1);
    int v = level2(how);
    note(-1);
    return v;
}

static unsigned long counter;

__attribute__((noinline)) static void bounce(jmp_buf *env, int depth)
{
    if (depth < 0)
        return;
    if (depth == 0)
        longjmp(*env, 7);
    bounce(env, depth - 1);
    counter += 1000000; /* never reached */
}

static void print_trace(const char *label, int result)
{
    printf("%s: result=%d trace:", label, result);
    for (int i = 0; i < ntrace; i++)
        printf(" %d", trace[i]);
    printf("\n");
    ntrace = 0;
}

int main(void)
{
    for (int how = 0; how <= 3; how++) {
        volatile int result = -999;
        int r = setjmp(outer);
        if (r == 0) {
            result = level1(how);
        } else {
            note(200 + r);
            result = r;
        }
        char label[32];
        snprintf(label, sizeof label, "case %d", how);
        print_trace(label, result);
    }

    /* 10000 jumps out of recursion 1..20 frames deep. */
    volatile unsigned long jumps = 0;
    for (int i = 0; i < 10000; i++) {
        jmp_buf env;
        int r = setjmp(env);
        if (r == 0)
            bounce(&env, i % 20);
        else
            jumps += (unsigned long)r;
    }
    printf("bounced: jumps total=%lu counter=%lu\n", (unsigned long)jumps, counter);

    /* sigsetjmp/siglongjmp without saving the mask behaves the same way. */
    sigjmp_buf senv;
    volatile int rounds = 0;
    if (sigsetjmp(senv, 0) < 5) {
        rounds++;
        siglongjmp(senv, rounds);
    }
    printf("siglongjmp rounds=%d\n", rounds);
    return 0;
}
