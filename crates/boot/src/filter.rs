//! The sentry's seccomp allowlist: every host syscall the sandbox process
//! (sentry and, by inheritance, its stubs) may make. Anything else kills the
//! process. The list grows consciously: each entry says who needs it.
//! (gVisor: `runsc/boot/filter/config`.) `--network=host` adds the calls
//! of `sentry::net::hostinet` ([`HOST_NETWORK`], `socket` only for the
//! families, types and protocols it creates, get/setsockopt only for the
//! options it forwards); the other modes never make a socket.

use abi::{ioctl, Sysno};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// Syscalls allowed with any arguments, and why.
const ALLOWED: &[(Sysno, &str)] = &[
    // Memory: the Rust allocator and thread stacks; in stubs, the mappings
    // the ptrace platform injects on the application's behalf.
    (Sysno::mmap, "allocator, stacks; injected into stubs"),
    (Sysno::munmap, "allocator; injected into stubs"),
    (Sysno::mprotect, "thread stack guards; injected into stubs"),
    (Sysno::mremap, "allocator (realloc of large buffers)"),
    (Sysno::madvise, "allocator, thread exit"),
    (Sysno::brk, "allocator"),
    (Sysno::fallocate, "memory file: punching holes to free pages"),
    (Sysno::lseek, "memory file: SEEK_DATA/SEEK_HOLE to copy only touched pages at fork"),
    // Threads and synchronisation.
    (Sysno::clone, "stub processes (fork)"),
    (Sysno::clone3, "sentry threads (glibc pthread_create)"),
    (Sysno::futex, "locks, condition variables, thread join"),
    (Sysno::set_robust_list, "glibc thread start-up"),
    (Sysno::rseq, "glibc thread start-up; unregistering it in new stubs"),
    (Sysno::rt_sigprocmask, "glibc thread start-up, raise() in a new stub"),
    (Sysno::rt_sigreturn, "return from the Rust runtime's signal handlers"),
    (Sysno::rt_sigaction, "glibc installs its SIGSETXID/SIGCANCEL handlers at the first pthread_create"),
    (Sysno::sigaltstack, "Rust's stack-overflow handler per thread"),
    (Sysno::sched_yield, "sched_yield for the application; spin loops"),
    (Sysno::sched_getaffinity, "thread start-up"),
    (Sysno::sched_setaffinity, "pinning a tracer and its stub to one CPU"),
    (Sysno::exit, "thread exit"),
    (Sysno::exit_group, "process exit"),
    (Sysno::getpid, "glibc raise() in a new stub"),
    (Sysno::gettid, "tracer checks; raise() in a new stub"),
    (Sysno::prctl, "PR_SET_PDEATHSIG in a new stub"),
    // The ptrace platform.
    (Sysno::ptrace, "tracing stubs (and PTRACE_TRACEME in a new stub)"),
    (Sysno::wait4, "waiting for stub stops"),
    (Sysno::kill, "interrupting and killing stubs"),
    (Sysno::tgkill, "raise() in a new stub"),
    (Sysno::close_range, "injected into new stubs to drop inherited descriptors"),
    // I/O on descriptors the sandbox was given: stdio, gofer files, the
    // gofer and control sockets, the log and exit files.
    (Sysno::read, "stdio of the container"),
    (Sysno::write, "stdio of the container, log, exit file"),
    (Sysno::writev, "log lines"),
    (Sysno::pread64, "file data from gofer-donated descriptors"),
    (Sysno::pwrite64, "file data to gofer-donated descriptors of writable mounts"),
    (Sysno::fsync, "fsync of gofer-donated descriptors of writable mounts"),
    (Sysno::ftruncate, "ftruncate of gofer-donated descriptors of writable mounts"),
    (Sysno::close, "closing descriptors"),
    (Sysno::poll, "waiting on host stdio in slices a signal can interrupt"),
    (Sysno::ppoll, "the same, where the libc spells poll as ppoll"),
    (Sysno::fcntl, "descriptor flags (CLOEXEC on received descriptors)"),
    (Sysno::fstat, "stat of host stdio"),
    (Sysno::fstatfs, "fstatfs of host stdio"),
    (Sysno::newfstatat, "fstat through glibc (AT_EMPTY_PATH)"),
    (Sysno::statx, "fstat through rustix"),
    (Sysno::recvmsg, "gofer answers with donated descriptors, control requests"),
    (Sysno::sendmsg, "gofer requests, control answers"),
    (Sysno::recvfrom, "socket reads"),
    (Sysno::sendto, "socket writes"),
    (Sysno::accept4, "control connections"),
    // Time and randomness.
    (Sysno::clock_gettime, "clocks (vDSO fallback)"),
    (Sysno::clock_nanosleep, "sleeps"),
    (Sysno::nanosleep, "sleeps"),
    (Sysno::getrandom, "AT_RANDOM, getrandom(2), hash seeds"),
    // Terminals.
    (Sysno::rt_sigtimedwait, "the console thread waits for the host terminal's signals (sigwait)"),
    (Sysno::setsid, "a new stub leaves the sandbox's session, so the console's signals never reach it"),
    (Sysno::eventfd2, "the network stack's thread is woken when a timer moves earlier"),
];

