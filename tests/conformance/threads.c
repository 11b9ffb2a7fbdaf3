/* Threads: pthread_create/join, shared memory and a mutex, thread ids,
 * pthread_exit values, a condition variable, and exit_group from a thread. */
#include "conf.h"
#include <pthread.h>
#include <stdint.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static pid_t main_pid;

static void *work(void *arg) {
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    int same_pid = getpid() == main_pid;
    int own_tid = syscall(SYS_gettid) != main_pid;
    return (void *)(intptr_t)((intptr_t)arg * 10 + same_pid * 2 + own_tid);
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!ready) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    pthread_exit((void *)42);
}

static void *ender(void *arg) {
    (void)arg;
    say("exit_group from a thread");
    _exit(7); /* glibc's _exit is exit_group: the whole process ends */
}

int main(void) {
    main_pid = getpid();
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        say("thread %d returned %ld", i, (long)(intptr_t)ret);
    }
    say("counter %ld", counter);

    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    void *ret;
    pthread_join(w, &ret);
    say("waiter returned %ld", (long)(intptr_t)ret);

    pthread_t e;
    pthread_create(&e, NULL, ender, NULL);
    for (;;) pause();
}
/* expect-exit: 7 */
