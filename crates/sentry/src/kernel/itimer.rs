//! The real-time interval timer of a process (`alarm`, `setitimer
//! ITIMER_REAL`), which sends SIGALRM (gVisor: `kernel/task_itimer.go`).
//! An armed timer is a sentry thread sleeping until the deadline; re-arming
//! bumps a generation so an outdated sleeper exits without firing.

use super::signal::{SigInfo, SI_KERNEL};
use super::Kernel;
use abi::signal::SIGALRM;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    deadline: Option<Instant>,
    interval: Duration,
    generation: u64,
}

#[derive(Default)]
pub struct RealTimer {
    state: Mutex<State>,
}

impl RealTimer {
    /// Time left and interval of the armed timer (zero when disarmed).
    pub fn get(&self) -> (Duration, Duration) {
        let st = self.state.lock().unwrap();
        let left = st.deadline.map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now()));
        (left, st.interval)
    }

    /// Arms (or with a zero `value`, disarms) the timer of process `pid`;
    /// returns the previous (left, interval).
    pub fn set(
        self: &Arc<Self>,
        kernel: &Arc<Kernel>,
        pid: i32,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get();
        let mut st = self.state.lock().unwrap();
        st.generation += 1;
        st.interval = interval;
        st.deadline = (!value.is_zero()).then(|| Instant::now() + value);
        if let Some(first) = st.deadline {
            let (me, kernel, generation) = (self.clone(), kernel.clone(), st.generation);
            let spawned = std::thread::Builder::new()
                .name(format!("itimer-{pid}"))
                .spawn(move || me.fire(&kernel, pid, first, generation));
            if let Err(e) = spawned {
                tracing::error!("arming the timer of pid {pid}: {e}");
                st.deadline = None;
            }
        }
        old
    }

    fn fire(&self, kernel: &Kernel, pid: i32, mut deadline: Instant, generation: u64) {
        loop {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            let mut st = self.state.lock().unwrap();
            if st.generation != generation {
                return;
            }
            let target = kernel.procs().get(pid).filter(|p| p.exit.is_none()).map(|p| p.signal_target());
            let Some(target) = target else { return };
            target.send_signal_info(SigInfo::from_sender(SIGALRM, SI_KERNEL, 0, 0));
            if st.interval.is_zero() {
                st.deadline = None;
                return;
            }
            deadline += st.interval;
            st.deadline = Some(deadline);
        }
    }
}
