/* The success paths of the system calls the errno table (errno_table.c) calls with bad
 * arguments: files (preadv/pwritev, statx, faccessat2, renameat2, copy_file_range,
 * sendfile, memfd_create, flock, fadvise64, utimensat, getdents64), memory (mremap,
 * mincore, msync, madvise), time (timerfd, POSIX timers, itimers), events (epoll,
 * eventfd, inotify, ppoll, pselect6), processes (prctl, getrusage, sysinfo,
 * sched_getaffinity, prlimit64, getrandom) and sockets (sendmsg/recvmsg with
 * SCM_RIGHTS, sendmmsg/recvmmsg). It prints only what is the same on every machine and
 * ISA, so natively, under qemu-user and under vmx the output must be identical
 * (tests/errno_table.rs). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x)                                                                   \
    do {                                                                           \
        if (!(x)) {                                                                \
            printf("FAILED line %d: %s (%s)\n", __LINE__, #x, strerror(errno));   \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static char dir[64];

static void path(char *out, const char *leaf) { sprintf(out, "%s/%s", dir, leaf); }

static void files(void) {
    char a[128], b[128], c[128];
    path(a, "a");
    path(b, "b");
    path(c, "c");
    int fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0640);
    CHECK(fd >= 0);
    struct iovec w[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
    CHECK(pwritev(fd, w, 3, 0) == 13);
    char x[6] = {0}, y[8] = {0};
    struct iovec r[2] = {{x, 5}, {y, 7}};
    CHECK(preadv(fd, r, 2, 1) == 12);
    printf("preadv: \"%s\" \"%s\"\n", x, y);
    struct statx sx;
    CHECK(statx(AT_FDCWD, a, 0, STATX_SIZE | STATX_MODE | STATX_TYPE, &sx) == 0);
    printf("statx: size %llu mode %o regular %d\n", (unsigned long long)sx.stx_size,
           sx.stx_mode & 07777, S_ISREG(sx.stx_mode));
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 13);
    CHECK(fstatat(AT_FDCWD, a, &st, 0) == 0);
    printf("fstatat: size %lld nlink %lu mode %o\n", (long long)st.st_size,
           (unsigned long)st.st_nlink, st.st_mode & 07777);
    printf("faccessat2: R_OK %d\n", (int)syscall(SYS_faccessat2, AT_FDCWD, a, R_OK, AT_EACCESS));
    int fd2 = open(b, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd2 >= 0);
    loff_t in = 4, out = 0;
    CHECK(copy_file_range(fd, &in, fd2, &out, 9, 0) == 9);
    printf("copy_file_range: offsets now %lld %lld\n", (long long)in, (long long)out);
    int p[2];
    CHECK(pipe(p) == 0);
    off_t off = 8;
    CHECK(sendfile(p[1], fd, &off, 5) == 5);
    char buf[64] = {0};
    CHECK(read(p[0], buf, sizeof buf) == 5);
    printf("sendfile: \"%s\" offset %lld\n", buf, (long long)off);
    CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
    int fd3 = open(a, O_RDONLY);
    printf("flock: second lock %s\n", flock(fd3, LOCK_SH | LOCK_NB) == 0 ? "granted" : strerror(errno));
    CHECK(flock(fd, LOCK_UN) == 0);
    printf("flock: after unlock %d\n", flock(fd3, LOCK_SH | LOCK_NB));
    close(fd3);
    printf("fadvise64: %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    struct timespec times[2] = {{1000000000, 5}, {1234567890, 123456789}};
    CHECK(utimensat(AT_FDCWD, a, times, 0) == 0);
    CHECK(stat(a, &st) == 0);
    printf("utimensat: mtime %lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    CHECK(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 1 /* NOREPLACE */) == -1);
    printf("renameat2 NOREPLACE over b: %s\n", strerror(errno));
    CHECK(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* EXCHANGE */) == 0);
    CHECK(stat(b, &st) == 0);
    printf("renameat2 EXCHANGE: b is now %lld bytes\n", (long long)st.st_size);
    CHECK(rename(b, c) == 0);
    CHECK(link(c, b) == 0 && stat(c, &st) == 0);
    printf("link: nlink %lu\n", (unsigned long)st.st_nlink);
    CHECK(unlink(a) == 0 && symlink("c", a) == 0);
    ssize_t n = readlink(a, buf, sizeof buf);
    printf("readlink: %.*s\n", (int)n, buf);
    DIR *d = opendir(dir);
    CHECK(d);
    int entries = 0;
    while (readdir(d)) entries++;
    closedir(d);
    printf("getdents64: %d entries\n", entries);
    int m = memfd_create("vmx-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(m >= 0);
    CHECK(ftruncate(m, 8192) == 0);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
    printf("memfd: seals %#x, shrink %s\n", fcntl(m, F_GET_SEALS),
           ftruncate(m, 10) == 0 ? "allowed" : strerror(errno));
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    CHECK(map != MAP_FAILED);
    strcpy(map + 4096, "through the shared mapping");
    CHECK(msync(map, 8192, MS_SYNC) == 0);
    CHECK(pread(m, buf, 26, 4096) == 26);
    printf("memfd: \"%.26s\"\n", buf);
    munmap(map, 8192);
    close(m);
    close(fd);
    close(fd2);
    close(p[0]);
    close(p[1]);
    unlink(a);
    unlink(b);
    unlink(c);
}

