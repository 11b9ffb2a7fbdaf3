/* The vDSO: AT_SYSINFO_EHDR names an ELF image that exports the time
 * functions; the clocks it gives agree with the system calls, never go
 * backwards, and keep working in a forked child and after execve. */
#include "conf.h"
#include <elf.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

/* Looks a symbol up in the vDSO's dynamic symbol table. */
static void *vdso_sym(const char *name) {
    const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    if (!base) return 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
    long long bias = -1;
    const Elf64_Dyn *dyn = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && bias < 0) bias = (long long)(unsigned long)base - (long long)ph[i].p_vaddr;
        if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
    }
    if (!dyn || bias < 0) return 0;
    const Elf64_Sym *sym = 0;
    const char *str = 0;
    const unsigned int *hash = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB) sym = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_STRTAB) str = (const char *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_HASH) hash = (const unsigned int *)(bias + dyn->d_un.d_ptr);
    }
    if (!sym || !str || !hash) return 0;
    for (unsigned int i = 0; i < hash[1]; i++)
        if (sym[i].st_shndx != SHN_UNDEF && strcmp(str + sym[i].st_name, name) == 0)
            return (void *)(bias + sym[i].st_value);
    return 0;
}

static void check_clocks(const char *who) {
    long (*vgettime)(clockid_t, struct timespec *) = vdso_sym("__vdso_clock_gettime");
    if (!vgettime) {
        say("%s: no __vdso_clock_gettime", who);
        return;
    }
    struct timespec a, s, b;
    int mono = 1;
    vgettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100000; i++) {
        vgettime(CLOCK_MONOTONIC, &b);
        if (ns(b) < ns(a) || b.tv_nsec < 0 || b.tv_nsec >= 1000000000) mono = 0;
        a = b;
    }
    say("%s: MONOTONIC non-decreasing over 100000 vDSO reads: %s", who, YN(mono));
    const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE,
                             CLOCK_REALTIME_COARSE};
    const char *names[] = {"REALTIME", "MONOTONIC", "BOOTTIME", "MONOTONIC_COARSE", "REALTIME_COARSE"};
    for (int i = 0; i < 5; i++) {
        vgettime(ids[i], &a);
        syscall(SYS_clock_gettime, ids[i], &s);
        vgettime(ids[i], &b);
        /* Coarse clocks lag by up to a tick (4 ms); 10 ms covers both. */
        int near = ns(s) > ns(a) - 10000000 && ns(s) < ns(b) + 10000000;
        say("%s: %s agrees with the system call: %s", who, names[i], YN(near));
    }
    vgettime(CLOCK_MONOTONIC, &a);
    vgettime(CLOCK_BOOTTIME, &b);
    say("%s: BOOTTIME >= MONOTONIC: %s", who, YN(ns(b) >= ns(a)));
    errno = 0;
    long r = vgettime(12345, &a);
    say("%s: bad clock id: %ld", who, r);
    r = vgettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    say("%s: CPU-time clock: %ld, plausible: %s", who, r, YN(a.tv_sec < 100));

    long (*vtod)(struct timeval *, struct timezone *) = vdso_sym("__vdso_gettimeofday");
    long (*vtime)(long *) = vdso_sym("__vdso_time");
    long (*vgetcpu)(unsigned *, unsigned *, void *) = vdso_sym("__vdso_getcpu");
    say("%s: gettimeofday, time, getcpu exported: %s", who, YN(vtod && vtime && vgetcpu));
    if (!vtod || !vtime || !vgetcpu) return;
    struct timeval tv;
    struct timezone tz = {99, 99};
    vgettime(CLOCK_REALTIME, &a);
    long t0 = vtime(0);
    long tod = vtod(&tv, &tz);
    say("%s: gettimeofday: %ld, tz %d %d", who, tod, tz.tz_minuteswest, tz.tz_dsttime);
    long long us = tv.tv_sec * 1000000LL + tv.tv_usec;
    say("%s: gettimeofday near REALTIME: %s", who, YN(us >= ns(a) / 1000 && us < ns(a) / 1000 + 10000000));
    long t1;
    /* time() reads the coarse clock, which may still be in the second before. */
    say("%s: time near REALTIME: %s, stored: %s", who, YN(t0 >= a.tv_sec - 1 && t0 <= a.tv_sec + 1),
        YN(vtime(&t1) == t1));
    unsigned cpu = 9999, node = 9999;
    long rc = vgetcpu(&cpu, &node, 0);
    unsigned sys_cpu = 9999;
    syscall(SYS_getcpu, &sys_cpu, 0, 0);
    say("%s: getcpu: %ld, cpu plausible: %s, node: %u, syscall plausible: %s", who, rc,
        YN(cpu < 4096 && (int)cpu < sysconf(_SC_NPROCESSORS_CONF) + 64), node, YN(sys_cpu < 4096));
}

int main(int argc, char **argv) {
    const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    say("AT_SYSINFO_EHDR present: %s, page aligned: %s", YN(base), YN(((unsigned long)base & 4095) == 0));
    if (!base) return 1;
    say("ELF image: %s, type DYN: %s", YN(memcmp(base, ELFMAG, SELFMAG) == 0),
        YN(((const Elf64_Ehdr *)base)->e_type == ET_DYN));
    if (argc > 1) {
        check_clocks("after execve");
        return 0;
    }
    check_clocks("parent");
    pid_t pid = fork();
    if (pid == 0) {
        check_clocks("child");
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "again", (char *)0);
    say("execve failed: %s", errname(errno));
    return 1;
}
