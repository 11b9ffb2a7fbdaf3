//! Readiness syscalls: poll, ppoll, select, pselect6 and the epoll family
//! (gVisor: `sys_poll.go`, `sys_epoll.go`; Linux `fs/select.c`,
//! `fs/eventpoll.c`). Each asks the files' `readiness` and, when nothing
//! is ready, sleeps in `Task::wait_ready` on their queues.
//!
//! An interrupted poll, ppoll, select or pselect6 returns ERESTARTNOHAND
//! (Linux restarts poll with a restart block; here it restarts with its
//! whole timeout); select, pselect6 and ppoll write the time left back
//! first, as Linux does, so a restart goes on with what is left. epoll
//! waits end with EINTR, never restarted.

use crate::fs::epoll::EpollFile;
use crate::kernel::waiter::Readiness;
use crate::kernel::Task;
use crate::vfs::FileDescription;
use abi::poll::*;
use abi::signal::SigSet;
use abi::{rlimit, Errno, Timespec, Timeval};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fd_arg(a: u64) -> i64 {
    a as i32 as i64
}

/// A deadline `d` from now; `None` (no deadline) if it overflows.
fn deadline_in(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

/// The time left until `deadline` (zero once passed).
fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn timespec_arg(task: &Task, addr: u64) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let t: Timespec = task.mm.read_obj(addr)?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32)))
}

/// Installs the temporary mask of ppoll/pselect6/epoll_pwait; returns the
/// mask to restore.
fn swap_mask(task: &mut Task, addr: u64, size: u64) -> Result<Option<SigSet>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let set = SigSet(task.mm.read_obj::<u64>(addr)?);
    let old = task.mask;
    task.mask = set.blockable();
    Ok(Some(old))
}

/// Restores the mask `swap_mask` replaced, unless the call was
/// interrupted (`interrupted`): then the signal is delivered under the
/// temporary mask and the old one comes back after its handler, as for
/// rt_sigsuspend (Linux `restore_saved_sigmask_unless`).
fn restore_mask<T>(task: &mut Task, old: Option<SigSet>, result: &Result<T, Errno>, interrupted: Errno) {
    let Some(old) = old else { return };
    if matches!(result, Err(e) if *e == interrupted) {
        task.sigstate.saved_mask = Some(old);
    } else {
        task.mask = old;
    }
}

// poll and ppoll.

/// `struct pollfd` is 8 bytes: int fd, short events, short revents.
const POLLFD_SIZE: usize = 8;

/// One `struct pollfd` read in: fd, events, and the description if open.
type Wanted = (i32, u32, Option<Arc<dyn FileDescription>>);

fn do_poll(task: &Task, addr: u64, nfds: u64, deadline: Option<Instant>) -> Result<u64, Errno> {
    if nfds > task.rlimits[rlimit::RLIMIT_NOFILE as usize].cur {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * POLLFD_SIZE];
    task.mm.copy_in(addr, &mut raw)?;
    let wanted: Vec<Wanted> = raw
        .chunks(POLLFD_SIZE)
        .map(|c| {
            let fd = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let events = u32::from(u16::from_le_bytes([c[4], c[5]]));
            let file = if fd < 0 { None } else { task.fds.get(i64::from(fd)).ok() };
            (fd, events, file)
        })
        .collect();
    let revents = || -> Vec<u32> {
        wanted
            .iter()
            .map(|(fd, events, file)| match file {
                _ if *fd < 0 => 0,
                None => POLLNVAL,
                Some(f) => f.readiness(*events) & (events | POLLERR | POLLHUP),
            })
            .collect()
    };
    let files: Vec<_> = wanted.iter().filter_map(|w| w.2.clone()).collect();
    let got = match task.wait_ready(&files, deadline, || Some(revents()).filter(|r| r.iter().any(|&e| e != 0))) {
        Readiness::Ready(r) => r,
        Readiness::TimedOut => revents(),
        Readiness::Interrupted => return Err(Errno::ERESTARTNOHAND),
    };
    for (c, r) in raw.chunks_mut(POLLFD_SIZE).zip(&got) {
        c[6..8].copy_from_slice(&(*r as u16).to_le_bytes());
    }
    task.mm.copy_out(addr, &raw)?;
    Ok(got.iter().filter(|&&r| r != 0).count() as u64)
}

pub fn poll(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let ms = a[2] as i32;
    let deadline = if ms < 0 { None } else { deadline_in(Duration::from_millis(ms as u64)) };
    do_poll(task, a[0], a[1], deadline)
}

