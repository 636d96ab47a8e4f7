//! Per-tenant rate and concurrency limits answer SCIM 429 with Retry-After, count the
//! refusal, and leave other tenants alone.

mod support;

use support::*;

#[tokio::test]
async fn a_tenant_over_its_rate_gets_429_and_others_are_unaffected() {
    let testbed =
        scimitar_testbeds::meta_networks::start(([127, 0, 0, 1], 0).into(), Default::default())
            .await
            .unwrap();
    let (limited_token, limited_hash) = new_token();
    let (free_token, free_hash) = new_token();
    let script = repo_path("tests/scripts/sandbox.rhai");
    let tenant = |name: &str, hash: &str, limits: &str| {
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
