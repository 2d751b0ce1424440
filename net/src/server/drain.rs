//! The drain, once accepting has stopped: idle connections closed, busy
//! ones waited for until the deadline, the rest cancelled.

use std::time::{Duration, Instant};

use weft_runtime::bridge::PollableQueue;
use weft_runtime::{task, TaskId};

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
        .iter()
        .map(|(_, c)| c.state.clone())
        .collect();
    tracing::info!(
        active = states.len(),
        ?timeout,
        "server: drain started; no longer accepting"
    );
    for state in &states {
        state.close_if_idle(&table.drain);
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
    let tasks: Vec<TaskId> = table
        .conns
        .borrow()
        .iter()
        .map(|(_, c)| {
            c.state.set_cancelled();
            c.task
        })
        .collect();
    if !tasks.is_empty() {
        tracing::warn!(
            connections = tasks.len(),
            "server: drain over; cancelling the connections still running"
        );
    }
    // A task already gone with its connection still listed (it overflowed
    // its stack: nothing unwound) never leaves the table.
    let gone = tasks.iter().filter(|&&id| !task::cancel(id)).count();
    // Each cancelled one leaves the table as it unwinds, and says so.
    while table.active() > gone {
        if stop.get().is_err() {
            break; // unreachable: `table` holds a sender
        }
    }
    let cancelled = tasks.len() as u64;
    let mut summary = table.counts.borrow().clone();
    summary.closed_idle = table.drain.closed_idle.get();
    summary.active_at_deadline = active;
    summary.cancelled = cancelled;
    summary
}
