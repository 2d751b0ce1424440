//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
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

/// A connected pair of green TCP streams on 127.0.0.1: `(client, server)`.
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
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

/// A tiny xorshift PRNG: reproducible randomness without a crate.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// CPU time (user + system) consumed so far by the calling OS thread.
pub fn thread_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed `rusage` to fill.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Bytes waiting to be read on a socket (`FIONREAD`).
pub fn unread_bytes(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one `c_int` through the pointer, which is valid.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0, "ioctl(FIONREAD) failed");
    n as usize
}

/// Polls `fd` for readability for up to `timeout`; true if it became readable.
pub fn poll_readable(fd: RawFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid `pollfd`, and its count.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    n == 1 && pfd.revents & libc::POLLIN != 0
}

/// Runs this test binary again, in a child process, with only the test
/// `entry` selected and `WEFT_CHILD=mode` set, and returns what it did.
/// The entry test does its work only when it sees the variable (see
/// [`child_mode`]), so faults that end a process can be tested.
pub fn run_child(entry: &str, mode: &str) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    std::process::Command::new(exe)
        .args([entry, "--exact", "--nocapture", "--test-threads=1"])
        .env("WEFT_CHILD", mode)
        .env_remove("RUST_LOG")
        .output()
        .expect("the child test process runs")
}

/// The mode a [`run_child`] parent asked for, or `None` in a normal run.
pub fn child_mode() -> Option<String> {
    std::env::var("WEFT_CHILD").ok()
}