static void memory(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    strcpy(m, "kept by mremap");
    unsigned char vec[4] = {9, 9, 9, 9};
    CHECK(mincore(m, 2 * page, vec) == 0);
    printf("mincore: %d %d\n", vec[0] & 1, vec[2]);
    char *g = mremap(m, 2 * page, 4 * page, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED);
    printf("mremap: \"%s\", new pages zero %d\n", g, g[3 * page] == 0);
    CHECK(madvise(g, 4 * page, MADV_DONTNEED) == 0);
    printf("madvise DONTNEED: first byte now %d\n", g[0]);
    CHECK(mprotect(g, page, PROT_READ) == 0);
    CHECK(munmap(g, 4 * page) == 0);
}

static void times(void) {
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(t >= 0);
    struct itimerspec its = {{0, 2000000}, {0, 1000000}};
    CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
    uint64_t exp = 0;
    CHECK(read(t, &exp, 8) == 8);
    printf("timerfd: expired %d\n", exp >= 1);
    struct itimerspec cur;
    CHECK(timerfd_gettime(t, &cur) == 0);
    printf("timerfd: interval %ld ns\n", cur.it_interval.tv_nsec);
    close(t);
    timer_t id;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) == 0);
    struct itimerspec ts = {{0, 0}, {100, 0}};
    CHECK(syscall(SYS_timer_settime, id, 0, &ts, NULL) == 0);
    CHECK(syscall(SYS_timer_gettime, id, &cur) == 0);
    printf("timer_create: armed, %d s left (between 98 and 100)\n",
           cur.it_value.tv_sec >= 98 && cur.it_value.tv_sec <= 100);
    printf("timer_getoverrun: %ld\n", syscall(SYS_timer_getoverrun, id));
    CHECK(syscall(SYS_timer_delete, id) == 0);
    printf("timer_delete: again %s\n",
           syscall(SYS_timer_delete, id) == 0 ? "ok" : strerror(errno));
    struct itimerval iv = {{0, 0}, {50, 0}}, old;
    CHECK(setitimer(ITIMER_VIRTUAL, &iv, NULL) == 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &old) == 0);
    printf("itimer: armed %d\n", old.it_value.tv_sec > 40);
    memset(&iv, 0, sizeof iv);
    CHECK(setitimer(ITIMER_VIRTUAL, &iv, &old) == 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &old) == 0);
    printf("itimer: disarmed %d\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    printf("clock_getres: %ld ns\n", res.tv_nsec);
    struct timespec req = {0, 1000000}, rem;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem) == 0);
    printf("clock_nanosleep: ok\n");
}

