//! Proxy mode: the tenant's target speaks SCIM, and pingora proxies to it.
//!
//! A [`ProxyTarget`] is the target's SCIM base (one path, one scheme) at one or more
//! addresses. pingora's load balancer picks a healthy address (round robin, TCP health
//! checks run by [`HealthChecks`]); a failed connection is retried on another address.
//! Hooks in the tenant's script (see [`hooks`]) may rewrite requests and responses.

mod health;
pub mod hooks;
pub mod phases;

pub use health::HealthChecks;

use crate::config::UpstreamConfig;
use anyhow::{bail, Context};
use pingora::lb::{selection::RoundRobin, LoadBalancer};
use pingora::protocols::l4::socket::SocketAddr;
use pingora::upstreams::peer::HttpPeer;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub struct ProxyTarget {
    lb: Arc<LoadBalancer<RoundRobin>>,
    tls: bool,
    /// TLS server name and `Host` header value.
    host: String,
    /// The target's SCIM base path; `{name}` segments take the tenant route's parameters.
    base_path: String,
    timeout: Duration,
    pub health_check_every: Duration,
}

impl ProxyTarget {
    pub fn build(config: &UpstreamConfig) -> anyhow::Result<Self> {
        let urls = config
            .urls()
            .into_iter()
            .map(url::Url::parse)
            .collect::<Result<Vec<_>, _>>()
            .context("upstream URL")?;
        let first = urls.first().context("upstream.base_url is missing")?;
        let scheme = first.scheme();
        let path = first.path().trim_end_matches('/');
        if !matches!(scheme, "http" | "https") {
            bail!("upstream URL must be http or https, not {scheme}");
        }
        let mut addresses = Vec::new();
        for url in &urls {
            if url.scheme() != scheme || url.path().trim_end_matches('/') != path {
                bail!("all upstream addresses must share one scheme and path ({first} vs {url})");
            }
            let host = url.host_str().context("upstream URL has no host")?;
            let port = url
                .port_or_known_default()
                .context("upstream URL has no port")?;
            addresses.push(format!("{host}:{port}"));
        }
        let mut lb =
            LoadBalancer::<RoundRobin>::try_from_iter(addresses.iter().map(String::as_str))
                .context("cannot resolve the upstream addresses")?;
        lb.set_health_check(pingora::lb::health_check::TcpHealthCheck::new());
        let host = match (first.host_str(), first.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => bail!("upstream URL has no host"),
        };
        Ok(Self {
            lb: Arc::new(lb),
            tls: scheme == "https",
            host,
            base_path: path.to_string(),
            timeout: Duration::from_secs(config.timeout_secs),
            health_check_every: Duration::from_secs(config.health_check_secs.max(1)),
        })
    }

    /// A healthy address not tried yet for this request (failover), as a pingora peer.
    pub fn select(&self, tried: &[SocketAddr]) -> Option<Box<HttpPeer>> {
        let backend = self
            .lb
            .select_with(b"", 256, |b, healthy| healthy && !tried.contains(&b.addr))?;
        let sni = self.host.split(':').next().unwrap_or_default().to_string();
        let mut peer = HttpPeer::new(backend.addr.clone(), self.tls, sni);
        peer.options.connection_timeout = Some(self.timeout.min(Duration::from_secs(5)));
        peer.options.read_timeout = Some(self.timeout);
        peer.options.write_timeout = Some(self.timeout);
        Some(Box::new(peer))
    }

    /// How many addresses a request may try.
    pub fn address_count(&self) -> usize {
        self.lb.backends().get_backend().len()
    }

    /// The target path for a SCIM path (after the tenant's base), with route parameters
    /// filled into the base.
    pub fn path_for(&self, scim_path: &str, params: &BTreeMap<String, String>) -> String {
        let mut base = self.base_path.clone();
        for (name, value) in params {
            let encoded =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            base = base.replace(&format!("{{{name}}}"), &encoded);
        }
        format!("{base}{scim_path}")
    }

    pub fn host_header(&self) -> &str {
        &self.host
    }

    pub(crate) fn load_balancer(&self) -> &LoadBalancer<RoundRobin> {
        &self.lb
    }
}
