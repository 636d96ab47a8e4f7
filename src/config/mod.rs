//! The one TOML configuration file: its shape, loading and validation.
//!
//! Loading resolves every relative path against the config file's folder, so that the rest
//! of the gateway only ever sees ready-to-use values; secrets stay references until a tenant
//! is built (`secret.rs`). Validation that needs more than the file (compiling
//! scripts, parsing route templates) happens when the tenants are built (`src/tenant/`).

mod network;
mod secret;
mod store_url;
mod token_hash;

pub use network::{admits, any_contains, canonical as canonical_address, Network};
pub use secret::{Secret, SecretRef};
pub use store_url::StoreUrl;
pub use token_hash::TokenHash;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub provisioning_log: ProvisioningLogConfig,
    #[serde(default, rename = "tenants")]
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// SCIM listener (the front door): an IP address and port.
    pub listen: SocketAddr,
    /// Admin listener: `/metrics`, `/healthz`, `/readyz`.
    pub admin_listen: SocketAddr,
    /// pingora worker threads for the front door.
    pub threads: usize,
    /// Threads that run adapter scripts (each script call blocks one while it waits on HTTP).
    pub script_threads: usize,
    /// On `SIGTERM`: seconds the gateway keeps running requests in flight after it stopped
    /// accepting new ones.
    pub shutdown_grace_secs: u64,
    /// PEM bundle of the certificate authorities trusted for HTTPS targets, instead of the
    /// system's (e.g. a company CA). Relative to the config file.
    pub upstream_ca_file: Option<PathBuf>,
    /// The gateway's URL as clients reach it (`https://scim.example.com`), for `Location`
    /// and `meta.location`. Without it: what a trusted proxy forwards, else the address the
    /// client connected to; never the client's `Host`.
    pub public_url: Option<String>,
    /// Addresses or CIDR networks of reverse proxies whose `X-Forwarded-For`/`-Proto`/
    /// `-Host` are believed.
    pub trusted_proxies: Vec<Network>,
    /// Addresses or CIDR networks SCIM clients may call from (empty: any); a client
    /// elsewhere is refused with 403 before routing.
    pub allowed_networks: Vec<Network>,
    /// TLS on the SCIM listener (Entra calls HTTPS endpoints only); plain HTTP without it.
    pub tls: Option<TlsConfig>,
    /// TLS on the admin listener, with a certificate of its own.
    pub admin_tls: Option<TlsConfig>,
}

/// A listener's certificate: PEM files, reread whenever they change (certificate rotation,
/// e.g. by an ACME client), so new connections get the new certificate and open ones keep
/// theirs. Paths are relative to the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate, followed by its chain (intermediates), in PEM.
    pub cert_file: PathBuf,
    /// Its private key in PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            threads: 2,
            script_threads: 64,
            shutdown_grace_secs: 10,
            upstream_ca_file: None,
            public_url: None,
            trusted_proxies: Vec::new(),
            allowed_networks: Vec::new(),
            tls: None,
            admin_tls: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://…`.
    pub url: StoreUrl,
    /// PostgreSQL only: connections kept for the resource locks that order writes across
    /// replicas (each write in flight holds one while it runs).
    pub lock_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: StoreUrl::Sqlite("sqlite://scimitar.db".into()),
            lock_connections: 32,
        }
    }
}

/// The provisioning log: every SCIM operation, kept in the store for `scimitar log`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningLogConfig {
    pub enabled: bool,
    /// Entries older than this are removed.
    pub retention_days: u64,
    /// The most room the log may take in the store, in MiB; the oldest entries go first.
    pub max_size_mb: u64,
}

impl Default for ProvisioningLogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            retention_days: 30,
            max_size_mb: 1024,
        }
    }
}

