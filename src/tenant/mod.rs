//! Tenants: each one a route, its tokens, its adapter and its upstream, built from config.

mod capabilities;
mod cursors;
mod index;
mod limits;
mod route;

pub use cursors::Cursors;
pub use index::{DirectoryIndex, IndexedKind, PassProgress};
pub use limits::Protection;

pub use route::{RouteMatch, RouteTemplate};

use crate::adapter::{Adapter, ScriptCache, ScriptShare};
use crate::config::{Config, Mode, TenantConfig};
use crate::proxy::ProxyTarget;
use crate::upstream::UpstreamClient;
use anyhow::Context;
use scimitar_scim::discovery::Capabilities;
use std::net::IpAddr;
use std::sync::Arc;

/// How a tenant is served: answered through its adapter, or proxied to its SCIM target.
pub enum TenantMode {
    Translate,
    /// The target's SCIM endpoint (addresses, load balancing, health checks).
    Proxy(Arc<ProxyTarget>),
}

impl TenantMode {
    pub fn proxy_target(&self) -> Option<&Arc<ProxyTarget>> {
        match self {
            TenantMode::Translate => None,
            TenantMode::Proxy(target) => Some(target),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TenantMode::Translate => Mode::Translate.as_str(),
            TenantMode::Proxy(_) => Mode::Proxy.as_str(),
        }
    }
}

pub struct Tenant {
    pub name: String,
    pub target: String,
    pub mode: TenantMode,
    pub route: RouteTemplate,
    host: Option<String>,
    pub adapter: Arc<Adapter>,
    pub upstream: Arc<UpstreamClient>,
    /// The adapter settings table, ready to hand to scripts.
    /// Shared with every script call (a deep copy per call would cost more than many calls).
    pub settings: Arc<rhai::Map>,
    pub default_region: Option<phonenumber::country::Id>,
    /// Rate and concurrency limits.
    pub protection: Arc<Protection>,
    /// How many script calls the tenant may run at once.
    pub script_share: Arc<ScriptShare>,
    /// What discovery declares: the resource types the adapter implements, with the
    /// extensions and required attributes of the tenant's `[schema]`.
    pub capabilities: Capabilities,
    /// The gateway's index of the target's directory, when the tenant keeps one.
    pub index: Option<DirectoryIndex>,
    /// Native paging cursors of clients paging on.
    pub cursors: Cursors,
    /// The section it was built from, to tell on a reload what changed.
    config: TenantConfig,
}

impl Tenant {
    /// Builds a tenant from its section. On a reload, `running` is the tenant of the same
    /// name now serving: whatever of it the new section leaves unchanged is kept — the
    /// whole tenant, or its rate-limit buckets, its upstream client (OAuth token cache
    /// included) and its proxy target (health state), each on its own.
    fn build(
        config: &TenantConfig,
        scripts: &mut ScriptCache,
        http: &reqwest::Client,
        script_calls: usize,
        running: Option<&Arc<Tenant>>,
    ) -> anyhow::Result<Arc<Self>> {
        let adapter = match &config.script {
            Some(script) => scripts.get(script)?,
            None => scripts.empty(),
        };
        // Secrets are read each time: a rotated secret file or variable is a change.
        let read_auth = config
            .upstream
            .auth
            .as_ref()
            .map(|auth| auth.read())
            .transpose()
            .context("upstream.auth")?;
        if let Some(running) = running {
            if running.config == *config
                && Arc::ptr_eq(&running.adapter, &adapter)
                && running.upstream.has_credentials(&read_auth)
            {
                return Ok(running.clone());
            }
        }
        let kept = |same: fn(&TenantConfig, &TenantConfig) -> bool| {
            running.filter(|r| same(&r.config, config))
        };
        let upstream = match kept(|a, b| a.upstream == b.upstream)
            .filter(|r| r.upstream.has_credentials(&read_auth))
        {
            Some(r) => r.upstream.clone(),
            None => Arc::new(UpstreamClient::new(
                &config.name,
                &config.upstream,
                read_auth,
                http.clone(),
            )?),
        };
        let running_target = kept(|a, b| a.upstream == b.upstream && a.mode == b.mode)
            .and_then(|r| r.mode.proxy_target().cloned());
        let mode = match (config.mode, running_target) {
            (Mode::Translate, _) => TenantMode::Translate,
            (Mode::Proxy, Some(target)) => TenantMode::Proxy(target),
            (Mode::Proxy, None) => {
                TenantMode::Proxy(Arc::new(ProxyTarget::build(&config.upstream)?))
            }
        };
        let protection = match kept(|a, b| a.limits == b.limits) {
            Some(r) => r.protection.clone(),
            None => Arc::new(Protection::new(&config.limits)),
        };
        // The calls running now stay counted against the tenant across a reload.
        let script_share = match running {
            Some(r) => r.script_share.clone(),
            None => Arc::new(ScriptShare::new(script_calls)),
        };
        let route = RouteTemplate::parse(&config.route)?.with_values(&config.route_values)?;
        let settings_json = Config::settings_json(&config.settings);
        let settings = rhai::serde::to_dynamic(&settings_json)
            .ok()
            .and_then(|d| d.try_cast::<rhai::Map>())
            .map(Arc::new)
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
        let capabilities = capabilities::capabilities(&adapter, &config.schema);
        let index = config
            .index
            .as_ref()
            .map(DirectoryIndex::build)
            .transpose()?;
        Ok(Arc::new(Self {
            name: config.name.clone(),
            target: config.target.clone(),
            mode,
            route,
            host: config.host.as_ref().map(|h| h.to_ascii_lowercase()),
            adapter,
            upstream,
            settings,
            default_region,
            protection,
            script_share,
            capabilities,
            index,
            cursors: Cursors::default(),
            config: config.clone(),
        }))
    }