pub fn ppoll(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let timeout = timespec_arg(task, a[2])?;
    let deadline = timeout.and_then(deadline_in);
    let old = swap_mask(task, a[3], a[4])?;
    let result = do_poll(task, a[0], a[1], deadline);
    restore_mask(task, old, &result, Errno::ERESTARTNOHAND);
    if let (Some(t), Some(d)) = (timeout, deadline) {
        if !t.is_zero() {
            write_timespec(task, a[2], left(d))?;
        }
    }
    result
}

fn write_timespec(task: &Task, addr: u64, d: Duration) -> Result<(), Errno> {
    let t = Timespec { tv_sec: d.as_secs() as i64, tv_nsec: i64::from(d.subsec_nanos()) };
    task.mm.write_obj(addr, &t)
}

// select and pselect6.

/// What select counts as readable, writable and exceptional (Linux
/// `POLLIN_SET`, `POLLOUT_SET`, `POLLEX_SET`).
const IN_SET: u32 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const OUT_SET: u32 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const EX_SET: u32 = POLLPRI;

/// An fd_set of `n` bits at `addr` (zero when the pointer is null).
fn read_fd_set(task: &Task, addr: u64, n: usize) -> Result<Vec<u64>, Errno> {
    let mut words = vec![0u64; n.div_ceil(64)];
    if addr != 0 {
        let mut raw = vec![0u8; words.len() * 8];
        task.mm.copy_in(addr, &mut raw)?;
        for (w, c) in words.iter_mut().zip(raw.chunks(8)) {
            *w = u64::from_le_bytes(c.try_into().expect("8-byte chunk"));
        }
        // Bits at and past n are not looked at.
        if !n.is_multiple_of(64) {
            *words.last_mut().expect("n > 0") &= (1u64 << (n % 64)) - 1;
        }
    }
    Ok(words)
}

fn write_fd_set(task: &Task, addr: u64, words: &[u64]) -> Result<(), Errno> {
    if addr == 0 {
        return Ok(());
    }
    let raw: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    task.mm.copy_out(addr, &raw)
}

