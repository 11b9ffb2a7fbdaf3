//! devpts, mounted at `/dev/pts` (gVisor: `fsimpl/devpts`, Linux
//! `drivers/tty/pty.c` and `n_tty.c`): the sentry's own pseudo-terminals.
//! `ptmx` makes a pair; the master is the returned description, the slave
//! is `/dev/pts/N`, locked until `TIOCSPTLCK` 0 (unlockpt).
//!
//! The line discipline is the sentry's ([`Pty`]): what the master writes
//! is input processing (ICRNL, INLCR, IGNCR), signal characters (ISIG:
//! INTR, QUIT, SUSP to the foreground group, flushing unless NOFLSH),
//! canonical editing (ERASE, WERASE, KILL, EOF, EOL, completed lines) or raw bytes
//! (VMIN/VTIME), with echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL);
//! what the slave writes goes through output processing (OPOST: ONLCR,
//! OCRNL) to the master. The job-control state is `fs/tty.rs`'s `Job`.
//!
//! Lock order: a pty's state before nothing else: signals and hangups are
//! sent after it is released.

use super::synthetic::{self, check_open, Entry, S_IFCHR, S_IFDIR};
use super::tty::{Job, JobState, Terminal, TtyDriver, TtyFile, TtyRef};
use crate::kernel::waiter::WaitQueue;
use crate::kernel::Task;
use crate::vfs::mount::FileSystem;
use crate::vfs::{FileDescription, IoctlReply};
use abi::termios::*;
use abi::{fcntl, ioctl, poll as p, Errno, Stat, Statfs, Termios, Timespec, Winsize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// `DEVPTS_SUPER_MAGIC`.
const DEVPTS_MAGIC: i64 = 0x1cd1;
/// `st_dev` of devpts's nodes.
const DEV: u64 = 0x16;
/// Linux's `N_TTY_BUF_SIZE`: the input a line discipline holds.
const INPUT_MAX: usize = 4096;
/// What the slave may have written before the master reads.
const OUTPUT_MAX: usize = 65536;
/// The pty slaves' major number (`UNIX98_PTY_SLAVE_MAJOR`).
const SLAVE_MAJOR: u64 = 136;

/// Linux's initial termios for a pty slave (`tty_std_termios` with
/// `B38400 | CS8 | CREAD`).
fn initial_termios() -> Termios {
    Termios {
        c_iflag: ICRNL | IXON,
        c_oflag: OPOST | ONLCR,
        c_cflag: B38400 | CS8 | CREAD,
        c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        c_line: 0,
        c_cc: INIT_C_CC,
    }
}

struct State {
    termios: Termios,
    winsize: Winsize,
    /// The canonical line being edited.
    line: Vec<u8>,
    /// Completed lines (canonical mode; an EOF completes one without a
    /// character, an empty one reads as end of file).
    lines: VecDeque<Vec<u8>>,
    /// Readable bytes in raw mode.
    raw: VecDeque<u8>,
    /// The slave's output (and echoes) for the master.
    output: VecDeque<u8>,
    locked: bool,
    master_open: bool,
    /// Open slave descriptions, and whether there ever was one.
    slaves: usize,
    slave_opened: bool,
}

impl State {
    fn canonical(&self) -> bool {
        self.termios.c_lflag & ICANON != 0
    }

    fn input_len(&self) -> usize {
        self.line.len() + self.lines.iter().map(Vec::len).sum::<usize>() + self.raw.len()
    }

    fn readable(&self) -> usize {
        if self.canonical() {
            self.lines.front().map_or(0, |l| l.len().max(1))
        } else {
            self.raw.len()
        }
    }

    /// Output processing (OPOST) of bytes for the master.
    fn put_output(&mut self, data: &[u8]) {
        let o = self.termios.c_oflag;
        for &c in data {
            match c {
                b'\n' if o & OPOST != 0 && o & ONLCR != 0 => self.output.extend([b'\r', b'\n']),
                b'\r' if o & OPOST != 0 && o & OCRNL != 0 => self.output.push_back(b'\n'),
                c => self.output.push_back(c),
            }
        }
    }

    /// Echoes one input character (ECHOCTL spells control characters ^X).
    fn echo(&mut self, c: u8) {
        if self.termios.c_lflag & ECHOCTL != 0 && (c < 32 || c == 127) && c != b'\t' && c != b'\n' {
            self.put_output(&[b'^', c ^ 0x40]);
        } else {
            self.put_output(&[c]);
        }
    }

    /// Visually erases the last character of the line (ECHOE).
    fn erase_echo(&mut self, c: u8) {
        let width = if self.termios.c_lflag & ECHOCTL != 0 && (c < 32 || c == 127) && c != b'\t' { 2 } else { 1 };
        for _ in 0..width {
            self.put_output(b"\x08 \x08");
        }
    }

    /// Input processing of what the master writes; returns how many bytes
    /// were taken and the signals to send to the foreground group.
    fn receive(&mut self, data: &[u8], signals: &mut Vec<i32>) -> usize {
        let mut taken = 0;
        for &byte in data {
            if self.input_len() >= INPUT_MAX {
                break;
            }
            taken += 1;
            let t = self.termios;
            let (i, l, cc) = (t.c_iflag, t.c_lflag, t.c_cc);
            let mut c = byte;
            if c == b'\r' {
                if i & IGNCR != 0 {
                    continue;
                }
                if i & ICRNL != 0 {
                    c = b'\n';
                }
            } else if c == b'\n' && i & INLCR != 0 {
                c = b'\r';
            }
            let is = |v: usize| cc[v] != 0 && c == cc[v];
            if l & ISIG != 0 {
                let sig = if is(VINTR) {
                    Some(abi::signal::SIGINT)
                } else if is(VQUIT) {
                    Some(abi::signal::SIGQUIT)
                } else if is(VSUSP) {
                    Some(abi::signal::SIGTSTP)
                } else {
                    None
                };
                if let Some(sig) = sig {
                    if l & NOFLSH == 0 {
                        self.line.clear();
                        self.lines.clear();
                        self.raw.clear();
                        self.output.clear();
                    }
                    if l & ECHO != 0 {
                        self.echo(c);
                    }
                    signals.push(sig);
                    continue;
                }
            }
            if l & ICANON == 0 {
                self.raw.push_back(c);
                if l & ECHO != 0 {
                    self.echo(c);
                }
                continue;
            }
            if is(VERASE) {
                if let Some(gone) = self.line.pop() {
                    if l & ECHO != 0 {
                        if l & ECHOE != 0 {
                            self.erase_echo(gone);
                        } else {
                            self.echo(c);
                        }
                    }
                }
                continue;
            }
            if is(VWERASE) && l & IEXTEN != 0 {
                // The word before the cursor, and the blanks after it.
                let mut seen_word = false;
                while let Some(&last) = self.line.last() {
                    let blank = last == b' ' || last == b'\t';
                    if blank && seen_word {
                        break;
                    }
                    seen_word |= !blank;
                    self.line.pop();
                    if l & ECHO != 0 && l & ECHOE != 0 {
                        self.erase_echo(last);
                    }
                }
                continue;
            }
            if is(VKILL) {
                let gone = std::mem::take(&mut self.line);
                if l & ECHO != 0 {
                    if l & ECHOK != 0 && l & ECHOKE != 0 && l & ECHOE != 0 {
                        for g in gone.into_iter().rev() {
                            self.erase_echo(g);
                        }
                    } else {
                        self.echo(c);
                        if l & ECHOK != 0 {
                            self.put_output(b"\n");
                        }
                    }
                }
                continue;
            }
            if is(VEOF) {
                let line = std::mem::take(&mut self.line);
                self.lines.push_back(line);
                continue;
            }
            self.line.push(c);
            let newline = c == b'\n' || is(VEOL) || is(VEOL2);
            if l & ECHO != 0 || (c == b'\n' && l & ECHONL != 0) {
                self.echo(c);
            }
            if newline {
                let line = std::mem::take(&mut self.line);
                self.lines.push_back(line);
            }
        }
        taken
    }

    /// A switch between canonical and raw mode: what was typed stays
    /// readable in the new mode.
    fn remode(&mut self, was_canonical: bool) {
        if was_canonical && !self.canonical() {
            for l in self.lines.drain(..) {
                self.raw.extend(l);
            }
            self.raw.extend(self.line.drain(..));
        } else if !was_canonical && self.canonical() {
            self.line.extend(self.raw.drain(..));
        }
    }
}

/// One pseudo-terminal pair.
pub struct Pty {
    index: u32,
    state: Mutex<State>,
    /// Notified on any change, for both ends.
    queue: WaitQueue,
    job: Arc<Job>,
    /// The owner of the slave node (`uid`, `gid` of the opener of ptmx).
    owner: (u32, u32),
    /// When the pair was made, for the slave node's times.
    time: Timespec,
}

impl Pty {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slave_stat(&self) -> Stat {
        let mut st = synthetic::stat(
            DEV,
            u64::from(self.index) + 3,
            S_IFCHR | 0o620,
            synthetic::makedev(SLAVE_MAJOR, u64::from(self.index)),
            0,
            self.time,
        );
        (st.uid, st.gid) = self.owner;
        st
    }

    fn path(&self) -> String {
        format!("/dev/pts/{}", self.index)
    }

    /// The slave side as a terminal; `counted` if it is an open
    /// description of the slave (the master's own view is not).
    fn terminal(self: &Arc<Pty>, counted: bool) -> Terminal {
        if counted {
            let mut st = self.lock();
            st.slaves += 1;
            st.slave_opened = true;
        }
        Terminal { driver: Arc::new(Slave { pty: self.clone(), counted }), job: self.job.clone() }
    }

    fn signal(&self, signals: Vec<i32>) {
        for sig in signals {
            self.job.signal_foreground(sig);
        }
    }
}

/// The slave side's driver (one per open slave description).
struct Slave {
    pty: Arc<Pty>,
    counted: bool,
}

impl Drop for Slave {
    fn drop(&mut self) {
        if self.counted {
            self.pty.lock().slaves -= 1;
            self.pty.queue.notify();
        }
    }
}

impl TtyDriver for Slave {
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut st = self.pty.lock();
        if !st.master_open {
            return Ok(0);
        }
        let n = if st.canonical() {
            let Some(line) = st.lines.front_mut() else { return Err(Errno::EAGAIN) };
            let n = line.len().min(buf.len());
            buf[..n].copy_from_slice(&line[..n]);
            line.drain(..n);
            if line.is_empty() {
                st.lines.pop_front();
            }
            n
        } else {
            let (vmin, vtime) = (st.termios.c_cc[VMIN] as usize, st.termios.c_cc[VTIME]);
            let want = vmin.min(buf.len());
            // VMIN 0: whatever is there, even nothing (after VTIME, which
            // the syscall layer waits: `read_timeout`).
            if st.raw.is_empty() || st.raw.len() < want && vtime == 0 {
                return if vmin == 0 && vtime == 0 { Ok(0) } else { Err(Errno::EAGAIN) };
            }
            let n = st.raw.len().min(buf.len());
            for (b, c) in buf.iter_mut().zip(st.raw.drain(..n)) {
                *b = c;
            }
            n
        };
        drop(st);
        self.pty.queue.notify();
        Ok(n)
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut st = self.pty.lock();
        if !st.master_open {
            return Err(Errno::EIO);
        }
        let room = OUTPUT_MAX.saturating_sub(st.output.len());
        if room == 0 {
            return Err(Errno::EAGAIN);
        }
        // ONLCR may double a byte; the room is a soft limit.
        let n = data.len().min(room);
        st.put_output(&data[..n]);
        drop(st);
        self.pty.queue.notify();
        Ok(n)
    }

    fn readiness(&self, _mask: u32) -> u32 {
        let st = self.pty.lock();
        if !st.master_open {
            return p::POLLIN | p::POLLRDNORM | p::POLLOUT | p::POLLWRNORM | p::POLLERR | p::POLLHUP;
        }
        let mut r = 0;
        if st.readable() > 0 {
            r |= p::POLLIN | p::POLLRDNORM;
        }
        if st.output.len() < OUTPUT_MAX {
            r |= p::POLLOUT | p::POLLWRNORM;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.queue)
    }

    fn read_timeout(&self) -> Option<Duration> {
        let st = self.pty.lock();
        let (vmin, vtime) = (st.termios.c_cc[VMIN], st.termios.c_cc[VTIME]);
        (!st.canonical() && vmin == 0 && vtime > 0).then(|| Duration::from_millis(100 * u64::from(vtime)))
    }

    fn termios(&self) -> Result<Termios, Errno> {
        Ok(self.pty.lock().termios)
    }

    fn set_termios(&self, cmd: u64, t: &Termios) -> Result<(), Errno> {
        let mut st = self.pty.lock();
        let was = st.canonical();
        if cmd == ioctl::TCSETSF {
            st.line.clear();
            st.lines.clear();
            st.raw.clear();
        }
        st.termios = *t;
        st.remode(was);
        drop(st);
        self.pty.queue.notify();
        Ok(())
    }

    fn winsize(&self) -> Result<Winsize, Errno> {
        Ok(self.pty.lock().winsize)
    }

    fn set_winsize(&self, w: &Winsize) -> Result<bool, Errno> {
        let mut st = self.pty.lock();
        let changed = st.winsize != *w;
        st.winsize = *w;
        Ok(changed)
    }

    fn queued(&self, output: bool) -> Result<u32, Errno> {
        let st = self.pty.lock();
        Ok(if output { 0 } else { st.input_len() as u32 })
    }

    fn flush(&self, queue: u32) -> Result<(), Errno> {
        let mut st = self.pty.lock();
        match queue {
            0 | 2 => {
                st.line.clear();
                st.lines.clear();
                st.raw.clear();
                if queue == 2 {
                    st.output.clear();
                }
            }
            1 => st.output.clear(),
            _ => return Err(Errno::EINVAL),
        }
        drop(st);
        self.pty.queue.notify();
        Ok(())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.pty.slave_stat())
    }

    fn path(&self) -> String {
        self.pty.path()
    }
}

