//! The ptrace platform: each address space is a stub process traced with
//! `PTRACE_SYSEMU`, so its system calls stop before the host executes them
//! and come to the sentry instead (gVisor: `pkg/sentry/platform/ptrace`).
//!
//! The first stub is a fork of the sentry that is emptied right away: the
//! tracer maps the stub page (`syscall; int3`, from the memory file) at
//! [`STUB_ADDR`], unmaps everything below it and closes every descriptor
//! but the memory file's. That one is kept as a template, traced by a
//! `stub-factory` thread: every address space after it is a clone of the
//! template (a process with nothing but the stub page and the memory file,
//! so cloning it is cheap, unlike forking the large, busy sentry), which
//! the sentry thread that will serve it attaches to. Memory operations on
//! the application's behalf are system calls injected at the stub page;
//! the `int3` hands control back.
//!
//! A host file (a descriptor the gofer donated) is mapped into a stub by
//! passing the descriptor over a datagram socket every stub inherits
//! ([`FdPass`]): the sentry sends it, injects `recvmsg` into the stub (its
//! message header on the shared scratch page below the stub page), then
//! `mmap` of the received descriptor and `close`. One pass at a time, under
//! one lock, so no stub can take another's descriptor.
//!
//! Cost: a syscall round trip is two context switches of the host. Across
//! CPUs the wake-up costs ~100 µs on these machines, on one CPU ~4 µs, so
//! the tracer thread and its stub are pinned to the same CPU.
//!
//! ptrace is per thread: each application thread has a stub thread, traced
//! by the sentry thread that serves it, and every operation (switching,
//! injecting a mapping change) goes through the calling sentry thread's own
//! stub thread. A new stub thread is cloned at the stub page's clone entry
//! and parks in `nanosleep`, untraced, until the sentry thread that will
//! serve it attaches (the sandbox keeps itself dumpable for that).

use crate::{AddressSpace, Context, Event, FpState, Interrupter, Platform, PlatformError};
use abi::{mman, PtRegs, Sysno};
use memfile::MemoryFile;
use nix::sys::ptrace;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{gettid, Pid};
use std::any::Any;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// The stub page: the highest user page on x86-64 (the one above it is
/// the kernel's guard page).
pub const STUB_ADDR: u64 = 0x7fff_ffff_e000;
/// The scratch page, writable and shared by every stub (memory-file
/// backed): the message header of a descriptor pass.
pub const SCRATCH_ADDR: u64 = STUB_ADDR - 4096;
/// The stub page's code. At 0, `syscall; int3`: one injected call. At
/// [`CLONE_ENTRY`], a `clone` whose parent side traps (`int3`) and whose
/// child side, a new untraced stub thread, parks in `nanosleep` until the
/// sentry thread that is to serve it attaches.
const STUB_CODE: [u8; 64] = {
    let mut c = [0xccu8; 64];
    let head: [u8; 3] = [0x0f, 0x05, 0xcc];
    let clone: [u8; 26] = [
        0x0f, 0x05, // 16: syscall
        0x48, 0x85, 0xc0, // 18: test rax, rax
        0x75, 0x12, // 21: jnz 41 (parent)
        0xb8, 0x23, 0x00, 0x00, 0x00, // 23: mov eax, SYS_nanosleep
        0x48, 0x8d, 0x3d, 0x0d, 0x00, 0x00, 0x00, // 28: lea rdi, [rip + 13] (the timespec at 48)
        0x31, 0xf6, // 35: xor esi, esi
        0x0f, 0x05, // 37: syscall
        0xeb, 0xee, // 39: jmp 23
        0xcc, // 41: int3
    ];
    let mut i = 0;
    while i < head.len() {
        c[i] = head[i];
        i += 1;
    }
    i = 0;
    while i < clone.len() {
        c[16 + i] = clone[i];
        i += 1;
    }
    // 48: struct timespec { 1_000_000 s, 0 ns }
    let secs = 1_000_000u64.to_le_bytes();
    i = 0;
    while i < 8 {
        c[48 + i] = secs[i];
        c[56 + i] = 0;
        i += 1;
    }
    c
};
/// Offset of the thread-creating `clone` in the stub page.
const CLONE_ENTRY: u64 = 16;
/// A stub process cloned from the template: its own (copied) address
/// space and descriptors, a child of the sentry like the template itself
/// (CLONE_PARENT, so the sentry thread that traces it also reaps it),
/// SIGCHLD at exit as after a fork.
const STUB_PROCESS_FLAGS: u64 = libc::CLONE_PARENT as u64 | libc::SIGCHLD as u64;
/// A stub thread shares everything with its siblings, as an application
/// thread does: CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
/// CLONE_THREAD | CLONE_SYSVSEM.
const STUB_THREAD_FLAGS: u64 = 0x0005_0f00;
/// `rseq(2)` flag and the signature glibc registers with on x86.
const RSEQ_FLAG_UNREGISTER: u64 = 1;
const RSEQ_SIG: u64 = 0x5305_3053;
/// The regset of the xsave area (elf.h).
const NT_X86_XSTATE: usize = 0x202;

