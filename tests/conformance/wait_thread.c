/* Any thread of a process may wait for the process's children: a second
 * thread blocked in waitpid wakes when the child exits, and in waitid
 * when a child stops (WUNTRACED) and exits; the leader meanwhile sits in
 * pthread_join. */
#include "conf.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static pid_t child;

static void *waiter(void *arg) {
    (void)arg;
    int st = 0;
    pid_t r = waitpid(child, &st, 0);
    say("thread waitpid %s, exited %d code %d", r == child ? "child" : errname(errno), WIFEXITED(st), WEXITSTATUS(st));
    return NULL;
}

static void *stop_waiter(void *arg) {
    (void)arg;
    siginfo_t si = {0};
    int r = waitid(P_PID, child, &si, WSTOPPED);
    say("thread waitid stopped %d: code %d status %d", r, si.si_code, si.si_status);
    kill(child, SIGKILL);
    r = waitid(P_PID, child, &si, WEXITED);
    say("thread waitid exited %d: code %d status %d", r, si.si_code, si.si_status);
    return NULL;
}

int main(void) {
    child = fork();
    if (child == 0) {
        usleep(100000);
        _exit(7);
    }
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    pthread_join(t, NULL);

    child = fork();
    if (child == 0) {
        usleep(100000);
        raise(SIGSTOP);
        pause();
        _exit(0);
    }
    pthread_create(&t, NULL, stop_waiter, NULL);
    pthread_join(t, NULL);
    return 0;
}
