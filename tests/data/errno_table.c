/* The errno table: every implemented system call with bad arguments (bad fd, bad
 * pointer, bad flags, missing path, wrong file type, bad sizes), made with syscall(2)
 * directly so libc neither hides nor invents an error. One line per case,
 * `name: ERRNO` (or `name: ok`), identical natively on x86-64, under qemu-user and
 * under vmx for every guest ISA (tests/errno_table.rs).
 *
 * Only the generic syscall table is used (x86-64 has every one of these calls too,
 * with its own numbers from <sys/syscall.h>). Architecture-specific calls
 * (riscv_flush_icache, arch_prctl) and the old x86-64-only calls (open, stat, poll...)
 * are left out so the output is the same everywhere. Bad pointers: BAD1 = (void *)1 (the
 * unmapped first page), KBAD = an address in the kernel half (on every 64-bit Linux
 * port a user pointer there is EFAULT). Cases whose result depends on the machine
 * (permissions of the user running the test, CPU count) pick arguments that give the
 * same answer for any user. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <termios.h>
#include <sched.h>
#include <sys/time.h>

#define BAD1 ((long)1)
#define KBAD ((long)0xffff800000001000UL)

static const char *errname(int e) {
    switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
        E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST)
        E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
        E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM)
        E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
        E(ENOMSG) E(EOVERFLOW) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE)
        E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT)
        E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETUNREACH) E(ECONNRESET) E(EISCONN)
        E(ENOTCONN) E(ECONNREFUSED) E(ETIMEDOUT) E(EALREADY) E(EINPROGRESS) E(EBADFD)
#undef E
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
    }
}

static int cases;

static void report(const char *name, long r) {
    cases++;
    if (r == -1)
        printf("%s: %s\n", name, errname(errno));
    else
        printf("%s: ok\n", name);
    fflush(stdout);
}

/* Arguments go through syscall(2)'s varargs as longs: a negative 64-bit argument must
 * be written as a long (-1L), or x86-64 passes 0xffffffff. */
#define T(name, ...) do { errno = 0; report(name, syscall(__VA_ARGS__)); } while (0)

static char dir[256], file[300], sub[300], link_loop[300], link_file[300], missing[300];
static char nonempty[300], nonempty_f[320], longname[400], longpath[5000];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/vmx-errno-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(link_loop, sizeof link_loop, "%s/loop", dir);
    snprintf(link_file, sizeof link_file, "%s/lnk", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    snprintf(nonempty, sizeof nonempty, "%s/full", dir);
    snprintf(nonempty_f, sizeof nonempty_f, "%s/full/x", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "0123456789", 10) != 10) { perror("file"); exit(1); }
    close(fd);
    if (mkdir(sub, 0755) || mkdir(nonempty, 0755) || symlink(link_loop, link_loop) ||
        symlink(file, link_file)) { perror("setup"); exit(1); }
    fd = open(nonempty_f, O_CREAT | O_WRONLY, 0644);
    close(fd);
    memset(longname, 'a', 300);
    longname[300] = 0;
    size_t n = 0;
    while (n < 4200) { longpath[n++] = '/'; longpath[n++] = 'b'; }
    longpath[n] = 0;
}

static void cleanup(void) {
    unlink(nonempty_f);
    rmdir(nonempty);
    unlink(link_loop);
    unlink(link_file);
    unlink(file);
    char p[400];
    snprintf(p, sizeof p, "%s/new", dir); unlink(p);
    snprintf(p, sizeof p, "%s/sym", dir); unlink(p);
    rmdir(sub);
    rmdir(dir);
}