/// The master side: an open description of `ptmx`.
pub struct Master {
    pty: Arc<Pty>,
    /// The slave as the master's terminal ioctls see it.
    term: Terminal,
    flags: AtomicU64,
    stat: Stat,
}

impl Drop for Master {
    fn drop(&mut self) {
        self.pty.lock().master_open = false;
        self.pty.queue.notify();
        // The slave hangs up: its session leader hears of it.
        self.pty.job.hangup();
    }
}

impl Master {
    pub fn pty(&self) -> &Arc<Pty> {
        &self.pty
    }
}

impl Pty {
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn locked(&self) -> bool {
        self.lock().locked
    }

    pub fn set_locked(&self, on: bool) {
        self.lock().locked = on;
    }

    /// A new description of the slave (`TIOCGPTPEER`, or an open of
    /// `/dev/pts/N`); EIO while locked.
    pub fn open_slave(self: &Arc<Pty>, flags: u64) -> Result<Arc<TtyFile>, Errno> {
        if self.locked() {
            return Err(Errno::EIO);
        }
        Ok(Arc::new(TtyFile::new(self.terminal(true), flags)))
    }

    /// The slave's job-control state is what a ctty check compares.
    pub fn job(&self) -> &Arc<Job> {
        &self.job
    }
}

impl FileDescription for Master {
    fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }
    fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut st = self.pty.lock();
        if st.output.is_empty() {
            return if st.slave_opened && st.slaves == 0 { Err(Errno::EIO) } else { Err(Errno::EAGAIN) };
        }
        let n = st.output.len().min(buf.len());
        for (b, c) in buf.iter_mut().zip(st.output.drain(..n)) {
            *b = c;
        }
        drop(st);
        self.pty.queue.notify();
        Ok(n)
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut signals = Vec::new();
        let mut st = self.pty.lock();
        let n = st.receive(data, &mut signals);
        drop(st);
        self.pty.queue.notify();
        self.pty.signal(signals);
        if n == 0 && !data.is_empty() {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(synthetic::statfs(DEVPTS_MAGIC))
    }
    fn path(&self) -> String {
        "/dev/pts/ptmx".into()
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD => Ok(IoctlReply::Out((self.pty.lock().output.len() as i32).to_le_bytes().to_vec())),
            ioctl::TIOCOUTQ => Ok(IoctlReply::Out((self.pty.lock().input_len() as i32).to_le_bytes().to_vec())),
            ioctl::TIOCGPTN => Ok(IoctlReply::Out(self.pty.index.to_le_bytes().to_vec())),
            ioctl::TIOCGPTLCK => Ok(IoctlReply::Out(i32::from(self.pty.locked()).to_le_bytes().to_vec())),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.queue)
    }

    fn readiness(&self, _mask: u32) -> u32 {
        let st = self.pty.lock();
        let mut r = 0;
        if !st.output.is_empty() {
            r |= p::POLLIN | p::POLLRDNORM;
        }
        if st.input_len() < INPUT_MAX {
            r |= p::POLLOUT | p::POLLWRNORM;
        }
        if st.slave_opened && st.slaves == 0 {
            r |= p::POLLHUP;
        }
        r
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_tty(&self) -> Option<TtyRef<'_>> {
        Some(TtyRef { term: &self.term, master: true, pty: Some(&self.pty) })
    }
}

