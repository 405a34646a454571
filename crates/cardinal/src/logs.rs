//! Where log lines go: a shared buffer that a background thread writes to stderr in batches.
//!
//! Every request logs a line. Handing each line to a writer thread through a channel (what
//! `tracing-appender` does) wakes that thread once per line, and profiles showed the wake-ups
//! and the per-line `write` costing more than the request's own work. Here a line is appended
//! to a buffer under a short lock and nobody is woken: the writer thread wakes on its own every
//! [`FLUSH_EVERY`], or early when the buffer passes [`FLUSH_AT`], and writes everything queued
//! in one system call. Nothing is dropped: past [`MAX_QUEUED`] bytes (stderr blocked), callers
//! wait for the writer instead of growing memory without bound. Dropping the [`FlushOnDrop`]
//! guard writes what is still queued, so the last lines before a clean stop are never lost.

use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::Event;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

/// How long a line may wait before it is written: short enough to follow a log live.
const FLUSH_EVERY: Duration = Duration::from_millis(25);
/// Queued bytes that wake the writer early, so a burst is written in pieces of about this size.
const FLUSH_AT: usize = 256 * 1024;
/// Queued bytes past which callers wait for the writer.
const MAX_QUEUED: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Queue {
    lines: Vec<u8>,
    stopping: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the writer should write now (buffer over [`FLUSH_AT`], or stopping).
    wake_writer: Condvar,
    /// Signalled after each write, for callers waiting on a full buffer.
    written: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the byte buffer invalid: keep logging.
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The `MakeWriter` handed to `tracing_subscriber`: each event arrives as one `write_all` of a
/// whole formatted line, so lines from different threads never interleave.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Stops the writer thread and writes the lines still queued.
pub struct FlushOnDrop {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

/// Starts the writer thread; keep the guard for as long as the process logs.
pub fn batched_stderr() -> Result<(BatchedStderr, FlushOnDrop), String> {
    let shared = Arc::new(Shared::default());
    let for_writer = shared.clone();
    // Without its writer, logging would fill the buffer and then wait forever: refuse to start.
    let writer = std::thread::Builder::new()
        .name("cardinal-log-writer".into())
        .spawn(move || write_batches(&for_writer, &mut std::io::stderr()))
        .map_err(|e| format!("cannot start the log writer thread: {e}"))?;
    Ok((BatchedStderr { shared: shared.clone() }, FlushOnDrop { shared, writer: Some(writer) }))
}

fn write_batches(shared: &Shared, out: &mut impl Write) {
    let mut spare = Vec::new();
    loop {
        let mut queue = shared.lock();
        if queue.lines.len() < FLUSH_AT && !queue.stopping {
            queue = shared.wake_writer.wait_timeout(queue, FLUSH_EVERY).unwrap_or_else(|p| p.into_inner()).0;
        }
        std::mem::swap(&mut queue.lines, &mut spare);
        let stopping = queue.stopping;
        drop(queue);
        if !spare.is_empty() {
            // Nowhere to report a failed write of the log itself: the batch is dropped, so a
            // log that cannot be written never grows memory.
            let _ = out.write_all(&spare).and_then(|_| out.flush());
            spare.clear();
            shared.written.notify_all();
        }
        if stopping {
            return;
        }
    }
}

impl Write for BatchedStderr {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut queue = self.shared.lock();
        while queue.lines.len() >= MAX_QUEUED && !queue.stopping {
            queue = self.shared.written.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
        let was_below = queue.lines.len() < FLUSH_AT;
        queue.lines.extend_from_slice(line);
        if was_below && queue.lines.len() >= FLUSH_AT {
            self.shared.wake_writer.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedStderr {
    type Writer = BatchedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake_writer.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// One JSON object per line, in the shape of `tracing_subscriber`'s JSON format
/// (`{"timestamp":…,"level":…,"fields":{"message":…,…},"target":…}`), written straight into
/// the line: the generic formatter goes through serde for every field of every request's line
/// and cost a tenth of a cached card read. Cardinal opens no spans, so none are written.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut line: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        // Assembled in a `String` of this thread's, then handed over whole: written straight
        // into `line`, each of a line's few dozen pieces was a call through `dyn fmt::Write`.
        thread_local! {
            static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        TEXT.with(|shared| {
            // Formatting an event while this thread formats one: tracing does not dispatch one
            // then (it drops it), but a line must never be lost to a busy buffer.
            let (mut borrowed, mut own) = (shared.try_borrow_mut(), String::new());
            let text = match &mut borrowed {
                Ok(text) => {
                    text.clear();
                    &mut **text
                }
                Err(_) => &mut own,
            };
            write_line(text, event)?;
            line.write_str(text)
        })
    }
}

fn write_line(line: &mut String, event: &Event<'_>) -> fmt::Result {
    let metadata = event.metadata();
    line.push_str("{\"timestamp\":\"");
    write_timestamp(line, std::time::SystemTime::now())?;
    line.push_str("\",\"level\":\"");
    line.push_str(metadata.level().as_str());
    line.push_str("\",\"fields\":{");
    let mut fields = JsonFields { line: &mut *line, first: true, result: Ok(()) };
    event.record(&mut fields);
    fields.result?;
    line.push_str("},\"target\":");
    write_json_string(line, metadata.target())?;
    line.push_str("}\n");
    Ok(())
}

/// `2026-11-24T10:44:54.548038Z`: the calendar part changes once a second, so it is kept per
/// thread and only the microseconds are formatted each time.
fn write_timestamp(line: &mut impl fmt::Write, now: std::time::SystemTime) -> fmt::Result {
    thread_local! {
        static SECOND: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let since_epoch = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != second {
            let at = jiff::Timestamp::from_second(second as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            *text = at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            *cached = second;
        }
        line.write_str(text)?;
        line.write_char('.')?;
        // Six digits, zero-padded: a million more has seven, and the first is dropped.
        line.write_str(&itoa::Buffer::new().format(1_000_000 + since_epoch.subsec_micros())[1..])?;
        line.write_char('Z')
    })
}

/// `n` in decimal, as `write!(line, "{n}")` writes it, through `itoa` (serde_json's own
/// number writer) at a tenth of `write!`'s cost: each request's line has two numbers.
fn write_decimal(line: &mut String, n: impl itoa::Integer) {
    line.push_str(itoa::Buffer::new().format(n));
}

struct JsonFields<'a> {
    line: &'a mut String,
    first: bool,
    result: fmt::Result,
}

impl JsonFields<'_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut String) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let separator = if std::mem::take(&mut self.first) { "" } else { "," };
        self.result = self
            .line
            .write_str(separator)
            .and_then(|_| write_json_string(self.line, field.name()))
            .and_then(|_| self.line.write_char(':'))
            .and_then(|_| value(self.line));
    }
}

impl Visit for JsonFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |line| {
            line.push('"');
            // Written as is, then escaped only if it needs it (rarely): a value's `Debug`
            // writes itself in many small pieces, each a call to escape.
            let start = line.len();
            write!(line, "{value:?}")?;
            if cardinal_json::needs_escaping(&line[start..]) {
                let raw = line.split_off(start);
                cardinal_json::push_escaped_str(line, &raw);
            }
            line.push('"');
            Ok(())
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |line| write_json_string(line, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |line| {
            write_decimal(line, value);
            Ok(())
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |line| {
            write_decimal(line, value);
            Ok(())
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |line| write!(line, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN nor infinities.
        self.field(field, |line| match value.is_finite() {
            true => write!(line, "{value}"),
            false => write!(line, "\"{value}\""),
        });
    }
}

/// `text` as a JSON string, escaped as serde_json (and so tracing's JSON format) escapes it.
fn write_json_string(line: &mut String, text: &str) -> fmt::Result {
    line.push('"');
    cardinal_json::push_escaped_str(line, text);
    line.push('"');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the writer loop over an in-memory sink until stopped; returns what it wrote.
    fn written_by(lines: impl FnOnce(&mut BatchedStderr)) -> String {
        let shared = Arc::new(Shared::default());
        let for_writer = shared.clone();
        let writer = std::thread::spawn(move || {
            let mut sink = Vec::new();
            write_batches(&for_writer, &mut sink);
            sink
        });
        let mut log = BatchedStderr { shared: shared.clone() };
        lines(&mut log);
        shared.lock().stopping = true;
        shared.wake_writer.notify_one();
        String::from_utf8(writer.join().unwrap()).unwrap()
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_it_stops() {
        let text = written_by(|log| {
            for n in 0..10_000 {
                log.write_all(format!("line {n}\n").as_bytes()).unwrap();
            }
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert!(lines.iter().enumerate().all(|(n, line)| *line == format!("line {n}")));
    }

    #[test]
    fn lines_from_many_threads_never_interleave() {
        let text = written_by(|log| {
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let mut log = log.clone();
                    std::thread::spawn(move || {
                        for n in 0..2_000 {
                            log.write_all(format!("{t}:{n}:{}\n", "x".repeat(300)).as_bytes()).unwrap();
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
        });
        assert_eq!(text.lines().count(), 8_000);
        assert!(text.lines().all(|line| line.ends_with(&"x".repeat(300)) && line.matches(':').count() == 2));
    }

    /// An in-memory stand-in for stderr that the test can read while it is written to.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_lone_line_is_written_without_waiting_for_more_or_for_the_stop() {
        let shared = Arc::new(Shared::default());
        let (for_writer, sink) = (shared.clone(), Sink::default());
        let mut out = sink.clone();
        let writer = std::thread::spawn(move || write_batches(&for_writer, &mut out));
        let mut log = BatchedStderr { shared: shared.clone() };
        log.write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*sink.0.lock().unwrap(), b"alone\n");
        shared.lock().stopping = true;
        shared.wake_writer.notify_one();
        writer.join().unwrap();
    }

    /// Formats events with [`JsonLines`] into a string.
    fn json_lines_of(events: impl FnOnce()) -> String {
        let captured = Sink::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt().event_format(JsonLines).with_writer(move || sink.clone()).finish();
        tracing::subscriber::with_default(subscriber, events);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_lines_are_json_objects_in_the_usual_shape() {
        let text = json_lines_of(|| {
            let path = "/v2/cards/\"quoted\"\\\n\u{1}é";
            tracing::info!(request_id = %"abc", method = %"GET", path = %path, status = 200u16, micros = 42u64, flag = true, "request");
            tracing::warn!(error = ?"a \"debug\" value", ratio = 0.5, "second line");
        });
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], module_path!());
        assert_eq!(first["fields"]["message"], "request");
        assert_eq!(first["fields"]["path"], "/v2/cards/\"quoted\"\\\n\u{1}é");
        assert_eq!(first["fields"]["status"], 200);
        assert_eq!(first["fields"]["micros"], 42);
        assert_eq!(first["fields"]["flag"], true);
        let timestamp: jiff::Timestamp = first["timestamp"].as_str().unwrap().parse().unwrap();
        assert!((jiff::Timestamp::now() - timestamp).get_seconds().abs() < 60);
        assert_eq!(lines[1]["fields"]["error"], "\"a \\\"debug\\\" value\"");
        assert_eq!(lines[1]["fields"]["ratio"], 0.5);
    }

    #[test]
    fn numbers_and_timestamps_are_written_as_write_would() {
        for n in [0, 7, 10, 42, 999_999, u64::MAX] {
            let mut line = String::new();
            write_decimal(&mut line, n);
            assert_eq!(line, n.to_string());
        }
        let text = json_lines_of(|| tracing::info!(low = i64::MIN, minus = -12i64, zero = 0i64, "numbers"));
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["fields"]["low"], i64::MIN);
        assert_eq!((line["fields"]["minus"].as_i64(), line["fields"]["zero"].as_i64()), (Some(-12), Some(0)));
        for (micros, written) in [
            (0, "2023-11-14T22:13:20.000000Z"),
            (5, "2023-11-14T22:13:20.000005Z"),
            (987_654, "2023-11-14T22:13:20.987654Z"),
        ] {
            let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, micros * 1000);
            let mut line = String::new();
            write_timestamp(&mut line, at).unwrap();
            assert_eq!(line, written);
        }
    }

    /// A value whose `Debug` logs while its own line is being formatted on this thread: tracing
    /// drops the inner event (it dispatches one event at a time per thread), and the outer line
    /// comes out whole.
    #[test]
    fn a_value_that_logs_while_its_line_is_formatted_leaves_the_line_whole() {
        struct Loud;
        impl fmt::Debug for Loud {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                tracing::info!("inner");
                f.write_str("loud")
            }
        }
        let text = json_lines_of(|| tracing::info!(value = ?Loud, "outer"));
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let messages: Vec<&str> = lines.iter().map(|l| l["fields"]["message"].as_str().unwrap()).collect();
        assert_eq!(messages, ["outer"], "{text}");
        assert_eq!(lines[0]["fields"]["value"], "loud");
    }
}
