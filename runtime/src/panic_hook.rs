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
/// Only std's default hook is replaced this way: if the program had set a
/// hook of its own before the first runtime was built, that hook keeps
/// handling every panic, green or not. A hook set afterwards replaces this
/// one, as with any hook.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        // With `previous` taken, the hook in place is std's default: take it
        // too, and see whether `previous` was that same default.
        let default = panic::take_hook();
        #[allow(ambiguous_wide_pointer_comparisons)]
        let custom = !std::ptr::eq(&*previous, &*default);
        drop(default);
        panic::set_hook(Box::new(move |info| {
            let green = if custom {
                None
            } else {
                context::try_with_core(|core| core.panicking_task()).flatten()
            };
            match green {
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
