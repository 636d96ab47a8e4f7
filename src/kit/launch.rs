//! One tenant of a config served for `adapter test --config`: a `scimitar serve` child
//! process on loopback ports, with that tenant alone and a bearer token made for the run —
//! so the checks go through the whole gateway (auth, limits, ordering, the adapter, the
//! target, the provisioning log) exactly as Entra's requests would, and the config's own
//! listeners, TLS, networks and tokens stay out of it.

use crate::config::{Config, TenantAuth};
use crate::tenant::RouteTemplate;
use anyhow::{bail, Context};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the gateway may take to answer `/healthz` (scripts compile, the store opens).
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long it may take to stop after `SIGTERM` before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// Tries when another process takes a port between choosing it and the gateway binding it.
const PORT_TRIES: usize = 5;

/// The running gateway; stopped (`SIGTERM`, so that its provisioning log is stored) and its
/// folder removed when dropped.
pub struct Launched {
    child: Child,
    dir: PathBuf,
    /// The tenant's SCIM base URL.
    pub base_url: String,
    /// The bearer token made for this run (only its hash is in the config written).
    pub token: String,
}

impl Drop for Launched {
    fn drop(&mut self) {
        // Only a child not yet reaped: once reaped, its pid may be another process's.
        if let Ok(None) = self.child.try_wait() {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        let until = Instant::now() + STOP_LIMIT;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Serves `tenant` of the config at `config_path` until the result is dropped.
pub async fn launch(config_path: &Path, tenant: &str) -> anyhow::Result<Launched> {
    // Absolute, so that the paths the config resolves against its folder (script, secret
    // files, a SQLite store) still point there from the run's config in another folder.
    let config_path = &std::fs::canonicalize(config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let config = Config::load(config_path)?;
    let Some(section) = config.tenants.iter().find(|t| t.name == tenant) else {
        let names: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
        bail!(
            "{}: no tenant named {tenant:?} (tenants: {})",
            config_path.display(),
            names.join(", ")
        );
    };
    let base_path = RouteTemplate::parse(&section.route)?
        .with_values(&section.route_values)?
        .example_path()
        .with_context(|| format!("tenant {tenant}"))?;
    let (token, hash) = crate::auth::generate_token();
    let mut section = section.clone();
    section.auth = TenantAuth {
        token_hashes: vec![hash],
        ..TenantAuth::default()
    };
    section.host = None;
    section.allowed_networks.clear();

    let dir = std::env::temp_dir().join(format!("scimitar-adapter-test-{}", std::process::id()));
    let executable = std::env::current_exe().context("cannot find the scimitar executable")?;
    for _ in 0..PORT_TRIES {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut run = config.clone();
        run.tenants = vec![section.clone()];
        let server = &mut run.server;
        server.listen = free_loopback_port()?;
        server.admin_listen = free_loopback_port()?;
        server.tls = None;
        server.admin_tls = None;
        server.public_url = None;
        server.allowed_networks.clear();
        server.trusted_proxies.clear();
        let file = dir.join("scimitar.toml");
        std::fs::write(
            &file,
            toml::to_string(&run).context("cannot write the run's config")?,
        )
        .with_context(|| format!("cannot write {}", file.display()))?;
        let log = dir.join("gateway.log");
        let child = Command::new(&executable)
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("cannot start {}", executable.display()))?;
        let mut launched = Launched {
            child,
            dir: dir.clone(),
            base_url: format!("http://{}{base_path}", run.server.listen),
            token: token.clone(),
        };
        let outcome =
            wait_until_up(&mut launched, run.server.listen, run.server.admin_listen).await;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail = || {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        };
        match outcome {
            Ok(()) => return Ok(launched),
            // A port taken meanwhile: another try, on other ports.
            Err(NotUp::Exited) if text.contains("in use") => continue,
            Err(NotUp::Exited) => {
                bail!(
                    "the gateway serving tenant {tenant} stopped at start:\n{}",
                    tail()
                )
            }
            Err(NotUp::Slow) => bail!(
                "the gateway serving tenant {tenant} did not answer within {} s:\n{}",
                START_LIMIT.as_secs(),
                tail()
            ),
        }
    }
    bail!("found no free loopback ports in {PORT_TRIES} tries")
}

enum NotUp {
    /// The process ended before it answered.
    Exited,
    Slow,
}

async fn wait_until_up(
    launched: &mut Launched,
    scim: SocketAddr,
    admin: SocketAddr,
) -> Result<(), NotUp> {
    let health = format!("http://{admin}/healthz");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < START_LIMIT {
        if let Ok(Some(_)) = launched.child.try_wait() {
            return Err(NotUp::Exited);
        }
        let up = client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        // The admin listener may answer a moment before the SCIM listener is bound.
        if up && tokio::net::TcpStream::connect(scim).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(NotUp::Slow)
}

/// A loopback port free now (another process may take it before the gateway binds it, which
/// the caller retries).
fn free_loopback_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind loopback")?;
    Ok(listener.local_addr()?)
}
