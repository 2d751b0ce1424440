//! bridge::select: several queues (and a socket) at once, level-checked.

mod util;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use util::block_on;
use weft::bridge::{select, select_timeout, try_select, PollableQueue, Selectable, TryGetError};
use weft::Registration;

/// Far longer than any wait in these tests: reaching it means a lost wakeup.
const PATIENCE: Duration = Duration::from_secs(5);

#[test]
fn as03_all_puts_first_then_one_item_per_ready_queue_per_round() {
    let (q1, q2, q3) = (
        PollableQueue::new().unwrap(),
        PollableQueue::new().unwrap(),
        PollableQueue::new().unwrap(),
    );
    let (t1, t2, t3) = (q1.sender(), q2.sender(), q3.sender());
    thread::spawn(move || {
        t1.put(1).unwrap();
        t2.put(10).unwrap();
        t3.put("hello").unwrap();
        t2.put(15).unwrap();
    })
    .join()
    .unwrap();
    let lines = block_on(move || {
        let mut lines = Vec::new();
        let mut open = [true; 3];
        while open.contains(&true) {
            let ready = select_timeout(&[&q1, &q2, &q3], PATIENCE);
            assert!(!ready.is_empty(), "select missed a ready queue");
            for i in ready {
                let got = match i {
                    0 => q1.try_get().map(|v| v.to_string()),
                    1 => q2.try_get().map(|v| v.to_string()),
                    _ => q3.try_get().map(str::to_owned),
                };
                match got {
                    Ok(item) => lines.push(format!("Got: {item}")),
                    Err(TryGetError::Closed) => open[i] = false,
                    Err(TryGetError::Empty) => panic!("queue {i} reported ready but empty"),
                }
            }
        }
        lines
    });
    assert_eq!(lines, ["Got: 1", "Got: 10", "Got: hello", "Got: 15"]);
}

#[test]
fn a_live_producer_spreading_items_over_three_queues_reaches_select_in_fifo_order() {
    const N: u32 = 10_000;
    let queues: Vec<PollableQueue<u32>> = (0..3).map(|_| PollableQueue::new().unwrap()).collect();
    let senders: Vec<_> = queues.iter().map(PollableQueue::sender).collect();
    let producer = thread::spawn(move || {
        for i in 0..N {
            senders[(i % 3) as usize].put(i).unwrap();
            if i % 1000 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let per_queue = block_on(move || {
        let mut per_queue = vec![Vec::new(); 3];
        let mut open = [true; 3];
        while open.contains(&true) {
            // A disconnected queue stays ready: wait only on the open ones.
            let live: Vec<usize> = (0..3).filter(|&i| open[i]).collect();
            let sources: Vec<&dyn Selectable> = live
                .iter()
                .map(|&i| &queues[i] as &dyn Selectable)
                .collect();
            let ready = select_timeout(&sources, PATIENCE);
            assert!(!ready.is_empty(), "lost wakeup");
            for j in ready {
                let i = live[j];
                loop {
                    match queues[i].try_get() {
                        Ok(v) => per_queue[i].push(v),
                        Err(TryGetError::Empty) => break,
                        Err(TryGetError::Closed) => {
                            open[i] = false;
                            break;
                        }
                    }
                }
            }
        }
        per_queue
    });
    producer.join().unwrap();
    for (q, items) in per_queue.iter().enumerate() {
        let expected: Vec<u32> = (0..N).filter(|i| (i % 3) as usize == q).collect();
        assert_eq!(items, &expected, "queue {q}");
    }
}

#[test]
fn select_timeout_gives_an_empty_set_when_nothing_arrives() {
    let (a, b) = (
        PollableQueue::<u8>::new().unwrap(),
        PollableQueue::<u8>::new().unwrap(),
    );
    let (_ta, _tb) = (a.sender(), b.sender());
    let t = Instant::now();
    assert!(select_timeout(&[&a, &b], Duration::from_millis(30)).is_empty());
    assert!(t.elapsed() >= Duration::from_millis(30));
    let (a, b) = block_on(move || {
        let t = Instant::now();
        assert!(select_timeout(&[&a, &b], Duration::from_millis(30)).is_empty());
        assert!(t.elapsed() >= Duration::from_millis(30));
        (a, b)
    });
    assert!(try_select(&[&a, &b]).is_empty());
    assert!(select(&[]).is_empty());
}

#[test]
fn select_wakes_for_whichever_queue_an_os_thread_puts_on() {
    let (a, b) = (PollableQueue::new().unwrap(), PollableQueue::new().unwrap());
    let (ta, tb) = (a.sender(), b.sender());
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        tb.put("b").unwrap();
        thread::sleep(Duration::from_millis(20));
        ta.put("a").unwrap();
        (ta, tb) // kept alive: a disconnected queue would count as ready too
    });
    let order = block_on(move || {
        let mut order = Vec::new();
        for _ in 0..2 {
            for i in select_timeout(&[&a, &b], PATIENCE) {
                order.push([&a, &b][i].try_get().unwrap());
            }
        }
        order
    });
    drop(producer.join().unwrap());
    assert_eq!(order, ["b", "a"]);
}

#[test]
fn a_disconnected_queue_counts_as_ready() {
    let (a, b) = (
        PollableQueue::<u8>::new().unwrap(),
        PollableQueue::<u8>::new().unwrap(),
    );
    let _tb = b.sender();
    let ready = block_on(move || select_timeout(&[&a, &b], PATIENCE));
    assert_eq!(ready.iter().collect::<Vec<_>>(), [0]);
}

#[test]
fn select_waits_on_a_socket_next_to_a_queue() {
    let q = PollableQueue::<u8>::new().unwrap();
    let _tx = q.sender();
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        ours.write_all(b"ping").unwrap();
        ours
    });
    let got = block_on(move || {
        theirs.set_nonblocking(true).unwrap();
        let sock = Registration::new(mio::net::UnixStream::from_std(theirs)).unwrap();
        let mut buf = [0; 8];
        // Edge-triggered: select on the socket only after a WouldBlock.
        let e = sock.get_ref().read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        let ready = select_timeout(&[&q, &sock], PATIENCE);
        assert_eq!(ready.iter().collect::<Vec<_>>(), [1]);
        let n = sock.get_ref().read(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    drop(writer.join().unwrap());
    assert_eq!(got, b"ping");
}

#[test]
fn select_from_an_os_thread_blocks_in_poll() {
    let (a, b) = (
        PollableQueue::<u8>::new().unwrap(),
        PollableQueue::new().unwrap(),
    );
    let (_ta, tb) = (a.sender(), b.sender());
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        tb.put(2).unwrap();
    });
    let ready = select_timeout(&[&a, &b], PATIENCE);
    producer.join().unwrap();
    assert_eq!(ready.iter().collect::<Vec<_>>(), [1]);
    assert_eq!(b.try_get(), Ok(2));
    assert_eq!(a.try_get(), Err(TryGetError::Empty));
}
