//! The Rhombus Systems testbed, driven over HTTP as the gateway drives it.

use std::num::NonZeroU32;

use reqwest::StatusCode;
use scimitar_testbeds::rhombus::{self, Options, RateLimit};
use scimitar_testbeds::Testbed;
use serde_json::{json, Value};

struct Rhombus {
    testbed: Testbed,
    http: reqwest::Client,
    key: String,
}

impl Rhombus {
    async fn start_with(options: Options) -> Rhombus {
        let key = options.api_key.clone();
        let testbed = rhombus::start("127.0.0.1:0".parse().unwrap(), options)
            .await
            .unwrap();
        Rhombus {
            testbed,
            http: reqwest::Client::new(),
            key,
        }
    }

    /// A testbed without rate limit, so that tests of the API never meet it.
    async fn start() -> Rhombus {
        Rhombus::start_with(Options {
            rate_limit: None,
            ..Options::default()
        })
        .await
    }

    async fn raw(&self, method: &str, body: &str, key: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/{method}", self.testbed.url))
            .header("x-auth-apikey", key)
            .header("x-auth-scheme", "api-token")
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn call(&self, method: &str, body: Value) -> (StatusCode, Value) {
        let response = self.raw(method, &body.to_string(), &self.key).await;
        (response.status(), response.json().await.unwrap())
    }

    async fn group(&self, name: &str) -> String {
        let (_, body) = self.call("permission/getPermissionGroups", json!({})).await;
        body["permissionGroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn create(&self, email: &str, name: &str, group: &str) -> Value {
        let (status, body) = self
            .call(
                "user/createUser",
                json!({ "email": email, "name": name, "permissionGroupUuid": group }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        body
    }

    async fn users(&self) -> Vec<Value> {
        let (status, body) = self.call("user/getUsersInOrg", json!({})).await;
        assert_eq!((status, &body["error"]), (StatusCode::OK, &json!(false)));
        body["users"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn seeds_permission_groups_and_creates_users() {
    let rhombus = Rhombus::start().await;
    let (_, body) = rhombus
        .call("permission/getPermissionGroups", json!({}))
        .await;
    let names: Vec<_> = body["permissionGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Admin", "Member", "Viewer"]);

    let admin = rhombus.group("Admin").await;
    let created = rhombus
        .create("ann@example.com", "Ann Marie Lee", &admin)
        .await;
    assert_eq!(created["responseStatus"], "SUCCESS");
    let uuid = created["userUuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 22);
    let users = rhombus.users().await;
    assert_eq!(users.len(), 1);
    let user = &users[0];
    assert_eq!(user["uuid"], uuid);
    assert_eq!(
        (&user["firstName"], &user["lastName"], &user["name"]),
        (&json!("Ann"), &json!("Marie Lee"), &json!("Ann Marie Lee"))
    );
    assert_eq!(user["status"], "PENDING");
    assert_eq!(user["permissionGroupUuid"], admin.as_str());
    assert!(user["createdAtMillis"].as_i64().unwrap() > 0);

    let (_, found) = rhombus
        .call(
            "user/findUserByEmail",
            json!({ "email": "ANN@example.com" }),
        )
        .await;
    assert_eq!(found["user"]["uuid"], uuid);
    let (_, missing) = rhombus
        .call(
            "user/findUserByEmail",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(missing["user"], Value::Null);
}

#[tokio::test]
async fn create_reports_user_exists_and_bad_input_in_band() {
    let rhombus = Rhombus::start().await;
    let member = rhombus.group("Member").await;
    rhombus.create("bo@example.com", "Bo Li", &member).await;
    let duplicate = rhombus.create("BO@example.com", "Bo Li", &member).await;
    assert_eq!(
        (&duplicate["responseStatus"], &duplicate["error"]),
        (&json!("USER_EXISTS"), &json!(true))
    );
    for bad in [
        json!({ "email": "no-at-sign", "name": "X Y", "permissionGroupUuid": member }),
        json!({ "email": "x@example.com", "name": " ", "permissionGroupUuid": member }),
        json!({ "email": "x@example.com", "name": "X Y", "permissionGroupUuid": "nope" }),
    ] {
        let (status, body) = rhombus.call("user/createUser", bad).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["responseStatus"], "BAD_INPUT", "{body}");
        assert!(body["errorMsg"].is_string());
    }
    assert_eq!(rhombus.users().await.len(), 1);
}

#[tokio::test]
async fn update_selective_touches_only_what_is_sent_and_null_clears() {
    let rhombus = Rhombus::start().await;
    let (member, viewer) = (rhombus.group("Member").await, rhombus.group("Viewer").await);
    let uuid = rhombus.create("cy@example.com", "Cy Doe", &member).await["userUuid"].clone();
    let (status, body) = rhombus
        .call(
            "user/updateUserSelective",
            json!({ "userUuid": uuid, "firstName": "Cyrus", "permissionGroupUuid": viewer }),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "error": false })));
    let user = rhombus.users().await[0].clone();
    assert_eq!(
        (&user["firstName"], &user["lastName"], &user["name"]),
        (&json!("Cyrus"), &json!("Doe"), &json!("Cyrus Doe"))
    );
    assert_eq!(user["permissionGroupUuid"], viewer.as_str());

    rhombus
        .call(
            "user/updateUserSelective",
            json!({ "userUuid": uuid, "lastName": null, "status": "INACTIVE" }),
        )
        .await;
    let user = rhombus.users().await[0].clone();
    assert_eq!(
        (&user["lastName"], &user["name"], &user["status"]),
        (&Value::Null, &json!("Cyrus"), &json!("INACTIVE"))
    );

    for (body, message) in [
        (json!({ "userUuid": "unknown" }), "User not found"),
        (
            json!({ "userUuid": uuid, "email": null }),
            "email cannot be null",
        ),
    ] {
        let (status, answer) = rhombus.call("user/updateUserSelective", body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer, json!({ "error": true, "errorMsg": message }));
    }
}

#[tokio::test]
async fn delete_then_not_found() {
    let rhombus = Rhombus::start().await;
    let member = rhombus.group("Member").await;
    let uuid = rhombus.create("di@example.com", "Di Ng", &member).await["userUuid"].clone();
    let (_, body) = rhombus
        .call("user/deleteUser", json!({ "userUuid": uuid }))
        .await;
    assert_eq!(body, json!({ "error": false }));
    assert!(rhombus.users().await.is_empty());
    let (status, body) = rhombus
        .call("user/deleteUser", json!({ "userUuid": uuid }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"], true);
}

#[tokio::test]
async fn malformed_bodies_and_wrong_keys() {
    let rhombus = Rhombus::start().await;
    for body in [
        "",
        "not json",
        "[]",
        r#"{"email": 5}"#,
        r#"{"email":"a@b","name":"A B","permissionGroupUuid":"x","extra":1}"#,
    ] {
        let response = rhombus.raw("user/createUser", body, &rhombus.key).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "msg": "JSON doesn't match expected object structure" })
        );
    }
    let response = rhombus.raw("user/getUsersInOrg", "{}", "wrong").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], true);
    // The scheme header is required too.
    let response = rhombus
        .http
        .post(format!("{}/api/user/getUsersInOrg", rhombus.testbed.url))
        .header("x-auth-apikey", &rhombus.key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_bucket_answers_429_with_retry_after() {
    let rhombus = Rhombus::start_with(Options {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
        }),
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    let mut throttled = None;
    for _ in 0..6 {
        let response = rhombus.raw("user/getUsersInOrg", "{}", &rhombus.key).await;
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS && throttled.is_none() {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            throttled = Some((retry_after, response.text().await.unwrap()));
        }
    }
    // The burst goes through; a request beyond it is refused.
    assert!(
        statuses[..3].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let (retry_after, text) = throttled.expect("six requests at once exceed a burst of 3");
    assert!(retry_after >= 1);
    assert_eq!(text, "Too many api requests. Enhance your calm.");
    // Unauthenticated requests are refused before they spend a token.
    let response = rhombus.raw("user/getUsersInOrg", "{}", "wrong").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn state_reset_and_faults() {
    let rhombus = Rhombus::start().await;
    let member = rhombus.group("Member").await;
    rhombus.create("ed@example.com", "Ed Ho", &member).await;
    let state: Value = reqwest::get(format!("{}/_testbed/state", rhombus.testbed.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["users"].as_array().unwrap().len(), 1);
    assert_eq!(state["requests"]["POST /api/user/createUser"], 1);
    let http = &rhombus.http;
    http.post(format!("{}/_testbed/faults", rhombus.testbed.url))
        .json(&json!({ "status": 503, "count": 1 }))
        .send()
        .await
        .unwrap();
    let response = rhombus.raw("user/getUsersInOrg", "{}", &rhombus.key).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], true);
    let reset: Value = http
        .post(format!("{}/_testbed/reset", rhombus.testbed.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset["users"], json!([]));
    assert_eq!(reset["permission_groups"].as_array().unwrap().len(), 3);
    assert_eq!(
        rhombus.testbed.credentials,
        json!({ "api_key": rhombus.key })
    );
}
