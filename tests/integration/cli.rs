//! The command line: check, token, demo.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn scimitar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scimitar"))
}

/// `scimitar check` on a config file; its success and its stderr.
fn check(config: &std::path::Path, env: &[(&str, &str)], unset: &[&str]) -> (bool, String) {
    let mut command = scimitar();
    command.args(["check", "--config"]).arg(config);
    for (name, value) in env {
        command.env(name, value);
    }
    for name in unset {
        command.env_remove(name);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_example_config() {
    let example = repo_path("adapters/meta-networks.toml");
    let (ok, stderr) = check(
        &example,
        &[("META_CLIENT_ID", "id"), ("META_CLIENT_SECRET", "s")],
        &[],
    );
    assert!(ok, "{stderr}");
}

#[test]
fn check_names_the_file_and_line_of_a_script_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.rhai"),
        "fn get_user(id) {\n  let x = ;\n}\n",
    )
    .unwrap();
    let (_, hash) = new_token();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[[tenants]]\nname = \"t\"\ntarget = \"t\"\nmode = \"translate\"\nroute = \"/t\"\n\
             script = \"broken.rhai\"\nauth = {{ token_hashes = [\"{hash}\"] }}\n\
             [tenants.upstream]\nbase_url = \"http://127.0.0.1:1\"\n"
        ),
    )
    .unwrap();
    let (ok, stderr) = check(&config, &[], &[]);
    assert!(!ok);
    assert!(stderr.contains("broken.rhai:2:"), "{stderr}");
}

/// A translate tenant whose script is `script`, in a config of its own in `dir`.
fn translate_config(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("adapter.rhai"), script).unwrap();
    let (_, hash) = new_token();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[[tenants]]\nname = \"t\"\ntarget = \"t\"\nmode = \"translate\"\nroute = \"/t\"\n\
             script = \"adapter.rhai\"\nauth = {{ token_hashes = [\"{hash}\"] }}\n\
             [tenants.schema]\ngroup_extensions = [\"urn:example:group\"]\n\
             [tenants.upstream]\nbase_url = \"http://127.0.0.1:1\"\n"
        ),
    )
    .unwrap();
    config
}

