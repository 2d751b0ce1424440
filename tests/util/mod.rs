//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, BufReader, Write};
use std::rc::Rc;

use weft::net::TcpStream;
use weft::{DeadlockReport, RunError, Runtime};

/// Lines written by green threads, in the order they were written.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Log::default()
    }

    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
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
    Runtime::new().unwrap().block_on(f).unwrap()
}

/// Runs `f` as the main task and expects the run to end in a deadlock.
pub fn expect_deadlock(f: impl FnOnce() + 'static) -> DeadlockReport {
    match Runtime::new().unwrap().block_on(f) {
        Err(RunError::Deadlock(report)) => report,
        Err(other) => panic!("expected a deadlock, got {other}"),
        Ok(()) => panic!("expected a deadlock, the run ended normally"),
    }
}

/// The tasks in a deadlock report as `(name, what it waits on)`.
pub fn blocked(report: &DeadlockReport) -> Vec<(String, String)> {
    report
        .blocked()
        .iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t.reason.to_string()))
        .collect()
}

/// Spawns a named green thread.
pub fn spawn_named<T: 'static>(name: &str, f: impl FnOnce() -> T + 'static) -> weft::JoinHandle<T> {
    weft::task::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .unwrap()
}

/// Serves the seed's line protocol on `conn` until end of file: each line
/// comes back as `GOT:` + the line.
pub fn echo_lines(conn: &TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut reply = b"GOT:".to_vec();
    loop {
        reply.truncate(4);
        if reader.read_until(b'\n', &mut reply)? == 0 {
            return Ok(());
        }
        (&*conn).write_all(&reply)?;
    }
}

/// Raises this process's soft descriptor limit to at least `want` (within
/// the hard limit); returns the soft limit now in force.
pub fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        lim.rlim_cur = want.min(lim.rlim_max);
        // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
    lim.rlim_cur
}
