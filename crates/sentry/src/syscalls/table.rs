//! The table itself: one line per syscall the sentry knows about.

use super::Arg::*;
use super::Support::*;
use super::{
    sys_eventfds as fds, sys_file as file, sys_futex, sys_identity as identity, sys_lock as lock, sys_misc as misc,
    sys_mmap as mmap, sys_openat2, sys_process as process, sys_signal as signal, sys_splice as splice,
    sys_thread as thread, sys_time as time, sys_tree as tree, sys_xattr as xattr,
};
use super::{Arg, Handler, Support, Syscall};
use abi::Sysno;

const fn sys(sysno: Sysno, support: Support, handler: Handler, args: &'static [Arg]) -> Syscall {
    Syscall { sysno, support, handler: Some(handler), args }
}

const fn todo(sysno: Sysno, note: &'static str) -> Syscall {
    Syscall { sysno, support: Unimplemented(note), handler: None, args: &[] }
}

const PRIVATE_COPY: &str = "MAP_SHARED of anonymous memory, /dev/zero, tmpfs files and memfds is the memory file's shared pages (across fork too); of files the gofer serves (the root's lower layer, bind mounts) the host file itself, mapped shared (the sentry's cached attributes of the file notice the application's stores within 1 s); on other files a read-only shared mapping is a private copy and a writable one ENODEV; private memory is shared copy-on-write across fork";
const QUEUE_NOTE: &str =
    "real-time signals queue each instance (up to 32768 per task); past that the signal is dropped rather than EAGAIN";
const PROCESSES_ONLY: &str =
    "processes and threads; CLONE_NEWNS (a copy of the mount table); CLONE_VM without CLONE_THREAD or CLONE_VFORK, other namespaces and pidfds are refused";
const SCHED_RECORDED: &str =
    "policy and priority are recorded and read back; the host schedules the sentry's threads as it likes";
const PRIO_NOTE: &str = "nice values are recorded and read back, not applied; PRIO_USER addresses every process (the sandbox runs one user's processes)";
const MLOCK_NOTE: &str =
    "checks the range; the sentry never writes application memory out, and RLIMIT_MEMLOCK is not enforced";
const CPU_TIMERS: &str = "ITIMER_VIRTUAL and ITIMER_PROF both count the application threads' CPU time (the sentry's own time is not charged to processes), checked every 4 ms, and restart from zero at execve";
const POSIX_TIMERS: &str = "CLOCK_REALTIME/TAI timers count monotonic time (an absolute time is converted when the timer is set, so a later host clock step does not move it); CPU-time timers count the process's application CPU time (a thread's CPU clock counts its process's); overruns count only periods missed by a late sentry thread, not expiries while the signal was still pending";
const CPU_TIMES: &str =
    "user time is the process's (all threads); system time is the calling thread's; the counters are zero";
const SPLICE_NOTE: &str = "the bytes are copied through the sentry, never lent by reference (SPLICE_F_MOVE and SPLICE_F_GIFT are hints); a pipe's capacity is counted in bytes, not in page slots";
const COPY_NOTE: &str = "copies through the sentry in 64 KiB pieces, up to the first short write";
const IDS: &str = "emulated ids, per thread; a uid change adjusts the capability sets (capabilities(7))";
const VFORK_COPY: &str = "the child gets a copy of memory; the parent waits until it execs or exits";
const STDIO_ONLY: &str =
    "root file system (gofer), /dev (devfs), /proc (minimal procfs) and tmpfs mounts; no symlink walk across mounts in the root tree; the full VFS comes with issue #4";
const GOFER_DIRS: &str =
    "directories of the root file system (the overlay's merged listing), /dev, /proc and tmpfs mounts; the full VFS comes with issue #4";
const TMPFS_ONLY: &str =
    "the root file system (overlay: changes stay in sandbox memory; EROFS if root.readonly) and tmpfs mounts; EROFS on /dev and /proc (issue #4)";
const TMPFS_RENAME: &str =
    "within the root overlay or one tmpfs mount (EXDEV across mounts, and for root directories with lower contents, as overlayfs); RENAME_NOREPLACE; no RENAME_EXCHANGE or RENAME_WHITEOUT; EROFS on /dev, /proc (issue #4)";
const TMPFS_LINK: &str = "within the root overlay or one tmpfs mount (EXDEV across mounts); no AT_EMPTY_PATH; EROFS on /dev, /proc (issue #4)";
const OPEN_NOTE: &str =
    "every mounted file system; O_PATH descriptors name a file without opening it (their fstat shows the file as it was at open); file names must be UTF-8 (others: ENOENT)";
const OPENAT2_NOTE: &str = "as openat, with every RESOLVE_* flag; a RESOLVE_* lookup walks the path and then opens what it reached, so a rename inside the sandbox between the two could redirect it; RESOLVE_CACHED never fails for want of a cached lookup";
const SYNC_ALL_NOTE: &str =
    "nothing to write back: the overlay and tmpfs live in memory, host-backed writes are already \
     in the host's page cache (fsync reaches the host file)";
const SYNC_NOTE: &str = "no-op success on tmpfs and root files (held in memory); EINVAL on pipes and host stdio";
const XATTR_NOTE: &str = "user.*, trusted.* (root) and security.* (root writes) on tmpfs and the root overlay (a change to an image file copies it up with its attributes); files from the gofer (image, bind mounts, a gofer root) show the host file's user.* attributes only, and bind-mount files refuse changes (EOPNOTSUPP); system.* (ACLs) EOPNOTSUPP; pipes as Linux (user.*: ENODATA/EPERM); sockets, /dev and /proc EOPNOTSUPP";
const MKNOD_NOTE: &str = "FIFOs, sockets and empty regular files on tmpfs and the root overlay; device nodes only for euid 0 (EPERM otherwise) and they cannot be opened (ENXIO); gofer bind mounts: regular files and socket nodes (EOPNOTSUPP otherwise)";
const NO_FSID: &str =
    "root files: the host file system holding them; /dev and tmpfs mounts: tmpfs, /proc: procfs; f_fsid is zero";

