/* recursion: Ackermann, naive Fibonacci, mutual recursion (Hofstadter F/M, even/odd) and
 * one non-tail recursion about 100000 frames deep, which needs a few MiB of stack. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) static unsigned long ackermann(unsigned long m, unsigned long n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

__attribute__((noinline)) static unsigned long fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static int hof_m(int n);
__attribute__((noinline)) static int hof_f(int n)
{
    return n == 0 ? 1 : n - hof_m(hof_f(n - 1));
}
__attribute__((noinline)) static int hof_m(int n)
{
    return n == 0 ? 0 : n - hof_f(hof_m(n - 1));
}

static int is_odd(unsigned n);
__attribute__((noinline)) static int is_even(unsigned n)
{
    return n == 0 ? 1 : is_odd(n - 1);
}
__attribute__((noinline)) static int is_odd(unsigned n)
{
    return n == 0 ? 0 : is_even(n - 1);
}

/* Each frame keeps a small array alive across the recursive call, so the compiler can
 * neither turn this into a loop nor shrink the frame much: ~100000 frames of ~64 bytes. */
__attribute__((noinline)) static uint64_t deep(unsigned n, uint64_t acc)
{
    volatile uint64_t pad[4];
    pad[0] = acc ^ n;
    pad[1] = acc + n;
    pad[2] = acc * 3;
    pad[3] = n;
    if (n == 0)
        return pad[0];
    uint64_t r = deep(n - 1, acc * 6364136223846793005ull + 1442695040888963407ull);
    return r + pad[n & 3];
}

/* Depth-first walk of an implicit 3-ary tree, with the path kept on the stack. */
__attribute__((noinline)) static unsigned long walk(int depth, unsigned long path)
{
    if (depth == 0)
        return path % 1000003;
    unsigned long s = 0;
    for (unsigned long c = 0; c < 3; c++)
        s += walk(depth - 1, path * 3 + c);
    return s;
}

int main(void)
{
    printf("ackermann(2, 3) = %lu\n", ackermann(2, 3));
    printf("ackermann(3, 6) = %lu\n", ackermann(3, 6));
    printf("ackermann(3, 9) = %lu\n", ackermann(3, 9));
    printf("fib(27) = %lu\n", fib(27));
    printf("hofstadter F:");
    for (int i = 0; i < 20; i++)
        printf(" %d", hof_f(i));
    printf("\nhofstadter M:");
    for (int i = 0; i < 20; i++)
        printf(" %d", hof_m(i));
    printf("\n");
    printf("is_even(100001) = %d, is_odd(77777) = %d\n", is_even(100001), is_odd(77777));
    printf("deep(100000) = %016llx\n", (unsigned long long)deep(100000, 1));
    printf("walk(11) = %lu\n", walk(11, 1));
    return 0;
}