/// Limits applied to every request and every script run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes (larger: SCIM 413).
    pub max_body_bytes: usize,
    /// Whole-request deadline in seconds; Entra gives up after 60 s, so stay below.
    pub request_timeout_secs: u64,
    /// Rhai operations one script call may run (a page of 50,000 users converted takes a
    /// few million; the request deadline bounds the wall clock besides).
    pub script_max_operations: u64,
    /// Rhai call depth.
    pub script_max_call_depth: usize,
    /// Largest string, array and map a script may hold, each counted over a whole value
    /// (a list of users counts every field of every user): large enough for a page of
    /// 50,000 users from a target that cannot page.
    pub script_max_string_bytes: usize,
    pub script_max_array_len: usize,
    pub script_max_map_len: usize,
    /// Longest wait, in seconds, for another operation on the same resource to finish
    /// (writes of one resource run one after another); past it: SCIM 429 + Retry-After.
    pub lock_wait_secs: u64,
    /// Seconds a client has to send a request's whole header once its first byte came (a
    /// header sent a byte at a time never holds a connection longer).
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body, within the request deadline;
    /// past it: SCIM 408. A body being sent holds no concurrency slot (in proxy mode: one of
    /// up to 64 KiB; a larger one streams).
    pub body_timeout_secs: u64,
    /// Connections one client address may hold open at once (0: no limit). Behind a load
    /// balancer that does not pass client addresses, every client is the balancer.
    pub max_connections_per_client: usize,
    /// Script calls one tenant may run at once (of `server.script_threads` in all), so
    /// that a target that hangs cannot take every thread; more wait for one to end.
    pub script_calls_per_tenant: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 50,
            script_max_operations: 50_000_000,
            script_max_call_depth: 64,
            script_max_string_bytes: 32 * 1024 * 1024,
            script_max_array_len: 1_000_000,
            script_max_map_len: 1_000_000,
            lock_wait_secs: 10,
            header_timeout_secs: 10,
            body_timeout_secs: 20,
            max_connections_per_client: 256,
            script_calls_per_tenant: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The tenant's script implements SCIM operations against the target's native API.
    Translate,
    /// The target speaks SCIM: pingora proxies to it, the script's hooks rewrite on the way.
    Proxy,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Translate => "translate",
            Mode::Proxy => "proxy",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Unique name, used in metrics labels and logs.
    pub name: String,
    /// Label of the target application (e.g. `meta-networks`), for operators.
    pub target: String,
    pub mode: Mode,
    /// Base path template of the tenant's SCIM URL, e.g. `/v1/scim/{idp_id}`.
    pub route: String,
    /// Optional `Host` the route is bound to (without port).
    #[serde(default)]
    pub host: Option<String>,
    /// The values a route parameter may take (`{ idp_id = ["idp-1"] }`); a request with any
    /// other is answered 404, as by a server that has no such path (discovery included).
    #[serde(default)]
    pub route_values: BTreeMap<String, Vec<String>>,
    /// Adapter script, relative to the config file. Required in translate mode; in proxy
    /// mode it holds the optional hooks (none: a pure pass-through).
    #[serde(default)]
    pub script: Option<PathBuf>,
    /// Addresses or CIDR networks this tenant may be called from (empty: any), checked
    /// before its token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_networks: Vec<Network>,
    pub auth: TenantAuth,
    pub upstream: UpstreamConfig,
    /// Free-form table handed to the script (`setting("name")`).
    #[serde(default)]
    pub settings: toml::Table,
    #[serde(default)]
    pub limits: TenantLimits,
    #[serde(default)]
    pub schema: TenantSchema,
    /// The gateway's own index of the target's directory, for matching attributes the
    /// target cannot filter on (and counts it cannot give).
    #[serde(default)]
    pub index: Option<IndexConfig>,
    /// Attributes the target cannot store, kept by the gateway.
    #[serde(default, skip_serializing_if = "KeepConfig::is_empty")]
    pub keep: KeepConfig,
}

/// `[tenants.keep]`: attributes of users and groups that the target cannot store (Entra's
/// `externalId` above all), which the gateway keeps instead: stored on every write, put into
/// every answer, matched by filters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepConfig {
    /// Attribute paths of users (`externalId`, `urn:…:enterprise:2.0:User:employeeNumber`).
    #[serde(default)]
    pub users: Vec<String>,
    /// Attribute paths of groups (`externalId`).
    #[serde(default)]
    pub groups: Vec<String>,
}

impl KeepConfig {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }
}

/// `[tenants.index]`: which attributes of which resources the gateway indexes, and how fresh
/// the index must be. A kind left out is not indexed; `users = []` counts users only (for
/// an honest `totalResults` from a target that cannot count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// Attribute paths of users (`userName`, `externalId`, `emails.value`, …).
    #[serde(default)]
    pub users: Option<Vec<String>>,
    /// Attribute paths of groups (`displayName`, `externalId`).
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// A "not found" is answered from an index whose last complete pass over the
    /// directory began at most this long ago; an older index is brought up to date first.
    #[serde(default = "default_fresh_secs")]
    pub fresh_secs: u64,
    /// Resources asked for per native list call of a pass.
    #[serde(default = "default_index_page_size")]
    pub page_size: usize,
    /// The background pass's budget: native list calls per second.
    #[serde(default = "default_pages_per_sec")]
    pub pages_per_sec: u32,
}

