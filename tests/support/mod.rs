//! Test harness: real testbeds in-process, the real `scimitar` binary as a child process,
//! a real HTTP client in between. Everything on loopback, every token generated per run.
#![allow(dead_code)] // each test file uses a different part of the harness

use reqwest::{Client, Method, Response, StatusCode};
use scimitar_testbeds::{maptician, mediusflow, meta_networks, mx3, rhombus, Testbed};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SCIM_JSON: &str = "application/scim+json";

/// A running gateway process and what a test needs to talk to it.
pub struct Gateway {
    child: Child,
    pub url: String,
    pub admin_url: String,
    pub dir: tempfile::TempDir,
}

impl Gateway {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("scimitar.toml")
    }

    /// Everything the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    /// The admin listener's `/metrics` text now.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.admin_url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `scimitar_rejected_requests_total` of `tenant` for `reason` now (0 when never counted).
    pub async fn rejected(&self, tenant: &str, reason: &str) -> u64 {
        let series =
            format!("scimitar_rejected_requests_total{{reason=\"{reason}\",tenant=\"{tenant}\"}} ");
        self.metrics()
            .await
            .lines()
            .find_map(|line| line.strip_prefix(&series)?.parse().ok())
            .unwrap_or(0)
    }
}

impl Gateway {
    /// Waits up to `limit` for the process to exit; true when it did.
    pub fn wait_for_exit(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tenant of a test config.
pub struct TenantSpec {
    pub name: String,
    pub route: String,
    /// More keys of the tenant's own table (e.g. `route_values = {...}`).
    pub tenant_toml: String,
    pub script: PathBuf,
    pub token: String,
    pub upstream_toml: String,
    pub settings_toml: String,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn new_token() -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scimitar"))
        .arg("token")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap()
    };
    (field("token:"), field("hash:"))
}

/// Writes a config for `tenants` and starts `scimitar serve` on free ports.
pub async fn start_gateway(tenants: &[TenantSpec], extra_toml: &str) -> Gateway {
    start_gateway_toml(&tenants_toml(tenants), extra_toml).await
}

/// The `[[tenants]]` sections of translate-mode tenants.
pub fn tenants_toml(tenants: &[TenantSpec]) -> String {
    let mut toml = String::new();
    for t in tenants {
        toml.push_str(&format!(
            "[[tenants]]\nname = \"{}\"\ntarget = \"{}\"\nmode = \"translate\"\nroute = \"{}\"\n{}\nscript = \"{}\"\n\
             auth = {{ token_hashes = [\"{}\"] }}\n\n[tenants.upstream]\n{}\n[tenants.settings]\n{}\n\n",
            t.name,
            t.name,
            t.route,
            t.tenant_toml,
            t.script.display(),
            hash_of(&t.token),
            t.upstream_toml,
            t.settings_toml
        ));
    }
    toml
}

/// Starts `scimitar serve` on free ports with tenant sections written by the caller
/// (`extra_toml` may hold `[limits]` and the like).
pub async fn start_gateway_toml(tenants_toml: &str, extra_toml: &str) -> Gateway {
    start_gateway_config(tenants_toml, "", extra_toml).await
}

/// The same, with more `[server]` settings.
pub async fn start_gateway_toml_with_server(tenants_toml: &str, server_toml: &str) -> Gateway {
    start_gateway_config(tenants_toml, server_toml, "").await
}

async fn start_gateway_config(tenants_toml: &str, server_toml: &str, extra_toml: &str) -> Gateway {
    start_gateway_on_store(tenants_toml, server_toml, "sqlite://state.db", extra_toml).await
}

/// Starts `scimitar serve` with its state in the store at `store_url` (several gateways on
/// one PostgreSQL store are replicas of one deployment).
pub async fn start_gateway_on_store(
    tenants_toml: &str,
    server_toml: &str,
    store_url: &str,
    extra_toml: &str,
) -> Gateway {
    let mut dir = tempfile::tempdir().unwrap();
    // A port found free may be taken by another test before the gateway binds it: then the
    // gateway exits at once, and it starts again on other ports.
    for _attempt in 0..5 {
        let port = free_port();
        let admin_port = free_port();
        let toml = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin_port}\"\nthreads = 2\n{server_toml}\n\
             [store]\nurl = \"{store_url}\"\n\n{extra_toml}\n{tenants_toml}"
        );
        let config = dir.path().join("scimitar.toml");
        std::fs::write(&config, toml).unwrap();
        // The gateway's log goes to a file the tests can read (e.g. to prove no secret is in it).
        let log_path = dir.path().join("gateway.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_scimitar"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut gateway = Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            admin_url: format!("http://127.0.0.1:{admin_port}"),
            dir,
        };
        let health = format!("{}/healthz", gateway.admin_url);
        let client = Client::new();
        let started = Instant::now();
        let mut exited = false;
        while started.elapsed() < Duration::from_secs(60) {
            if client
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                wait_until_listening(port).await;
                return gateway;
            }
            if gateway.child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if exited && log.contains("in use") {
            dir = std::mem::replace(&mut gateway.dir, tempfile::tempdir().unwrap());
            continue;
        }
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!(
            "the gateway {} (its log, last lines first):\n{}",
            if exited {
                "exited at start"
            } else {
                "did not come up within 60 s"
            },
            tail.join("\n")
        );
    }
    panic!("the gateway found no free ports in five tries");
}

