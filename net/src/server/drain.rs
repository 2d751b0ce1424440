//! The drain, once accepting has stopped: idle connections closed, busy
//! ones waited for until the deadline, the rest cancelled.

use std::time::{Duration, Instant};

use weft_runtime::bridge::PollableQueue;
use weft_runtime::JoinHandle;

use super::listener::ServerStream;
use super::shutdown::Stop;
use super::summary::Summary;
use super::table::Table;

/// The drain after accepting stopped: closes idle connections, waits for
/// the rest until `timeout` (or a second request), cancels what is left.
pub(crate) fn run<S: ServerStream>(
    table: &Table<S>,
    stop: &PollableQueue<Stop>,
    timeout: Duration,
) -> Summary {
    let states: Vec<_> = table
        .conns
        .borrow()
        .values()
        .map(|e| e.state.clone())
        .collect();
    tracing::info!(
        active = states.len(),
        ?timeout,
        "server: drain started; no longer accepting"
    );
    for state in &states {
        state.close_if_idle();
    }
    drop(states);
    let deadline = Instant::now() + timeout;
    while table.active() > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match stop.get_timeout(left) {
            Ok(Stop::Requested | Stop::Signal(_)) => {
                tracing::warn!(
                    "server: second shutdown request; cancelling the remaining connections now"
                );
                break;
            }
            Ok(Stop::ConnClosed | Stop::Failed(_)) => {}
            Err(_) => break, // the deadline
        }
    }
    let active = table.active() as u64;
    let handles: Vec<JoinHandle<()>> = table
        .conns
        .borrow_mut()
        .values_mut()
        .filter_map(|e| e.join.take())
        .collect();
    if !handles.is_empty() {
        tracing::warn!(
            connections = handles.len(),
            "server: drain over; cancelling the connections still running"
        );
    }
    for h in &handles {
        h.cancel();
    }
    let cancelled = handles.len() as u64;
    for h in handles {
        let _ = h.join();
    }
    let mut summary = table.counts.borrow().clone();
    summary.closed_idle = table.drain.closed_idle.get();
    summary.active_at_deadline = active;
    summary.cancelled = cancelled;
    summary
}