/// The devpts file system: `ptmx` and one node per live pty.
/// Host terminals named in devpts: an exec'd process's terminal is a
/// host pty (`tty::HostTty`), and `ttyname` wants a node whose `stat`
/// matches its descriptor's. They take indexes from [`HOST_BASE`] up, apart
/// from the sentry's own ptys, in every devpts instance.
pub const HOST_BASE: u32 = 1024;

struct HostEntry {
    driver: Weak<dyn TtyDriver>,
    job: Weak<Job>,
    stat: Stat,
}

fn host_entries() -> std::sync::MutexGuard<'static, BTreeMap<u32, HostEntry>> {
    static HOSTS: Mutex<BTreeMap<u32, HostEntry>> = Mutex::new(BTreeMap::new());
    let mut hosts = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    hosts.retain(|_, h| h.driver.strong_count() > 0);
    hosts
}

/// Names the host terminal `term` (owned by `owner`) in devpts: its index,
/// and the node's attributes, which the terminal's descriptors report too.
pub fn name_host_terminal(term: &Terminal, owner: (u32, u32)) -> (u32, Stat) {
    let mut hosts = host_entries();
    let index = (HOST_BASE..).find(|i| !hosts.contains_key(i)).expect("fewer than 2^32 terminals");
    let mut stat = synthetic::stat(
        DEV,
        u64::from(index) + 3,
        S_IFCHR | 0o620,
        synthetic::makedev(SLAVE_MAJOR, u64::from(index)),
        0,
        synthetic::now(),
    );
    (stat.uid, stat.gid) = owner;
    hosts.insert(index, HostEntry { driver: Arc::downgrade(&term.driver), job: Arc::downgrade(&term.job), stat });
    (index, stat)
}

