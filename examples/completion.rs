//! Seed 000's `ExecutorCompletionService` (Listing 19-7): downloads run
//! side by side and the consumer handles each result as soon as it is ready,
//! in completion order, not submission order.
//!
//! ```text
//! cargo run --example completion
//! ```
//!
//! Each "download" is a green thread that sleeps for its site's simulated
//! latency (units of 10 ms; no network) and puts its result on one shared
//! `Queue`, the completion queue. The site name that is "very, very unlikely
//! to exist" fails, and its error is a result like the others. The consumer
//! takes exactly as many results as it submitted, then shuts the pool down
//! by joining every task.
//!
//! Every request goes out at the same instant and its reply arrives exactly
//! its latency later (`sleep_until` on a shared start); timers fire in
//! deadline order (G8) even when the OS wakes us late, so the completion
//! order is the order of the latencies, the same on every run.

use std::rc::Rc;
use std::time::{Duration, Instant};

use weft::sync::Queue;
use weft::{sleep_until, task, Runtime};

mod support;
use support::Out;

/// A site: its URL, the simulated latency in units, and what fetching it gives.
struct Site {
    url: &'static str,
    latency: u32,
    page: Result<usize, &'static str>,
}

/// The seed's `SITES`, with the unlikely one at a fixed name.
const SITES: [Site; 5] = [
    Site {
        url: "http://www.python.org",
        latency: 4,
        page: Ok(45 * 1024),
    },
    Site {
        url: "http://www.jython.org",
        latency: 1,
        page: Ok(17 * 1024),
    },
    Site {
        url: "http://www.java.com",
        latency: 5,
        page: Ok(93 * 1024),
    },
    Site {
        url: "http://9b4cc24e6ba1f2bd3f2fd1b3c4a8e0c1.com",
        latency: 2,
        page: Err("name or service not known"),
    },
    Site {
        url: "http://www.apache.org",
        latency: 3,
        page: Ok(62 * 1024),
    },
];

/// The seed's `Downloader.call()`: what one download reports.
fn download(site: &Site, start: Instant, unit: Duration) -> String {
    let thread_used = weft::current().name().unwrap_or("?").to_owned();
    sleep_until(start + unit * site.latency); // the request in flight
    match site.page {
        Ok(len) => format!("[{thread_used}] {} downloaded {}K", site.url, len / 1024),
        Err(e) => format!("[{thread_used}] {} download error {e}", site.url),
    }
}

fn completion_service(out: Out, unit: Duration) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let ecs = Rc::new(Queue::new(0));
            let start = Instant::now();
            let pool: Vec<_> = SITES
                .iter()
                .enumerate()
                .map(|(i, site)| {
                    let ecs = ecs.clone();
                    task::Builder::new()
                        .name(format!("pool-1-thread-{}", i + 1))
                        .spawn(move || {
                            let _ = ecs.put(download(site, start, unit));
                        })
                        .expect("submit")
                })
                .collect();
            // work with results as soon as they become available
            let mut submitted = SITES.len();
            while submitted > 0 {
                out(ecs.get().expect("open queue"));
                submitted -= 1;
            }
            out("shutting pool down...".to_owned());
            for task in pool {
                task.join().expect("download task ends");
            }
            out("done".to_owned());
        })
        .expect("no deadlock");
}

fn main() {
    completion_service(Rc::new(support::print), Duration::from_millis(10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn runs() {
        let got = capture(|out| completion_service(out, Duration::from_millis(10)));
        assert_eq!(
            got,
            [
                "[pool-1-thread-2] http://www.jython.org downloaded 17K",
                "[pool-1-thread-4] http://9b4cc24e6ba1f2bd3f2fd1b3c4a8e0c1.com download error name or service not known",
                "[pool-1-thread-5] http://www.apache.org downloaded 62K",
                "[pool-1-thread-1] http://www.python.org downloaded 45K",
                "[pool-1-thread-3] http://www.java.com downloaded 93K",
                "shutting pool down...",
                "done",
            ]
        );
    }
}