impl Default for IndexConfig {
    /// Nothing indexed, the passes' defaults.
    fn default() -> Self {
        Self {
            users: None,
            groups: None,
            fresh_secs: default_fresh_secs(),
            page_size: default_index_page_size(),
            pages_per_sec: default_pages_per_sec(),
        }
    }
}

fn default_fresh_secs() -> u64 {
    900
}

fn default_index_page_size() -> usize {
    500
}

fn default_pages_per_sec() -> u32 {
    10
}

/// What the tenant's target stores beyond the core schemas, for `/Schemas` and
/// `/ResourceTypes` to tell clients the truth.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantSchema {
    /// Extension schemas of User (e.g. the enterprise extension) the adapter maps.
    #[serde(default)]
    pub user_extensions: Vec<String>,
    #[serde(default)]
    pub group_extensions: Vec<String>,
    /// Attributes the target requires beyond `userName` (`name.givenName`,
    /// `urn:…:User:department`), marked required in `/Schemas`.
    #[serde(default)]
    pub required: Vec<String>,
    /// Extension schemas the gateway has no definition of.
    #[serde(default)]
    pub custom: Vec<CustomSchemaConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomSchemaConfig {
    pub urn: String,
    pub name: String,
    /// Attribute names; each a single-valued string.
    pub attributes: Vec<String>,
}

/// A tenant's own protection; absent values mean no limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    /// Sustained requests per second (token bucket).
    pub requests_per_second: Option<u32>,
    /// Bucket size: requests allowed at once after a quiet spell (default: the rate).
    pub burst: Option<u32>,
    /// Requests of this tenant in flight at once.
    pub max_concurrent: Option<usize>,
}

/// How SCIM clients prove they may call a tenant: any of the ways configured opens it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantAuth {
    /// Accepted bearer tokens as `sha256:<hex>` hashes (`scimitar token` makes them).
    #[serde(default)]
    pub token_hashes: Vec<TokenHash>,
    /// Entra's own JWT, which Entra sends when the Secret Token field is left blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra: Option<EntraAuth>,
    /// An OAuth 2.0 token endpoint (`<base path>/oauth/token`, client credentials grant)
    /// whose access tokens then open the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_credentials: Option<ClientCredentialsAuth>,
}

/// The audience of the tokens Entra's provisioning service sends (its first-party app id).
pub const ENTRA_PROVISIONING_AUDIENCE: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";

/// `[tenants.auth.entra]`: which Entra tenant's tokens open this tenant, and where its
/// signing keys are published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EntraAuth {
    /// The Entra directory (tenant) id: tokens must be issued by
    /// `https://sts.windows.net/<tenant_id>/`.
    pub tenant_id: String,
    /// The JWKS to verify signatures with (default: Entra's, for this tenant id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// A JWKS file instead of a URL (relative to the config file); reread on an unknown key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<PathBuf>,
    /// The audience tokens must name (default: Entra's provisioning service).
    #[serde(default = "default_entra_audience")]
    pub audience: String,
    /// When set, tokens must be for this application (`appid` or `azp` claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
    /// A token naming a key the gateway does not know makes it fetch the keys again, at
    /// most once in this many seconds.
    #[serde(default = "default_key_refresh_secs")]
    pub min_key_refresh_secs: u64,
}

impl EntraAuth {
    /// The issuer Entra's tokens for this tenant carry.
    pub fn issuer(&self) -> String {
        format!("https://sts.windows.net/{}/", self.tenant_id)
    }

    /// Where the signing keys come from.
    pub fn key_source(&self) -> KeySource {
        match (&self.jwks_file, &self.jwks_url) {
            (Some(file), _) => KeySource::File(file.clone()),
            (None, Some(url)) => KeySource::Url(url.clone()),
            (None, None) => KeySource::Url(format!(
                "https://login.microsoftonline.com/{}/discovery/keys",
                self.tenant_id
            )),
        }
    }
}

/// Where a JWKS is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Url(String),
    File(PathBuf),
}

fn default_entra_audience() -> String {
    ENTRA_PROVISIONING_AUDIENCE.to_string()
}

fn default_leeway_secs() -> u64 {
    60
}

fn default_key_refresh_secs() -> u64 {
    60
}

/// `[tenants.auth.client_credentials]`: the client allowed to get access tokens from the
/// tenant's token endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsAuth {
    pub client_id: String,
    /// The client's secrets as `sha256:<hex>` hashes (several: rotation).
    pub client_secret_hashes: Vec<TokenHash>,
    /// How long an access token it issues is valid.
    #[serde(default = "default_access_token_secs")]
    pub token_lifetime_secs: u64,
}

