//! Tenants: each one a route, its tokens, its adapter and its upstream, built from config.

mod attribute;
mod capabilities;
mod cursors;
mod index;
mod kept;
mod limits;
mod route;

pub use attribute::KeyedAttribute;
pub use cursors::Cursors;
pub use index::{DirectoryIndex, IndexedKind, PassProgress};
pub use kept::KeptAttributes;
pub use limits::Protection;

pub use route::{RouteMatch, RouteTemplate};

use crate::adapter::{Adapter, ScriptCache, ScriptShare};
use crate::auth::{Authenticator, Method, Presented, Verdict};
use crate::config::{Config, Mode, TenantConfig};
use crate::failure::Failure;
use crate::proxy::ProxyTarget;
use crate::store::Store;
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
    /// Who may call: its tokens, Entra's JWT, its token endpoint's access tokens.
    pub auth: Arc<Authenticator>,
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
    /// The attributes the gateway keeps for the target (`[tenants.keep]`).
    pub keep: KeptAttributes,
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
        outbound: Outbound<'_>,
        script_calls: usize,
        running: Option<&Arc<Tenant>>,
    ) -> anyhow::Result<Arc<Self>> {
        let http = outbound.http;
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
        // Kept across a reload: the signing keys fetched and the access tokens seen.
        let auth = match kept(|a, b| a.auth == b.auth) {
            Some(r) => r.auth.clone(),
            None => Arc::new(Authenticator::new(
                &config.name,
                &config.auth,
                outbound.http,
                outbound.io,
            )),
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
        if config.mode == Mode::Proxy && !config.keep.is_empty() {
            anyhow::bail!("keep: a proxy tenant's target answers for every attribute itself");
        }
        let keep = KeptAttributes::build(&config.keep).context("keep")?;
        Ok(Arc::new(Self {
            name: config.name.clone(),
            target: config.target.clone(),
            mode,
            route,
            host: config.host.as_ref().map(|h| h.to_ascii_lowercase()),
            auth,
            adapter,
            upstream,
            settings,
            default_region,
            protection,
            script_share,
            capabilities,
            index,
            keep,
            cursors: Cursors::default(),
            config: config.clone(),
        }))
    }

    /// What Entra will ask of this tenant that its adapter does not implement (a translate
    /// tenant's; a proxy tenant's target answers for itself).
    pub fn missing_operations(&self) -> Vec<String> {
        match self.mode {
            TenantMode::Translate => {
                capabilities::missing_operations(&self.adapter, &self.config.schema)
            }
            TenantMode::Proxy(_) => Vec::new(),
        }
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

/// What tenants reach out with: the HTTP client and the I/O runtime that drives it.
#[derive(Clone, Copy)]
pub struct Outbound<'a> {
    pub http: &'a reqwest::Client,
    pub io: &'a tokio::runtime::Handle,
}

/// Where a request goes.
pub enum Routing {
    Tenant(Arc<Tenant>, RouteMatch),
    /// A tenant serves this path (named here, for metrics), but the token is none of theirs:
    /// the kind of credential it was, and why the tenant refused it.
    Unauthorized(String, Method, &'static str),
    /// Tenants serve this path (the first named), but none may be called from the client's
    /// address: no token was even looked at.
    NetworkRefused(String),
    NoTenant,
}

/// A tenant's token endpoint, below its route.
pub const TOKEN_PATH: &str = "/oauth/token";

/// The tenants a token request may be for.
#[derive(Default)]
pub struct TokenEndpoint {
    /// In route order; the client id tells which.
    pub tenants: Vec<Arc<Tenant>>,
    /// A tenant whose endpoint this is, but not for the client's address.
    pub refused: Option<String>,
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
        outbound: Outbound<'_>,
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
                Tenant::build(t, &mut scripts, outbound, script_calls, previous)
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
    pub async fn route(
        &self,
        host: Option<&str>,
        path: &str,
        token: Option<&str>,
        client: Option<IpAddr>,
        store: &Store,
    ) -> Result<Routing, Failure> {
        let mut route_owner = None;
        let mut refused = None;
        // Hashed when a route first matches, once for every tenant sharing the route.
        let mut presented = None;
        for tenant in self.tenants.iter().filter(|t| t.serves_host(host)) {
            let Some(found) = tenant.route.matches(path) else {
                continue;
            };
            if !tenant.admits(client) {
                refused.get_or_insert_with(|| tenant.name.clone());
                continue;
            }
            let Some(token) = token else {
                route_owner.get_or_insert((tenant.name.clone(), Method::Token, "no_token"));
                continue;
            };
            let presented = presented.get_or_insert_with(|| Presented::new(token));
            let verdict = tenant
                .auth
                .verify(&tenant.name, presented, store)
                .await
                .map_err(|e| {
                    tracing::warn!(tenant = %tenant.name, error = %e, "cannot check an access token");
                    Failure::store_down()
                })?;
            match verdict {
                Verdict::Accepted(method) => {
                    crate::metrics::AUTHENTICATIONS
                        .with_label_values(&[&tenant.name, method.label(), "accepted"])
                        .inc();
                    return Ok(Routing::Tenant(tenant.clone(), found));
                }
                Verdict::Refused(method, why) => {
                    // The first tenant that takes this kind of credential says why best.
                    match &route_owner {
                        Some((_, _, "not_enabled")) if why != "not_enabled" => {
                            route_owner = Some((tenant.name.clone(), method, why))
                        }
                        None => route_owner = Some((tenant.name.clone(), method, why)),
                        Some(_) => {}
                    }
                }
            }
        }
        Ok(match (route_owner, refused) {
            (Some((name, method, why)), _) => {
                crate::metrics::AUTHENTICATIONS
                    .with_label_values(&[&name, method.label(), why])
                    .inc();
                Routing::Unauthorized(name, method, why)
            }
            (None, Some(name)) => Routing::NetworkRefused(name),
            (None, None) => Routing::NoTenant,
        })
    }

    /// The tenants whose token endpoint `path` is (`<route>/oauth/token`) and that may be
    /// called from `client`; empty when it is no tenant's.
    pub fn token_endpoint(
        &self,
        host: Option<&str>,
        path: &str,
        client: Option<IpAddr>,
    ) -> TokenEndpoint {
        let mut endpoint = TokenEndpoint::default();
        for tenant in self.tenants.iter().filter(|t| t.serves_host(host)) {
            let is_endpoint = tenant.auth.token_issuer().is_some()
                && tenant
                    .route
                    .matches(path)
                    .is_some_and(|found| found.rest == TOKEN_PATH);
            if !is_endpoint {
                continue;
            }
            if tenant.admits(client) {
                endpoint.tenants.push(tenant.clone());
            } else {
                endpoint.refused.get_or_insert_with(|| tenant.name.clone());
            }
        }
        endpoint
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.iter()
    }
}
