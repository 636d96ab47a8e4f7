//! Tenants: each one a route, its tokens, its adapter and its upstream, built from config.

mod limits;
mod route;

pub use limits::{Protection, Refusal};

pub use route::{RouteMatch, RouteTemplate};

use crate::adapter::Adapter;
use crate::auth::TokenHash;
use crate::config::{Config, Mode, TenantConfig};
use crate::proxy::ProxyTarget;
use crate::upstream::UpstreamClient;
use anyhow::Context;
use scimitar_scim::discovery::Capabilities;
use std::sync::Arc;

pub struct Tenant {
    pub name: String,
    pub target: String,
    pub mode: Mode,
    pub route: RouteTemplate,
    host: Option<String>,
    token_hashes: Vec<TokenHash>,
    pub adapter: Arc<Adapter>,
    pub upstream: Arc<UpstreamClient>,
    /// The target's SCIM endpoint, for proxy-mode tenants.
    pub proxy: Option<ProxyTarget>,
    /// The adapter settings table, ready to hand to scripts.
    pub settings: rhai::Map,
    pub default_region: Option<phonenumber::country::Id>,
    /// Rate and concurrency limits.
    pub protection: Protection,
    /// What discovery declares: the resource types the adapter implements, with the
    /// extensions and required attributes of the tenant's `[schema]`.
    pub capabilities: Capabilities,
}

impl Tenant {
    fn build(
        config: &TenantConfig,
        engine: &rhai::Engine,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let route = RouteTemplate::parse(&config.route)?;
        let token_hashes = config
            .auth
            .token_hashes
            .iter()
            .map(|h| TokenHash::parse(h))
            .collect::<anyhow::Result<_>>()?;
        let adapter = match &config.script {
            Some(script) => Adapter::compile(engine, script)?,
            None => Adapter::empty(engine),
        };
        let upstream = UpstreamClient::new(&config.name, &config.upstream, http.clone())?;
        let proxy = match config.mode {
            Mode::Proxy => Some(ProxyTarget::build(&config.upstream)?),
            Mode::Translate => None,
        };
        let settings_json = Config::settings_json(&config.settings);
        let settings = rhai::serde::to_dynamic(&settings_json)
            .ok()
            .and_then(|d| d.try_cast::<rhai::Map>())
            .unwrap_or_default();
        let default_region = match config.settings.get("default_region") {
            Some(toml::Value::String(region)) => Some(
                crate::adapter::parse_region(region)
                    .map_err(|e| anyhow::anyhow!("settings.default_region: {}", e.detail))?,
            ),
            Some(_) => {
                anyhow::bail!("settings.default_region must be a region code such as \"US\"")
            }
            None => None,
        };
        let capabilities = crate::scim_api::capabilities(&adapter, &config.schema);
        Ok(Self {
            name: config.name.clone(),
            target: config.target.clone(),
            mode: config.mode,
            route,
            host: config.host.as_ref().map(|h| h.to_ascii_lowercase()),
            token_hashes,
            adapter: Arc::new(adapter),
            upstream: Arc::new(upstream),
            proxy,
            settings,
            default_region,
            protection: Protection::new(&config.limits),
            capabilities,
        })
    }

    /// True when `token` is one of this tenant's tokens.
    pub fn accepts_token(&self, token: &str) -> bool {
        crate::auth::any_matches(&self.token_hashes, token)
    }

    fn serves_host(&self, host: Option<&str>) -> bool {
        match (&self.host, host) {
            (None, _) => true,
            (Some(expected), Some(host)) => {
                let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
                bare.eq_ignore_ascii_case(expected)
            }
            (Some(_), None) => false,
        }
    }
}

/// Where a request goes.
pub enum Routing {
    Tenant(Arc<Tenant>, RouteMatch),
    /// A tenant serves this path (named here, for metrics), but the token is none of theirs.
    Unauthorized(String),
    NoTenant,
}

/// Every tenant, ordered most specific route first.
pub struct Tenants {
    tenants: Vec<Arc<Tenant>>,
}

impl Tenants {
    /// Builds every tenant: parses routes, compiles scripts, prepares upstream clients.
    /// Any failure names the tenant.
    pub fn build(
        config: &Config,
        engine: &rhai::Engine,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let mut tenants = config
            .tenants
            .iter()
            .map(|t| {
                Tenant::build(t, engine, http)
                    .map(Arc::new)
                    .with_context(|| format!("tenant {}", t.name))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        tenants.sort_by_key(|t| std::cmp::Reverse((t.host.is_some(), t.route.specificity())));
        Ok(Self { tenants })
    }

    /// The tenant a request is for: among the tenants whose route (and host, when bound)
    /// matches, the one that accepts the bearer token. Several tenants may share one URL
    /// (one SCIM endpoint for several organisations, the token telling them apart).
    pub fn route(&self, host: Option<&str>, path: &str, token: Option<&str>) -> Routing {
        let mut route_owner = None;
        for tenant in self.tenants.iter().filter(|t| t.serves_host(host)) {
            let Some(found) = tenant.route.matches(path) else {
                continue;
            };
            route_owner.get_or_insert_with(|| tenant.name.clone());
            if token.is_some_and(|t| tenant.accepts_token(t)) {
                return Routing::Tenant(tenant.clone(), found);
            }
        }
        match route_owner {
            Some(name) => Routing::Unauthorized(name),
            None => Routing::NoTenant,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.iter()
    }
}
