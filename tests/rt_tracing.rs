//! Tracing: the runtime emits events for spawn, park, wake, exit, panic and
//! deadlock, inside a span per task.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use weft::park::{park, Reason};
use weft::{spawn, task, Runtime};

/// Records every event as `LEVEL message key=value ...`.
#[derive(Clone, Default)]
struct Recorder {
    lines: Arc<Mutex<Vec<String>>>,
    spans: Arc<Mutex<Vec<String>>>,
    next_span: Arc<AtomicU64>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        self.spans.lock().unwrap().push(fields.0);
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.lines.lock().unwrap().push(fields.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn has(&self, prefix: &str) -> bool {
        self.lines().iter().any(|l| l.starts_with(prefix))
    }
}

#[test]
fn lifecycle_events_are_emitted() {
    let rec = Recorder::default();
    tracing::subscriber::with_default(rec.clone(), || {
        let rt = Runtime::new().unwrap();
        rt.block_on(|| {
            let t = task::Builder::new()
                .name("traced".into())
                .spawn(|| weft::sleep(std::time::Duration::from_millis(5)))
                .unwrap();
            t.join().unwrap();
            let bad = spawn(|| panic!("traced panic"));
            assert!(bad.join().is_err());
        })
        .unwrap();
    });
    let lines = rec.lines();
    let text = lines.join("\n");
    assert!(
        rec.has("DEBUG spawn task=2 name=traced daemon=false"),
        "{text}"
    );
    assert!(rec.has("TRACE park reason=sleep"), "{text}");
    assert!(rec.has("TRACE park reason=join of task 2"), "{text}");
    assert!(rec.has("TRACE wake task=2 wake=TimedOut"), "{text}");
    assert!(rec.has("TRACE wake task=1 wake=Unparked"), "{text}");
    assert!(rec.has("DEBUG exit task=2 name=traced"), "{text}");
    assert!(rec.has("ERROR task panicked panic=traced panic"), "{text}");
    assert!(rec.has("DEBUG exit task=3"), "{text}");
    let spans = rec.spans.lock().unwrap().clone();
    assert!(
        spans.contains(&"task id=2 name=traced".to_owned()),
        "{spans:?}"
    );
}

#[test]
fn a_deadlock_is_reported_as_an_error_event() {
    let rec = Recorder::default();
    tracing::subscriber::with_default(rec.clone(), || {
        let rt = Runtime::new().unwrap();
        rt.spawn_with(task::Builder::new().name("stuck".into()), || {
            park(Reason::Primitive("Lock"))
        })
        .unwrap();
        assert!(rt.run().is_err());
    });
    let text = rec.lines().join("\n");
    assert!(
        text.contains("ERROR deadlock report=deadlock: 1 task(s) blocked"),
        "{text}"
    );
    assert!(text.contains("task 1 'stuck' waits on Lock"), "{text}");
    assert!(rec.has("DEBUG cancel task=1"), "{text}");
}
