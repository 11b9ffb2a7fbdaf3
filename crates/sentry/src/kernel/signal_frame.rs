//! The x86-64 signal frame (Linux: `arch/x86/kernel/signal_64.c`,
//! `x64_setup_rt_frame` and `rt_sigreturn`; gVisor: `arch/signal_amd64.go`)
//! and the alternate signal stack.
//!
//! From the top of the stack the handler runs on (the interrupted `rsp`
//! less the 128-byte red zone, or the top of the alternate stack):
//!
//! ```text
//!   xsave area + FP_XSTATE_MAGIC2    64-byte aligned     <- sigcontext.fpstate
//!   struct rt_sigframe {             (rsp + 8) % 16 == 0 at handler entry
//!       u64 pretcode;                sa_restorer: the handler's `ret` goes there
//!       struct ucontext uc;          304 bytes (flags, link, stack, sigcontext, mask)
//!       siginfo_t info;              128 bytes
//!   }                                                     <- handler's rsp
//! ```
//!
//! The FPU and vector state travels as Linux writes it: the whole xsave
//! image (x87, SSE, AVX, AVX-512... as the host enabled them), its size and
//! features in the fxsave region's software-reserved bytes
//! (`FP_XSTATE_MAGIC1`), `FP_XSTATE_MAGIC2` after it and UC_FP_XSTATE in
//! `uc_flags`. The handler starts with every component in its initial
//! state. `rt_sigreturn` restores a frame with the magic as a whole and a
//! frame without it (a legacy fxsave image) as x87/SSE state with the rest
//! reset, as Linux does; a malformed xsave header is a bad frame (SIGSEGV).

use super::delivery::{force_signal, platform_failure};
use super::signal::SigInfo;
use super::task::Task;
use crate::syscalls::StackT;
use abi::signal::{SigAction, SigSet, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTORER, SA_SIGINFO, SIGBUS, SIGSEGV};
use abi::Errno;
use platform::FpState;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const SS_AUTODISARM: i32 = 1 << 31;
pub const MINSIGSTKSZ: u64 = 2048;

/// The x86-64 ABI's red zone below `rsp`, which a frame must not touch.
const RED_ZONE: u64 = 128;
/// `uc_flags`: the frame records ss, and sigreturn restores it strictly.
const UC_SIGCONTEXT_SS: u64 = 0x2;
const UC_STRICT_RESTORE_SS: u64 = 0x4;
/// User code and stack segments of 64-bit mode.
const USER_CS: u64 = 0x33;
const USER_DS: u64 = 0x2b;
/// The eflags bits sigreturn takes from the frame (Linux `FIX_EFLAGS`).
const FIX_EFLAGS: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000;
/// The eflags bits a handler starts with cleared: DF, RF, TF.
const HANDLER_CLEARS: u64 = 0x400 | 0x1_0000 | 0x100;
/// The software-reserved tail of the fxsave image (bytes 464..512), where
/// an xsave frame puts `struct _fpx_sw_bytes`; a plain fxsave frame leaves
/// it zero.
const FX_SW_RESERVED: usize = 464;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// `uc_flags`: the frame's fpstate is an xsave image.
const UC_FP_XSTATE: u64 = 0x1;
/// The page-fault exception vector, as `sigcontext.trapno` reports it.
const X86_TRAP_PF: u64 = 14;

/// `struct sigcontext` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    pub fpstate: u64,
    pub reserved: [u64; 8],
}

/// The kernel's `struct ucontext` (not glibc's larger `ucontext_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct UContext {
    pub flags: u64,
    pub link: u64,
    pub stack: StackT,
    pub mcontext: SigContext,
    pub sigmask: u64,
}

/// `struct rt_sigframe`; the fxsave area sits above it.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RtSigFrame {
    pub pretcode: u64,
    pub uc: UContext,
    pub info: SigInfo,
}

const FRAME_SIZE: u64 = std::mem::size_of::<RtSigFrame>() as u64;