fn default_access_token_secs() -> u64 {
    3600
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Base URL that relative paths in scripts are joined to (translate mode), or the
    /// target's SCIM base URL (proxy mode).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Proxy mode: several addresses of the same SCIM service (same scheme and path),
    /// health-checked, with failover. Instead of `base_url`.
    #[serde(default)]
    pub base_urls: Vec<String>,
    /// Proxy mode: seconds between health checks of each address.
    #[serde(default = "default_health_check_secs")]
    pub health_check_secs: u64,
    /// Hosts scripts may reach besides the base URL's: `host:port`, or `host` for any port.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default = "default_upstream_timeout")]
    pub timeout_secs: u64,
    /// Retries of idempotent calls (GET, PUT, DELETE) on 5xx, 429 and connection errors.
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default)]
    pub auth: Option<UpstreamAuth>,
    /// The largest answer taken from the target (translate mode: each call; proxy mode: the
    /// response body); past it the request fails with a SCIM 502.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

impl Default for UpstreamConfig {
    /// No address yet, the defaults of every setting.
    fn default() -> Self {
        Self {
            base_url: None,
            base_urls: Vec::new(),
            health_check_secs: default_health_check_secs(),
            allowed_hosts: Vec::new(),
            timeout_secs: default_upstream_timeout(),
            retries: default_retries(),
            auth: None,
            max_response_bytes: default_max_response_bytes(),
        }
    }
}

fn default_max_response_bytes() -> usize {
    // A native page of 50,000 users fits (the directory index reads such pages).
    64 * 1024 * 1024
}

fn default_health_check_secs() -> u64 {
    5
}

fn default_upstream_timeout() -> u64 {
    15
}

fn default_retries() -> u32 {
    2
}

/// How the gateway authenticates to the target application: as configured, with its secrets
/// as references (`S = SecretRef`), and as used, with them read (`UpstreamAuth<Secret>`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum UpstreamAuth<S = SecretRef> {
    /// OAuth2 client credentials; the token is cached until shortly before it expires.
    Oauth2ClientCredentials {
        /// Absolute, or relative to the base URL.
        token_url: String,
        client_id: S,
        client_secret: S,
        #[serde(default)]
        scope: Option<String>,
        /// How the token request is encoded: `form` (RFC 6749) or `json`.
        #[serde(default)]
        encoding: TokenEncoding,
    },
    /// A static header, e.g. `Authorization: Token <key>` or `x-auth-apikey: <key>`.
    Header {
        name: String,
        /// Prefix before the secret, e.g. `"Token "`.
        #[serde(default)]
        prefix: String,
        value: S,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenEncoding {
    #[default]
    Form,
    Json,
}

impl Config {
    /// Reads, parses and resolves a config file. Errors name the file and, for syntax
    /// errors, the line and column.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!("{}: {}", path.display(), describe_toml_error(&text, &e))
        })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config
            .validate()
            .with_context(|| format!("{}: invalid configuration", path.display()))?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        if let Some(ca) = self
            .server
            .upstream_ca_file
            .as_mut()
            .filter(|p| p.is_relative())
        {
            *ca = base.join(&*ca);
        }
        let server = &mut self.server;
        for tls in server.tls.iter_mut().chain(server.admin_tls.iter_mut()) {
            for file in [&mut tls.cert_file, &mut tls.key_file] {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
            }
        }
        for tenant in &mut self.tenants {
            if let Some(script) = tenant.script.as_mut().filter(|s| s.is_relative()) {
                *script = base.join(&*script);
            }
            if let Some(auth) = &mut tenant.upstream.auth {
                auth.resolve_against(base);
            }
            if let Some(file) = tenant
                .auth
                .entra
                .as_mut()
                .and_then(|entra| entra.jwks_file.as_mut())
                .filter(|f| f.is_relative())
            {
                *file = base.join(&*file);
            }
        }
        self.store.url.resolve_against(base);
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for tenant in &self.tenants {
            if !names.insert(tenant.name.as_str()) {
                bail!("tenant name {:?} is used twice", tenant.name);
            }
            tenant
                .auth
                .validate()
                .with_context(|| format!("tenant {}: auth", tenant.name))?;
            if tenant.mode == Mode::Translate && tenant.script.is_none() {
                bail!("tenant {}: translate mode needs a script", tenant.name);
            }
            let urls = tenant.upstream.urls();
            match (tenant.mode, urls.len()) {
                (_, 0) => bail!(
                    "tenant {}: upstream needs base_url (or base_urls)",
                    tenant.name
                ),
                (Mode::Translate, n) if n > 1 => {
                    bail!(
                        "tenant {}: base_urls (several addresses) is for proxy mode",
                        tenant.name
                    )
                }
                _ => {}
            }
            for url in urls {
                url::Url::parse(url)
                    .with_context(|| format!("tenant {}: upstream URL {url:?}", tenant.name))?;
            }
        }
        if self.limits.request_timeout_secs == 0 || self.limits.request_timeout_secs >= 60 {
            bail!("limits.request_timeout_secs must be between 1 and 59 (Entra gives up at 60 s)");
        }
        Ok(())
    }

    /// The adapter settings of a tenant, as JSON (the form scripts receive them in).
    pub fn settings_json(settings: &toml::Table) -> serde_json::Value {
        serde_json::to_value(settings).unwrap_or(serde_json::Value::Null)
    }
}

