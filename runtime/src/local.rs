//! Task-local storage: a value per green thread, like `thread_local!` is per
//! OS thread.
//!
//! `std::thread_local!` is shared by every green thread on the runtime's OS
//! thread (they all run on it), so per-task state needs this instead. Values
//! are created lazily on first use in each task and dropped when that task
//! ends, inside the task (so their `Drop` may use green APIs).

use std::any::Any;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::context;

/// A per-task slot table: `slots[key.index()]` holds that key's value.
pub(crate) type Locals = Vec<Option<Rc<dyn Any>>>;

/// Hands out key indices; 0 means "not yet assigned".
static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

/// A key for task-local values, declared with [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    /// Makes the value the first time a task touches the key.
    init: fn() -> T,
    /// The key's slot number, assigned on first use (0 until then).
    index: AtomicUsize,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> Self {
        LocalKey {
            init,
            index: AtomicUsize::new(0),
        }
    }

    fn index(&self) -> usize {
        let i = self.index.load(Ordering::Relaxed);
        if i != 0 {
            return i - 1;
        }
        let fresh = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        match self
            .index
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh - 1,
            Err(existing) => existing - 1,
        }
    }

    /// Calls `f` with this task's value, creating it on first use.
    ///
    /// # Panics
    ///
    /// Panics when called outside a green thread.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        if !context::in_green_thread() {
            context::outside_runtime("LocalKey::with");
        }
        let index = self.index();
        let existing = context::with_core("LocalKey::with", |core| {
            core.with_locals(|l| l.get(index).cloned().flatten())
        });
        let value = match existing {
            Some(v) => v,
            None => {
                let v: Rc<dyn Any> = Rc::new((self.init)());
                context::with_core("LocalKey::with", |core| {
                    core.with_locals(|l| {
                        if l.len() <= index {
                            l.resize(index + 1, None);
                        }
                        l[index] = Some(v.clone());
                    })
                });
                v
            }
        };
        f(value
            .downcast_ref::<T>()
            .expect("task-local slot holds its key's type"))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// Declares task-local keys: `static NAME: Type = init;`, one value per green thread.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
///
/// weft::task_local! {
///     static COUNT: Cell<u32> = Cell::new(0);
/// }
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     COUNT.with(|c| c.set(5));
///     let other = weft::spawn(|| COUNT.with(|c| c.get()));
///     assert_eq!(other.join().unwrap(), 0);
///     assert_eq!(COUNT.with(|c| c.get()), 5);
/// }).unwrap();
/// ```
#[macro_export]
macro_rules! task_local {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;)+) => {$(
        $(#[$attr])*
        $vis static $name: $crate::LocalKey<$t> = $crate::LocalKey::new({
            fn __init() -> $t { $init }
            __init
        });
    )+};
}
