//! The targets: in-process testbeds, and setups of a gateway tenant in front of each.

use super::*;

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
    meta_setup_adjusted(options, tenant_toml, |_| {}, server_toml, extra_toml).await
}

/// The same with the tenant's spec changed by `adjust` first (e.g. keys of its own section).
pub async fn meta_setup_adjusted(
    options: meta_networks::Options,
    tenant_toml: &str,
    adjust: impl FnOnce(&mut TenantSpec),
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
    let mut spec = meta_spec("meta", "", &testbed, &secrets, &idp_id, tenant_toml);
    adjust(&mut spec);
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

/// An Acme HR testbed (the README walk-through's application) and a gateway with the
/// walk-through's tenant (at `/acme-hr`) in front of it.
pub async fn acme_hr_setup() -> Setup {
    let options = acme_hr::Options::default();
    let secrets = SecretFiles::new(&[("key", &options.api_key)]);
    let testbed = acme_hr::start(SocketAddr::from(([127, 0, 0, 1], 0)), options)
        .await
        .unwrap();
    let spec = TenantSpec {
        tenant_toml: String::new(),
        name: "acme-hr".into(),
        route: "/acme-hr".into(),
        script: repo_path("adapters/acme-hr.rhai"),
        token: new_token().0,
        upstream_toml: format!(
            "base_url = \"{}/\"\ntimeout_secs = 3\n[tenants.upstream.auth]\nkind = \"header\"\n\
             name = \"X-Api-Key\"\nvalue = {}\n",
            testbed.url,
            secrets.toml("key")
        ),
        settings_toml: String::new(),
    };
    serve_tenant(testbed, spec, "/acme-hr", secrets, "").await
}

/// The PostgreSQL server the store tests use (`SCIMITAR_TEST_POSTGRES`, else this machine's).
pub fn test_postgres_url() -> String {
    std::env::var("SCIMITAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// An MX3 testbed and a translate tenant `name` at `/mx3` for its first organisation (its
/// API key in the returned secrets), `tenant_toml` continuing the tenant's section.
pub async fn mx3_tenant(
    name: &str,
    token: &str,
    tenant_toml: &str,
) -> (Testbed, SecretFiles, TenantSpec) {
    let options = mx3::Options::default();
    let testbed = mx3::start(SocketAddr::from(([127, 0, 0, 1], 0)), options.clone())
        .await
        .unwrap();
    let secrets = SecretFiles::new(&[("key", &options.organisations[0].api_key)]);
    let spec = TenantSpec {
        tenant_toml: tenant_toml.to_string(),
        name: name.to_string(),
        route: "/mx3".into(),
        script: repo_path("adapters/mx3.rhai"),
        token: token.to_string(),
        upstream_toml: api_key_upstream(&testbed, "Authorization", "Token ", secrets.toml("key")),
        settings_toml: mx3_tables(),
    };
    (testbed, secrets, spec)
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
            settings_toml: mx3_tables(),
        })
        .collect();
    let other_token = specs[1].token.clone();
    let setup = serve_tenants(testbed, specs, "/mx3", secrets, "").await;
    Mx3Setup { setup, other_token }
}

/// `[tenants.index]` with `body`, to follow a tenant's `[tenants.settings]` (the bundled
/// adapters' example configs say which each target needs).
pub fn index_toml(body: &str) -> String {
    format!("\n[tenants.index]\n{body}\n")
}

/// What `adapters/mx3.toml` gives each MX3 tenant: its index, and the groups' externalId
/// kept by the gateway (MX3 has no groups).
pub fn mx3_tables() -> String {
    let index = index_toml("users = [\"userName\", \"externalId\"]\npage_size = 50000");
    format!("{index}\n[tenants.keep]\ngroups = [\"externalId\"]\n")
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