/// Linux `core_sys_select`: the sets at `sets` (in, out, ex), `n` bits.
fn do_select(task: &Task, n: u64, sets: [u64; 3], deadline: Option<Instant>) -> Result<u64, Errno> {
    if (n as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (n as i32 as usize).min(crate::vfs::MAX_FDS);
    let wanted = [read_fd_set(task, sets[0], n)?, read_fd_set(task, sets[1], n)?, read_fd_set(task, sets[2], n)?];
    let mut files: Vec<(usize, Arc<dyn FileDescription>)> = Vec::new();
    for fd in 0..n {
        let (w, bit) = (fd / 64, 1u64 << (fd % 64));
        if wanted.iter().any(|s| s[w] & bit != 0) {
            files.push((fd, task.fds.get(fd as i64)?));
        }
    }
    let results = || {
        let mut out = [vec![0u64; n.div_ceil(64)], vec![0u64; n.div_ceil(64)], vec![0u64; n.div_ceil(64)]];
        let mut count = 0u64;
        for (fd, f) in &files {
            let (w, bit) = (fd / 64, 1u64 << (fd % 64));
            let ready = f.readiness(IN_SET | OUT_SET | EX_SET);
            for (i, class) in [IN_SET, OUT_SET, EX_SET].into_iter().enumerate() {
                if wanted[i][w] & bit != 0 && ready & class != 0 {
                    out[i][w] |= bit;
                    count += 1;
                }
            }
        }
        (count, out)
    };
    let just_files: Vec<_> = files.iter().map(|(_, f)| f.clone()).collect();
    let (count, out) = match task.wait_ready(&just_files, deadline, || Some(results()).filter(|r| r.0 > 0)) {
        Readiness::Ready(r) => r,
        Readiness::TimedOut => results(),
        Readiness::Interrupted => return Err(Errno::ERESTARTNOHAND),
    };
    for (addr, set) in sets.iter().zip(&out) {
        write_fd_set(task, *addr, set)?;
    }
    Ok(count)
}

pub fn select(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let timeout = if a[4] == 0 {
        None
    } else {
        let tv: Timeval = task.mm.read_obj(a[4])?;
        let (sec, usec) = (tv.tv_sec.checked_add(tv.tv_usec / 1_000_000), tv.tv_usec % 1_000_000);
        match sec {
            Some(s) if s >= 0 && usec >= 0 => Some(Duration::new(s as u64, usec as u32 * 1000)),
            _ => return Err(Errno::EINVAL),
        }
    };
    let deadline = timeout.and_then(deadline_in);
    let result = do_select(task, a[0], [a[1], a[2], a[3]], deadline);
    if let (Some(t), Some(d)) = (timeout, deadline) {
        if !t.is_zero() {
            let d = left(d);
            let tv = Timeval { tv_sec: d.as_secs() as i64, tv_usec: i64::from(d.subsec_micros()) };
            task.mm.write_obj(a[4], &tv)?;
        }
    }
    result
}

pub fn pselect6(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let timeout = timespec_arg(task, a[4])?;
    let deadline = timeout.and_then(deadline_in);
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let (ss, len) = if a[5] == 0 { (0, 0) } else { task.mm.read_obj::<[u64; 2]>(a[5]).map(|v| (v[0], v[1]))? };
    let old = swap_mask(task, ss, len)?;
    let result = do_select(task, a[0], [a[1], a[2], a[3]], deadline);
    restore_mask(task, old, &result, Errno::ERESTARTNOHAND);
    if let (Some(t), Some(d)) = (timeout, deadline) {
        if !t.is_zero() {
            write_timespec(task, a[4], left(d))?;
        }
    }
    result
}

// epoll.

/// `struct epoll_event` is packed on x86-64: u32 events, u64 data.
const EVENT_SIZE: usize = 12;

fn new_epoll(task: &Task, cloexec: bool) -> Result<u64, Errno> {
    task.fds.insert(0, Arc::new(EpollFile::default()), cloexec).map(|fd| fd as u64)
}

pub fn epoll_create(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    new_epoll(task, false)
}

pub fn epoll_create1(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    new_epoll(task, a[0] & EPOLL_CLOEXEC != 0)
}

pub fn epoll_ctl(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (op, fd) = (a[1], fd_arg(a[2]));
    let (events, data) = if op == EPOLL_CTL_DEL {
        (0, 0)
    } else {
        let mut raw = [0u8; EVENT_SIZE];
        task.mm.copy_in(a[3], &mut raw)?;
        (u32::from_le_bytes(raw[..4].try_into().unwrap()), u64::from_le_bytes(raw[4..].try_into().unwrap()))
    };
    let ep = task.fds.get(fd_arg(a[0]))?;
    let target = task.fds.get(fd)?;
    // Linux checks the target's pollability before the instance's kind.
    if !target.pollable() {
        return Err(Errno::EPERM);
    }
    let ep = ep.as_epoll().ok_or(Errno::EINVAL)?;
    ep.ctl(op, fd, &target, events, data).map(|()| 0)
}

/// `epoll_wait`'s core: up to `max` events at `addr`, waiting until
/// `deadline`.
fn do_epoll_wait(task: &Task, epfd: i64, addr: u64, max: u64, deadline: Option<Instant>) -> Result<u64, Errno> {
    let max = max as i32;
    if max <= 0 || max as usize > i32::MAX as usize / EVENT_SIZE {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(epfd)?;
    let ep = file.as_epoll().ok_or(Errno::EINVAL)?;
    let events = match task
        .wait_ready(std::slice::from_ref(&file), deadline, || Some(ep.collect(max as usize)).filter(|v| !v.is_empty()))
    {
        Readiness::Ready(v) => v,
        Readiness::TimedOut => return Ok(0),
        Readiness::Interrupted => return Err(Errno::EINTR),
    };
    let raw: Vec<u8> = events.iter().flat_map(|(e, d)| e.to_le_bytes().into_iter().chain(d.to_le_bytes())).collect();
    task.mm.copy_out(addr, &raw)?;
    Ok(events.len() as u64)
}

fn ms_deadline(ms: u64) -> Option<Instant> {
    let ms = ms as i32;
    if ms < 0 {
        None
    } else {
        deadline_in(Duration::from_millis(ms as u64))
    }
}

pub fn epoll_wait(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_epoll_wait(task, fd_arg(a[0]), a[1], a[2], ms_deadline(a[3]))
}

pub fn epoll_pwait(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = swap_mask(task, a[4], a[5])?;
    let result = do_epoll_wait(task, fd_arg(a[0]), a[1], a[2], ms_deadline(a[3]));
    restore_mask(task, old, &result, Errno::EINTR);
    result
}

pub fn epoll_pwait2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let deadline = timespec_arg(task, a[3])?.and_then(deadline_in);
    let old = swap_mask(task, a[4], a[5])?;
    let result = do_epoll_wait(task, fd_arg(a[0]), a[1], a[2], deadline);
    restore_mask(task, old, &result, Errno::EINTR);
    result
}
