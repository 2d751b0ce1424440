//! Seed 003's publish/subscribe `Exchange`: named exchanges that deliver
//! every message to each attached subscriber, and a `subscribe` guard that
//! detaches them again, on scope exit and on panic.
//!
//! ```text
//! cargo run --example pubsub
//! ```
//!
//! A subscriber is anything with a `send` method (the [`Subscriber`]
//! trait): here a `DisplayMessages` diagnostic that prints as it receives,
//! and green tasks with a mailbox that print when they next run. Delivery
//! follows attach order (the seed's `set` has none; SEEDS.md C-10).
//! Detaching a subscriber that is not attached is an error (Python's
//! `set.remove` raises `KeyError`).
//!
//! The order of the output follows from the green rules: `DisplayMessages`
//! prints inside `send`, while the mailbox tasks only print once `main`
//! first suspends (G2, G4), oldest task first. The task that panics while
//! subscribed leaves only `DisplayMessages` attached: its guard detached
//! `task_c` as the panic unwound.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use weft::sync::Queue;
use weft::{spawn, JoinHandle, Runtime};

mod support;
use support::Out;

/// Anything that can receive an exchange's messages (the seed's "any object
/// with a `send()` method").
trait Subscriber {
    fn send(&self, msg: &str);
}

/// `detach` of a subscriber that is not attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NotAttached;

impl fmt::Display for NotAttached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("subscriber is not attached")
    }
}

/// The seed's `Exchange`: subscribers in attach order.
#[derive(Default)]
struct Exchange {
    subscribers: RefCell<Vec<Rc<dyn Subscriber>>>,
}

impl Exchange {
    /// Attaches `task` (attaching it twice is a no-op, as with a set).
    fn attach(&self, task: Rc<dyn Subscriber>) {
        let mut subs = self.subscribers.borrow_mut();
        if !subs.iter().any(|s| same(s, &task)) {
            subs.push(task);
        }
    }

    /// Detaches `task`.
    fn detach(&self, task: &Rc<dyn Subscriber>) -> Result<(), NotAttached> {
        let mut subs = self.subscribers.borrow_mut();
        let at = subs.iter().position(|s| same(s, task)).ok_or(NotAttached)?;
        subs.remove(at);
        Ok(())
    }

    /// Attaches `tasks` until the returned guard is dropped.
    fn subscribe(&self, tasks: &[Rc<dyn Subscriber>]) -> Subscription<'_> {
        for task in tasks {
            self.attach(task.clone());
        }
        Subscription {
            exchange: self,
            tasks: tasks.to_vec(),
        }
    }

    /// Delivers `msg` to every subscriber, in attach order. Subscribers may
    /// attach or detach while it runs: it delivers to the ones it started with.
    fn send(&self, msg: &str) {
        let subs = self.subscribers.borrow().clone();
        for sub in subs {
            sub.send(msg);
        }
    }

    fn len(&self) -> usize {
        self.subscribers.borrow().len()
    }
}

fn same(a: &Rc<dyn Subscriber>, b: &Rc<dyn Subscriber>) -> bool {
    std::ptr::addr_eq(Rc::as_ptr(a), Rc::as_ptr(b))
}

/// The seed's `with exc.subscribe(task_a, task_b):` block, as a guard.
struct Subscription<'a> {
    exchange: &'a Exchange,
    tasks: Vec<Rc<dyn Subscriber>>,
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        for task in &self.tasks {
            let _ = self.exchange.detach(task); // already detached by hand: fine
        }
    }
}

thread_local! {
    /// All exchanges by name. A runtime is one OS thread, so this registry is
    /// shared by all of its tasks, like the seed's module-level dict.
    static EXCHANGES: RefCell<HashMap<String, Rc<Exchange>>> = RefCell::new(HashMap::new());
}

/// The exchange called `name`, created on first use (the seed's `get_exchange`).
fn get_exchange(name: &str) -> Rc<Exchange> {
    EXCHANGES.with(|all| all.borrow_mut().entry(name.to_owned()).or_default().clone())
}

/// The seed's diagnostic subscriber: counts and prints what it is sent.
struct DisplayMessages {
    count: Cell<u32>,
    out: Out,
}

impl Subscriber for DisplayMessages {
    fn send(&self, msg: &str) {
        self.count.set(self.count.get() + 1);
        (self.out)(format!("msg[{}]: '{msg}'", self.count.get()));
    }
}

