//! `LoopsBuilder`: how a `Loops` set is started — the runtime settings,
//! pinning, thread names — and the body of each loop's thread.
//!
//! Start-up is two-phase, so a failure leaves nothing behind: every thread
//! first builds its runtime and reports its `Handle` (or its error); only
//! when all N have, are they let go into their closures, each knowing every
//! handle. If one cannot start, the others are let go with nothing to do,
//! and every thread is joined before `spawn` returns the error.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::thread;

use super::loop_error::LoopError;
use super::pin;
use super::r#loop::{Loop, Shared};
use super::Loops;
use crate::bridge::{PollableQueue, Sender};
use crate::handle::Handle;
use crate::runtime::{Builder, Runtime};
use crate::sync::Event;
use crate::task;

/// What a loop's thread reports once its runtime is built.
type Started = io::Result<(Handle, Sender<()>)>;

/// Configures and starts a [`Loops`] set.
///
/// # Examples
///
/// ```
/// let loops = weft::Loops::builder(2)
///     .runtime(weft::Builder::new().stack_size(64 * 1024))
///     .pin_to_cores(true) // each loop on its own CPU, when the OS allows it
///     .thread_name("echo")
///     .spawn(|lp: weft::Loop| std::thread::current().name().map(str::to_owned))
///     .unwrap();
/// assert_eq!(loops.join().unwrap(), [Some("echo-0".into()), Some("echo-1".into())]);
/// ```
#[derive(Debug, Clone)]
pub struct LoopsBuilder {
    /// How many loops.
    count: usize,
    /// Settings every loop's runtime is built with.
    runtime: Builder,
    /// Whether to pin loop i to the i-th CPU the process may use.
    pin: bool,
    /// Thread names are `{name}-{index}`.
    name: String,
}

impl LoopsBuilder {
    /// `count` loops with the default runtime settings, not pinned, on
    /// threads named `weft-loop-{index}`.
    pub fn new(count: usize) -> Self {
        LoopsBuilder {
            count,
            runtime: Builder::new(),
            pin: false,
            name: "weft-loop".to_owned(),
        }
    }

    /// The settings each loop's runtime is built with (stack size,
    /// fairness, event capacity, blocking pool size: per loop).
    pub fn runtime(mut self, builder: Builder) -> Self {
        self.runtime = builder;
        self
    }

    /// Pins loop `i` to the `i`-th CPU this process may run on (wrapping
    /// around when there are more loops than CPUs), with
    /// `sched_setaffinity`. A loop that cannot be pinned (a cpuset that
    /// forbids it, or not Linux) runs unpinned and a warning is traced.
    pub fn pin_to_cores(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// Names the loops' OS threads `{name}-{index}` (shown by `top -H`,
    /// debuggers and panic messages).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Starts the loops and runs `f` in each, as its
    /// [`block_on`](crate::Runtime::block_on) root, with the loop's
    /// [`Loop`]. Returns once every loop's runtime is built and its closure
    /// has been let go; [`Loops::join`] collects the values.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a count of 0. If a thread cannot be started or a
    /// runtime cannot be built, the error of the lowest such loop, with the
    /// cause's kind and a message naming the loop (`weft loop 1 of 2: ...`);
    /// no closure has run then, and every thread started has ended.
    pub fn spawn<F, T>(self, f: F) -> io::Result<Loops<T>>
    where
        F: Fn(Loop) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        let n = self.count;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft::Loops needs at least one loop",
            ));
        }
        let cpus = if self.pin {
            pin::allowed_cpus().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the CPU affinity; loops run unpinned");
                Vec::new()
            })
        } else {
            Vec::new()
        };
        let f = Arc::new(f);
        let (report, reports) = mpsc::channel::<(usize, Started)>();
        let mut threads = Vec::with_capacity(n);
        let mut gates = Vec::with_capacity(n);
        for index in 0..n {
            let (gate, go) = mpsc::channel::<Arc<Shared>>();
            let job = LoopStart {
                index,
                count: n,
                runtime: self.runtime.clone(),
                cpu: (!cpus.is_empty()).then(|| cpus[index % cpus.len()]),
                report: report.clone(),
                go,
            };
            let f = f.clone();
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.name))
                .spawn(move || job.run(f));
            match spawned {
                Ok(t) => {
                    threads.push(t);
                    gates.push(gate);
                }
                Err(e) => {
                    drop(gates); // the started threads see no go and end
                    threads.into_iter().for_each(|t| drop(t.join()));
                    return Err(start_error(index, n, "cannot start its thread", e));
                }
            }
        }
        drop(report);
        let mut started: Vec<Option<Started>> = (0..n).map(|_| None).collect();
        for (index, r) in reports.iter().take(n) {
            started[index] = Some(r);
        }
        let mut handles = Vec::with_capacity(n);
        let mut bells = Vec::with_capacity(n);
        let mut failed = None;
        for (index, s) in started.into_iter().enumerate() {
            match s {
                Some(Ok((handle, bell))) => {
                    handles.push(handle);
                    bells.push(bell);
                }
                Some(Err(e)) => {
                    failed = Some(start_error(index, n, "cannot build its runtime", e));
                    break;
                }
                None => {
                    let e = io::Error::other("its thread ended before it reported");
                    failed = Some(start_error(index, n, "cannot start", e));
                    break;
                }
            }
        }
        if let Some(e) = failed {
            drop(gates);
            threads.into_iter().for_each(|t| drop(t.join()));
            return Err(e);
        }
        let shared = Arc::new(Shared::new(handles.into(), bells.into()));
        for gate in gates {
            // A thread that is gone already reported why; join will say.
            let _ = gate.send(shared.clone());
        }
        Ok(Loops { threads, shared })
    }
}

