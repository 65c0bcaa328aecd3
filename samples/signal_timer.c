/* signal_timer: signals that arrive from outside the guest's own code — a timer
 * interrupting a busy loop, a blocking read interrupted with and without SA_RESTART,
 * and a signal sent by a child process. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t fired, usr1_from_child;
static volatile pid_t usr1_sender;
static int pipefd[2];

static void on_alarm(int sig)
{
    (void)sig;
    fired++;
}

static void on_alarm_write(int sig)
{
    (void)sig;
    fired++;
    char c = 'x';
    if (write(pipefd[1], &c, 1) != 1)
        _exit(3);
}

static void on_usr1(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    usr1_from_child++;
    usr1_sender = info->si_pid;
}

static void one_shot_timer(long usec)
{
    struct itimerval it = {{0, 0}, {0, usec}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void set_handler(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

int main(void)
{
    /* 1. A timer interrupts a loop that makes no system calls. */
    set_handler(SIGALRM, on_alarm, 0);
    fired = 0;
    one_shot_timer(20000);
    unsigned long spins = 0;
    while (!fired)
        spins++;
    printf("busy loop interrupted by SIGALRM: %s\n", fired == 1 && spins > 0 ? "yes" : "no");

    /* 2. A blocking read, interrupted; SA_RESTART makes it carry on and get the byte the
     *    handler wrote. */
    if (pipe(pipefd) != 0)
        return 1;
    set_handler(SIGALRM, on_alarm_write, SA_RESTART);
    fired = 0;
    one_shot_timer(20000);
    char buf[4];
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    printf("read with SA_RESTART: %zd byte(s) '%c', handler ran %d time(s)\n", n,
           n > 0 ? buf[0] : '?', fired);

    /* 3. Without SA_RESTART the read fails with EINTR (the byte stays in the pipe). */
    set_handler(SIGALRM, on_alarm_write, 0);
    fired = 0;
    char drain[4];
    one_shot_timer(20000);
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    n = read(fds[0], drain, sizeof drain);
    printf("read without SA_RESTART: %zd, EINTR: %d\n", n, n < 0 && errno == EINTR);
    n = read(pipefd[0], drain, sizeof drain);
    printf("the handler's byte is still there: %zd\n", n);

    /* 4. A signal from another process. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pid_t child = fork();
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    while (!usr1_from_child)
        ; /* it may arrive a moment later */
    printf("SIGUSR1 from the child: %d time(s), sender is the child: %d\n", usr1_from_child,
           usr1_sender == child);
    return 0;
}
