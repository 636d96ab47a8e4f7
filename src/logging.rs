//! The gateway's own log lines on stderr.
//!
//! A request's line is formatted where it happens but written by a thread of its own:
//! a pingora worker never waits on a slow terminal, pipe or log collector. When that
//! thread falls behind, lines are dropped rather than queued without bound, and counted
//! (`scimitar_log_lines_dropped_total`).

use std::sync::{Mutex, OnceLock};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Lines waiting for the writer thread, past which new ones are dropped.
const QUEUED_LINES: usize = 32_768;

static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Installs the subscriber: `RUST_LOG` filters (default `info`), human or JSON lines.
pub fn init(json: bool) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("scimitar-log")
        .finish(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    *WRITER.lock().unwrap_or_else(|p| p.into_inner()) = Some(guard);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Writes every line logged so far before the process exits (which runs no destructors).
pub fn flush() {
    drop(WRITER.lock().unwrap_or_else(|p| p.into_inner()).take());
}

/// Lines dropped because the writer thread was behind.
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}
