//! Terminal ioctls and job control on terminals (Linux `tty_ioctl`,
//! `tty_jobctrl.c`; gVisor: `kernel/tty.go`, `fsimpl/host/tty.go`).
//!
//! The settings go to the terminal's device (the host's terminal or a
//! sentry pty); the session and foreground-group ioctls, and the
//! background checks that raise SIGTTIN and SIGTTOU, work on the sentry's
//! own job-control state (`fs/tty.rs`).

use crate::fs::tty::{JobState, Terminal, TtyRef};
use crate::kernel::signal::SigInfo;
use crate::kernel::Task;
use crate::vfs::FileDescription;
use abi::signal::{SIGTTIN, SIGTTOU, SIGWINCH, SIG_IGN};
use abi::{ioctl as io, termios as tc, Errno, Termios, Winsize};
use zerocopy::IntoBytes;

/// The caller's process group if `term` is its controlling terminal and
/// the group is not the terminal's foreground group.
fn background(task: &Task, term: &Terminal) -> Option<i32> {
    let procs = task.kernel.procs();
    let me = procs.get(task.pid)?;
    if !me.tty.as_ref().is_some_and(|t| t.same(term)) {
        return None;
    }
    let fg = term.job.get().pgrp?;
    (me.pgid != fg).then_some(me.pgid)
}

/// Linux's `__tty_check_change`: a process of a background group that
/// reads its controlling terminal (SIGTTIN) or changes it (SIGTTOU) has
/// its group signalled and the call restarted once the group continues;
/// EIO if the signal is ignored (reads only) or the group orphaned.
pub fn check_change(task: &Task, term: &Terminal, sig: i32) -> Result<(), Errno> {
    let Some(pgid) = background(task, term) else { return Ok(()) };
    if task.mask.contains(sig) || task.actions.get(sig).handler == SIG_IGN {
        return if sig == SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
    }
    let targets = {
        let procs = task.kernel.procs();
        if procs.pgrp_orphaned(pgid) {
            return Err(Errno::EIO);
        }
        procs.kill_targets(task.pid, -pgid).unwrap_or_default()
    };
    for (pid, handle) in targets {
        crate::kernel::jobctl::on_send(&task.kernel, pid, sig);
        if pid == task.pid {
            task.signal_self(SigInfo::kernel(sig));
        } else {
            handle.send_signal_info(SigInfo::kernel(sig));
        }
    }
    Err(Errno::ERESTARTSYS)
}

/// Before a read of a terminal's slave side.
pub fn before_read(task: &Task, file: &dyn FileDescription) -> Result<(), Errno> {
    match file.as_tty() {
        Some(t) if !t.master => check_change(task, t.term, SIGTTIN),
        _ => Ok(()),
    }
}