/// `import` reads modules of the script's own folder and nothing else: a name that leaves
/// it or a module that is not there fails `check`, naming the line; a module beside the
/// script is found, and a call into it that would fail is reported at its line.
#[test]
fn check_reads_imports_from_the_scripts_folder_only() {
    let dir = tempfile::tempdir().unwrap();
    for (script, expected) in [
        (
            "import \"../../etc/passwd\" as p;\nfn get_user(id) { p::f() }\n",
            "a module is named by a file of the adapter's folder",
        ),
        (
            "import \"fs\" as fs;\nfn get_user(id) { fs::read(id) }\n",
            "fs.rhai: cannot read the module imported as \"fs\"",
        ),
    ] {
        let config = translate_config(dir.path(), script);
        let (ok, stderr) = check(&config, &[], &[]);
        assert!(!ok, "{script}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    std::fs::write(
        dir.path().join("helpers.rhai"),
        "fn path(id) { `/users/${url_encode(id)}` }\n",
    )
    .unwrap();
    let config = translate_config(
        dir.path(),
        "import \"helpers\" as helpers;\nfn get_user(id) { http_get(helpers::path(id)).json }\n",
    );
    let (ok, stderr) = check(&config, &[], &[]);
    assert!(ok, "{stderr}");
    let config = translate_config(
        dir.path(),
        "import \"helpers\" as helpers;\nfn get_user(id) {\n  http_get(helpers::path(id, 2)).json\n}\n",
    );
    let (ok, stderr) = check(&config, &[], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("adapter.rhai:3:")
            && stderr.contains("`helpers::path` is given 2 argument(s); it takes 1"),
        "{stderr}"
    );
}

/// Calls that would fail only when a request reaches them are found by `check`: a
/// misspelt function and a host function given the wrong number of arguments, each with
/// its file and line; so is what Entra will ask that the script does not implement.
#[test]
fn check_finds_calls_that_would_fail_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = translate_config(
        dir.path(),
        "fn existing_user(id) { http_get(`/users/${url_encode(id)}`) }\n\
         fn get_user(id) {\n  existing_usr(id)\n}\n\
         fn delete_user(id) {\n  http_delete(`/users/${id}`, true);\n}\n",
    );
    let (ok, stderr) = check(&config, &[("RUST_BACKTRACE", "1")], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("adapter.rhai:3:3: `existing_usr` is not a function"),
        "{stderr}"
    );
    assert!(
        stderr.contains("adapter.rhai:6:3: `http_delete` is given 2 argument(s); it takes 1"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");

    let config = translate_config(
        dir.path(),
        "fn get_user(id) { http_get(`/users/${url_encode(id)}`).json }\n\
         fn delete_user(id) { http_delete(`/users/${url_encode(id)}`); }\n",
    );
    let (ok, stderr) = check(&config, &[], &[]);
    assert!(ok, "{stderr}");
    for says in [
        "warning: tenant t: no list_users(…): Entra matches by filter",
        "warning: tenant t: no create_user(…)",
        "warning: tenant t: no patch_user(id, patch) or replace_user(id, resource)",
        "warning: tenant t: [schema] declares group extensions, but the script has no get_group(id)",
    ] {
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
    assert!(!stderr.contains("no delete_user"), "{stderr}");
}

#[test]
fn check_names_the_line_of_a_toml_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:8080\"\nthreads = \"two\"\n",
    )
    .unwrap();
    let (ok, stderr) = check(&config, &[], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("c.toml") && stderr.contains("line 3"),
        "{stderr}"
    );
}

/// What `serve` could not start with, `check` refuses too, where it is written: a listen
/// address that is not an IP address and port, a network that is not one, a store it cannot
/// open, a malformed token hash.
#[test]
fn check_refuses_what_serve_would() {
    let dir = tempfile::tempdir().unwrap();
    for (toml, line, says) in [
        (
            "[server]\nlisten = \"localhost\"\n",
            "line 2",
            "socket address",
        ),
        (
            "[server]\nadmin_listen = \"127.0.0.1\"\n",
            "line 2",
            "socket address",
        ),
        (
            "[server]\nallowed_networks = [\"10.0.0.0/33\"]\n",
            "line 2",
            "not an address or a CIDR network",
        ),
        (
            "[server]\ntrusted_proxies = [\"proxy.internal\"]\n",
            "line 2",
            "not an address or a CIDR network",
        ),
        (
            "[store]\nurl = \"mysql://db/scim\"\n",
            "line 2",
            "sqlite:// or postgres://",
        ),
        (
            "[[tenants]]\nname = \"t\"\ntarget = \"t\"\nmode = \"proxy\"\nroute = \"/t\"\n\
             auth = { token_hashes = [\"sha256:abcd\"] }\n\
             [tenants.upstream]\nbase_url = \"http://127.0.0.1:1\"\n",
            "line 6",
            "64 hex digits",
        ),
    ] {
        let config = dir.path().join("c.toml");
        std::fs::write(&config, toml).unwrap();
        let (ok, stderr) = check(&config, &[("RUST_BACKTRACE", "1")], &[]);
        assert!(!ok, "{toml}");
        assert!(!stderr.contains("backtrace"), "{toml}: {stderr}");
        assert!(
            stderr.contains("c.toml") && stderr.contains(line) && stderr.contains(says),
            "{toml}: {stderr}"
        );
    }
}

#[test]
fn check_finds_what_would_keep_clients_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keys.json"),
        r#"{"keys": [{"kty": "EC", "kid": "x"}]}"#,
    )
    .unwrap();
    let tenant = |auth: &str| {
        format!(
            "[[tenants]]\nname = \"t\"\ntarget = \"t\"\nmode = \"proxy\"\nroute = \"/t\"\n{auth}\n\
             [tenants.upstream]\nbase_url = \"http://127.0.0.1:1\"\n"
        )
    };
    let (_, hash) = new_token();
    for (auth, says) in [
        ("auth = {}", "no way in"),
        (
            "auth.entra = { tenant_id = \"contoso.onmicrosoft.com/x\" }",
            "not an Entra tenant id",
        ),
        (
            "auth.entra = { tenant_id = \"6b1a2c3d-0000-4000-8000-0000000000aa\", jwks_file = \"missing.json\" }",
            "missing.json",
        ),
        (
            "auth.entra = { tenant_id = \"6b1a2c3d-0000-4000-8000-0000000000aa\", jwks_file = \"keys.json\" }",
            "no RSA signing key",
        ),
        (
            "auth.client_credentials = { client_id = \"entra\", client_secret_hashes = [] }",
            "client_secret_hashes is empty",
        ),
        (
            &format!("auth.client_credentials = {{ client_id = \"entra\", client_secret_hashes = [\"{hash}\"], token_lifetime_secs = 5 }}"),
            "token_lifetime_secs",
        ),
    ] {
        let config = dir.path().join("c.toml");
        std::fs::write(&config, tenant(auth)).unwrap();
        let (ok, stderr) = check(&config, &[], &[]);
        assert!(!ok, "{auth}");
        assert!(stderr.contains(says), "{auth}: {stderr}");
    }
}

