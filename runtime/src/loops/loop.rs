//! `Loop`: what the closure of a `Loops` set gets in each loop — its index,
//! every loop's `Handle`, and the set's stop signal — and the state the
//! loops share to carry that signal.

use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::bridge::Sender;
use crate::handle::Handle;
use crate::sync::Event;

/// What every loop of a set and the `Loops` value share.
pub(crate) struct Shared {
    /// Each loop's handle, by index: how OS threads and other loops spawn
    /// into a chosen loop.
    pub(crate) handles: Box<[Handle]>,
    /// Each loop's stop doorbell (a bounded(1) `PollableQueue` whose
    /// consumer, a daemon task in that loop, sets the loop's stop `Event`).
    bells: Box<[Sender<()>]>,
    /// Set once a stop was asked for (by `stop`, or a failing loop).
    stopped: AtomicBool,
    /// The loop that failed first, if one did: the cause that `join` reports.
    first_failure: Mutex<Option<usize>>,
}

impl Shared {
    pub(crate) fn new(handles: Box<[Handle]>, bells: Box<[Sender<()>]>) -> Self {
        Shared {
            handles,
            bells,
            stopped: AtomicBool::new(false),
            first_failure: Mutex::new(None),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.handles.len()
    }

    /// Asks every loop to stop (once; later calls do nothing).
    pub(crate) fn stop(&self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            for bell in self.bells.iter() {
                // Full means it was rung; closed means that loop is gone.
                let _ = bell.try_put(());
            }
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Loop `index` failed: remember it if it is the first, stop the others.
    pub(crate) fn fail(&self, index: usize) {
        self.first_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(index);
        tracing::error!(
            loop_index = index,
            "a weft loop failed; stopping the others"
        );
        self.stop();
    }

    pub(crate) fn first_failure(&self) -> Option<usize> {
        *self.first_failure.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One loop of a [`Loops`](super::Loops) set, as its closure sees it: its
/// index, the [`Handle`] of every loop, and the set's stop signal.
///
/// Cheap to clone (`Rc`), so tasks of the loop can each keep one; `!Send`,
/// like everything that belongs to one loop.
///
/// # Examples
///
/// Each loop serves what others hand it until the set is told to stop;
/// loop 0 hands work to loop 1 through loop 1's handle:
///
/// ```
/// use std::time::Duration;
///
/// let loops = weft::Loops::spawn(2, |lp: weft::Loop| {
///     if lp.index() == 0 {
///         let job = lp.handle(1).spawn(|| 6 * 7).unwrap();
///         while !job.is_finished() {
///             weft::sleep(Duration::from_millis(1)); // park, do not block the loop
///         }
///         lp.stop(); // done: tell every loop
///         return job.join().unwrap();
///     }
///     lp.wait_stop();
///     0
/// })
/// .unwrap();
/// assert_eq!(loops.join().unwrap(), [42, 0]);
/// ```
///
/// A `Loop` belongs to its loop's thread and cannot be sent to another:
///
/// ```compile_fail
/// fn send_away<T: Send + 'static>(t: T) {
///     std::thread::spawn(move || drop(t));
/// }
/// let loops = weft::Loops::spawn(1, |lp: weft::Loop| send_away(lp)).unwrap();
/// ```
#[derive(Clone)]
pub struct Loop {
    /// Which loop this is.
    index: usize,
    /// The set's handles and stop signal.
    shared: Arc<Shared>,
    /// Set (by the loop's stop watcher task) once a stop was asked for, so
    /// any number of green threads can wait for it.
    stop_event: Rc<Event>,
}

impl Loop {
    pub(crate) fn new(index: usize, shared: Arc<Shared>, stop_event: Rc<Event>) -> Self {
        Loop {
            index,
            shared,
            stop_event,
        }
    }

    /// This loop's index, from 0 to [`count`](Self::count) − 1.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many loops the set has.
    pub fn count(&self) -> usize {
        self.shared.count()
    }

    /// The handle of loop `index`, to spawn green threads into it (this
    /// loop's own included).
    ///
    /// # Panics
    ///
    /// If `index` is not below [`count`](Self::count).
    pub fn handle(&self, index: usize) -> &Handle {
        &self.shared.handles[index]
    }

    /// Every loop's handle, by index.
    pub fn handles(&self) -> &[Handle] {
        &self.shared.handles
    }

    /// True once the set was asked to stop: by [`Loops::stop`](super::Loops::stop),
    /// by [`Loop::stop`] in any loop, or because a loop failed.
    pub fn is_stopping(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Parks the calling green thread until the set is asked to stop
    /// (returns at once if it was). Any number of green threads may wait.
    ///
    /// # Panics
    ///
    /// When it has to wait outside a green thread of this loop.
    pub fn wait_stop(&self) {
        if !self.is_stopping() {
            self.stop_event.wait();
        }
    }

    /// Asks every loop of the set to stop.
    pub fn stop(&self) {
        self.shared.stop();
    }
}

impl fmt::Debug for Loop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop")
            .field("index", &self.index)
            .field("count", &self.count())
            .field("stopping", &self.is_stopping())
            .finish()
    }
}
