//! # weft: green threads for Rust
//!
//! One OS thread runs thousands of green threads (stackful coroutines)
//! round-robin. Inside a green thread, code is plain blocking-style Rust —
//! `Read`/`Write`, `BufRead::read_line`, loops, recursion — and every "block"
//! (a socket read, a sleep, a lock, a queue) parks the green thread instead of
//! stalling the OS thread. Ordinary OS threads feed the loop through the
//! bridge.
//!
//! ## Quick start
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = weft::Runtime::new()?;
//! let answer = rt.block_on(|| {
//!     // Spawned tasks go to the back of the ready queue; the spawner keeps running.
//!     let worker = weft::spawn(|| {
//!         weft::sleep(Duration::from_millis(10)); // parks this task only
//!         6 * 7
//!     });
//!     for i in 0..3 {
//!         println!("main: {i}");
//!         weft::yield_now(); // let the others run
//!     }
//!     worker.join().expect("worker finished")
//! })?;
//! assert_eq!(answer, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `Runtime::run` drives tasks spawned with `Runtime::spawn` until no
//! non-daemon task is left; `Runtime::block_on` runs a closure as the first
//! task (`main`) and returns its value; that closure may borrow from the
//! caller's stack.
//!
//! The [`guide`] shows which synchronous libraries (rustls, tungstenite,
//! httparse, serde_json) run unmodified on weft's sockets and which (those
//! that open their own sockets or files) go through [`spawn_blocking`].
//!
#![doc = include_str!("../runtime/src/docs/scheduling_rules.md")]
//!
//! A panicking task ends alone: `join` gives [`JoinError::Panicked`] and the
//! other tasks go on.
//!
//! ## More than one core
//!
//! One runtime is one core. [`Loops`] starts N share-nothing runtimes on N
//! OS threads (optionally pinned, built from one [`Builder`]), runs one
//! closure in each, and joins them; tasks never migrate, and what crosses
//! between loops is a [`Handle`] per loop, bridge queues and a stop signal.
//! Each loop binds its own listener with
//! `net::ListenOptions::new().reuse_port(true)` and the kernel splits the
//! connections; one `net::Server` per loop, with the loops' shutdown
//! handles collected into one, is a server on every core
//! (`echo_server --threads N`).
//!
//! ## Implementation
//!
//! Each task is a [corosensei](https://docs.rs/corosensei) coroutine on its
//! own guard-paged `mmap` stack; finished tasks return their stacks to a pool,
//! so spawning reuses memory instead of mapping it. Task records live in a
//! `slab`; the ready queue is a FIFO of task ids. Blocking operations are
//! built on one primitive, [`park`]: a task leaves an [`park::Unparker`] where
//! its waker will find it and suspends; each park has its own sequence number
//! so stale wakeups are ignored. Sockets are registered once with
//! [mio](https://docs.rs/mio) (edge-triggered) and every operation is
//! try-then-park: attempt it, park on `WouldBlock`, retry when woken.
//!
//! ## Caveats: what blocks the whole thread
//!
//! A green thread that does not reach a suspension point holds the OS thread:
//! CPU-heavy loops, `std::thread::sleep`, blocking std sockets or files,
//! contended `std::sync::Mutex`es, joining an OS thread, and DNS lookups all
//! stall every other task. Use weft's sockets and timers inside tasks, call
//! [`yield_now`] in long loops, and send blocking or CPU-heavy work to an OS
//! thread through the bridge ([`spawn_blocking`], [`bridge::PollableQueue`]).
//! `std::thread_local!` is shared by every green thread on the OS thread; use
//! [`task_local!`] for per-task state. Builds
//! with `panic = "abort"` cannot unwind cancelled or daemon tasks.
#![warn(missing_docs, missing_debug_implementations)]

pub mod guide;

pub use weft_net as net;
pub use weft_runtime::*;
