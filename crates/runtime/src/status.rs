//! Container statuses and the one table of what may happen in each.
//!
//! Every lifecycle operation asks [`check`] first, so a status never moves
//! along an edge that is not in [`TRANSITIONS`] (runsc let a created
//! container be paused and a paused one be deleted; this table is where
//! such rules are decided, once).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The OCI status of a container (runtime-spec "state").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is building the sandbox.
    Creating,
    /// The sandbox is ready and waits for `start`.
    Created,
    /// The container's init runs.
    Running,
    /// Started, then paused: no task of the sandbox runs application code.
    Paused,
    /// The init has exited, or the sandbox is gone.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What a command does to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `create` finished building the sandbox.
    FinishCreate,
    Start,
    /// Send a signal; the status does not change by itself.
    Kill,
    /// Start another process in the container (`exec`).
    Exec,
    /// List the container's processes (`ps`).
    Ps,
    /// Report its resource use (`events`).
    Events,
    Pause,
    Resume,
    /// The init or the sandbox ended (observed, not requested).
    Exit,
    /// Remove a stopped container.
    Delete,
    /// Kill whatever runs and remove the container.
    ForceDelete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::FinishCreate => "finish creating",
            Action::Start => "start",
            Action::Kill => "signal",
            Action::Exec => "exec in",
            Action::Ps => "list the processes of",
            Action::Events => "report the resource use of",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Exit => "record the exit of",
            Action::Delete => "delete",
            Action::ForceDelete => "force-delete",
        })
    }
}

use Action as A;
use Status as S;

/// `(from, action, to)`: the only allowed moves (runc's rules: pause only a
/// running container, resume only a paused one; exec only into a running
/// one). `to == from` means the
/// action is allowed and leaves the status alone. `Delete`/`ForceDelete`
/// end in `Stopped` and the record is then removed.
pub const TRANSITIONS: &[(Status, Action, Status)] = &[
    (S::Creating, A::FinishCreate, S::Created),
    (S::Creating, A::Exit, S::Stopped),
    (S::Creating, A::ForceDelete, S::Stopped),
    (S::Created, A::Start, S::Running),
    (S::Created, A::Kill, S::Created),
    (S::Created, A::Ps, S::Created),
    (S::Created, A::Events, S::Created),
    (S::Created, A::Exit, S::Stopped),
    (S::Created, A::ForceDelete, S::Stopped),
    (S::Running, A::Kill, S::Running),
    (S::Running, A::Exec, S::Running),
    (S::Running, A::Ps, S::Running),
    (S::Running, A::Events, S::Running),
    (S::Running, A::Pause, S::Paused),
    (S::Running, A::Exit, S::Stopped),
    (S::Running, A::ForceDelete, S::Stopped),
    // A paused container can still be signalled (a SIGKILL gets through
    // and ends it), listed and deleted by force, but not exec'd into.
    (S::Paused, A::Resume, S::Running),
    (S::Paused, A::Kill, S::Paused),
    (S::Paused, A::Ps, S::Paused),
    (S::Paused, A::Events, S::Paused),
    (S::Paused, A::Exit, S::Stopped),
    (S::Paused, A::ForceDelete, S::Stopped),
    (S::Stopped, A::Delete, S::Stopped),
    (S::Stopped, A::ForceDelete, S::Stopped),
];

/// The status after `action` in `from`, or `None` if not allowed.
pub fn check(from: Status, action: Action) -> Option<Status> {
    TRANSITIONS.iter().find(|&&(f, a, _)| f == from && a == action).map(|&(_, _, to)| to)
}

impl Status {
    /// Whether the sandbox process is supposed to exist.
    pub fn sandbox_expected(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_S: [Status; 5] = [S::Creating, S::Created, S::Running, S::Paused, S::Stopped];
    const ALL_A: [Action; 11] = [
        A::FinishCreate,
        A::Start,
        A::Kill,
        A::Exec,
        A::Ps,
        A::Events,
        A::Pause,
        A::Resume,
        A::Exit,
        A::Delete,
        A::ForceDelete,
    ];

    #[test]
    fn lifecycle_follows_the_oci_order() {
        assert_eq!(check(S::Creating, A::FinishCreate), Some(S::Created));
        assert_eq!(check(S::Created, A::Start), Some(S::Running));
        assert_eq!(check(S::Running, A::Exit), Some(S::Stopped));
        assert_eq!(check(S::Stopped, A::Delete), Some(S::Stopped));
    }

    #[test]
    fn forbidden_moves() {
        assert_eq!(check(S::Running, A::Start), None, "start twice");
        assert_eq!(check(S::Stopped, A::Start), None, "restart");
        assert_eq!(check(S::Creating, A::Start), None);
        assert_eq!(check(S::Stopped, A::Kill), None, "signal a dead container");
        assert_eq!(check(S::Creating, A::Kill), None);
        assert_eq!(check(S::Created, A::Delete), None, "delete needs --force");
        assert_eq!(check(S::Running, A::Delete), None);
        assert_eq!(check(S::Created, A::FinishCreate), None);
        assert_eq!(check(S::Created, A::Pause), None, "pause before start");
        assert_eq!(check(S::Stopped, A::Pause), None);
        assert_eq!(check(S::Paused, A::Pause), None, "pause twice");
        assert_eq!(check(S::Running, A::Resume), None, "resume a running container");
        assert_eq!(check(S::Created, A::Exec), None, "exec before start");
        assert_eq!(check(S::Paused, A::Exec), None);
        assert_eq!(check(S::Stopped, A::Exec), None);
        assert_eq!(check(S::Paused, A::Delete), None, "delete of a paused container needs --force");
    }

    #[test]
    fn pause_and_resume() {
        assert_eq!(check(S::Running, A::Pause), Some(S::Paused));
        assert_eq!(check(S::Paused, A::Resume), Some(S::Running));
        assert_eq!(check(S::Paused, A::Kill), Some(S::Paused));
        assert_eq!(check(S::Paused, A::Exit), Some(S::Stopped));
    }

    #[test]
    fn table_is_a_function_and_only_moves_forward() {
        // Running and paused are one step of the lifecycle, entered and
        // left either way.
        let rank = |s: Status| match s {
            S::Paused => 2,
            s => ALL_S.iter().position(|&x| x == s).unwrap().min(3),
        };
        for s in ALL_S {
            for a in ALL_A {
                let n = TRANSITIONS.iter().filter(|&&(f, x, _)| f == s && x == a).count();
                assert!(n <= 1, "{s} {a} listed twice");
                if let Some(to) = check(s, a) {
                    assert!(rank(to) >= rank(s), "{s} --{a}--> {to} goes backwards");
                }
            }
            // Every status can be cleaned up by force.
            assert!(check(s, A::ForceDelete).is_some());
        }
    }

    #[test]
    fn serializes_lowercase() {
        assert_eq!(serde_json::to_string(&S::Running).unwrap(), "\"running\"");
    }
}
