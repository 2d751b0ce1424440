//! The worker pool behind `spawn_blocking`: OS threads started on demand,
//! at most `Builder::max_blocking_threads` of them, each reaped after it
//! idles for `KEEP_ALIVE`. Jobs wait in a FIFO while every worker is busy.
//!
//! One pool per runtime; only that runtime's loop thread submits.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// A unit of work; it catches its own panics and reports its own result.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long an idle worker waits for a job before its thread exits.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The runtime's handle on its pool. Dropping it (with the runtime) stops
/// the workers once their current jobs end and drops the queued jobs.
pub(crate) struct BlockingPool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Idle workers wait here for a job.
    work: Condvar,
    /// The most worker threads alive at once.
    max_threads: usize,
}

struct State {
    jobs: VecDeque<Job>,
    /// Worker threads alive (started and not yet exited).
    threads: usize,
    /// Workers waiting on `work`.
    idle: usize,
    /// The runtime is gone: workers exit instead of waiting.
    shutdown: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize) -> Self {
        BlockingPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                max_threads: max_threads.max(1),
            }),
        }
    }

    /// Queues `job` and makes sure a worker will run it, starting one if
    /// every worker is busy and the pool is below its bound. Gives the job
    /// back when no worker thread exists and none can be started.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        let mut st = self.shared.lock();
        st.jobs.push_back(job);
        let start = st.jobs.len() > st.idle && st.threads < self.shared.max_threads;
        if start {
            st.threads += 1;
        }
        drop(st);
        self.shared.work.notify_one();
        if !start {
            return Ok(());
        }
        let shared = self.shared.clone();
        let spawned = thread::Builder::new()
            .name("weft-blocking".into())
            .spawn(move || work(&shared));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start a blocking worker thread");
            let mut st = self.shared.lock();
            st.threads -= 1;
            if st.threads == 0 {
                // Nobody else can run it: the job is still queued, and it is
                // the last one (only the loop thread submits).
                return Err(st.jobs.pop_back().expect("the job just queued"));
            }
        }
        Ok(())
    }
}

/// A worker thread's life: run jobs until idle for `KEEP_ALIVE` or shut down.
fn work(shared: &Shared) {
    let mut st = shared.lock();
    loop {
        if let Some(job) = st.jobs.pop_front() {
            drop(st);
            job();
            st = shared.lock();
            continue;
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        let (guard, waited) = shared
            .work
            .wait_timeout(st, KEEP_ALIVE)
            .unwrap_or_else(|e| e.into_inner());
        st = guard;
        st.idle -= 1;
        if waited.timed_out() && st.jobs.is_empty() {
            break;
        }
    }
    st.threads -= 1;
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.shutdown = true;
        let dropped = std::mem::take(&mut st.jobs);
        drop(st);
        self.shared.work.notify_all();
        drop(dropped);
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &st.threads)
            .field("idle", &st.idle)
            .field("queued", &st.jobs.len())
            .field("max_threads", &self.shared.max_threads)
            .finish()
    }
}
