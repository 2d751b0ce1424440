//! Helpers shared by the `rt_*` integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use weft::Runtime;

/// An ordered record of what the tasks did, shared by all of them.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Log::default()
    }

    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    /// Everything logged so far, leaving the log empty.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// Counts the drops of the [`DropGuard`]s it hands out.
#[derive(Clone, Default)]
pub struct Drops(Rc<Cell<usize>>);

impl Drops {
    pub fn new() -> Self {
        Drops::default()
    }

    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.get()
    }
}

/// Bumps its [`Drops`] counter when dropped (also while unwinding).
pub struct DropGuard(Rc<Cell<usize>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Runs `f` as the main task of a fresh runtime and returns its value.
pub fn block_on<T: 'static>(f: impl FnOnce() -> T + 'static) -> T {
    Runtime::new()
        .expect("runtime")
        .block_on(f)
        .expect("no deadlock")
}
