/* sigaltstack(2) with SA_ONSTACK: the handler runs on the alternate stack,
 * sigaltstack reports SS_ONSTACK there (and refuses changes, EPERM), a
 * handler without SA_ONSTACK stays on the normal stack, and everything is
 * back to normal after the handler returns. */
#include "conf.h"
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

static char *alt;
static size_t alt_size = 64 * 1024;
static volatile int on_alt, flags_inside, eperm_inside;

static void handler(int sig) {
    (void)sig;
    char local;
    on_alt = (char *)&local >= alt && (char *)&local < alt + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    stack_t other = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
    eperm_inside = sigaltstack(&other, NULL) == -1 && errno == EPERM;
}

int main(void) {
    stack_t old;
    sigaltstack(NULL, &old);
    say("initially disabled: %s", YN(old.ss_flags == SS_DISABLE));

    alt = malloc(alt_size);
    stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
    REPORT("set", sigaltstack(&ss, NULL));
    stack_t small = {.ss_sp = alt, .ss_size = 1024, .ss_flags = 0};
    REPORT("too small", sigaltstack(&small, NULL));
    stack_t bad = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 77};
    REPORT("bad flags", sigaltstack(&bad, NULL));
    sigaltstack(NULL, &old);
    say("reads back: sp=%s size=%s flags=%d", YN(old.ss_sp == alt), YN(old.ss_size == alt_size), old.ss_flags);

    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    say("onstack: on alt=%s flags inside=%d EPERM inside=%s", YN(on_alt), flags_inside, YN(eperm_inside));

    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    say("no SA_ONSTACK: on alt=%s flags inside=%d", YN(on_alt), flags_inside);

    sigaltstack(NULL, &old);
    say("after: flags=%d", old.ss_flags);
    stack_t dis = {.ss_flags = SS_DISABLE};
    REPORT("disable", sigaltstack(&dis, NULL));
    sigaltstack(NULL, &old);
    say("disabled: %s size=%zu", YN(old.ss_flags == SS_DISABLE), old.ss_size);

    /* SA_ONSTACK with no alternate stack: the normal stack. */
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    say("onstack without altstack: on alt=%s flags inside=%d", YN(on_alt), flags_inside);
    return 0;
}