extern "C" {
    /// Offset of the thread's rseq area from the thread pointer (glibc ≥ 2.35).
    static __rseq_offset: isize;
    /// Size of the registered rseq area, 0 if glibc did not register one.
    static __rseq_size: u32;
}

fn glibc_rseq() -> (isize, u32) {
    // SAFETY: glibc initialises both at start-up and never writes them again.
    unsafe { (__rseq_offset, __rseq_size) }
}

/// The signal `Interrupter` uses to stop a running stub.
const KICK: Signal = Signal::SIGSTOP;

pub struct PtracePlatform {
    memfile: Arc<MemoryFile>,
    code_offset: u64,
    pass: Arc<FdPass>,
    next_cpu: AtomicUsize,
    cpus: usize,
    /// Started in the background by the first address space (which is
    /// forked, so the template costs the sandbox's start-up nothing);
    /// `None` if the template could not be made (then every stub is a fork
    /// of the sentry).
    factory: Arc<std::sync::OnceLock<Option<Factory>>>,
    factory_started: std::sync::atomic::AtomicBool,
}

impl PtracePlatform {
    pub fn new(memfile: Arc<MemoryFile>) -> Result<PtracePlatform, PlatformError> {
        let code_offset = memfile.allocate(abi::PAGE_SIZE).map_err(|_| PlatformError::Stub(nix::Error::ENOMEM))?;
        memfile.write(code_offset, &STUB_CODE).map_err(|_| PlatformError::Stub(nix::Error::EFAULT))?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pass = Arc::new(FdPass::new(memfile.clone())?);
        Ok(PtracePlatform {
            memfile,
            code_offset,
            pass,
            next_cpu: AtomicUsize::new(0),
            cpus,
            factory: Default::default(),
            factory_started: Default::default(),
        })
    }
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>, PlatformError> {
        let cpu = self.next_cpu.fetch_add(1, Ordering::Relaxed) % self.cpus;
        if !self.factory_started.swap(true, Ordering::SeqCst) {
            let (slot, memfile, code_offset) = (self.factory.clone(), self.memfile.clone(), self.code_offset);
            let pass = self.pass.clone();
            let started = std::thread::Builder::new()
                .name("stub-template".into())
                .spawn(move || drop(slot.set(Factory::start(memfile, code_offset, pass))));
            if started.is_err() {
                let _ = self.factory.set(None);
            }
        }
        if let Some(Some(factory)) = self.factory.get() {
            let memfd = self.memfile.fd().as_raw_fd();
            match factory.clone_stub().and_then(|pid| Stub::adopt(pid, memfd, cpu, self.cpus, self.pass.clone())) {
                Ok(stub) => return Ok(Arc::new(stub)),
                Err(e) => tracing::warn!("cloning a stub from the template failed ({e}); forking one"),
            }
        }
        Ok(Arc::new(Stub::spawn(&self.memfile, self.code_offset, cpu, self.cpus, self.pass.clone())?))
    }

    fn new_context(&self) -> Box<dyn Context> {
        Box::new(PtraceContext { interrupter: Interrupter::default() })
    }
}

/// The template stub and the thread that traces it: clones it on request.
struct Factory {
    requests: Mutex<mpsc::Sender<mpsc::Sender<Result<Pid, PlatformError>>>>,
}

impl Factory {
    /// Makes the template on a new `stub-factory` thread; `None` if that
    /// fails.
    fn start(memfile: Arc<MemoryFile>, code_offset: u64, pass: Arc<FdPass>) -> Option<Factory> {
        let (tx, rx) = mpsc::channel::<mpsc::Sender<Result<Pid, PlatformError>>>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("stub-factory".into()).spawn(move || {
            let template = match Stub::spawn(&memfile, code_offset, 0, 1, pass) {
                Ok(t) => t,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            for reply in rx {
                let clone = template
                    .current()
                    .and_then(|t| t.inject(CLONE_ENTRY, Sysno::clone, [STUB_PROCESS_FLAGS, 0, 0, 0, 0, 0]));
                let _ = reply.send(clone.map(|pid| Pid::from_raw(pid as i32)));
            }
        });
        match ready_rx.recv() {
            Ok(Ok(())) if spawned.is_ok() => Some(Factory { requests: Mutex::new(tx) }),
            Ok(Err(e)) => {
                tracing::warn!("no stub template ({e}): every stub is forked from the sentry");
                None
            }
            _ => None,
        }
    }

    /// A new stub process, parked and untraced.
    fn clone_stub(&self) -> Result<Pid, PlatformError> {
        let gone = || PlatformError::Stub(nix::Error::ESRCH);
        let (tx, rx) = mpsc::channel();
        self.requests.lock().unwrap().send(tx).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }
}

/// A stub process: one application address space, with one stub thread
/// per application thread, each traced by the sentry thread that serves it.
pub struct Stub {
    pid: Pid,
    memfd: i32,
    pass: Arc<FdPass>,
    /// Stub threads by the host tid of their tracer (a sentry thread).
    threads: Mutex<HashMap<i32, Pid>>,
    cpus: usize,
    next_cpu: AtomicUsize,
}

/// One traced stub thread, as its tracer uses it.
#[derive(Clone, Copy)]
struct Traced(Pid);

impl Stub {
    fn spawn(
        memfile: &MemoryFile,
        code_offset: u64,
        cpu: usize,
        cpus: usize,
        pass: Arc<FdPass>,
    ) -> Result<Stub, PlatformError> {
        let memfd = memfile.fd().as_raw_fd();
        // SAFETY: the child runs only async-signal-safe libc calls (setsid,
        // prctl, ptrace, raise, _exit) and then stops for good under our
        // control.
        let pid = match unsafe { nix::unistd::fork() }.map_err(PlatformError::Stub)? {
            nix::unistd::ForkResult::Child => {
                // SAFETY: plain syscall wrappers with constant arguments; if
                // any fails the child exits without touching shared state.
                unsafe {
                    // Out of the sandbox's session and process group, so
                    // that a host terminal's signals (the console's ^C)
                    // reach only the sandbox, which forwards them, and
                    // never a stub (where they would stop it mid-call).
                    libc::setsid();
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == 0 {
                        libc::raise(libc::SIGSTOP);
                    }
                    libc::_exit(1)
                }
            }
            nix::unistd::ForkResult::Parent { child } => child,
        };
        let (keep, scratch) = ([memfd, pass.stub_fd()], pass.scratch_offset);
        Stub::traced_by_caller(pid, memfd, cpu, cpus, pass, Traced(pid).setup(memfd, code_offset, scratch, keep, cpu))
    }

