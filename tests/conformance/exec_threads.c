/* execve from a multi-threaded process (by its main thread): the other
 * threads end, the process keeps its pid, and the new image runs alone. */
#include "conf.h"
#include <pthread.h>
#include <stdlib.h>

static void *spin(void *arg) {
    (void)arg;
    for (;;) pause();
    return 0;
}

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

int main(int argc, char **argv) {
    if (argc > 1) {
        say("after execve: same pid %s, threads %d", YN(getpid() == atoi(argv[1])), threads_now());
        return 0;
    }
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, spin, 0);
    say("before execve: threads %d", threads_now());
    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    execl("/proc/self/exe", argv[0], pid, (char *)0);
    say("execve failed: %s", errname(errno));
    return 1;
}
