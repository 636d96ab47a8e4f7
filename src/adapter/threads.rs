//! The script threads: where every adapter script call runs.
//!
//! A script is synchronous code that waits on HTTP, and pingora's workers must never wait.
//! So a call is handed to a script thread, and the worker awaits its answer. Each script
//! thread owns a current-thread Tokio runtime and an HTTP client: when the script calls
//! `http(...)`, the thread drives the request on its own runtime, so a socket's readiness
//! wakes the one thread that waits for it — no I/O thread in between, no hop per event.
//!
//! Threads start when every running one is busy, up to `server.script_threads`, and end
//! after a minute without work (a few stay warm). A target that hangs holds only the threads
//! of its own calls, each until the request's deadline; other tenants' calls get threads of
//! their own meanwhile.

use crate::upstream::TrustedRoots;
use anyhow::Context as _;
use std::cell::OnceCell;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Threads kept even when idle, so that a quiet gateway answers its next call at once.
const KEEP_WARM: usize = 2;
/// A thread beyond those that found no work for this long ends.
const IDLE_EXIT: Duration = Duration::from_secs(60);

type Job = Box<dyn FnOnce() + Send>;

/// The pool of script threads.
pub struct ScriptThreads {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    max: usize,
    /// The CAs each thread's HTTP client trusts.
    roots: TrustedRoots,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    idle: usize,
    running: usize,
}

/// The call's thread ended before it answered (the script panicked the host).
#[derive(Debug)]
pub struct Abandoned;

impl ScriptThreads {
    /// A pool of at most `max` threads whose HTTP clients trust `roots`.
    pub fn new(max: usize, roots: TrustedRoots) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                max: max.max(1),
                roots,
            }),
        }
    }

    /// Runs `job` on a script thread; the caller awaits the answer without blocking.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Abandoned> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move || {
            let _ = answer.send(job());
        }));
        answered.await.map_err(|_| Abandoned)
    }

    fn submit(&self, job: Job) {
        let mut state = lock(&self.shared.state);
        state.queue.push_back(job);
        // Each idle thread takes one job; more queued than idle threads needs a new thread.
        if state.queue.len() > state.idle && state.running < self.shared.max {
            match self.spawn() {
                Ok(()) => state.running += 1,
                Err(error) => {
                    tracing::error!(%error, "cannot start a script thread; the call waits for a running one")
                }
            }
        }
        drop(state);
        self.shared.work.notify_one();
    }

    fn spawn(&self) -> std::io::Result<()> {
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("scimitar-script".into())
            .spawn(move || serve(&shared))
            .map(drop)
    }
}

/// A script thread's life: take jobs until none came for `IDLE_EXIT` (beyond the warm ones).
fn serve(shared: &Shared) {
    match ThreadIo::new(&shared.roots) {
        Ok(io) => LOCAL.with(|local| {
            let _ = local.set(io);
        }),
        Err(error) => {
            tracing::error!(%error, "a script thread cannot build its runtime; its calls' HTTP fails")
        }
    }
    let mut state = lock(&shared.state);
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            // A panic inside a call (a bug in a host function) ends that call, not the thread.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state = lock(&shared.state);
            continue;
        }
        state.idle += 1;
        let (woken, timeout) = shared
            .work
            .wait_timeout(state, IDLE_EXIT)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state = woken;
        state.idle -= 1;
        if timeout.timed_out() && state.queue.is_empty() && state.running > KEEP_WARM {
            state.running -= 1;
            return;
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Jobs run outside the lock, so a poisoned lock only means a panic between two lines of
    // bookkeeping: the state is still consistent.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A script thread's own runtime and HTTP client.
struct ThreadIo {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl ThreadIo {
    fn new(roots: &TrustedRoots) -> anyhow::Result<Self> {
        Ok(Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot build a script thread's runtime")?,
            http: crate::upstream::http_client(roots)?,
        })
    }
}

thread_local! {
    static LOCAL: OnceCell<ThreadIo> = const { OnceCell::new() };
}

/// Drives `request(client)` to completion on this script thread's own runtime, with (a
/// handle to) its own HTTP client. `None` outside a script thread (or one that could not
/// build its runtime): host functions only run inside script calls.
pub fn block_on_http<F: Future>(request: impl FnOnce(reqwest::Client) -> F) -> Option<F::Output> {
    LOCAL.with(|local| {
        let io = local.get()?;
        Some(io.runtime.block_on(request(io.http.clone())))
    })
}
