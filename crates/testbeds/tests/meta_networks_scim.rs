//! The Meta Networks testbed's own SCIM endpoint, `/v1/scim/{idp_id}`, driven over HTTP as the
//! gateway's proxy mode drives it.

use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use scimitar_testbeds::meta_networks::{self, Options};
use scimitar_testbeds::Testbed;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A started testbed, a client with a fresh access token, and the SCIM base path of its IdP.
struct Meta {
    testbed: Testbed,
    http: reqwest::Client,
    token: String,
    /// `/v1/scim/<idp id>`
    scim: String,
}

/// An answer: status, `Content-Type`, `Location` and the JSON body (or the text, if not JSON).
struct Answer {
    status: StatusCode,
    content_type: String,
    location: Option<String>,
    body: Value,
}

impl Meta {
    async fn start() -> Meta {
        Meta::start_with(Options::default()).await
    }

    async fn start_with(options: Options) -> Meta {
        let idp = options.idp_ids[0].clone();
        let testbed = meta_networks::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), options)
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let mut credentials = testbed.credentials.clone();
        credentials["grant_type"] = json!("client_credentials");
        let token = http
            .post(format!("{}/v1/oauth/token", testbed.url))
            .json(&credentials)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        Meta {
            testbed,
            http,
            token,
            scim: format!("/v1/scim/{idp}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.testbed.url)
    }

    /// A request to `path` (under the server root) with `token` and an optional SCIM body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        answer(request.send().await.unwrap()).await
    }

    /// An authenticated request under the SCIM base (`/Users`, `/Groups/x`...).
    async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let path = format!("{}{path}", self.scim);
        self.send(method, &path, Some(&self.token), body).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.scim(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.scim(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.scim(Method::PUT, path, Some(body)).await
    }

    async fn patch(&self, path: &str, operations: Value) -> Answer {
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        self.scim(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.scim(Method::DELETE, path, None).await
    }

    /// A native API call, with the same token.
    async fn native(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send(method, path, Some(&self.token), body).await
    }

    async fn create_user(&self, user_name: &str) -> Value {
        let created = self.post("/Users", user(user_name)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body
    }

    async fn create_group(&self, name: &str) -> Value {
        let created = self
            .post("/Groups", json!({"schemas": [GROUP], "displayName": name}))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body
    }

    async fn state(&self) -> Value {
        self.send(Method::GET, "/_testbed/state", None, None)
            .await
            .body
    }

    async fn add_fault(&self, fault: Value) {
        let added = self
            .send(Method::POST, "/_testbed/faults", None, Some(fault))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, content_type, location) = (
        response.status(),
        header("content-type").unwrap_or_default(),
        header("location"),
    );
    let text = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        location,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// A complete, valid SCIM user as the gateway's hooks leave it.
fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "active": true,
        "phoneNumbers": [{"type": "work", "value": "+16175551212"}],
    })
}

/// A SCIM error with this status and `scimType` (`None` for none), as `application/scim+json`.
#[track_caller]
fn assert_scim_error(answer: &Answer, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["schemas"], json!([ERROR]), "{}", answer.body);
    assert_eq!(answer.body["status"], status.as_u16().to_string());
    assert_eq!(
        answer.body["scimType"].as_str(),
        scim_type,
        "{}",
        answer.body
    );
    assert!(answer.body["detail"].is_string(), "{}", answer.body);
    assert!(answer.content_type.starts_with("application/scim+json"));
}

