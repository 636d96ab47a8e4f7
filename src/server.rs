//! Assembles the pingora server: the SCIM front door and the admin listener.

use crate::admin::AdminApp;
use crate::config::{Config, TlsConfig};
use crate::front::{Guarded, ScimFront};
use crate::gateway::Gateway;
use crate::proxy::HealthChecks;
use crate::tls::ListenerCertificate;
use anyhow::Context;
use async_trait::async_trait;
use pingora::apps::http_app::HttpServer;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `check` found in a config that `serve` would start with.
pub struct CheckReport {
    pub tenants: usize,
    /// What will fail at run time without keeping the gateway from starting, e.g. an
    /// operation Entra uses that an adapter lacks; each names its tenant.
    pub warnings: Vec<String>,
}

/// Builds everything `serve` would from `config`, short of opening the store and binding:
/// every tenant's route, token hashes, secrets, script (and every call it makes) and upstream.
pub fn check(config: &Config) -> anyhow::Result<CheckReport> {
    let roots = crate::upstream::TrustedRoots::load(config.server.upstream_ca_file.as_deref())?;
    let http = crate::upstream::http_client(&roots)?;
    let scripts = crate::adapter::ScriptHost::new(&config.limits, 1, roots)?;
    let script_calls = config.limits.script_calls_per_tenant;
    let outbound = crate::tenant::Outbound {
        http: &http,
        io: &scripts.io(),
    };
    let tenants =
        crate::tenant::Tenants::build(config, scripts.engine(), outbound, script_calls, None)?;
    check_key_files(config)?;
    crate::public_url::PublicUrl::new(&config.server)?;
    listener_certificates(config)?;
    let warnings = tenants
        .iter()
        .flat_map(|tenant| {
            tenant
                .missing_operations()
                .into_iter()
                .map(|missing| format!("tenant {}: {missing}", tenant.name))
        })
        .collect();
    Ok(CheckReport {
        tenants: tenants.iter().count(),
        warnings,
    })
}

/// Reads every JWKS file a tenant names, so that a missing or malformed one fails `check`.
fn check_key_files(config: &Config) -> anyhow::Result<()> {
    for tenant in &config.tenants {
        if let Some(file) = tenant
            .auth
            .entra
            .as_ref()
            .and_then(|e| e.jwks_file.as_ref())
        {
            let text = std::fs::read(file).with_context(|| {
                format!(
                    "tenant {}: cannot read auth.entra.jwks_file {}",
                    tenant.name,
                    file.display()
                )
            })?;
            crate::auth::parse_jwks(&text).with_context(|| {
                format!(
                    "tenant {}: auth.entra.jwks_file {}",
                    tenant.name,
                    file.display()
                )
            })?;
        }
    }
    Ok(())
}

/// The certificates of the TLS listeners, read now: (SCIM, admin).
type ListenerCertificates = (
    Option<Arc<ListenerCertificate>>,
    Option<Arc<ListenerCertificate>>,
);

fn listener_certificates(config: &Config) -> anyhow::Result<ListenerCertificates> {
    let load = |listener, key, tls: Option<&TlsConfig>| {
        tls.map(|tls| ListenerCertificate::load(listener, tls))
            .transpose()
            .with_context(|| format!("server.{key}"))
    };
    let server = &config.server;
    Ok((
        load("scim", "tls", server.tls.as_ref())?,
        load("admin", "admin_tls", server.admin_tls.as_ref())?,
    ))
}

/// Listens on `address`, with TLS when the listener has a certificate.
fn listen<A>(
    service: &mut Service<A>,
    address: std::net::SocketAddr,
    certificate: Option<&Arc<ListenerCertificate>>,
) -> anyhow::Result<()> {
    match certificate {
        Some(certificate) => {
            service.add_tls_with_settings(&address.to_string(), None, certificate.settings()?)
        }
        None => service.add_tcp(&address.to_string()),
    }
    Ok(())
}

