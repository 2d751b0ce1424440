//! Task dumps: from another thread while the loop runs (what each task
//! waits on, for how long, where it was spawned), and while a task holds
//! the loop (which task, from the watchdog).

mod util;

use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use weft::net::TcpListener;
use weft::sync::{Lock, Queue};
use weft::{task, Builder, Runtime, TaskState};

#[track_caller]
fn named<T: 'static>(name: &str, f: impl FnOnce() -> T + 'static) -> weft::JoinHandle<T> {
    task::Builder::new().name(name.into()).spawn(f).unwrap()
}

#[test]
fn a_dump_from_another_thread_says_what_every_task_waits_on() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let dumper = std::thread::spawn(move || {
        ready_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let dump = handle.dump();
        done_tx.send(()).unwrap();
        dump
    });
    rt.block_on(move || {
        let lock = Rc::new(Lock::named("accounts"));
        let l = lock.clone();
        let holder = named("holder", move || {
            let _g = l.lock();
            weft::sleep(Duration::from_secs(30));
        });
        let l = lock.clone();
        let waiter = named("waiter", move || drop(l.lock()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let acceptor = named("acceptor", move || drop(listener.accept()));
        let queue = Rc::new(Queue::<u32>::new(0));
        let q = queue.clone();
        let consumer = named("consumer", move || {
            let _ = q.get();
        });
        let joiner = {
            let h = task::Builder::new()
                .name("sleepy".into())
                .daemon(true)
                .spawn(|| weft::sleep(Duration::from_secs(30)))
                .unwrap();
            named("joiner", move || drop(h.join()))
        };
        weft::yield_now();
        ready_tx.send(()).unwrap();
        // Wait (parked on a bridge-less poll loop) until the dump is taken.
        while done_rx.try_recv().is_err() {
            weft::sleep(Duration::from_millis(5));
        }
        for t in [&holder, &waiter, &acceptor, &consumer] {
            t.cancel();
        }
        joiner.cancel();
    })
    .unwrap();
    let dump = dumper.join().unwrap();
    assert!(dump.complete());
    assert!(dump.stalled().is_none());
    let text = dump.to_string();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("'{name}'")) && l.contains(": "))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .to_owned()
    };
    assert!(
        line("waiter").contains("parked on Lock 'accounts' held by task 2 'holder' for "),
        "{text}"
    );
    assert!(line("holder").contains("parked on sleep until +"), "{text}");
    assert!(
        line("acceptor").contains("parked on I/O readiness (read)"),
        "{text}"
    );
    assert!(line("consumer").contains("parked on Queue::get"), "{text}");
    assert!(
        line("joiner").contains("parked on join of task 6 'sleepy'"),
        "{text}"
    );
    assert!(line("main").contains("parked on sleep"), "{text}");
    assert!(
        line("waiter").contains("spawned at tests/rt_dump.rs:"),
        "{text}"
    );
    let waiter = dump
        .tasks()
        .iter()
        .find(|t| t.name.as_deref() == Some("waiter"))
        .unwrap();
    assert_eq!(waiter.state, TaskState::Parked);
    assert!(
        waiter.parked_for.unwrap() >= Duration::from_millis(50),
        "{waiter:?}"
    );
}

#[test]
fn a_dump_of_a_stalled_loop_names_the_task_holding_it() {
    let rt = Builder::new()
        .stall_threshold(Some(Duration::from_millis(50)))
        .build()
        .unwrap();
    let handle = rt.handle();
    let dumper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let asked = Instant::now();
        (handle.dump(), asked.elapsed())
    });
    rt.block_on(|| {
        named("spinner", || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(1200) {
                std::hint::spin_loop();
            }
        })
        .join()
        .unwrap();
    })
    .unwrap();
    let (dump, took) = dumper.join().unwrap();
    assert!(!dump.complete(), "the loop could not answer: {dump}");
    let (who, held) = dump.stalled().expect("the watchdog saw the stall");
    assert!(who.starts_with("'spinner' (#2"), "{who}");
    assert!(held >= Duration::from_millis(100), "{held:?}");
    assert!(
        took < Duration::from_secs(5),
        "the dump does not wait for the loop: {took:?}"
    );
    let text = dump.to_string();
    assert!(
        text.contains("the loop is STALLED: task 'spinner'"),
        "{text}"
    );
    assert!(
        text.contains("task 2 'spinner'") && text.contains("task 1 'main'"),
        "{text}"
    );
}

#[test]
fn a_dump_on_the_loop_thread_is_immediate() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| {
        let t = named("ready-one", || ());
        let dump = weft::Handle::current().dump();
        assert!(dump.complete());
        let states: Vec<_> = dump
            .tasks()
            .iter()
            .map(|t| (t.name.clone(), t.state))
            .collect();
        assert_eq!(
            states,
            [
                (Some("main".into()), TaskState::Running),
                (Some("ready-one".into()), TaskState::Ready)
            ]
        );
        t.join().unwrap();
    })
    .unwrap();
}

/// A task that yielded is queued: a dump taken by the running task shows it
/// ready and only the dumping task running.
#[test]
fn a_task_that_yielded_is_ready_and_only_the_current_one_runs() {
    Runtime::new()
        .unwrap()
        .block_on(|| {
            let spinner = named("spinner", || {
                for _ in 0..3 {
                    weft::yield_now();
                }
            });
            weft::yield_now(); // the spinner runs once and yields back to the queue
            let dump = weft::Handle::current().dump();
            let state_of = |name: &str| {
                dump.tasks()
                    .iter()
                    .find(|t| t.name.as_deref() == Some(name))
                    .map(|t| t.state)
            };
            assert_eq!(state_of("spinner"), Some(TaskState::Ready), "{dump}");
            assert_eq!(state_of("main"), Some(TaskState::Running), "{dump}");
            spinner.join().unwrap();
        })
        .unwrap();
}