fn ids(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

fn member_ids(group: &Value) -> Vec<&str> {
    group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn requires_a_live_oauth_token() {
    let meta = Meta::start().await;
    let path = format!("{}/Users", meta.scim);
    for token in [None, Some("not-a-token")] {
        let answer = meta.send(Method::GET, &path, token, None).await;
        assert_scim_error(&answer, StatusCode::UNAUTHORIZED, None);
    }
    let ok = meta.get("/Users").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.content_type.starts_with("application/scim+json"));
}

#[tokio::test]
async fn unknown_idp_ids_are_404_and_every_configured_one_is_served() {
    let options = Options {
        idp_ids: vec!["idp-aaaaaaaaaa".into(), "idp-bbbbbbbbbb".into()],
        ..Options::default()
    };
    let meta = Meta::start_with(options).await;
    let unknown = meta
        .send(
            Method::GET,
            "/v1/scim/idp-zzzzzzzzzz/Users",
            Some(&meta.token),
            None,
        )
        .await;
    assert_scim_error(&unknown, StatusCode::NOT_FOUND, None);
    let unknown_post = meta
        .send(
            Method::POST,
            "/v1/scim/idp-zzzzzzzzzz/Users",
            Some(&meta.token),
            Some(user("a@example.com")),
        )
        .await;
    assert_scim_error(&unknown_post, StatusCode::NOT_FOUND, None);
    // Without a token, a 401 comes first: IdP ids cannot be probed.
    let probe = meta
        .send(Method::GET, "/v1/scim/idp-zzzzzzzzzz/Users", None, None)
        .await;
    assert_scim_error(&probe, StatusCode::UNAUTHORIZED, None);

    let created = meta.create_user("a@example.com").await;
    let second = meta
        .send(
            Method::GET,
            "/v1/scim/idp-bbbbbbbbbb/Users",
            Some(&meta.token),
            None,
        )
        .await;
    assert_eq!(ids(&second.body), [created["id"].as_str().unwrap()]);
    assert!(meta.state().await["users"].as_array().unwrap().len() == 1);
    // An unknown endpoint under a known IdP is a SCIM 404 too.
    assert_scim_error(&meta.get("/Widgets").await, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn user_crud() {
    let meta = Meta::start().await;
    let created = meta.post("/Users", user("ada@example.com")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.content_type.starts_with("application/scim+json"));
    let body = &created.body;
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("usr-") && id.len() == 14, "{id}");
    let location = format!("{}{}/Users/{id}", meta.testbed.url, meta.scim);
    assert_eq!(created.location.as_deref(), Some(location.as_str()));
    assert_eq!(body["meta"]["location"], location);
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(body["schemas"], json!([USER]));
    assert_eq!(body["userName"], "ada@example.com");
    assert_eq!(
        body["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace"})
    );
    assert_eq!(body["displayName"], "Ada Lovelace");
    assert_eq!(body["active"], true);
    assert_eq!(
        body["phoneNumbers"],
        json!([{"value": "+16175551212", "type": "work", "primary": true}])
    );

    let read = meta.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(&read.body, body);

    let mut replacement = user("ada.lovelace@example.com");
    replacement["name"]["givenName"] = json!("Augusta");
    replacement.as_object_mut().unwrap().remove("displayName");
    replacement.as_object_mut().unwrap().remove("phoneNumbers");
    let put = meta.put(&format!("/Users/{id}"), replacement).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["userName"], "ada.lovelace@example.com");
    assert_eq!(put.body["name"]["givenName"], "Augusta");
    assert!(
        put.body.get("displayName").is_none(),
        "PUT clears what it leaves out"
    );
    assert!(put.body.get("phoneNumbers").is_none());

    let patched = meta
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+442071838750"},
                {"op": "replace", "path": "name.familyName", "value": "King"},
                {"op": "replace", "value": {"displayName": "Countess", "name": {"givenName": "Ada"}}},
            ]),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["phoneNumbers"][0]["value"], "+442071838750");
    assert_eq!(
        patched.body["name"],
        json!({"givenName": "Ada", "familyName": "King"})
    );
    assert_eq!(patched.body["displayName"], "Countess");
    assert_eq!(
        meta.get(&format!("/Users/{id}")).await.body,
        patched.body,
        "a disabled user is still there"
    );

    let deleted = meta.delete(&format!("/Users/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, json!(""));
    assert_scim_error(
        &meta.get(&format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_scim_error(
        &meta.delete(&format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_scim_error(
        &meta
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "replace", "path": "active", "value": true}]),
            )
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn shares_users_and_groups_with_the_native_api() {
    let meta = Meta::start().await;
    let idp = meta.scim.trim_start_matches("/v1/scim/").to_owned();
    let created = meta.create_user("scim@example.com").await;
    let id = created["id"].as_str().unwrap();

    let native = meta
        .native(Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(native.status, StatusCode::OK);
    let native = native.body;
    assert_eq!(native["email"], "scim@example.com");
    assert_eq!(native["given_name"], "Ada");
    assert_eq!(native["family_name"], "Lovelace");
    assert_eq!(native["name"], "Ada Lovelace");
    assert_eq!(native["phone"], "+16175551212");
    assert_eq!(native["enabled"], true);
    assert_eq!(native["provisioned_by"], "SCIM");
    assert_eq!(native["idp_id"], idp);

    let state = meta.state().await;
    assert_eq!(state["users"][0]["id"], id);
    assert_eq!(state["users"][0]["provisioned_by"], "SCIM");
    assert_eq!(state["users"][0]["idp_id"], idp);
    assert_eq!(state["requests"]["POST /v1/scim/{idp_id}/Users"], 1);

    // Made natively, seen and changed through SCIM, and the other way round.
    let native_user = meta
        .native(
            Method::POST,
            "/v1/users",
            Some(json!({"email": "native@example.com", "given_name": "Grace", "family_name": "Hopper"})),
        )
        .await
        .body;
    let native_id = native_user["id"].as_str().unwrap();
    let found = meta
        .get("/Users?filter=userName+eq+%22NATIVE%40example.com%22")
        .await;
    assert_eq!(ids(&found.body), [native_id]);
    assert!(found.body["Resources"][0].get("phoneNumbers").is_none());
    let disabled = meta
        .patch(
            &format!("/Users/{native_id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    let native_after = meta
        .native(Method::GET, &format!("/v1/users/{native_id}"), None)
        .await
        .body;
    assert_eq!(native_after["enabled"], false);
    assert!(native_after.get("idp_id").is_none(), "made natively");

    let group = meta.create_group("Engineers").await;
    let group_id = group["id"].as_str().unwrap();
    let added = meta
        .native(
            Method::POST,
            &format!("/v1/groups/{group_id}/add_users"),
            Some(json!([id, native_id])),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let scim_group = meta.get(&format!("/Groups/{group_id}")).await.body;
    assert_eq!(member_ids(&scim_group), [id, native_id]);
    assert_eq!(scim_group["members"][0]["display"], "Ada Lovelace");
    let state = meta.state().await;
    assert_eq!(state["groups"][0]["name"], "Engineers");
    assert_eq!(state["groups"][0]["provisioned_by"], "SCIM");
    assert_eq!(state["groups"][0]["idp_id"], idp);

    // A user deleted through SCIM leaves its native groups.
    assert_eq!(
        meta.delete(&format!("/Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let native_group = meta
        .native(Method::GET, &format!("/v1/groups/{group_id}"), None)
        .await
        .body;
    assert_eq!(native_group["users"], json!([native_id]));
}

#[tokio::test]
async fn phone_numbers_must_be_e164() {
    let meta = Meta::start().await;
    for bad in ["617-555-1212", "16175551212", "+1 617 555 1212", "+0123"] {
        let mut body = user("a@example.com");
        body["phoneNumbers"][0]["value"] = json!(bad);
        let answer = meta.post("/Users", body).await;
        assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some("invalidValue"));
        assert!(
            answer.body["detail"].as_str().unwrap().contains("E.164"),
            "{}",
            answer.body
        );
    }
    // A second number is checked as well, though Meta keeps only the work one.
    let mut body = user("a@example.com");
    body["phoneNumbers"] = json!([
        {"type": "work", "value": "+16175551212"},
        {"type": "mobile", "value": "(617) 555-0000"},
    ]);
    assert_scim_error(
        &meta.post("/Users", body).await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let created = meta.create_user("a@example.com").await;
    let id = created["id"].as_str().unwrap();
    let patched = meta
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "555-1212"}]),
        )
        .await;
    assert_scim_error(&patched, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert_eq!(
        meta.get(&format!("/Users/{id}")).await.body["phoneNumbers"][0]["value"],
        "+16175551212",
        "a rejected PATCH changes nothing"
    );
    assert_eq!(meta.state().await["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn given_and_family_names_and_user_name_are_required() {
    let meta = Meta::start().await;
    for pointer in ["/name/givenName", "/name/familyName", "/userName"] {
        let mut body = user("a@example.com");
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() {
            &mut body
        } else {
            body.pointer_mut(parent).unwrap()
        };
        parent.as_object_mut().unwrap().remove(key);
        let answer = meta.post("/Users", body).await;
        assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    let mut blank = user("a@example.com");
    blank["name"]["familyName"] = json!(" ");
    let answer = meta.post("/Users", blank).await;
    assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("name.familyName"),
        "{}",
        answer.body
    );
    let id = meta.create_user("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_scim_error(
        &meta
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "remove", "path": "name.givenName"}]),
            )
            .await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn emails_and_manager_are_not_accepted() {
    let meta = Meta::start().await;
    let mut with_emails = user("a@example.com");
    with_emails["emails"] = json!([{"type": "work", "value": "a@example.com", "primary": true}]);
    let answer = meta.post("/Users", with_emails).await;
    assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(answer.body["detail"].as_str().unwrap().contains("emails"));

    let mut with_manager = user("a@example.com");
    with_manager["schemas"] = json!([USER, ENTERPRISE]);
    with_manager[ENTERPRISE] = json!({"department": "R&D", "manager": {"value": "usr-0000000000"}});
    let answer = meta.post("/Users", with_manager).await;
    assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(answer.body["detail"].as_str().unwrap().contains("manager"));

    let id = meta.create_user("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for operation in [
        json!({"op": "add", "path": "emails[type eq \"work\"].value", "value": "a@example.com"}),
        json!({"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "usr-0000000000"}}),
    ] {
        let answer = meta
            .patch(&format!("/Users/{id}"), json!([operation]))
            .await;
        assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    // Attributes Meta has no field for are ignored, not refused.
    let mut extra = user("b@example.com");
    extra["externalId"] = json!("b");
    extra["title"] = json!("Engineer");
    let created = meta.post("/Users", extra).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.get("title").is_none());
}

#[tokio::test]
async fn entra_dialect_is_not_understood() {
    let meta = Meta::start().await;
    let id = meta.create_user("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Users/{id}");
    for (operations, scim_type) in [
        (
            json!([{"op": "Replace", "path": "active", "value": false}]),
            "invalidSyntax",
        ),
        (
            json!([{"op": "Add", "path": "displayName", "value": "X"}]),
            "invalidSyntax",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "False"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "value": {"active": "False"}}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "value": {"name.givenName": "K"}}]),
            "invalidPath",
        ),
    ] {
        let answer = meta.patch(&path, operations.clone()).await;
        assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some(scim_type));
    }
    let mut string_active = user("b@example.com");
    string_active["active"] = json!("True");
    assert_scim_error(
        &meta.post("/Users", string_active).await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let mut no_schemas = user("b@example.com");
    no_schemas.as_object_mut().unwrap().remove("schemas");
    assert_scim_error(
        &meta.post("/Users", no_schemas).await,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
    let not_json = meta
        .send(
            Method::POST,
            &format!("{}/Users", meta.scim),
            Some(&meta.token),
            Some(Value::String("{".into())),
        )
        .await;
    assert_scim_error(&not_json, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let unchanged = meta.get(&path).await.body;
    assert_eq!(
        (&unchanged["active"], &unchanged["name"]["givenName"]),
        (&json!(true), &json!("Ada"))
    );
    assert_eq!(meta.state().await["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn duplicates_are_409_uniqueness() {
    let meta = Meta::start().await;
    meta.create_user("dup@example.com").await;
    assert_scim_error(
        &meta.post("/Users", user("DUP@example.com")).await,
        StatusCode::CONFLICT,
        Some("uniqueness"),
    );
    let other = meta.create_user("other@example.com").await;
    assert_scim_error(
        &meta
            .patch(
                &format!("/Users/{}", other["id"].as_str().unwrap()),
                json!([{"op": "replace", "path": "userName", "value": "dup@example.com"}]),
            )
            .await,
        StatusCode::CONFLICT,
        Some("uniqueness"),
    );
    meta.create_group("Sales").await;
    assert_scim_error(
        &meta
            .post(
                "/Groups",
                json!({"schemas": [GROUP], "displayName": "sales"}),
            )
            .await,
        StatusCode::CONFLICT,
        Some("uniqueness"),
    );
}

#[tokio::test]
async fn filters_and_paging() {
    let meta = Meta::start().await;
    let mut made = Vec::new();
    for n in 0..7 {
        made.push(
            meta.create_user(&format!("user{n}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Entra's Test Connection: a random userName, a 200 with an empty list.
    let none = meta
        .get("/Users?filter=userName%20eq%20%225e0a6f0e-1d1b-4f5c-9d6e-0c1f8a3b2c4d%22")
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(
        (&none.body["totalResults"], &none.body["Resources"]),
        (&json!(0), &json!([]))
    );
    let one = meta
        .get("/Users?filter=userName+eq+%22User3%40Example.com%22")
        .await;
    assert_eq!(ids(&one.body), [made[3].as_str()]);

    let page = meta.get("/Users?startIndex=3&count=2").await.body;
    assert_eq!(
        (
            &page["totalResults"],
            &page["startIndex"],
            &page["itemsPerPage"]
        ),
        (&json!(7), &json!(3), &json!(2))
    );
    assert_eq!(ids(&page), [made[2].as_str(), made[3].as_str()]);
    let last = meta.get("/Users?startIndex=6&count=5").await.body;
    assert_eq!(ids(&last), [made[5].as_str(), made[6].as_str()]);

    let projected = meta.get("/Users?attributes=userName&count=1").await.body;
    let first = projected["Resources"][0].as_object().unwrap();
    assert!(first.contains_key("userName") && !first.contains_key("name"));

    assert_scim_error(
        &meta.get("/Users?filter=userName+eq").await,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &meta.get("/Users?count=-1").await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn group_crud_and_membership() {
    let meta = Meta::start().await;
    let mut users = Vec::new();
    for n in 0..3 {
        let created = meta.create_user(&format!("{n}@example.com")).await;
        users.push(created["id"].as_str().unwrap().to_owned());
    }
    let created = meta
        .post(
            "/Groups",
            json!({"schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"], "displayName": "Engineers", "members": []}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("grp-"));
    assert_eq!(
        created.location.as_deref(),
        Some(format!("{}{}/Groups/{id}", meta.testbed.url, meta.scim).as_str())
    );
    let path = format!("/Groups/{id}");

    let added = meta
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": users.iter().map(|u| json!({"value": u})).collect::<Vec<_>>()}]),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(
        member_ids(&added.body),
        users.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // A value list removes only the members it names.
    let removed = meta
        .patch(
            &path,
            json!([{"op": "remove", "path": "members", "value": [{"value": users[0]}]}]),
        )
        .await;
    assert_eq!(
        member_ids(&removed.body),
        [users[1].as_str(), users[2].as_str()]
    );
    let filtered = meta
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])}]),
        )
        .await;
    assert_eq!(member_ids(&filtered.body), [users[1].as_str()]);
    assert_eq!(meta.state().await["groups"][0]["users"], json!([users[1]]));

    let unknown = meta
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": "usr-0000000000"}]}]),
        )
        .await;
    assert_scim_error(&unknown, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert_scim_error(
        &meta
            .patch(
                &path,
                json!([{"op": "Add", "path": "members", "value": [{"value": users[0]}]}]),
            )
            .await,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );

    let bare = meta
        .get(&format!("{path}?excludedAttributes=members"))
        .await;
    assert_eq!(bare.status, StatusCode::OK);
    assert!(bare.body.get("members").is_none(), "{}", bare.body);
    assert_eq!(bare.body["displayName"], "Engineers");
    let found = meta
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22engineers%22")
        .await
        .body;
    assert_eq!(ids(&found), [id.as_str()]);
    assert!(found["Resources"][0].get("members").is_none());

    let renamed = meta
        .patch(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": "Platform"}]),
        )
        .await;
    assert_eq!(renamed.body["displayName"], "Platform");
    let put = meta
        .put(
            &path,
            json!({"schemas": [GROUP], "displayName": "Platform", "members": [{"value": users[0]}, {"value": users[0]}]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(member_ids(&put.body), [users[0].as_str()]);
    assert_scim_error(
        &meta.put(&path, json!({"schemas": [GROUP]})).await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );

    assert_eq!(meta.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_scim_error(&meta.get(&path).await, StatusCode::NOT_FOUND, None);
    assert_scim_error(&meta.delete(&path).await, StatusCode::NOT_FOUND, None);
    assert_eq!(meta.state().await["groups"], json!([]));
}

#[tokio::test]
async fn discovery_documents() {
    let meta = Meta::start().await;
    let config = meta.get("/ServiceProviderConfig").await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["bulk"]["supported"], false);
    let types = meta.get("/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(
        meta.get("/ResourceTypes/Group").await.body["endpoint"],
        "/Groups"
    );
    let schemas = meta.get("/Schemas").await.body;
    let user_schema = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == USER)
        .unwrap();
    let names: Vec<&str> = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"phoneNumbers") && !names.contains(&"emails"),
        "{names:?}"
    );
    assert_eq!(
        meta.get(&format!("/Schemas/{GROUP}")).await.body["id"],
        GROUP
    );
    assert_scim_error(
        &meta.get(&format!("/Schemas/{ENTERPRISE}")).await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn faults_apply_to_scim_routes() {
    let meta = Meta::start().await;
    meta.add_fault(json!({"status": 503, "count": 1})).await;
    let failed = meta.post("/Users", user("a@example.com")).await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(failed.body["status"], "503", "a SCIM client can read it");
    assert_eq!(failed.body["error"], "unavailable", "so can a native one");
    assert_eq!(meta.state().await["users"], json!([]));

    meta.add_fault(json!({"status": 429, "retry_after": 3, "count": 1}))
        .await;
    let response = meta
        .http
        .get(meta.url(&format!("{}/Users", meta.scim)))
        .bearer_auth(&meta.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "3");

    meta.get("/Users").await; // leaves a pooled keep-alive connection to be dropped
    meta.add_fault(json!({"drop": true})).await;
    let dropped = meta
        .http
        .get(meta.url(&format!("{}/Users", meta.scim)))
        .bearer_auth(&meta.token)
        .send()
        .await;
    assert!(dropped.is_err(), "a dropped connection has no answer");

    meta.create_user("a@example.com").await;
    let state = meta.state().await;
    assert_eq!(
        state["requests"]["POST /v1/scim/{idp_id}/Users"], 1,
        "faulted requests never reach the API"
    );
    assert_eq!(state["requests"]["GET /v1/scim/{idp_id}/Users"], 1);
    assert_eq!(state["users"].as_array().unwrap().len(), 1);
}
