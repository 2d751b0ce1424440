//! Readiness dispatch: the loop resumes woken tasks while it is still going
//! through one poll's events, so a task can drop a source and register a new
//! one before the rest of the batch is handed out.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use weft::{spawn, yield_now, Registration, Runtime};

fn pair() -> (Registration<UnixStream>, StdUnixStream) {
    let (a, b) = StdUnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    (Registration::new(UnixStream::from_std(a)).unwrap(), b)
}

/// A hang-up that is still in the batch for a source its task dropped
/// during the batch must not land on the source registered in its place: a
/// fresh socket marked closed would never park, and a wait for it would
/// spin instead of timing out.
#[test]
fn a_stale_hang_up_does_not_reach_the_source_registered_in_its_place() {
    Runtime::new()
        .unwrap()
        .block_on(|| {
            let (old, old_peer) = pair();
            let (wake, mut wake_peer) = pair();
            let task = spawn(move || {
                // Parks; woken by the first event of the batch below.
                wake.read_with(|mut s| s.read(&mut [0; 8])).unwrap();
                drop(old); // its hang-up is later in the same batch
                let (fresh, _fresh_peer) = pair(); // may take the freed token
                                                   // Wait-then-read, as an echo loop does: `readable` returns at
                                                   // once for a closed source, so a wrongly closed one spins.
                let start = Instant::now();
                let deadline = start + Duration::from_millis(200);
                let got = loop {
                    if let Err(e) = fresh.readable(Some(deadline)) {
                        break Err(e.kind());
                    }
                    match fresh.try_read_with(|mut s| s.read(&mut [0; 8])) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if start.elapsed() > Duration::from_secs(1) {
                                break Err(io::ErrorKind::Other); // spun for a second
                            }
                        }
                        other => break other.map_err(|e| e.kind()),
                    }
                };
                (got, start.elapsed())
            });
            yield_now(); // the task parks on `wake`
                         // Both readinesses arrive before the loop polls again, in this
                         // order, so one poll returns them together.
            wake_peer.write_all(b"go").unwrap();
            drop(old_peer);
            let (got, took) = task.join().unwrap();
            assert_eq!(got, Err(io::ErrorKind::TimedOut));
            assert!(took >= Duration::from_millis(200), "{took:?}");
        })
        .unwrap();
}
