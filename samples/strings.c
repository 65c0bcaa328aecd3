/* strings: string.h functions, sprintf/snprintf/sscanf, strtol/strtoul/strtod and friends,
 * ctype, with unaligned and overlapping buffers. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void show_strtol(const char *s, int base)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    printf("strtol(\"%s\", %d) = %ld, consumed %ld, errno=%s\n", s, base, v, (long)(end - s),
           errno == ERANGE ? "ERANGE" : errno == 0 ? "0" : "other");
}

static void show_strtoul(const char *s, int base)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    printf("strtoull(\"%s\", %d) = %llu, consumed %ld, errno=%s\n", s, base, v, (long)(end - s),
           errno == ERANGE ? "ERANGE" : errno == 0 ? "0" : "other");
}

static void show_strtod(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    printf("strtod(\"%s\") = %.17g (%a), consumed %ld, errno=%s\n", s, v, v, (long)(end - s),
           errno == ERANGE ? "ERANGE" : errno == 0 ? "0" : "other");
}

static unsigned hash(const char *p, size_t n)
{
    unsigned h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + (unsigned char)p[i];
    return h;
}

int main(void)
{
    char buf[256], other[256];

    printf("-- basic string.h --\n");
    strcpy(buf, "Hello");
    strcat(buf, ", ");
    const char *volatile world = "world!!!"; /* opaque: no compile-time truncation warning */
    strncat(buf, world, 6);
    printf("strcpy/strcat/strncat: \"%s\" len=%zu\n", buf, strlen(buf));
    printf("strcmp: %d %d %d  strncmp(\"abcdef\",\"abcxyz\",3)=%d\n",
           strcmp("abc", "abd") < 0, strcmp("b", "a") > 0, strcmp("same", "same"),
           strncmp("abcdef", "abcxyz", 3));
    printf("strcasecmp(\"HeLLo\",\"hello\")=%d strncasecmp=%d\n", strcasecmp("HeLLo", "hello"),
           strncasecmp("ABCd", "abcE", 3));
    const char *text = "the quick brown fox jumps over the lazy dog";
    printf("strchr('q')=+%ld strrchr('o')=+%ld strstr(\"the\",2nd)=+%ld strpbrk(\"xyz\")=+%ld\n",
           (long)(strchr(text, 'q') - text), (long)(strrchr(text, 'o') - text),
           (long)(strstr(text + 1, "the") - text), (long)(strpbrk(text, "xyz") - text));
    printf("strspn(\"the q\")=%zu strcspn(\"aeiou\")=%zu strchr('\\0') at end: %d\n",
           strspn(text, "the q"), strcspn(text, "aeiou"), strchr(text, '\0') == text + strlen(text));
    printf("strstr(absent)=%s memchr('z')=+%ld\n", strstr(text, "cat") ? "found" : "NULL",
           (long)((const char *)memchr(text, 'z', strlen(text)) - text));

    strcpy(buf, "alpha,beta;;gamma, delta;epsilon");
    printf("strtok_r:");
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",; ", &save); tok; tok = strtok_r(NULL, ",; ", &save))
        printf(" [%s]", tok);
    printf("\n");

    char *dup = strdup("duplicated string");
    char *ndup = strndup("truncate me here", 8);
    printf("strdup=\"%s\" strndup=\"%s\"\n", dup, ndup);
    free(dup);
    free(ndup);

    printf("-- mem* with odd alignments and overlap --\n");
    for (int i = 0; i < 256; i++)
        buf[i] = (char)(i * 7 + 1);
    unsigned sums[4];
    for (int shift = 0; shift < 4; shift++) {
        memset(other, 0, sizeof other);
        memcpy(other + shift, buf + 3 - shift, 200 - shift);
        sums[shift] = hash(other, 256);
    }
    printf("memcpy unaligned hashes: %08x %08x %08x %08x\n", sums[0], sums[1], sums[2], sums[3]);
    memmove(buf + 5, buf, 100); /* forward overlap */
    printf("memmove forward: %08x\n", hash(buf, 256));
    memmove(buf, buf + 9, 150); /* backward overlap */
    printf("memmove backward: %08x\n", hash(buf, 256));
    memset(buf + 1, 'x', 77);
    printf("memset: %08x memcmp: %d %d %d\n", hash(buf, 256), memcmp("abc", "abd", 3) < 0,
           memcmp("abc", "abc", 3), memcmp("\xff", "\x01", 1) > 0);
    char longstr[5000];
    memset(longstr, 'a', sizeof longstr - 1);
    longstr[sizeof longstr - 1] = '\0';
    longstr[4321] = 'b';
    printf("long: strlen=%zu strchr('b')=+%ld strrchr('a')=+%ld\n", strlen(longstr),
           (long)(strchr(longstr, 'b') - longstr), (long)(strrchr(longstr, 'a') - longstr));

    printf("-- sprintf/snprintf --\n");
    int n = sprintf(buf, "[%5d|%-5d|%05d|%+d|%x|%X|%#o|%c|%s|%.3s|%10.4s|%%]", 42, 42, 42, 42,
                    255, 255, 8, 'Z', "str", "truncated", "abcdefgh");
    printf("%s (n=%d)\n", buf, n);
    n = sprintf(buf, "%ld %lu %lld %hhd %hu %zu %td %jd", LONG_MIN, ULONG_MAX, LLONG_MIN,
                (signed char)-1, (unsigned short)65535, (size_t)12345, (ptrdiff_t)-7,
                (intmax_t)INT64_MAX);
    printf("%s (n=%d)\n", buf, n);
    const char *volatile long_text = "this does not fit";
    n = snprintf(other, 10, "%s", long_text);
    printf("snprintf truncation: \"%s\" would-be length=%d\n", other, n);
    n = snprintf(NULL, 0, "%d-%d", 123, 4567);
    printf("snprintf(NULL,0) length=%d\n", n);
    n = sprintf(buf, "%*d|%-*s|%.*f", 6, -12, 4, "ab", 2, 3.14159);
    printf("%s (n=%d)\n", buf, n);

    printf("-- sscanf --\n");
    int a = 0, b = 0;
    unsigned x = 0;
    double d = 0;
    char word[32] = "", rest[64] = "";
    n = sscanf("  17 -4 0x1F 2.5e3 token tail of line", "%d %d %x %lf %31s %63[^\n]", &a, &b, &x,
               &d, word, rest);
    printf("n=%d a=%d b=%d x=%u d=%g word=%s rest=\"%s\"\n", n, a, b, x, d, word, rest);
    n = sscanf("12:34:56", "%d:%d:%d", &a, &b, (int *)&x);
    printf("time: n=%d %d %d %u\n", n, a, b, x);
    n = sscanf("abc", "%d", &a);
    printf("no match: n=%d\n", n);
    n = sscanf("", "%d", &a);
    printf("empty input: n=%d (EOF=%d)\n", n, EOF);
    char c1, c2;
    n = sscanf("key=value", "%31[^=]=%c%c", word, &c1, &c2);
    printf("scanset: n=%d key=%s c=%c%c\n", n, word, c1, c2);

    printf("-- strtol family --\n");
    show_strtol("12345", 10);
    show_strtol("   -0x7fffffffffffffff", 0);
    show_strtol("0777", 0);
    show_strtol("0b101", 0); /* glibc 2.36: only "0" is consumed */
    show_strtol("101101", 2);
    show_strtol("zz", 36);
    show_strtol("9223372036854775808", 10);
    show_strtol("-9223372036854775809", 10);
    show_strtol("42abc", 10);
    show_strtol("  +", 10);
    show_strtoul("18446744073709551615", 10);
    show_strtoul("18446744073709551616", 10);
    show_strtoul("-1", 10);
    show_strtoul("ffffFFFF", 16);
    printf("atoi(\" -77x\")=%d atol(\"123456789012\")=%ld\n", atoi(" -77x"), atol("123456789012"));

    printf("-- strtod --\n");
    show_strtod("3.14159");
    show_strtod("-0.0");
    show_strtod("1e308");
    show_strtod("1e309");
    show_strtod("2.4703282292062328e-324");
    show_strtod("1e-400");
    show_strtod("0x1.8p3");
    show_strtod("  inf");
    show_strtod("-Infinity");
    show_strtod("nan");
    show_strtod("123.456e-2xyz");
    show_strtod(".5");
    show_strtod("0.1000000000000000055511151231257827");
    show_strtod("not a number");
    printf("strtof(\"0.1\")=%a atof(\"2.5\")=%g\n", (double)strtof("0.1", NULL), atof("2.5"));

    printf("-- ctype --\n");
    int counts[6] = {0};
    for (int ch = 0; ch < 128; ch++) {
        counts[0] += isalpha(ch) != 0;
        counts[1] += isdigit(ch) != 0;
        counts[2] += isspace(ch) != 0;
        counts[3] += ispunct(ch) != 0;
        counts[4] += isupper(ch) != 0;
        counts[5] += isxdigit(ch) != 0;
    }
    printf("alpha=%d digit=%d space=%d punct=%d upper=%d xdigit=%d\n", counts[0], counts[1],
           counts[2], counts[3], counts[4], counts[5]);
    strcpy(buf, "Mixed Case 123 !?");
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    printf("toupper: %s\n", buf);
    printf("strerror(ENOENT)=\"%s\" strerror(ERANGE)=\"%s\"\n", strerror(ENOENT),
           strerror(ERANGE));
    return 0;
}
