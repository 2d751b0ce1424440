//! `TaskId`: which green thread, within its runtime. A leaf: the core and
//! the rooms around it name tasks by it without importing each other.

use std::fmt;

/// Identifies a green thread within its runtime.
///
/// Displayed as the task's spawn number (1 for the first task a runtime
/// spawns). Ids are not reused while the runtime lives.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// Slot in the runtime's task slab.
    index: u32,
    /// Spawn number: tells a task from a later one in the same slot.
    serial: u32,
}

impl TaskId {
    pub(crate) const fn from_parts(index: u32, serial: u32) -> Self {
        TaskId { index, serial }
    }

    pub(crate) fn index(self) -> usize {
        self.index as usize
    }

    pub(crate) fn serial(self) -> u32 {
        self.serial
    }

    /// The task's spawn number within its runtime, starting at 1.
    pub fn as_u32(self) -> u32 {
        self.serial
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.serial)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.serial)
    }
}
