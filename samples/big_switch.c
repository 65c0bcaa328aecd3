/* big_switch: a dense switch of 48 cases that compilers turn into a jump table,
 * driven over many inputs; the checksum covers every case. */
#include <stdint.h>
#include <stdio.h>

static inline uint32_t rotl(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

static inline uint32_t popcount(uint32_t x)
{
    return (uint32_t)__builtin_popcount(x);
}

static inline uint32_t clz_safe(uint32_t x)
{
    return x ? (uint32_t)__builtin_clz(x) : 32u;
}

__attribute__((noinline)) static uint32_t step(unsigned op, uint32_t x, uint32_t y)
{
    uint32_t r;
    switch (op) {
    case 0:
        r = x + 0x1234;
        break;
    case 1:
        r = x * 3 + 7;
        break;
    case 2:
        r = x ^ (x >> 3);
        break;
    case 3:
        r = (x << 5) - x;
        break;
    case 4:
        r = x - 977;
        break;
    case 5:
        r = ~x + 11;
        break;
    case 6:
        r = x * 0x9e3779b1u;
        break;
    case 7:
        r = (x >> 7) | (x << 25);
        break;
    case 8:
        r = x & 0xff00ff00u;
        break;
    case 9:
        r = x | 0x10101u;
        break;
    case 10:
        r = x / 3 + 1;
        break;
    case 11:
        r = x % 1000 + 5;
        break;
    case 12:
        r = x * x;
        break;
    case 13:
        r = (x ^ 0xdeadbeefu) + 3;
        break;
    case 14:
        r = x + (x >> 16);
        break;
    case 15:
        r = (x << 3) ^ (x >> 29);
        break;
    case 16:
        r = x - (x >> 2);
        break;
    case 17:
        r = x * 5 - 3;
        break;
    case 18:
        r = (x & 0xffff) * 17;
        break;
    case 19:
        r = x ^ y;
        break;
    case 20:
        r = x + y * 2;
        break;
    case 21:
        r = (x | y) - 1;
        break;
    case 22:
        r = (x & y) + 99;
        break;
    case 23:
        r = x * 7 + y;
        break;
    case 24:
        r = rotl(x, 13);
        break;
    case 25:
        r = rotl(x, 3) ^ y;
        break;
    case 26:
        r = x / (y | 1);
        break;
    case 27:
        r = x % (y | 1) + 1;
        break;
    case 28:
        r = (x >> 1) + (y >> 1);
        break;
    case 29:
        r = x - y;
        break;
    case 30:
        r = y - x;
        break;
    case 31:
        r = (x ^ y) * 31;
        break;
    case 32:
        r = x * 11 + 111;
        break;
    case 33:
        r = x + 0x7fffffff;
        break;
    case 34:
        r = (x >> 9) * 513;
        break;
    case 35:
        r = x ^ 0x5555aaaau;
        break;
    case 36:
        r = (x + 17) * (y + 19);
        break;
    case 37:
        r = popcount(x) + x;
        break;
    case 38:
        r = x == y ? 1 : x + 2;
        break;
    case 39:
        r = x < y ? y - x : x - y;
        break;
    case 40:
        r = clz_safe(x) + x * 3;
        break;
    case 41:
        r = (x << 11) + (x >> 21) + 1;
        break;
    case 42:
        r = x * 0x01000193u;
        break;
    case 43:
        r = (x ^ (x >> 15)) * 0x2c1b3c6du;
        break;
    case 44:
        r = x + 4242;
        break;
    case 45:
        r = x - 4242 * y;
        break;
    case 46:
        r = (x | 1) * 3;
        break;
    case 47:
        r = x ^ (y << 4);
        break;
    default:
        r = x + y + op;
        break;
    }
    return r;
}

int main(int argc, char **argv)
{
    (void)argv;
    unsigned long rounds = 2000000ul * (unsigned long)argc; /* argc keeps it opaque */
    uint32_t x = 1, y = 2, sum = 0;
    static unsigned long hits[50];
    for (unsigned long i = 0; i < rounds; i++) {
        unsigned op = (x ^ (uint32_t)i) % 50; /* includes 2 default-case values */
        uint32_t r = step(op, x, y);
        hits[op]++;
        y = x;
        x = r ^ (uint32_t)(i * 2654435761u);
        sum = rotl(sum, 5) ^ r;
    }
    unsigned long total = 0, least = (unsigned long)-1, most = 0;
    for (unsigned i = 0; i < 50; i++) {
        total += hits[i];
        if (hits[i] < least)
            least = hits[i];
        if (hits[i] > most)
            most = hits[i];
    }
    printf("rounds=%lu every case hit: %s\n", total, least > 0 ? "yes" : "no");
    printf("least-hit=%lu most-hit=%lu\n", least, most);
    printf("checksum=%08x final x=%08x y=%08x\n", sum, x, y);
    for (unsigned op = 0; op < 50; op += 7)
        printf("step(%u, 1000, 33)=%u\n", op, step(op, 1000, 33));
    return 0;
}
