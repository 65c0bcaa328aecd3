/* threads: POSIX threads with deterministic results — 8 workers summing with a mutex,
 * C11 atomics (fetch_add, compare-exchange loop), thread-local storage (__thread and
 * pthread keys with destructors), pthread_once, a barrier, a bounded producer/consumer
 * queue with condition variables (4 producers, 4 consumers), a detached thread, and
 * pthread_join return values. Every number printed is independent of scheduling. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#define WORKERS 8
#define PER_WORKER 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long locked_sum;
static atomic_long atomic_sum;
static atomic_long cas_max;
static __thread long tls_counter = 100;
static __thread char tls_name[16];
static pthread_key_t key;
static atomic_int destructor_runs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_runs;
static pthread_barrier_t barrier;
static atomic_int distinct_tids;
static pid_t main_tid;

static void destructor(void *p)
{
    atomic_fetch_add(&destructor_runs, 1);
    free(p);
}

static void init_once(void) { atomic_fetch_add(&once_runs, 1); }

static void *worker(void *arg)
{
    long id = (long)arg;
    pthread_once(&once, init_once);
    snprintf(tls_name, sizeof tls_name, "worker-%ld", id);
    long *mine = malloc(sizeof *mine);
    *mine = id * 1000;
    pthread_setspecific(key, mine);
    if ((pid_t)syscall(SYS_gettid) != main_tid && getpid() == main_tid)
        atomic_fetch_add(&distinct_tids, 1);
    for (long i = 1; i <= PER_WORKER; i++) {
        pthread_mutex_lock(&lock);
        locked_sum += i;
        pthread_mutex_unlock(&lock);
        atomic_fetch_add_explicit(&atomic_sum, i * id, memory_order_relaxed);
        tls_counter++;
        long v = id * PER_WORKER + i, cur = atomic_load(&cas_max);
        while (v > cur && !atomic_compare_exchange_weak(&cas_max, &cur, v))
            ;
    }
    /* Everyone reaches the barrier before anyone reads the totals. */
    int r = pthread_barrier_wait(&barrier);
    long check = *(long *)pthread_getspecific(key) == id * 1000;
    long ok = tls_counter == 100 + PER_WORKER && strcmp(tls_name + 7, "") != 0 && check;
    (void)r;
    return (void *)(ok ? id + 1 : -1);
}

/* ---- bounded queue ---- */
#define QSIZE 16
#define ITEMS 5000
#define PRODUCERS 4
#define CONSUMERS 4
static int queue[QSIZE];
static int qhead, qtail, qcount, producers_left = PRODUCERS;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg)
{
    int base = (int)(long)arg * ITEMS;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&qlock);
        while (qcount == QSIZE)
            pthread_cond_wait(&not_full, &qlock);
        queue[qtail] = base + i;
        qtail = (qtail + 1) % QSIZE;
        qcount++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qlock);
    }
    pthread_mutex_lock(&qlock);
    producers_left--;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&qlock);
    return NULL;
}

struct consumed {
    long sum;
    long count;
};

static void *consumer(void *arg)
{
    struct consumed *c = arg;
    for (;;) {
        pthread_mutex_lock(&qlock);
        while (qcount == 0 && producers_left > 0)
            pthread_cond_wait(&not_empty, &qlock);
        if (qcount == 0) {
            pthread_mutex_unlock(&qlock);
            return NULL;
        }
        int v = queue[qhead];
        qhead = (qhead + 1) % QSIZE;
        qcount--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qlock);
        c->sum += v;
        c->count++;
    }
}

static atomic_int detached_done;
static void *detached(void *arg)
{
    (void)arg;
    atomic_store(&detached_done, 1);
    return NULL;
}

int main(void)
{
    main_tid = (pid_t)syscall(SYS_gettid);
    printf("main thread: tid == pid: %s\n", main_tid == getpid() ? "yes" : "no");
    pthread_key_create(&key, destructor);
    pthread_barrier_init(&barrier, NULL, WORKERS);

    pthread_t t[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    long joined = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        joined += (long)ret;
    }
    long n = PER_WORKER;
    printf("workers: %d, join results sum %ld (expect %d)\n", WORKERS, joined,
           WORKERS * (WORKERS + 1) / 2);
    printf("mutex sum: %ld (expect %ld)\n", locked_sum, WORKERS * n * (n + 1) / 2);
    printf("atomic sum: %ld (expect %ld)\n", atomic_load(&atomic_sum),
           (long)(WORKERS * (WORKERS - 1) / 2) * n * (n + 1) / 2);
    printf("cas max: %ld (expect %ld)\n", atomic_load(&cas_max), (WORKERS - 1) * n + n);
    printf("pthread_once ran %d time(s), key destructors ran %d time(s)\n",
           atomic_load(&once_runs), atomic_load(&destructor_runs));
    printf("threads with their own tid in this process: %d\n", atomic_load(&distinct_tids));
    printf("main thread's TLS untouched: %ld\n", tls_counter);

    pthread_t p[PRODUCERS], c[CONSUMERS];
    struct consumed got[CONSUMERS];
    memset(got, 0, sizeof got);
    for (long i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, &got[i]);
    for (long i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, (void *)i);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    long total = 0, count = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(c[i], NULL);
        total += got[i].sum;
        count += got[i].count;
    }
    long items = (long)PRODUCERS * ITEMS;
    printf("queue: %ld items consumed, sum %ld (expect %ld)\n", count, total,
           items * (items + 1) / 2);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    pthread_create(&d, &attr, detached, NULL);
    while (!atomic_load(&detached_done))
        sched_yield();
    printf("detached thread ran\n");
    return 0;
}