/// Builds the gateway from `config` (read from `config_path`, which is watched for
/// changes) and serves until the process is told to stop.
pub fn serve(config_path: &Path, config: &Config) -> anyhow::Result<()> {
    crate::metrics::init();
    let (scim_certificate, admin_certificate) = listener_certificates(config)?;
    let gateway = Gateway::start(config)?;
    crate::reload::start(gateway.clone(), config_path.to_path_buf(), config)?;
    crate::directory::sync::start(gateway.clone());
    for tenant in gateway.tenants().iter() {
        tracing::info!(
            tenant = %tenant.name,
            target = %tenant.target,
            mode = tenant.mode.as_str(),
            route = tenant.route.as_str(),
            script = %tenant.script_path().map(|p| p.display().to_string()).unwrap_or_default(),
            "tenant ready"
        );
    }

    let conf = ServerConf {
        threads: config.server.threads.max(1),
        // Pingora's defaults put these in /tmp under fixed names, which collide when several
        // gateways run on one machine (tests, demo beside a real one).
        pid_file: format!("/tmp/scimitar-{}.pid", std::process::id()),
        upgrade_sock: format!("/tmp/scimitar-{}-upgrade.sock", std::process::id()),
        // `Drain` waits for the requests in flight before pingora hears of the shutdown;
        // pingora's own grace period would be a fixed sleep, idle or not.
        grace_period_seconds: Some(0),
        // The CA bundle pingora trusts for HTTPS targets (proxy mode); the system's when unset.
        ca_file: config
            .server
            .upstream_ca_file
            .as_ref()
            .map(|p| p.display().to_string()),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let proxy = pingora::proxy::http_proxy(&server.configuration, ScimFront::new(gateway.clone()));
    let guarded = Guarded::new(
        proxy,
        Duration::from_secs(config.limits.header_timeout_secs.max(1)),
        config.limits.max_connections_per_client,
    );
    let mut front = Service::new("scim".to_string(), guarded);
    listen(&mut front, config.server.listen, scim_certificate.as_ref())?;
    let scim = server.add_service(front);

    let health = HealthChecks::new(gateway.clone());
    server.add_service(background_service("upstream health checks", health));

    let gateway_for_drain = gateway.clone();
    let gateway_for_flush = gateway.clone();
    let mut admin = Service::new(
        "admin".to_string(),
        HttpServer::new_app(AdminApp::new(gateway)),
    );
    listen(
        &mut admin,
        config.server.admin_listen,
        admin_certificate.as_ref(),
    )?;
    crate::tls::keep_current(
        scim_certificate
            .into_iter()
            .chain(admin_certificate)
            .collect(),
    )?;
    // Health probes and a Prometheus scrape: one thread is plenty, and each costs memory.
    admin.threads = Some(1);
    // The admin listener starts after the SCIM service, so that `/healthz` rarely answers
    // before the SCIM listener does.
    let admin = server.add_service(admin);
    admin.add_dependency(&scim);

    tracing::info!(
        listen = %config.server.listen,
        admin = %config.server.admin_listen,
        tls = config.server.tls.is_some(),
        admin_tls = config.server.admin_tls.is_some(),
        "scimitar serving"
    );
    let drain = Drain {
        gateway: gateway_for_drain,
        grace: Duration::from_secs(config.server.shutdown_grace_secs),
    };
    server.run(RunArgs {
        shutdown_signal: Box::new(drain),
    });
    // The last requests' entries are stored before the process goes (exit skips destructors).
    let log = gateway_for_flush.log.clone();
    let flushed = gateway_for_flush
        .scripts
        .io()
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), log.flush()).await });
    if flushed.is_err() {
        tracing::warn!("the provisioning log's last entries could not be stored in time");
    }
    crate::logging::flush();
    std::process::exit(0)
}

/// How the gateway stops: `SIGTERM` turns new requests away (503 with `Retry-After`) and
/// waits for those in flight — up to `server.shutdown_grace_secs` — then tells pingora, so
/// an idle gateway exits at once. `SIGINT` stops at once; `SIGQUIT` hands the listeners to
/// a new process (pingora's graceful upgrade).
struct Drain {
    gateway: Arc<Gateway>,
    grace: Duration,
}

/// How often a draining gateway looks whether its last request has finished.
const DRAIN_POLL: Duration = Duration::from_millis(20);

#[async_trait]
impl ShutdownSignalWatch for Drain {
    async fn recv(&self) -> ShutdownSignal {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut interrupt), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            tracing::error!("cannot listen for shutdown signals");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {
                let until = Instant::now() + self.grace;
                let mut left = self.gateway.drain();
                tracing::info!(in_flight = left, "SIGTERM: draining");
                while left > 0 && Instant::now() < until {
                    tokio::time::sleep(DRAIN_POLL).await;
                    left = self.gateway.drain();
                }
                if left > 0 {
                    tracing::warn!(in_flight = left, "grace period over; stopping with requests in flight");
                }
                ShutdownSignal::GracefulTerminate
            }
            _ = interrupt.recv() => ShutdownSignal::FastShutdown,
            _ = quit.recv() => ShutdownSignal::GracefulUpgrade,
        }
    }
}