static void files(void) {
    int rd = open(file, O_RDONLY);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int p[2];
    if (rd < 0 || dfd < 0 || pipe(p)) { perror("open"); exit(1); }
    char buf[64];
    char fname_rel[] = "file";

    T("read(bad fd)", SYS_read, 999, buf, 1);
    T("read(-1)", SYS_read, -1, buf, 1);
    T("read(buf=1)", SYS_read, rd, BAD1, 4);
    T("read(buf=kernel)", SYS_read, rd, KBAD, 4);
    T("read(directory)", SYS_read, dfd, buf, 4);
    T("read(len 0, buf=kernel)", SYS_read, rd, KBAD, 0);
    T("write(bad fd)", SYS_write, 999, "x", 1);
    T("write(buf=1)", SYS_write, p[1], BAD1, 1);
    T("write(buf=kernel)", SYS_write, p[1], KBAD, 1);
    T("write(O_RDONLY fd)", SYS_write, rd, "x", 1);
    T("pread64(pipe)", SYS_pread64, p[0], buf, 1, 0);
    T("pread64(negative offset)", SYS_pread64, rd, buf, 1, -1L);
    T("pread64(buf=1)", SYS_pread64, rd, BAD1, 1, 0);
    T("pwrite64(bad fd)", SYS_pwrite64, 999, buf, 1, 0);
    T("pwrite64(O_RDONLY fd)", SYS_pwrite64, rd, buf, 1, 0);
    struct iovec iov = {buf, 4};
    struct iovec badiov = {(void *)BAD1, 4};
    T("readv(iovcnt -1)", SYS_readv, rd, &iov, -1);
    T("readv(iovcnt 1025)", SYS_readv, rd, &iov, 1025);
    T("readv(iov=1)", SYS_readv, rd, BAD1, 1);
    T("readv(iov_base=1)", SYS_readv, rd, &badiov, 1);
    T("writev(bad fd)", SYS_writev, 999, &iov, 1);
    T("writev(iov=kernel)", SYS_writev, p[1], KBAD, 1);
    T("preadv(pipe)", SYS_preadv, p[0], &iov, 1, 0, 0);
    T("preadv(bad fd)", SYS_preadv, 999, &iov, 1, 0, 0);
    T("preadv(negative offset)", SYS_preadv, rd, &iov, 1, -1L, -1L);
    T("pwritev(O_RDONLY fd)", SYS_pwritev, rd, &iov, 1, 0, 0);
    T("preadv2(bad flags)", SYS_preadv2, rd, &iov, 1, 0, 0, 0x100);
    T("pwritev2(iov=1)", SYS_pwritev2, p[1], BAD1, 1, -1L, -1L, 0);

    T("openat(missing)", SYS_openat, AT_FDCWD, missing, O_RDONLY);
    T("openat(path=1)", SYS_openat, AT_FDCWD, BAD1, O_RDONLY);
    T("openat(path=kernel)", SYS_openat, AT_FDCWD, KBAD, O_RDONLY);
    T("openat(O_CREAT|O_EXCL existing)", SYS_openat, AT_FDCWD, file, O_CREAT | O_EXCL | O_WRONLY, 0644);
    T("openat(O_DIRECTORY on file)", SYS_openat, AT_FDCWD, file, O_RDONLY | O_DIRECTORY);
    char through[400];
    snprintf(through, sizeof through, "%s/x", file);
    T("openat(file as directory)", SYS_openat, AT_FDCWD, through, O_RDONLY);
    T("openat(directory O_WRONLY)", SYS_openat, AT_FDCWD, dir, O_WRONLY);
    T("openat(symlink loop)", SYS_openat, AT_FDCWD, link_loop, O_RDONLY);
    T("openat(O_NOFOLLOW symlink)", SYS_openat, AT_FDCWD, link_file, O_RDONLY | O_NOFOLLOW);
    T("openat(bad dirfd)", SYS_openat, 999, fname_rel, O_RDONLY);
    T("openat(dirfd is a file)", SYS_openat, rd, fname_rel, O_RDONLY);
    T("openat(long name)", SYS_openat, dfd, longname, O_RDONLY);
    T("openat(long path)", SYS_openat, AT_FDCWD, longpath, O_RDONLY);
    T("openat(empty path)", SYS_openat, AT_FDCWD, "", O_RDONLY);
    T("openat(O_TMPFILE without write)", SYS_openat, AT_FDCWD, dir, O_TMPFILE | O_RDONLY, 0600);
    T("close(bad fd)", SYS_close, 999);
    T("close(-1)", SYS_close, -1);
    T("close_range(first > last)", SYS_close_range, 10, 5, 0);
    T("close_range(bad flags)", SYS_close_range, 900, 901, 0x80);
    T("lseek(bad whence)", SYS_lseek, rd, 0, 17);
    T("lseek(pipe)", SYS_lseek, p[0], 0, SEEK_SET);
    T("lseek(negative result)", SYS_lseek, rd, -100L, SEEK_SET);
    T("lseek(bad fd)", SYS_lseek, 999, 0, SEEK_SET);
    T("fstat(bad fd)", SYS_fstat, 999, buf);
    T("fstat(buf=1)", SYS_fstat, rd, BAD1);
    T("fstat(buf=kernel)", SYS_fstat, rd, KBAD);
    char statbuf[256];
    T("newfstatat(missing)", SYS_newfstatat, AT_FDCWD, missing, statbuf, 0);
    T("newfstatat(path=1)", SYS_newfstatat, AT_FDCWD, BAD1, statbuf, 0);
    T("newfstatat(buf=1)", SYS_newfstatat, AT_FDCWD, file, BAD1, 0);
    T("newfstatat(bad flags)", SYS_newfstatat, AT_FDCWD, file, statbuf, 0x40000);
    T("newfstatat(empty, no AT_EMPTY_PATH)", SYS_newfstatat, rd, "", statbuf, 0);
    T("newfstatat(symlink loop)", SYS_newfstatat, AT_FDCWD, link_loop, statbuf, 0);
    T("statx(missing)", SYS_statx, AT_FDCWD, missing, 0, 0x7ff, statbuf);
    T("statx(bad flags)", SYS_statx, AT_FDCWD, file, 0x80000, 0x7ff, statbuf);
    T("statx(reserved mask)", SYS_statx, AT_FDCWD, file, 0, 0x80000000u, statbuf);
    T("statx(buf=1)", SYS_statx, AT_FDCWD, file, 0, 0x7ff, BAD1);
    T("statx(path=kernel)", SYS_statx, AT_FDCWD, KBAD, 0, 0x7ff, statbuf);
    T("statfs(missing)", SYS_statfs, missing, statbuf);
    T("statfs(buf=1)", SYS_statfs, file, BAD1);
    T("fstatfs(bad fd)", SYS_fstatfs, 999, statbuf);
    T("fstatfs(buf=kernel)", SYS_fstatfs, rd, KBAD);
    T("faccessat(missing)", SYS_faccessat, AT_FDCWD, missing, F_OK);
    T("faccessat(bad mode)", SYS_faccessat, AT_FDCWD, file, 0x10);
    T("faccessat(X_OK on 0644 file)", SYS_faccessat, AT_FDCWD, file, X_OK);
    T("faccessat(path=1)", SYS_faccessat, AT_FDCWD, BAD1, F_OK);
    T("faccessat2(bad flags)", SYS_faccessat2, AT_FDCWD, file, F_OK, 0x1);
    T("faccessat2(missing)", SYS_faccessat2, AT_FDCWD, missing, F_OK, AT_EACCESS);
    T("getdents64(file)", SYS_getdents64, rd, statbuf, sizeof statbuf);
    T("getdents64(bad fd)", SYS_getdents64, 999, statbuf, sizeof statbuf);
    T("getdents64(buf too small)", SYS_getdents64, dfd, statbuf, 4);
    T("getdents64(buf=1)", SYS_getdents64, dfd, BAD1, 256);
    T("mkdirat(existing)", SYS_mkdirat, AT_FDCWD, sub, 0755);
    char deep[400];
    snprintf(deep, sizeof deep, "%s/a/b", missing);
    T("mkdirat(missing parent)", SYS_mkdirat, AT_FDCWD, deep, 0755);
    T("mkdirat(path=kernel)", SYS_mkdirat, AT_FDCWD, KBAD, 0755);
    T("mknodat(existing)", SYS_mknodat, AT_FDCWD, file, S_IFIFO | 0644, 0);
    T("unlinkat(directory)", SYS_unlinkat, AT_FDCWD, sub, 0);
    T("unlinkat(non-empty dir, AT_REMOVEDIR)", SYS_unlinkat, AT_FDCWD, nonempty, AT_REMOVEDIR);
    T("unlinkat(file, AT_REMOVEDIR)", SYS_unlinkat, AT_FDCWD, file, AT_REMOVEDIR);
    T("unlinkat(bad flags)", SYS_unlinkat, AT_FDCWD, file, 0x1);
    T("unlinkat(missing)", SYS_unlinkat, AT_FDCWD, missing, 0);
    T("renameat2(bad flags)", SYS_renameat2, AT_FDCWD, file, AT_FDCWD, missing, 0x100);
    T("renameat2(NOREPLACE existing)", SYS_renameat2, AT_FDCWD, file, AT_FDCWD, link_file, 1);
    T("renameat2(missing)", SYS_renameat2, AT_FDCWD, missing, AT_FDCWD, through, 0);
    T("renameat2(dir over file)", SYS_renameat2, AT_FDCWD, sub, AT_FDCWD, file, 0);
    T("renameat2(newpath=1)", SYS_renameat2, AT_FDCWD, file, AT_FDCWD, BAD1, 0);
    T("linkat(existing)", SYS_linkat, AT_FDCWD, file, AT_FDCWD, link_file, 0);
    T("linkat(missing)", SYS_linkat, AT_FDCWD, missing, AT_FDCWD, through, 0);
    T("linkat(bad flags)", SYS_linkat, AT_FDCWD, file, AT_FDCWD, missing, 0x1);
    T("symlinkat(existing)", SYS_symlinkat, file, AT_FDCWD, link_file);
    T("symlinkat(target=1)", SYS_symlinkat, BAD1, AT_FDCWD, missing);
    T("readlinkat(not a link)", SYS_readlinkat, AT_FDCWD, file, buf, sizeof buf);
    T("readlinkat(size 0)", SYS_readlinkat, AT_FDCWD, link_file, buf, 0);
    T("readlinkat(missing)", SYS_readlinkat, AT_FDCWD, missing, buf, sizeof buf);
    T("readlinkat(buf=1)", SYS_readlinkat, AT_FDCWD, link_file, BAD1, 64);
    T("fchmodat(missing)", SYS_fchmodat, AT_FDCWD, missing, 0644);
    T("fchmod(bad fd)", SYS_fchmod, 999, 0644);
    T("fchownat(missing)", SYS_fchownat, AT_FDCWD, missing, -1, -1, 0);
    T("fchownat(bad flags)", SYS_fchownat, AT_FDCWD, file, -1, -1, 0x1);
    T("fchown(bad fd)", SYS_fchown, 999, -1, -1);
    struct timespec badts[2] = {{0, 2000000000L}, {0, 0}};
    T("utimensat(bad nsec)", SYS_utimensat, AT_FDCWD, file, badts, 0);
    T("utimensat(missing)", SYS_utimensat, AT_FDCWD, missing, 0, 0);
    T("utimensat(times=1)", SYS_utimensat, AT_FDCWD, file, BAD1, 0);
    T("utimensat(bad flags)", SYS_utimensat, AT_FDCWD, file, 0, 0x2);
    T("truncate(directory)", SYS_truncate, dir, 0);
    T("truncate(missing)", SYS_truncate, missing, 0);
    T("truncate(negative)", SYS_truncate, file, -1L);
    T("ftruncate(pipe)", SYS_ftruncate, p[0], 0);
    T("ftruncate(O_RDONLY)", SYS_ftruncate, rd, 0);
    T("ftruncate(bad fd)", SYS_ftruncate, 999, 0);
    T("fallocate(O_RDONLY)", SYS_fallocate, rd, 0, 0, 4096);
    T("fallocate(bad mode)", SYS_fallocate, rd, 0x1000, 0, 4096);
    T("fsync(bad fd)", SYS_fsync, 999);
    T("fdatasync(bad fd)", SYS_fdatasync, 999);
    T("fcntl(bad cmd)", SYS_fcntl, rd, 9999, 0);
    T("fcntl(bad fd)", SYS_fcntl, 999, F_GETFD);
    T("fcntl(F_DUPFD negative)", SYS_fcntl, rd, F_DUPFD, -1);
    T("fcntl(F_GETLK buf=1)", SYS_fcntl, rd, F_GETLK, BAD1);
    struct flock fl = {.l_type = 99, .l_whence = SEEK_SET};
    T("fcntl(F_SETLK bad type)", SYS_fcntl, rd, F_SETLK, &fl);
    T("dup(bad fd)", SYS_dup, 999);
    T("dup3(same fd)", SYS_dup3, rd, rd, 0);
    T("dup3(bad flags)", SYS_dup3, rd, 100, 0x1);
    T("dup3(bad old fd)", SYS_dup3, 999, 100, 0);
    T("pipe2(bad flags)", SYS_pipe2, buf, 0x1);
    T("pipe2(fds=1)", SYS_pipe2, BAD1, 0);
    T("pipe2(fds=kernel)", SYS_pipe2, KBAD, 0);
    T("ioctl(TCGETS on file)", SYS_ioctl, rd, TCGETS, statbuf);
    T("ioctl(FIONREAD arg=1)", SYS_ioctl, p[0], FIONREAD, BAD1);
    T("ioctl(bad fd)", SYS_ioctl, 999, FIONREAD, buf);
    T("ioctl(TIOCGWINSZ on pipe)", SYS_ioctl, p[0], TIOCGWINSZ, buf);
    T("sendfile(bad out fd)", SYS_sendfile, 999, rd, 0, 4);
    T("sendfile(offset=1)", SYS_sendfile, p[1], rd, BAD1, 4);
    T("sendfile(in fd write-only)", SYS_sendfile, p[1], p[1], 0, 4);
    T("copy_file_range(bad flags)", SYS_copy_file_range, rd, 0, p[1], 0, 4, 1);
    T("copy_file_range(bad fd)", SYS_copy_file_range, 999, 0, rd, 0, 4, 0);
    T("splice(no pipe)", SYS_splice, rd, 0, rd, 0, 4, 0);
    T("tee(not pipes)", SYS_tee, rd, rd, 4, 0);
    T("getcwd(size 0)", SYS_getcwd, buf, 0);
    T("getcwd(size 1)", SYS_getcwd, buf, 1);
    T("getcwd(buf=1)", SYS_getcwd, BAD1, 4096);
    T("chdir(missing)", SYS_chdir, missing);
    T("chdir(file)", SYS_chdir, file);
    T("chdir(path=1)", SYS_chdir, BAD1);
    T("fchdir(bad fd)", SYS_fchdir, 999);
    T("fchdir(file)", SYS_fchdir, rd);
    T("flock(bad op)", SYS_flock, rd, 0x40);
    T("flock(bad fd)", SYS_flock, 999, LOCK_SH);
    T("fadvise64(bad advice)", SYS_fadvise64, rd, 0, 0, 99);
    T("fadvise64(pipe)", SYS_fadvise64, p[0], 0, 0, POSIX_FADV_NORMAL);
    T("fadvise64(bad fd)", SYS_fadvise64, 999, 0, 0, POSIX_FADV_NORMAL);
    T("memfd_create(bad flags)", SYS_memfd_create, "x", 0x100);
    T("memfd_create(name=1)", SYS_memfd_create, BAD1, 0);
    T("memfd_create(long name)", SYS_memfd_create, longname, 0);
    T("readahead(pipe)", SYS_readahead, p[0], 0, 4096);
    T("sync_file_range(bad flags)", SYS_sync_file_range, rd, 0, 0, 0x80);
    T("fsync(pipe)", SYS_fsync, p[0]);
    close(rd);
    close(dfd);
    close(p[0]);
    close(p[1]);
}

