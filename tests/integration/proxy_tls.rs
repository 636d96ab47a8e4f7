//! Proxy mode to an HTTPS target: pingora speaks TLS (rustls) to it, verifies its
//! certificate against the configured CA bundle, and refuses one it cannot verify.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Upstream(Child);

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_upstream(
    port: u16,
    cert: &std::path::Path,
    key: &std::path::Path,
    token: &str,
) -> Upstream {
    let mut child = Command::new("python3")
        .arg(repo_path("tests/scripts/https_upstream.py"))
        .arg(port.to_string())
        .arg(cert)
        .arg(key)
        .arg(token)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    Upstream(child)
}

async fn gateway(
    port: u16,
    upstream_token: &str,
    dir: &std::path::Path,
    ca: Option<&std::path::Path>,
) -> (Gateway, String) {
    std::fs::write(dir.join("upstream-token"), upstream_token).unwrap();
    let (token, hash) = new_token();
    let tenant = format!(
        "[[tenants]]\nname = \"tls\"\ntarget = \"https\"\nmode = \"proxy\"\nroute = \"/tls\"\n\
         auth = {{ token_hashes = [\"{hash}\"] }}\n[tenants.upstream]\nbase_url = \"https://localhost:{port}\"\n\
         [tenants.upstream.auth]\nkind = \"header\"\nname = \"Authorization\"\nprefix = \"Bearer \"\n\
         value = {{ file = \"{}\" }}\n",
        dir.join("upstream-token").display()
    );
    let server = match ca {
        Some(ca) => format!("upstream_ca_file = \"{}\"\n", ca.display()),
        None => String::new(),
    };
    (
        start_gateway_toml_with_server(&tenant, &server).await,
        token,
    )
}

#[tokio::test]
async fn https_targets_are_verified_against_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let test_ca = TestCa::new(dir.path(), "test");
    let (cert, key) = test_ca.issue("localhost");
    let ca = test_ca.certificate();
    let port = free_port();
    let (upstream_token, _) = new_token();
    let _upstream = start_upstream(port, &cert, &key, &upstream_token);
    let client = reqwest::Client::new();

    let (trusting, token) = gateway(port, &upstream_token, dir.path(), Some(&ca)).await;
    let response = client
        .get(format!("{}/tls/Users", trusting.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}\n{}", trusting.log());
    assert_eq!(body["servedOverTls"], true);

    // Without the CA, the self-signed certificate is refused: no request reaches the target.
    let (doubting, token) = gateway(port, &upstream_token, dir.path(), None).await;
    let response = client
        .get(format!("{}/tls/Users", doubting.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert!(status.is_server_error(), "{status} {body}");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}