    /// Takes `pid`, a stub cloned from the template and parked, as the
    /// calling thread's to trace.
    fn adopt(pid: Pid, memfd: i32, cpu: usize, cpus: usize, pass: Arc<FdPass>) -> Result<Stub, PlatformError> {
        Stub::traced_by_caller(pid, memfd, cpu, cpus, pass, Traced(pid).attach(cpu))
    }

    /// The stub `pid`, whose first thread the calling thread now traces
    /// (`traced`: how getting there went; on failure the process is killed
    /// and reaped).
    fn traced_by_caller(
        pid: Pid,
        memfd: i32,
        cpu: usize,
        cpus: usize,
        pass: Arc<FdPass>,
        traced: Result<(), PlatformError>,
    ) -> Result<Stub, PlatformError> {
        if let Err(e) = traced {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
            return Err(e);
        }
        Ok(Stub {
            pid,
            memfd,
            pass,
            threads: Mutex::new(HashMap::from([(gettid().as_raw(), pid)])),
            cpus,
            next_cpu: AtomicUsize::new(cpu + 1),
        })
    }

    /// The stub thread the calling sentry thread traces.
    fn current(&self) -> Result<Traced, PlatformError> {
        let me = gettid().as_raw();
        self.threads.lock().unwrap().get(&me).copied().map(Traced).ok_or(PlatformError::Control {
            pid: self.pid.as_raw(),
            op: "use from a thread that traces none of its threads",
            source: nix::Error::EPERM,
        })
    }

    fn inject(&self, nr: Sysno, args: [u64; 6]) -> Result<u64, PlatformError> {
        self.current()?.inject(0, nr, args)
    }
}

impl Traced {
    /// Attaches the calling thread to this stub thread, parked in
    /// nanosleep (attaching stops it), and pins both to `cpu`. This needs
    /// the stub to be dumpable (boot keeps the sandbox dumpable so its own
    /// threads may trace its stubs; nothing outside may).
    fn attach(self, cpu: usize) -> Result<(), PlatformError> {
        ptrace::attach(self.0).map_err(self.err("PTRACE_ATTACH"))?;
        loop {
            match waitpid(self.0, Some(WaitPidFlag::__WALL)).map_err(self.err("waitpid"))? {
                WaitStatus::Stopped(_, Signal::SIGSTOP) => break,
                // Anything else first (none expected): let it go and wait on.
                WaitStatus::Stopped(_, _) => ptrace::cont(self.0, None).map_err(self.err("PTRACE_CONT"))?,
                other => return Err(self.died(other)),
            }
        }
        ptrace::setoptions(self.0, ptrace::Options::PTRACE_O_TRACESYSGOOD | ptrace::Options::PTRACE_O_EXITKILL)
            .map_err(self.err("PTRACE_SETOPTIONS"))?;
        pin(self.0, cpu);
        pin(Pid::from_raw(0), cpu);
        Ok(())
    }

