//! The gateway under test: a `scimitar serve` child process on a config written for it.

use super::*;

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
    /// More keys of the tenant's own table (e.g. `route_values = {...}`, or dotted
    /// `auth.entra = {...}` beside the `auth.token_hashes` the harness writes).
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

/// The modules the bundled adapters import (`import "common" as common;`).
const SHARED_MODULES: &[&str] = &["common.rhai"];

/// Copies the bundled adapter `file` (e.g. `"meta-networks.rhai"`) into `folder`, with the
/// modules the bundled adapters import, and answers the copy's path.
pub fn copy_bundled_adapter(file: &str, folder: &Path) -> PathBuf {
    for module in SHARED_MODULES {
        std::fs::copy(
            repo_path(&format!("adapters/{module}")),
            folder.join(module),
        )
        .unwrap();
    }
    let copy = folder.join(file);
    std::fs::copy(repo_path(&format!("adapters/{file}")), &copy).unwrap();
    copy
}

/// A suffix no earlier run used, for names in a shared store.
pub fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
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
             auth.token_hashes = [\"{}\"]\n\n[tenants.upstream]\n{}\n[tenants.settings]\n{}\n\n",
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

pub async fn start_gateway_config(
    tenants_toml: &str,
    server_toml: &str,
    extra_toml: &str,
) -> Gateway {
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
        std::fs::write(&config, &toml).unwrap();
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
        let (scheme, admin_scheme) = listener_schemes(&toml);
        let mut gateway = Gateway {
            child,
            url: format!("{scheme}://127.0.0.1:{port}"),
            admin_url: format!("{admin_scheme}://127.0.0.1:{admin_port}"),
            dir,
        };
        let health = format!("{}/healthz", gateway.admin_url);
        // Only whether it is up: tests that use TLS verify the certificates themselves.
        let client = Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
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

/// `http` or `https` for the SCIM and the admin listener of a config.
fn listener_schemes(config: &str) -> (&'static str, &'static str) {
    let config: toml::Table = config.parse().expect("the test config is TOML");
    let has = |key: &str| config.get("server").and_then(|s| s.get(key)).is_some();
    let scheme = |tls: bool| if tls { "https" } else { "http" };
    (scheme(has("tls")), scheme(has("admin_tls")))
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
