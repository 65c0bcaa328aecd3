/* qsort_fnptr: qsort and bsearch driven by comparison callbacks, plus a table of
 * function pointers selected at run time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct person {
    char name[16];
    int age;
    double score;
};

static unsigned long compares;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    compares++;
    return (x > y) - (x < y);
}

static int cmp_int_desc(const void *a, const void *b)
{
    return cmp_int(b, a);
}

static int cmp_u64_low_bits(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a & 0xffff, y = *(const uint64_t *)b & 0xffff;
    compares++;
    if (x != y)
        return x < y ? -1 : 1;
    x = *(const uint64_t *)a;
    y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    compares++;
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_person_age_then_name(const void *a, const void *b)
{
    const struct person *p = a, *q = b;
    compares++;
    if (p->age != q->age)
        return p->age - q->age;
    return strcmp(p->name, q->name);
}

static int cmp_person_score_desc(const void *a, const void *b)
{
    const struct person *p = a, *q = b;
    compares++;
    if (p->score != q->score)
        return p->score < q->score ? 1 : -1;
    return strcmp(p->name, q->name);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    compares++;
    return (x > y) - (x < y);
}

typedef long (*binop)(long, long);
static long op_add(long a, long b) { return a + b; }
static long op_sub(long a, long b) { return a - b; }
static long op_mul(long a, long b) { return a * b; }
static long op_xor(long a, long b) { return a ^ b; }
static long op_min(long a, long b) { return a < b ? a : b; }

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 1;
}

int main(void)
{
    enum { N = 20000 };
    static int ints[N];
    for (int i = 0; i < N; i++)
        ints[i] = (int)(rnd() % 100000) - 50000;
    qsort(ints, N, sizeof ints[0], cmp_int);
    int sorted = 1;
    for (int i = 1; i < N; i++)
        sorted &= ints[i - 1] <= ints[i];
    printf("ints sorted ascending: %s, min=%d max=%d median=%d\n", sorted ? "yes" : "no",
           ints[0], ints[N - 1], ints[N / 2]);

    int found = 0, missing = 0;
    for (int k = -50000; k < 50000; k += 37) {
        int *hit = bsearch(&k, ints, N, sizeof ints[0], cmp_int);
        if (hit != NULL && *hit == k)
            found++;
        else
            missing++;
    }
    printf("bsearch: found=%d missing=%d\n", found, missing);

    qsort(ints, N, sizeof ints[0], cmp_int_desc);
    printf("descending: first=%d last=%d\n", ints[0], ints[N - 1]);

    static uint64_t wide[5000];
    for (int i = 0; i < 5000; i++)
        wide[i] = ((uint64_t)rnd() << 33) ^ rnd();
    qsort(wide, 5000, sizeof wide[0], cmp_u64_low_bits);
    uint64_t h = 0;
    for (int i = 0; i < 5000; i++)
        h = h * 1000003u ^ wide[i];
    printf("u64 by low bits: hash=%016llx\n", (unsigned long long)h);

    const char *words[] = {"pear",  "apple", "fig",    "banana", "cherry", "kiwi",  "date",
                           "grape", "lemon", "mango",  "apricot", "lime",  "melon", "plum",
                           "peach", "quince", "olive", "nectarine", "guava", "papaya"};
    size_t nwords = sizeof words / sizeof words[0];
    qsort(words, nwords, sizeof words[0], cmp_str);
    printf("words:");
    for (size_t i = 0; i < nwords; i++)
        printf(" %s", words[i]);
    printf("\n");
    const char *key = "mango";
    const char **w = bsearch(&key, words, nwords, sizeof words[0], cmp_str);
    printf("bsearch(\"mango\") -> index %ld\n", w ? (long)(w - words) : -1L);
    key = "zucchini";
    w = bsearch(&key, words, nwords, sizeof words[0], cmp_str);
    printf("bsearch(\"zucchini\") -> %s\n", w ? "found" : "not found");

    struct person people[12];
    const char *names[] = {"ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo",
                           "kim", "lou"};
    for (int i = 0; i < 12; i++) {
        snprintf(people[i].name, sizeof people[i].name, "%s", names[i]);
        people[i].age = 20 + (int)(rnd() % 5);
        people[i].score = (double)(rnd() % 1000) / 8.0;
    }
    qsort(people, 12, sizeof people[0], cmp_person_age_then_name);
    printf("by age:");
    for (int i = 0; i < 12; i++)
        printf(" %s/%d", people[i].name, people[i].age);
    printf("\n");
    qsort(people, 12, sizeof people[0], cmp_person_score_desc);
    printf("by score:");
    for (int i = 0; i < 12; i++)
        printf(" %s/%.3f", people[i].name, people[i].score);
    printf("\n");

    double ds[1000];
    for (int i = 0; i < 1000; i++)
        ds[i] = (double)((int)(rnd() % 20001) - 10000) / 64.0;
    qsort(ds, 1000, sizeof ds[0], cmp_double);
    printf("doubles: min=%.6f q1=%.6f median=%.6f max=%.6f\n", ds[0], ds[250], ds[500], ds[999]);

    binop ops[] = {op_add, op_sub, op_mul, op_xor, op_min};
    long acc = 1;
    for (int i = 0; i < 100000; i++)
        acc = ops[rnd() % 5](acc, (long)(rnd() % 1000) - 500) % 1000000007L;
    printf("function-pointer table result=%ld\n", acc);
    /* The exact count depends on glibc's choice of sort algorithm, which depends on the
     * machine's memory size; only print that the callbacks ran. */
    printf("comparison callbacks ran: %s\n", compares > 100000 ? "yes" : "no");
    return 0;
}