/// Before a write to a terminal's slave side: with TOSTOP set, a
/// background group is stopped by SIGTTOU.
pub fn before_write(task: &Task, file: &dyn FileDescription) -> Result<(), Errno> {
    match file.as_tty() {
        Some(t) if !t.master && background(task, t.term).is_some() => {
            if t.term.driver.termios()?.c_lflag & tc::TOSTOP != 0 {
                check_change(task, t.term, SIGTTOU)
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

fn out<T: IntoBytes + zerocopy::Immutable>(task: &Task, addr: u64, v: &T) -> Result<u64, Errno> {
    task.mm.copy_out(addr, v.as_bytes()).map(|_| 0)
}

/// The terminal ioctls on a terminal (`tty`); None for commands
/// that are not terminal ioctls, which the file answers itself.
pub fn ioctl(task: &Task, tty: TtyRef<'_>, cmd: u64, arg: u64) -> Option<Result<u64, Errno>> {
    let term = tty.term;
    let r = match cmd {
        io::TCGETS => term.driver.termios().and_then(|t| out(task, arg, &t)),
        io::TCSETS | io::TCSETSW | io::TCSETSF => (|| {
            if !tty.master {
                check_change(task, term, SIGTTOU)?;
            }
            let t: Termios = task.mm.read_obj(arg)?;
            term.driver.set_termios(cmd, &t).map(|_| 0)
        })(),
        io::TIOCGWINSZ => term.driver.winsize().and_then(|w| out(task, arg, &w)),
        io::TIOCSWINSZ => (|| {
            let w: Winsize = task.mm.read_obj(arg)?;
            if term.driver.set_winsize(&w)? {
                term.job.signal_foreground(SIGWINCH);
            }
            Ok(0)
        })(),
        io::FIONREAD if !tty.master => term.driver.queued(false).and_then(|n| out(task, arg, &(n as i32))),
        io::TIOCOUTQ if !tty.master => term.driver.queued(true).and_then(|n| out(task, arg, &(n as i32))),
        io::TCFLSH if !tty.master => (|| {
            check_change(task, term, SIGTTOU)?;
            term.driver.flush(arg as u32).map(|_| 0)
        })(),
        // tcdrain and tcsendbreak: output is handed over synchronously
        // (to the host terminal, or to the pty's master queue), so there is
        // nothing to wait for; a break is meaningless on a pty.
        io::TCSBRK => check_change(task, term, SIGTTOU).map(|_| 0),
        // Pushing input into a terminal is a privilege moat grants no one.
        io::TIOCSTI => Err(Errno::EPERM),
        io::TIOCSCTTY => set_controlling(task, term, arg),
        io::TIOCNOTTY if !tty.master => drop_controlling(task, term),
        io::TIOCGPGRP => owns(task, term, tty.master).and_then(|()| out(task, arg, &term.job.get().pgrp.unwrap_or(0))),
        io::TIOCSPGRP => set_foreground(task, term, tty.master, arg),
        // A pty's master: the pair itself.
        io::TIOCSPTLCK if tty.pty.is_some() => task.mm.read_obj::<i32>(arg).map(|on| {
            tty.pty.expect("guarded").set_locked(on != 0);
            0
        }),
        io::TIOCGPTPEER if tty.pty.is_some() => {
            let pty = tty.pty.expect("guarded");
            let allowed = abi::fcntl::O_ACCMODE | abi::fcntl::O_NOCTTY | abi::fcntl::O_NONBLOCK | abi::fcntl::O_CLOEXEC;
            if arg & !allowed != 0 {
                return Some(Err(Errno::EINVAL));
            }
            pty.open_slave(arg & !abi::fcntl::O_CLOEXEC)
                .and_then(|f| task.fds.insert(0, f, arg & abi::fcntl::O_CLOEXEC != 0).map(|fd| fd as u64))
        }
        io::TIOCSIG if tty.master => {
            let sig = arg as i32;
            if !(1..=abi::signal::NSIG).contains(&sig) {
                return Some(Err(Errno::EINVAL));
            }
            term.job.signal_foreground(sig);
            Ok(0)
        }
        io::TIOCGSID => owns(task, term, tty.master)
            .and_then(|()| term.job.get().sid.ok_or(Errno::ENOTTY))
            .and_then(|sid| out(task, arg, &sid)),
        _ => return None,
    };
    Some(r)
}

/// ENOTTY unless `term` is the caller's controlling terminal (a pty's
/// master may always ask).
fn owns(task: &Task, term: &Terminal, master: bool) -> Result<(), Errno> {
    if master {
        return Ok(());
    }
    let procs = task.kernel.procs();
    match procs.get(task.pid).and_then(|p| p.tty.as_ref()) {
        Some(t) if t.same(term) => Ok(()),
        _ => Err(Errno::ENOTTY),
    }
}

/// TIOCSCTTY (Linux `tiocsctty`).
fn set_controlling(task: &Task, term: &Terminal, steal: u64) -> Result<u64, Errno> {
    let mut procs = task.kernel.procs();
    let me = procs.get(task.pid).ok_or(Errno::ESRCH)?;
    let (sid, pgid) = (me.sid, me.pgid);
    if let Some(t) = &me.tty {
        return if t.same(term) { Ok(0) } else { Err(Errno::EPERM) };
    }
    if sid != task.pid {
        return Err(Errno::EPERM);
    }
    if let Some(owner) = term.job.get().sid {
        // Stealing a terminal from another session takes CAP_SYS_ADMIN
        // and `arg` 1; its old session loses it.
        if steal != 1 || !task.creds.capable(crate::kernel::caps::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        for pid in procs.all().filter(|(_, p)| p.sid == owner).map(|(pid, _)| pid).collect::<Vec<_>>() {
            if let Some(p) = procs.get_mut(pid) {
                p.tty = None;
            }
        }
    }
    term.job.set(JobState { sid: Some(sid), pgrp: Some(pgid) });
    procs.get_mut(task.pid).ok_or(Errno::ESRCH)?.tty = Some(term.clone());
    Ok(0)
}

/// TIOCNOTTY (Linux `tiocnotty` → `disassociate_ctty`): a session leader
/// gives the terminal up for its whole session, whose foreground group
/// gets SIGHUP and SIGCONT; anyone else just drops it.
fn drop_controlling(task: &Task, term: &Terminal) -> Result<u64, Errno> {
    let mut procs = task.kernel.procs();
    let me = procs.get(task.pid).ok_or(Errno::ESRCH)?;
    if !me.tty.as_ref().is_some_and(|t| t.same(term)) {
        return Err(Errno::ENOTTY);
    }
    let sid = me.sid;
    if sid != task.pid {
        procs.get_mut(task.pid).ok_or(Errno::ESRCH)?.tty = None;
        return Ok(0);
    }
    for pid in procs.all().filter(|(_, p)| p.sid == sid).map(|(pid, _)| pid).collect::<Vec<_>>() {
        if let Some(p) = procs.get_mut(pid) {
            p.tty = None;
        }
    }
    let fg = term.job.get().pgrp;
    term.job.set(JobState::default());
    drop(procs);
    if let Some(fg) = fg {
        task.kernel.signal_pgrp(fg, abi::signal::SIGHUP);
        task.kernel.signal_pgrp(fg, abi::signal::SIGCONT);
    }
    Ok(0)
}

/// TIOCSPGRP (Linux `tiocspgrp`).
fn set_foreground(task: &Task, term: &Terminal, master: bool, arg: u64) -> Result<u64, Errno> {
    owns(task, term, master)?;
    if !master {
        check_change(task, term, SIGTTOU)?;
    }
    let pgrp: i32 = task.mm.read_obj(arg)?;
    if pgrp < 0 {
        return Err(Errno::EINVAL);
    }
    let procs = task.kernel.procs();
    let job = term.job.get();
    let Some(sid) = job.sid else { return Err(Errno::ENOTTY) };
    let mut members = procs.live().filter(|(_, p)| p.pgid == pgrp).peekable();
    match members.peek() {
        None => return Err(Errno::ESRCH),
        Some((_, p)) if p.sid != sid => return Err(Errno::EPERM),
        Some(_) => {}
    }
    term.job.set(JobState { sid: Some(sid), pgrp: Some(pgrp) });
    Ok(0)
}