static void memory(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(0, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { perror("mmap"); exit(1); }
    munmap(m + 2 * page, page); /* a hole */
    int rd = open(file, O_RDONLY);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int wr = open(file, O_WRONLY);
    unsigned char vec[8];
    T("mmap(len 0)", SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T("mmap(no type)", SYS_mmap, 0, page, PROT_READ, MAP_ANONYMOUS, -1, 0);
    T("mmap(bad offset)", SYS_mmap, 0, page, PROT_READ, MAP_PRIVATE, rd, 1);
    T("mmap(bad fd)", SYS_mmap, 0, page, PROT_READ, MAP_PRIVATE, 999, 0);
    T("mmap(directory)", SYS_mmap, 0, page, PROT_READ, MAP_PRIVATE, dfd, 0);
    T("mmap(write-only fd)", SYS_mmap, 0, page, PROT_READ, MAP_PRIVATE, wr, 0);
    T("mmap(shared writable, O_RDONLY)", SYS_mmap, 0, page, PROT_READ | PROT_WRITE, MAP_SHARED, rd, 0);
    T("mmap(MAP_FIXED unaligned)", SYS_mmap, m + 1, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    T("mmap(MAP_FIXED_NOREPLACE taken)", SYS_mmap, m, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    T("mmap(huge)", SYS_mmap, 0, -4096L, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T("munmap(unaligned)", SYS_munmap, m + 1, page);
    T("munmap(len 0)", SYS_munmap, m, 0);
    T("munmap(kernel)", SYS_munmap, KBAD, page);
    T("mprotect(unaligned)", SYS_mprotect, m + 1, page, PROT_READ);
    T("mprotect(hole)", SYS_mprotect, m, 4 * page, PROT_READ);
    T("mprotect(bad prot)", SYS_mprotect, m, page, 0x40);
    char *shared = mmap(0, page, PROT_READ, MAP_SHARED, rd, 0);
    T("mprotect(write on O_RDONLY shared)", SYS_mprotect, shared, page, PROT_READ | PROT_WRITE);
    munmap(shared, page);
    T("mremap(bad flags)", SYS_mremap, m, page, 2 * page, 0x80, 0);
    T("mremap(unaligned)", SYS_mremap, m + 1, page, 2 * page, 0, 0);
    T("mremap(hole)", SYS_mremap, m + 2 * page, page, 2 * page, 0, 0);
    T("mremap(FIXED without MAYMOVE)", SYS_mremap, m, page, page, 2, m + page);
    T("mremap(grow in place blocked)", SYS_mremap, m, page, 2 * page, 0, 0);
    T("madvise(bad advice)", SYS_madvise, m, page, 999);
    T("madvise(unaligned)", SYS_madvise, m + 1, page, MADV_NORMAL);
    T("madvise(hole)", SYS_madvise, m + 2 * page, page, MADV_NORMAL);
    T("msync(unaligned)", SYS_msync, m + 1, page, MS_SYNC);
    T("msync(bad flags)", SYS_msync, m, page, 0x10);
    T("msync(SYNC|ASYNC)", SYS_msync, m, page, MS_SYNC | MS_ASYNC);
    T("msync(hole)", SYS_msync, m + 2 * page, page, MS_SYNC);
    T("mincore(unaligned)", SYS_mincore, m + 1, page, vec);
    T("mincore(hole)", SYS_mincore, m + 2 * page, page, vec);
    T("mincore(vec=1)", SYS_mincore, m, page, BAD1);
    T("mincore(vec=kernel)", SYS_mincore, m, page, KBAD);
    T("mlock(hole)", SYS_mlock, m + 2 * page, page);
    T("munlock(hole)", SYS_munlock, m + 2 * page, page);
    T("mlock2(bad flags)", SYS_mlock2, m, page, 0x80);
    T("mlockall(bad flags)", SYS_mlockall, 0);
    munmap(m, 4 * page);
    close(rd);
    close(dfd);
    close(wr);
}

static void processes(void) {
    char buf[512];
    int status;
    T("wait4(no children)", SYS_wait4, -1, &status, 0, 0);
    T("wait4(bad options)", SYS_wait4, -1, &status, 0x10000000, 0);
    T("waitid(bad idtype)", SYS_waitid, 99, 0, buf, WEXITED, 0);
    T("waitid(no children)", SYS_waitid, P_ALL, 0, buf, WEXITED, 0);
    T("waitid(no options)", SYS_waitid, P_ALL, 0, buf, 0, 0);
    T("kill(bad signal)", SYS_kill, getpid(), 99);
    T("kill(no such pid)", SYS_kill, 0x3ffffff0, 0);
    T("tkill(tid 0)", SYS_tkill, 0, SIGUSR1);
    T("tkill(bad signal)", SYS_tkill, getpid(), 99);
    T("tgkill(tgid 0)", SYS_tgkill, 0, 1, SIGUSR1);
    T("tgkill(no such tid)", SYS_tgkill, getpid(), 0x3ffffff0, 0);
    T("setpgid(negative pgid)", SYS_setpgid, 0, -1);
    T("setpgid(no such pid)", SYS_setpgid, 0x3ffffff0, 0);
    T("getpgid(no such pid)", SYS_getpgid, 0x3ffffff0);
    T("getsid(no such pid)", SYS_getsid, 0x3ffffff0);
    T("getpriority(bad which)", SYS_getpriority, 99, 0);
    T("setpriority(bad which)", SYS_setpriority, 99, 0, 0);
    T("prctl(bad option)", SYS_prctl, 0x7fff, 0, 0, 0, 0);
    T("prctl(PR_SET_PDEATHSIG bad)", SYS_prctl, PR_SET_PDEATHSIG, 99, 0, 0, 0);
    T("prctl(PR_GET_NAME buf=1)", SYS_prctl, PR_GET_NAME, BAD1, 0, 0, 0);
    T("prctl(PR_SET_NAME buf=kernel)", SYS_prctl, PR_SET_NAME, KBAD, 0, 0, 0);
    T("prctl(PR_GET_PDEATHSIG buf=1)", SYS_prctl, PR_GET_PDEATHSIG, BAD1, 0, 0, 0);
    T("prctl(PR_SET_DUMPABLE 7)", SYS_prctl, PR_SET_DUMPABLE, 7, 0, 0, 0);
    struct rlimit rl = {10, 5};
    T("prlimit64(bad resource)", SYS_prlimit64, 0, 99, 0, buf);
    T("prlimit64(cur > max)", SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, 0);
    T("prlimit64(old=1)", SYS_prlimit64, 0, RLIMIT_NOFILE, 0, BAD1);
    T("prlimit64(new=kernel)", SYS_prlimit64, 0, RLIMIT_NOFILE, KBAD, 0);
    T("prlimit64(no such pid)", SYS_prlimit64, 0x3ffffff0, RLIMIT_NOFILE, 0, buf);
    T("getrlimit(bad resource)", SYS_getrlimit, 99, buf);
    T("getrlimit(buf=1)", SYS_getrlimit, RLIMIT_NOFILE, BAD1);
    T("setrlimit(cur > max)", SYS_setrlimit, RLIMIT_NOFILE, &rl);
    T("getrusage(bad who)", SYS_getrusage, 99, buf);
    T("getrusage(buf=1)", SYS_getrusage, RUSAGE_SELF, BAD1);
    T("sched_getaffinity(size 1)", SYS_sched_getaffinity, 0, 1, buf);
    T("sched_getaffinity(size 12)", SYS_sched_getaffinity, 0, 12, buf);
    T("sched_getaffinity(mask=1)", SYS_sched_getaffinity, 0, 128, BAD1);
    T("sched_getaffinity(no such pid)", SYS_sched_getaffinity, 0x3ffffff0, 128, buf);
    T("sched_setaffinity(empty mask)", SYS_sched_setaffinity, 0, 8, "\0\0\0\0\0\0\0\0");
    T("sched_getparam(buf=1)", SYS_sched_getparam, 0, BAD1);
    T("sched_getscheduler(negative pid)", SYS_sched_getscheduler, -1);
    T("sched_get_priority_max(bad policy)", SYS_sched_get_priority_max, 99);
    T("set_robust_list(bad len)", SYS_set_robust_list, buf, 7);
    T("get_robust_list(ptr=1)", SYS_get_robust_list, 0, BAD1, buf);
    T("uname(buf=1)", SYS_uname, BAD1);
    T("uname(buf=kernel)", SYS_uname, KBAD);
    T("sysinfo(buf=1)", SYS_sysinfo, BAD1);
    T("times(buf=1)", SYS_times, BAD1);
    T("getrandom(bad flags)", SYS_getrandom, buf, 8, 0x100);
    T("getrandom(buf=1)", SYS_getrandom, BAD1, 8, 0);
    T("getrandom(buf=kernel)", SYS_getrandom, KBAD, 8, 0);
    T("getgroups(negative)", SYS_getgroups, -1, buf);
    T("getresuid(ptr=1)", SYS_getresuid, BAD1, buf, buf + 4);
    T("getresgid(ptr=kernel)", SYS_getresgid, buf, KBAD, buf + 4);
    T("getcpu(ptr=1)", SYS_getcpu, BAD1, 0, 0);
    T("execve(missing)", SYS_execve, missing, 0, 0);
    T("execve(path=1)", SYS_execve, BAD1, 0, 0);
    T("execve(directory)", SYS_execve, dir, 0, 0);
    T("execve(not executable)", SYS_execve, file, 0, 0);
    T("execve(argv=1)", SYS_execve, "/bin/true", BAD1, 0);
    T("clone(CLONE_SIGHAND without CLONE_VM)", SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0);
    T("clone(CLONE_THREAD without CLONE_SIGHAND)", SYS_clone, CLONE_THREAD | CLONE_VM, 0, 0, 0, 0);
    T("personality(query)", SYS_personality, 0xffffffff);
    unsigned int fw = 5;
    T("futex(bad op)", SYS_futex, &fw, 99, 0, 0, 0, 0);
    T("futex(unaligned)", SYS_futex, (char *)&fw + 1, 1 | 128 /* FUTEX_WAKE_PRIVATE */, 1, 0, 0, 0);
    T("futex(uaddr=kernel)", SYS_futex, KBAD, 0 /* FUTEX_WAIT */, 0, 0, 0, 0);
    T("futex(WAIT value mismatch)", SYS_futex, &fw, 0 | 128, 4, 0, 0, 0);
    struct timespec zero = {0, 0};
    T("futex(WAIT timeout)", SYS_futex, &fw, 0 | 128, 5, &zero, 0, 0);
    struct timespec badns = {0, -1};
    T("futex(WAIT bad timeout)", SYS_futex, &fw, 0 | 128, 5, &badns, 0, 0);
    T("futex(WAIT_BITSET zero mask)", SYS_futex, &fw, 9 | 128, 5, 0, 0, 0);
}

static void signals(void) {
    char buf[256];
    memset(buf, 0, sizeof buf);
    T("rt_sigaction(signal 0)", SYS_rt_sigaction, 0, 0, buf, 8);
    T("rt_sigaction(signal 65)", SYS_rt_sigaction, 65, 0, buf, 8);
    T("rt_sigaction(set SIGKILL)", SYS_rt_sigaction, SIGKILL, buf, 0, 8);
    T("rt_sigaction(sigsetsize 4)", SYS_rt_sigaction, SIGUSR1, 0, buf, 4);
    T("rt_sigaction(act=1)", SYS_rt_sigaction, SIGUSR1, BAD1, 0, 8);
    T("rt_sigaction(oact=kernel)", SYS_rt_sigaction, SIGUSR1, 0, KBAD, 8);
    T("rt_sigprocmask(bad how)", SYS_rt_sigprocmask, 7, buf, 0, 8);
    T("rt_sigprocmask(sigsetsize 16)", SYS_rt_sigprocmask, SIG_BLOCK, buf, 0, 16);
    T("rt_sigprocmask(set=1)", SYS_rt_sigprocmask, SIG_BLOCK, BAD1, 0, 8);
    T("rt_sigprocmask(oset=kernel)", SYS_rt_sigprocmask, SIG_BLOCK, 0, KBAD, 8);
    T("rt_sigpending(sigsetsize 16)", SYS_rt_sigpending, buf, 16);
    T("rt_sigpending(set=1)", SYS_rt_sigpending, BAD1, 8);
    T("rt_sigsuspend(sigsetsize 4)", SYS_rt_sigsuspend, buf, 4);
    T("rt_sigsuspend(set=1)", SYS_rt_sigsuspend, BAD1, 8);
    struct timespec zero = {0, 0};
    unsigned long usr2 = 1UL << (SIGUSR2 - 1);
    T("rt_sigtimedwait(sigsetsize 4)", SYS_rt_sigtimedwait, &usr2, 0, &zero, 4);
    T("rt_sigtimedwait(timeout 0)", SYS_rt_sigtimedwait, &usr2, 0, &zero, 8);
    T("rt_sigtimedwait(set=1)", SYS_rt_sigtimedwait, BAD1, 0, &zero, 8);
    struct timespec badns = {0, 1000000000L};
    T("rt_sigtimedwait(bad timeout)", SYS_rt_sigtimedwait, &usr2, 0, &badns, 8);
    stack_t ss = {buf, 0x7, 8192};
    T("sigaltstack(bad flags)", SYS_sigaltstack, &ss, 0);
    stack_t small = {buf, 0, 100};
    T("sigaltstack(too small)", SYS_sigaltstack, &small, 0);
    T("sigaltstack(ss=1)", SYS_sigaltstack, BAD1, 0);
    T("sigaltstack(old=kernel)", SYS_sigaltstack, 0, KBAD);
    T("signalfd4(bad flags)", SYS_signalfd4, -1, &usr2, 8, 0x1);
    T("signalfd4(sigsetsize 4)", SYS_signalfd4, -1, &usr2, 4, 0);
    T("signalfd4(mask=1)", SYS_signalfd4, -1, BAD1, 8, 0);
    T("signalfd4(not a signalfd)", SYS_signalfd4, 0, &usr2, 8, 0);
}

static void times_(void) {
    char buf[64];
    struct timespec badns = {0, 1000000000L};
    struct timespec neg = {-1, 0};
    T("clock_gettime(bad clock)", SYS_clock_gettime, 99, buf);
    T("clock_gettime(tp=1)", SYS_clock_gettime, CLOCK_MONOTONIC, BAD1);
    T("clock_gettime(tp=kernel)", SYS_clock_gettime, CLOCK_REALTIME, KBAD);
    T("clock_getres(bad clock)", SYS_clock_getres, 99, buf);
    T("clock_getres(res=1)", SYS_clock_getres, CLOCK_MONOTONIC, BAD1);
    T("clock_settime(CLOCK_MONOTONIC)", SYS_clock_settime, CLOCK_MONOTONIC, buf);
    T("clock_nanosleep(bad clock)", SYS_clock_nanosleep, 99, 0, &badns, 0);
    T("clock_nanosleep(bad nsec)", SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &badns, 0);
    T("clock_nanosleep(req=1)", SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BAD1, 0);
    T("nanosleep(bad nsec)", SYS_nanosleep, &badns, 0);
    T("nanosleep(negative)", SYS_nanosleep, &neg, 0);
    T("nanosleep(req=kernel)", SYS_nanosleep, KBAD, 0);
    T("gettimeofday(tv=1)", SYS_gettimeofday, BAD1, 0);
    T("timerfd_create(bad clock)", SYS_timerfd_create, 99, 0);
    T("timerfd_create(bad flags)", SYS_timerfd_create, CLOCK_MONOTONIC, 0x1);
    struct itimerspec its = {{0, 0}, {0, 1000000000L}};
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    T("timerfd_settime(bad fd)", SYS_timerfd_settime, 999, 0, &its, 0);
    T("timerfd_settime(not a timerfd)", SYS_timerfd_settime, 0, 0, &its, 0);
    T("timerfd_settime(bad flags)", SYS_timerfd_settime, tfd, 0x10, &its, 0);
    T("timerfd_settime(bad nsec)", SYS_timerfd_settime, tfd, 0, &its, 0);
    T("timerfd_settime(new=1)", SYS_timerfd_settime, tfd, 0, BAD1, 0);
    T("timerfd_gettime(cur=1)", SYS_timerfd_gettime, tfd, BAD1);
    T("timerfd_gettime(not a timerfd)", SYS_timerfd_gettime, 0, buf);
    T("read(timerfd, 4 bytes)", SYS_read, tfd, buf, 4);
    close(tfd);
    int timer = -1;
    T("timer_create(bad clock)", SYS_timer_create, 99, 0, &timer);
    T("timer_create(id=1)", SYS_timer_create, CLOCK_MONOTONIC, 0, BAD1);
    T("timer_settime(bad id)", SYS_timer_settime, 12345, 0, &its, 0);
    T("timer_gettime(bad id)", SYS_timer_gettime, 12345, buf);
    T("timer_getoverrun(bad id)", SYS_timer_getoverrun, 12345);
    T("timer_delete(bad id)", SYS_timer_delete, 12345);
    T("setitimer(bad which)", SYS_setitimer, 99, buf, 0);
    T("setitimer(new=1)", SYS_setitimer, ITIMER_REAL, BAD1, 0);
    T("getitimer(bad which)", SYS_getitimer, 99, buf);
    T("getitimer(cur=1)", SYS_getitimer, ITIMER_REAL, BAD1);
}

static void events(void) {
    char buf[256];
    int p[2];
    if (pipe(p)) exit(1);
    int rd = open(file, O_RDONLY);
    struct timespec badns = {0, 1000000000L};
    struct timespec zero = {0, 0};
    T("ppoll(fds=1)", SYS_ppoll, BAD1, 1, &zero, 0, 8);
    T("ppoll(nfds huge)", SYS_ppoll, buf, 0x7fffffff, &zero, 0, 8);
    T("ppoll(bad timeout)", SYS_ppoll, buf, 0, &badns, 0, 8);
    unsigned long mask = 0;
    T("ppoll(sigsetsize 4)", SYS_ppoll, buf, 0, &zero, &mask, 4);
    T("pselect6(negative n)", SYS_pselect6, -1, 0, 0, 0, &zero, 0);
    T("pselect6(bad timeout)", SYS_pselect6, 0, 0, 0, 0, &badns, 0);
    T("pselect6(readfds=1)", SYS_pselect6, 1, BAD1, 0, 0, &zero, 0);
    memset(buf, 0, sizeof buf);
    buf[0] = 1 << 5; /* fd 5 is not open */
    T("pselect6(closed fd)", SYS_pselect6, 8, buf, 0, 0, &zero, 0);
    T("epoll_create1(bad flags)", SYS_epoll_create1, 0x1);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    T("epoll_ctl(bad epfd)", SYS_epoll_ctl, 999, EPOLL_CTL_ADD, p[0], &ev);
    T("epoll_ctl(not an epoll fd)", SYS_epoll_ctl, p[0], EPOLL_CTL_ADD, p[1], &ev);
    T("epoll_ctl(regular file)", SYS_epoll_ctl, ep, EPOLL_CTL_ADD, rd, &ev);
    T("epoll_ctl(itself)", SYS_epoll_ctl, ep, EPOLL_CTL_ADD, ep, &ev);
    T("epoll_ctl(MOD not added)", SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[0], &ev);
    T("epoll_ctl(add)", SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], &ev);
    T("epoll_ctl(add twice)", SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], &ev);
    T("epoll_ctl(bad op)", SYS_epoll_ctl, ep, 99, p[0], &ev);
    T("epoll_ctl(event=1)", SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[0], BAD1);
    T("epoll_pwait(maxevents 0)", SYS_epoll_pwait, ep, buf, 0, 0, 0, 8);
    T("epoll_pwait(events=1)", SYS_epoll_pwait, ep, BAD1, 4, 0, 0, 8);
    T("epoll_pwait(not epoll)", SYS_epoll_pwait, p[0], buf, 4, 0, 0, 8);
    T("epoll_pwait(bad sigsetsize)", SYS_epoll_pwait, ep, buf, 4, 0, &mask, 4);
    T("epoll_pwait2(bad timeout)", SYS_epoll_pwait2, ep, buf, 4, &badns, 0, 8);
    close(ep);
    T("eventfd2(bad flags)", SYS_eventfd2, 0, 0x2);
    int efd = eventfd(0, EFD_NONBLOCK);
    T("read(eventfd, 4 bytes)", SYS_read, efd, buf, 4);
    T("read(eventfd, empty)", SYS_read, efd, buf, 8);
    unsigned long long all = ~0ULL;
    T("write(eventfd, max)", SYS_write, efd, &all, 8);
    T("write(eventfd, buf=1)", SYS_write, efd, BAD1, 8);
    close(efd);
    T("inotify_init1(bad flags)", SYS_inotify_init1, 0x1);
    int in = inotify_init1(0);
    T("inotify_add_watch(missing)", SYS_inotify_add_watch, in, missing, IN_ALL_EVENTS);
    T("inotify_add_watch(mask 0)", SYS_inotify_add_watch, in, file, 0);
    T("inotify_add_watch(path=1)", SYS_inotify_add_watch, in, BAD1, IN_ALL_EVENTS);
    T("inotify_add_watch(not inotify)", SYS_inotify_add_watch, p[0], file, IN_ALL_EVENTS);
    T("inotify_rm_watch(bad wd)", SYS_inotify_rm_watch, in, 4242);
    close(in);
    close(p[0]);
    close(p[1]);
    close(rd);
}

static void sockets(void) {
    char buf[256];
    int rd = open(file, O_RDONLY);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    T("socket(bad family)", SYS_socket, 9999, SOCK_STREAM, 0);
    T("socket(bad type)", SYS_socket, AF_INET, 99, 0);
    T("socket(bad protocol)", SYS_socket, AF_INET, SOCK_STREAM, 99);
    T("socket(bad flags)", SYS_socket, AF_INET, SOCK_STREAM | 0x1000, 0);
    int sv[2];
    T("socketpair(AF_INET)", SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv);
    T("socketpair(sv=1)", SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, BAD1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    T("bind(bad fd)", SYS_bind, 999, &a, sizeof a);
    T("bind(not a socket)", SYS_bind, rd, &a, sizeof a);
    T("bind(short addrlen)", SYS_bind, s, &a, 4);
    T("bind(addr=1)", SYS_bind, s, BAD1, sizeof a);
    T("bind(wrong family)", SYS_bind, s, "\x01\x00/tmp/x", 8);
    T("bind(ok)", SYS_bind, s, &a, sizeof a);
    T("bind(twice)", SYS_bind, s, &a, sizeof a);
    T("listen(not a socket)", SYS_listen, rd, 1);
    T("listen(UDP)", SYS_listen, u, 1);
    T("accept4(bad flags)", SYS_accept4, s, 0, 0, 0x1);
    T("accept4(not listening)", SYS_accept4, s, 0, 0, 0);
    T("accept4(not a socket)", SYS_accept4, rd, 0, 0, 0);
    T("getsockname(addr=1)", SYS_getsockname, s, BAD1, &len);
    T("getsockname(len=1)", SYS_getsockname, s, buf, BAD1);
    T("getsockname(not a socket)", SYS_getsockname, rd, buf, &len);
    len = sizeof a;
    T("getpeername(not connected)", SYS_getpeername, s, buf, &len);
    len = -1;
    T("getsockname(negative len)", SYS_getsockname, s, buf, &len);
    /* A port nobody listens on: bound, then closed. */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in b = a;
    bind(t, (struct sockaddr *)&b, sizeof b);
    len = sizeof b;
    getsockname(t, (struct sockaddr *)&b, &len);
    close(t);
    t = socket(AF_INET, SOCK_STREAM, 0);
    T("connect(refused)", SYS_connect, t, &b, sizeof b);
    T("connect(addr=1)", SYS_connect, t, BAD1, sizeof b);
    T("connect(short addrlen)", SYS_connect, t, &b, 2);
    close(t);
    T("sendto(TCP not connected)", SYS_sendto, s, "x", 1, MSG_NOSIGNAL, 0, 0);
    T("sendto(UDP no destination)", SYS_sendto, u, "x", 1, 0, 0, 0);
    T("sendto(buf=1)", SYS_sendto, u, BAD1, 1, 0, &b, sizeof b);
    T("sendto(dest=1)", SYS_sendto, u, "x", 1, 0, BAD1, sizeof b);
    T("recvfrom(TCP not connected)", SYS_recvfrom, s, buf, 1, 0, 0, 0);
    T("recvfrom(UDP nonblocking empty)", SYS_recvfrom, u, buf, 1, MSG_DONTWAIT, 0, 0);
    T("recvfrom(not a socket)", SYS_recvfrom, rd, buf, 1, 0, 0, 0);
    struct msghdr mh = {0};
    struct iovec iov = {buf, 1};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    T("sendmsg(msg=1)", SYS_sendmsg, u, BAD1, 0);
    T("recvmsg(msg=kernel)", SYS_recvmsg, u, KBAD, MSG_DONTWAIT);
    T("recvmsg(UDP nonblocking empty)", SYS_recvmsg, u, &mh, MSG_DONTWAIT);
    T("sendmsg(UDP no destination)", SYS_sendmsg, u, &mh, 0);
    mh.msg_iovlen = 2000;
    T("sendmsg(iovlen 2000)", SYS_sendmsg, u, &mh, 0);
    mh.msg_iovlen = 1;
    mh.msg_control = (void *)BAD1;
    mh.msg_controllen = 64;
    T("sendmsg(control=1)", SYS_sendmsg, u, &mh, 0);
    struct mmsghdr mm[1];
    memset(mm, 0, sizeof mm);
    T("sendmmsg(bad fd)", SYS_sendmmsg, 999, mm, 1, 0);
    T("sendmmsg(vec=1)", SYS_sendmmsg, u, BAD1, 1, 0);
    T("recvmmsg(bad fd)", SYS_recvmmsg, 999, mm, 1, 0, 0);
    T("recvmmsg(nonblocking empty)", SYS_recvmmsg, u, mm, 1, MSG_DONTWAIT, 0);
    T("shutdown(bad how)", SYS_shutdown, s, 99);
    T("shutdown(not connected)", SYS_shutdown, s, SHUT_RDWR);
    T("shutdown(not a socket)", SYS_shutdown, rd, SHUT_RDWR);
    int one = 1;
    T("setsockopt(bad level)", SYS_setsockopt, s, 9999, 1, &one, sizeof one);
    T("setsockopt(bad option)", SYS_setsockopt, s, SOL_SOCKET, 9999, &one, sizeof one);
    T("setsockopt(short optlen)", SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, 1);
    T("setsockopt(optval=1)", SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, BAD1, 4);
    len = 4;
    T("getsockopt(bad option)", SYS_getsockopt, s, SOL_SOCKET, 9999, buf, &len);
    T("getsockopt(optlen=1)", SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, buf, BAD1);
    len = -1;
    T("getsockopt(negative optlen)", SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, buf, &len);
    len = 4;
    T("getsockopt(optval=1)", SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, BAD1, &len);
    T("getsockopt(not a socket)", SYS_getsockopt, rd, SOL_SOCKET, SO_TYPE, buf, &len);
    close(s);
    close(u);
    close(rd);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    setup();
    printf("== files\n");
    files();
    printf("== memory\n");
    memory();
    printf("== processes\n");
    processes();
    printf("== signals\n");
    signals();
    printf("== time\n");
    times_();
    printf("== events\n");
    events();
    printf("== sockets\n");
    sockets();
    cleanup();
    printf("== %d cases\n", cases);
    return 0;
}
