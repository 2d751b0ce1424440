//! Sleeping: wakes on time, and the loop blocks in the poller instead of
//! spinning while it waits.

mod util;

use std::time::{Duration, Instant};

use util::block_on;
use weft::{sleep, spawn};

/// CPU time this OS thread has used so far.
fn thread_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `usage` is a valid out-pointer for one `rusage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage failed");
    // SAFETY: getrusage returned 0, so it filled `usage`.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn a_sleeping_loop_wakes_on_time() {
    let ticks = block_on(|| {
        let start = Instant::now();
        let mut ticks = Vec::new();
        for _ in 0..10 {
            sleep(Duration::from_millis(20));
            ticks.push(start.elapsed());
        }
        ticks
    });
    for (i, t) in ticks.iter().enumerate() {
        let due = Duration::from_millis(20 * (i as u64 + 1));
        assert!(*t >= due, "tick {i} at {t:?}, before {due:?}");
    }
    let total = *ticks.last().unwrap();
    assert!(total < Duration::from_secs(2), "10 x 20 ms took {total:?}");
}

#[test]
fn the_loop_blocks_while_every_task_sleeps() {
    let (cpu, wall) = block_on(|| {
        let others: Vec<_> = (0..10)
            .map(|i| spawn(move || sleep(Duration::from_millis(150 + i))))
            .collect();
        let cpu0 = thread_cpu_time();
        let start = Instant::now();
        sleep(Duration::from_millis(200));
        let spent = (thread_cpu_time() - cpu0, start.elapsed());
        for t in others {
            t.join().unwrap();
        }
        spent
    });
    assert!(wall >= Duration::from_millis(200));
    assert!(
        cpu < Duration::from_millis(50),
        "{cpu:?} of CPU while sleeping for {wall:?}: the loop is spinning"
    );
}

#[test]
fn sleepers_do_not_delay_each_other() {
    let elapsed = block_on(|| {
        let start = Instant::now();
        let tasks: Vec<_> = (0..100)
            .map(|_| spawn(|| sleep(Duration::from_millis(50))))
            .collect();
        for t in tasks {
            t.join().unwrap();
        }
        start.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(50));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn a_park_unparked_as_its_deadline_passes_ends_once() {
    use std::cell::Cell;
    use std::rc::Rc;
    use weft::park::{park_until, Reason, Unparker, Wake};

    block_on(|| {
        let slot = Rc::new(Cell::new(None::<Unparker>));
        let s = slot.clone();
        let t = spawn(move || {
            s.set(Some(Unparker::current()));
            let first = park_until(
                Reason::Primitive("Test"),
                Instant::now() + Duration::from_millis(10),
            );
            // The timer heap is still coherent: later timers work.
            sleep(Duration::from_millis(5));
            let second = park_until(
                Reason::Primitive("Test"),
                Instant::now() + Duration::from_millis(5),
            );
            (first, second)
        });
        weft::yield_now();
        // Block the loop past the deadline, then unpark: the expired timer
        // and the unpark land in the same turn.
        std::thread::sleep(Duration::from_millis(30));
        assert!(slot.get().unwrap().unpark());
        assert_eq!(t.join().unwrap(), (Wake::Unparked, Wake::TimedOut));
    });
}