/// `--network=host` only: the calls on host sockets, any arguments (they
/// act on descriptors the sentry holds), and the poller's epoll set.
const HOST_NETWORK: &[(Sysno, &str)] = &[
    (Sysno::bind, "hostinet: bind"),
    (Sysno::listen, "hostinet: listen"),
    (Sysno::connect, "hostinet: connect"),
    (Sysno::getsockname, "hostinet: getsockname"),
    (Sysno::getpeername, "hostinet: getpeername"),
    (Sysno::shutdown, "hostinet: shutdown"),
    (Sysno::epoll_create1, "hostinet: the poller's epoll set"),
    (Sysno::epoll_ctl, "hostinet: adding and removing host sockets"),
    (Sysno::epoll_pwait, "hostinet: the poller's wait (rustix spells epoll_wait so)"),
];

/// `ioctl` only for the terminal calls the sentry makes on host stdio and
/// on the console (the host pty slave of `process.terminal`), whose
/// settings are the host line discipline's.
const IOCTLS: &[(u64, &str)] = &[
    (ioctl::TCGETS, "isatty / tcgetattr on stdio"),
    (ioctl::TIOCGWINSZ, "window size of stdio"),
    (ioctl::TCSETS, "tcsetattr on the console"),
    (ioctl::TCSETSW, "tcsetattr(TCSADRAIN) on the console"),
    (ioctl::TCSETSF, "tcsetattr(TCSAFLUSH) on the console"),
    (ioctl::TIOCSWINSZ, "resizing the console"),
    (ioctl::FIONREAD, "input queued on the console"),
    (ioctl::TIOCOUTQ, "output queued on the console"),
    (ioctl::TCFLSH, "tcflush on the console"),
];

/// `arg == value` on a 32-bit argument.
fn eq(arg: u8, value: u64) -> Result<SeccompCondition, seccompiler::BackendError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)
}