    /// Makes a freshly forked stub: the stub page and the scratch page
    /// mapped, everything else unmapped, every descriptor closed but those
    /// in `keep` (the memory file's and the descriptor-passing socket).
    fn setup(
        self,
        memfd: i32,
        code_offset: u64,
        scratch: u64,
        keep: [i32; 2],
        cpu: usize,
    ) -> Result<(), PlatformError> {
        match waitpid(self.0, Some(WaitPidFlag::__WALL)).map_err(self.err("waitpid"))? {
            WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
            other => return Err(self.died(other)),
        }
        ptrace::setoptions(self.0, ptrace::Options::PTRACE_O_TRACESYSGOOD | ptrace::Options::PTRACE_O_EXITKILL)
            .map_err(self.err("PTRACE_SETOPTIONS"))?;
        pin(self.0, cpu);
        pin(Pid::from_raw(0), cpu);
        // The child stopped in raise(), just after a `syscall` instruction:
        // use that one to map the stub page, then switch to the stub page.
        let template = self.getregs()?;
        let libc_syscall = template.rip - 2;
        let prot = mman::PROT_READ | mman::PROT_EXEC;
        let flags = mman::MAP_SHARED | mman::MAP_FIXED;
        self.inject_stepping(
            &template,
            libc_syscall,
            Sysno::mmap,
            [STUB_ADDR, 4096, prot, flags, memfd as u64, code_offset],
        )?;
        // The fork inherited glibc's rseq registration, whose area is about to
        // vanish: the kernel would kill the stub on its next preemption.
        let (rseq_offset, rseq_size) = glibc_rseq();
        if rseq_size != 0 {
            let area = template.fs_base.wrapping_add_signed(rseq_offset as i64);
            // glibc registers at least the original 32-byte area even when
            // it advertises a smaller feature size.
            let len = u64::from(rseq_size.max(32));
            self.inject(0, Sysno::rseq, [area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG, 0, 0])?;
        }
        self.inject(0, Sysno::munmap, [0, STUB_ADDR, 0, 0, 0, 0])?;
        let rw = mman::PROT_READ | mman::PROT_WRITE;
        self.inject(0, Sysno::mmap, [SCRATCH_ADDR, 4096, rw, flags, memfd as u64, scratch])?;
        let (lo, hi) = (keep[0].min(keep[1]) as u64, keep[0].max(keep[1]) as u64);
        for (first, last) in [(0, lo.checked_sub(1)), (lo + 1, hi.checked_sub(1)), (hi + 1, Some(u32::MAX as u64))] {
            if let Some(last) = last.filter(|&l| l >= first) {
                self.inject(0, Sysno::close_range, [first, last, 0, 0, 0, 0])?;
            }
        }
        Ok(())
    }

    /// Runs one system call in the stub thread at the stub page entry
    /// `entry` (0: `syscall; int3`), until the `int3` traps.
    fn inject(self, entry: u64, nr: Sysno, args: [u64; 6]) -> Result<u64, PlatformError> {
        let mut regs = PtRegs::user_start(STUB_ADDR + entry, 0);
        set_call(&mut regs, nr, args);
        self.setregs(&regs)?;
        ptrace::cont(self.0, None).map_err(self.err("PTRACE_CONT"))?;
        loop {
            match waitpid(self.0, Some(WaitPidFlag::__WALL)).map_err(self.err("waitpid"))? {
                WaitStatus::Stopped(_, Signal::SIGTRAP) => break,
                // An interrupt (signal, pause) that reached the stub after its
                // last trap: it has done its job; drop it and go on.
                WaitStatus::Stopped(_, sig) if sig == KICK => {
                    ptrace::cont(self.0, None).map_err(self.err("PTRACE_CONT"))?
                }
                other => return Err(self.died(other)),
            }
        }
        check_result(nr, self.getregs()?.rax)
    }

    /// Runs one system call at an arbitrary `syscall` instruction, stopping
    /// at its entry and exit (used before the stub page exists).
    fn inject_stepping(self, template: &PtRegs, at: u64, nr: Sysno, args: [u64; 6]) -> Result<u64, PlatformError> {
        let mut regs = *template;
        regs.rip = at;
        set_call(&mut regs, nr, args);
        self.setregs(&regs)?;
        for _ in 0..2 {
            ptrace::syscall(self.0, None).map_err(self.err("PTRACE_SYSCALL"))?;
            match waitpid(self.0, Some(WaitPidFlag::__WALL)).map_err(self.err("waitpid"))? {
                WaitStatus::PtraceSyscall(_) => {}
                other => return Err(self.died(other)),
            }
        }
        check_result(nr, self.getregs()?.rax)
    }

    fn getregs(self) -> Result<PtRegs, PlatformError> {
        let r = ptrace::getregs(self.0).map_err(self.err("PTRACE_GETREGS"))?;
        Ok(from_libc(&r))
    }

    fn setregs(self, regs: &PtRegs) -> Result<(), PlatformError> {
        ptrace::setregs(self.0, to_libc(regs)).map_err(self.err("PTRACE_SETREGS"))
    }

    fn err(self, op: &'static str) -> impl Fn(nix::Error) -> PlatformError {
        let pid = self.0.as_raw();
        move |source| PlatformError::Control { pid, op, source }
    }

    fn died(self, status: WaitStatus) -> PlatformError {
        let regs = match status {
            WaitStatus::Stopped(..) => self.getregs().map(|r| format!(" at rip {:#x}", r.rip)).unwrap_or_default(),
            _ => String::new(),
        };
        PlatformError::StubDied { pid: self.0.as_raw(), how: format!("{status:?}{regs}") }
    }

