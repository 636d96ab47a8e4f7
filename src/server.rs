//! Assembles the pingora server: the SCIM front door and the admin listener.

use crate::admin::AdminApp;
use crate::config::Config;
use crate::front::ScimFront;
use crate::gateway::Gateway;
use crate::proxy::HealthChecks;
use pingora::apps::http_app::HttpServer;
use pingora::server::configuration::ServerConf;
use pingora::server::Server;
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use std::path::Path;

/// Builds the gateway from `config` (read from `config_path`, which is watched for
/// changes) and serves until the process is told to stop.
pub fn serve(config_path: &Path, config: &Config) -> anyhow::Result<()> {
    crate::metrics::init();
    let gateway = Gateway::start(config)?;
    crate::reload::start(gateway.clone(), config_path.to_path_buf(), config)?;
    for tenant in gateway.tenants().iter() {
        tracing::info!(
            tenant = %tenant.name,
            target = %tenant.target,
            mode = tenant.mode.as_str(),
            route = tenant.route.as_str(),
            script = %tenant.adapter.path().display(),
            "tenant ready"
        );
    }

    let conf = ServerConf {
        threads: config.server.threads.max(1),
        // Pingora's defaults put these in /tmp under fixed names, which collide when several
        // gateways run on one machine (tests, demo beside a real one).
        pid_file: format!("/tmp/scimitar-{}.pid", std::process::id()),
        upgrade_sock: format!("/tmp/scimitar-{}-upgrade.sock", std::process::id()),
        grace_period_seconds: Some(config.server.shutdown_grace_secs),
        // The CA bundle pingora trusts for HTTPS targets (proxy mode); the system's when unset.
        ca_file: config
            .server
            .upstream_ca_file
            .as_ref()
            .map(|p| p.display().to_string()),
        graceful_shutdown_timeout_seconds: Some(config.limits.request_timeout_secs),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut front = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        ScimFront::new(gateway.clone()),
        "scim",
    );
    front.add_tcp(&config.server.listen);
    let scim = server.add_service(front);

    let health = HealthChecks::new(gateway.clone());
    server.add_service(background_service("upstream health checks", health));

    let mut admin = Service::new(
        "admin".to_string(),
        HttpServer::new_app(AdminApp::new(gateway)),
    );
    admin.add_tcp(&config.server.admin_listen);
    // The admin listener starts after the SCIM service, so that `/healthz` rarely answers
    // before the SCIM listener does.
    let admin = server.add_service(admin);
    admin.add_dependency(&scim);

    tracing::info!(listen = %config.server.listen, admin = %config.server.admin_listen, "scimitar serving");
    server.run_forever()
}
