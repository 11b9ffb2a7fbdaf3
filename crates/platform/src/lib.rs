//! The platform moves the CPU between the sentry and the application.
//!
//! The sentry owns the register file and all memory bookkeeping; a platform
//! only (a) creates address spaces and maps memory-file ranges into them and
//! (b) runs application code with a given register file until it traps
//! back: a syscall, a fault, a signal, or an interrupt from another sentry
//! thread (gVisor: `pkg/sentry/platform`). Backends: `ptrace` (today),
//! systrap and kvm later.

pub mod ptrace;
pub mod tsc;

use abi::PtRegs;
use std::any::Any;
use std::sync::Arc;

/// Highest address (exclusive) an application may map: the top two pages
/// below the x86-64 user limit are the platform's (the stub page and its
/// scratch page).
pub const MAX_USER_ADDRESS: u64 = ptrace::SCRATCH_ADDR;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("creating a stub process: {0}")]
    Stub(#[source] nix::Error),
    #[error("controlling the stub process {pid}: {op}: {source}")]
    Control {
        pid: i32,
        op: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("the stub process {pid} died unexpectedly ({how})")]
    StubDied { pid: i32, how: String },
    #[error("injected {syscall} in the stub failed with errno {errno}")]
    Injected { syscall: &'static str, errno: i64 },
    #[error("address space of another platform")]
    WrongAddressSpace,
}

/// Memory access kinds of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// Why application code stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The application made a system call; its number is in `orig_rax`.
    Syscall,
    /// A synchronous fault the sentry must turn into a signal (or resolve).
    Fault { signo: i32, code: i32, addr: u64 },
    /// Another signal arrived for the application thread.
    Signal { signo: i32 },
    /// `Interrupter::interrupt` was called.
    Interrupted,
}

/// A factory for address spaces and execution contexts.
pub trait Platform: Send + Sync {
    fn name(&self) -> &'static str;
    /// A new, empty application address space. For ptrace, the calling
    /// thread becomes the tracer of its stub and must be the one that
    /// switches into it.
    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>, PlatformError>;
    fn new_context(&self) -> Box<dyn Context>;
}

/// An application address space: memory-file ranges mapped at addresses.
pub trait AddressSpace: Send + Sync + Any {
    /// Maps `len` bytes of the memory file at `offset` to `addr` (both page
    /// aligned), replacing whatever was there.
    fn map(&self, addr: u64, len: u64, offset: u64, prot: u64) -> Result<(), PlatformError>;
    /// Maps `len` bytes of the host file `fd` at `offset` to `addr`,
    /// replacing whatever was there: the application's pages are the
    /// host's page cache of the file. `shared` maps it `MAP_SHARED`
    /// (stores reach the file); otherwise `MAP_PRIVATE`, which callers map
    /// without PROT_WRITE, so that no store is lost in a private copy the
    /// sentry cannot see.
    fn map_file(
        &self,
        addr: u64,
        len: u64,
        fd: std::os::fd::BorrowedFd<'_>,
        offset: u64,
        prot: u64,
        shared: bool,
    ) -> Result<(), PlatformError>;
    fn unmap(&self, addr: u64, len: u64) -> Result<(), PlatformError>;
    fn protect(&self, addr: u64, len: u64, prot: u64) -> Result<(), PlatformError>;
    /// Starts another thread in the address space, for a new application
    /// thread; returns its id, to pass to `adopt_thread` on the sentry
    /// thread that will run it.
    fn new_thread(&self) -> Result<i32, PlatformError>;
    /// Makes the calling sentry thread the one that runs thread `id`.
    fn adopt_thread(&self, id: i32) -> Result<(), PlatformError>;
    /// Ends the calling sentry thread's thread in the address space (the
    /// application thread exited; the address space lives on).
    fn release_thread(&self) -> Result<(), PlatformError>;
    /// CPU time the application has spent running in this address space
    /// (all its threads).
    fn cpu_time(&self) -> std::time::Duration;
    fn as_any(&self) -> &dyn Any;
}

/// One application thread's hold on a CPU.
pub trait Context: Send {
    /// Runs the application in `space` with `regs` until it traps; `regs`
    /// then holds the application's registers at the trap.
    fn switch(&mut self, space: &dyn AddressSpace, regs: &mut PtRegs) -> Result<Event, PlatformError>;
    /// A handle other threads use to make `switch` return `Interrupted`.
    fn interrupter(&self) -> Interrupter;
    /// The application thread's FPU/SSE state as of its last trap.
    fn fp_state(&mut self, space: &dyn AddressSpace) -> Result<FpState, PlatformError>;
    /// Replaces the application thread's FPU/SSE state; EINVAL (as
    /// `PlatformError::Control`) if the image has reserved MXCSR bits set.
    fn set_fp_state(&mut self, space: &dyn AddressSpace, fp: &FpState) -> Result<(), PlatformError>;
}

