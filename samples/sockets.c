/* Sockets inside one guest process tree: a TCP echo server (a forked child, driven by
 * epoll) and its client on 127.0.0.1 (port 0 + getsockname), the same over IPv6 ::1,
 * UDP with sendmmsg/recvmmsg, and an AF_UNIX socketpair passing a pipe between
 * processes with SCM_RIGHTS. Children report through their exit status only, so the
 * output does not depend on scheduling.
 *
 * `sockets serve` is a server for a client outside the guest (tests/guest_server.rs):
 * it prints the port it listens on, then answers each line with the line reversed
 * until the client closes, and prints what it served. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x)                                                                   \
    do {                                                                           \
        if (!(x)) {                                                                \
            printf("FAILED line %d: %s (%s)\n", __LINE__, #x, strerror(errno));   \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static int wait_child(pid_t pid) {
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The echo server of a forked child: epoll on the listening socket and the
 * connections, each read echoed back, until every client has gone. Exit status 0 if
 * all went well. */
static void echo_server(int ls, int clients) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) _exit(10);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev)) _exit(11);
    int open_conns = 0, served = 0;
    while (served < clients || open_conns > 0) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, 10000);
        if (n <= 0) _exit(12);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                struct sockaddr_storage peer;
                socklen_t len = sizeof peer;
                int c = accept4(ls, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
                if (c < 0) _exit(13);
                struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev)) _exit(14);
                open_conns++;
                served++;
                continue;
            }
            char buf[256];
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r < 0) _exit(15);
            if (r == 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                open_conns--;
                continue;
            }
            if (send(fd, buf, r, MSG_NOSIGNAL) != r) _exit(16);
        }
    }
    _exit(0);
}

/* Sends each message, waits with poll for the whole echo, prints it. */
static void echo_client(int s, const char *tag) {
    const char *msgs[] = {"hello", "echo over loopback", "third message, a little longer"};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(msgs[i]);
        CHECK(send(s, msgs[i], len, 0) == (ssize_t)len);
        char buf[256];
        size_t got = 0;
        while (got < len) {
            struct pollfd p = {s, POLLIN, 0};
            CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
            ssize_t r = recv(s, buf + got, sizeof buf - got, 0);
            CHECK(r > 0);
            got += r;
        }
        printf("%s echo %d: \"%.*s\"\n", tag, i, (int)got, buf);
    }
}

static void tcp4(void) {
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ls >= 0);
    int one = 1;
    CHECK(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0);
    CHECK(getsockopt(ls, SOL_SOCKET, SO_TYPE, &v, &vl) == 0);
    printf("tcp4: SO_TYPE is SOCK_STREAM: %d\n", v == SOCK_STREAM);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(ls, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(ls, 8) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(ls, (struct sockaddr *)&a, &len) == 0);
    printf("tcp4: listening on 127.0.0.1, port chosen by the kernel: %d\n", ntohs(a.sin_port) != 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) echo_server(ls, 2);
    close(ls);
    for (int c = 0; c < 2; c++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(s >= 0);
        CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
        CHECK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
        struct sockaddr_in peer;
        len = sizeof peer;
        CHECK(getpeername(s, (struct sockaddr *)&peer, &len) == 0);
        printf("tcp4 client %d: peer %s, same port: %d\n", c, inet_ntoa(peer.sin_addr),
               peer.sin_port == a.sin_port);
        echo_client(s, c ? "tcp4 client 1" : "tcp4 client 0");
        CHECK(shutdown(s, SHUT_WR) == 0);
        char b;
        CHECK(recv(s, &b, 1, 0) == 0);
        printf("tcp4 client %d: server closed after our shutdown\n", c);
        close(s);
    }
    printf("tcp4: server exit status %d\n", wait_child(pid));
}

static void tcp6(void) {
    int ls = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("tcp6: ::1 unavailable here (%s)\n", strerror(errno));
        if (ls >= 0) close(ls);
        return;
    }
    CHECK(listen(ls, 1) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(ls, (struct sockaddr *)&a, &len) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) echo_server(ls, 1);
    close(ls);
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(s >= 0);
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
    char text[INET6_ADDRSTRLEN];
    struct sockaddr_in6 me;
    len = sizeof me;
    CHECK(getsockname(s, (struct sockaddr *)&me, &len) == 0);
    printf("tcp6: connected from %s\n", inet_ntop(AF_INET6, &me.sin6_addr, text, sizeof text));
    echo_client(s, "tcp6");
    close(s);
    printf("tcp6: server exit status %d\n", wait_child(pid));
}