/// The named host terminal at `index`, if it is still open somewhere.
fn host_terminal(index: u32) -> Option<(Terminal, Stat)> {
    let hosts = host_entries();
    let h = hosts.get(&index)?;
    Some((Terminal { driver: h.driver.upgrade()?, job: h.job.upgrade()? }, h.stat))
}

pub struct DevPts {
    kernel: Weak<crate::kernel::Kernel>,
    ptys: Mutex<BTreeMap<u32, Weak<Pty>>>,
    time: Timespec,
}

impl DevPts {
    pub fn new(kernel: Weak<crate::kernel::Kernel>) -> DevPts {
        DevPts { kernel, ptys: Mutex::default(), time: synthetic::now() }
    }

    fn lookup(&self, index: u32) -> Option<Arc<Pty>> {
        self.ptys.lock().unwrap_or_else(|e| e.into_inner()).get(&index).and_then(Weak::upgrade)
    }

    fn live(&self) -> Vec<Arc<Pty>> {
        self.ptys.lock().unwrap_or_else(|e| e.into_inner()).values().filter_map(Weak::upgrade).collect()
    }

    fn root_stat(&self) -> Stat {
        synthetic::stat(DEV, 1, S_IFDIR | 0o755, 0, 0, self.time)
    }

    fn ptmx_stat(&self) -> Stat {
        synthetic::stat(DEV, 2, S_IFCHR | 0o666, synthetic::makedev(5, 2), 0, self.time)
    }

