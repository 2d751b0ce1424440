//! Task dumps: every live task, what it waits on and for how long, where it
//! was spawned; taken by the loop between two resumes, or, when the loop
//! does not answer (a task holds it), from what other threads can see.

use std::fmt;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::task::TaskId;
use crate::watch::Watch;

/// Where a task is in its life, in a [`TaskDump`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Being resumed right now (the task that took the dump, or the one
    /// holding a stalled loop).
    Running,
    /// In the ready queue.
    Ready,
    /// Parked until something wakes it.
    Parked,
    /// Not known: the loop did not answer (see [`TaskDump::complete`]).
    Unknown,
}

/// One task in a [`TaskDump`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DumpedTask {
    /// The task.
    pub id: TaskId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Running, ready or parked.
    pub state: TaskState,
    /// What it waits on when parked, in words: `Lock 'a' held by task 3 'b'`,
    /// `I/O readiness (read)`, `sleep until +1.2s`, `Queue::get`,
    /// `join of task 4 'worker'`, `bridge spawn_blocking`.
    pub waits_on: Option<String>,
    /// How long it has been parked (to the loop's last turn).
    pub parked_for: Option<Duration>,
    /// Where it was spawned.
    pub spawned_at: String,
    /// Whether it is a daemon.
    pub daemon: bool,
}

/// Every live task of a runtime, from [`Runtime::dump`](crate::Runtime::dump)
/// or [`Handle::dump`](crate::Handle::dump). `Display` prints one line per
/// task.
#[derive(Clone, Debug, Default)]
pub struct TaskDump {
    pub(crate) tasks: Vec<DumpedTask>,
    /// Who holds a stalled loop, and for how long, per the stall watchdog.
    pub(crate) stalled: Option<(String, Duration)>,
    /// False when the loop did not answer and the dump was built from the
    /// labels other threads can see (no states, no waits).
    pub(crate) complete: bool,
}

impl TaskDump {
    /// The live tasks, in task-slot order.
    pub fn tasks(&self) -> &[DumpedTask] {
        &self.tasks
    }

    /// The task the stall watchdog saw holding the loop past the threshold,
    /// and for how long, if the loop is stalled right now.
    pub fn stalled(&self) -> Option<(&str, Duration)> {
        self.stalled.as_ref().map(|(who, d)| (who.as_str(), *d))
    }

    /// Whether the loop itself built the dump. `false` when it did not answer
    /// in time (it is stalled, or not running): then only ids, names and
    /// spawn sites are known.
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// The dump built from the labels alone, when the loop cannot answer.
    pub(crate) fn from_watch(watch: &Watch) -> TaskDump {
        let tasks = watch
            .labels
            .all()
            .into_iter()
            .map(|(index, l)| DumpedTask {
                id: TaskId::from_parts(index as u32, l.serial),
                name: l.name.as_deref().map(str::to_owned),
                state: TaskState::Unknown,
                waits_on: None,
                parked_for: None,
                spawned_at: l.site.to_string(),
                daemon: false,
            })
            .collect();
        TaskDump {
            tasks,
            stalled: stalled(watch),
            complete: false,
        }
    }
}

/// The stall in progress, if the watchdog reported one.
pub(crate) fn stalled(watch: &Watch) -> Option<(String, Duration)> {
    let stalled = watch.stalled.lock().unwrap_or_else(|e| e.into_inner());
    stalled
        .as_ref()
        .map(|(who, since)| (who.clone(), since.elapsed()))
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "weft task dump: {} task(s)", self.tasks.len())?;
        if let Some((who, held)) = &self.stalled {
            write!(
                f,
                "; the loop is STALLED: task {who} has held it for {held:.2?}"
            )?;
        }
        if !self.complete {
            f.write_str("; the loop did not answer, states unknown")?;
        }
        for t in &self.tasks {
            write!(f, "\n  task {}", t.id)?;
            if let Some(name) = &t.name {
                write!(f, " '{name}'")?;
            }
            if t.daemon {
                f.write_str(" (daemon)")?;
            }
            match t.state {
                TaskState::Running => f.write_str(": running")?,
                TaskState::Ready => f.write_str(": ready")?,
                TaskState::Parked => f.write_str(": parked")?,
                TaskState::Unknown => {}
            }
            if let Some(w) = &t.waits_on {
                write!(f, " on {w}")?;
            }
            if let Some(d) = t.parked_for {
                write!(f, " for {d:.2?}")?;
            }
            write!(f, ", spawned at {}", t.spawned_at)?;
        }
        Ok(())
    }
}

/// Where the loop leaves a dump another thread asked for.
#[derive(Default)]
pub(crate) struct DumpSlot {
    dump: Mutex<Option<TaskDump>>,
    done: Condvar,
}

impl DumpSlot {
    pub(crate) fn fill(&self, dump: TaskDump) {
        *self.dump.lock().unwrap_or_else(|e| e.into_inner()) = Some(dump);
        self.done.notify_all();
    }

    /// Waits up to `timeout` for the loop's answer.
    pub(crate) fn wait(&self, timeout: Duration) -> Option<TaskDump> {
        let guard = self.dump.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .done
            .wait_timeout_while(guard, timeout, |d| d.is_none())
            .unwrap_or_else(|e| e.into_inner());
        guard.take()
    }
}
