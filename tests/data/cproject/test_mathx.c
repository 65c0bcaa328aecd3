/* Unit tests of mathx: `test_mathx <case>` runs one case; exit status 0 = pass.
 * `fail` and `crash` fail on purpose: they show that a failing guest is a failing test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mathx.h"

static int failures;

#define CHECK_EQ(actual, expected)                                                   \
    do {                                                                             \
        unsigned long a_ = (actual), e_ = (expected);                                \
        if (a_ != e_) {                                                              \
            fprintf(stderr, "%s:%d: %s = %lu, expected %lu\n", __FILE__, __LINE__,   \
                    #actual, a_, e_);                                                \
            failures++;                                                              \
        }                                                                            \
    } while (0)

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    if (strcmp(name, "gcd") == 0) {
        CHECK_EQ(mathx_gcd(12, 18), 6);
        CHECK_EQ(mathx_gcd(17, 5), 1);
        CHECK_EQ(mathx_gcd(0, 9), 9);
    } else if (strcmp(name, "primes") == 0) {
        CHECK_EQ(mathx_count_primes(10), 4);
        CHECK_EQ(mathx_count_primes(100000), 9592);
    } else if (strcmp(name, "fail") == 0) {
        CHECK_EQ(mathx_gcd(12, 18), 7);
    } else if (strcmp(name, "crash") == 0) {
        abort();
    } else {
        fprintf(stderr, "usage: test_mathx gcd|primes|fail|crash\n");
        return 2;
    }
    printf("%s: %s\n", name, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