#[test]
fn check_names_a_missing_secret() {
    let example = repo_path("adapters/meta-networks.toml");
    let (ok, stderr) = check(
        &example,
        &[("META_CLIENT_ID", "id")],
        &["META_CLIENT_SECRET"],
    );
    assert!(!ok);
    assert!(stderr.contains("META_CLIENT_SECRET"), "{stderr}");
}

#[test]
fn token_prints_a_token_and_its_hash() {
    let (token, hash) = new_token();
    assert!(token.len() >= 40);
    assert!(hash.starts_with("sha256:") && hash.len() == 7 + 64);
}

/// The README's quick start: `scimitar demo` prints one JSON line per tenant, and the
/// printed URL and token work for an Entra Test Connection against the bundled testbed.
#[tokio::test]
async fn demo_prints_working_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = scimitar()
        .args(["demo", "--port", "0", "--admin-port", "0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Read every line as it comes, and keep the pipe open for as long as the demo runs.
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let line = lines.recv().await.expect("the demo printed a tenant line");
    let tenant: serde_json::Value = serde_json::from_str(&line).expect("a JSON line per tenant");
    assert_eq!(tenant["target"], "meta-networks");
    assert_eq!(tenant["mode"], "translate");
    assert!(tenant["testbed_credentials"]["client_secret"].is_string());
    // The other lines are printed with the first: whatever has not come by then is missing.
    let mut tenants = vec![tenant];
    while let Ok(Some(line)) =
        tokio::time::timeout(std::time::Duration::from_secs(5), lines.recv()).await
    {
        tenants.push(serde_json::from_str(&line).expect("a JSON line per tenant"));
    }
    let targets: Vec<_> = tenants.iter().map(|t| t["target"].clone()).collect();
    for target in ["rhombus", "mx3"] {
        assert!(
            targets.contains(&target.into()),
            "{target} missing: {targets:?}"
        );
    }
    // MX3: one URL, a tenant (token and API key) per organisation.
    let mx3: Vec<_> = tenants.iter().filter(|t| t["target"] == "mx3").collect();
    assert_eq!(mx3.len(), 2);
    assert_eq!(mx3[0]["scim_url"], mx3[1]["scim_url"]);
    assert_ne!(
        mx3[0]["testbed_credentials"]["api_key"],
        mx3[1]["testbed_credentials"]["api_key"]
    );

    // Every printed URL and token passes Entra's Test Connection.
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for tenant in &tenants {
        let scim_url = tenant["scim_url"].as_str().unwrap();
        let token = tenant["token"].as_str().unwrap();
        let url = format!("{scim_url}/Users?filter=userName+eq+%22probe%22");
        let started = std::time::Instant::now();
        let response = loop {
            match client.get(&url).bearer_auth(token).send().await {
                Ok(r) => break r,
                Err(_) if started.elapsed().as_secs() < 30 => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                Err(e) => panic!("demo gateway never answered: {e}"),
            }
        };
        answers.push((tenant["tenant"].clone(), read(response).await));
    }
    // Discovery tells each tenant's truth: MediusFlow's own extension, Meta's required names.
    let by_name = |name: &str| tenants.iter().find(|t| t["tenant"] == name).unwrap();
    let get = |tenant: &serde_json::Value, path: &str| {
        let url = format!("{}{path}", tenant["scim_url"].as_str().unwrap());
        client
            .get(url)
            .bearer_auth(tenant["token"].as_str().unwrap().to_string())
            .send()
    };
    let medius = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";
    let (_, types) = read(
        get(by_name("mediusflow"), "/ResourceTypes/User")
            .await
            .unwrap(),
    )
    .await;
    assert!(
        types["schemaExtensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["schema"] == medius),
        "{types}"
    );
    let (status, schema) = read(
        get(by_name("mediusflow"), &format!("/Schemas/{medius}"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{schema}");
    assert!(schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "configurationFilter"));
    let (_, user) = read(
        get(
            by_name("meta-networks"),
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        )
        .await
        .unwrap(),
    )
    .await;
    let name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "name")
        .unwrap();
    assert!(name["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "givenName" && a["required"] == true));

    let _ = child.kill();
    let _ = child.wait();
    for (tenant, (status, body)) in answers {
        assert_eq!(status, 200, "{tenant}: {body}");
        assert_eq!(body["totalResults"], 0, "{tenant}");
    }
}
