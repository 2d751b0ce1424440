//! The end of a run: unwinding every task still alive, and the report of
//! a deadlock (the tasks blocked with nothing left to wake them).

use std::fmt;

use super::{Core, State, TaskEntry};
use crate::park::Reason;
use crate::task::TaskId;

impl Core {
    pub(super) fn deadlock_report(&self) -> DeadlockReport {
        let tasks = self.tasks.borrow();
        let blocked = tasks
            .iter()
            .filter_map(|(index, t)| match t.hot().state.get() {
                State::Parked => Some(BlockedTask {
                    id: TaskId::from_parts(index as u32, t.serial),
                    name: t.cold().name.as_deref().map(str::to_owned),
                    daemon: t.daemon,
                    reason: t.hot().reason.get(),
                    lock: t
                        .cold()
                        .lock_wait
                        .as_ref()
                        .map(|l| self.describe_held(l, &tasks)),
                }),
                _ => None,
            })
            .collect();
        let report = DeadlockReport::new(blocked);
        tracing::error!(%report, "deadlock");
        report
    }

    /// `Lock 'a' held by task 3 'b'` (or `..., free` when nobody holds it).
    pub(super) fn describe_held(
        &self,
        lock: &crate::lock_cycle::LockIdent,
        tasks: &slab::Slab<TaskEntry>,
    ) -> String {
        let lock_name = lock.describe();
        match lock.owner.get() {
            Some(owner) => {
                let name = tasks
                    .get(owner.index())
                    .filter(|t| t.serial == owner.serial())
                    .and_then(|t| t.cold().name.as_deref());
                match name {
                    Some(name) => format!("{lock_name} held by task {owner} '{name}'"),
                    None => format!("{lock_name} held by task {owner}"),
                }
            }
            None => format!("{lock_name}, free"),
        }
    }

    /// Unwinds every task still alive (daemons at the end of `run`, everything
    /// after a deadlock or when the runtime is dropped), so their `Drop`s run.
    pub(crate) fn shutdown(&self) {
        // A task that swallows its cancellation and keeps parking is given a
        // few more turns, then dropped (corosensei force-unwinds it).
        for _ in 0..8 {
            let ids: Vec<TaskId> = self
                .tasks
                .borrow()
                .iter()
                .map(|(index, t)| TaskId::from_parts(index as u32, t.serial))
                .collect();
            if ids.is_empty() {
                return;
            }
            for &id in &ids {
                self.cancel(id);
            }
            while let Some(task) = self.ready.pop_front() {
                self.run_queued(task);
            }
        }
        // Emptied before the tasks are dropped: the queue holds their heads.
        self.ready.clear();
        let leftover: Vec<TaskEntry> = self.tasks.borrow_mut().drain().collect();
        for entry in leftover {
            tracing::warn!(
                task = entry.serial,
                "task ignored cancellation; dropping its stack"
            );
            drop(entry);
        }
        self.live.set(0);
        self.external.set(0);
    }
}

/// The tasks blocked when a deadlock was detected, and what each waited on.
#[derive(Debug, Clone)]
pub struct DeadlockReport {
    blocked: Vec<BlockedTask>,
}

/// One blocked task in a [`DeadlockReport`].
#[derive(Debug, Clone)]
pub struct BlockedTask {
    /// The task.
    pub id: TaskId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Whether it is a daemon.
    pub daemon: bool,
    /// What it waits on.
    pub reason: Reason,
    /// For a wait on an owned lock (`Lock`, `RLock`, `Mutex`): which lock
    /// (its name or creation site) and which task holds it, e.g.
    /// `Lock 'accounts' held by task 3 'teller'`.
    pub lock: Option<String>,
}

impl DeadlockReport {
    pub(crate) fn new(blocked: Vec<BlockedTask>) -> Self {
        DeadlockReport { blocked }
    }

    /// Every parked task, in spawn-slot order.
    pub fn blocked(&self) -> &[BlockedTask] {
        &self.blocked
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deadlock: {} task(s) blocked with nothing left to wake them",
            self.blocked.len()
        )?;
        for t in &self.blocked {
            write!(f, "\n  task {}", t.id)?;
            if let Some(name) = &t.name {
                write!(f, " '{name}'")?;
            }
            if t.daemon {
                f.write_str(" (daemon)")?;
            }
            match &t.lock {
                Some(lock) => write!(f, " waits on {lock}")?,
                None => write!(f, " waits on {}", t.reason)?,
            }
        }
        Ok(())
    }
}
