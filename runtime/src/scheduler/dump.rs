//! The loop's side of a task dump: reading every task record.

use std::time::{Duration, Instant};

use super::{Core, State};
use crate::dump::{self, DumpedTask, TaskDump, TaskState};
use crate::park::Reason;
use crate::task::TaskId;

impl Core {
    /// Every live task: state, wait, how long, spawn site.
    pub(crate) fn dump(&self) -> TaskDump {
        let tasks = self.tasks.borrow();
        let timers = self.timers.borrow();
        let now = Instant::now();
        let turn = self.now_ns.get();
        let describe_task = |id: TaskId| {
            let name = tasks
                .get(id.index())
                .filter(|t| t.serial == id.serial())
                .and_then(|t| t.cold().name.as_deref());
            match name {
                Some(name) => format!("task {id} '{name}'"),
                None => format!("task {id}"),
            }
        };
        let list = tasks
            .iter()
            .map(|(index, t)| {
                let current = self.current_task_id().map(|c| c.index()) == Some(index);
                let hot = t.hot();
                let (state, waits_on, parked_for) = match hot.state.get() {
                    State::Running if current => (TaskState::Running, None, None),
                    // A task that yielded is queued, though its record says
                    // `Running` (see `State`).
                    State::Running | State::Ready => (TaskState::Ready, None, None),
                    State::Parked => {
                        let reason = hot.reason.get();
                        let deadline = hot.timer.get().and_then(|k| timers.deadline_of(k));
                        let mut what = match (&t.cold().lock_wait, reason) {
                            (Some(lock), _) => self.describe_held(lock, &tasks),
                            (None, Reason::Join(id)) => format!("join of {}", describe_task(id)),
                            (None, Reason::Sleep) => "sleep".to_owned(),
                            (None, r) => r.to_string(),
                        };
                        if let Some(d) = deadline {
                            what.push_str(&format!(
                                " until +{:.2?}",
                                d.saturating_duration_since(now)
                            ));
                        }
                        (
                            TaskState::Parked,
                            Some(what),
                            Some(Duration::from_nanos(
                                turn.saturating_sub(hot.parked_at.get()),
                            )),
                        )
                    }
                };
                DumpedTask {
                    id: TaskId::from_parts(index as u32, t.serial),
                    name: t.cold().name.as_deref().map(str::to_owned),
                    state,
                    waits_on,
                    parked_for,
                    spawned_at: t.cold().site.to_string(),
                    daemon: t.daemon,
                }
            })
            .collect();
        TaskDump {
            tasks: list,
            stalled: dump::stalled(&self.watch),
            complete: true,
        }
    }
}
