//! Joining and identity: `join`, `join_timeout`, `is_finished`, `current()`,
//! and the task `Builder`.

mod util;

use std::time::{Duration, Instant};

use util::block_on;
use weft::{current, sleep, spawn, task, yield_now, Runtime};

#[test]
fn join_returns_the_value_and_parks_until_the_task_ends() {
    let (v, waited) = block_on(|| {
        let start = Instant::now();
        let t = spawn(|| {
            sleep(Duration::from_millis(30));
            String::from("slow value")
        });
        (t.join().unwrap(), start.elapsed())
    });
    assert_eq!(v, "slow value");
    assert!(waited >= Duration::from_millis(30));
}

#[test]
fn join_timeout_leaves_the_task_running_and_the_handle_usable() {
    block_on(|| {
        let mut t = spawn(|| {
            sleep(Duration::from_millis(80));
            "late"
        });
        let start = Instant::now();
        let err = t.join_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(!t.is_finished());
        // Once more, still too short.
        assert!(t.join_timeout(Duration::ZERO).unwrap_err().is_timeout());
        // A long enough wait gets the value.
        assert_eq!(t.join_timeout(Duration::from_secs(30)).unwrap(), "late");
    });
}

#[test]
fn join_after_a_timeout_gets_the_value() {
    let v = block_on(|| {
        let mut t = spawn(|| {
            sleep(Duration::from_millis(40));
            5
        });
        assert!(t.join_timeout(Duration::from_millis(5)).is_err());
        t.join().unwrap()
    });
    assert_eq!(v, 5);
}

#[test]
fn join_timeout_on_a_finished_task_returns_at_once() {
    block_on(|| {
        let mut t = spawn(|| 3);
        yield_now();
        assert_eq!(t.join_timeout(Duration::ZERO).unwrap(), 3);
    });
}

#[test]
fn is_finished_tracks_the_task() {
    block_on(|| {
        let t = spawn(yield_now);
        assert!(!t.is_finished(), "not started yet");
        yield_now();
        assert!(!t.is_finished(), "started, yielded");
        yield_now();
        assert!(t.is_finished());
        t.join().unwrap();
    });
}

#[test]
fn a_handle_joined_outside_the_runtime_after_run() {
    let rt = Runtime::new().unwrap();
    let t = rt.spawn(|| vec![1, 2, 3]);
    assert!(!t.is_finished());
    rt.run().unwrap();
    assert!(t.is_finished());
    assert_eq!(t.join().unwrap(), [1, 2, 3]);
}

#[test]
fn current_gives_the_running_tasks_id_and_name() {
    block_on(|| {
        let me = current();
        assert_eq!(me.name(), Some("main"));
        let named = task::Builder::new()
            .name("worker-1".into())
            .spawn(|| {
                let c = current();
                (c.id(), c.name().map(str::to_owned))
            })
            .unwrap();
        let named_id = named.id();
        assert_eq!(named.name(), Some("worker-1"));
        let anon = spawn(|| (current().id(), current().name().map(str::to_owned)));
        let anon_id = anon.id();
        assert_eq!(anon.name(), None);
        assert_eq!(named.join().unwrap(), (named_id, Some("worker-1".into())));
        assert_eq!(anon.join().unwrap(), (anon_id, None));
        assert_ne!(named_id, anon_id);
        assert_ne!(me.id(), named_id);
        assert_eq!(current().id(), me.id());
    });
}

#[test]
fn task_ids_count_spawns_from_one() {
    let rt = Runtime::new().unwrap();
    let ids: Vec<u32> = (0..3).map(|_| rt.spawn(|| ()).id().as_u32()).collect();
    assert_eq!(ids, [1, 2, 3]);
    rt.run().unwrap();
    // Ids are not reused, although the slots are.
    let next = rt.spawn(|| ()).id();
    assert_eq!(next.as_u32(), 4);
    assert_eq!(next.to_string(), "4");
    assert_eq!(format!("{next:?}"), "TaskId(4)");
    rt.run().unwrap();
}

#[test]
fn builder_stack_size_gives_the_task_that_much_stack() {
    block_on(|| {
        // A 1 MiB buffer on the stack needs more than the default 256 KiB.
        let t = task::Builder::new()
            .stack_size(4 << 20)
            .spawn(|| {
                let buf = std::hint::black_box([7u8; 1 << 20]);
                buf.iter().map(|&b| b as u32).sum::<u32>()
            })
            .unwrap();
        assert_eq!(t.join().unwrap(), 7 << 20);
    });
}
