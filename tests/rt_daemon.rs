//! Daemon tasks: `run` does not wait for them, they are unwound at the end
//! (their `Drop`s run), and their handles can be joined (C-3).

mod util;

use std::time::Duration;

use util::{block_on, Drops, Log};
use weft::park::{park, Reason};
use weft::{sleep, spawn, task, yield_now, Runtime};

#[test]
fn run_returns_when_only_daemons_are_left_and_their_drops_run() {
    let drops = Drops::new();
    let log = Log::new();
    let rt = Runtime::new().unwrap();
    let (d, l) = (drops.clone(), log.clone());
    rt.spawn_with(task::Builder::new().daemon(true), move || {
        let _guard = d.guard();
        loop {
            l.push("sleeper tick");
            sleep(Duration::from_secs(3600));
        }
    })
    .unwrap();
    let (d, l) = (drops.clone(), log.clone());
    rt.spawn_with(task::Builder::new().daemon(true), move || {
        let _guard = d.guard();
        l.push("parker parks");
        park(Reason::Primitive("Forever"));
        l.push("parker resumed normally");
    })
    .unwrap();
    let (d, l) = (drops.clone(), log.clone());
    rt.spawn_with(task::Builder::new().daemon(true), move || {
        let _guard = d.guard();
        loop {
            yield_now();
            l.push("spinner spun");
        }
    })
    .unwrap();
    let l = log.clone();
    rt.spawn(move || {
        yield_now();
        l.push("worker done");
    });
    let started = std::time::Instant::now();
    rt.run().expect("daemons left over are not a deadlock");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(drops.count(), 3, "every daemon was unwound");
    assert_eq!(rt.task_count(), 0);
    assert_eq!(
        log.take(),
        [
            "sleeper tick",
            "parker parks",
            "spinner spun",
            "worker done"
        ]
    );
}

#[test]
fn a_runtime_with_only_daemons_returns_at_once() {
    let drops = Drops::new();
    let rt = Runtime::new().unwrap();
    let d = drops.clone();
    let h = rt
        .spawn_with(task::Builder::new().daemon(true), move || {
            let _guard = d.guard();
            sleep(Duration::from_secs(3600));
        })
        .unwrap();
    rt.run().unwrap();
    assert_eq!(drops.count(), 1);
    assert!(h.is_finished());
    assert!(h.join().unwrap_err().is_cancelled());
}

#[test]
fn a_daemon_handle_can_be_joined() {
    let v = block_on(|| {
        let h = task::Builder::new()
            .daemon(true)
            .name("helper".into())
            .spawn(|| {
                sleep(Duration::from_millis(10));
                7
            })
            .unwrap();
        h.join().unwrap() * 6
    });
    assert_eq!(v, 42);
}

#[test]
fn a_daemon_keeps_running_while_non_daemons_live() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let l2 = l.clone();
        task::Builder::new()
            .daemon(true)
            .spawn(move || {
                for i in 0.. {
                    l2.push(format!("tick {i}"));
                    yield_now();
                }
            })
            .unwrap();
        for _ in 0..3 {
            yield_now();
        }
        l.push("main done");
    });
    assert_eq!(
        log.take(),
        ["tick 0", "tick 1", "tick 2", "main done"],
        "the daemon ran alongside main and was stopped when main ended"
    );
}

#[test]
fn a_task_spawned_by_a_daemon_is_not_a_daemon() {
    let log = Log::new();
    let l = log.clone();
    let rt = Runtime::new().unwrap();
    rt.spawn_with(task::Builder::new().daemon(true), move || {
        spawn(move || {
            sleep(Duration::from_millis(20));
            l.push("child finished");
        });
    })
    .unwrap();
    rt.run().unwrap();
    assert_eq!(log.take(), ["child finished"]);
}
