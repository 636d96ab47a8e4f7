//! Per-tenant rate and concurrency limits answer SCIM 429 with Retry-After, count the
//! refusal, and leave other tenants alone.

use crate::support::*;

#[tokio::test]
async fn a_tenant_over_its_rate_gets_429_and_others_are_unaffected() {
    let testbed =
        scimitar_testbeds::meta_networks::start(([127, 0, 0, 1], 0).into(), Default::default())
            .await
            .unwrap();
    let (limited_token, limited_hash) = new_token();
    let (free_token, free_hash) = new_token();
    let script = repo_path("tests/scripts/sandbox.rhai");
    let tenant = |name: &str, hash: &str, limits: &str| -> String {
        format!(
            "[[tenants]]\nname = \"{name}\"\ntarget = \"t\"\nmode = \"translate\"\nroute = \"/{name}\"\nscript = \"{}\"\n\
             auth = {{ token_hashes = [\"{hash}\"] }}\n[tenants.upstream]\nbase_url = \"{}\"\n[tenants.settings]\n\
             default_region = \"US\"\n{limits}\n",
            script.display(),
            testbed.url
        )
    };
    let toml = tenant(
        "limited",
        &limited_hash,
        "[tenants.limits]\nrequests_per_second = 1\nburst = 2\n",
    ) + &tenant("free", &free_hash, "");
    let gateway = start_gateway_toml(&toml, "").await;
    let client = reqwest::Client::new();
    let get = |name: &str, token: &str| {
        client
            .get(format!("{}/{name}/Users/e164", gateway.url))
            .bearer_auth(token.to_string())
            .send()
    };

    // The burst passes; a quick run of requests then meets the limit (the bucket refills one
    // request a second, far slower than these follow each other).
    assert_eq!(get("limited", &limited_token).await.unwrap().status(), 200);
    let mut refused = None;
    for _ in 0..20 {
        let response = get("limited", &limited_token).await.unwrap();
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
    }
    let refused = refused.expect("20 quick requests never met the rate limit");
    assert!(refused.headers().get("retry-after").is_some());
    let (status, body) = read(refused).await;
    assert_scim_error(status, &body, 429, None);
    for _ in 0..5 {
        assert_eq!(
            get("free", &free_token).await.unwrap().status(),
            200,
            "another tenant is not limited"
        );
    }
    let metrics = client
        .get(format!("{}/metrics", gateway.admin_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"scimitar_rejected_requests_total{reason="rate_limited",tenant="limited"} 1"#
        ),
        "{metrics}"
    );
}

/// A target that never answers holds only its own tenant's share of the script threads
/// (`limits.script_calls_per_tenant`): while every call the silent tenant may run waits on
/// its target, and more of its requests wait for those, another tenant's requests are all
/// answered — and none of the silent tenant's ever answers 2xx.
#[tokio::test]
async fn a_hanging_target_never_starves_another_tenant() {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    // The silent target: takes every connection, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let acceptor = tokio::spawn({
        let held = held.clone();
        async move {
            while let Ok((socket, _)) = silent.accept().await {
                held.lock().unwrap().push(socket);
            }
        }
    });
    let silent_spec = TenantSpec {
        name: "silent".into(),
        route: "/silent".into(),
        tenant_toml: String::new(),
        script: repo_path("tests/scripts/lookup-by-path.rhai"),
        token: new_token().0,
        upstream_toml: format!("base_url = \"{silent_url}\"\ntimeout_secs = 40\nretries = 0\n"),
        settings_toml: String::new(),
    };
    let options = scimitar_testbeds::meta_networks::Options::default();
    let idp = options.idp_ids[0].clone();
    let secrets = SecretFiles::new(&[
        ("id", &options.client_id),
        ("secret", &options.client_secret),
    ]);
    let testbed = scimitar_testbeds::meta_networks::start(([127, 0, 0, 1], 0).into(), options)
        .await
        .unwrap();
    let quick_spec = meta_spec("quick", "/quick", &testbed, &secrets, &idp, "");
    let (silent_token, quick_token) = (silent_spec.token.clone(), quick_spec.token.clone());
    let gateway = start_gateway_on_store(
        &tenants_toml(&[silent_spec, quick_spec]),
        "script_threads = 8\n",
        "sqlite://state.db",
        "[limits]\nscript_calls_per_tenant = 4\n",
    )
    .await;
    let client = reqwest::Client::new();
    let quick = format!("{}/quick/v1/scim/{idp}", gateway.url);
    let created = client
        .post(format!("{quick}/Users"))
        .bearer_auth(&quick_token)
        .json(&entra_user("quinn@contoso.com", "Quinn", "Quick", None))
        .send()
        .await
        .unwrap();
    let (status, created) = read(created).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();

    // Eight requests for the silent tenant: four calls take its share and wait on the
    // target, four wait for them.
    let waiting: Vec<_> = (0..8)
        .map(|i| {
            let request = client
                .get(format!("{}/silent/Users/u{i}", gateway.url))
                .bearer_auth(&silent_token)
                .send();
            tokio::spawn(async move { request.await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let mut connections = 0;
    for _ in 0..200 {
        connections = held.lock().unwrap().len();
        if connections >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(connections, 4, "the silent tenant's share is four calls");

    let reads = (0..20)
        .map(|_| {
            (
                quick.clone(),
                (reqwest::Method::GET, format!("/Users/{id}"), None),
            )
        })
        .collect();
    for (status, user) in send_all(&client, &quick_token, reads).await {
        assert_eq!(status, 200, "{user}");
        assert_eq!(user["userName"], "quinn@contoso.com");
    }
    assert_eq!(
        held.lock().unwrap().len(),
        4,
        "the silent tenant never ran more than its share"
    );
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the silent tenant's requests were still waiting on its target"
    );

    // The target goes away: its calls fail, and the requests waiting for a slot fail on
    // their own turn — an error every one, never a 2xx.
    acceptor.abort();
    held.lock().unwrap().clear();
    for request in waiting {
        let status = request.await.unwrap().unwrap();
        assert!(
            status >= 500,
            "a call to a target that never answered got {status}"
        );
    }
}
