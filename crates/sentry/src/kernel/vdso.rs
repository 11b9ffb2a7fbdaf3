//! The vDSO in every address space, and the clock behind it (gVisor:
//! `pkg/sentry/loader/vdso.go` and the timekeeper's parameter updates).
//!
//! One copy of the image (crates/vdso) and one parameter page live in the
//! memory file; every address space maps both, read-only, at fixed
//! addresses above the initial stack. A sentry thread keeps the parameters
//! in step with the host's clocks:
//!
//! * At start it samples (TSC, CLOCK_MONOTONIC) twice, 10 ms apart, and
//!   enables the page with the measured rate. Until then, and for good if
//!   the CPU has no invariant TSC, the vDSO makes system calls instead.
//! * Every `INTERVAL` it samples again and re-bases the line the vDSO
//!   follows at the moment of writing, continuous with the old one, with a
//!   slope that absorbs the accumulated error over the next interval
//!   (slewing, bounded to `MAX_SLEW`), so CLOCK_MONOTONIC never goes back.
//!   An error larger than `STEP` (a stalled thread) is stepped forward.
//! * CLOCK_REALTIME and CLOCK_BOOTTIME are offsets from CLOCK_MONOTONIC,
//!   refreshed at each update, so a host `settimeofday` reaches the
//!   sandbox within one interval.
//!
//! The system calls read the host's clocks directly; the two agree to
//! within the slewing error (microseconds).

use crate::mm::{MemoryManager, Placement, SharedPages, VmaKind, STACK_TOP};
use ::vdso::Params;
use abi::{mman, Errno, PAGE_SIZE};
use memfile::MemoryFile;
use platform::tsc;
use rustix::time::{clock_gettime, ClockId};
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zerocopy::IntoBytes;

/// The parameter page: one page above the initial stack's top, below the
/// platform's stub page. The image follows it.
pub const VVAR_ADDR: u64 = STACK_TOP + PAGE_SIZE;

const CALIBRATION: Duration = Duration::from_millis(10);
const INTERVAL: Duration = Duration::from_millis(500);
/// Largest rate correction, in parts per million of the measured rate.
const MAX_SLEW_PPM: u128 = 500;
/// An error (vDSO behind the host) beyond this is stepped, not slewed.
const STEP_NS: i64 = 10_000_000;

pub struct Vdso {
    params: Arc<SharedPages>,
    image: Vec<Arc<SharedPages>>,
}

impl Vdso {
    /// Copies the image into the memory file and starts the clock thread.
    pub fn new(memfile: &Arc<MemoryFile>) -> Result<Vdso, Errno> {
        let params = SharedPages::allocate(memfile, PAGE_SIZE)?;
        let image = ::vdso::IMAGE
            .chunks(PAGE_SIZE as usize)
            .map(|chunk| {
                let page = SharedPages::allocate(memfile, PAGE_SIZE)?;
                page.write(0, chunk);
                Ok(page)
            })
            .collect::<Result<Vec<_>, Errno>>()?;
        if tsc::invariant() {
            let page = params.clone();
            std::thread::Builder::new()
                .name("vdso-clock".into())
                .spawn(move || Clock::calibrate(page).run())
                .map_err(|_| Errno::EAGAIN)?;
        } else {
            tracing::warn!("the CPU has no invariant TSC: the vDSO's clocks make system calls");
        }
        Ok(Vdso { params, image })
    }

    /// Maps the parameter page and the image into a new address space and
    /// returns the image's address (`AT_SYSINFO_EHDR`).
    pub fn map(&self, mm: &MemoryManager) -> Result<u64, Errno> {
        let vvar = Placement::NoReplace(VVAR_ADDR);
        mm.map_shared_pages(vvar, mman::PROT_READ, vec![self.params.clone()], VmaKind::Vvar)?;
        let image = Placement::NoReplace(VVAR_ADDR + PAGE_SIZE);
        let prot = mman::PROT_READ | mman::PROT_EXEC;
        mm.map_shared_pages(image, prot, self.image.clone(), VmaKind::Vdso)
    }
}

