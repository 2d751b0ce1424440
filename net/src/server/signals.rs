//! SIGINT and SIGTERM as a drain request: signal-hook's self-pipe,
//! registered with the runtime through `Registration`, read by a daemon
//! green thread. No handler of our own runs in signal context.

use std::io;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use weft_runtime::{task, JoinHandle, Registration, Sender};

use super::shutdown::Stop;

/// Installs the SIGINT/SIGTERM hooks and starts the green thread that turns
/// each arrival into a [`Stop::Signal`] on `tx`.
///
/// # Errors
///
/// Any error installing the hooks or registering their pipe.
pub(crate) fn watch(tx: Sender<Stop>) -> io::Result<JoinHandle<()>> {
    let mut signals = Registration::new(Signals::new([SIGINT, SIGTERM])?)?;
    task::Builder::new()
        .name("weft-net server signals".to_owned())
        .daemon(true)
        .spawn(move || loop {
            if let Err(e) = signals.readable(None) {
                tracing::warn!(error = %e, "server: waiting for signals failed; signals are not watched");
                return;
            }
            let mut any = false;
            for signal in signals.get_mut().pending() {
                any = true;
                if tx.put(Stop::Signal(signal)).is_err() {
                    return;
                }
            }
            if !any {
                // The pipe is drained: park until the next signal writes to it.
                let _ = signals.try_read_with(|_| Err::<(), _>(io::ErrorKind::WouldBlock.into()));
            }
        })
}
