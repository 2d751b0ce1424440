//! How the runtime speaks up about faults: `tracing` events, stderr when
//! nobody listens (or always, for the faults that end a task or a lock
//! cycle), and the panic hook that names the green thread that panicked.

use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Whether the backtrace hint was printed (std prints it once, too).
static NOTED: AtomicBool = AtomicBool::new(false);

use crate::context;

/// A `warn` event; on stderr instead when no subscriber takes it.
pub(crate) fn warn(msg: &str) {
    if tracing::enabled!(tracing::Level::WARN) {
        tracing::warn!("{msg}");
    } else {
        eprintln!("{msg}");
    }
}

/// An `error` event, and the same line on stderr in every case: for faults
/// that end a task or lock tasks forever, which must never go unseen.
pub(crate) fn error(msg: &str) {
    tracing::error!("{msg}");
    eprintln!("{msg}");
}

/// Installs (once per process) a panic hook that, inside a green thread,
/// prints `task 'name' (#id) panicked at file:line:col:` and the message in
/// place of std's `thread 'main' panicked at ...`, and delegates to the hook
/// that was in place before everywhere else.
///
/// A hook the program sets after the first runtime was built replaces this
/// one, as with any hook.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            match context::try_with_core(|core| core.panicking_task()).flatten() {
                Some(task) => print_green_panic(&task, info),
                None => previous(info),
            }
        }));
    });
}

fn print_green_panic(task: &str, info: &PanicHookInfo<'_>) {
    let msg = crate::task::payload_str(info.payload()).unwrap_or("Box<dyn Any>");
    let at = info
        .location()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let backtrace = std::backtrace::Backtrace::capture();
    let text = match backtrace.status() {
        std::backtrace::BacktraceStatus::Captured => {
            format!("task {task} panicked{at}:\n{msg}\nstack backtrace:\n{backtrace}")
        }
        _ if !NOTED.swap(true, Ordering::Relaxed) => format!(
            "task {task} panicked{at}:\n{msg}\nnote: run with `RUST_BACKTRACE=1` environment \
             variable to display a backtrace"
        ),
        _ => format!("task {task} panicked{at}:\n{msg}"),
    };
    eprintln!("{text}");
}
