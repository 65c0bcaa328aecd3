/* A small static riscv64 program: the decoder tests disassemble all of its .text
 * (mostly glibc and libm) and compare with objdump. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  double v[8];
  for (int i = 0; i < 8; i++)
    v[i] = sin(i * 0.7 + argc) * exp(-i) + pow(1.5, i) + strtod(argv[0], NULL);
  qsort(v, 8, sizeof v[0], cmp);
  char *p = malloc(100);
  snprintf(p, 100, "%s %g %.3f", argv[0], v[0], log(v[7]));
  static _Atomic long counter;
  counter += strlen(p);
  printf("hello %d %s %ld\n", argc, p, (long)counter);
  free(p);
  return 0;
}