const MOUNT_NOTE: &str = "new mounts of tmpfs (size, mode, uid, gid; nr_inodes, huge, mpol accepted without effect), proc, sysfs and devpts (other types ENODEV); MS_BIND and MS_BIND|MS_REC; MS_REMOUNT of a mount's flags (ro: EROFS through it and its descriptors; nodev: EACCES opening devices; noexec: execve EACCES, mmap PROT_EXEC EPERM; nosuid recorded; statfs and mountinfo show them), file system options on remount EINVAL; MS_MOVE; MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (with MS_REC) recorded, every mount behaves as private; MS_SYNCHRONOUS, MS_DIRSYNC, MS_MANDLOCK, MS_NOSYMFOLLOW EINVAL (logged); descriptors opened for writing before a read-only remount keep writing";
const UMOUNT_NOTE: &str = "MNT_DETACH (the mounts below go too), MNT_FORCE (as a plain unmount), MNT_EXPIRE, UMOUNT_NOFOLLOW; EBUSY for mounts below and for the caller's working directory inside, not for other tasks' working directories or open files (which keep working)";
const PIVOT_ROOT_NOTE: &str = "Linux's checks (EBUSY, EINVAL, ENOTDIR); pivot_root(\".\", \".\") stacks the old root on the new one as runc uses it; every task's working directory and root follow the move (the old root's to the new root); links of the old root that are relative resolve as if it were still at /";
const CHROOT_NOTE: &str = "the root of the caller's filesystem context (shared by CLONE_FS, so by its threads); children inherit it; `..` and symlinks are confined lexically; with root.readonly the gofer resolves symlinks itself, from the container's root";
const INOTIFY_NOTE: &str = "changes made inside the sandbox, on every file system (changes made on the host to bind-mounted files are not seen); a watch on a file unlinked while open ends with its last link, not its last close; events for an open file reach the directory of the path it was opened by; IN_UNMOUNT (then IN_IGNORED) when a tmpfs, proc, sysfs or devpts instance loses its last mount, at once even with MNT_DETACH, never for gofer mounts; max_queued_events is 16384; max_user_instances (128, EMFILE) and max_user_watches (8192, ENOSPC) count per effective uid";

const POLL_NOTE: &str =
    "pipes, sockets, epoll instances and host stdio (polled every 50 ms while waiting); other files are always ready; an interrupted poll restarts with its whole timeout";
const EPOLL_NOTE: &str =
    "edge-triggered entries fire again on any change of the file, not only on the events they ask for; ready events come in interest-list order; EPOLLEXCLUSIVE is accepted and wakes every waiter";

const SOCKET_NOTE: &str = "AF_UNIX (sentry sockets; a bound path name makes a socket node, on gofer mounts too (a host socket node that host processes cannot connect to); names that are not UTF-8 go by name alone), AF_INET/AF_INET6 over loopback only (--network=none: lo with 127.0.0.0/8 and ::1; TCP through in-sentry byte queues, no TCP state machine or TIME_WAIT, a closed peer's reset modelled (the next send succeeds, then EPIPE; ECONNRESET when it closed with data unread); UDP; UDP-Lite (IPPROTO_UDPLITE, its own ports, checksum coverage options; between the sandbox's own addresses only: EOPNOTSUPP beyond them, the network stack has no UDP-Lite)), AF_NETLINK NETLINK_ROUTE (link, address and route dumps of lo); other families EAFNOSUPPORT, raw sockets EPERM; with --network=host AF_INET/AF_INET6 stream and datagram sockets are host sockets the sentry drives (blocking, signals, timeouts and readiness the sentry's; addresses parsed and rebuilt), and the namespace's interfaces and routes are shown";
const SOCKETPAIR_NOTE: &str = "AF_UNIX; AF_INET/AF_INET6/AF_NETLINK EOPNOTSUPP as Linux";
const SOCKOPT_NOTE: &str =
    "SOL_SOCKET: SO_TYPE, SO_ERROR, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN, SO_PEERCRED, SO_PASSCRED, SO_SNDBUF/SO_RCVBUF, SO_REUSEADDR/SO_REUSEPORT (honoured by bind), SO_RCVTIMEO/SO_SNDTIMEO (honoured), SO_KEEPALIVE, SO_LINGER, SO_BROADCAST, SO_PRIORITY, SO_OOBINLINE (recorded); IPPROTO_TCP: TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE/INTVL/CNT (recorded), TCP_INFO, TCP_MAXSEG, TCP_CONGESTION; IP_TTL, IP_TOS, IPV6_V6ONLY (honoured); IPV6_UNICAST_HOPS, IPV6_TCLASS, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS (honoured by local UDP); UDPLITE_SEND_CSCOV/UDPLITE_RECV_CSCOV (honoured: partial coverage below the receiver's minimum is dropped); others ENOPROTOOPT; with --network=host an allowlist is forwarded to the host socket (SOL_SOCKET reuse, buffers, keepalive, linger, priority, lowat, type/error/domain/protocol/acceptconn; TCP nodelay, cork, keepalive timers, maxseg, syncnt, linger2, defer_accept, info, quickack, congestion, user_timeout, fastopen, notsent_lowat; IP_TOS/TTL/MTU_DISCOVER/MTU; IPV6_V6ONLY/UNICAST_HOPS/TCLASS/MTU(_DISCOVER)), timeouts stay the sentry's, others ENOPROTOOPT (logged)";