    /// A new pair: the lowest free index.
    fn open_master(&self, task: &Task, flags: u64) -> Result<Arc<dyn FileDescription>, Errno> {
        let kernel = self.kernel.upgrade().ok_or(Errno::ENODEV)?;
        let mut ptys = self.ptys.lock().unwrap_or_else(|e| e.into_inner());
        ptys.retain(|_, w| w.strong_count() > 0);
        let index = (0..).find(|i| !ptys.contains_key(i)).ok_or(Errno::ENOSPC)?;
        let pty = Arc::new(Pty {
            index,
            state: Mutex::new(State {
                termios: initial_termios(),
                winsize: Winsize::default(),
                line: Vec::new(),
                lines: VecDeque::new(),
                raw: VecDeque::new(),
                output: VecDeque::new(),
                locked: true,
                master_open: true,
                slaves: 0,
                slave_opened: false,
            }),
            queue: WaitQueue::default(),
            job: Job::new(&kernel),
            owner: (task.creds.euid, task.creds.egid),
            time: synthetic::now(),
        });
        ptys.insert(index, Arc::downgrade(&pty));
        drop(ptys);
        let term = pty.terminal(false);
        Ok(Arc::new(Master { pty, term, flags: AtomicU64::new(flags), stat: self.ptmx_stat() }))
    }
}

