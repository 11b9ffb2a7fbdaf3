/* Copy-on-write across fork: parent and child each see only their own
 * writes to private memory made after the fork, whether the write comes
 * from the program, from a system call (read into the buffer), after
 * MADV_DONTNEED, mprotect or mremap, in a grandchild, or from two threads
 * racing onto the same shared pages; a jump into non-executable memory
 * still faults with SEGV_ACCERR. */
#include "conf.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define BIG (4 << 20)

static unsigned sum(const unsigned char *p, size_t n) {
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) s = s * 31 + p[i];
    return s;
}

static void fill(unsigned char *p, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + seed);
}

/* A channel each way: the two sides take turns. */
static int up[2], down[2];
static void tell(int fd) { (void)!write(fd, "x", 1); }
static void await(int fd) { char c; (void)!read(fd, &c, 1); }

static unsigned char *heap_buf;

static void *racer(void *arg) {
    long id = (long)arg;
    for (size_t i = id * 4096; i < BIG; i += 8192) heap_buf[i] = (unsigned char)(0x40 + id);
    return NULL;
}

static sigjmp_buf jump;
static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    say("fetch from non-exec memory: SIGSEGV code %s", si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
    siglongjmp(jump, 1);
}

int main(void) {
    unsigned char *anon = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    heap_buf = malloc(BIG);
    fill(anon, BIG, 1);
    fill(heap_buf, BIG, 2);
    unsigned anon_sum = sum(anon, BIG), heap_sum = sum(heap_buf, BIG);
    if (pipe(up) || pipe(down)) return 1;

    pid_t child = fork();
    if (child == 0) {
        /* The child writes first; the parent must not see it. */
        anon[0] = 0xee;
        anon[BIG - 1] = 0xee;
        memset(heap_buf + 100000, 0xcc, 300000);
        tell(up[1]);
        await(down[0]);
        /* The parent has written since: the child keeps its own view. */
        say("child: anon %s, heap %s", anon[5] == (unsigned char)(5 * 7 + 1) ? "unchanged" : "CHANGED",
            heap_buf[BIG / 2] == (unsigned char)((BIG / 2) * 7 + 2) ? "unchanged" : "CHANGED");
        say("child: own writes %s", anon[0] == 0xee && heap_buf[100000] == 0xcc ? "kept" : "LOST");
        /* A system call writes into shared pages: read() from a pipe. */
        int p[2];
        if (pipe(p)) _exit(1);
        (void)!write(p[1], "from a pipe", 11);
        (void)!read(p[0], anon + 2 * 65536 + 5, 11);
        say("child: read() into shared pages: %.11s", anon + 2 * 65536 + 5);
        /* MADV_DONTNEED zeroes the child's pages only. */
        madvise(anon + BIG / 2, 1 << 20, MADV_DONTNEED);
        say("child: after MADV_DONTNEED %d %d", anon[BIG / 2], anon[BIG / 2 + (1 << 20) - 1]);
        anon[BIG / 2 + 10] = 9;
        /* mprotect read-only and back, then write. */
        mprotect(anon + (1 << 20), 1 << 20, PROT_READ);
        mprotect(anon + (1 << 20), 1 << 20, PROT_READ | PROT_WRITE);
        anon[(1 << 20) + 3] = 0x11;
        /* mremap moves shared pages; writes after the move stay private. */
        unsigned char *moved = mremap(anon, BIG, 2 * BIG, MREMAP_MAYMOVE);
        moved[3 * 65536] = 0x22;
        say("child: after mremap %s", moved[BIG - 1] == 0xee && moved[(1 << 20) + 3] == 0x11 ? "intact" : "BROKEN");
        /* A grandchild shares the child's pages in turn. */
        pid_t gc = fork();
        if (gc == 0) {
            moved[7] = 0x33;
            _exit(moved[0] == 0xee && moved[BIG / 2 + 10] == 9 ? 0 : 1);
        }
        int st;
        waitpid(gc, &st, 0);
        say("child: grandchild saw the child's memory: %s; its write seen here: %s",
            WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no", moved[7] == 0x33 ? "YES" : "no");
        tell(up[1]);
        _exit(0);
    }
    await(up[0]);
    say("parent: anon %s, heap %s", sum(anon, BIG) == anon_sum ? "unchanged" : "CHANGED",
        sum(heap_buf, BIG) == heap_sum ? "unchanged" : "CHANGED");
    /* Two threads write the shared heap at once. */
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, racer, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    fill(anon + 4096, 65536, 3);
    tell(down[1]);
    await(up[0]);
    int st;
    waitpid(child, &st, 0);
    say("parent: child exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    int ok = 1;
    for (size_t i = 0; i < BIG; i += 4096) ok &= heap_buf[i] == (unsigned char)(0x40 + (i / 4096) % 2);
    say("parent: threads' writes %s; anon %s", ok ? "kept" : "LOST",
        anon[0] == (unsigned char)1 && anon[BIG / 2] == (unsigned char)((BIG / 2) * 7 + 1) ? "as before" : "CHANGED");
    /* With the child gone, the pages are the parent's alone again. */
    anon[BIG - 1] = 0x55;
    say("parent: write after the child exited %s", anon[BIG - 1] == 0x55 ? "kept" : "LOST");

    /* Executing a page of the (non-executable) shared buffer faults. */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (fork() == 0) {
        anon[8192] = 0xc3; /* ret */
        if (sigsetjmp(jump, 1) == 0) ((void (*)(void))(anon + 8192))();
        _exit(0);
    }
    wait(&st);
    return 0;
}
