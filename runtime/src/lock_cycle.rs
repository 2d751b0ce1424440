//! The data of lock-cycle detection: a lock's identity and owner, the cycle
//! report, and what to do when one closes. A leaf module: the task table
//! and the join errors hold these without importing the detector
//! (`deadlock.rs`).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use crate::task_id::TaskId;

/// What the runtime does when a lock cycle closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockCycleAction {
    /// Report the cycle (`tracing` error and stderr) and let the tasks wait
    /// (the default: nothing changes in what the program does).
    #[default]
    Report,
    /// Report it, and make the untimed acquire that closed the cycle unwind
    /// in its task, which ends with [`JoinError::Deadlock`](crate::JoinError::Deadlock).
    /// Timed acquires (`acquire_timeout`) are left to their timeout.
    FailAcquire,
    /// Do not look for cycles (the idle-time report of `Runtime::run` still
    /// catches them when nothing else is alive, and still names the lock
    /// and its holder).
    Off,
}

/// Who an owned lock is, and who holds it.
pub(crate) struct LockIdent {
    /// `Lock`, `RLock` or `Mutex`.
    pub(crate) kind: &'static str,
    /// The name given at construction, if any.
    pub(crate) name: Option<Cow<'static, str>>,
    /// Where the lock was created.
    pub(crate) site: &'static Location<'static>,
    /// The task that acquired it (or was handed it), while it is held.
    pub(crate) owner: Cell<Option<TaskId>>,
}

impl LockIdent {
    pub(crate) fn new(
        kind: &'static str,
        name: Option<Cow<'static, str>>,
        site: &'static Location<'static>,
    ) -> Rc<LockIdent> {
        Rc::new(LockIdent {
            kind,
            name,
            site,
            owner: Cell::new(None),
        })
    }

    /// `Lock 'accounts'` or `Lock created at src/main.rs:3:9`.
    pub(crate) fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{} '{name}'", self.kind),
            None => format!("{} created at {}", self.kind, self.site),
        }
    }
}

/// One task in a [`LockCycle`].
#[derive(Debug, Clone)]
pub struct CycleLink {
    /// The task.
    pub task: TaskId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The lock it holds that the previous link waits for.
    pub holds: String,
    /// The lock it waits for (held by the next link).
    pub waits_for: String,
}

/// Tasks waiting for each other's locks in a circle: none can go on.
#[derive(Debug, Clone)]
pub struct LockCycle {
    links: Vec<CycleLink>,
}

impl LockCycle {
    pub(crate) fn new(links: Vec<CycleLink>) -> LockCycle {
        LockCycle { links }
    }

    /// The tasks in the cycle, starting with the one whose acquire closed
    /// it; each waits for a lock the next one holds, the last for one the
    /// first holds.
    pub fn links(&self) -> &[CycleLink] {
        &self.links
    }
}

impl fmt::Display for LockCycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deadlock: lock cycle of {} task(s)", self.links.len())?;
        for l in &self.links {
            write!(f, "\n  task {}", l.task)?;
            if let Some(name) = &l.name {
                write!(f, " '{name}'")?;
            }
            write!(f, " holds {} and waits for {}", l.holds, l.waits_for)?;
        }
        Ok(())
    }
}

impl std::error::Error for LockCycle {}

/// The panic payload a deadlock victim unwinds with.
pub(crate) struct Victim(pub(crate) LockCycle);
