//! Timers: register + fire, and register + cancel, with no other timer pending and with up to 100,000 pending, against their floors (the same wake without a timer).
//!
//! * `timers/fire/*`: the task parks with a deadline of "now"; the loop
//!   finds nothing ready, polls the OS with a zero timeout, pops the expired
//!   timer and resumes the task. Floor: `timers/yield_alone`, the same trip
//!   through the loop with no timer (and no poll, since nothing is registered).
//! * `timers/cancel/*`: the task parks with a far deadline and a partner
//!   unparks it at once; the timer is added and then removed unfired. Floor:
//!   `timers/park_unpark`, the same ping-pong without a deadline.
//!
//! The pending timers belong to sleeping tasks spawned before timing. Each
//! needs a stack (two kernel memory maps), so the count is capped below
//! `vm.max_map_count`; the bench names say how many were pending.
//! Run with `cargo bench --bench timers`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use weft::park::{park, park_until, Reason, Unparker};
use weft::{sleep, spawn, task, yield_now, MIN_STACK_SIZE};

const WANTED_PENDING: usize = 100_000;

/// As many sleepers as the kernel's map limit allows, up to 100,000.
fn pending_timers() -> usize {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(65_530);
    // Two maps per stack, and room for the process's own maps.
    WANTED_PENDING.min(limit.saturating_sub(4_000) / 2)
}

/// A partner that wakes the timing task each time it is woken, until `stop`.
struct PingPong {
    ping: Rc<Cell<Option<Unparker>>>,
    pong: Rc<Cell<Option<Unparker>>>,
    stop: Rc<Cell<bool>>,
    partner: weft::JoinHandle<()>,
}

impl PingPong {
    fn start() -> Self {
        let ping: Rc<Cell<Option<Unparker>>> = Rc::default();
        let pong: Rc<Cell<Option<Unparker>>> = Rc::default();
        let stop = Rc::new(Cell::new(false));
        let (pi, po, st) = (ping.clone(), pong.clone(), stop.clone());
        let partner = spawn(move || loop {
            po.set(Some(Unparker::current()));
            park(Reason::Primitive("PingPong"));
            if st.get() {
                break;
            }
            pi.take().unwrap().unpark();
        });
        yield_now(); // the partner parks
        PingPong {
            ping,
            pong,
            stop,
            partner,
        }
    }

    /// Wakes the partner and parks until it wakes us back.
    fn round(&self, deadline: Option<Instant>) {
        self.ping.set(Some(Unparker::current()));
        self.pong.take().unwrap().unpark();
        match deadline {
            Some(deadline) => {
                park_until(Reason::Primitive("PingPong"), deadline);
            }
            None => park(Reason::Primitive("PingPong")),
        }
    }

    fn stop(self) {
        self.stop.set(true);
        self.pong.take().unwrap().unpark();
        self.partner.join().unwrap();
    }
}

fn fire_and_cancel(c: &mut Criterion, pending: &str) {
    c.bench_function(&format!("timers/fire/{pending}"), |b| {
        b.iter(|| park_until(Reason::Sleep, Instant::now()))
    });
    let pp = PingPong::start();
    let far = Instant::now() + Duration::from_secs(24 * 3600);
    c.bench_function(&format!("timers/cancel/{pending}"), |b| {
        b.iter(|| pp.round(Some(far)))
    });
    pp.stop();
}

fn timers(c: &mut Criterion) {
    util::in_green(c, MIN_STACK_SIZE, |c| {
        c.bench_function("timers/yield_alone", |b| b.iter(yield_now));
        let pp = PingPong::start();
        c.bench_function("timers/park_unpark", |b| b.iter(|| pp.round(None)));
        pp.stop();

        fire_and_cancel(c, "0_pending");

        let n = pending_timers();
        for _ in 0..n {
            task::Builder::new()
                .daemon(true)
                .spawn(|| sleep(Duration::from_secs(24 * 3600)))
                .unwrap();
        }
        yield_now(); // every sleeper registers its timer
        fire_and_cancel(c, &format!("{n}_pending"));
    });
}

criterion_group! {
    name = benches;
    config = util::quick();
    targets = timers
}
criterion_main!(benches);