/// pingora binds the SCIM listener a moment after the admin one may already answer.
async fn wait_until_listening(port: u16) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "port {port} never accepted a connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn hash_of(token: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    )
}

/// A testbed and a gateway with one translate-mode tenant in front of it, with a client that
/// calls the tenant as Entra does and reads the testbed's native state.
pub struct Setup {
    pub testbed: Testbed,
    pub gateway: Gateway,
    /// The tenant's SCIM base URL, as Entra's Tenant URL.
    pub scim: String,
    pub token: String,
    pub client: Client,
    /// The upstream secret files: kept, since a reload reads them again.
    _secrets: tempfile::TempDir,
}

/// Upstream secrets written to files (the gateway's `{ file = ... }` secrets), one per
/// `(name, value)`; the folder lives as long as the [`Setup`] that gets it.
pub struct SecretFiles(tempfile::TempDir);

impl SecretFiles {
    pub fn new(secrets: &[(&str, &str)]) -> SecretFiles {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in secrets {
            std::fs::write(dir.path().join(name), value).unwrap();
        }
        SecretFiles(dir)
    }

    /// `{ file = "<path>" }`, for the tenant's upstream TOML.
    pub fn toml(&self, name: &str) -> String {
        format!("{{ file = \"{}\" }}", self.0.path().join(name).display())
    }
}

/// Starts the gateway with `tenant` (whose calls go to `testbed`); `scim_path` is the tenant's
/// concrete base path (its route with any parameters filled in).
pub async fn serve_tenant(
    testbed: Testbed,
    tenant: TenantSpec,
    scim_path: &str,
    secrets: SecretFiles,
    extra_toml: &str,
) -> Setup {
    serve_tenants(testbed, vec![tenant], scim_path, secrets, extra_toml).await
}

/// Like [`serve_tenant`] with several tenants on one gateway (e.g. one per organisation,
/// sharing a route); the [`Setup`] calls the first, [`Setup::send_as`] any by its token.
pub async fn serve_tenants(
    testbed: Testbed,
    tenants: Vec<TenantSpec>,
    scim_path: &str,
    secrets: SecretFiles,
    extra_toml: &str,
) -> Setup {
    serve_tenants_with_server(testbed, tenants, scim_path, secrets, "", extra_toml).await
}

