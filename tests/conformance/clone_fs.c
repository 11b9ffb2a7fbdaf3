/* CLONE_FS: threads share the working directory, the umask and the root
 * (chdir, umask and chroot in one thread are seen by the others); a
 * forked child gets a copy; unshare(CLONE_FS) in a thread stops the
 * sharing for it. */
#include "conf.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[] = "/tmp/clonefs-XXXXXX";
static pthread_barrier_t step;

static void *changer(void *arg) {
    (void)arg;
    if (chdir(dir)) return NULL;
    umask(027);
    pthread_barrier_wait(&step); /* main looks */
    pthread_barrier_wait(&step); /* main changed back */
    char buf[256];
    say("thread sees main's cwd: %s", strcmp(getcwd(buf, sizeof buf), "/") == 0 ? "yes" : buf);
    mode_t m = umask(0);
    umask(m);
    say("thread sees main's umask: %o", m);
    say("thread unshare(CLONE_FS): %d", unshare(CLONE_FS));
    if (chdir(dir)) return NULL;
    umask(077);
    pthread_barrier_wait(&step);
    return NULL;
}

static void *chrooter(void *arg) {
    (void)arg;
    say("thread chroot: %d", chroot(dir));
    return NULL;
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    char buf[256];
    if (chdir("/")) return 1;
    umask(022);
    pthread_barrier_init(&step, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, changer, NULL);
    pthread_barrier_wait(&step);
    say("main sees the thread's cwd: %s", strcmp(getcwd(buf, sizeof buf), dir) == 0 ? "yes" : buf);
    mode_t m = umask(022);
    say("main sees the thread's umask: %o", m);
    if (chdir("/")) return 1;
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    pthread_join(t, NULL);
    say("after the thread's unshare, main's cwd is still /: %s", strcmp(getcwd(buf, sizeof buf), "/") == 0 ? "yes" : buf);
    m = umask(022);
    say("and its umask: %o", m);

    pid_t child = fork();
    if (child == 0) {
        if (chdir(dir)) _exit(1);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    say("a forked child's chdir leaves main in /: %s", strcmp(getcwd(buf, sizeof buf), "/") == 0 ? "yes" : buf);

    /* chroot in a thread moves the whole process (a child, so that this
     * process can still remove the scratch directory). */
    child = fork();
    if (child == 0) {
        pthread_create(&t, NULL, chrooter, NULL);
        pthread_join(t, NULL);
        struct stat st;
        say("after the thread's chroot, / is the scratch dir: %s", stat("/tmp", &st) != 0 ? "yes" : "no");
        _exit(0);
    }
    waitpid(child, NULL, 0);
    say("rmdir: %d", rmdir(dir));
    return 0;
}