/// A host clock reading paired with the TSC.
#[derive(Clone, Copy)]
struct Sample {
    tsc: u64,
    mono: i64,
    real_offset: i64,
    boot_offset: i64,
}

fn ns(clock: ClockId) -> i64 {
    let t = clock_gettime(clock);
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}

impl Sample {
    /// Reads CLOCK_MONOTONIC between two TSC reads, keeping the tightest of
    /// a few tries, and pairs it with the TSC at the midpoint.
    fn take() -> Sample {
        let mut best = (u64::MAX, 0, 0);
        for _ in 0..5 {
            let before = tsc::read();
            let mono = ns(ClockId::Monotonic);
            let after = tsc::read();
            let width = after.wrapping_sub(before);
            if width < best.0 {
                best = (width, before + width / 2, mono);
            }
        }
        let (_, tsc, mono) = best;
        let mono_now = ns(ClockId::Monotonic);
        let real_offset = ns(ClockId::Realtime) - mono_now;
        let boot_offset = ns(ClockId::Boottime) - mono_now;
        Sample { tsc, mono, real_offset, boot_offset }
    }
}

/// Nanoseconds per tick, times 2^32, between two samples.
fn rate(from: &Sample, to: &Sample) -> u64 {
    let dns = (to.mono - from.mono).max(1) as u128;
    let dtsc = to.tsc.saturating_sub(from.tsc).max(1) as u128;
    ((dns << 32) / dtsc) as u64
}

/// `ticks` of the TSC at `mult`, in nanoseconds.
fn scale(ticks: u64, mult: u64) -> i64 {
    ((ticks as u128 * mult as u128) >> 32) as i64
}

struct Clock {
    page: Arc<SharedPages>,
    params: Params,
    last: Sample,
}

impl Clock {
    fn calibrate(page: Arc<SharedPages>) -> Clock {
        let first = Sample::take();
        std::thread::sleep(CALIBRATION);
        let last = Sample::take();
        let params = Params {
            seq: 0,
            enabled: 1,
            tsc_base: last.tsc,
            mult: rate(&first, &last),
            mono_base: last.mono,
            real_offset: last.real_offset,
            boot_offset: last.boot_offset,
        };
        let mut clock = Clock { page, params, last };
        clock.publish();
        clock
    }

    fn run(mut self) {
        loop {
            std::thread::sleep(INTERVAL);
            let now = Sample::take();
            self.rebase(now);
            self.publish();
        }
    }

    /// Re-bases the line at the present TSC so that it stays continuous and
    /// closes the error to the host's clock over the next interval.
    fn rebase(&mut self, now: Sample) {
        let measured = rate(&self.last, &now);
        self.last = now;
        let at = tsc::read();
        let shown = self.params.mono_base + scale(at.saturating_sub(self.params.tsc_base), self.params.mult);
        let host = now.mono + scale(at.saturating_sub(now.tsc), measured);
        let error = host - shown;
        let (base, mult) = if error > STEP_NS {
            (host, measured)
        } else {
            let interval_ticks = ((INTERVAL.as_nanos() << 32) / u128::from(measured).max(1)).max(1);
            let correction = (i128::from(error) << 32) / interval_ticks as i128;
            let bound = (u128::from(measured) * MAX_SLEW_PPM / 1_000_000) as i128;
            let mult = i128::from(measured) + correction.clamp(-bound, bound);
            (shown, mult as u64)
        };
        self.params.tsc_base = at;
        self.params.mono_base = base;
        self.params.mult = mult;
        self.params.real_offset = now.real_offset;
        self.params.boot_offset = now.boot_offset;
    }

    /// Writes the parameters under the page's seqlock.
    fn publish(&mut self) {
        let seq = self.params.seq;
        self.page.store_u32(::vdso::SEQ_OFFSET, seq.wrapping_add(1));
        fence(Ordering::Release);
        self.page.write(::vdso::BODY_OFFSET, &self.params.as_bytes()[::vdso::BODY_OFFSET as usize..]);
        self.params.seq = seq.wrapping_add(2);
        self.page.store_u32(::vdso::SEQ_OFFSET, self.params.seq);
    }
}
