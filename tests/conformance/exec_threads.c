/* execve from a multi-threaded process: the other threads end, the
 * process keeps its pid (a non-leader thread that execs takes it over),
 * and the new image runs alone; the parent sees one exit. */
#include "conf.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

/* The Threads: line of /proc/self/status. */
static int threads_now(void) {
    char buf[4096];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    int n = -1;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

static char *self_path;

static void *spin(void *arg) {
    (void)arg;
    for (;;) pause();
    return 0;
}

static void *exec_from_thread(void *arg) {
    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    execl(self_path, self_path, (char *)arg, pid, (char *)0);
    say("execve from a thread failed: %s", errname(errno));
    _exit(1);
}

/* In a child: start three threads, then exec from the main thread or from
 * one of them; the new image reports and exits with 7. */
static void run_case(const char *how) {
    pid_t child = fork();
    if (child == 0) {
        pthread_t t[3];
        for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, spin, 0);
        say("%s: before execve: threads %d", how, threads_now());
        if (how[0] == 'l') {
            char pid[16];
            snprintf(pid, sizeof pid, "%d", getpid());
            execl(self_path, self_path, "after-leader", pid, (char *)0);
            say("execve failed: %s", errname(errno));
            _exit(1);
        }
        pthread_t x;
        pthread_create(&x, 0, exec_from_thread, "after-thread");
        for (;;) pause();
    }
    int st;
    pid_t got = waitpid(child, &st, 0);
    say("%s: parent reaped the same pid %s, exit %d", how, YN(got == child), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    say("%s: nothing else to reap: %s", how, YN(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD));
}

int main(int argc, char **argv) {
    self_path = "/proc/self/exe";
    if (argc > 2) {
        int same = getpid() == atoi(argv[2]);
        say("%s: same pid %s, gettid is the pid %s, threads %d", argv[1], YN(same),
            YN(syscall(SYS_gettid) == getpid()), threads_now());
        return 7;
    }
    run_case("leader");
    run_case("thread");
    return 0;
}
