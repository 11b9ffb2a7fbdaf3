/* Robust futexes: a robust mutex whose owner thread exits, whose owner
 * process exits, or whose owner execs is handed to the next locker with
 * EOWNERDEAD (a blocked waiter is woken for it); pthread_mutex_consistent
 * makes it usable again; get_robust_list reports glibc's registered head. */
#include "conf.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

static pthread_mutex_t *mutex_in(void *mem, int shared) {
    pthread_mutex_t *m = mem;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (shared) pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    return m;
}

static const char *lock_result(int r) {
    return r == 0 ? "0" : r == EOWNERDEAD ? "EOWNERDEAD" : r == ENOTRECOVERABLE ? "ENOTRECOVERABLE" : errname(r);
}

static pthread_mutex_t private_mutex;
static void *take_and_exit(void *arg) {
    pthread_mutex_lock(arg);
    return NULL;
}

static void *hold_then_exit(void *arg) {
    pthread_mutex_lock(arg);
    usleep(200000);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "exec-holding") == 0) return 0;

    /* The owner thread exits holding it. */
    pthread_mutex_t *m = mutex_in(&private_mutex, 0);
    pthread_t t;
    pthread_create(&t, NULL, take_and_exit, m);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(m);
    say("after the owner thread exited: %s", lock_result(r));
    say("consistent: %d", pthread_mutex_consistent(m));
    pthread_mutex_unlock(m);
    say("locked again: %s", lock_result(pthread_mutex_lock(m)));
    pthread_mutex_unlock(m);

    /* A waiter blocked in lock is woken when the owner dies. */
    pthread_create(&t, NULL, hold_then_exit, m);
    usleep(50000);
    say("blocked waiter: %s", lock_result(pthread_mutex_lock(m)));
    pthread_join(t, NULL);
    /* Unlocked without consistent: no one can have it any more. */
    pthread_mutex_unlock(m);
    say("not made consistent: %s", lock_result(pthread_mutex_lock(m)));

    /* A process-shared one whose owner process exits, or execs. */
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutex_t *sm = mutex_in(mem, 1);
    pid_t c = fork();
    if (c == 0) {
        pthread_mutex_lock(sm);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    r = pthread_mutex_lock(sm);
    say("after the owner process exited: %s", lock_result(r));
    pthread_mutex_consistent(sm);
    pthread_mutex_unlock(sm);
    c = fork();
    if (c == 0) {
        pthread_mutex_lock(sm);
        execl("/proc/self/exe", argv[0], "exec-holding", "x", (char *)NULL);
        _exit(9);
    }
    int st;
    waitpid(c, &st, 0);
    say("exec'd child exited %d; lock: %s", WEXITSTATUS(st), lock_result(pthread_mutex_lock(sm)));

    /* glibc registered its head at thread start. */
    void *head = NULL;
    size_t len = 0;
    long g = syscall(SYS_get_robust_list, 0, &head, &len);
    say("get_robust_list: %ld, head %s, len %zu", g, head ? "set" : "NULL", len);
    g = syscall(SYS_get_robust_list, 999999, &head, &len);
    say("get_robust_list of no thread: %s", g == 0 ? "0" : errname(errno));
    return 0;
}
