//! Live reload: a changed config file or adapter script — or `SIGHUP` — rebuilds the
//! tenants and swaps them in. In-flight requests finish with the tenants they started with;
//! a config or script that fails validation is refused with a log line and a metric, and
//! the running version stays.
//!
//! Calm by design:
//! - only a change of content reloads: file events merely prompt a comparison of each
//!   watched file's SHA-256 with the last one seen, so reading a file (which the reload
//!   itself does), touching it or changing its mode reloads nothing;
//! - a burst of edits is one reload: it waits until the files have been quiet for a moment;
//! - the files themselves are watched, not their folders, so the store's own writes beside
//!   the config never wake the watcher; a file replaced by rename is watched again;
//! - reloads run on a thread of their own (compiling scripts there too), never on a runtime
//!   that serves requests or scripts;
//! - tenants whose section did not change keep their state (see `Gateway::reload`).

use crate::config::Config;
use crate::gateway::Gateway;
use crate::metrics;
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Editors write a file in several steps (truncate, write, rename): wait for this much quiet.
const SETTLE: Duration = Duration::from_millis(300);
/// ...but never longer than this after the first change.
const SETTLE_AT_MOST: Duration = Duration::from_secs(5);
/// A fallback comparison of the contents, for file systems whose events can be missed.
const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// Starts watching `config_path` and the scripts it names, and listening for `SIGHUP`, on
/// the reload thread.
pub fn start(gateway: Arc<Gateway>, config_path: PathBuf, config: &Config) -> anyhow::Result<()> {
    let (changed_tx, changed_rx) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            ) {
                let _ = changed_tx.send(());
            }
        }
    })?;
    let mut files = WatchedFiles {
        watcher,
        seen: BTreeMap::new(),
    };
    files.follow(watched_files(&config_path, config));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("scimitar-reload".into())
        .spawn(move || runtime.block_on(reload_loop(gateway, config_path, changed_rx, files)))?;
    Ok(())
}

/// The files a reload depends on, each with the digest of its content when last looked at.
struct WatchedFiles {
    watcher: notify::RecommendedWatcher,
    seen: BTreeMap<PathBuf, Option<[u8; 32]>>,
}

impl WatchedFiles {
    /// Watches exactly `files` from now on, remembering the content of the new ones.
    fn follow(&mut self, files: BTreeSet<PathBuf>) {
        let dropped: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|f| !files.contains(*f))
            .cloned()
            .collect();
        for file in dropped {
            let _ = self.watcher.unwatch(&file);
            self.seen.remove(&file);
        }
        for file in files {
            if !self.seen.contains_key(&file) {
                let digest = digest_of(&file);
                self.seen.insert(file, digest);
            }
        }
        self.rewatch();
    }

    /// Watches every file again: one replaced by rename (as editors and config management
    /// do) is a new file, which the old watch no longer sees.
    fn rewatch(&mut self) {
        for file in self.seen.keys() {
            if let Err(error) = self.watcher.watch(file, RecursiveMode::NonRecursive) {
                tracing::debug!(file = %file.display(), %error, "cannot watch (yet)");
            }
        }
    }

    /// Whether any file's content differs from when it was last looked at; remembers the
    /// content seen now.
    fn changed(&mut self) -> bool {
        let mut changed = false;
        for (file, seen) in self.seen.iter_mut() {
            let now = digest_of(file);
            if now != *seen {
                *seen = now;
                changed = true;
            }
        }
        changed
    }
}

async fn reload_loop(
    gateway: Arc<Gateway>,
    config_path: PathBuf,
    mut events: mpsc::UnboundedReceiver<()>,
    mut files: WatchedFiles,
) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(%error, "SIGHUP reloads are unavailable");
            None
        }
    };
    loop {
        let cause = tokio::select! {
            Some(()) = events.recv() => {
                settle(&mut events).await;
                files.rewatch();
                if !files.changed() {
                    continue;
                }
                "file change"
            }
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                files.changed();
                "SIGHUP"
            }
            _ = tokio::time::sleep(RECHECK_EVERY) => {
                files.rewatch();
                if !files.changed() {
                    continue;
                }
                "file change"
            }
            else => return,
        };
        reload(&gateway, &config_path, cause);
        files.follow(files_to_watch(&gateway, &config_path));
    }
}

/// Returns once no event came for [`SETTLE`] (or [`SETTLE_AT_MOST`] after the first).
async fn settle(events: &mut mpsc::UnboundedReceiver<()>) {
    let until = Instant::now() + SETTLE_AT_MOST;
    loop {
        let quiet = tokio::time::timeout(SETTLE, events.recv()).await.is_err();
        if quiet || Instant::now() >= until {
            return;
        }
    }
}

fn reload(gateway: &Gateway, config_path: &Path, cause: &str) {
    let outcome = Config::load(config_path).and_then(|config| gateway.reload(&config));
    match outcome {
        Ok(tenants) => {
            metrics::CONFIG_RELOADS
                .with_label_values(&["success"])
                .inc();
            tracing::info!(cause, tenants, "configuration reloaded");
        }
        Err(error) => {
            metrics::CONFIG_RELOADS
                .with_label_values(&["failure"])
                .inc();
            tracing::error!(
                cause,
                error = format!("{error:#}"),
                "configuration refused; the running version stays"
            );
        }
    }
}

/// What to watch after a reload: the running tenants' scripts, and those the file names now
/// even if it was refused, so that fixing a script it names reloads.
fn files_to_watch(gateway: &Gateway, config_path: &Path) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::from([normalize(config_path)]);
    files.extend(
        gateway
            .tenants()
            .iter()
            .filter_map(|t| t.script_path())
            .flat_map(crate::adapter::script_files)
            .map(|f| normalize(&f)),
    );
    if let Ok(config) = Config::load(config_path) {
        files.extend(watched_files(config_path, &config));
    }
    files
}

/// The config file, every tenant's script and the modules beside it, as absolute paths.
fn watched_files(config_path: &Path, config: &Config) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::from([normalize(config_path)]);
    files.extend(
        config
            .tenants
            .iter()
            .filter_map(|t| t.script.as_deref())
            .flat_map(crate::adapter::script_files)
            .map(|f| normalize(&f)),
    );
    files
}

fn digest_of(path: &Path) -> Option<[u8; 32]> {
    use sha2::Digest;
    std::fs::read(path)
        .ok()
        .map(|bytes| sha2::Sha256::digest(&bytes).into())
}

fn normalize(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
