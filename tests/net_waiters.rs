//! Many green threads waiting on one direction of one socket: acceptor
//! pools, several readers of one stream. They queue oldest first, one is
//! woken per readiness, and a waiter that leaves (cancelled, timed out)
//! never takes a wakeup with it (E-11).

mod util;

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use util::{block_on, tcp_pair};
use weft::net::{TcpListener, TcpStream};
use weft::spawn;

#[test]
fn a_second_reader_waits_its_turn_instead_of_failing() {
    block_on(|| {
        let (client, mut server) = tcp_pair();
        let client = Rc::new(client);
        let order = Rc::new(RefCell::new(Vec::new()));
        let readers: Vec<_> = (0..2)
            .map(|i| {
                let (client, order) = (client.clone(), order.clone());
                spawn(move || {
                    let mut buf = [0; 3];
                    (&*client).read_exact(&mut buf).unwrap();
                    order.borrow_mut().push((i, buf));
                })
            })
            .collect();
        weft::yield_now(); // both park on the read, the first one first
        server.write_all(b"abc").unwrap();
        weft::sleep(Duration::from_millis(20));
        server.write_all(b"def").unwrap();
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(*order.borrow(), [(0, *b"abc"), (1, *b"def")]);
    });
}

#[test]
fn bytes_left_by_the_woken_reader_reach_the_next_one() {
    block_on(|| {
        let (client, mut server) = tcp_pair();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let client = Rc::new(client);
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let client = client.clone();
                spawn(move || {
                    let mut buf = [0; 2];
                    (&*client).read_exact(&mut buf).unwrap();
                    buf
                })
            })
            .collect();
        weft::yield_now();
        // One write, one readiness edge, three readers: each must get its turn.
        server.write_all(b"aabbcc").unwrap();
        let got: Vec<[u8; 2]> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        assert_eq!(got, [*b"aa", *b"bb", *b"cc"]);
    });
}

#[test]
fn a_cancelled_reader_does_not_take_the_wakeup_with_it() {
    block_on(|| {
        let (client, mut server) = tcp_pair();
        let client = Rc::new(client);
        let spawn_reader = |client: Rc<TcpStream>| {
            spawn(move || {
                let mut buf = [0; 4];
                (&*client).read_exact(&mut buf).map(|()| buf)
            })
        };
        // A lost wakeup fails the test instead of hanging it.
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let first = spawn_reader(client.clone());
        let second = spawn_reader(client.clone());
        weft::yield_now(); // both park on the read, `first` first
        server.write_all(b"ping").unwrap();
        // The next poll hands the readiness to `first` and queues it behind
        // this task, which cancels it before it can read: `second` must be
        // handed the readiness.
        weft::yield_now();
        first.cancel();
        assert!(first.join().unwrap_err().is_cancelled());
        assert_eq!(&second.join().unwrap().unwrap(), b"ping");
    });
}

#[test]
fn readers_that_time_out_leave_the_queue() {
    block_on(|| {
        let (client, mut server) = tcp_pair();
        let client = Rc::new(client);
        let read_5 = |client: Rc<TcpStream>| {
            spawn(move || {
                let mut buf = [0; 5];
                (&*client).read_exact(&mut buf).map(|()| buf)
            })
        };
        // The stream's read timeout applies to reads that start while it is
        // set: `early` (oldest) and `late` (youngest) start with it, the
        // patient one in the middle without it.
        client
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let early = read_5(client.clone());
        weft::yield_now();
        client.set_read_timeout(None).unwrap();
        let patient = read_5(client.clone());
        weft::yield_now();
        client
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let late = read_5(client.clone());
        weft::yield_now();
        client.set_read_timeout(None).unwrap();
        for gave_up in [early, late] {
            let err = gave_up.join().unwrap().unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ),
                "{err}"
            );
        }
        server.write_all(b"hello").unwrap();
        assert_eq!(&patient.join().unwrap().unwrap(), b"hello");
    });
}

#[test]
fn four_acceptors_on_one_listener_share_the_connections() {
    const CONNS: usize = 40;
    block_on(|| {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let served = Rc::new(RefCell::new([0usize; 4]));
        for acceptor in 0..4 {
            let (listener, served) = (listener.clone(), served.clone());
            weft::task::Builder::new()
                .daemon(true)
                .spawn(move || loop {
                    let (conn, _) = listener.accept().unwrap();
                    served.borrow_mut()[acceptor] += 1;
                    spawn(move || {
                        let mut byte = [0; 1];
                        (&conn).read_exact(&mut byte).unwrap();
                        (&conn).write_all(&byte).unwrap();
                    });
                })
                .unwrap();
        }
        weft::yield_now(); // all four park in accept
        for i in 0..CONNS {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(&[i as u8]).unwrap();
            let mut back = [0; 1];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back[0], i as u8);
        }
        let served = *served.borrow();
        assert_eq!(served.iter().sum::<usize>(), CONNS, "{served:?}");
        assert!(
            served.iter().all(|&n| n > 0),
            "every acceptor took some: {served:?}"
        );
    });
}