    /// The adapter script's path, as configured (none for a proxy tenant without hooks).
    pub fn script_path(&self) -> Option<&std::path::Path> {
        self.config.script.as_deref()
    }

    /// Whether the tenant may be called from `client` (any address when it lists no
    /// networks; none unknown when it does).
    fn admits(&self, client: Option<IpAddr>) -> bool {
        crate::config::admits(&self.config.allowed_networks, client)
    }

    /// True when `token` is one of this tenant's tokens.
    pub fn accepts_token(&self, token: &str) -> bool {
        crate::auth::any_matches(&self.config.auth.token_hashes, token)
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
    /// Tenants serve this path (the first named), but none may be called from the client's
    /// address: no token was even looked at.
    NetworkRefused(String),
    NoTenant,
}

/// Every tenant, ordered most specific route first.
pub struct Tenants {
    tenants: Vec<Arc<Tenant>>,
}

impl Tenants {
    /// Builds every tenant: parses routes, compiles scripts (once per distinct content),
    /// prepares upstream clients. On a reload, `running` are the tenants now serving, whose
    /// unchanged parts are kept (see [`Tenant::build`]). Any failure names the tenant. Each
    /// tenant may run `script_calls` script calls at once (the gateway's start-up
    /// `limits.script_calls_per_tenant`).
    pub fn build(
        config: &Config,
        engine: &rhai::Engine,
        http: &reqwest::Client,
        script_calls: usize,
        running: Option<&Tenants>,
    ) -> anyhow::Result<Self> {
        let known = running
            .into_iter()
            .flat_map(|r| r.tenants.iter().map(|t| t.adapter.clone()));
        let mut scripts = ScriptCache::new(engine, known);
        let mut tenants = config
            .tenants
            .iter()
            .map(|t| {
                let previous = running.and_then(|r| r.tenants.iter().find(|p| p.name == t.name));
                Tenant::build(t, &mut scripts, http, script_calls, previous)
                    .with_context(|| format!("tenant {}", t.name))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        tenants.sort_by_key(|t| std::cmp::Reverse((t.host.is_some(), t.route.specificity())));
        Ok(Self { tenants })
    }

    /// The tenant a request is for: among the tenants whose route (and host, when bound)
    /// matches and that may be called from `client`, the one that accepts the bearer
    /// token. Several tenants may share one URL (one SCIM endpoint for several
    /// organisations, the token telling them apart).
    pub fn route(
        &self,
        host: Option<&str>,
        path: &str,
        token: Option<&str>,
        client: Option<IpAddr>,
    ) -> Routing {
        let mut route_owner = None;
        let mut refused = None;
        for tenant in self.tenants.iter().filter(|t| t.serves_host(host)) {
            let Some(found) = tenant.route.matches(path) else {
                continue;
            };
            if !tenant.admits(client) {
                refused.get_or_insert_with(|| tenant.name.clone());
                continue;
            }
            route_owner.get_or_insert_with(|| tenant.name.clone());
            if token.is_some_and(|t| tenant.accepts_token(t)) {
                return Routing::Tenant(tenant.clone(), found);
            }
        }
        match (route_owner, refused) {
            (Some(name), _) => Routing::Unauthorized(name),
            (None, Some(name)) => Routing::NetworkRefused(name),
            (None, None) => Routing::NoTenant,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.iter()
    }
}