static void udp(void) {
    int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(r >= 0 && w >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(r, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(r, (struct sockaddr *)&a, &len) == 0);
    CHECK(sendto(w, "one datagram", 12, 0, (struct sockaddr *)&a, sizeof a) == 12);
    char buf[64];
    struct sockaddr_in from;
    len = sizeof from;
    ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    CHECK(n == 12);
    printf("udp: recvfrom \"%.*s\" from %s\n", (int)n, buf, inet_ntoa(from.sin_addr));
    CHECK(connect(w, (struct sockaddr *)&a, sizeof a) == 0);
    struct mmsghdr out[3];
    struct iovec oiov[3];
    const char *words[] = {"alpha", "beta", "gamma!"};
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; i++) {
        oiov[i].iov_base = (void *)words[i];
        oiov[i].iov_len = strlen(words[i]);
        out[i].msg_hdr.msg_iov = &oiov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(sendmmsg(w, out, 3, 0) == 3);
    printf("udp: sendmmsg sent %u+%u+%u bytes\n", out[0].msg_len, out[1].msg_len, out[2].msg_len);
    struct mmsghdr in[4];
    struct iovec iiov[4];
    char bufs[4][32];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 4; i++) {
        iiov[i].iov_base = bufs[i];
        iiov[i].iov_len = sizeof bufs[i];
        in[i].msg_hdr.msg_iov = &iiov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    int got = 0;
    while (got < 3) {
        struct pollfd p = {r, POLLIN, 0};
        CHECK(poll(&p, 1, 10000) == 1);
        int m = recvmmsg(r, in + got, 4 - got, MSG_DONTWAIT, NULL);
        CHECK(m > 0);
        got += m;
    }
    for (int i = 0; i < 3; i++)
        printf("udp: recvmmsg[%d] \"%.*s\"\n", i, (int)in[i].msg_len, bufs[i]);
    close(r);
    close(w);
}

/* A child makes a pipe, writes into it and passes its read end to the parent over a
 * socketpair with SCM_RIGHTS; the parent reads the child's words through it. */
static void unix_rights(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        int p[2];
        if (pipe(p)) _exit(20);
        const char *words = "written by the child into its own pipe";
        if (write(p[1], words, strlen(words)) != (ssize_t)strlen(words)) _exit(21);
        close(p[1]);
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        memset(&ctl, 0, sizeof ctl);
        struct iovec iov = {"fd", 2};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                           .msg_controllen = sizeof ctl.buf};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[0], sizeof(int));
        if (sendmsg(sv[1], &m, 0) != 2) _exit(22);
        _exit(0);
    }
    close(sv[1]);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    char tag[8];
    struct iovec iov = {tag, sizeof tag};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC);
    CHECK(n == 2);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    CHECK(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    printf("unix: recvmsg \"%.*s\" with one SCM_RIGHTS fd, controllen %s\n", (int)n, tag,
           m.msg_controllen == CMSG_SPACE(sizeof(int)) ? "as sent" : "changed");
    char buf[128];
    n = read(fd, buf, sizeof buf);
    CHECK(n > 0);
    printf("unix: through the passed fd: \"%.*s\"\n", (int)n, buf);
    close(fd);
    close(sv[0]);
    printf("unix: child exit status %d\n", wait_child(pid));
}

static int serve(void) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(ls >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(ls, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(ls, 1) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(ls, (struct sockaddr *)&a, &len) == 0);
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    int c = accept(ls, NULL, NULL);
    CHECK(c >= 0);
    char line[512];
    size_t have = 0;
    int lines = 0;
    for (;;) {
        ssize_t r = recv(c, line + have, sizeof line - have, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        have += r;
        char *nl;
        while ((nl = memchr(line, '\n', have))) {
            size_t n = nl - line;
            char out[512];
            for (size_t i = 0; i < n; i++) out[i] = line[n - 1 - i];
            out[n] = '\n';
            CHECK(send(c, out, n + 1, MSG_NOSIGNAL) == (ssize_t)(n + 1));
            lines++;
            memmove(line, nl + 1, have - n - 1);
            have -= n + 1;
        }
        CHECK(have < sizeof line);
    }
    printf("served %d lines\n", lines);
    close(c);
    close(ls);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "serve") == 0) return serve();
    tcp4();
    tcp6();
    udp();
    unix_rights();
    return 0;
}