/// The same with more `[server]` settings.
pub async fn serve_tenants_with_server(
    testbed: Testbed,
    tenants: Vec<TenantSpec>,
    scim_path: &str,
    secrets: SecretFiles,
    server_toml: &str,
    extra_toml: &str,
) -> Setup {
    let seed = SEED.try_with(Clone::clone).ok().flatten();
    if let Some(seed) = seed {
        seed_testbed(&testbed, &seed).await;
    }
    let gateway = start_gateway_config(&tenants_toml(&tenants), server_toml, extra_toml).await;
    let first = tenants.into_iter().next().expect("at least one tenant");
    Setup::from_parts(testbed, gateway, scim_path, &first.token, secrets)
}

tokio::task_local! {
    /// Accounts the next setup's testbed gets before its gateway starts (see [`seeded`]).
    static SEED: Option<String>;
}

/// Runs `setup` with its testbed seeded (`POST /_testbed/seed` with `seed`) before the
/// gateway starts: a directory that existed before Entra, as in every real customer's.
pub async fn seeded<F: std::future::Future>(seed: &str, setup: F) -> F::Output {
    SEED.scope(Some(seed.to_string()), setup).await
}

/// A testbed's whole native state (`GET /_testbed/state`).
pub async fn testbed_state(testbed: &Testbed) -> Value {
    Client::new()
        .get(format!("{}/_testbed/state", testbed.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Queues a fault on the testbed (see `POST /_testbed/faults`).
pub async fn inject_fault(testbed: &Testbed, fault: Value) {
    let status = Client::new()
        .post(format!("{}/_testbed/faults", testbed.url))
        .json(&fault)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "fault injection failed: {status}");
}

/// The native requests a testbed has served so far.
pub async fn native_requests(testbed: &Testbed) -> u64 {
    let counts: Value = Client::new()
        .get(format!("{}/_testbed/requests", testbed.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counts["total"].as_u64().unwrap()
}

pub async fn seed_testbed(testbed: &Testbed, seed: &str) {
    let answer = Client::new()
        .post(format!("{}/_testbed/seed", testbed.url))
        .body(seed.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "seeding failed: {}",
        answer.status()
    );
}

impl Setup {
    /// A setup over a gateway started by the caller, calling it at `scim_path` with `token`.
    pub fn from_parts(
        testbed: Testbed,
        gateway: Gateway,
        scim_path: &str,
        token: &str,
        secrets: SecretFiles,
    ) -> Setup {
        Setup {
            scim: format!("{}{scim_path}", gateway.url),
            token: token.to_string(),
            testbed,
            gateway,
            client: Client::new(),
            _secrets: secrets.0,
        }
    }
}

impl Setup {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send_as(&self.token, method, path, body).await
    }

    /// A call with another tenant's token, to the same SCIM URL.
    pub async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.scim))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", SCIM_JSON)
                .body(body.to_string());
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    /// Sends every request at once (as Entra's parallel workers do) and answers in order.
    pub async fn send_parallel(
        &self,
        requests: Vec<(Method, String, Option<Value>)>,
    ) -> Vec<(StatusCode, Value)> {
        let urls = std::iter::repeat(self.scim.clone());
        send_all(&self.client, &self.token, urls.zip(requests).collect()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, None).await
    }

    /// The testbed's whole native state.
    pub async fn state(&self) -> Value {
        testbed_state(&self.testbed).await
    }

    /// The first object of the state's `collection` whose `field` is `value`.
    pub async fn native(&self, collection: &str, field: &str, value: &str) -> Option<Value> {
        let state = self.state().await;
        state[collection]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item[field] == value)
            .cloned()
    }

    pub async fn inject_fault(&self, fault: Value) {
        inject_fault(&self.testbed, fault).await;
    }

    pub async fn clear_faults(&self) {
        let status = self
            .client
            .delete(format!("{}/_testbed/faults", self.testbed.url))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "clearing faults failed: {status}");
    }
}

/// A Meta Networks testbed and a gateway with one Meta Networks tenant in front of it.
pub struct MetaSetup {
    setup: Setup,
    pub idp_id: String,
}

impl std::ops::Deref for MetaSetup {
    type Target = Setup;

    fn deref(&self) -> &Setup {
        &self.setup
    }
}

