//! `futex(2)` (gVisor: `sys_futex.go`): WAIT/WAKE with bitsets, REQUEUE
//! and CMP_REQUEUE. Priority-inheritance and WAKE_OP return ENOSYS.

use crate::kernel::futex;
use crate::kernel::task::Wake;
use crate::kernel::Task;
use abi::{Errno, Timespec};
use std::time::{Duration, Instant};

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const BITSET_MATCH_ANY: u32 = u32::MAX;

pub fn futex(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (addr, op, val, timeout, addr2, val3) = (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if addr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    // Private futexes (and words in private memory) are keyed by process
    // and address; words in shared memory by their place in the memory
    // file, so processes sharing it meet on the same key.
    let key_of = |at: u64| futex::key(&task.mm, task.pid, at, op & FUTEX_PRIVATE_FLAG != 0);
    let key = key_of(addr);
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { BITSET_MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let deadline = if timeout == 0 {
                None
            } else {
                let ts: Timespec = task.mm.read_obj(timeout)?;
                if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
                    return Err(Errno::EINVAL);
                }
                let d = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                Some(if cmd == FUTEX_WAIT {
                    Instant::now() + d // relative
                } else {
                    absolute_deadline(op & FUTEX_CLOCK_REALTIME != 0, d)
                })
            };
            wait(task, addr, key, val, bitset, deadline)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE { BITSET_MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(task.kernel.futexes.wake(key, val as usize, bitset) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            if addr2 % 4 != 0 {
                return Err(Errno::EINVAL);
            }
            // For the requeue ops the timeout argument is the count to move.
            let (n, m) = (val as usize, timeout as u32 as usize);
            let mm = &task.mm;
            let check = || -> Result<(), Errno> {
                if cmd == FUTEX_CMP_REQUEUE && mm.read_obj::<u32>(addr)? != val3 {
                    return Err(Errno::EAGAIN);
                }
                Ok(())
            };
            task.kernel.futexes.requeue(key, key_of(addr2), n, m, check).map(|c| c as u64)
        }
        _ => {
            if task.kernel.first_unimplemented(u64::MAX - 2 - cmd) {
                tracing::warn!(op = cmd, "futex operation not implemented: ENOSYS (logged once per op)");
            }
            Err(Errno::ENOSYS)
        }
    }
}

fn absolute_deadline(realtime: bool, at: Duration) -> Instant {
    let clock = if realtime { rustix::time::ClockId::Realtime } else { rustix::time::ClockId::Monotonic };
    let now = rustix::time::clock_gettime(clock);
    let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
    Instant::now() + at.saturating_sub(now)
}

fn wait(
    task: &Task,
    addr: u64,
    key: futex::Key,
    val: u32,
    bitset: u32,
    deadline: Option<Instant>,
) -> Result<u64, Errno> {
    let seen = task.wakeups();
    let mm = &task.mm;
    let ticket = task.kernel.futexes.enqueue(key, bitset, task.handle(), || -> Result<(), Errno> {
        if mm.read_obj::<u32>(addr)? != val {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    })?;
    let mut seen = seen;
    loop {
        let how = task.wait_for_wake_until(seen, deadline);
        if ticket.woken() {
            return Ok(0);
        }
        match how {
            // Woken for another reason (a child exited): keep waiting.
            Wake::Woken => seen = task.wakeups(),
            Wake::Interrupted => return if task.kernel.futexes.dequeue(&ticket) { Ok(0) } else { Err(Errno::EINTR) },
            Wake::TimedOut => return if task.kernel.futexes.dequeue(&ticket) { Ok(0) } else { Err(Errno::ETIMEDOUT) },
        }
    }
}
