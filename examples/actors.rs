//! Seed 003's "Defining an Actor Task": an actor is a green thread reading a
//! mailbox; `close` sends the `ActorExit` sentinel and `join` waits for the
//! actor to end.
//!
//! ```text
//! cargo run --example actors            # PrintActor: Got: Hello, Got: World
//! cargo run --example actors -- tagged  # TaggedActor: enum messages, Running A 1, Running B 2 3
//! cargo run --example actors -- worker  # Worker.submit(pow, 2, 3) and its result: 8
//! ```
//!
//! `recv` returns `Err(ActorExit)` once the actor is closed, so an actor body
//! is a loop that ends with `?`, the way the seed's `run` ends when `recv`
//! raises `ActorExit`. The actor's task is a daemon, as in the seed, and
//! `join` waits on an `Event` that the task sets however it ends (the
//! seed's `finally: self._terminated.set()`).
//!
//! The seed's `TaggedActor` example never closes or joins its actor. Under
//! the green rules that prints nothing at all: spawning does not run the
//! actor (G2), and when `main` ends only the daemon is left, so `run`
//! returns and unwinds it before it ever ran (G10). This demo closes and
//! joins it; the test pins both behaviours.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use weft::sync::{Event, Queue};
use weft::{task, Runtime};

mod support;
use support::Out;

/// The seed's shutdown sentinel, returned by `recv` once the actor is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ActorExit;

impl fmt::Display for ActorExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("actor closed")
    }
}

/// An envelope in the mailbox: a message, or the sentinel `close` sends.
enum Envelope<M> {
    Msg(M),
    Exit,
}

/// The receiving side, lent to the actor's body.
struct Mailbox<M> {
    queue: Queue<Envelope<M>>,
}

impl<M> Mailbox<M> {
    /// The next message, or `ActorExit` once `close` has been called.
    fn recv(&self) -> Result<M, ActorExit> {
        match self.queue.get() {
            Ok(Envelope::Msg(msg)) => Ok(msg),
            Ok(Envelope::Exit) | Err(_) => Err(ActorExit),
        }
    }
}

/// Sets the terminated event however the actor's body ends.
struct SetOnDrop(Rc<Event>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// The seed's `Actor`: `send`, `close` and `join` from outside.
struct Actor<M> {
    mailbox: Rc<Mailbox<M>>,
    terminated: Rc<Event>,
}

impl<M: 'static> Actor<M> {
    /// Starts a daemon green thread running `run` over the mailbox.
    fn start(run: impl FnOnce(&Mailbox<M>) -> Result<(), ActorExit> + 'static) -> Self {
        let mailbox = Rc::new(Mailbox {
            queue: Queue::new(0),
        });
        let terminated = Rc::new(Event::new());
        let (m, t) = (mailbox.clone(), terminated.clone());
        task::Builder::new()
            .daemon(true)
            .spawn(move || {
                let _terminated = SetOnDrop(t);
                let _ = run(&m); // ActorExit is the normal way out
            })
            .expect("spawn an actor");
        Actor {
            mailbox,
            terminated,
        }
    }

    /// Sends a message (never blocks: the mailbox is unbounded).
    fn send(&self, msg: M) {
        let _ = self.mailbox.queue.put(Envelope::Msg(msg));
    }

    /// Asks the actor to stop once it has handled what was sent before.
    fn close(&self) {
        let _ = self.mailbox.queue.put(Envelope::Exit);
    }

    /// Waits until the actor has ended.
    fn join(&self) {
        self.terminated.wait();
    }
}

/// The seed's `PrintActor`.
fn print_actor(out: Out) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let p = Actor::start(move |mailbox| loop {
                let msg: &str = mailbox.recv()?;
                out(format!("Got: {msg}"));
            });
            p.send("Hello");
            p.send("World");
            p.close();
            p.join();
        })
        .expect("no deadlock");
}

/// The seed's `TaggedActor`: `getattr(self, 'do_' + tag)` becomes a `match`.
enum Tagged {
    A(i32),
    B(i32, i32),
}

