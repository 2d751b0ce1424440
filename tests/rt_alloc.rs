//! No allocation on the hot path: yield, park/unpark, timed park, sleep, and
//! spawn + join once stacks and join slots are pooled.
//!
//! This binary installs a counting global allocator, so it lives alone in
//! its own test file. Only allocations made on the counting thread while
//! counting is switched on are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use weft::park::{park, park_until, Reason, Unparker};
use weft::{sleep, spawn, yield_now, Runtime};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator may run while thread-locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counting touches only const thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`; `ptr` came from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread while `f` runs.
fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

fn run(f: impl FnOnce() + 'static) {
    Runtime::new().unwrap().block_on(f).unwrap();
}

#[test]
fn the_counter_counts() {
    let n = allocations_in(|| drop(std::hint::black_box(Box::new(1u64))));
    assert_eq!(n, 1);
}

#[test]
fn yield_now_does_not_allocate() {
    run(|| {
        let stop = Rc::new(Cell::new(false));
        let others: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                spawn(move || {
                    while !stop.get() {
                        yield_now();
                    }
                })
            })
            .collect();
        for _ in 0..1_000 {
            yield_now();
        }
        let n = allocations_in(|| {
            for _ in 0..10_000 {
                yield_now();
            }
        });
        stop.set(true);
        for t in others {
            t.join().unwrap();
        }
        assert_eq!(n, 0, "allocations across 10,000 yields of 4 tasks");
    });
}

/// Two tasks wake each other in turn `rounds` times; `timed` parks with a
/// deadline that never passes, so each round also adds and removes a timer.
fn ping_pong(rounds: usize, timed: bool) -> usize {
    let ping: Rc<Cell<Option<Unparker>>> = Rc::default();
    let pong: Rc<Cell<Option<Unparker>>> = Rc::default();
    let stop = Rc::new(Cell::new(false));
    let (ping2, pong2, stop2) = (ping.clone(), pong.clone(), stop.clone());
    let far = Instant::now() + Duration::from_secs(3600);
    let wait = move || {
        if timed {
            park_until(Reason::Primitive("PingPong"), far);
        } else {
            park(Reason::Primitive("PingPong"));
        }
    };
    let partner = spawn(move || loop {
        pong2.set(Some(Unparker::current()));
        wait();
        if stop2.get() {
            break;
        }
        assert!(ping2.take().unwrap().unpark());
    });
    yield_now(); // the partner parks first
    let round = || {
        ping.set(Some(Unparker::current()));
        assert!(pong.take().unwrap().unpark());
        wait();
    };
    for _ in 0..1_000 {
        round();
    }
    let n = allocations_in(|| {
        for _ in 0..rounds {
            round();
        }
    });
    stop.set(true);
    pong.take().unwrap().unpark();
    partner.join().unwrap();
    n
}

#[test]
fn park_and_unpark_do_not_allocate() {
    run(|| assert_eq!(ping_pong(10_000, false), 0));
}

#[test]
fn a_timed_park_woken_early_does_not_allocate() {
    run(|| assert_eq!(ping_pong(10_000, true), 0));
}

#[test]
fn sleep_does_not_allocate() {
    run(|| {
        // Another sleeper keeps a timer pending throughout.
        let other = spawn(|| sleep(Duration::from_millis(500)));
        for _ in 0..20 {
            sleep(Duration::from_micros(100));
        }
        let n = allocations_in(|| {
            for _ in 0..100 {
                sleep(Duration::from_micros(100));
            }
        });
        other.cancel();
        let _ = other.join();
        assert_eq!(n, 0, "allocations across 100 sleeps");
    });
}

#[test]
fn spawn_and_join_do_not_allocate_once_warm() {
    run(|| {
        // The first burst maps the stacks, grows the task table and leaves
        // its join slots in the pool; later spawns (of tasks returning the
        // same type) take from the pools.
        let burst = || {
            let handles: Vec<_> = (0..100u64).map(|i| spawn(move || i * 2)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        };
        let mut handles = Vec::with_capacity(100);
        burst();
        let n = allocations_in(|| {
            for _ in 0..1_000 {
                assert_eq!(spawn(|| 7u64).join().unwrap(), 7);
            }
            for i in 0..100u64 {
                handles.push(spawn(move || i * 2));
            }
            let sum: u64 = handles.drain(..).map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, 9_900);
        });
        assert_eq!(
            n, 0,
            "allocations across 1,000 spawn+joins and a burst of 100"
        );
    });
}