pub async fn meta_setup() -> MetaSetup {
    meta_setup_with("").await
}

pub async fn meta_setup_with(extra_toml: &str) -> MetaSetup {
    meta_setup_full("", "", extra_toml).await
}

/// A Meta Networks setup with more tenant settings (`tenant_toml` continues the tenant's
/// section: e.g. a `[tenants.limits]` table), `[server]` settings and top-level tables.
pub async fn meta_setup_full(tenant_toml: &str, server_toml: &str, extra_toml: &str) -> MetaSetup {
    meta_setup_options(
        meta_networks::Options::default(),
        tenant_toml,
        server_toml,
        extra_toml,
    )
    .await
}

/// The same with the testbed configured by `options`.
pub async fn meta_setup_options(
    options: meta_networks::Options,
    tenant_toml: &str,
    server_toml: &str,
    extra_toml: &str,
) -> MetaSetup {
    let idp_id = options.idp_ids[0].clone();
    let secrets = SecretFiles::new(&[
        ("id", &options.client_id),
        ("secret", &options.client_secret),
    ]);
    let testbed = meta_networks::start(SocketAddr::from(([127, 0, 0, 1], 0)), options)
        .await
        .unwrap();
    let spec = meta_spec("meta", "", &testbed, &secrets, &idp_id, tenant_toml);
    let path = format!("/v1/scim/{idp_id}");
    let setup =
        serve_tenants_with_server(testbed, vec![spec], &path, secrets, server_toml, extra_toml)
            .await;
    MetaSetup { setup, idp_id }
}

/// A Meta Networks translate tenant `name` at `{route_prefix}/v1/scim/{idp_id}` in front of
/// `testbed`, its OAuth client in `secrets` (`id`, `secret`); `tenant_toml` continues its
/// settings table.
pub fn meta_spec(
    name: &str,
    route_prefix: &str,
    testbed: &Testbed,
    secrets: &SecretFiles,
    idp_id: &str,
    tenant_toml: &str,
) -> TenantSpec {
    TenantSpec {
        name: name.into(),
        route: format!("{route_prefix}/v1/scim/{{idp_id}}"),
        tenant_toml: format!("route_values = {{ idp_id = [\"{idp_id}\"] }}"),
        script: repo_path("adapters/meta-networks.rhai"),
        token: new_token().0,
        upstream_toml: format!(
            "base_url = \"{}\"\ntimeout_secs = 3\n[tenants.upstream.auth]\nkind = \"oauth2_client_credentials\"\n\
             token_url = \"/v1/oauth/token\"\nencoding = \"json\"\nclient_id = {}\nclient_secret = {}\n",
            testbed.url,
            secrets.toml("id"),
            secrets.toml("secret")
        ),
        settings_toml: format!(
            "default_region = \"US\"\n{}{tenant_toml}",
            index_toml("users = []\ngroups = []")
        ),
    }
}

impl MetaSetup {
    pub fn gateway_mut(&mut self) -> &mut Gateway {
        &mut self.setup.gateway
    }

    pub async fn native_user(&self, email: &str) -> Option<Value> {
        self.native("users", "email", email).await
    }

    pub async fn native_group(&self, name: &str) -> Option<Value> {
        self.native("groups", "name", name).await
    }
}

