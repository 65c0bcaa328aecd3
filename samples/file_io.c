/* file_io: create, write, read back, stat, seek, rename and unlink files in a directory
 * given as argv[1] (default /tmp), using both raw syscalls and stdio. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok   %s\n", what);                                                             \
        } else {                                                                                   \
            printf("FAIL %s (errno %d: %s)\n", what, errno, strerror(errno));                      \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static unsigned checksum(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    umask(022); /* the printed mode must not depend on the caller's umask */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char base[4096];
    snprintf(base, sizeof base, "%s/vmx-file-io-%ld-%ld", dir, (long)getpid(), (long)ts.tv_nsec);

    /* A private subdirectory keeps everything below unique. */
    CHECK(mkdir(base, 0700) == 0, "mkdir private directory");
    char path[4200], path2[4200];
    snprintf(path, sizeof path, "%s/data.bin", base);
    snprintf(path2, sizeof path2, "%s/renamed.bin", base);

    /* Raw write of 100000 bytes in uneven chunks. */
    static unsigned char buf[100000], back[100000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + (i >> 8));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0, "open O_CREAT|O_EXCL");
    size_t done = 0, chunk = 1;
    while (done < sizeof buf) {
        size_t n = chunk < sizeof buf - done ? chunk : sizeof buf - done;
        ssize_t w = write(fd, buf + done, n);
        if (w <= 0)
            break;
        done += (size_t)w;
        chunk = chunk * 3 + 1;
    }
    CHECK(done == sizeof buf, "write 100000 bytes in chunks");
    CHECK(fsync(fd) == 0, "fsync");
    CHECK(close(fd) == 0, "close");

    /* Opening again with O_EXCL must fail with EEXIST. */
    errno = 0;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd < 0 && errno == EEXIST, "second O_EXCL open fails with EEXIST");

    struct stat st;
    CHECK(stat(path, &st) == 0, "stat");
    printf("size=%lld regular=%d mode=%o\n", (long long)st.st_size, S_ISREG(st.st_mode),
           (unsigned)(st.st_mode & 0777));

    /* Read it back with read, lseek and pread. */
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open O_RDONLY");
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, back + got, sizeof back - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    CHECK(got == sizeof buf && memcmp(buf, back, sizeof buf) == 0, "read back identical");
    printf("checksum=%08x\n", checksum(back, got));
    CHECK(read(fd, back, 10) == 0, "read at EOF returns 0");
    CHECK(lseek(fd, 12345, SEEK_SET) == 12345, "lseek SEEK_SET");
    unsigned char small[16];
    CHECK(read(fd, small, sizeof small) == 16 && memcmp(small, buf + 12345, 16) == 0,
          "read after lseek");
    CHECK(lseek(fd, -100, SEEK_END) == (off_t)sizeof buf - 100, "lseek SEEK_END");
    CHECK(pread(fd, small, 8, 99990) == 8 && memcmp(small, buf + 99990, 8) == 0, "pread");
    CHECK(lseek(fd, 0, SEEK_CUR) == (off_t)sizeof buf - 100, "pread leaves offset alone");
    struct stat fst;
    CHECK(fstat(fd, &fst) == 0 && fst.st_size == st.st_size && fst.st_ino == st.st_ino,
          "fstat agrees with stat");
    CHECK(close(fd) == 0, "close reader");

    /* stdio: append text lines, read them back with fgets. */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "fopen w truncates");
    for (int i = 0; i < 50; i++)
        fprintf(f, "line %02d: %d squared is %d\n", i, i, i * i);
    CHECK(fclose(f) == 0, "fclose");
    f = fopen(path, "a+");
    CHECK(f != NULL, "fopen a+");
    fputs("appended line\n", f);
    rewind(f);
    char line[128];
    int lines = 0;
    unsigned lsum = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lines++;
        lsum = lsum * 31 + checksum((unsigned char *)line, strlen(line));
        if (lines == 8 || strncmp(line, "appended", 8) == 0)
            printf("read: %s", line);
    }
    CHECK(fclose(f) == 0, "fclose a+");
    printf("lines=%d line-checksum=%08x\n", lines, lsum);

    /* ftruncate, rename, access, unlink. */
    fd = open(path, O_RDWR);
    CHECK(fd >= 0 && ftruncate(fd, 10) == 0, "ftruncate to 10");
    CHECK(fstat(fd, &fst) == 0 && fst.st_size == 10, "size is 10 after ftruncate");
    close(fd);
    CHECK(rename(path, path2) == 0, "rename");
    errno = 0;
    CHECK(access(path, F_OK) != 0 && errno == ENOENT, "old name is gone (ENOENT)");
    CHECK(access(path2, R_OK | W_OK) == 0, "new name is accessible");
    CHECK(unlink(path2) == 0, "unlink");
    errno = 0;
    CHECK(stat(path2, &st) != 0 && errno == ENOENT, "stat after unlink fails with ENOENT");
    errno = 0;
    CHECK(open(path2, O_RDONLY) < 0 && errno == ENOENT, "open after unlink fails with ENOENT");
    CHECK(rmdir(base) == 0, "rmdir private directory");

    printf("%s\n", failures == 0 ? "all file operations passed" : "SOME FILE OPERATIONS FAILED");
    return failures == 0 ? 0 : 1;
}