    fn run_until_trap(self, regs: &mut PtRegs) -> Result<Event, PlatformError> {
        ptrace::sysemu(self.0, None).map_err(self.err("PTRACE_SYSEMU"))?;
        let status = waitpid(self.0, Some(WaitPidFlag::__WALL)).map_err(self.err("waitpid"))?;
        let event = match status {
            WaitStatus::PtraceSyscall(_) => Event::Syscall,
            WaitStatus::Stopped(_, sig) if sig == KICK => Event::Interrupted,
            WaitStatus::Stopped(
                _,
                sig @ (Signal::SIGSEGV | Signal::SIGBUS | Signal::SIGILL | Signal::SIGFPE | Signal::SIGTRAP),
            ) => {
                let info = ptrace::getsiginfo(self.0).map_err(self.err("PTRACE_GETSIGINFO"))?;
                // SAFETY: for these synchronous fault signals the kernel filled
                // in the `si_addr` member of the union.
                let addr = unsafe { info.si_addr() } as u64;
                Event::Fault { signo: sig as i32, code: info.si_code, addr }
            }
            WaitStatus::Stopped(_, sig) => Event::Signal { signo: sig as i32 },
            other => return Err(self.died(other)),
        };
        *regs = self.getregs()?;
        Ok(event)
    }
}

impl AddressSpace for Stub {
    fn map(&self, addr: u64, len: u64, offset: u64, prot: u64) -> Result<(), PlatformError> {
        let flags = mman::MAP_SHARED | mman::MAP_FIXED;
        self.inject(Sysno::mmap, [addr, len, prot, flags, self.memfd as u64, offset]).map(drop)
    }

    fn map_file(
        &self,
        addr: u64,
        len: u64,
        fd: BorrowedFd<'_>,
        offset: u64,
        prot: u64,
        shared: bool,
    ) -> Result<(), PlatformError> {
        let pass = &self.pass;
        let _one_at_a_time = pass.lock.lock().unwrap();
        pass.give(fd)?;
        let received = self.inject(Sysno::recvmsg, [pass.stub_fd() as u64, SCRATCH_ADDR, 0, 0, 0, 0]);
        let stub_fd = match received.and_then(|_| pass.received()) {
            Ok(n) => n,
            Err(e) => {
                pass.drain();
                return Err(e);
            }
        };
        let flags = if shared { mman::MAP_SHARED } else { mman::MAP_PRIVATE } | mman::MAP_FIXED;
        let mapped = self.inject(Sysno::mmap, [addr, len, prot, flags, stub_fd as u64, offset]);
        let closed = self.inject(Sysno::close, [stub_fd as u64, 0, 0, 0, 0, 0]);
        mapped.and(closed).map(drop)
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<(), PlatformError> {
        self.inject(Sysno::munmap, [addr, len, 0, 0, 0, 0]).map(drop)
    }

    fn protect(&self, addr: u64, len: u64, prot: u64) -> Result<(), PlatformError> {
        self.inject(Sysno::mprotect, [addr, len, prot, 0, 0, 0]).map(drop)
    }

    fn new_thread(&self) -> Result<i32, PlatformError> {
        let tid = self.current()?.inject(CLONE_ENTRY, Sysno::clone, [STUB_THREAD_FLAGS, 0, 0, 0, 0, 0])?;
        Ok(tid as i32)
    }

    fn adopt_thread(&self, tid: i32) -> Result<(), PlatformError> {
        let t = Traced(Pid::from_raw(tid));
        let cpu = self.next_cpu.fetch_add(1, Ordering::Relaxed) % self.cpus;
        t.attach(cpu)?;
        self.threads.lock().unwrap().insert(gettid().as_raw(), t.0);
        Ok(())
    }

    fn release_thread(&self) -> Result<(), PlatformError> {
        let t = self.current()?;
        if t.0 == self.pid {
            // The stub's main thread goes with the stub process.
            return Ok(());
        }
        self.threads.lock().unwrap().remove(&gettid().as_raw());
        let mut regs = PtRegs::user_start(STUB_ADDR, 0);
        set_call(&mut regs, Sysno::exit, [0; 6]);
        t.setregs(&regs)?;
        ptrace::cont(t.0, None).map_err(t.err("PTRACE_CONT"))?;
        loop {
            match waitpid(t.0, Some(WaitPidFlag::__WALL)).map_err(t.err("waitpid"))? {
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => return Ok(()),
                WaitStatus::Stopped(_, _) => ptrace::cont(t.0, None).map_err(t.err("PTRACE_CONT"))?,
                _ => {}
            }
        }
    }

    fn cpu_time(&self) -> std::time::Duration {
        // The CPU clock of another process (Linux's MAKE_PROCESS_CPUCLOCK:
        // ~pid << 3 | CPUCLOCK_SCHED), which any process may read.
        let clock = (!self.pid.as_raw() << 3) | 2;
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into `ts`, a local.
        let r = unsafe { libc::clock_gettime(clock, &mut ts) };
        if r != 0 {
            return std::time::Duration::ZERO;
        }
        std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = kill(self.pid, Signal::SIGKILL);
        let _ = waitpid(self.pid, Some(WaitPidFlag::__WALL));
    }
}

struct PtraceContext {
    interrupter: Interrupter,
}

fn stub_of(space: &dyn AddressSpace) -> Result<&Stub, PlatformError> {
    space.as_any().downcast_ref::<Stub>().ok_or(PlatformError::WrongAddressSpace)
}

impl Context for PtraceContext {
    fn switch(&mut self, space: &dyn AddressSpace, regs: &mut PtRegs) -> Result<Event, PlatformError> {
        let stub = stub_of(space)?;
        let t = stub.current()?;
        t.setregs(regs)?;
        if !self.interrupter.arm((stub.pid.as_raw(), t.0.as_raw())) {
            return Ok(Event::Interrupted);
        }
        let result = t.run_until_trap(regs);
        self.interrupter.disarm();
        result
    }

    fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }

    fn fp_state(&mut self, space: &dyn AddressSpace) -> Result<FpState, PlatformError> {
        let t = stub_of(space)?.current()?;
        let mut fp = FpState(vec![0; FpState::size()]);
        if fp.is_xsave() {
            let mut iov = libc::iovec { iov_base: fp.0.as_mut_ptr().cast(), iov_len: fp.0.len() };
            // SAFETY: PTRACE_GETREGSET writes at most `iov_len` bytes at
            // `iov_base`, our buffer of that size, and updates `iov_len`;
            // the thread is in a ptrace stop (between switches).
            let r = unsafe { libc::ptrace(libc::PTRACE_GETREGSET, t.0.as_raw(), NT_X86_XSTATE, &mut iov) };
            if r < 0 {
                return Err(t.err("PTRACE_GETREGSET(NT_X86_XSTATE)")(nix::Error::last()));
            }
            fp.0.truncate(iov.iov_len.max(FpState::FXSAVE_SIZE));
            return Ok(fp);
        }
        // SAFETY: PTRACE_GETFPREGS writes exactly sizeof(struct
        // user_fpregs_struct) = 512 bytes at the pointer, which points at
        // our 512-byte buffer; the thread is in a ptrace stop.
        let r = unsafe {
            libc::ptrace(libc::PTRACE_GETFPREGS, t.0.as_raw(), std::ptr::null_mut::<libc::c_void>(), fp.0.as_mut_ptr())
        };
        if r < 0 {
            return Err(t.err("PTRACE_GETFPREGS")(nix::Error::last()));
        }
        Ok(fp)
    }

    fn set_fp_state(&mut self, space: &dyn AddressSpace, fp: &FpState) -> Result<(), PlatformError> {
        let t = stub_of(space)?.current()?;
        if fp.is_xsave() {
            let mut image = fp.0.clone();
            let mut iov = libc::iovec { iov_base: image.as_mut_ptr().cast(), iov_len: image.len() };
            // SAFETY: PTRACE_SETREGSET reads `iov_len` bytes at `iov_base`,
            // our copy of the image; the kernel validates the xsave header
            // and MXCSR (EINVAL otherwise). The thread is in a ptrace stop.
            let r = unsafe { libc::ptrace(libc::PTRACE_SETREGSET, t.0.as_raw(), NT_X86_XSTATE, &mut iov) };
            if r < 0 {
                return Err(t.err("PTRACE_SETREGSET(NT_X86_XSTATE)")(nix::Error::last()));
            }
            return Ok(());
        }
        if fp.0.len() < FpState::FXSAVE_SIZE {
            return Err(t.err("PTRACE_SETFPREGS")(nix::Error::EINVAL));
        }
        // SAFETY: PTRACE_SETFPREGS only reads 512 bytes at the pointer, which
        // points at the caller's image of at least 512 bytes (checked); the
        // thread is in a ptrace stop.
        let r = unsafe {
            libc::ptrace(libc::PTRACE_SETFPREGS, t.0.as_raw(), std::ptr::null_mut::<libc::c_void>(), fp.0.as_ptr())
        };
        if r < 0 {
            return Err(t.err("PTRACE_SETFPREGS")(nix::Error::last()));
        }
        Ok(())
    }
}

/// Stops a running stub thread so its tracer's `switch` returns.
pub(crate) fn kick(pid: i32, tid: i32) {
    // SAFETY: tgkill has no memory effects; a stale id fails with ESRCH.
    unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, KICK as i32) };
}

fn pin(pid: Pid, cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        if let Err(e) = nix::sched::sched_setaffinity(pid, &set) {
            tracing::debug!("pinning {pid} to CPU {cpu}: {e}");
        }
    }
}

fn set_call(regs: &mut PtRegs, nr: Sysno, args: [u64; 6]) {
    regs.rax = nr.id() as u64;
    // Not a restartable syscall: the kernel must not rewind rip.
    regs.orig_rax = u64::MAX;
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = args;
}

fn check_result(nr: Sysno, rax: u64) -> Result<u64, PlatformError> {
    let ret = rax as i64;
    if (-4095..0).contains(&ret) {
        Err(PlatformError::Injected { syscall: nr.name(), errno: -ret })
    } else {
        Ok(rax)
    }
}