/// A MediusFlow testbed and a gateway with one MediusFlow tenant (at `/mediusflow`, users
/// created with the `Default` configuration unless they name one) in front of it.
pub async fn mediusflow_setup() -> Setup {
    let options = mediusflow::Options::default();
    let secrets = SecretFiles::new(&[
        ("id", &options.client_id),
        ("secret", &options.client_secret),
    ]);
    let tenant = options.tenant.clone();
    let testbed = mediusflow::start(SocketAddr::from(([127, 0, 0, 1], 0)), options)
        .await
        .unwrap();
    let spec = TenantSpec {
        tenant_toml: String::new(),
        name: "mediusflow".into(),
        route: "/mediusflow".into(),
        script: repo_path("adapters/mediusflow.rhai"),
        token: new_token().0,
        upstream_toml: format!(
            "base_url = \"{}/{tenant}/\"\ntimeout_secs = 3\n[tenants.upstream.auth]\n\
             kind = \"oauth2_client_credentials\"\ntoken_url = \"api/connect/token\"\nencoding = \"form\"\n\
             scope = \"Integration\"\nclient_id = {}\nclient_secret = {}\n",
            testbed.url,
            secrets.toml("id"),
            secrets.toml("secret")
        ),
        settings_toml: format!(
            "default_configuration = \"Default\"\n{}",
            index_toml(r#"users = ["externalId", "emails.value"]"#)
        ),
    };
    serve_tenant(testbed, spec, "/mediusflow", secrets, "").await
}

/// A Maptician testbed and a gateway with one Maptician tenant (at `/maptician`) in front of it.
pub async fn maptician_setup() -> Setup {
    let options = maptician::Options::default();
    let secrets = SecretFiles::new(&[("token", &options.api_token)]);
    let testbed = maptician::start(SocketAddr::from(([127, 0, 0, 1], 0)), options)
        .await
        .unwrap();
    let spec = maptician_spec(
        &testbed,
        &secrets,
        "maptician",
        r#"users = ["userName", "externalId", "emails.value"]"#,
    );
    serve_tenant(testbed, spec, "/maptician", secrets, "").await
}

/// A Maptician tenant `name` at `/maptician` over `testbed` (its API token in `secrets` as
/// `token`), with `index` as its `[tenants.index]`.
pub fn maptician_spec(
    testbed: &Testbed,
    secrets: &SecretFiles,
    name: &str,
    index: &str,
) -> TenantSpec {
    TenantSpec {
        tenant_toml: String::new(),
        name: name.into(),
        route: "/maptician".into(),
        script: repo_path("adapters/maptician.rhai"),
        token: new_token().0,
        upstream_toml: format!(
            "base_url = \"{}\"\ntimeout_secs = 3\n[tenants.upstream.auth]\nkind = \"header\"\n\
             name = \"Authorization\"\nprefix = \"Bearer \"\nvalue = {}\n",
            testbed.url,
            secrets.toml("token")
        ),
        settings_toml: index_toml(index),
    }
}

/// `[tenants.upstream]` for a target whose API key travels in one header (`prefix` + key),
/// `key` being the secret reference (`SecretFiles::toml`).
pub fn api_key_upstream(testbed: &Testbed, header: &str, prefix: &str, key: String) -> String {
    format!(
        "base_url = \"{}\"\ntimeout_secs = 3\n[tenants.upstream.auth]\nkind = \"header\"\n\
         name = \"{header}\"\nprefix = \"{prefix}\"\nvalue = {}\n",
        testbed.url, key
    )
}

/// A Rhombus testbed (configured by `options`) and a gateway with one Rhombus tenant (at
/// `/rhombus`) in front of it.
pub async fn rhombus_setup(options: rhombus::Options) -> Setup {
    let secrets = SecretFiles::new(&[("key", &options.api_key)]);
    let testbed = rhombus::start(SocketAddr::from(([127, 0, 0, 1], 0)), options)
        .await
        .unwrap();
    let spec = TenantSpec {
        tenant_toml: String::new(),
        name: "rhombus".into(),
        route: "/rhombus".into(),
        script: repo_path("adapters/rhombus.rhai"),
        token: new_token().0,
        upstream_toml: api_key_upstream(&testbed, "x-auth-apikey", "", secrets.toml("key")),
        settings_toml: index_toml("users = [\"userName\"]\npage_size = 50000"),
    };
    serve_tenant(testbed, spec, "/rhombus", secrets, "").await
}

/// An MX3 testbed with two organisations and a gateway with one tenant per organisation,
/// both at `/mx3`: [`Setup`] calls the first, `other_token` opens the second.
pub struct Mx3Setup {
    setup: Setup,
    pub other_token: String,
}

impl std::ops::Deref for Mx3Setup {
    type Target = Setup;

    fn deref(&self) -> &Setup {
        &self.setup
    }
}

pub async fn mx3_setup() -> Mx3Setup {
    let options = mx3::Options::default();
    let testbed = mx3::start(SocketAddr::from(([127, 0, 0, 1], 0)), options.clone())
        .await
        .unwrap();
    let names: Vec<String> = (0..options.organisations.len())
        .map(|i| format!("key{i}"))
        .collect();
    let keys: Vec<(&str, &str)> = names
        .iter()
        .zip(&options.organisations)
        .map(|(name, org)| (name.as_str(), org.api_key.as_str()))
        .collect();
    let secrets = SecretFiles::new(&keys);
    let specs: Vec<TenantSpec> = options
        .organisations
        .iter()
        .zip(&names)
        .map(|(org, key)| TenantSpec {
            tenant_toml: String::new(),
            name: format!("mx3-{}", org.name),
            route: "/mx3".into(),
            script: repo_path("adapters/mx3.rhai"),
            token: new_token().0,
            upstream_toml: api_key_upstream(&testbed, "Authorization", "Token ", secrets.toml(key)),
            settings_toml: mx3_index_toml(),
        })
        .collect();
    let other_token = specs[1].token.clone();
    let setup = serve_tenants(testbed, specs, "/mx3", secrets, "").await;
    Mx3Setup { setup, other_token }
}

/// Sends `(base URL, (method, path, body))` requests all at once with `token`, answering in
/// the order given.
pub async fn send_all(
    client: &Client,
    token: &str,
    requests: Vec<(String, (Method, String, Option<Value>))>,
) -> Vec<(StatusCode, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (base, (method, path, body))) in requests.into_iter().enumerate() {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", SCIM_JSON)
                .body(body.to_string());
        }
        tasks.spawn(async move { (index, read(request.send().await.unwrap()).await) });
    }
    let mut answers: Vec<_> = tasks.join_all().await;
    answers.sort_by_key(|(index, _)| *index);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

