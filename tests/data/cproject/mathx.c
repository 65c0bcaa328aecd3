#include <stdlib.h>
#include <string.h>

#include "mathx.h"

unsigned long mathx_gcd(unsigned long a, unsigned long b) {
    while (b != 0) {
        unsigned long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

unsigned mathx_count_primes(unsigned n) {
    if (n < 3)
        return 0;
    char *composite = calloc(n, 1);
    unsigned count = 0;
    for (unsigned i = 2; i < n; i++) {
        if (composite[i])
            continue;
        count++;
        for (unsigned long j = (unsigned long)i * i; j < n; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}
