/* A tiny library for the build-system integration tests (tests/build_systems.rs) and
 * the examples in docs/build-systems.md. */
#ifndef MATHX_H
#define MATHX_H

unsigned long mathx_gcd(unsigned long a, unsigned long b);
/* Number of primes below n (sieve of Eratosthenes). */
unsigned mathx_count_primes(unsigned n);

#endif