static void events(void) {
    int e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(e >= 0);
    uint64_t v;
    int reads = 0;
    while (read(e, &v, 8) == 8) reads++;
    printf("eventfd semaphore: %d reads then %s\n", reads, strerror(errno));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int p[2];
    CHECK(pipe(p) == 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    ev.data.u64 = 42;
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);
    struct epoll_event out[4];
    printf("epoll: idle %d\n", epoll_wait(ep, out, 4, 0));
    CHECK(write(p[1], "x", 1) == 1);
    v = 2;
    CHECK(write(e, &v, 8) == 8);
    int n = epoll_wait(ep, out, 4, 1000);
    unsigned long long sum = 0;
    for (int i = 0; i < n; i++) sum += out[i].data.u64;
    printf("epoll: %d ready, data sum %#llx\n", n, sum);
    sigset_t none;
    sigemptyset(&none);
    n = epoll_pwait(ep, out, 4, 0, &none);
    printf("epoll_pwait with a mask: %d\n", n);
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    struct timespec zero = {0, 0};
    n = ppoll(pf, 2, &zero, &none);
    printf("ppoll: %d revents %#x %#x\n", n, pf[0].revents, pf[1].revents);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    n = pselect(p[0] + 1, &rd, NULL, NULL, &zero, &none);
    printf("pselect: %d isset %d\n", n, FD_ISSET(p[0], &rd));
    close(ep);
    close(e);
    int in = inotify_init1(IN_NONBLOCK);
    CHECK(in >= 0);
    int wd = inotify_add_watch(in, dir, IN_CREATE | IN_DELETE);
    CHECK(wd >= 0);
    char f[128];
    path(f, "watched");
    close(open(f, O_CREAT | O_WRONLY, 0600));
    unlink(f);
    char buf[4096] __attribute__((aligned(8)));
    ssize_t len = read(in, buf, sizeof buf);
    CHECK(len > 0);
    for (char *q = buf; q < buf + len;) {
        struct inotify_event *ie = (struct inotify_event *)q;
        printf("inotify: %s %s\n", ie->mask & IN_CREATE ? "create" : ie->mask & IN_DELETE ? "delete" : "other",
               ie->len ? ie->name : "");
        q += sizeof *ie + ie->len;
    }
    CHECK(inotify_rm_watch(in, wd) == 0);
    close(in);
    close(p[0]);
    close(p[1]);
}

static void processes(void) {
    CHECK(prctl(PR_SET_NAME, "abi-calls-name", 0, 0, 0) == 0);
    char name[16] = {0};
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    printf("prctl name: %s\n", name);
    printf("prctl dumpable: %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    int *tidp = NULL;
    int r = prctl(PR_GET_TID_ADDRESS, &tidp, 0, 0, 0);
    printf("prctl tid address: %s\n", r ? strerror(errno) : tidp ? "set" : "NULL");
    printf("prctl seccomp: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    printf("prctl ambient cap 0: %d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0));
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    printf("getrusage: maxrss > 0 %d\n", ru.ru_maxrss > 0);
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    printf("sysinfo: uptime > 0 %d, mem_unit %u\n", si.uptime > 0, si.mem_unit);
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    printf("sched_getaffinity: %d cpus == online %d\n", CPU_COUNT(&set) > 0,
           CPU_COUNT(&set) <= sysconf(_SC_NPROCESSORS_ONLN));
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    struct rlimit lower = {rl.rlim_cur > 64 ? 64 : rl.rlim_cur, rl.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &lower) == 0);
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    printf("rlimit nofile: %llu\n", (unsigned long long)rl.rlim_cur);
    unsigned char rnd[16];
    CHECK(getrandom(rnd, sizeof rnd, 0) == 16);
    printf("getrandom: 16 bytes\n");
    printf("getppid > 1: %d, getpgid == getpgrp: %d\n", getppid() > 1, getpgid(0) == getpgrp());
}

static void sockets(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {"two fds", 7};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), p, 2 * sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 7);
    close(p[0]);
    close(p[1]);
    char text[16] = {0};
    struct iovec riov = {text, sizeof text};
    memset(&ctl, 0, sizeof ctl);
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    CHECK(recvmsg(sv[1], &rm, 0) == 7);
    c = CMSG_FIRSTHDR(&rm);
    CHECK(c && c->cmsg_type == SCM_RIGHTS);
    int fds[2];
    memcpy(fds, CMSG_DATA(c), sizeof fds);
    CHECK(write(fds[1], "via passed pipe", 15) == 15);
    char buf[32] = {0};
    CHECK(read(fds[0], buf, sizeof buf) == 15);
    printf("SCM_RIGHTS: \"%s\" with 2 fds: \"%s\"\n", text, buf);
    struct mmsghdr mm[2];
    struct iovec mi[2] = {{"first", 5}, {"second", 6}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 2; i++) {
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(sendmmsg(sv[0], mm, 2, 0) == 2);
    char rb[2][16];
    struct iovec ri[2] = {{rb[0], 16}, {rb[1], 16}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 2; i++) {
        mm[i].msg_hdr.msg_iov = &ri[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    struct timespec tmo = {1, 0};
    CHECK(recvmmsg(sv[1], mm, 2, 0, &tmo) == 2);
    printf("recvmmsg: \"%.*s\" \"%.*s\"\n", (int)mm[0].msg_len, rb[0], (int)mm[1].msg_len, rb[1]);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/vmx-abi-XXXXXX");
    CHECK(mkdtemp(dir));
    files();
    memory();
    times();
    events();
    processes();
    sockets();
    CHECK(rmdir(dir) == 0);
    printf("done\n");
    return 0;
}