/// The rules for `--network=host` (`host`) or the other modes.
pub fn rules(host: bool) -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::BackendError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED.iter().map(|(s, _)| (s.id() as i64, vec![])).collect();
    if host {
        rules.extend(HOST_NETWORK.iter().map(|(s, _)| (s.id() as i64, vec![])));
        let socket = sentry::net::hostinet::host_socket_args()
            .into_iter()
            .map(|(family, ty, proto)| {
                SeccompRule::new(vec![eq(0, u64::from(family))?, eq(1, u64::from(ty))?, eq(2, u64::from(proto))?])
            })
            .collect::<Result<Vec<_>, _>>()?;
        rules.insert(Sysno::socket.id() as i64, socket);
        let options = sentry::net::hostinet::forwarded_options()
            .map(|(level, name)| SeccompRule::new(vec![eq(1, level as u64)?, eq(2, name as u64)?]))
            .collect::<Result<Vec<_>, _>>()?;
        rules.insert(Sysno::getsockopt.id() as i64, options.clone());
        rules.insert(Sysno::setsockopt.id() as i64, options);
    }
    let ioctl_rules = IOCTLS
        .iter()
        .map(|(cmd, _)| {
            SeccompRule::new(vec![SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, *cmd)?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(Sysno::ioctl.id() as i64, ioctl_rules);
    Ok(rules)
}

pub fn program(host: bool) -> Result<BpfProgram, seccompiler::Error> {
    let filter =
        SeccompFilter::new(rules(host)?, SeccompAction::KillProcess, SeccompAction::Allow, TargetArch::x86_64)?;
    Ok(filter.try_into()?)
}

/// Installs the filter (`host`: `--network=host`'s) on every thread of the
/// process.
pub fn install(host: bool) -> Result<(), seccompiler::Error> {
    seccompiler::apply_filter_all_threads(&program(host)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: u32 = 0x7fff_0000;
    const KILL_PROCESS: u32 = 0x8000_0000;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

    /// A classic-BPF interpreter for the instructions seccompiler emits,
    /// run over a `struct seccomp_data` for one call.
    fn verdict(prog: &BpfProgram, nr: Sysno, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.id().to_le_bytes());
        data[4..8].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let ins = &prog[pc];
            let k = ins.k;
            pc += 1;
            match ins.code {
                0x20 => acc = u32::from_le_bytes(data[k as usize..k as usize + 4].try_into().unwrap()), // ld [k]
                0x00 => acc = k,                                                                        // ld #k
                0x54 => acc &= k,                                                                       // and #k
                0x05 => pc += k as usize,                                                               // ja
                0x15 | 0x25 | 0x35 | 0x45 => {
                    let taken = match ins.code {
                        0x15 => acc == k,
                        0x25 => acc > k,
                        0x35 => acc >= k,
                        _ => acc & k != 0,
                    };
                    pc += usize::from(if taken { ins.jt } else { ins.jf });
                }
                0x06 => return k, // ret #k
                op => panic!("BPF op {op:#x} not modelled"),
            }
        }
    }

    #[test]
    fn the_filter_allows_what_it_lists_and_kills_the_rest() {
        let prog = program(false).unwrap();
        for (s, _) in ALLOWED {
            assert_eq!(verdict(&prog, *s, [0; 6]), ALLOW, "{} should be allowed", s.name());
        }
        for s in [Sysno::openat, Sysno::execve, Sysno::socket, Sysno::mount, Sysno::unshare, Sysno::setuid] {
            assert_eq!(verdict(&prog, s, [0; 6]), KILL_PROCESS, "{} should kill", s.name());
        }
        assert_eq!(verdict(&prog, Sysno::ioctl, [1, ioctl::TCGETS, 0, 0, 0, 0]), ALLOW);
        assert_eq!(verdict(&prog, Sysno::ioctl, [1, ioctl::TIOCGWINSZ, 0, 0, 0, 0]), ALLOW);
        assert_eq!(verdict(&prog, Sysno::ioctl, [0, ioctl::TCSETSW, 0, 0, 0, 0]), ALLOW);
        // Taking a terminal as controlling terminal, or a new pty, neither.
        assert_eq!(verdict(&prog, Sysno::ioctl, [0, ioctl::TIOCSCTTY, 0, 0, 0, 0]), KILL_PROCESS);
        assert_eq!(verdict(&prog, Sysno::ioctl, [0, ioctl::TIOCGPTPEER, 0, 0, 0, 0]), KILL_PROCESS);
        // TIOCSTI (pushing input into a terminal) must stay out.
        assert_eq!(verdict(&prog, Sysno::ioctl, [0, 0x5412, 0, 0, 0, 0]), KILL_PROCESS);
        // Outside host mode, no socket of any kind, nor the calls on one.
        for (s, _) in HOST_NETWORK {
            assert_eq!(verdict(&prog, *s, [0; 6]), KILL_PROCESS, "{} should kill", s.name());
        }
        assert_eq!(verdict(&prog, Sysno::socket, [2, 0x80801, 0, 0, 0, 0]), KILL_PROCESS);
        assert_eq!(verdict(&prog, Sysno::setsockopt, [3, 6, 1, 0, 4, 0]), KILL_PROCESS);
    }

    #[test]
    fn the_host_network_filter_admits_only_hostinets_sockets_and_options() {
        let prog = program(true).unwrap();
        for (s, _) in ALLOWED.iter().chain(HOST_NETWORK) {
            assert_eq!(verdict(&prog, *s, [0; 6]), ALLOW, "{} should be allowed", s.name());
        }
        const NB_CLOEXEC: u64 = 0x800 | 0x80000;
        // AF_INET/AF_INET6, stream (TCP) or datagram (UDP), always
        // non-blocking and close-on-exec.
        for (family, ty, proto) in [(2, 1, 0), (2, 1, 6), (10, 2, 0), (10, 2, 17), (2, 2, 17), (10, 1, 6)] {
            assert_eq!(verdict(&prog, Sysno::socket, [family, ty | NB_CLOEXEC, proto, 0, 0, 0]), ALLOW);
        }
        for args in [
            [2, 1, 0],                   // blocking
            [1, 1 | NB_CLOEXEC, 0],      // AF_UNIX
            [16, 3 | NB_CLOEXEC, 0],     // AF_NETLINK
            [17, 3 | NB_CLOEXEC, 0x300], // AF_PACKET
            [2, 3 | NB_CLOEXEC, 1],      // SOCK_RAW, ICMP
            [2, 1 | NB_CLOEXEC, 17],     // a stream over UDP
            [2, 5 | NB_CLOEXEC, 0],      // SOCK_SEQPACKET
        ] {
            assert_eq!(verdict(&prog, Sysno::socket, [args[0], args[1], args[2], 0, 0, 0]), KILL_PROCESS, "{args:?}");
        }
        // TCP_NODELAY, SO_REUSEADDR, IPV6_V6ONLY pass; SO_BINDTODEVICE
        // (25) and IP_RECVERR (11) do not.
        for (level, name) in [(6, 1), (1, 2), (41, 26)] {
            assert_eq!(verdict(&prog, Sysno::setsockopt, [3, level, name, 0, 4, 0]), ALLOW);
            assert_eq!(verdict(&prog, Sysno::getsockopt, [3, level, name, 0, 0, 0]), ALLOW);
        }
        for (level, name) in [(1, 25), (0, 11)] {
            assert_eq!(verdict(&prog, Sysno::setsockopt, [3, level, name, 0, 4, 0]), KILL_PROCESS);
        }
        // Still no opening of files, no exec.
        for s in [Sysno::openat, Sysno::execve, Sysno::socketpair] {
            assert_eq!(verdict(&prog, s, [0; 6]), KILL_PROCESS, "{} should kill", s.name());
        }
    }

    #[test]
    fn the_filter_compiles_and_lists_each_call_once() {
        program(false).unwrap();
        program(true).unwrap();
        let mut seen = std::collections::HashSet::new();
        for (s, why) in ALLOWED.iter().chain(HOST_NETWORK) {
            assert!(seen.insert(*s), "{} listed twice", s.name());
            assert!(!why.is_empty());
        }
        // Calls the sentry must never make.
        for s in [Sysno::open, Sysno::openat, Sysno::execve, Sysno::mount, Sysno::socket] {
            assert!(!seen.contains(&s), "{} must not be allowed", s.name());
        }
    }
}
