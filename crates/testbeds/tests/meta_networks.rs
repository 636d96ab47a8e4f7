//! The Meta Networks testbed, driven over HTTP as the gateway drives it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use scimitar_testbeds::meta_networks::{self, Options};
use scimitar_testbeds::Testbed;
use serde_json::{json, Value};

const LOCALHOST: &str = "127.0.0.1:0";

/// A started testbed and a client holding a fresh access token.
struct Meta {
    testbed: Testbed,
    http: reqwest::Client,
    token: String,
}

impl Meta {
    async fn start() -> Meta {
        Meta::start_with(Options::default()).await
    }

    async fn start_with(options: Options) -> Meta {
        let testbed = meta_networks::start(LOCALHOST.parse::<SocketAddr>().unwrap(), options)
            .await
            .unwrap();
        let mut meta = Meta {
            testbed,
            http: reqwest::Client::new(),
            token: String::new(),
        };
        let (status, body) = meta.request_token(meta.testbed.credentials.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        meta.token = body["access_token"].as_str().unwrap().to_owned();
        meta
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.testbed.url)
    }

    async fn request_token(&self, credentials: Value) -> (StatusCode, Value) {
        let mut body = json!({ "grant_type": "client_credentials", "scope": "org:test" });
        body.as_object_mut()
            .unwrap()
            .extend(credentials.as_object().unwrap().clone());
        answer(
            self.http
                .post(self.url("/v1/oauth/token"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// An authenticated request with an optional JSON body.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// A JSON merge patch.
    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self
            .http
            .patch(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        answer(request.send().await.unwrap()).await
    }

    async fn create_user(&self, email: &str) -> Value {
        let (status, user) = self
            .post(
                "/v1/users",
                json!({"email": email, "given_name": "Ada", "family_name": "Lovelace"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        user
    }

    async fn create_group(&self, name: &str) -> Value {
        let (status, group) = self
            .post(
                "/v1/groups",
                json!({"name": name, "provisioned_by": "SCIM"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{group}");
        group
    }

    async fn state(&self) -> Value {
        answer(
            self.http
                .get(self.url("/_testbed/state"))
                .send()
                .await
                .unwrap(),
        )
        .await
        .1
    }

    async fn add_fault(&self, fault: Value) -> (StatusCode, Value) {
        answer(
            self.http
                .post(self.url("/_testbed/faults"))
                .json(&fault)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    assert!(answer.1["message"].is_string(), "{}", answer.1);
}

fn is_id(value: &Value, prefix: &str) -> bool {
    let body = value
        .as_str()
        .and_then(|id| id.strip_prefix(prefix))
        .unwrap_or("");
    body.len() == 10
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn token_flow_checks_credentials_and_expiry() {
    let options = Options {
        token_ttl: Duration::from_secs(1),
        ..Options::default()
    };
    let meta = Meta::start_with(options).await;

    let (status, token) = meta.request_token(meta.testbed.credentials.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 1);
    assert!(
        token["refresh_token"].is_string() && token["refresh_expires_in"].is_u64(),
        "{token}"
    );

    let wrong =
        json!({"client_id": meta.testbed.credentials["client_id"], "client_secret": "nope"});
    assert_error(
        &meta.request_token(wrong).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    let body = json!({"grant_type": "password", "client_id": "a", "client_secret": "b"});
    let unsupported = answer(
        meta.http
            .post(meta.url("/v1/oauth/token"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(
        &unsupported,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    );

    assert_eq!(meta.get("/v1/users").await.0, StatusCode::OK);
    let anonymous = answer(meta.http.get(meta.url("/v1/users")).send().await.unwrap()).await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "invalid_token");
    let forged = answer(
        meta.http
            .get(meta.url("/v1/users"))
            .bearer_auth("forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&forged, StatusCode::UNAUTHORIZED, "invalid_token");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_error(
        &meta.get("/v1/users").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );
    assert_eq!(meta.state().await["tokens_issued"], 2);
}

#[tokio::test]
async fn user_crud() {
    let meta = Meta::start().await;
    let user = meta.create_user("ada@example.com").await;
    assert!(is_id(&user["id"], "usr-"), "{user}");
    assert!(is_id(&user["org_id"], "org-"), "{user}");
    assert_eq!(user["enabled"], true);
    assert_eq!((&user["roles"], &user["tags"]), (&json!([]), &json!([])));
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());

    assert_eq!(meta.get(&path).await, (StatusCode::OK, user.clone()));
    let (status, list) = meta.get("/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list,
        json!({"items": [user.clone()], "next_page_token": null})
    );

    let (status, patched) = meta
        .patch(
            &path,
            json!({"enabled": false, "name": "Ada L", "id": "usr-ignored"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (&patched["enabled"], &patched["name"], &patched["id"]),
        (&json!(false), &json!("Ada L"), &user["id"])
    );
    assert_eq!(patched["created_at"], user["created_at"]);
    assert_ne!(patched["modified_at"], user["modified_at"]);

    assert_eq!(meta.delete(&path).await, (StatusCode::OK, patched));
    assert_error(&meta.get(&path).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &meta.delete(&path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &meta.patch(&path, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn users_are_validated() {
    let meta = Meta::start().await;
    let valid = json!({"email": "a@example.com", "given_name": "A", "family_name": "B"});
    let with = |extra: Value| {
        let mut body = valid.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let bad_request = StatusCode::BAD_REQUEST;
    assert_error(
        &meta
            .post("/v1/users", with(json!({"phone": "6175551212"})))
            .await,
        bad_request,
        "invalid_phone",
    );
    assert_error(
        &meta
            .post(
                "/v1/users",
                json!({"email": "a@example.com", "given_name": "A"}),
            )
            .await,
        bad_request,
        "missing_field",
    );
    assert_error(
        &meta
            .post("/v1/users", with(json!({"given_name": ""})))
            .await,
        bad_request,
        "missing_field",
    );
    assert_error(
        &meta.post("/v1/users", with(json!({"manager": "x"}))).await,
        bad_request,
        "unknown_field",
    );
    assert_error(
        &meta.post("/v1/users", json!("not an object")).await,
        bad_request,
        "invalid_json",
    );
    let broken = meta
        .http
        .post(meta.url("/v1/users"))
        .bearer_auth(&meta.token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(&answer(broken).await, bad_request, "invalid_json");

    let user = meta.create_user("ada@example.com").await;
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());
    assert_error(
        &meta.patch(&path, json!({"phone": "+0123"})).await,
        bad_request,
        "invalid_phone",
    );
    assert_error(
        &meta.patch(&path, json!({"family_name": null})).await,
        bad_request,
        "missing_field",
    );
    assert_error(
        &meta.patch(&path, json!({"given_name": "  "})).await,
        bad_request,
        "missing_field",
    );
    let plain_json = meta
        .call(Method::PATCH, &path, Some(json!({"name": "x"})))
        .await;
    assert_error(
        &plain_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_eq!(
        meta.get(&path).await.1,
        user,
        "rejected writes change nothing"
    );
}

#[tokio::test]
async fn merge_patch_null_removes_phone() {
    let meta = Meta::start().await;
    let (_, user) = meta
        .post(
            "/v1/users",
            json!({"email": "a@example.com", "given_name": "A", "family_name": "B", "phone": "+16175551212"}),
        )
        .await;
    assert_eq!(user["phone"], "+16175551212");
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());
    let (status, patched) = meta
        .patch(&path, json!({"phone": null, "description": "kept"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(patched.get("phone").is_none(), "{patched}");
    assert_eq!(patched["description"], "kept");
    assert_eq!(patched["given_name"], "A", "fields left out are untouched");
}

#[tokio::test]
async fn duplicates_conflict_ignoring_case() {
    let meta = Meta::start().await;
    meta.create_user("ada@example.com").await;
    let other = meta.create_user("grace@example.com").await;
    let conflict = StatusCode::CONFLICT;
    let duplicate = json!({"email": "ADA@example.com", "given_name": "A", "family_name": "B"});
    assert_error(
        &meta.post("/v1/users", duplicate).await,
        conflict,
        "conflict",
    );
    let path = format!("/v1/users/{}", other["id"].as_str().unwrap());
    assert_error(
        &meta.patch(&path, json!({"email": "Ada@Example.com"})).await,
        conflict,
        "conflict",
    );
    assert_eq!(
        meta.patch(&path, json!({"email": "GRACE@example.com"}))
            .await
            .0,
        StatusCode::OK,
        "its own email is free"
    );

    let group = meta.create_group("Engineering").await;
    assert_error(
        &meta
            .post("/v1/groups", json!({"name": "engineering"}))
            .await,
        conflict,
        "conflict",
    );
    meta.create_group("Sales").await;
    let path = format!("/v1/groups/{}", group["id"].as_str().unwrap());
    assert_error(
        &meta.patch(&path, json!({"name": "SALES"})).await,
        conflict,
        "conflict",
    );
}

#[tokio::test]
async fn filters_match_exactly_ignoring_case() {
    let meta = Meta::start().await;
    let ada = meta.create_user("ada@example.com").await;
    meta.create_user("ada@example.org").await;
    let (_, found) = meta.get("/v1/users?email=ADA%40example.com").await;
    assert_eq!(ids(&found["items"]), [ada["id"].as_str().unwrap()]);
    assert_eq!(
        meta.get("/v1/users?email=nobody%40example.com").await.1["items"],
        json!([])
    );

    let sales = meta.create_group("Sales").await;
    meta.create_group("Sales EMEA").await;
    let (_, found) = meta.get("/v1/groups?name=sales").await;
    assert_eq!(ids(&found["items"]), [sales["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn groups_and_membership() {
    let meta = Meta::start().await;
    let users: Vec<String> = create_users(&meta, 3).await;
    let group = meta.create_group("Engineering").await;
    assert!(is_id(&group["id"], "grp-"), "{group}");
    assert_eq!(
        (&group["users"], &group["provisioned_by"]),
        (&json!([]), &json!("SCIM"))
    );
    let path = format!("/v1/groups/{}", group["id"].as_str().unwrap());

    let (status, added) = meta.post(&format!("{path}/add_users"), json!(users)).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["users"], json!(users));
    let (_, again) = meta
        .post(&format!("{path}/add_users"), json!([users[0]]))
        .await;
    assert_eq!(
        again["users"],
        json!(users),
        "adding a member again is idempotent"
    );

    let (status, removed) = meta
        .post(&format!("{path}/remove_users"), json!([users[1]]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(removed["users"], json!([users[0], users[2]]));

    let unknown = json!([users[1], "usr-0000000000"]);
    assert_error(
        &meta
            .post(&format!("{path}/add_users"), unknown.clone())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &meta.post(&format!("{path}/remove_users"), unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(
        meta.get(&path).await.1["users"],
        json!([users[0], users[2]]),
        "a 404 changes nothing"
    );
    let missing_group = meta
        .post("/v1/groups/grp-0000000000/add_users", json!([users[0]]))
        .await;
    assert_error(&missing_group, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &meta
            .post(&format!("{path}/add_users"), json!({"id": users[0]}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );

    let (status, patched) = meta
        .patch(
            &path,
            json!({"description": "Builders", "provisioned_by": "manual"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&patched["description"], &patched["provisioned_by"]),
        (&json!("Builders"), &json!("SCIM"))
    );
    assert_error(
        &meta.patch(&path, json!({"name": null})).await,
        StatusCode::BAD_REQUEST,
        "missing_field",
    );

    meta.delete(&format!("/v1/users/{}", users[0])).await;
    assert_eq!(
        meta.get(&path).await.1["users"],
        json!([users[2]]),
        "a deleted user leaves its groups"
    );

    let (status, deleted) = meta.delete(&path).await;
    assert_eq!((status, &deleted["id"]), (StatusCode::OK, &group["id"]));
    assert_error(&meta.get(&path).await, StatusCode::NOT_FOUND, "not_found");
}

/// Creates `n` users and answers their ids.
async fn create_users(meta: &Meta, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            meta.create_user(&format!("user{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

#[tokio::test]
async fn pagination_walks_every_user_in_creation_order() {
    let meta = Meta::start().await;
    let created = create_users(&meta, 7).await;
    let mut seen = Vec::new();
    let mut path = "/v1/users?page_size=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = meta.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page["items"]).into_iter().map(str::to_owned));
        pages += 1;
        match page["next_page_token"].as_str() {
            Some(token) => path = format!("/v1/users?page_size=3&page_token={token}"),
            None => break,
        }
    }
    assert_eq!((seen, pages), (created, 3));

    let bad = StatusCode::BAD_REQUEST;
    assert_error(
        &meta.get("/v1/users?page_size=501").await,
        bad,
        "invalid_parameter",
    );
    assert_error(
        &meta.get("/v1/users?page_size=0").await,
        bad,
        "invalid_parameter",
    );
    assert_error(
        &meta.get("/v1/users?page_token=garbage").await,
        bad,
        "invalid_parameter",
    );
    assert_eq!(
        ids(&meta.get("/v1/users?page_size=500").await.1["items"]).len(),
        7
    );
}

#[tokio::test]
async fn status_fault_answers_without_performing_the_request() {
    let meta = Meta::start().await;
    assert_eq!(
        meta.add_fault(json!({"status": 503, "count": 2})).await.0,
        StatusCode::OK
    );
    let body = json!({"email": "a@example.com", "given_name": "A", "family_name": "B"});
    for _ in 0..2 {
        assert_error(
            &meta.post("/v1/users", body.clone()).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
        );
    }
    assert_eq!(meta.post("/v1/users", body).await.0, StatusCode::OK);
    let state = meta.state().await;
    assert_eq!(state["users"].as_array().unwrap().len(), 1);
    assert_eq!(
        state["requests"]["POST /v1/users"], 1,
        "faulted requests never reached the API"
    );
}

#[tokio::test]
async fn rate_limit_fault_sends_retry_after() {
    let meta = Meta::start().await;
    meta.add_fault(json!({"status": 429, "retry_after": 2, "count": 1}))
        .await;
    let response = meta
        .http
        .get(meta.url("/v1/users"))
        .bearer_auth(&meta.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "2");
    assert_error(
        &answer(response).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    assert_eq!(meta.get("/v1/users").await.0, StatusCode::OK);
}

#[tokio::test]
async fn delay_fault_delays_then_performs() {
    let meta = Meta::start().await;
    meta.add_fault(json!({"delay_ms": 300, "count": 1})).await;
    let started = Instant::now();
    let user = meta.create_user("slow@example.com").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(is_id(&user["id"], "usr-"));
    let started = Instant::now();
    meta.get("/v1/users").await;
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "only `count` requests are delayed"
    );
}

#[tokio::test]
async fn drop_fault_closes_the_connection() {
    let meta = Meta::start().await;
    meta.get("/v1/users").await; // leaves a pooled keep-alive connection to be dropped
    meta.add_fault(json!({"drop": true, "count": 1})).await;
    let dropped = meta
        .http
        .get(meta.url("/v1/users"))
        .bearer_auth(&meta.token)
        .send()
        .await;
    let error = dropped.expect_err("a dropped connection has no answer");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
    assert_eq!(meta.get("/v1/users").await.0, StatusCode::OK);
}

#[tokio::test]
async fn faults_queue_in_order_spare_control_routes_and_clear() {
    let meta = Meta::start().await;
    meta.add_fault(json!({"status": 500})).await;
    let (status, queued) = meta.add_fault(json!({"status": 502, "count": 2})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        queued["faults"],
        json!([{"status": 500, "count": 1}, {"status": 502, "count": 2}])
    );
    assert_eq!(
        meta.state().await["faults"],
        queued["faults"],
        "control routes are never faulted"
    );

    assert_error(
        &meta.get("/v1/users").await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_server_error",
    );
    assert_error(
        &meta.get("/v1/users").await,
        StatusCode::BAD_GATEWAY,
        "bad_gateway",
    );
    let cleared = answer(
        meta.http
            .delete(meta.url("/_testbed/faults"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cleared, (StatusCode::OK, json!({"faults": []})));
    assert_eq!(meta.get("/v1/users").await.0, StatusCode::OK);

    for nonsense in [
        json!({"count": 1}),
        json!({"status": 200}),
        json!({"status": 503, "drop": true}),
    ] {
        assert_error(
            &meta.add_fault(nonsense).await,
            StatusCode::BAD_REQUEST,
            "invalid_fault",
        );
    }
}

#[tokio::test]
async fn state_counts_requests_by_route() {
    let meta = Meta::start().await;
    let user = meta.create_user("ada@example.com").await;
    let group = meta.create_group("Ops").await;
    let id = user["id"].as_str().unwrap();
    meta.get(&format!("/v1/users/{id}")).await;
    meta.get("/v1/users/usr-0000000000").await;
    meta.post(
        &format!("/v1/groups/{}/add_users", group["id"].as_str().unwrap()),
        json!([id]),
    )
    .await;

    let state = meta.state().await;
    assert_eq!(
        state["requests"],
        json!({
            "POST /v1/oauth/token": 1,
            "POST /v1/users": 1,
            "POST /v1/groups": 1,
            "GET /v1/users/{id}": 2,
            "POST /v1/groups/{id}/add_users": 1,
        })
    );
    assert_eq!(state["users"], json!([user]));
    assert_eq!(state["groups"][0]["users"], json!([id]));
    assert_eq!(state["tokens_issued"], 1);
    assert!(
        is_id(&state["org_id"], "org-") && is_id(&state["idp_ids"][0], "idp-"),
        "{state}"
    );
}

#[tokio::test]
async fn reset_forgets_data_and_tokens_but_keeps_credentials() {
    let mut meta = Meta::start().await;
    meta.create_user("ada@example.com").await;
    meta.create_group("Ops").await;
    meta.add_fault(json!({"status": 503, "count": 5})).await;
    let org = meta.state().await["org_id"].clone();

    let (status, state) = answer(
        meta.http
            .post(meta.url("/_testbed/reset"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            &state["users"],
            &state["groups"],
            &state["tokens_issued"],
            &state["requests"],
            &state["faults"]
        ),
        (&json!([]), &json!([]), &json!(0), &json!({}), &json!([]))
    );
    assert_eq!(state["org_id"], org);
    assert_error(
        &meta.get("/v1/users").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );

    let (status, token) = meta.request_token(meta.testbed.credentials.clone()).await;
    assert_eq!(status, StatusCode::OK, "the credentials survive a reset");
    meta.token = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(meta.get("/v1/users").await.1["items"], json!([]));
}

#[tokio::test]
async fn explicit_options_and_shutdown() {
    let options = Options {
        client_id: "id".into(),
        client_secret: "secret".into(),
        idp_ids: vec!["idp-1".into()],
        ..Options::default()
    };
    let meta = Meta::start_with(options).await;
    assert_eq!(meta.testbed.name, "meta-networks");
    assert_eq!(
        meta.testbed.credentials,
        json!({"client_id": "id", "client_secret": "secret", "idp_ids": ["idp-1"]})
    );
    assert_eq!(meta.testbed.url, format!("http://{}", meta.testbed.addr()));
    assert_error(
        &meta.get("/v1/nowhere").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let url = meta.url("/_testbed/state");
    meta.testbed.shutdown().await;
    let after = reqwest::Client::new().get(url).send().await;
    assert!(after.is_err(), "a stopped testbed refuses connections");
}
