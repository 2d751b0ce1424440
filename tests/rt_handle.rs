//! `Handle::spawn` from other OS threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use weft::{current, sleep, Runtime};

/// Sleeps in green steps until `flag` is set (bounded, so a bug fails, not hangs).
fn wait_for(flag: &AtomicBool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !flag.load(Ordering::Acquire) {
        assert!(Instant::now() < give_up, "the remote job never ran");
        sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_remote_spawn_runs_on_the_runtime_thread_and_joins_from_the_os_thread() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let loop_thread = thread::current().id();
    let remote = thread::spawn(move || {
        let job = handle
            .spawn(move || {
                let same_thread = thread::current().id() == loop_thread;
                let in_task = current().id().as_u32() > 0;
                r.store(true, Ordering::Release);
                (same_thread, in_task, 6 * 7)
            })
            .unwrap();
        job.join().unwrap()
    });
    let r = ran.clone();
    rt.block_on(move || wait_for(&r)).unwrap();
    assert_eq!(remote.join().unwrap(), (true, true, 42));
}

#[test]
fn a_remote_panic_is_reported_to_the_remote_joiner() {
    let rt = Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let handle = rt.handle();
    thread::spawn(move || {
        tx.send(handle.spawn(|| -> u8 { panic!("remote boom") }).unwrap())
            .unwrap();
    })
    .join()
    .unwrap();
    let job = rx.recv().unwrap();
    rt.run().unwrap();
    assert!(job.is_finished());
    let err = job.join().unwrap_err();
    assert_eq!(err.panic_message(), Some("remote boom"));
}

#[test]
fn run_takes_jobs_submitted_before_it_started() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let job = thread::spawn(move || handle.spawn(|| "queued early").unwrap())
        .join()
        .unwrap();
    assert!(!job.is_finished());
    rt.run().unwrap();
    assert!(
        job.is_finished(),
        "run returned without running the queued job"
    );
    assert_eq!(job.join().unwrap(), "queued early");
}

#[test]
fn dropping_the_runtime_cancels_queued_jobs_instead_of_hanging() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let job = thread::spawn({
        let handle = handle.clone();
        move || handle.spawn(|| 1).unwrap()
    })
    .join()
    .unwrap();
    drop(rt);
    let joiner = thread::spawn(move || job.join());
    let start = Instant::now();
    while !joiner.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(20), "join hangs");
        thread::sleep(Duration::from_millis(5));
    }
    assert!(joiner.join().unwrap().unwrap_err().is_cancelled());
    // Later spawns fail with a clear error.
    let err = handle.spawn(|| 2).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    assert!(err.to_string().contains("runtime is gone"), "{err}");
}

#[test]
fn many_remote_spawns_from_several_threads_all_run() {
    let rt = Runtime::new().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let handle = rt.handle();
            thread::spawn(move || {
                let jobs: Vec<_> = (0..250)
                    .map(|i| handle.spawn(move || t * 1000 + i).unwrap())
                    .collect();
                jobs.into_iter().map(|j| j.join().unwrap()).sum::<u64>()
            })
        })
        .collect();
    let d = done.clone();
    let watcher = thread::spawn(move || {
        let sums: u64 = senders.into_iter().map(|s| s.join().unwrap()).sum();
        d.store(true, Ordering::Release);
        sums
    });
    let d = done.clone();
    rt.block_on(move || wait_for(&d)).unwrap();
    let expected: u64 = (0..4u64)
        .map(|t| (0..250u64).map(|i| t * 1000 + i).sum::<u64>())
        .sum();
    assert_eq!(watcher.join().unwrap(), expected);
}