/// `[tenants.index]` with `body`, to follow a tenant's `[tenants.settings]` (the bundled
/// adapters' example configs say which each target needs).
pub fn index_toml(body: &str) -> String {
    format!("\n[tenants.index]\n{body}\n")
}

pub fn mx3_index_toml() -> String {
    index_toml("users = [\"userName\", \"externalId\"]\npage_size = 50000")
}

/// A SCIM PatchOp body with `operations`.
pub fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text }))
    };
    (status, body)
}

/// Asserts a SCIM error body with the given status (and scimType when given).
pub fn assert_scim_error(status: StatusCode, body: &Value, expected: u16, scim_type: Option<&str>) {
    assert_eq!(status.as_u16(), expected, "unexpected status, body: {body}");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "body: {body}"
    );
    assert_eq!(body["status"], expected.to_string(), "body: {body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "body: {body}");
    }
}

/// An Entra-shaped user, as sent on create.
pub fn entra_user(user_name: &str, given: &str, family: &str, phone: Option<&str>) -> Value {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": user_name.split('@').next().unwrap(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "meta": { "resourceType": "User" },
        "name": { "formatted": format!("{given} {family}"), "familyName": family, "givenName": given },
        "roles": []
    });
    if let Some(phone) = phone {
        user["phoneNumbers"] = json!([{ "type": "work", "value": phone }]);
    }
    user
}

/// A program from the test venv (`scripts/test` installs `tests/python-requirements.txt`
/// into `.venv`). Missing is a loud failure, never a skip.
pub fn python_tool(name: &str) -> PathBuf {
    let bin = std::env::var("SCIMITAR_PYTHON_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_path(".venv/bin"));
    let path = bin.join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which installs the Python test tools",
        path.display()
    );
    path
}