fn start_error(index: usize, count: usize, what: &str, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("weft loop {index} of {count}: {what}: {e}"),
    )
}

/// What one loop's thread needs to start.
struct LoopStart {
    /// Which loop this thread runs.
    index: usize,
    /// Loops in the set (for error messages).
    count: usize,
    /// The settings its runtime is built with.
    runtime: Builder,
    /// The CPU to pin to, if pinning was asked for.
    cpu: Option<usize>,
    /// Where to report the built runtime's handle.
    report: mpsc::Sender<(usize, Started)>,
    /// Gives the shared state once every loop has started; disconnects if
    /// the set is abandoned.
    go: mpsc::Receiver<Arc<Shared>>,
}

impl LoopStart {
    fn run<F, T>(self, f: Arc<F>) -> Result<T, LoopError>
    where
        F: Fn(Loop) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        let LoopStart {
            index,
            count,
            runtime,
            cpu,
            report,
            go,
        } = self;
        if let Some(cpu) = cpu {
            if let Err(e) = pin::pin_current_thread(cpu) {
                tracing::warn!(loop_index = index, cpu, error = %e, "cannot pin the loop; it runs unpinned");
            }
        }
        let built = runtime.build().and_then(|rt| {
            let bell = PollableQueue::<()>::bounded(1)?;
            Ok((rt, bell))
        });
        let (rt, bell) = match built {
            Ok(b) => b,
            Err(e) => {
                let _ = report.send((index, Err(e)));
                return Err(not_started(index, count));
            }
        };
        let _ = report.send((index, Ok((rt.handle(), bell.sender()))));
        drop(report);
        let Ok(shared) = go.recv() else {
            // Another loop could not start: end without running anything.
            return Err(not_started(index, count));
        };
        run_loop(&rt, index, shared, bell, f)
    }
}

/// Runs the loop's closure as the runtime's root, next to a daemon task
/// that turns the stop doorbell into the loop's stop `Event`.
fn run_loop<F, T>(
    rt: &Runtime,
    index: usize,
    shared: Arc<Shared>,
    bell: PollableQueue<()>,
    f: Arc<F>,
) -> Result<T, LoopError>
where
    F: Fn(Loop) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    let count = shared.count();
    let stop_event = Rc::new(Event::new());
    let set = stop_event.clone();
    let watcher = task::Builder::new()
        .name("weft-loop-stop".into())
        .daemon(true);
    // The watcher ends on a ring, or when the set is gone (disconnected).
    if let Err(e) = rt.spawn_with(watcher, move || {
        let _ = bell.get();
        set.set();
    }) {
        shared.fail(index);
        return Err(LoopError::Run {
            index,
            count,
            error: e.into(),
        });
    }
    let lp = Loop::new(index, shared.clone(), stop_event);
    let failing = shared.clone();
    let root = move || {
        // Caught here, not after `block_on`: `block_on` resumes the panic
        // only once the loop's other tasks are done, and they may be
        // waiting for exactly this stop.
        panic::catch_unwind(AssertUnwindSafe(|| f(lp))).map_err(|payload| {
            failing.fail(index);
            LoopError::panicked(index, count, &*payload)
        })
    };
    match panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(root))) {
        Ok(Ok(result)) => result,
        Ok(Err(error)) => {
            shared.fail(index);
            Err(LoopError::Run {
                index,
                count,
                error,
            })
        }
        Err(payload) => {
            shared.fail(index);
            Err(LoopError::panicked(index, count, &*payload))
        }
    }
}

/// The result of a loop that was never let go. `spawn` has already
/// returned the start-up error that explains it and drops this one.
fn not_started(index: usize, count: usize) -> LoopError {
    LoopError::Run {
        index,
        count,
        error: crate::runtime::RunError::MainCancelled,
    }
}