fn index_of(path: &str) -> Option<u32> {
    let name = path.strip_prefix('/')?;
    if name.starts_with('0') && name.len() > 1 {
        return None;
    }
    name.parse().ok()
}

impl FileSystem for DevPts {
    fn name(&self) -> &'static str {
        "devpts"
    }

    fn open(&self, task: &Task, path: &str, flags: u64, _mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        match path {
            "/" => {
                check_open(self.root_stat().mode, flags)?;
                let mut entries = vec![
                    Entry { name: ".".into(), ino: 1, d_type: synthetic::DT_DIR },
                    Entry { name: "..".into(), ino: 1, d_type: synthetic::DT_DIR },
                    Entry { name: "ptmx".into(), ino: 2, d_type: synthetic::DT_CHR },
                ];
                let mut live = self.live();
                live.sort_by_key(|p| p.index);
                let hosts: Vec<u32> = host_entries().keys().copied().collect();
                entries.extend(live.iter().map(|p| p.index).chain(hosts).map(|index| Entry {
                    name: index.to_string(),
                    ino: u64::from(index) + 3,
                    d_type: synthetic::DT_CHR,
                }));
                Ok(Arc::new(synthetic::Dir {
                    path: "/dev/pts".into(),
                    stat: self.root_stat(),
                    statfs: synthetic::statfs(DEVPTS_MAGIC),
                    flags,
                    entries,
                    pos: Mutex::new(0),
                }))
            }
            "/ptmx" => {
                check_open(self.ptmx_stat().mode, flags)?;
                self.open_master(task, flags)
            }
            _ => {
                if let Some((term, stat)) = index_of(path).and_then(host_terminal) {
                    check_open(stat.mode, flags)?;
                    return Ok(Arc::new(TtyFile::new(term, flags & !fcntl::O_CLOEXEC)));
                }
                let pty = index_of(path).and_then(|i| self.lookup(i));
                let Some(pty) = pty else {
                    return Err(if flags & fcntl::O_CREAT != 0 { Errno::EACCES } else { Errno::ENOENT });
                };
                check_open(pty.slave_stat().mode, flags)?;
                let file = pty.open_slave(flags)?;
                if flags & fcntl::O_NOCTTY == 0 {
                    acquire_controlling(task, &pty);
                }
                Ok(file)
            }
        }
    }

    fn stat(&self, _task: &Task, path: &str, _follow: bool) -> Result<Stat, Errno> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        match path {
            "/" => Ok(self.root_stat()),
            "/ptmx" => Ok(self.ptmx_stat()),
            _ => index_of(path)
                .and_then(|i| self.lookup(i).map(|p| p.slave_stat()).or_else(|| host_terminal(i).map(|(_, st)| st)))
                .ok_or(Errno::ENOENT),
        }
    }

    fn statfs(&self, _task: &Task, _path: &str) -> Result<Statfs, Errno> {
        Ok(synthetic::statfs(DEVPTS_MAGIC))
    }

    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno> {
        // Nothing here is a link.
        self.stat(task, path, false).and(Err(Errno::EINVAL))
    }
}

/// Linux's `tty_open`: a session leader without a controlling terminal
/// that opens a terminal no session has (without O_NOCTTY) takes it.
fn acquire_controlling(task: &Task, pty: &Arc<Pty>) {
    let mut procs = task.kernel.procs();
    let Some(me) = procs.get(task.pid) else { return };
    if me.sid != task.pid || me.tty.is_some() || pty.job.get().sid.is_some() {
        return;
    }
    let pgid = me.pgid;
    pty.job.set(JobState { sid: Some(task.pid), pgrp: Some(pgid) });
    let term = Terminal { driver: Arc::new(Slave { pty: pty.clone(), counted: false }), job: pty.job.clone() };
    if let Some(me) = procs.get_mut(task.pid) {
        me.tty = Some(term);
    }
}