/// Copies a register file between `PtRegs` and `libc::user_regs_struct`,
/// which have the same fields in the same order (both are the kernel's
/// `struct user_regs_struct`).
macro_rules! copy_regs {
    ($r:expr => $T:ident) => {
        $T {
            r15: $r.r15,
            r14: $r.r14,
            r13: $r.r13,
            r12: $r.r12,
            rbp: $r.rbp,
            rbx: $r.rbx,
            r11: $r.r11,
            r10: $r.r10,
            r9: $r.r9,
            r8: $r.r8,
            rax: $r.rax,
            rcx: $r.rcx,
            rdx: $r.rdx,
            rsi: $r.rsi,
            rdi: $r.rdi,
            orig_rax: $r.orig_rax,
            rip: $r.rip,
            cs: $r.cs,
            eflags: $r.eflags,
            rsp: $r.rsp,
            ss: $r.ss,
            fs_base: $r.fs_base,
            gs_base: $r.gs_base,
            ds: $r.ds,
            es: $r.es,
            fs: $r.fs,
            gs: $r.gs,
        }
    };
}

fn to_libc(r: &PtRegs) -> libc::user_regs_struct {
    use libc::user_regs_struct;
    copy_regs!(r => user_regs_struct)
}

fn from_libc(r: &libc::user_regs_struct) -> PtRegs {
    copy_regs!(r => PtRegs)
}

/// The descriptor-passing socket pair every stub inherits (see the module
/// comment), and the scratch page its message header lives on.
struct FdPass {
    lock: Mutex<()>,
    /// The sentry's end: descriptors are sent from it.
    sentry_end: OwnedFd,
    /// The stubs' end, at the same number in every stub. The sentry keeps
    /// its copy to drain a pass that failed half-way.
    stub_end: OwnedFd,
    memfile: Arc<MemoryFile>,
    scratch_offset: u64,
}

/// Offsets on the scratch page of a pass's `msghdr`, its one `iovec`, the
/// control buffer and the byte received.
const PASS_IOV: u64 = 64;
const PASS_CONTROL: u64 = 128;
const PASS_BYTE: u64 = 256;
/// `CMSG_SPACE(sizeof(int))`.
const PASS_CONTROL_LEN: u64 = 24;

