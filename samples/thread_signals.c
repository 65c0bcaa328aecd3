/* thread_signals: signals in a multi-threaded process — per-thread masks (a
 * process-directed signal is taken by the one thread that does not block it), a signal
 * sent to one thread with pthread_kill, rt_sigsuspend (waits with a temporary mask, returns
 * EINTR after the handler, restores the mask), a blocking read in a thread that blocks the
 * signal is not interrupted, and sigpending sees a signal blocked everywhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int usr1_in_worker, usr1_elsewhere, usr2_hits;
static pid_t worker_tid;
static atomic_int worker_ready, worker_done;
static int pipefd[2];

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static void on_usr1(int sig)
{
    (void)sig;
    if (gettid_() == worker_tid)
        atomic_fetch_add(&usr1_in_worker, 1);
    else
        atomic_fetch_add(&usr1_elsewhere, 1);
}

static void on_usr2(int sig)
{
    (void)sig;
    atomic_fetch_add(&usr2_hits, 1);
}

static void *worker(void *arg)
{
    (void)arg;
    worker_tid = gettid_();
    /* Only this thread takes SIGUSR1: wait for it with sigsuspend. */
    sigset_t wait;
    sigfillset(&wait);
    sigdelset(&wait, SIGUSR1);
    atomic_store(&worker_ready, 1);
    int r = sigsuspend(&wait);
    int e = errno;
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    printf("worker: sigsuspend returned %d (%s), SIGUSR1 blocked again: %d\n", r,
           e == EINTR ? "EINTR" : strerror(e), sigismember(&now, SIGUSR1));
    fflush(stdout);
    /* Tell main we are done through the pipe main is blocked reading. */
    char c = 'x';
    write(pipefd[1], &c, 1);
    atomic_store(&worker_done, 1);
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    pipe(pipefd);

    /* Block SIGUSR1 and SIGUSR2 everywhere; the worker inherits the mask. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, NULL);

    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!atomic_load(&worker_ready))
        sched_yield();
    usleep(20000);
    /* Process-directed: only the worker (in sigsuspend) does not block it. */
    kill(getpid(), SIGUSR1);
    /* Main blocks in read while the worker handles the signal and writes. */
    char c;
    ssize_t n;
    do
        n = read(pipefd[0], &c, 1);
    while (n < 0 && errno == EINTR && printf("main: read interrupted (EINTR)\n"));
    printf("main: read %zd byte(s) '%c'\n", n, c);
    pthread_join(t, NULL);
    printf("SIGUSR1 handled by the worker: %d, by another thread: %d\n",
           atomic_load(&usr1_in_worker), atomic_load(&usr1_elsewhere));

    /* Blocked in every thread: stays pending, visible to sigpending. */
    kill(getpid(), SIGUSR2);
    sigset_t pend;
    sigpending(&pend);
    printf("SIGUSR2 pending while blocked: %d, handled so far: %d\n", sigismember(&pend, SIGUSR2),
           atomic_load(&usr2_hits));
    /* sigsuspend in main lets it in. */
    sigset_t wait;
    sigemptyset(&wait);
    int r = sigsuspend(&wait);
    printf("main: sigsuspend returned %d (%s), SIGUSR2 handled: %d\n", r,
           errno == EINTR ? "EINTR" : "?", atomic_load(&usr2_hits));
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    printf("main: mask restored (SIGUSR2 blocked): %d\n", sigismember(&now, SIGUSR2));

    /* pthread_kill to self with the signal unblocked: handled before it returns. */
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    pthread_kill(pthread_self(), SIGUSR2);
    printf("pthread_kill(self): SIGUSR2 handled: %d\n", atomic_load(&usr2_hits));
    return 0;
}
