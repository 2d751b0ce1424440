//! Lock cycles, caught the moment they close.
//!
//! Owned locks ([`Lock`](crate::sync::Lock), [`RLock`](crate::sync::RLock),
//! [`Mutex`](crate::sync::Mutex)) carry a [`LockIdent`]: a name (given with
//! `named`, or the `#[track_caller]` site that created the lock) and the task
//! that holds it. A `Lock` has no owner in Python's sense (any task may
//! release it); here its owner is the task that acquired it (or was handed
//! it), until it is released by anyone.
//!
//! When a task is about to park on a held lock, [`wait_for`] follows the
//! chain: the holder of that lock, the lock that holder is parked on, its
//! holder, and so on. Coming back to the waiting task is a cycle: none of
//! these tasks can ever run again, whatever else the runtime is doing. The
//! cycle is reported at once (`tracing` error and stderr), and in
//! [`LockCycleAction::FailAcquire`] mode the acquire that closes it unwinds
//! in the waiting task instead of parking (PostgreSQL's deadlock victim), so
//! its guards release their locks and the others go on; its join reports
//! [`JoinError::Deadlock`](crate::JoinError::Deadlock).
//!
//! The walk costs one task lookup per link, only when a task is about to
//! park on a held lock, never on the uncontended path.

use std::rc::Rc;

use crate::context;
use crate::lock_cycle::{CycleLink, LockCycle, LockCycleAction, LockIdent, Victim};
use crate::scheduler::Core;
use crate::task_id::TaskId;

/// The running task, if a green thread runs (for owners).
#[inline]
pub(crate) fn current_task() -> Option<TaskId> {
    if context::in_green_thread() {
        context::try_with_core(|core| core.current_task_id()).flatten()
    } else {
        None
    }
}

/// Marks the running task as waiting for `lock` (until dropped), after
/// checking whether that closes a cycle. `timed` waits are never made
/// victims.
///
/// # Panics
///
/// Unwinds (with a [`Victim`] payload, no panic hook) when the wait closes a
/// cycle and the runtime is in [`LockCycleAction::FailAcquire`] mode.
pub(crate) fn wait_for(lock: &Rc<LockIdent>, timed: bool) -> Waiting {
    if !context::in_green_thread() {
        return Waiting(false);
    }
    let found = context::try_with_core(|core| {
        let me = core.current_task_id()?;
        core.set_lock_wait(Some(lock.clone()));
        let action = core.config.lock_cycles;
        if action == LockCycleAction::Off || !closes_cycle(core, me, lock) {
            return Some(None);
        }
        core.watch.counters.deadlocks.bump();
        Some(Some((describe_cycle(core, me, lock), action)))
    })
    .flatten();
    let Some(found) = found else {
        return Waiting(false); // no running task: nothing was recorded
    };
    if let Some((cycle, action)) = found {
        crate::report::error(&format!("weft: {cycle}"));
        if action == LockCycleAction::FailAcquire && !timed {
            context::with_core("lock", |core| core.set_lock_wait(None));
            std::panic::resume_unwind(Box::new(Victim(cycle)));
        }
    }
    Waiting(true)
}

/// Whether waiting for `lock` leads back to `me` through holders and the
/// locks they are parked on. Allocates nothing: one task lookup per link,
/// and usually the first holder is not parked on a lock at all.
fn closes_cycle(core: &Core, me: TaskId, lock: &Rc<LockIdent>) -> bool {
    let limit = core.task_count();
    let Some(mut holder) = lock.owner.get() else {
        return false;
    };
    for _ in 0..=limit {
        if holder == me {
            return true;
        }
        let Some(next) = core.lock_wait_of(holder) else {
            return false;
        };
        match next.owner.get() {
            Some(h) => holder = h,
            None => return false,
        }
    }
    false // a cycle that does not include `me` (reported when it closed)
}

/// Clears the running task's lock wait when dropped (also on unwind).
pub(crate) struct Waiting(bool);

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.0 {
            context::with_core("lock", |core| core.set_lock_wait(None));
        }
    }
}

/// The cycle `closes_cycle` found, link by link (the cold path: it allocates).
fn describe_cycle(core: &Core, me: TaskId, lock: &Rc<LockIdent>) -> LockCycle {
    {
        // (task, the lock it waits for)
        let mut chain: Vec<(TaskId, Rc<LockIdent>)> = vec![(me, lock.clone())];
        let limit = core.task_count();
        loop {
            let (_, waited) = chain.last().expect("never empty");
            let holder = waited.owner.get().expect("closes_cycle saw an owner");
            if holder == me || chain.len() > limit {
                break;
            }
            let next = core.lock_wait_of(holder).expect("closes_cycle saw a wait");
            chain.push((holder, next));
        }
        let n = chain.len();
        let links = (0..n)
            .map(|i| {
                let (task, waits) = &chain[i];
                // What `task` holds: the lock the previous link waits for.
                let held = &chain[(i + n - 1) % n].1;
                CycleLink {
                    task: *task,
                    name: core.task_name(*task),
                    holds: held.describe(),
                    waits_for: waits.describe(),
                }
            })
            .collect();
        LockCycle::new(links)
    }
}
