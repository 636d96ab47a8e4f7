//! Live reload: a changed config file or adapter script — or `SIGHUP` — rebuilds the
//! tenants and swaps them in. In-flight requests finish with the tenants they started with;
//! a config or script that fails validation is refused with a log line and a metric, and
//! the running version stays.

use crate::config::Config;
use crate::gateway::Gateway;
use crate::metrics;
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Editors write a file in several steps (truncate, write, rename): wait for quiet.
const SETTLE: Duration = Duration::from_millis(300);

/// Starts watching `config_path` and the scripts it names, and listening for `SIGHUP`.
pub fn start(gateway: Arc<Gateway>, config_path: PathBuf, config: &Config) -> anyhow::Result<()> {
    let (changed_tx, changed_rx) = mpsc::unbounded_channel();
    let watched = watched_files(&config_path, config);
    let files = watched.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if event.paths.iter().any(|p| files.contains(&normalize(p))) {
                let _ = changed_tx.send(());
            }
        }
    })?;
    // Watch the folders, not the files: a file replaced by rename is a new file.
    let folders: BTreeSet<PathBuf> = watched
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    for folder in &folders {
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
    }
    let io = gateway.scripts.io();
    io.spawn(reload_loop(gateway, config_path, changed_rx, watcher));
    Ok(())
}

async fn reload_loop(
    gateway: Arc<Gateway>,
    config_path: PathBuf,
    mut changed: mpsc::UnboundedReceiver<()>,
    // Owned here so that watching lasts as long as the loop.
    _watcher: notify::RecommendedWatcher,
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
            Some(()) = changed.recv() => "file change",
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => "SIGHUP",
            else => return,
        };
        tokio::time::sleep(SETTLE).await;
        while changed.try_recv().is_ok() {}
        reload(&gateway, &config_path, cause);
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

/// The config file and every tenant's script, as absolute paths.
fn watched_files(config_path: &Path, config: &Config) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::from([normalize(config_path)]);
    files.extend(
        config
            .tenants
            .iter()
            .filter_map(|t| t.script.as_deref())
            .map(normalize),
    );
    files
}

fn normalize(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
