//! Signal dispositions, masks and pending sets (gVisor:
//! `kernel/task_signals.go`). Delivery to application handlers (signal
//! frames, `rt_sigreturn`) arrives with issue #3; until then a signal whose
//! disposition is a handler stays pending, and this is logged.

use abi::signal::*;

/// What the default disposition of a signal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    CoreDump,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: i32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => {
            DefaultAction::CoreDump
        }
        _ => DefaultAction::Terminate,
    }
}

/// The signal state of a thread group: one action per signal.
#[derive(Debug, Clone)]
pub struct SignalActions {
    actions: [SigAction; NSIG as usize],
}

impl Default for SignalActions {
    fn default() -> SignalActions {
        SignalActions { actions: [SigAction::default(); NSIG as usize] }
    }
}

impl SignalActions {
    pub fn get(&self, sig: i32) -> SigAction {
        self.actions[(sig - 1) as usize]
    }

    pub fn set(&mut self, sig: i32, act: SigAction) {
        self.actions[(sig - 1) as usize] = act;
    }

    /// What execve leaves: handlers reset to default, ignored stays ignored.
    pub fn reset_for_exec(&mut self) {
        for a in &mut self.actions {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }
}

/// The fate of a pending signal, given the disposition in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Discard,
    /// Ends the thread group with this signal.
    Kill,
    /// Needs a handler frame: stays pending until delivery exists.
    Handler,
    /// Job control: not modelled yet, discarded with a log line.
    JobControl,
}

pub fn fate(sig: i32, act: &SigAction) -> Fate {
    if sig == SIGKILL {
        return Fate::Kill;
    }
    if sig == SIGSTOP {
        return Fate::JobControl;
    }
    match act.handler {
        SIG_IGN => Fate::Discard,
        SIG_DFL => match default_action(sig) {
            DefaultAction::Terminate | DefaultAction::CoreDump => Fate::Kill,
            DefaultAction::Ignore => Fate::Discard,
            DefaultAction::Stop | DefaultAction::Continue => Fate::JobControl,
        },
        _ => Fate::Handler,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_follow_dispositions() {
        let dfl = SigAction::default();
        let ign = SigAction { handler: SIG_IGN, ..dfl };
        let handler = SigAction { handler: 0x401000, ..dfl };
        assert_eq!(fate(SIGTERM, &dfl), Fate::Kill);
        assert_eq!(fate(SIGCHLD, &dfl), Fate::Discard);
        assert_eq!(fate(SIGTERM, &ign), Fate::Discard);
        assert_eq!(fate(SIGKILL, &ign), Fate::Kill);
        assert_eq!(fate(SIGTERM, &handler), Fate::Handler);
        assert_eq!(fate(SIGTSTP, &dfl), Fate::JobControl);
    }
}