impl TenantAuth {
    fn validate(&self) -> anyhow::Result<()> {
        if self.token_hashes.is_empty() && self.entra.is_none() && self.client_credentials.is_none()
        {
            bail!("no way in: set token_hashes, [entra] or [client_credentials], or nobody could call it");
        }
        if let Some(entra) = &self.entra {
            let id = &entra.tenant_id;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                bail!("entra.tenant_id {id:?} is not an Entra tenant id (a GUID, as in the Entra admin center's Overview)");
            }
            if entra.jwks_url.is_some() && entra.jwks_file.is_some() {
                bail!("entra: jwks_url and jwks_file both set; keep one");
            }
            if let Some(url) = &entra.jwks_url {
                url::Url::parse(url).with_context(|| format!("entra.jwks_url {url:?}"))?;
            }
            if entra.min_key_refresh_secs == 0 {
                bail!("entra.min_key_refresh_secs must be at least 1 (it bounds key fetches a stranger's tokens can cause)");
            }
        }
        if let Some(client) = &self.client_credentials {
            if client.client_id.is_empty() {
                bail!("client_credentials.client_id is empty");
            }
            if client.client_secret_hashes.is_empty() {
                bail!(
                    "client_credentials.client_secret_hashes is empty: no client could get a token"
                );
            }
            if !(60..=86_400).contains(&client.token_lifetime_secs) {
                bail!("client_credentials.token_lifetime_secs must be between 60 and 86400");
            }
        }
        Ok(())
    }
}

impl UpstreamConfig {
    /// Every configured address: `base_url` first, then `base_urls`.
    pub fn urls(&self) -> Vec<&str> {
        self.base_url
            .iter()
            .chain(&self.base_urls)
            .map(String::as_str)
            .collect()
    }
}

impl UpstreamAuth<SecretRef> {
    fn resolve_against(&mut self, base: &Path) {
        match self {
            UpstreamAuth::Oauth2ClientCredentials {
                client_id,
                client_secret,
                ..
            } => {
                client_id.resolve_against(base);
                client_secret.resolve_against(base);
            }
            UpstreamAuth::Header { value, .. } => value.resolve_against(base),
        }
    }

    /// The same with every secret read from where it is kept, now.
    pub fn read(&self) -> anyhow::Result<UpstreamAuth<Secret>> {
        Ok(match self {
            UpstreamAuth::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                encoding,
            } => UpstreamAuth::Oauth2ClientCredentials {
                token_url: token_url.clone(),
                client_id: client_id.read().context("client_id")?,
                client_secret: client_secret.read().context("client_secret")?,
                scope: scope.clone(),
                encoding: *encoding,
            },
            UpstreamAuth::Header {
                name,
                prefix,
                value,
            } => UpstreamAuth::Header {
                name: name.clone(),
                prefix: prefix.clone(),
                value: value.read().context("value")?,
            },
        })
    }
}

/// toml's own message plus the 1-based line and column of the error.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {}", error.message())
        }
        None => error.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config written out as TOML reads back as the same config: tests and the demo build
    /// configs as values and write them with serde.
    #[test]
    fn every_bundled_config_reads_back_as_written() {
        let adapters = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters");
        for file in std::fs::read_dir(&adapters).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let config = Config::load(&path).unwrap();
            let written = toml::to_string(&config).unwrap();
            let read: Config = toml::from_str(&written).unwrap();
            assert_eq!(read.tenants, config.tenants, "{}", path.display());
            assert_eq!(read.server.listen, config.server.listen);
            assert_eq!(read.store.url, config.store.url);
            assert!(!read.tenants.is_empty(), "{}", path.display());
        }
    }
}
