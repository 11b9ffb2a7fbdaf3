/* Job control: SIGSTOP/SIGTSTP stop a whole process (all its threads),
 * SIGCONT continues it, the parent hears of both through SIGCHLD
 * (CLD_STOPPED, CLD_CONTINUED, unless SA_NOCLDSTOP) and wait4/waitid
 * (WUNTRACED, WCONTINUED, WNOWAIT); SIGTSTP is discarded in an orphaned
 * process group; SIGKILL ends a stopped process; SIGCHLD of an exit
 * carries CLD_EXITED and the status. */
#include "conf.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static volatile long *shared; /* [0], [1]: counters of the child's threads; [2]: SIGCONT handler runs */
static volatile int chld_hits, chld_code, chld_status, chld_pid;

static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    chld_hits++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
}

static void *spin(void *arg) {
    long i = (long)arg;
    for (;;) shared[i]++;
    return 0;
}

static void on_cont(int sig) {
    (void)sig;
    shared[2]++;
}

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* A child of two spinning threads, in its own process group. */
static pid_t spawn(int new_session) {
    shared[0] = shared[1] = shared[2] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        if (new_session)
            setsid();
        else
            setpgid(0, 0);
        signal(SIGCONT, on_cont);
        pthread_t t;
        pthread_create(&t, 0, spin, (void *)1);
        spin((void *)0);
    }
    while (shared[0] == 0 || shared[1] == 0) sleep_ms(1);
    return pid;
}

static int frozen(void) {
    long a = shared[0], b = shared[1];
    sleep_ms(50);
    return a == shared[0] && b == shared[1];
}

static void wait_hits(int n) {
    for (int i = 0; i < 2000 && chld_hits < n; i++) sleep_ms(1);
}

int main(void) {
    shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, 0);

    pid_t pid = spawn(0);
    int st;
    chld_hits = 0;
    kill(pid, SIGSTOP);
    say("wait4 WUNTRACED: matches %s", YN(waitpid(pid, &st, WUNTRACED) == pid));
    say("stopped %s by %s", YN(WIFSTOPPED(st)), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "?");
    wait_hits(1);
    say("SIGCHLD: CLD_STOPPED %s, status SIGSTOP %s, pid %s", YN(chld_code == CLD_STOPPED),
        YN(chld_status == SIGSTOP), YN(chld_pid == pid));
    say("both threads stopped: %s", YN(frozen()));
    say("nothing more to wait for: %d", waitpid(pid, &st, WUNTRACED | WNOHANG));

    chld_hits = 0;
    kill(pid, SIGCONT);
    pid_t got = waitpid(pid, &st, WCONTINUED);
    say("wait4 WCONTINUED: matches %s, continued %s", YN(got == pid), YN(WIFCONTINUED(st)));
    wait_hits(1);
    say("SIGCHLD: CLD_CONTINUED %s, status SIGCONT %s", YN(chld_code == CLD_CONTINUED), YN(chld_status == SIGCONT));
    say("running again: %s", YN(!frozen()));
    for (int i = 0; i < 2000 && shared[2] == 0; i++) sleep_ms(1);
    say("SIGCONT handler ran: %s", YN(shared[2] == 1));

    /* SIGTSTP stops a process in a process group that is not orphaned. */
    kill(pid, SIGTSTP);
    siginfo_t si = {0};
    int r = waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT);
    say("waitid WSTOPPED|WNOWAIT: %d", r);
    say("  CLD_STOPPED %s, status SIGTSTP %s", YN(si.si_code == CLD_STOPPED), YN(si.si_status == SIGTSTP));
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WSTOPPED);
    say("WNOWAIT left it: %d, CLD_STOPPED %s", r, YN(si.si_code == CLD_STOPPED));
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WSTOPPED | WNOHANG);
    say("consumed: %d, pid %d", r, si.si_pid);
    kill(pid, SIGCONT);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WCONTINUED);
    say("waitid WCONTINUED: %d, CLD_CONTINUED %s, status SIGCONT %s", r, YN(si.si_code == CLD_CONTINUED),
        YN(si.si_status == SIGCONT));

    /* SIGKILL ends a stopped process. */
    kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    kill(pid, SIGKILL);
    say("killed while stopped: %s", YN(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));

    /* SIGTSTP is discarded in an orphaned process group (a new session);
     * SIGSTOP still stops. */
    pid = spawn(1);
    kill(pid, SIGTSTP);
    sleep_ms(50);
    say("orphaned group: SIGTSTP ignored %s", YN(waitpid(pid, &st, WUNTRACED | WNOHANG) == 0 && !frozen()));
    kill(pid, SIGSTOP);
    got = waitpid(pid, &st, WUNTRACED);
    say("orphaned group: SIGSTOP stops %s (status %#x)", YN(got == pid && WIFSTOPPED(st)), st);

    /* SA_NOCLDSTOP: no SIGCHLD for stops, wait still reports them. */
    sa.sa_flags |= SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, 0);
    chld_hits = 0;
    kill(pid, SIGCONT);
    say("SA_NOCLDSTOP: continued reported to wait %s", YN(waitpid(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st)));
    kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    sleep_ms(20);
    say("SA_NOCLDSTOP: SIGCHLDs %d", chld_hits);

    /* The exit's SIGCHLD. */
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    chld_hits = 0;
    pid = fork();
    if (pid == 0) _exit(7);
    wait_hits(1);
    say("exit SIGCHLD: CLD_EXITED %s, status %d, pid %s", YN(chld_code == CLD_EXITED), chld_status,
        YN(chld_pid == pid));
    waitpid(pid, &st, 0);
    return 0;
}
