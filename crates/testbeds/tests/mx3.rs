//! The MX3 Diagnostics testbed, driven over HTTP as the gateway drives it.

use reqwest::{Method, StatusCode};
use scimitar_testbeds::mx3::{self, Options};
use scimitar_testbeds::Testbed;
use serde_json::{json, Value};

struct Mx3 {
    testbed: Testbed,
    http: reqwest::Client,
}

impl Mx3 {
    async fn start() -> Mx3 {
        let testbed = mx3::start("127.0.0.1:0".parse().unwrap(), Options::default())
            .await
            .unwrap();
        Mx3 {
            testbed,
            http: reqwest::Client::new(),
        }
    }

    /// The API key of organisation `org` (0 or 1).
    fn key(&self, org: usize) -> String {
        self.testbed.credentials["organisations"][org]["api_key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn call_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.testbed.url))
            .header("authorization", format!("Token {key}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(&self.key(0), method, path, body).await
    }
}

#[tokio::test]
async fn batch_create_and_update_answer_in_input_order() {
    let mx3 = Mx3::start().await;
    let (status, body) = mx3
        .call(
            Method::POST,
            "/v1/users",
            Some(json!([
                { "email": "a@x.io", "name_first": "A", "name_last": "One", "external_id": "ea" },
                { "email": "b@x.io", "name_first": "B", "tags": ["Sales", "Sales", "EMEA"] }
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], true);
    let ids: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0].len(), 36);
    assert_eq!(&ids[0][14..15], "4", "a version 4 UUID");

    // A mixed batch: update the first (clearing its external id), create a third.
    let (_, body) = mx3
        .call(
            Method::POST,
            "/v1/users",
            Some(json!([
                { "email": "c@x.io" },
                { "user_id": ids[0], "name_first": "Ay", "external_id": null, "active": false }
            ])),
        )
        .await;
    assert_eq!(body["data"][1]["user_id"], ids[0].as_str());
    let (status, user) = mx3
        .call(Method::GET, &format!("/v1/users/{}", ids[0]), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        user["data"],
        json!({ "user_id": ids[0], "email": "a@x.io", "name_first": "Ay", "name_last": "One",
                "external_id": null, "active": false, "tags": [] })
    );
    let (_, second) = mx3
        .call(Method::GET, &format!("/v1/users/{}", ids[1]), None)
        .await;
    assert_eq!(second["data"]["tags"], json!(["Sales", "EMEA"]));
    let (_, all) = mx3.call(Method::GET, "/v1/users", None).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn tags_list_members_and_counts() {
    let mx3 = Mx3::start().await;
    mx3.call(
        Method::POST,
        "/v1/users",
        Some(json!([
            { "email": "a@x.io", "tags": ["Sales"] },
            { "email": "b@x.io", "tags": ["Sales", "Ops"] },
            { "email": "c@x.io" }
        ])),
    )
    .await;
    let (_, sales) = mx3.call(Method::GET, "/v1/users?tag=Sales", None).await;
    let emails: Vec<_> = sales["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["a@x.io", "b@x.io"]);
    let (_, tags) = mx3.call(Method::GET, "/v1/tags", None).await;
    assert_eq!(
        tags,
        json!({ "status": true, "data": [{ "name": "Ops", "count": 1 }, { "name": "Sales", "count": 2 }] })
    );
}

#[tokio::test]
async fn update_one_delete_and_errors() {
    let mx3 = Mx3::start().await;
    let (_, body) = mx3
        .call(
            Method::POST,
            "/v1/users",
            Some(json!([{ "email": "a@x.io" }, { "email": "b@x.io" }])),
        )
        .await;
    let (a, b) = (
        body["data"][0]["user_id"].as_str().unwrap().to_owned(),
        body["data"][1]["user_id"].as_str().unwrap().to_owned(),
    );
    let (status, updated) = mx3
        .call(
            Method::POST,
            &format!("/v1/users/{a}"),
            Some(json!({ "name_last": "Aye", "tags": ["T"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&updated["data"]["name_last"], &updated["data"]["tags"]),
        (&json!("Aye"), &json!(["T"]))
    );

    // A duplicate email (ignoring case) is a 409, and the batch writes nothing at all.
    let (status, body) = mx3
        .call(
            Method::POST,
            "/v1/users",
            Some(json!([{ "email": "new@x.io" }, { "user_id": b, "email": "A@X.IO" }])),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["status"], false);
    assert!(body["error"].is_string());
    let (_, all) = mx3.call(Method::GET, "/v1/users", None).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);

    for (body, expected) in [
        (json!({ "email": "x@x.io" }), StatusCode::BAD_REQUEST),
        (
            json!([{ "name_first": "no email" }]),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!([{ "email": "x@x.io", "colour": "red" }]),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!([{ "email": "x@x.io", "tags": "T" }]),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!([{ "user_id": "nope", "email": "x@x.io" }]),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, answer) = mx3
            .call(Method::POST, "/v1/users", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(answer["status"], false);
    }

    let (status, body) = mx3
        .call(Method::DELETE, &format!("/v1/users/{a}"), None)
        .await;
    assert_eq!(
        (status, &body["data"]["user_id"]),
        (StatusCode::OK, &json!(a))
    );
    let (status, body) = mx3.call(Method::GET, &format!("/v1/users/{a}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], false);
}

#[tokio::test]
async fn each_key_sees_only_its_organisation() {
    let mx3 = Mx3::start().await;
    let (_, body) = mx3
        .call(
            Method::POST,
            "/v1/users",
            Some(json!([{ "email": "a@x.io" }])),
        )
        .await;
    let id = body["data"][0]["user_id"].as_str().unwrap().to_owned();
    let other = mx3.key(1);
    let (_, list) = mx3.call_as(&other, Method::GET, "/v1/users", None).await;
    assert_eq!(list["data"], json!([]));
    let (status, _) = mx3
        .call_as(&other, Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The same email may exist in both organisations.
    let (status, _) = mx3
        .call_as(
            &other,
            Method::POST,
            "/v1/users",
            Some(json!([{ "email": "a@x.io" }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = mx3.call_as("wrong", Method::GET, "/v1/users", None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({ "status": false, "error": "Invalid token." })
        )
    );
    let state: Value = reqwest::get(format!("{}/_testbed/state", mx3.testbed.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counts: Vec<_> = state["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["users"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, [1, 1]);
    assert_eq!(mx3.testbed.credentials["api_key"], mx3.key(0).as_str());
}

#[tokio::test]
async fn faults_answer_in_mx3_shape() {
    let mx3 = Mx3::start().await;
    mx3.http
        .post(format!("{}/_testbed/faults", mx3.testbed.url))
        .json(&json!({ "status": 502, "count": 1 }))
        .send()
        .await
        .unwrap();
    let (status, body) = mx3.call(Method::GET, "/v1/users", None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, json!({ "status": false, "error": "Bad Gateway" }));
}