const MSG_NOTE: &str =
    "AF_UNIX, AF_INET/AF_INET6 (loopback), AF_NETLINK; SCM_RIGHTS and SCM_CREDENTIALS (AF_UNIX); IPV6_HOPLIMIT and IPV6_TCLASS both ways on AF_INET6 UDP (sent per packet, received after IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS, truncated as Linux's put_cmsg); IP-level control messages on AF_INET UDP EINVAL; MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC, MSG_NOSIGNAL, MSG_CMSG_CLOEXEC; descriptors in flight that reference their own socket are not collected; --network=host forwards MSG_OOB/DONTROUTE/EOR/CONFIRM/MORE (send) and MSG_OOB/PEEK/TRUNC (receive), other flags logged and dropped, no ancillary data";
const MMSG_NOTE: &str =
    "as sendmsg/recvmsg, message by message; recvmmsg's timeout is checked between messages, as Linux";

const TIMERFD_NOTE: &str = "every clock counts monotonic time: an absolute REALTIME/BOOTTIME time is turned into a relative one when set; the _ALARM clocks need euid 0 and do not wake a suspended machine; TFD_TIMER_CANCEL_ON_SET is accepted and never fires (the sandbox cannot set the clock)";
const SIGNALFD_NOTE: &str = "read and poll see the calling thread's pending signals; a thread polling for signals queued to another thread is not woken by them; epoll's edge trigger does not fire again for new signals";
const MEMFD_NOTE: &str = "an unlinked file of the sentry's own tmpfs; seals (F_ADD_SEALS) gate write, pwrite, ftruncate, fchmod and writable shared mmap, but F_SEAL_WRITE is not refused (EBUSY) while writable shared mappings exist, nor mprotect to PROT_WRITE of a shared mapping refused after it; MFD_HUGETLB: EINVAL";
const RWF_NOTE: &str = "RWF_HIPRI, RWF_DSYNC, RWF_SYNC accepted (memory-backed files); RWF_NOWAIT: EAGAIN instead of blocking, EOPNOTSUPP on host stdio; RWF_APPEND; RWF_NOAPPEND: EOPNOTSUPP on an O_APPEND description (no-op otherwise); RWF_ATOMIC and RWF_DONTCACHE: EOPNOTSUPP";

