//! Ending a task that overflowed its stack (see `trap.rs` for how the fault
//! becomes a return to the loop).

use super::Core;
use crate::task::{JoinError, TaskId};

impl Core {
    /// The task `id` overflowed its stack and its coroutine has returned
    /// through the trap: fail its join, unmap its stack, and say so.
    ///
    /// Nothing on its stack was dropped. Its task-locals are leaked too
    /// (forgotten, not dropped): their destructors could park or touch state
    /// the task left half-updated.
    #[cold]
    pub(super) fn finish_overflowed(&self, id: TaskId) {
        let entry = self.tasks.borrow_mut().remove(id.index());
        self.watch.labels.retire(id.index());
        let (co, mut cold) = entry.fiber.into_parts();
        std::mem::forget(std::mem::take(&mut cold.locals));
        self.stacks.borrow_mut().discard(co.into_stack());
        if !entry.daemon {
            self.live.set(self.live.get() - 1);
        }
        self.watch.counters.overflowed.bump();
        let who = match &cold.name {
            Some(name) => format!("task '{name}' (#{})", entry.serial),
            None => format!("task #{}", entry.serial),
        };
        crate::report::error(&format!(
            "weft: {who} (spawned at {}) overflowed its {} KiB stack and was stopped; \
             the other tasks go on. Its join reports JoinError::StackOverflow. What it owned \
             on its stack (heap values, sockets, held locks) is leaked. Give it a bigger stack \
             with weft::task::Builder::stack_size, or raise every task's default with \
             weft::Builder::stack_size",
            cold.site,
            cold.stack_size / 1024
        ));
        if let Some(outcome) = &cold.outcome {
            outcome.fail(
                self,
                JoinError::StackOverflow {
                    name: cold.name.as_deref().map(str::to_owned),
                    stack_size: cold.stack_size,
                },
            );
        }
    }
}
