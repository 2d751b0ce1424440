//! How the runtime speaks up about faults: `tracing` events, and stderr
//! when nobody listens (or always, for the faults that end a task or lock
//! tasks forever).

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