/// Linux `__on_sig_stack`: `sp` lies within the alternate stack.
fn within(ss: &StackT, sp: u64) -> bool {
    sp > ss.sp && sp - ss.sp <= ss.size
}

/// Linux `on_sig_stack` (an auto-disarming stack never counts).
pub fn on_sig_stack(ss: &StackT, sp: u64) -> bool {
    ss.flags & SS_AUTODISARM == 0 && within(ss, sp)
}

/// Linux `sas_ss_flags`: SS_DISABLE, SS_ONSTACK or 0.
pub fn sas_ss_flags(ss: &StackT, sp: u64) -> i32 {
    if ss.size == 0 {
        SS_DISABLE
    } else if on_sig_stack(ss, sp) {
        SS_ONSTACK
    } else {
        0
    }
}

/// `sigaltstack` (Linux `do_sigaltstack`) with the stack pointer `sp`:
/// installs `new` if given and returns the previous setting.
pub fn do_sigaltstack(task: &mut Task, new: Option<StackT>, sp: u64) -> Result<StackT, Errno> {
    let cur = task.altstack;
    let old =
        StackT { sp: cur.sp, size: cur.size, flags: sas_ss_flags(&cur, sp) | (cur.flags & SS_AUTODISARM), pad: 0 };
    if let Some(ss) = new {
        if on_sig_stack(&cur, sp) {
            return Err(Errno::EPERM);
        }
        let mode = ss.flags & !SS_AUTODISARM;
        if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
            return Err(Errno::EINVAL);
        }
        task.altstack = if mode == SS_DISABLE {
            StackT { sp: 0, size: 0, flags: ss.flags, pad: 0 }
        } else {
            if ss.size < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            StackT { sp: ss.sp, size: ss.size, flags: ss.flags, pad: 0 }
        };
    }
    Ok(old)
}

/// Bytes the FPU area of a frame takes for `fp` (with MAGIC2 after an
/// xsave image).
fn fp_area_size(fp: &FpState) -> u64 {
    fp.0.len() as u64 + if fp.is_xsave() { 4 } else { 0 }
}

/// Where the frame and its FPU area (of `fp_size` bytes) go: (frame
/// address, fpstate address). EFAULT if an alternate-stack frame would
/// overflow the alternate stack.
fn frame_place(regs_sp: u64, act: &SigAction, ss: &StackT, fp_size: u64) -> Result<(u64, u64), Errno> {
    let nested_altstack = on_sig_stack(ss, regs_sp);
    let mut sp = regs_sp.wrapping_sub(RED_ZONE);
    let mut entering_altstack = false;
    if act.flags & SA_ONSTACK != 0 && sas_ss_flags(ss, sp) == 0 {
        sp = ss.sp.wrapping_add(ss.size);
        entering_altstack = true;
    }
    let fpstate = sp.wrapping_sub(fp_size) & !63;
    let frame = (fpstate.wrapping_sub(FRAME_SIZE) & !15).wrapping_sub(8);
    if (nested_altstack || entering_altstack) && !within(ss, frame) {
        return Err(Errno::EFAULT);
    }
    Ok((frame, fpstate))
}