/// A green task reading a mailbox: `send` only queues the message.
struct TaskSubscriber {
    mailbox: Rc<Queue<String>>,
}

impl TaskSubscriber {
    fn spawn(name: &'static str, out: Out) -> (Rc<Self>, JoinHandle<()>) {
        let mailbox = Rc::new(Queue::new(0));
        let inbox = mailbox.clone();
        let task = spawn(move || {
            while let Ok(msg) = inbox.get() {
                out(format!("{name} got '{msg}'"));
            }
        });
        (Rc::new(TaskSubscriber { mailbox }), task)
    }
}

impl Subscriber for TaskSubscriber {
    fn send(&self, msg: &str) {
        let _ = self.mailbox.put(msg.to_owned());
    }
}

fn demo(out: Out) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let exc = get_exchange("name");
            if Rc::ptr_eq(&exc, &get_exchange("name")) {
                out("get_exchange(\"name\") twice: the same exchange".to_owned());
            }
            let display: Rc<dyn Subscriber> = Rc::new(DisplayMessages {
                count: Cell::new(0),
                out: out.clone(),
            });
            exc.attach(display);
            let (task_a, a) = TaskSubscriber::spawn("task_a", out.clone());
            let (task_b, b) = TaskSubscriber::spawn("task_b", out.clone());
            let (task_c, c) = TaskSubscriber::spawn("task_c", out.clone());
            let (sub_a, sub_b): (Rc<dyn Subscriber>, Rc<dyn Subscriber>) =
                (task_a.clone(), task_b.clone());
            {
                let _sub = exc.subscribe(&[sub_a.clone(), sub_b]);
                exc.send("msg1");
                exc.send("msg2");
            } // task_a and task_b detached here
            exc.send("msg3");
            if let Err(e) = exc.detach(&sub_a) {
                out(format!("detach(task_a): {e}"));
            }

            let sub_c: Rc<dyn Subscriber> = task_c.clone();
            let crashing = spawn(move || {
                let exc = get_exchange("name");
                let _sub = exc.subscribe(&[sub_c]);
                exc.send("msg4");
                panic!("subscriber crashed");
            });
            let err = crashing.join().expect_err("the task panics");
            out(format!(
                "task panicked ({}); {} subscriber(s) left",
                err.panic_message().unwrap_or("?"),
                exc.len()
            ));
            for (sub, task) in [(task_a, a), (task_b, b), (task_c, c)] {
                sub.mailbox.close();
                task.join().expect("mailbox task ends");
            }
        })
        .expect("no deadlock");
}

fn main() {
    // The demo reports the deliberate panic itself; keep stderr quiet.
    std::panic::set_hook(Box::new(|_| {}));
    demo(Rc::new(support::print));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn runs() {
        let lines = capture(demo);
        assert_eq!(
            lines,
            [
                "get_exchange(\"name\") twice: the same exchange",
                "msg[1]: 'msg1'",
                "msg[2]: 'msg2'",
                "msg[3]: 'msg3'",
                "detach(task_a): subscriber is not attached",
                "task_a got 'msg1'",
                "task_a got 'msg2'",
                "task_b got 'msg1'",
                "task_b got 'msg2'",
                "msg[4]: 'msg4'",
                "task_c got 'msg4'",
                "task panicked (subscriber crashed); 1 subscriber(s) left",
            ]
        );
    }

    struct Recorder(&'static str, Rc<RefCell<Vec<String>>>);

    impl Subscriber for Recorder {
        fn send(&self, msg: &str) {
            self.1.borrow_mut().push(format!("{}:{msg}", self.0));
        }
    }

    #[test]
    fn delivery_follows_attach_order_and_attach_is_idempotent() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let exc = Exchange::default();
        let subs: Vec<Rc<dyn Subscriber>> = ["c", "a", "b"]
            .into_iter()
            .map(|n| Rc::new(Recorder(n, log.clone())) as Rc<dyn Subscriber>)
            .collect();
        for s in &subs {
            exc.attach(s.clone());
        }
        exc.attach(subs[0].clone());
        exc.send("m");
        exc.detach(&subs[1]).unwrap();
        exc.send("n");
        assert_eq!(*log.borrow(), ["c:m", "a:m", "b:m", "c:n", "b:n"]);
        assert_eq!(exc.detach(&subs[1]), Err(NotAttached));
    }
}
