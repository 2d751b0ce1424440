//! The panic hook that names the green thread that panicked:
//! `task 'worker-7' (#8) panicked at src/main.rs:10:5:` instead of std's
//! `thread 'main' panicked at ...`, which would name the OS thread every
//! green thread shares.

use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crate::context;

/// Whether the backtrace hint was printed (std prints it once, too).
static NOTED: AtomicBool = AtomicBool::new(false);

/// Installs (once per process) a panic hook that, inside a green thread,
/// prints `task 'name' (#id) panicked at file:line:col:` and the message in
/// place of std's `thread 'main' panicked at ...`, and delegates to the hook
/// that was in place before everywhere else.
///
/// A hook the program sets after the first runtime was built replaces this
/// one, as with any hook; a hook set before it is kept, but only for panics
/// outside green threads.
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
