/* Resource limits (tests/rlimits.rs): `rlimits alloc|files|fork|aslimit` runs into one
 * limit and reports what it met; the program itself always survives to say so. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int e)
{
    switch (e) {
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case EAGAIN: return "EAGAIN";
    default: return strerror(e);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "alloc")) {
        /* Address space without end (never touched: no host memory is used). */
        long gib = 0;
        while (mmap(NULL, 1ul << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) != MAP_FAILED)
            gib++;
        int e = errno;
        printf("mmap failed: %s after %ld GiB\n", name(e), gib);
        void *small = malloc(100);
        printf("malloc(100) after that: %s\n", small ? "ok" : "NULL");
        return 0;
    }
    if (!strcmp(argv[1], "aslimit")) {
        struct rlimit r;
        getrlimit(RLIMIT_AS, &r);
        printf("RLIMIT_AS soft %lu MiB\n", (unsigned long)(r.rlim_cur >> 20));
        long mib = 0;
        while (malloc(1 << 20) != NULL)
            mib++;
        printf("malloc failed: %s\n", mib > 0 && (unsigned long)mib << 20 <= r.rlim_cur ? "below the limit" : "not at the limit");
        printf("malloc(100) after that: %s\n", malloc(100) ? "ok" : "NULL");
        return 0;
    }
    if (!strcmp(argv[1], "files")) {
        long n = 0;
        while (open("/dev/null", O_RDONLY) >= 0)
            n++;
        int e = errno;
        struct rlimit r;
        getrlimit(RLIMIT_NOFILE, &r);
        printf("open failed: %s after %ld files (limit %lu)\n", name(e), n, (unsigned long)r.rlim_cur);
        for (long fd = 3; fd < 3 + n; fd++)
            close(fd);
        int p[2];
        printf("pipe after closing them: %d\n", pipe(p));
        return 0;
    }
    if (!strcmp(argv[1], "fork")) {
        static pid_t kids[4096];
        long n = 0;
        for (; n < 4096; n++) {
            pid_t p = fork();
            if (p == 0) {
                pause();
                _exit(0);
            }
            if (p < 0)
                break;
            kids[n] = p;
        }
        int e = errno;
        printf("fork failed: %s after %s\n", n < 4096 ? name(e) : "nothing", n > 0 ? "some children" : "none");
        for (long i = 0; i < n; i++) {
            kill(kids[i], SIGKILL);
            waitpid(kids[i], NULL, 0);
        }
        pid_t p = fork();
        if (p == 0)
            _exit(7);
        int st = 0;
        waitpid(p, &st, 0);
        printf("fork after reaping them: %s\n", p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7 ? "ok" : "failed");
        return 0;
    }
    return 2;
}