/// Pushes a frame for `info` and points the task at the handler of `act`
/// (Linux `handle_signal`): EFAULT if the frame can't be written, which the
/// caller turns into SIGSEGV. Platform failures end the task.
pub fn setup_frame(task: &mut Task, info: SigInfo, act: &SigAction) -> Result<(), Errno> {
    // x86-64 always returns through sa_restorer; without one Linux fails.
    if act.flags & SA_RESTORER == 0 {
        return Err(Errno::EFAULT);
    }
    let regs = task.regs;
    let mut fp = match task.ctx.fp_state(&**task.mm.space()) {
        Ok(fp) => fp,
        Err(e) => {
            platform_failure(task, &e.to_string());
            return Ok(());
        }
    };
    let (frame_addr, fp_addr) = frame_place(regs.rsp, act, &task.altstack, fp_area_size(&fp))?;
    fp.0[FX_SW_RESERVED..FpState::FXSAVE_SIZE].fill(0);
    let mut uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    if fp.is_xsave() {
        // struct _fpx_sw_bytes: magic1, extended_size, xfeatures, xstate_size.
        let size = fp.0.len() as u32;
        let sw = &mut fp.0[FX_SW_RESERVED..];
        sw[0..4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
        sw[4..8].copy_from_slice(&(size + 4).to_le_bytes());
        sw[8..16].copy_from_slice(&platform::xfeatures().to_le_bytes());
        sw[16..20].copy_from_slice(&size.to_le_bytes());
        task.mm.copy_out(fp_addr + u64::from(size), &FP_XSTATE_MAGIC2.to_le_bytes())?;
        uc_flags |= UC_FP_XSTATE;
    }
    task.mm.copy_out(fp_addr, &fp.0)?;

    let saved_mask = task.sigstate.saved_mask.unwrap_or(task.mask);
    let fault = info.is_fault();
    let page_fault = fault && (info.signo == SIGSEGV || info.signo == SIGBUS);
    let mcontext = SigContext {
        r8: regs.r8,
        r9: regs.r9,
        r10: regs.r10,
        r11: regs.r11,
        r12: regs.r12,
        r13: regs.r13,
        r14: regs.r14,
        r15: regs.r15,
        rdi: regs.rdi,
        rsi: regs.rsi,
        rbp: regs.rbp,
        rbx: regs.rbx,
        rdx: regs.rdx,
        rax: regs.rax,
        rcx: regs.rcx,
        rsp: regs.rsp,
        rip: regs.rip,
        eflags: regs.eflags,
        cs: regs.cs as u16,
        gs: 0,
        fs: 0,
        ss: regs.ss as u16,
        // ptrace does not report the page-fault error code; user mode is
        // all that is known for sure (bit 2).
        err: if page_fault { 4 } else { 0 },
        trapno: if page_fault { X86_TRAP_PF } else { 0 },
        oldmask: saved_mask.0,
        cr2: if page_fault { info.addr() } else { 0 },
        fpstate: fp_addr,
        reserved: [0; 8],
    };
    let frame = RtSigFrame {
        pretcode: act.restorer,
        uc: UContext {
            flags: uc_flags,
            link: 0,
            stack: StackT { pad: 0, ..task.altstack },
            mcontext,
            sigmask: saved_mask.0,
        },
        // Linux copies siginfo only for SA_SIGINFO handlers.
        info: if act.flags & SA_SIGINFO != 0 { info } else { SigInfo::kernel(0) },
    };
    task.mm.write_obj(frame_addr, &frame)?;

    // The frame is written: nothing can fail any more.
    if task.altstack.flags & SS_AUTODISARM != 0 {
        task.altstack = StackT { sp: 0, size: 0, flags: SS_DISABLE, pad: 0 };
    }
    if let Err(e) = task.ctx.set_fp_state(&**task.mm.space(), &FpState::initial()) {
        platform_failure(task, &e.to_string());
        return Ok(());
    }
    let r = &mut task.regs;
    r.rdi = info.signo as u64;
    r.rsi = frame_addr + std::mem::offset_of!(RtSigFrame, info) as u64;
    r.rdx = frame_addr + std::mem::offset_of!(RtSigFrame, uc) as u64;
    r.rax = 0;
    r.rip = act.handler;
    r.rsp = frame_addr;
    r.cs = USER_CS;
    r.ss = USER_DS;
    r.eflags &= !HANDLER_CLEARS;
    r.orig_rax = u64::MAX;

    task.sigstate.saved_mask = None;
    let mut mask = task.mask.0 | act.mask;
    if act.flags & SA_NODEFER == 0 {
        mask |= 1 << (info.signo - 1);
    }
    task.mask = SigSet(mask).blockable();
    if act.flags & SA_RESETHAND != 0 {
        task.actions.set(info.signo, SigAction::default());
    }
    Ok(())
}

/// `rt_sigreturn(2)`: restores what `setup_frame` saved, from the frame
/// at `rsp - 8` (the handler's `ret` popped `pretcode`). Returns the
/// restored `rax`; a bad frame raises SIGSEGV, as on Linux.
pub fn sigreturn(task: &mut Task) -> Result<u64, Errno> {
    let frame_addr = task.regs.rsp.wrapping_sub(8);
    match restore(task, frame_addr) {
        Ok(()) => Ok(task.regs.rax),
        Err(e) => {
            tracing::debug!(frame = format_args!("{frame_addr:#x}"), "bad rt_sigreturn frame ({e:?}): SIGSEGV");
            force_signal(task, SigInfo::kernel(SIGSEGV));
            Ok(0)
        }
    }
}

fn restore(task: &mut Task, frame_addr: u64) -> Result<(), Errno> {
    let frame: RtSigFrame = task.mm.read_obj(frame_addr)?;
    task.mask = SigSet(frame.uc.sigmask).blockable();
    let sc = frame.uc.mcontext;
    let cs = u64::from(sc.cs) | 3;
    let mut ss = u64::from(sc.ss) | 3;
    if ss != USER_DS && frame.uc.flags & UC_STRICT_RESTORE_SS == 0 {
        ss = USER_DS;
    }
    // Only 64-bit user mode is supported: any other selector would fault
    // on the way back to user mode (and ptrace refuses it).
    if cs != USER_CS || ss != USER_DS {
        return Err(Errno::EINVAL);
    }
    let fp = if sc.fpstate == 0 { FpState::initial() } else { read_fp_area(task, sc.fpstate)? };
    let r = &mut task.regs;
    (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) =
        (sc.r8, sc.r9, sc.r10, sc.r11, sc.r12, sc.r13, sc.r14, sc.r15);
    (r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip) =
        (sc.rdi, sc.rsi, sc.rbp, sc.rbx, sc.rdx, sc.rax, sc.rcx, sc.rsp, sc.rip);
    r.cs = cs;
    r.ss = ss;
    r.eflags = (r.eflags & !FIX_EFLAGS) | (sc.eflags & FIX_EFLAGS);
    // Not a system call any more: no restart handling on this return.
    r.orig_rax = u64::MAX;
    task.sigstate.restart = None;
    if let Err(e) = task.ctx.set_fp_state(&**task.mm.space(), &fp) {
        // ptrace refuses reserved MXCSR bits, where fxrstor would fault.
        tracing::debug!("rt_sigreturn: FPU state refused: {e}");
        return Err(Errno::EFAULT);
    }
    // Errors other than EFAULT are squashed, as on Linux.
    let sp = task.regs.rsp;
    let _ = do_sigaltstack(task, Some(frame.uc.stack), sp);
    Ok(())
}

/// The FPU state a frame's fpstate area holds: a whole xsave image when the
/// magic says so (and its size is this CPU's), else the legacy fxsave
/// region with every other component reset (Linux's `fx_only` path).
fn read_fp_area(task: &Task, at: u64) -> Result<FpState, Errno> {
    if !at.is_multiple_of(64) {
        return Err(Errno::EFAULT);
    }
    let mut fx = [0u8; FpState::FXSAVE_SIZE];
    task.mm.copy_in(at, &mut fx)?;
    let word = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let mut fp = FpState::initial();
    let size = word(&fx, FX_SW_RESERVED + 16) as usize;
    let xsave = fp.is_xsave()
        && word(&fx, FX_SW_RESERVED) == FP_XSTATE_MAGIC1
        && size == fp.0.len()
        && word(&fx, FX_SW_RESERVED + 4) as usize == size + 4
        && {
            let mut magic2 = [0u8; 4];
            task.mm.copy_in(at + size as u64, &mut magic2)?;
            u32::from_le_bytes(magic2) == FP_XSTATE_MAGIC2
        };
    if xsave {
        task.mm.copy_in(at, &mut fp.0)?;
    } else {
        fp.0[..FX_SW_RESERVED].copy_from_slice(&fx[..FX_SW_RESERVED]);
    }
    fp.0[FX_SW_RESERVED..FpState::FXSAVE_SIZE].fill(0);
    Ok(fp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_linux() {
        assert_eq!(size_of::<SigContext>(), 256);
        assert_eq!(size_of::<UContext>(), 304);
        assert_eq!(size_of::<SigInfo>(), 128);
        assert_eq!(size_of::<RtSigFrame>(), 440);
        assert_eq!(offset_of!(UContext, stack), 16);
        assert_eq!(offset_of!(UContext, mcontext), 40);
        assert_eq!(offset_of!(UContext, sigmask), 296);
        assert_eq!(offset_of!(SigContext, rdi), 64);
        assert_eq!(offset_of!(SigContext, rax), 104);
        assert_eq!(offset_of!(SigContext, rsp), 120);
        assert_eq!(offset_of!(SigContext, rip), 128);
        assert_eq!(offset_of!(SigContext, eflags), 136);
        assert_eq!(offset_of!(SigContext, cs), 144);
        assert_eq!(offset_of!(SigContext, ss), 150);
        assert_eq!(offset_of!(SigContext, err), 152);
        assert_eq!(offset_of!(SigContext, trapno), 160);
        assert_eq!(offset_of!(SigContext, oldmask), 168);
        assert_eq!(offset_of!(SigContext, cr2), 176);
        assert_eq!(offset_of!(SigContext, fpstate), 184);
        assert_eq!(offset_of!(RtSigFrame, uc), 8);
        assert_eq!(offset_of!(RtSigFrame, info), 312);
    }

    /// An xsave area with AVX-512 and MAGIC2.
    const FP_SIZE: u64 = 2432 + 4;

    fn handler(flags: u64) -> SigAction {
        SigAction { handler: 0x401000, flags: flags | SA_RESTORER, restorer: 0x401100, mask: 0 }
    }

    #[test]
    fn frame_is_aligned_below_the_red_zone() {
        let disabled = StackT { sp: 0, size: 0, flags: SS_DISABLE, pad: 0 };
        for sp in [0x7fff_f000u64, 0x7fff_effd, 0x7fff_ef88, 0x7fff_ef41] {
            let (frame, fp) = frame_place(sp, &handler(0), &disabled, FP_SIZE).unwrap();
            assert_eq!(fp % 64, 0);
            assert!(fp + FP_SIZE <= sp - RED_ZONE);
            assert!(frame + FRAME_SIZE <= fp);
            assert_eq!((frame + 8) % 16, 0, "(rsp + 8) % 16 == 0 at handler entry");
        }
    }

    #[test]
    fn onstack_uses_the_alternate_stack_once() {
        let ss = StackT { sp: 0x10_0000, size: 0x4000, flags: 0, pad: 0 };
        let (frame, _) = frame_place(0x7fff_f000, &handler(SA_ONSTACK), &ss, FP_SIZE).unwrap();
        assert!(within(&ss, frame));
        assert_eq!(sas_ss_flags(&ss, frame), SS_ONSTACK);
        // Nested: already on it, so the frame goes below the current sp.
        let (nested, _) = frame_place(frame, &handler(SA_ONSTACK), &ss, FP_SIZE).unwrap();
        assert!(nested < frame && within(&ss, nested));
        // Without SA_ONSTACK the normal stack is used.
        let (normal, _) = frame_place(0x7fff_f000, &handler(0), &ss, FP_SIZE).unwrap();
        assert!(!within(&ss, normal));
        // Overflowing the alternate stack is refused.
        let tiny = StackT { sp: 0x10_0000, size: 0x200, flags: 0, pad: 0 };
        assert_eq!(frame_place(0x7fff_f000, &handler(SA_ONSTACK), &tiny, FP_SIZE), Err(Errno::EFAULT));
    }
}