fn tagged_actor(out: Out, close_and_join: bool) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let a = Actor::start(move |mailbox| loop {
                match mailbox.recv()? {
                    Tagged::A(x) => out(format!("Running A {x}")),
                    Tagged::B(x, y) => out(format!("Running B {x} {y}")),
                }
            });
            a.send(Tagged::A(1)); // Invokes do_A(1)
            a.send(Tagged::B(2, 3)); // Invokes do_B(2,3)
            if close_and_join {
                a.close();
                a.join();
            }
        })
        .expect("no deadlock");
}

/// The seed's `Result`: a value that arrives later, behind an `Event`.
struct WorkResult<T> {
    evt: Event,
    value: RefCell<Option<T>>,
}

impl<T> WorkResult<T> {
    fn set_result(&self, value: T) {
        *self.value.borrow_mut() = Some(value);
        self.evt.set();
    }

    /// Waits for the value and takes it.
    fn result(&self) -> T {
        self.evt.wait();
        self.value
            .borrow_mut()
            .take()
            .expect("set before the event")
    }
}

/// The seed's `Worker`: an actor that runs submitted functions.
/// A job for the worker: the submitted call, already bound to its result.
type Job = Box<dyn FnOnce()>;

struct Worker {
    actor: Actor<Job>,
}

impl Worker {
    fn start() -> Self {
        Worker {
            actor: Actor::start(|mailbox: &Mailbox<Job>| loop {
                let job = mailbox.recv()?;
                job();
            }),
        }
    }

    /// Runs `func(args)` on the worker; the result arrives in the `WorkResult`.
    fn submit<A: 'static, T: 'static>(
        &self,
        func: impl FnOnce(A) -> T + 'static,
        args: A,
    ) -> Rc<WorkResult<T>> {
        let r = Rc::new(WorkResult {
            evt: Event::new(),
            value: RefCell::new(None),
        });
        let slot = r.clone();
        self.actor
            .send(Box::new(move || slot.set_result(func(args))));
        r
    }
}

fn pow((base, exp): (i64, u32)) -> i64 {
    base.pow(exp)
}

fn worker(out: Out) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let worker = Worker::start();
            let r = worker.submit(pow, (2, 3));
            out(r.result().to_string());
        })
        .expect("no deadlock");
}

fn main() {
    let print: Out = Rc::new(support::print);
    match std::env::args().nth(1).as_deref() {
        None | Some("print") => print_actor(print),
        Some("tagged") => tagged_actor(print, true),
        Some("worker") => worker(print),
        Some(other) => support::unknown_variant(other, "print, tagged, worker"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn print_actor_prints_hello_world_then_joins() {
        assert_eq!(capture(print_actor), ["Got: Hello", "Got: World"]);
    }

    #[test]
    fn tagged_actor_dispatches_on_the_enum() {
        let lines = capture(|o| tagged_actor(o, true));
        assert_eq!(lines, ["Running A 1", "Running B 2 3"]);
    }

    #[test]
    fn tagged_actor_never_runs_if_main_does_not_wait() {
        assert!(capture(|o| tagged_actor(o, false)).is_empty());
    }

    #[test]
    fn worker_submit_pow_2_3_gives_8() {
        assert_eq!(capture(worker), ["8"]);
    }

    #[test]
    fn recv_after_close_is_actor_exit_and_join_returns() {
        let lines = capture(|out| {
            Runtime::new()
                .unwrap()
                .block_on(move || {
                    let a = Actor::<u8>::start(move |mailbox| {
                        let first = mailbox.recv();
                        let second = mailbox.recv();
                        out(format!("{first:?} {second:?}"));
                        second.map(drop)
                    });
                    a.send(7);
                    a.close();
                    a.send(8); // after close: never received
                    a.join();
                })
                .unwrap();
        });
        assert_eq!(lines, ["Ok(7) Err(ActorExit)"]);
    }
}
