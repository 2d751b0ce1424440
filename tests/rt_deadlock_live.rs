//! Lock cycles are caught the moment they close, even while other tasks
//! (a listener parked in `accept`, a ticker sleeping in a loop) keep the
//! runtime alive: reported by default, and in victim mode the acquire that
//! closed the cycle fails so the others finish.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{child_mode, run_child};
use weft::net::TcpListener;
use weft::sync::{Lock, Mutex, RLock};
use weft::{task, Builder, JoinError, LockCycleAction, Runtime};

/// A listener parked in accept and a ticker: the runtime is never idle.
fn background() -> Vec<weft::JoinHandle<()>> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let acceptor = task::Builder::new()
        .name("acceptor".into())
        .spawn(move || {
            let _ = listener.accept();
        })
        .unwrap();
    let ticker = task::Builder::new()
        .name("ticker".into())
        .spawn(|| loop {
            weft::sleep(Duration::from_millis(5));
        })
        .unwrap();
    vec![acceptor, ticker]
}

/// `n` tasks, task `i` taking lock `i` then lock `i + 1 (mod n)`.
fn ring(locks: &[Rc<Lock>]) -> Vec<weft::JoinHandle<()>> {
    let n = locks.len();
    (0..n)
        .map(|i| {
            let first = locks[i].clone();
            let second = locks[(i + 1) % n].clone();
            task::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    let _a = first.lock();
                    weft::sleep(Duration::from_millis(10)); // everyone holds one
                    let _b = second.lock();
                })
                .unwrap()
        })
        .collect()
}

fn reported_ring(n: usize) {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    rt.block_on(move || {
        let others = background();
        let locks: Vec<_> = (0..n)
            .map(|i| Rc::new(Lock::named(format!("L{i}"))))
            .collect();
        let workers = ring(&locks);
        weft::sleep(Duration::from_millis(100));
        println!("DEADLOCKS {}", handle.metrics().deadlocks);
        println!(
            "STUCK {}",
            workers.iter().filter(|w| !w.is_finished()).count()
        );
        for t in workers.iter().chain(&others) {
            t.cancel();
        }
    })
    .unwrap();
}

#[test]
fn child_entry() {
    match child_mode().as_deref() {
        Some("two") => reported_ring(2),
        Some("three") => reported_ring(3),
        _ => {}
    }
}

fn check_report(n: usize, mode: &str) {
    let out = run_child("child_entry", mode);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("DEADLOCKS 1"), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("STUCK {n}")),
        "report mode changes nothing: {stdout}"
    );
    let header = format!("weft: deadlock: lock cycle of {n} task(s)");
    assert_eq!(stderr.matches(&header).count(), 1, "{stderr}");
    for i in 0..n {
        let line = format!(
            "' holds Lock 'L{}' and waits for Lock 'L{}'",
            i,
            (i + 1) % n
        );
        assert!(
            stderr.contains(&format!("'worker-{i}{line}")),
            "worker-{i} missing in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("acceptor") && !stderr.contains("ticker"),
        "{stderr}"
    );
}

#[test]
fn a_two_lock_cycle_is_reported_while_other_tasks_run() {
    check_report(2, "two");
}

#[test]
fn a_three_lock_cycle_is_reported_while_other_tasks_run() {
    check_report(3, "three");
}

#[test]
fn in_victim_mode_the_closing_acquire_fails_and_the_others_finish() {
    let rt = Builder::new()
        .lock_cycles(LockCycleAction::FailAcquire)
        .build()
        .unwrap();
    let detect = Rc::new(Cell::new(Duration::ZERO));
    let d = detect.clone();
    rt.block_on(move || {
        let others = background();
        let locks: Vec<_> = (0..3)
            .map(|i| Rc::new(Lock::named(format!("L{i}"))))
            .collect();
        let workers = ring(&locks);
        // Timing the closing acquire: the last worker to ask closes it.
        let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        let victims: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
        assert_eq!(victims.len(), 1, "{results:?}");
        match victims[0] {
            Err(JoinError::Deadlock(cycle)) => {
                assert_eq!(cycle.links().len(), 3);
                assert_eq!(cycle.links()[0].name.as_deref(), Some("worker-2"));
                assert_eq!(cycle.links()[0].waits_for, "Lock 'L0'");
                assert_eq!(cycle.links()[0].holds, "Lock 'L2'");
            }
            other => panic!("{other:?}"),
        }
        assert!(locks.iter().all(|l| !l.is_locked()), "all released");
        // How long from a closing acquire to its failure.
        let (a, b) = (Rc::new(Lock::new()), Rc::new(Lock::new()));
        let (a2, b2) = (a.clone(), b.clone());
        let holder = weft::spawn(move || {
            let _a = a2.lock();
            weft::yield_now();
            let _b = b2.lock();
        });
        let _b = b.lock();
        weft::yield_now(); // holder takes a
        weft::yield_now(); // holder parks on b
        let start = Instant::now();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(a.lock())));
        d.set(start.elapsed());
        assert!(caught.is_err(), "the closing acquire unwinds");
        drop(_b);
        holder.join().unwrap();
        for t in &others {
            t.cancel();
        }
    })
    .unwrap();
    println!("cycle to report: {:?}", detect.get());
    assert_eq!(rt.metrics().deadlocks, 2);
}

#[test]
fn rlock_and_mutex_cycles_are_caught_too() {
    let rt = Builder::new()
        .lock_cycles(LockCycleAction::FailAcquire)
        .build()
        .unwrap();
    rt.block_on(|| {
        let r = Rc::new(RLock::named("r"));
        let m = Rc::new(Mutex::named("m", 0));
        let (r2, m2) = (r.clone(), m.clone());
        let first = weft::spawn(move || {
            let _r = r2.lock();
            let _r_again = r2.lock(); // reentrant: no cycle with itself
            weft::yield_now();
            *m2.lock() += 1;
        });
        let _m = m.lock();
        weft::yield_now(); // first takes r twice
        weft::yield_now(); // first parks on m
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(r.lock())));
        assert!(caught.is_err());
        drop(_m);
        first.join().unwrap();
        assert_eq!(*m.lock(), 1);
    })
    .unwrap();
}

#[test]
fn the_idle_report_names_the_lock_and_its_holder() {
    let rt = Builder::new()
        .lock_cycles(LockCycleAction::Off)
        .build()
        .unwrap();
    let result = rt.block_on(|| {
        let lock = Rc::new(Lock::named("accounts"));
        let guard = lock.lock();
        let l = lock.clone();
        task::Builder::new()
            .name("teller".into())
            .spawn(move || drop(l.lock()))
            .unwrap();
        weft::yield_now();
        std::mem::forget(guard);
        weft::park::park(weft::park::Reason::Primitive("forever"));
    });
    let report = match result {
        Err(weft::RunError::Deadlock(report)) => report,
        other => panic!("{other:?}"),
    };
    let text = report.to_string();
    assert!(
        text.contains("'teller' waits on Lock 'accounts' held by task 1 'main'"),
        "{text}"
    );
    let teller = report
        .blocked()
        .iter()
        .find(|b| b.name.as_deref() == Some("teller"))
        .unwrap();
    assert_eq!(
        teller.lock.as_deref(),
        Some("Lock 'accounts' held by task 1 'main'")
    );
}
