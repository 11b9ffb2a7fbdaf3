/* Signal frames carry the whole vector state (xsave): a handler starts with
 * clean AVX registers, may use them freely without corrupting the
 * interrupted code's, and a change it makes to the saved state in its
 * ucontext is what sigreturn restores. The frame has UC_FP_XSTATE and the
 * FP_XSTATE_MAGIC1/2 markers, and AT_MINSIGSTKSZ covers it. */
#include "conf.h"
#include <signal.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <ucontext.h>

static unsigned char seen_at_entry[32];
static int handler_flags_xstate, handler_magic1, handler_magic2;
static size_t xstate_size;
static int patch;

static void set_ymm0(const unsigned char *v) { __asm__ volatile("vmovdqu (%0), %%ymm0" ::"r"(v) : "xmm0", "memory"); }
static void get_ymm0(unsigned char *v) { __asm__ volatile("vmovdqu %%ymm0, (%0)" ::"r"(v) : "memory"); }

static void handler(int sig, siginfo_t *si, void *ucv) {
    (void)sig, (void)si;
    get_ymm0(seen_at_entry);
    unsigned char junk[32];
    memset(junk, 0x5a, sizeof junk);
    set_ymm0(junk); /* clobber: sigreturn must undo it */
    ucontext_t *uc = ucv;
    handler_flags_xstate = (uc->uc_flags & 1) != 0; /* UC_FP_XSTATE */
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    uint32_t magic1, size;
    memcpy(&magic1, fp + 464, 4);
    memcpy(&size, fp + 464 + 16, 4);
    xstate_size = size;
    handler_magic1 = magic1 == 0x46505853;
    uint32_t magic2 = 0;
    if (handler_magic1) memcpy(&magic2, fp + size, 4);
    handler_magic2 = magic2 == 0x46505845;
    if (patch && handler_magic1) {
        /* Change the saved upper half of YMM0 (component 2 at 576) and
         * the lower half (XMM0 at 160). */
        memset(fp + 576, 0x77, 16);
        memset(fp + 160, 0x66, 16);
    }
}

int main(void) {
    if (!__builtin_cpu_supports("avx")) {
        say("no AVX on this CPU: nothing to check");
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);

    unsigned char v[32], after[32];
    for (int i = 0; i < 32; i++) v[i] = (unsigned char)(i * 7 + 1);
    set_ymm0(v);
    raise(SIGUSR1);
    get_ymm0(after);
    int zero = 1;
    for (int i = 0; i < 32; i++) zero &= seen_at_entry[i] == 0;
    say("handler started with YMM0 clear: %s", YN(zero));
    say("YMM0 intact after the handler clobbered it: %s", YN(memcmp(v, after, 32) == 0));
    say("frame: UC_FP_XSTATE %s, magic1 %s, magic2 %s", YN(handler_flags_xstate), YN(handler_magic1),
        YN(handler_magic2));
    long minsig = (long)getauxval(AT_MINSIGSTKSZ);
    say("AT_MINSIGSTKSZ covers the xsave area: %s", YN(minsig > (long)xstate_size));

    patch = 1;
    set_ymm0(v);
    raise(SIGUSR1);
    get_ymm0(after);
    int upper = 1, lower = 1;
    for (int i = 0; i < 16; i++) lower &= after[i] == 0x66;
    for (int i = 16; i < 32; i++) upper &= after[i] == 0x77;
    say("sigreturn restored the patched frame: XMM0 %s, upper YMM0 %s", YN(lower), YN(upper));
    return 0;
}
