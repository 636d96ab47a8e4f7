//! TLS on the gateway's own listeners (`server.tls`, `server.admin_tls`): clients that trust
//! the certificate's CA connect (h2 offered by ALPN), plain HTTP is refused, and a rotated
//! certificate reaches new connections while open ones keep going; files that do not load
//! leave the certificate in use, and `scimitar check` names what is wrong with them.

use crate::support::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn trusting(ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

/// Replaces `to` with `from` in one step, as an ACME client does.
fn replace(from: &Path, to: &Path) {
    let staged = to.with_extension("new");
    std::fs::copy(from, &staged).unwrap();
    std::fs::rename(&staged, to).unwrap();
}

async fn text_of(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    response.text().await.unwrap()
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> reqwest::Result<u16> {
    let response = client.get(url).bearer_auth(token).send().await?;
    Ok(response.status().as_u16())
}

/// Polls until `done` (at most 30 s: the gateway looks at the files every 2 s).
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn tls_listeners_serve_verified_clients_and_take_a_rotated_certificate_live() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestCa::new(dir.path(), "first");
    let (cert, key) = first.issue("first-server");
    let (live_cert, live_key) = (
        dir.path().join("live-cert.pem"),
        dir.path().join("live-key.pem"),
    );
    replace(&cert, &live_cert);
    replace(&key, &live_key);
    let files = format!(
        "cert_file = \"{}\"\nkey_file = \"{}\"\n",
        live_cert.display(),
        live_key.display()
    );
    let server = format!("[server.tls]\n{files}[server.admin_tls]\n{files}");
    let meta = meta_setup_full("", &server, "").await;
    let spc = format!("{}/ServiceProviderConfig", meta.scim);
    assert!(spc.starts_with("https://"), "{spc}");

    // A client trusting the CA gets in, and the gateway names its URLs https.
    let old_client = trusting(&first.certificate());
    let answer = old_client
        .get(&spc)
        .bearer_auth(&meta.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        body["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:"),
        "{body}"
    );
    let metrics_url = format!("{}/metrics", meta.gateway.admin_url);
    let metrics = || text_of(&old_client, &metrics_url);
    assert!(
        metrics().await.contains("scimitar_build_info"),
        "the admin listener serves TLS too"
    );

    // h2 and HTTP/1.1 are offered by ALPN, and the chain verifies.
    let port = meta.gateway.url.rsplit(':').next().unwrap().to_string();
    let s_client = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-alpn",
            "h2,http/1.1",
        ])
        .arg("-CAfile")
        .arg(first.certificate())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&s_client.stdout);
    assert!(said.contains("ALPN protocol: h2"), "{said}");
    assert!(said.contains("Verify return code: 0 (ok)"), "{said}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = spc.replacen("https://", "http://", 1);
    assert!(
        get(&reqwest::Client::new(), &plain, &meta.token)
            .await
            .is_err(),
        "plain HTTP was answered on the TLS port"
    );

    // A broken file is not taken: the certificate in use stays, and the failure is counted.
    std::fs::write(&live_cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    let failed = "scimitar_tls_certificate_reloads_total{listener=\"scim\",result=\"failure\"} 1";
    eventually("a broken certificate file is counted", || async {
        metrics().await.contains(failed)
    })
    .await;
    assert_eq!(
        get(&trusting(&first.certificate()), &spc, &meta.token)
            .await
            .unwrap(),
        200
    );

    // Rotation to a certificate of another CA: new connections get it...
    let second = TestCa::new(dir.path(), "second");
    let (cert, key) = second.issue("second-server");
    replace(&key, &live_key);
    replace(&cert, &live_cert);
    let new_client_succeeds = || async {
        let fresh = trusting(&second.certificate());
        get(&fresh, &spc, &meta.token)
            .await
            .is_ok_and(|status| status == 200)
    };
    eventually("the rotated certificate is served", new_client_succeeds).await;
    assert!(
        get(&trusting(&first.certificate()), &spc, &meta.token)
            .await
            .is_err(),
        "a new connection still got the old certificate"
    );
    // ...while the connection opened before the rotation keeps going (a new one could not
    // verify with the old CA).
    assert_eq!(get(&old_client, &spc, &meta.token).await.unwrap(), 200);
    let metrics = text_of(&trusting(&second.certificate()), &metrics_url).await;
    assert!(
        metrics.contains(
            "scimitar_tls_certificate_reloads_total{listener=\"scim\",result=\"success\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn check_names_what_is_wrong_with_a_listeners_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "check");
    let (cert, key) = ca.issue("one");
    let (_, other_key) = ca.issue("two");
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate\n").unwrap();
    let check = |cert: &str, key: &Path| {
        let config = dir.path().join("scimitar.toml");
        std::fs::write(
            &config,
            format!(
                "[server.tls]\ncert_file = \"{cert}\"\nkey_file = \"{}\"\n",
                key.display()
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimitar"))
            .args(["check", "--config"])
            .arg(&config)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, said) = check(&cert.display().to_string(), &key);
    assert!(ok, "{said}");
    // Relative to the config file, as every path of it.
    let (ok, said) = check("garbage.pem", &key);
    assert!(!ok);
    assert!(
        said.contains("server.tls") && said.contains("garbage.pem"),
        "{said}"
    );
    assert!(
        said.contains("no certificate") || said.contains("no PEM certificate"),
        "{said}"
    );
    let (ok, said) = check(&cert.display().to_string(), &dir.path().join("missing.pem"));
    assert!(!ok);
    assert!(said.contains("missing.pem"), "{said}");
    let (ok, said) = check(&cert.display().to_string(), &other_key);
    assert!(!ok);
    assert!(said.contains("the key is not the certificate's"), "{said}");
    assert!(!said.contains("stack backtrace"), "{said}");
}