impl FdPass {
    fn new(memfile: Arc<MemoryFile>) -> Result<FdPass, PlatformError> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (sentry_end, stub_end) = socketpair(AddressFamily::Unix, SockType::Datagram, None, SockFlag::SOCK_CLOEXEC)
            .map_err(PlatformError::Stub)?;
        let scratch_offset = memfile.allocate(abi::PAGE_SIZE).map_err(|_| PlatformError::Stub(nix::Error::ENOMEM))?;
        Ok(FdPass { lock: Mutex::new(()), sentry_end, stub_end, memfile, scratch_offset })
    }

    fn stub_fd(&self) -> i32 {
        self.stub_end.as_raw_fd()
    }

    /// Sends `fd` towards the stubs' end and lays out the `msghdr` the
    /// stub's `recvmsg` will use.
    fn give(&self, fd: BorrowedFd<'_>) -> Result<(), PlatformError> {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
        let fail = |e| PlatformError::Control { pid: 0, op: "passing a host file to a stub", source: e };
        let mut page = [0u8; PASS_BYTE as usize + 8];
        let mut put = |at: u64, v: u64| page[at as usize..at as usize + 8].copy_from_slice(&v.to_ne_bytes());
        // struct msghdr: name, namelen (+pad), iov, iovlen, control, controllen, flags.
        put(16, SCRATCH_ADDR + PASS_IOV);
        put(24, 1);
        put(32, SCRATCH_ADDR + PASS_CONTROL);
        put(40, PASS_CONTROL_LEN);
        // struct iovec: one byte at PASS_BYTE.
        put(PASS_IOV, SCRATCH_ADDR + PASS_BYTE);
        put(PASS_IOV + 8, 1);
        self.memfile.write(self.scratch_offset, &page).map_err(|_| fail(nix::Error::EFAULT))?;
        let fds = [fd.as_raw_fd()];
        sendmsg::<()>(
            self.sentry_end.as_raw_fd(),
            &[std::io::IoSlice::new(&[0])],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(fail)
        .map(drop)
    }

    /// The descriptor number the stub's `recvmsg` received, from the
    /// control message it left on the scratch page.
    fn received(&self) -> Result<i32, PlatformError> {
        let mut cmsg = [0u8; 20];
        let bad = |e| PlatformError::Control { pid: 0, op: "receiving a host file in a stub", source: e };
        self.memfile.read(self.scratch_offset + PASS_CONTROL, &mut cmsg).map_err(|_| bad(nix::Error::EFAULT))?;
        let len = u64::from_ne_bytes(cmsg[0..8].try_into().unwrap());
        let level = i32::from_ne_bytes(cmsg[8..12].try_into().unwrap());
        let kind = i32::from_ne_bytes(cmsg[12..16].try_into().unwrap());
        if len != 20 || level != libc::SOL_SOCKET || kind != libc::SCM_RIGHTS {
            return Err(bad(nix::Error::EPROTO));
        }
        Ok(i32::from_ne_bytes(cmsg[16..20].try_into().unwrap()))
    }

    /// Takes back a message no stub received, so the next pass gets its own.
    fn drain(&self) {
        use nix::sys::socket::{recvmsg, MsgFlags};
        let mut byte = [0u8; 1];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let mut iov = [std::io::IoSliceMut::new(&mut byte)];
        if let Ok(msg) = recvmsg::<()>(self.stub_end.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT) {
            for c in msg.cmsgs().into_iter().flatten() {
                if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                    for fd in fds {
                        // SAFETY: SCM_RIGHTS just installed `fd` in our table
                        // and nothing else knows of it: we own it.
                        drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs hand-written machine code in a stub: it makes a getpid syscall,
    /// then writes to an address it may not touch.
    #[test]
    fn syscalls_and_faults_come_to_the_tracer() {
        let mf = Arc::new(MemoryFile::new(1 << 24).unwrap());
        let platform = PtracePlatform::new(mf.clone()).unwrap();
        let space = platform.new_address_space().unwrap();
        let code_addr = 0x40_0000;
        let off = mf.allocate(4096).unwrap();
        // mov eax, 39; syscall; mov [0x1000], eax
        let code = [0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00];
        mf.write(off, &code).unwrap();
        space.map(code_addr, 4096, off, mman::PROT_READ | mman::PROT_EXEC).unwrap();

        let mut ctx = platform.new_context();
        let mut regs = PtRegs::user_start(code_addr, 0);
        assert_eq!(ctx.switch(&*space, &mut regs).unwrap(), Event::Syscall);
        assert_eq!(regs.orig_rax, 39);
        assert_eq!(regs.rip, code_addr + 7);
        regs.rax = 1234;
        let ev = ctx.switch(&*space, &mut regs).unwrap();
        assert_eq!(ev, Event::Fault { signo: libc::SIGSEGV, code: 1 /* SEGV_MAPERR */, addr: 0x1000 });
        assert_eq!(regs.rax, 1234);

        // FPU state round-trips, and a bad MXCSR is refused.
        let mut fp = ctx.fp_state(&*space).unwrap();
        assert_eq!(&fp.0[0..2], &0x37fu16.to_le_bytes(), "a fresh stub has the default FCW");
        fp.0[160..176].copy_from_slice(&[0xab; 16]); // XMM0
        ctx.set_fp_state(&*space, &fp).unwrap();
        assert_eq!(ctx.fp_state(&*space).unwrap().0[160..176], [0xab; 16]);
        let mut bad = FpState::initial();
        bad.0[FpState::MXCSR + 3] = 0xff;
        assert!(ctx.set_fp_state(&*space, &bad).is_err());
        if fp.is_xsave() {
            // The upper halves of the AVX registers travel too (YMM0_H is
            // the first 16 bytes of component 2, at offset 576).
            let mut avx = ctx.fp_state(&*space).unwrap();
            avx.0[FpState::XSTATE_BV] |= 4;
            avx.0[576..592].copy_from_slice(&[0xcd; 16]);
            ctx.set_fp_state(&*space, &avx).unwrap();
            assert_eq!(ctx.fp_state(&*space).unwrap().0[576..592], [0xcd; 16]);
        }
        ctx.set_fp_state(&*space, &FpState::initial()).unwrap();
        assert_eq!(ctx.fp_state(&*space).unwrap().0[160..176], [0; 16]);
    }

    /// A second thread in the same address space, run by another sentry
    /// thread, sees the same memory and traps its own syscalls.
    #[test]
    fn threads_of_one_address_space() {
        let mf = Arc::new(MemoryFile::new(1 << 24).unwrap());
        let platform = PtracePlatform::new(mf.clone()).unwrap();
        let space = platform.new_address_space().unwrap();
        let code_addr = 0x40_0000;
        let off = mf.allocate(4096).unwrap();
        // mov eax, 39; syscall; jmp $-7 (back to the mov)
        let code = [0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7];
        mf.write(off, &code).unwrap();
        space.map(code_addr, 4096, off, mman::PROT_READ | mman::PROT_EXEC).unwrap();
        let tid = space.new_thread().unwrap();
        assert!(tid > 0);

        let other = space.clone();
        let mut ctx = platform.new_context();
        let worker = std::thread::spawn(move || {
            other.adopt_thread(tid).unwrap();
            let mut regs = PtRegs::user_start(code_addr, 0);
            for _ in 0..3 {
                assert_eq!(ctx.switch(&*other, &mut regs).unwrap(), Event::Syscall);
                assert_eq!(regs.orig_rax, 39);
            }
            // Mapping from this thread goes through its own stub thread.
            other.protect(code_addr, 4096, mman::PROT_READ | mman::PROT_EXEC).unwrap();
            other.release_thread().unwrap();
        });
        worker.join().unwrap();

        let mut ctx = platform.new_context();
        let mut regs = PtRegs::user_start(code_addr, 0);
        assert_eq!(ctx.switch(&*space, &mut regs).unwrap(), Event::Syscall);
    }
}