pub(super) static TABLE: &[Syscall] = &[
    sys(Sysno::read, Full, file::read, &[Fd, OutBuf, Dec]),
    sys(Sysno::write, Full, file::write, &[Fd, InBuf(2), Dec]),
    sys(Sysno::open, Partial(OPEN_NOTE), file::open, &[Path, Hex, Oct]),
    sys(Sysno::close, Full, file::close, &[Fd]),
    sys(Sysno::stat, Partial(STDIO_ONLY), file::stat, &[Path, Hex]),
    sys(Sysno::fstat, Full, file::fstat, &[Fd, Hex]),
    sys(Sysno::lstat, Partial(STDIO_ONLY), file::lstat, &[Path, Hex]),
    sys(Sysno::lseek, Full, file::lseek, &[Fd, Dec, Dec]),
    sys(Sysno::mmap, Partial(PRIVATE_COPY), mmap::mmap, &[Hex, Dec, Hex, Hex, Fd, Hex]),
    sys(Sysno::mprotect, Full, mmap::mprotect, &[Hex, Dec, Hex]),
    sys(Sysno::munmap, Full, mmap::munmap, &[Hex, Dec]),
    sys(Sysno::brk, Full, mmap::brk, &[Hex]),
    sys(Sysno::rt_sigaction, Full, signal::rt_sigaction, &[Signal, Hex, Hex, Dec]),
    sys(Sysno::rt_sigprocmask, Full, signal::rt_sigprocmask, &[Dec, Hex, Hex, Dec]),
    sys(
        Sysno::rt_sigreturn,
        Partial("fxsave FPU state only: AVX and later xsave state is not saved across handlers"),
        signal::rt_sigreturn,
        &[],
    ),
    sys(Sysno::ioctl, Partial("terminals (the console, exec'd processes' host ptys, devpts ptys): TCGETS, TCSETS/TCSETSW/TCSETSF, TIOCGWINSZ, TIOCSWINSZ (SIGWINCH), FIONREAD, TIOCOUTQ, TCFLSH, TCSBRK (nothing to drain), job control in the sentry (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID, SIGTTIN/SIGTTOU), on a pty master TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER, TIOCSIG; TIOCSTI EPERM; TIOCPKT, TIOCEXCL, TCXONC and other terminal ioctls ENOTTY; TCGETS and TIOCGWINSZ on host stdio; FIOCLEX/FIONCLEX, FIONBIO; FIONREAD on pipes and sockets; SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFNAME (lo) on sockets"), file::ioctl, &[Fd, Hex, Hex]),
    sys(Sysno::pread64, Full, file::pread64, &[Fd, OutBuf, Dec, Dec]),
    sys(Sysno::pwrite64, Partial("tmpfs files; ESPIPE on host stdio"), file::pwrite64, &[Fd, InBuf(2), Dec, Dec]),
    sys(Sysno::readv, Full, file::readv, &[Fd, Hex, Dec]),
    sys(Sysno::writev, Full, file::writev, &[Fd, Hex, Dec]),
    sys(Sysno::access, Partial(STDIO_ONLY), file::access, &[Path, Oct]),
    sys(Sysno::pipe, Full, file::pipe, &[Hex]),
    sys(Sysno::sched_yield, Full, process::sched_yield, &[]),
    sys(Sysno::sched_get_priority_max, Full, process::sched_get_priority_max, &[Dec]),
    sys(Sysno::sched_get_priority_min, Full, process::sched_get_priority_min, &[Dec]),
    sys(Sysno::sched_getscheduler, Full, process::sched_getscheduler, &[Dec]),
    sys(Sysno::sched_getparam, Full, process::sched_getparam, &[Dec, Hex]),
    sys(Sysno::sched_setscheduler, Partial(SCHED_RECORDED), process::sched_setscheduler, &[Dec, Dec, Hex]),
    sys(Sysno::sched_setparam, Partial(SCHED_RECORDED), process::sched_setparam, &[Dec, Hex]),
    sys(Sysno::sched_rr_get_interval, Full, process::sched_rr_get_interval, &[Dec, Hex]),
    sys(Sysno::getpriority, Partial(PRIO_NOTE), process::getpriority, &[Dec, Dec]),
    sys(Sysno::setpriority, Partial(PRIO_NOTE), process::setpriority, &[Dec, Dec, Dec]),
    sys(Sysno::mlock, Partial(MLOCK_NOTE), mmap::mlock, &[Hex, Dec]),
    sys(Sysno::mlock2, Partial(MLOCK_NOTE), mmap::mlock2, &[Hex, Dec, Hex]),
    sys(Sysno::munlock, Full, mmap::mlock, &[Hex, Dec]),
    sys(Sysno::mlockall, Partial(MLOCK_NOTE), mmap::mlockall, &[Hex]),
    sys(Sysno::munlockall, Full, mmap::munlockall, &[]),
    sys(Sysno::msync, Full, mmap::msync, &[Hex, Dec, Hex]),
    sys(
        Sysno::mremap,
        Partial("no MREMAP_DONTUNMAP; old_len 0 (duplicating shared mappings) is EFAULT"),
        mmap::mremap,
        &[Hex, Dec, Dec, Hex, Hex],
    ),
    sys(
        Sysno::madvise,
        Partial("MADV_DONTNEED zeroes; other advice is accepted and has no effect"),
        mmap::madvise,
        &[Hex, Dec, Dec],
    ),
    sys(Sysno::dup, Full, file::dup, &[Fd]),
    sys(Sysno::dup2, Full, file::dup2, &[Fd, Fd]),
    sys(Sysno::nanosleep, Full, time::nanosleep, &[Hex, Hex]),
    sys(Sysno::pause, Full, signal::pause, &[]),
    sys(Sysno::getitimer, Partial(CPU_TIMERS), time::getitimer, &[Dec, Hex]),
    sys(Sysno::alarm, Full, time::alarm, &[Dec]),
    sys(Sysno::timer_create, Partial(POSIX_TIMERS), time::timer_create, &[Dec, Hex, Hex]),
    sys(Sysno::timer_settime, Partial(POSIX_TIMERS), time::timer_settime, &[Dec, Hex, Hex, Hex]),
    sys(Sysno::timer_gettime, Full, time::timer_gettime, &[Dec, Hex]),
    sys(Sysno::timer_getoverrun, Partial(POSIX_TIMERS), time::timer_getoverrun, &[Dec]),
    sys(Sysno::timer_delete, Full, time::timer_delete, &[Dec]),
    sys(Sysno::setitimer, Partial(CPU_TIMERS), time::setitimer, &[Dec, Hex, Hex]),
    sys(Sysno::getpid, Full, process::getpid, &[]),
    sys(Sysno::clone, Partial(PROCESSES_ONLY), thread::clone, &[Hex, Hex, Hex, Hex, Hex]),
    sys(Sysno::fork, Full, thread::fork, &[]),
    sys(Sysno::vfork, Partial(VFORK_COPY), thread::vfork, &[]),
    sys(Sysno::execve, Full, process::execve, &[Path, StrVec, StrVec]),
    sys(Sysno::exit, Full, process::exit, &[Dec]),
    sys(Sysno::wait4, Partial("rusage has the CPU times only; its counters are zero"), thread::wait4, &[Dec, Hex, Hex, Hex]),
    sys(Sysno::kill, Full, signal::kill, &[Dec, Signal]),
    sys(Sysno::uname, Full, misc::uname, &[Hex]),
    sys(
        Sysno::fcntl,
        Partial(
            "F_DUPFD, F_GETFD/SETFD, F_GETFL/SETFL, F_ADD_SEALS/F_GET_SEALS (memfds), record locks \
             F_GETLK/F_SETLK/F_SETLKW and F_OFD_* (EDEADLK for F_SETLKW cycles), F_GETPIPE_SZ/F_SETPIPE_SZ, \
             F_NOTIFY (dnotify: SIGIO from the kernel to the caller's process, for changes made in the sandbox); \
             no leases, F_SETOWN/F_SETSIG (EINVAL)"
        ),
        file::fcntl,
        &[Fd, Dec, Hex],
    ),
    sys(Sysno::flock, Full, lock::flock, &[Fd, Hex]),
    sys(Sysno::fsync, Partial(SYNC_NOTE), file::fsync, &[Fd]),
    sys(Sysno::fdatasync, Partial(SYNC_NOTE), file::fsync, &[Fd]),
    sys(Sysno::truncate, Partial(TMPFS_ONLY), tree::truncate, &[Path, Dec]),
    sys(Sysno::ftruncate, Partial(TMPFS_ONLY), tree::ftruncate, &[Fd, Dec]),
    sys(
        Sysno::fallocate,
        Partial("tmpfs and the root's upper layer: allocate (KEEP_SIZE or not) and PUNCH_HOLE, others EOPNOTSUPP as on tmpfs; host-backed files: whatever the host file system does"),
        tree::fallocate,
        &[Fd, Hex, Dec, Dec],
    ),
    sys(Sysno::getdents, Partial(GOFER_DIRS), file::getdents, &[Fd, Hex, Dec]),
    sys(Sysno::getcwd, Full, file::getcwd, &[Hex, Dec]),
    sys(Sysno::chdir, Partial(STDIO_ONLY), file::chdir, &[Path]),
    sys(Sysno::fchdir, Full, file::fchdir, &[Fd]),
    sys(Sysno::rename, Partial(TMPFS_RENAME), tree::rename, &[Path, Path]),
    sys(Sysno::mkdir, Partial(TMPFS_ONLY), tree::mkdir, &[Path, Oct]),
    sys(Sysno::rmdir, Partial(TMPFS_ONLY), tree::rmdir, &[Path]),
    sys(Sysno::creat, Partial(OPEN_NOTE), file::creat, &[Path, Oct]),
    sys(Sysno::link, Partial(TMPFS_LINK), tree::link, &[Path, Path]),
    sys(Sysno::unlink, Partial(TMPFS_ONLY), tree::unlink, &[Path]),
    sys(Sysno::symlink, Partial(TMPFS_ONLY), tree::symlink, &[Path, Path]),
    sys(Sysno::readlink, Partial(STDIO_ONLY), file::readlink, &[Path, Hex, Dec]),
    sys(Sysno::chmod, Partial(TMPFS_ONLY), tree::chmod, &[Path, Oct]),
    sys(Sysno::fchmod, Partial(TMPFS_ONLY), tree::fchmod, &[Fd, Oct]),
    sys(Sysno::chown, Partial(TMPFS_ONLY), tree::chown, &[Path, Dec, Dec]),
    sys(Sysno::fchown, Partial(TMPFS_ONLY), tree::fchown, &[Fd, Dec, Dec]),
    sys(Sysno::lchown, Partial(TMPFS_ONLY), tree::lchown, &[Path, Dec, Dec]),
    sys(Sysno::umask, Full, file::umask, &[Oct]),
    sys(Sysno::gettimeofday, Full, time::gettimeofday, &[Hex, Hex]),
    sys(Sysno::getrlimit, Full, process::getrlimit, &[Dec, Hex]),
    sys(Sysno::setrlimit, Full, process::setrlimit, &[Dec, Hex]),
    sys(Sysno::getrusage, Partial(CPU_TIMES), time::getrusage, &[Dec, Hex]),
    sys(Sysno::times, Partial(CPU_TIMES), time::times, &[Hex]),
    sys(Sysno::sysinfo, Partial("load averages are zero"), misc::sysinfo, &[Hex]),
    sys(Sysno::getuid, Full, process::getuid, &[]),
    sys(Sysno::setuid, Partial(IDS), identity::setuid, &[Dec]),
    sys(Sysno::setgid, Partial(IDS), identity::setgid, &[Dec]),
    sys(Sysno::setreuid, Partial(IDS), identity::setreuid, &[Dec, Dec]),
    sys(Sysno::setregid, Partial(IDS), identity::setregid, &[Dec, Dec]),
    sys(Sysno::setresuid, Partial(IDS), identity::setresuid, &[Dec, Dec, Dec]),
    sys(Sysno::setresgid, Partial(IDS), identity::setresgid, &[Dec, Dec, Dec]),
    sys(Sysno::setgroups, Partial(IDS), identity::setgroups, &[Dec, Hex]),
    sys(Sysno::capget, Full, identity::capget, &[Hex, Hex]),
    sys(Sysno::capset, Partial("the calling thread only (as Linux); other processes' sets are their leader's"), identity::capset, &[Hex, Hex]),
    sys(Sysno::getgid, Full, process::getgid, &[]),
    sys(Sysno::geteuid, Full, process::geteuid, &[]),
    sys(Sysno::getegid, Full, process::getegid, &[]),
    sys(Sysno::setpgid, Full, process::setpgid, &[Dec, Dec]),
    sys(Sysno::getppid, Full, process::getppid, &[]),
    sys(Sysno::getpgrp, Full, process::getpgrp, &[]),
    sys(Sysno::setsid, Full, process::setsid, &[]),
    sys(Sysno::getgroups, Full, process::getgroups, &[Dec, Hex]),
    sys(Sysno::getresuid, Full, process::getresuid, &[Hex, Hex, Hex]),
    sys(Sysno::getresgid, Full, process::getresgid, &[Hex, Hex, Hex]),
    sys(Sysno::getpgid, Full, process::getpgid, &[Dec]),
    sys(Sysno::getsid, Full, process::getsid, &[Dec]),
    sys(Sysno::statfs, Partial(NO_FSID), file::statfs, &[Path, Hex]),
    sys(Sysno::fstatfs, Partial(NO_FSID), file::fstatfs, &[Fd, Hex]),
    sys(Sysno::rt_sigpending, Full, signal::rt_sigpending, &[Hex, Dec]),
    sys(Sysno::rt_sigtimedwait, Full, signal::rt_sigtimedwait, &[Hex, Hex, Hex, Dec]),
    sys(
        Sysno::rt_sigqueueinfo,
        Partial(QUEUE_NOTE),
        signal::rt_sigqueueinfo,
        &[Dec, Signal, Hex],
    ),
    sys(Sysno::rt_sigsuspend, Full, signal::rt_sigsuspend, &[Hex, Dec]),
    sys(Sysno::sigaltstack, Full, signal::sigaltstack, &[Hex, Hex]),
    sys(Sysno::personality, Partial("recorded and reported; one address-space layout, so its flags change nothing"), misc::personality, &[Hex]),
    sys(Sysno::sethostname, Full, misc::sethostname, &[InBuf(1), Dec]),
    sys(
        Sysno::unshare,
        Partial("CLONE_NEWUTS, CLONE_NEWNS (a copy of the mount table; it takes a filesystem context of its own too), CLONE_FILES and CLONE_FS (CLONE_SYSVSEM: nothing to undo); other namespaces EINVAL"),
        process::unshare,
        &[Hex],
    ),
    sys(Sysno::setdomainname, Full, misc::setdomainname, &[InBuf(1), Dec]),
    sys(Sysno::arch_prctl, Partial("ARCH_SET_FS/GET_FS/SET_GS/GET_GS"), process::arch_prctl, &[Hex, Hex]),
    sys(Sysno::gettid, Full, process::gettid, &[]),
    sys(Sysno::tkill, Full, signal::tkill, &[Dec, Signal]),
    sys(Sysno::time, Full, time::time, &[Hex]),
    sys(
        Sysno::futex,
        Partial("WAIT/WAKE(_BITSET), (CMP_)REQUEUE; no PI or WAKE_OP"),
        sys_futex::futex,
        &[Hex, Hex, Dec, Hex, Hex, Hex],
    ),
    sys(Sysno::setxattr, Partial(XATTR_NOTE), xattr::setxattr, &[Path, Path, Hex, Dec, Hex]),
    sys(Sysno::lsetxattr, Partial(XATTR_NOTE), xattr::lsetxattr, &[Path, Path, Hex, Dec, Hex]),
    sys(Sysno::fsetxattr, Partial(XATTR_NOTE), xattr::fsetxattr, &[Fd, Path, Hex, Dec, Hex]),
    sys(Sysno::getxattr, Partial(XATTR_NOTE), xattr::getxattr, &[Path, Path, Hex, Dec]),
    sys(Sysno::lgetxattr, Partial(XATTR_NOTE), xattr::lgetxattr, &[Path, Path, Hex, Dec]),
    sys(Sysno::fgetxattr, Partial(XATTR_NOTE), xattr::fgetxattr, &[Fd, Path, Hex, Dec]),
    sys(Sysno::listxattr, Partial(XATTR_NOTE), xattr::listxattr, &[Path, Hex, Dec]),
    sys(Sysno::llistxattr, Partial(XATTR_NOTE), xattr::llistxattr, &[Path, Hex, Dec]),
    sys(Sysno::flistxattr, Partial(XATTR_NOTE), xattr::flistxattr, &[Fd, Hex, Dec]),
    sys(Sysno::removexattr, Partial(XATTR_NOTE), xattr::removexattr, &[Path, Path]),
    sys(Sysno::lremovexattr, Partial(XATTR_NOTE), xattr::lremovexattr, &[Path, Path]),
    sys(Sysno::fremovexattr, Partial(XATTR_NOTE), xattr::fremovexattr, &[Fd, Path]),
    sys(Sysno::mknod, Partial(MKNOD_NOTE), tree::mknod, &[Path, Oct, Hex]),
    sys(Sysno::mknodat, Partial(MKNOD_NOTE), tree::mknodat, &[Fd, Path, Oct, Hex]),
    sys(Sysno::getdents64, Partial(GOFER_DIRS), file::getdents64, &[Fd, Hex, Dec]),
    sys(Sysno::set_tid_address, Full, process::set_tid_address, &[Hex]),
    sys(Sysno::restart_syscall, Full, time::restart_syscall, &[]),
    sys(Sysno::clock_gettime, Full, time::clock_gettime, &[Dec, Hex]),
    sys(Sysno::clock_getres, Full, time::clock_getres, &[Dec, Hex]),
    sys(Sysno::clock_nanosleep, Full, time::clock_nanosleep, &[Dec, Hex, Hex, Hex]),
    sys(Sysno::exit_group, Full, process::exit_group, &[Dec]),
    sys(Sysno::tgkill, Full, signal::tgkill, &[Dec, Dec, Signal]),
    sys(Sysno::rt_tgsigqueueinfo, Partial(QUEUE_NOTE), signal::rt_tgsigqueueinfo, &[Dec, Dec, Signal, Hex]),
    sys(Sysno::openat, Partial(OPEN_NOTE), file::openat, &[Fd, Path, Hex, Oct]),
    sys(Sysno::openat2, Partial(OPENAT2_NOTE), sys_openat2::openat2, &[Fd, Path, Hex, Dec]),
    sys(Sysno::mkdirat, Partial(TMPFS_ONLY), tree::mkdirat, &[Fd, Path, Oct]),
    sys(Sysno::fchownat, Partial(TMPFS_ONLY), tree::fchownat, &[Fd, Path, Dec, Dec, Hex]),
    sys(Sysno::newfstatat, Partial(STDIO_ONLY), file::newfstatat, &[Fd, Path, Hex, Hex]),
    sys(Sysno::unlinkat, Partial(TMPFS_ONLY), tree::unlinkat, &[Fd, Path, Hex]),
    sys(Sysno::renameat, Partial(TMPFS_RENAME), tree::renameat, &[Fd, Path, Fd, Path]),
    sys(Sysno::linkat, Partial(TMPFS_LINK), tree::linkat, &[Fd, Path, Fd, Path, Hex]),
    sys(Sysno::symlinkat, Partial(TMPFS_ONLY), tree::symlinkat, &[Path, Fd, Path]),
    sys(Sysno::readlinkat, Partial(STDIO_ONLY), file::readlinkat, &[Fd, Path, Hex, Dec]),
    sys(Sysno::fchmodat, Partial(TMPFS_ONLY), tree::fchmodat, &[Fd, Path, Oct]),
    sys(Sysno::faccessat, Partial(STDIO_ONLY), file::faccessat, &[Fd, Path, Oct]),
    sys(Sysno::set_robust_list, Full, process::set_robust_list, &[Hex, Dec]),
    sys(
        Sysno::get_robust_list,
        Partial("of the caller's own process, or any with CAP_SYS_PTRACE (another process of the same user: EPERM)"),
        process::get_robust_list,
        &[Dec, Hex, Hex],
    ),
    sys(Sysno::utimensat, Partial(TMPFS_ONLY), tree::utimensat, &[Fd, Path, Hex, Hex]),
    sys(Sysno::utime, Partial(TMPFS_ONLY), tree::utime, &[Path, Hex]),
    sys(Sysno::utimes, Partial(TMPFS_ONLY), tree::utimes, &[Path, Hex]),
    sys(Sysno::sync, Partial(SYNC_ALL_NOTE), file::sync, &[]),
    sys(Sysno::syncfs, Partial(SYNC_ALL_NOTE), file::syncfs, &[Fd]),
    sys(Sysno::dup3, Full, file::dup3, &[Fd, Fd, Hex]),
    sys(Sysno::pipe2, Partial("no O_DIRECT packet mode; no F_SETPIPE_SZ yet"), file::pipe2, &[Hex, Hex]),
    sys(
        Sysno::prlimit64,
        Partial("limits are recorded; enforcement comes with the subsystems they govern"),
        process::prlimit64,
        &[Dec, Dec, Hex, Hex],
    ),
    sys(Sysno::renameat2, Partial(TMPFS_RENAME), tree::renameat2, &[Fd, Path, Fd, Path, Hex]),
    sys(Sysno::getrandom, Full, misc::getrandom, &[Hex, Dec, Hex]),
    sys(
        Sysno::statx,
        Partial("basic stats (STATX_BASIC_STATS); no birth time, mount id or attributes; sync flags are ignored"),
        file::statx,
        &[Fd, Path, Hex, Hex, Hex],
    ),
    sys(
        Sysno::waitid,
        Partial("rusage has the CPU times only; its counters are zero"),
        thread::waitid,
        &[Dec, Dec, Hex, Hex, Hex],
    ),
    sys(Sysno::clone3, Partial(PROCESSES_ONLY), thread::clone3, &[Hex, Dec]),
    todo(Sysno::rseq, "glibc falls back without it"),
    sys(Sysno::close_range, Full, file::close_range, &[Fd, Fd, Hex]),
    sys(Sysno::sendfile, Partial(COPY_NOTE), file::sendfile, &[Fd, Fd, Hex, Dec]),
    sys(Sysno::copy_file_range, Partial(COPY_NOTE), file::copy_file_range, &[Fd, Hex, Fd, Hex, Dec, Hex]),
    sys(Sysno::fadvise64, Full, file::fadvise64, &[Fd, Dec, Dec, Dec]),
    sys(Sysno::splice, Partial(SPLICE_NOTE), splice::splice, &[Fd, Hex, Fd, Hex, Dec, Hex]),
    sys(Sysno::tee, Partial(SPLICE_NOTE), splice::tee, &[Fd, Fd, Dec, Hex]),
    sys(Sysno::vmsplice, Partial(SPLICE_NOTE), splice::vmsplice, &[Fd, Hex, Dec, Hex]),
    sys(Sysno::readahead, Full, file::readahead, &[Fd, Dec, Dec]),
    sys(Sysno::sync_file_range, Partial(SYNC_NOTE), file::sync_file_range, &[Fd, Dec, Dec, Hex]),
    sys(Sysno::mincore, Full, mmap::mincore, &[Hex, Dec, Hex]),
    sys(Sysno::prctl, Partial("names, pdeathsig (recorded, not yet sent), dumpable, keepcaps, the capability bounding and ambient sets; subreaper and no_new_privs EINVAL"), process::prctl, &[Dec, Hex, Hex, Hex, Hex]),
    sys(Sysno::sched_getaffinity, Full, process::sched_getaffinity, &[Dec, Dec, Hex]),
    sys(
        Sysno::getcpu,
        Partial("the host CPU the thread runs on, which may lie outside the CPUs sched_getaffinity numbers when the sandbox is pinned to a subset"),
        process::getcpu,
        &[Hex, Hex, Hex],
    ),
    sys(
        Sysno::sched_setaffinity,
        Partial("recorded per thread (up to 64 CPUs), read back and inherited, another process only if it has the caller's effective uid or with CAP_SYS_NICE (EPERM); the host places the sentry's threads"),
        process::sched_setaffinity,
        &[Dec, Dec, Hex],
    ),
    sys(Sysno::faccessat2, Partial(STDIO_ONLY), file::faccessat2, &[Fd, Path, Oct, Hex]),
    sys(Sysno::poll, Partial(POLL_NOTE), super::sys_poll::poll, &[Hex, Dec, Dec]),
    sys(Sysno::select, Partial(POLL_NOTE), super::sys_poll::select, &[Dec, Hex, Hex, Hex, Hex]),
    sys(Sysno::ppoll, Partial(POLL_NOTE), super::sys_poll::ppoll, &[Hex, Dec, Hex, Hex, Dec]),
    sys(Sysno::pselect6, Partial(POLL_NOTE), super::sys_poll::pselect6, &[Dec, Hex, Hex, Hex, Hex, Hex]),
    sys(Sysno::epoll_create, Full, super::sys_poll::epoll_create, &[Dec]),
    sys(Sysno::epoll_create1, Full, super::sys_poll::epoll_create1, &[Hex]),
    sys(Sysno::epoll_ctl, Partial(EPOLL_NOTE), super::sys_poll::epoll_ctl, &[Fd, Dec, Fd, Hex]),
    sys(Sysno::epoll_wait, Partial(EPOLL_NOTE), super::sys_poll::epoll_wait, &[Fd, Hex, Dec, Dec]),
    sys(Sysno::epoll_pwait, Partial(EPOLL_NOTE), super::sys_poll::epoll_pwait, &[Fd, Hex, Dec, Dec, Hex, Dec]),
    sys(Sysno::epoll_pwait2, Partial(EPOLL_NOTE), super::sys_poll::epoll_pwait2, &[Fd, Hex, Dec, Hex, Hex, Dec]),
    sys(Sysno::chroot, Partial(CHROOT_NOTE), file::chroot, &[Path]),
    sys(Sysno::mount, Partial(MOUNT_NOTE), super::sys_mount::mount, &[Path, Path, Path, Hex, Hex]),
    sys(Sysno::umount2, Partial(UMOUNT_NOTE), super::sys_mount::umount2, &[Path, Hex]),
    sys(Sysno::pivot_root, Partial(PIVOT_ROOT_NOTE), super::sys_mount::pivot_root, &[Path, Path]),
    sys(Sysno::inotify_init, Partial(INOTIFY_NOTE), super::sys_inotify::inotify_init, &[]),
    sys(Sysno::inotify_init1, Partial(INOTIFY_NOTE), super::sys_inotify::inotify_init1, &[Hex]),
    sys(Sysno::inotify_add_watch, Partial(INOTIFY_NOTE), super::sys_inotify::inotify_add_watch, &[Fd, Path, Hex]),
    sys(Sysno::inotify_rm_watch, Full, super::sys_inotify::inotify_rm_watch, &[Fd, Dec]),
    sys(Sysno::eventfd, Full, fds::eventfd, &[Dec]),
    sys(Sysno::eventfd2, Full, fds::eventfd2, &[Dec, Hex]),
    sys(Sysno::timerfd_create, Partial(TIMERFD_NOTE), fds::timerfd_create, &[Dec, Hex]),
    sys(Sysno::timerfd_settime, Partial(TIMERFD_NOTE), fds::timerfd_settime, &[Fd, Hex, Hex, Hex]),
    sys(Sysno::timerfd_gettime, Full, fds::timerfd_gettime, &[Fd, Hex]),
    sys(Sysno::signalfd, Partial(SIGNALFD_NOTE), fds::signalfd, &[Fd, Hex, Dec]),
    sys(Sysno::signalfd4, Partial(SIGNALFD_NOTE), fds::signalfd4, &[Fd, Hex, Dec, Hex]),
    sys(Sysno::memfd_create, Partial(MEMFD_NOTE), fds::memfd_create, &[Path, Hex]),
    sys(Sysno::preadv, Full, file::preadv, &[Fd, Hex, Dec, Dec]),
    sys(Sysno::pwritev, Partial("tmpfs files; ESPIPE on pipes, sockets and host stdio"), file::pwritev, &[Fd, Hex, Dec, Dec]),
    sys(Sysno::preadv2, Partial(RWF_NOTE), file::preadv2, &[Fd, Hex, Dec, Dec, Dec, Hex]),
    sys(Sysno::pwritev2, Partial(RWF_NOTE), file::pwritev2, &[Fd, Hex, Dec, Dec, Dec, Hex]),
    sys(Sysno::socket, Partial(SOCKET_NOTE), super::sys_socket::socket, &[Dec, Hex, Dec]),
    sys(Sysno::socketpair, Partial(SOCKETPAIR_NOTE), super::sys_socket::socketpair, &[Dec, Hex, Dec, Hex]),
    sys(Sysno::bind, Partial(SOCKET_NOTE), super::sys_socket::bind, &[Fd, Hex, Dec]),
    sys(Sysno::listen, Partial(SOCKET_NOTE), super::sys_socket::listen, &[Fd, Dec]),
    sys(Sysno::accept, Partial(SOCKET_NOTE), super::sys_socket::accept, &[Fd, Hex, Hex]),
    sys(Sysno::accept4, Partial(SOCKET_NOTE), super::sys_socket::accept4, &[Fd, Hex, Hex, Hex]),
    sys(Sysno::connect, Partial(SOCKET_NOTE), super::sys_socket::connect, &[Fd, Hex, Dec]),
    sys(Sysno::getsockname, Partial(SOCKET_NOTE), super::sys_socket::getsockname, &[Fd, Hex, Hex]),
    sys(Sysno::getpeername, Partial(SOCKET_NOTE), super::sys_socket::getpeername, &[Fd, Hex, Hex]),
    sys(Sysno::shutdown, Partial(SOCKET_NOTE), super::sys_socket::shutdown, &[Fd, Dec]),
    sys(Sysno::sendto, Partial(MSG_NOTE), super::sys_socket::sendto, &[Fd, InBuf(2), Dec, Hex, Hex, Dec]),
    sys(Sysno::recvfrom, Partial(MSG_NOTE), super::sys_socket::recvfrom, &[Fd, OutBuf, Dec, Hex, Hex, Hex]),
    sys(Sysno::sendmsg, Partial(MSG_NOTE), super::sys_socket::sendmsg, &[Fd, Hex, Hex]),
    sys(Sysno::recvmsg, Partial(MSG_NOTE), super::sys_socket::recvmsg, &[Fd, Hex, Hex]),
    sys(Sysno::sendmmsg, Partial(MMSG_NOTE), super::sys_socket::sendmmsg, &[Fd, Hex, Dec, Hex]),
    sys(Sysno::recvmmsg, Partial(MMSG_NOTE), super::sys_socket::recvmmsg, &[Fd, Hex, Dec, Hex, Hex]),
    sys(Sysno::getsockopt, Partial(SOCKOPT_NOTE), super::sys_sockopt::getsockopt, &[Fd, Dec, Dec, Hex, Hex]),
    sys(Sysno::setsockopt, Partial(SOCKOPT_NOTE), super::sys_sockopt::setsockopt, &[Fd, Dec, Dec, Hex, Dec]),
];
