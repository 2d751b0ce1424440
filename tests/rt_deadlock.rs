//! Deadlock detection (G10): nothing ready, no timer, no outside wake source,
//! and tasks still parked → `RunError::Deadlock` naming each blocked task.

mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use util::Drops;
use weft::park::{park, Reason};
use weft::{sleep, spawn, task, JoinHandle, RunError, Runtime};

fn deadlock(result: Result<(), RunError>) -> weft::DeadlockReport {
    match result {
        Err(RunError::Deadlock(report)) => report,
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

#[test]
fn two_tasks_joining_each_other_are_reported_and_unwound() {
    let drops = Drops::new();
    let rt = Runtime::new().unwrap();
    let slot_for_a: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    let d = drops.clone();
    let to_b = slot_for_a.clone();
    let a = rt
        .spawn_with(task::Builder::new().name("alice".into()), move || {
            let _guard = d.guard();
            let b = to_b.borrow_mut().take().expect("bob's handle");
            b.join().unwrap();
        })
        .unwrap();
    let a_id = a.id();
    let d = drops.clone();
    let b = rt
        .spawn_with(task::Builder::new().name("bob".into()), move || {
            let _guard = d.guard();
            a.join().unwrap();
        })
        .unwrap();
    let b_id = b.id();
    *slot_for_a.borrow_mut() = Some(b);

    let report = deadlock(rt.run());
    let blocked = report.blocked();
    assert_eq!(blocked.len(), 2);
    assert_eq!(blocked[0].id, a_id);
    assert_eq!(blocked[0].name.as_deref(), Some("alice"));
    assert_eq!(blocked[0].reason, Reason::Join(b_id));
    assert!(!blocked[0].daemon);
    assert_eq!(blocked[1].id, b_id);
    assert_eq!(blocked[1].name.as_deref(), Some("bob"));
    assert_eq!(blocked[1].reason, Reason::Join(a_id));
    let text = report.to_string();
    assert!(text.starts_with("deadlock: 2 task(s) blocked"), "{text}");
    assert!(
        text.contains(&format!("task {a_id} 'alice' waits on join of task {b_id}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("task {b_id} 'bob' waits on join of task {a_id}")),
        "{text}"
    );
    assert_eq!(drops.count(), 2, "both blocked tasks were unwound");
    assert_eq!(rt.task_count(), 0);
}

#[test]
fn a_primitive_wait_with_no_waker_is_a_deadlock() {
    let drops = Drops::new();
    let d = drops.clone();
    let rt = Runtime::new().unwrap();
    let result = rt.block_on(move || {
        let _guard = d.guard();
        let d2 = d.clone();
        task::Builder::new()
            .name("locker".into())
            .spawn(move || {
                let _guard = d2.guard();
                park(Reason::Primitive("Lock"));
            })
            .unwrap()
            .join()
            .unwrap();
        "unreachable"
    });
    let report = match result {
        Err(RunError::Deadlock(r)) => r,
        Err(e) => panic!("expected a deadlock, got {e:?}"),
        Ok(v) => panic!("expected a deadlock, got {v:?}"),
    };
    let reasons: Vec<(Option<&str>, Reason)> = report
        .blocked()
        .iter()
        .map(|t| (t.name.as_deref(), t.reason))
        .collect();
    let locker = report.blocked()[1].id;
    assert_eq!(
        reasons,
        [
            (Some("main"), Reason::Join(locker)),
            (Some("locker"), Reason::Primitive("Lock"))
        ]
    );
    assert!(report.to_string().contains("'locker' waits on Lock"));
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_blocked_daemon_alone_is_no_deadlock_but_is_named_with_others() {
    // Only a daemon blocked: run just returns.
    let rt = Runtime::new().unwrap();
    rt.spawn_with(task::Builder::new().daemon(true), || {
        park(Reason::Primitive("Event"))
    })
    .unwrap();
    rt.run().unwrap();

    // A non-daemon blocked too: both show up, the daemon marked as such.
    let rt = Runtime::new().unwrap();
    rt.spawn_with(task::Builder::new().daemon(true).name("d".into()), || {
        park(Reason::Primitive("Event"))
    })
    .unwrap();
    rt.spawn(|| park(Reason::Primitive("Queue::get")));
    let report = deadlock(rt.run());
    assert_eq!(report.blocked().len(), 2);
    assert!(report.blocked()[0].daemon);
    let text = report.to_string();
    assert!(text.contains("'d' (daemon) waits on Event"), "{text}");
    assert!(text.contains("waits on Queue::get"), "{text}");
}

#[test]
fn a_pending_timer_is_not_a_deadlock() {
    let rt = Runtime::new().unwrap();
    let blocked = rt.spawn(|| park(Reason::Primitive("Lock")));
    let id = blocked.id();
    // While this sleeps, nothing is ready but a timer is pending.
    rt.spawn(|| sleep(Duration::from_millis(30)));
    let report = deadlock(rt.run());
    // Reported only after the sleeper finished, and only the parked task.
    assert_eq!(report.blocked().len(), 1);
    assert_eq!(report.blocked()[0].id, id);
    assert!(blocked.is_finished(), "the blocked task was unwound");
    assert!(blocked.join().unwrap_err().is_cancelled());
}

#[test]
fn the_runtime_is_usable_after_a_deadlock() {
    let rt = Runtime::new().unwrap();
    rt.spawn(|| park(Reason::Primitive("Lock")));
    assert!(matches!(rt.run(), Err(RunError::Deadlock(_))));
    assert_eq!(rt.block_on(|| spawn(|| 5).join().unwrap()).unwrap(), 5);
}