/// `scim2-server` (an independent SCIM server from PyPI) on a free loopback port.
pub struct Scim2Server {
    child: Child,
    pub url: String,
    pub port: u16,
    pub token: String,
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_scim2_server() -> Scim2Server {
    // A free port can be taken between picking it and binding it: try a few.
    for _ in 0..3 {
        if let Some(server) = try_start_scim2_server().await {
            return server;
        }
    }
    panic!("scim2-server did not start on three ports in a row");
}

async fn try_start_scim2_server() -> Option<Scim2Server> {
    let port = free_port();
    let (token, _) = new_token();
    let child = Command::new(python_tool("scim2-server"))
        .args([
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            &token,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Scim2Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        port,
        token,
    };
    let client = Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        let probe = client
            .get(format!("{}/ServiceProviderConfig", server.url))
            .bearer_auth(&server.token)
            .send()
            .await;
        if probe.is_ok_and(|r| r.status().is_success()) {
            return Some(server);
        }
        if let Ok(Some(_)) = server.child.try_wait() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scim2-server did not answer within 90 s");
}

/// Meta Networks' own SCIM endpoint behind a proxy-mode tenant at `/meta-scim`, with the
/// hooks of `adapters/meta-networks-scim.rhai`.
pub struct MetaScim {
    pub testbed: scimitar_testbeds::Testbed,
    pub gateway: Gateway,
    pub token: String,
    pub client: reqwest::Client,
    _secrets: tempfile::TempDir,
}

pub async fn meta_scim_setup() -> MetaScim {
    meta_scim_setup_with("", "").await
}

/// The same with more upstream settings (`upstream_toml`) and top-level tables.
pub async fn meta_scim_setup_with(upstream_toml: &str, extra_toml: &str) -> MetaScim {
    let options = scimitar_testbeds::meta_networks::Options::default();
    let idp_id = options.idp_ids[0].clone();
    let secrets = tempfile::tempdir().unwrap();
    std::fs::write(secrets.path().join("id"), &options.client_id).unwrap();
    std::fs::write(secrets.path().join("secret"), &options.client_secret).unwrap();
    let testbed = scimitar_testbeds::meta_networks::start(([127, 0, 0, 1], 0).into(), options)
        .await
        .unwrap();
    let (token, hash) = new_token();
    let tenant = format!(
        "[[tenants]]\nname = \"meta-scim\"\ntarget = \"meta-networks\"\nmode = \"proxy\"\nroute = \"/meta-scim\"\nscript = \"{}\"\n\
         auth = {{ token_hashes = [\"{hash}\"] }}\n[tenants.upstream]\nbase_url = \"{}\"\ntimeout_secs = 3\n{upstream_toml}\n\
         [tenants.upstream.auth]\nkind = \"oauth2_client_credentials\"\ntoken_url = \"/v1/oauth/token\"\nencoding = \"json\"\n\
         client_id = {{ file = \"{}\" }}\nclient_secret = {{ file = \"{}\" }}\n[tenants.settings]\nidp_id = \"{idp_id}\"\ndefault_region = \"US\"\n",
        repo_path("adapters/meta-networks-scim.rhai").display(),
        testbed.url,
        secrets.path().join("id").display(),
        secrets.path().join("secret").display()
    );
    let gateway = start_gateway_toml(&tenant, extra_toml).await;
    MetaScim {
        testbed,
        gateway,
        token,
        client: reqwest::Client::new(),
        _secrets: secrets,
    }
}

impl MetaScim {
    pub async fn inject_fault(&self, fault: Value) {
        inject_fault(&self.testbed, fault).await;
    }

    /// `POST /meta-scim{path}` with `body`, answering the response itself (headers and all).
    pub async fn post_response(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}/meta-scim{path}", self.gateway.url))
            .bearer_auth(&self.token)
            .header("content-type", SCIM_JSON)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/meta-scim{path}", self.gateway.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", SCIM_JSON)
                .body(body.to_string());
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn state(&self) -> Value {
        testbed_state(&self.testbed).await
    }

    pub async fn native_user(&self, email: &str) -> Value {
        let state = self.state().await;
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .cloned()
            .unwrap_or(Value::Null)
    }
}