/// The application thread's FPU and vector state as the `xsave`
/// instruction lays it out in standard form: the 512-byte legacy `fxsave`
/// region (x87 control words, MXCSR, ST0-7, XMM0-15), the 64-byte xsave
/// header (XSTATE_BV at 512) and every component the host enabled (AVX,
/// AVX-512...), `FpState::size()` bytes in all. On a CPU without xsave it is
/// just the 512-byte fxsave image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpState(pub Vec<u8>);

impl FpState {
    /// Size of the legacy fxsave region.
    pub const FXSAVE_SIZE: usize = 512;
    /// Offset of MXCSR in the image.
    pub const MXCSR: usize = 24;
    /// Offset of XSTATE_BV, the xsave header's component bitmap.
    pub const XSTATE_BV: usize = 512;

    /// Size of the image for the components the host enabled in XCR0
    /// (CPUID leaf 0xD, sub-leaf 0, EBX), or 512 without xsave.
    pub fn size() -> usize {
        use std::sync::OnceLock;
        static SIZE: OnceLock<usize> = OnceLock::new();
        *SIZE.get_or_init(|| match xfeatures() {
            0 => Self::FXSAVE_SIZE,
            _ => (core::arch::x86_64::__cpuid_count(0xd, 0).ebx as usize).max(Self::FXSAVE_SIZE + 64),
        })
    }

    /// Whether the image carries the xsave header and components.
    pub fn is_xsave(&self) -> bool {
        self.0.len() > Self::FXSAVE_SIZE
    }

    /// The state a signal handler starts with (what `fninit` and the
    /// default MXCSR give, every vector register zero): FCW 0x37f, MXCSR
    /// 0x1f80, x87 and SSE marked present, the other components in their
    /// initial state.
    pub fn initial() -> FpState {
        let mut b = vec![0u8; Self::size()];
        b[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        b[Self::MXCSR..Self::MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
        if b.len() > Self::FXSAVE_SIZE {
            b[Self::XSTATE_BV..Self::XSTATE_BV + 8].copy_from_slice(&3u64.to_le_bytes());
        }
        FpState(b)
    }
}

/// The user state components the host enabled (XCR0), or 0 if the CPU or
/// the host kernel does not use xsave.
pub fn xfeatures() -> u64 {
    use core::arch::x86_64::__cpuid;
    // CPUID.1:ECX.OSXSAVE (bit 27): the OS enabled xsave and XGETBV.
    if __cpuid(1).ecx & (1 << 27) == 0 {
        return 0;
    }
    xgetbv0()
}

#[target_feature(enable = "xsave")]
fn xgetbv0_inner() -> u64 {
    // SAFETY: XGETBV(0) reads XCR0; the caller checked OSXSAVE, which
    // guarantees the instruction exists and is enabled.
    unsafe { core::arch::x86_64::_xgetbv(0) }
}

fn xgetbv0() -> u64 {
    // SAFETY: only called once CPUID reported OSXSAVE (see `xfeatures`),
    // so the `xsave` target feature the inner function assumes is present.
    unsafe { xgetbv0_inner() }
}

/// Makes a running `switch` return promptly with `Event::Interrupted`.
///
/// An interrupt that finds no `switch` running is remembered, and the next
/// `switch` returns `Interrupted` at once: a task that checked for signals
/// (or the pause gate) just before entering the application cannot miss one
/// sent in between.
#[derive(Clone, Debug, Default)]
pub struct Interrupter {
    state: Arc<std::sync::Mutex<InterruptState>>,
}

#[derive(Debug, Default)]
struct InterruptState {
    /// The host thread running the context (pid, tid), while it runs.
    target: Option<(i32, i32)>,
    /// An interrupt arrived while nothing ran.
    pending: bool,
}

impl Interrupter {
    fn lock(&self) -> std::sync::MutexGuard<'_, InterruptState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that host thread (pid, tid) is about to run the context;
    /// false (and the remembered interrupt is consumed) if an interrupt
    /// came since the last `switch`, in which case it must not run.
    pub fn arm(&self, target: (i32, i32)) -> bool {
        let mut st = self.lock();
        if std::mem::take(&mut st.pending) {
            return false;
        }
        st.target = Some(target);
        true
    }

    /// The context no longer runs.
    pub fn disarm(&self) {
        self.lock().target = None;
    }

    /// Whether the context is running application code now.
    pub fn running(&self) -> bool {
        self.lock().target.is_some()
    }

    pub fn interrupt(&self) {
        let mut st = self.lock();
        match st.target {
            Some((pid, tid)) => ptrace::kick(pid, tid),
            None => st.pending = true,
        }
    }
}
