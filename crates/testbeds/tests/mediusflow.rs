//! The MediusFlow testbed, driven over HTTP as the gateway drives it.

use reqwest::{Method, StatusCode};
use scimitar_testbeds::mediusflow::{self, Options};
use scimitar_testbeds::Testbed;
use serde_json::{json, Value};

/// A started testbed and a client holding a fresh access token.
struct Medius {
    testbed: Testbed,
    http: reqwest::Client,
    tenant: String,
    token: String,
}

impl Medius {
    async fn start() -> Medius {
        let testbed = mediusflow::start("127.0.0.1:0".parse().unwrap(), Options::default())
            .await
            .unwrap();
        let tenant = testbed.credentials["tenant"].as_str().unwrap().to_owned();
        let mut medius = Medius {
            testbed,
            http: reqwest::Client::new(),
            tenant,
            token: String::new(),
        };
        let credentials = medius.testbed.credentials.clone();
        let (status, body) = medius
            .request_token(&credentials, "client_credentials", "Integration")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (&body["token_type"], &body["expires_in"]),
            (&json!("Bearer"), &json!(3600))
        );
        medius.token = body["access_token"].as_str().unwrap().to_owned();
        medius
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}{path}", self.testbed.url, self.tenant)
    }

    async fn request_token(
        &self,
        credentials: &Value,
        grant: &str,
        scope: &str,
    ) -> (StatusCode, Value) {
        let form = [
            ("grant_type", grant),
            ("client_id", credentials["client_id"].as_str().unwrap()),
            (
                "client_secret",
                credentials["client_secret"].as_str().unwrap(),
            ),
            ("scope", scope),
        ];
        answer(
            self.http
                .post(self.url("/api/connect/token"))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

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

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn create_user(&self, user_name: &str, configuration: Option<&str>) -> Value {
        let (status, user) = self
            .post(
                "/Backend/Rest/Users",
                json!({"UserName": user_name, "FirstName": "A", "ConfigurationName": configuration}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A `{"Message"}` error with `status`.
fn assert_error((status, body): &(StatusCode, Value), expected: StatusCode) {
    assert_eq!(*status, expected, "{body}");
    assert!(body["Message"].is_string(), "{body}");
}

#[tokio::test]
async fn token_endpoint_wants_a_form_the_scope_and_the_credentials() {
    let medius = Medius::start().await;
    let good = medius.testbed.credentials.clone();
    let mut wrong = good.clone();
    wrong["client_secret"] = json!("nope");
    assert_error(
        &medius
            .request_token(&wrong, "client_credentials", "Integration")
            .await,
        StatusCode::UNAUTHORIZED,
    );
    assert_error(
        &medius.request_token(&good, "password", "Integration").await,
        StatusCode::BAD_REQUEST,
    );
    assert_error(
        &medius
            .request_token(&good, "client_credentials", "Admin")
            .await,
        StatusCode::BAD_REQUEST,
    );
    let json_body = medius
        .http
        .post(medius.url("/api/connect/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_error(&answer(json_body).await, StatusCode::BAD_REQUEST);

    // Every API route wants the token, and another tenant's path is unknown.
    let anonymous = answer(
        medius
            .http
            .get(medius.url("/Backend/Rest/Users"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED);
    let other_tenant = medius
        .http
        .get(format!("{}/other/Backend/Rest/Users", medius.testbed.url))
        .bearer_auth(&medius.token)
        .send()
        .await
        .unwrap();
    assert_error(&answer(other_tenant).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn users_are_created_from_a_configuration_and_replaced_whole() {
    let medius = Medius::start().await;
    let (_, configurations) = medius.get("/Backend/Rest/UserConfigurations").await;
    assert_eq!(
        configurations,
        json!([
            {"Name": "Default", "Roles": ["User"], "Companies": ["Contoso AB"]},
            {"Name": "Approver", "Roles": ["User", "Approver"], "Companies": ["Contoso AB"]}
        ])
    );
    let boss = medius.create_user("boss@contoso.com", None).await;
    assert_eq!(
        (&boss["Id"], &boss["IsActive"], &boss["Roles"]),
        (&json!(1), &json!(true), &json!([]))
    );
    let (status, ada) = medius
        .post(
            "/Backend/Rest/Users",
            json!({"UserName": "ada@contoso.com", "FirstName": "Ada", "LastName": "Lovelace",
                   "DisplayName": "Ada L", "FormattedName": "Ada Lovelace", "Email": "ada@contoso.com",
                   "ExternalId": "ada", "ManagerId": 1, "IdentityProvider": "AzureAD",
                   "NameIdentifier": "ada-oid", "CustomFieldText1": "c1", "CustomFieldText5": "c5",
                   "ConfigurationName": "approver", "Id": 99}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ada}");
    assert_eq!(ada["Id"], 2, "a sent Id is ignored");
    assert_eq!(ada["ConfigurationName"], "Approver");
    assert_eq!(ada["Roles"], json!(["User", "Approver"]));
    assert_eq!(ada["Companies"], json!(["Contoso AB"]));
    assert_eq!(ada["ManagerId"], 1);
    assert_eq!(
        medius.get("/Backend/Rest/Users/2").await,
        (StatusCode::OK, ada.clone())
    );

    // PUT replaces every field: what is left out is cleared.
    let (status, replaced) = medius
        .put(
            "/Backend/Rest/Users/2",
            json!({"UserName": "ada@contoso.com", "FirstName": "Augusta", "IsActive": false,
                   "Roles": ["User"], "ConfigurationName": "Default"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (
            &replaced["FirstName"],
            &replaced["LastName"],
            &replaced["ManagerId"]
        ),
        (&json!("Augusta"), &Value::Null, &Value::Null)
    );
    assert_eq!(
        (
            &replaced["IsActive"],
            &replaced["Roles"],
            &replaced["Companies"]
        ),
        (&json!(false), &json!(["User"]), &json!([]))
    );

    for bad in [
        json!({"UserName": "x@contoso.com", "ConfigurationName": "Nope"}),
        json!({"FirstName": "no user name"}),
        json!({"UserName": "x@contoso.com", "Firstname": "typo"}),
        json!({"UserName": "x@contoso.com", "ManagerId": 42}),
        json!({"UserName": "x@contoso.com", "IsActive": "yes"}),
    ] {
        assert_error(
            &medius.post("/Backend/Rest/Users", bad).await,
            StatusCode::BAD_REQUEST,
        );
    }
    assert_error(
        &medius
            .put(
                "/Backend/Rest/Users/2",
                json!({"UserName": "a", "ManagerId": 2}),
            )
            .await,
        StatusCode::BAD_REQUEST,
    );
    assert_error(
        &medius
            .post(
                "/Backend/Rest/Users",
                json!({"UserName": "ADA@contoso.com"}),
            )
            .await,
        StatusCode::CONFLICT,
    );
    assert_error(
        &medius
            .put(
                "/Backend/Rest/Users/1",
                json!({"UserName": "Ada@Contoso.com"}),
            )
            .await,
        StatusCode::CONFLICT,
    );
    assert_error(
        &medius.get("/Backend/Rest/Users/77").await,
        StatusCode::NOT_FOUND,
    );
    assert_error(
        &medius.get("/Backend/Rest/Users/abc").await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(
        medius.testbed_users().await.len(),
        2,
        "rejected writes add nothing"
    );
}

impl Medius {
    async fn testbed_users(&self) -> Vec<Value> {
        let state: Value = self
            .http
            .get(format!("{}/_testbed/state", self.testbed.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["users"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn users_filter_by_user_name_and_page_with_a_total() {
    let medius = Medius::start().await;
    for i in 0..5 {
        medius.create_user(&format!("u{i}@contoso.com"), None).await;
    }
    let response = medius
        .http
        .get(medius.url("/Backend/Rest/Users?skip=1&take=2"))
        .bearer_auth(&medius.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-total-count"], "5");
    let page: Value = response.json().await.unwrap();
    let ids: Vec<_> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Id"].clone())
        .collect();
    assert_eq!(ids, [json!(2), json!(3)]);
    let (_, found) = medius
        .get("/Backend/Rest/Users?userName=U3%40CONTOSO.com")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["UserName"], "u3@contoso.com");
    for bad in ["take=0", "take=501", "skip=-1", "take=x"] {
        assert_error(
            &medius.get(&format!("/Backend/Rest/Users?{bad}")).await,
            StatusCode::BAD_REQUEST,
        );
    }
}

#[tokio::test]
async fn roles_hold_members_and_lose_deleted_users() {
    let medius = Medius::start().await;
    let boss = medius
        .create_user("boss@contoso.com", Some("Default"))
        .await;
    let ada = medius.create_user("ada@contoso.com", None).await;
    medius
        .put(
            "/Backend/Rest/Users/2",
            json!({"UserName": "ada@contoso.com", "ManagerId": 1}),
        )
        .await;
    let (status, role) = medius
        .post(
            "/Backend/Rest/Roles",
            json!({"Name": "Sales", "ExternalId": "g1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    assert_eq!(
        role,
        json!({"Id": 1, "Name": "Sales", "ExternalId": "g1", "UserIds": []})
    );
    assert_error(
        &medius
            .post("/Backend/Rest/Roles", json!({"Name": "sales"}))
            .await,
        StatusCode::CONFLICT,
    );

    let members = "/Backend/Rest/Roles/1/Users";
    let (status, role) = medius.post(members, json!({"UserIds": [1, 2, 1]})).await;
    assert_eq!((status, &role["UserIds"]), (StatusCode::OK, &json!([1, 2])));
    assert_error(
        &medius.post(members, json!({"UserIds": [3]})).await,
        StatusCode::BAD_REQUEST,
    );
    let (status, role) = medius
        .call(Method::DELETE, members, Some(json!({"UserIds": [1, 9]})))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unknown user changes nothing: {role}"
    );
    let (status, role) = medius
        .call(Method::DELETE, members, Some(json!({"UserIds": [1]})))
        .await;
    assert_eq!((status, &role["UserIds"]), (StatusCode::OK, &json!([2])));
    assert_error(
        &medius
            .post("/Backend/Rest/Roles/5/Users", json!({"UserIds": [1]}))
            .await,
        StatusCode::NOT_FOUND,
    );

    let (_, found) = medius.get("/Backend/Rest/Roles?name=SALES").await;
    assert_eq!(found[0]["Id"], 1);
    let (status, renamed) = medius
        .put(
            "/Backend/Rest/Roles/1",
            json!({"Name": "Sales EMEA", "UserIds": [1, 2]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        renamed,
        json!({"Id": 1, "Name": "Sales EMEA", "ExternalId": null, "UserIds": [1, 2]})
    );

    // Deleting the boss: it leaves the role, and its report loses its manager.
    let (status, _) = medius
        .call(
            Method::DELETE,
            &format!("/Backend/Rest/Users/{}", boss["Id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        medius.get("/Backend/Rest/Roles/1").await.1["UserIds"],
        json!([2])
    );
    let (_, ada) = medius
        .get(&format!("/Backend/Rest/Users/{}", ada["Id"]))
        .await;
    assert_eq!(ada["ManagerId"], Value::Null);

    let (status, _) = medius
        .call(Method::DELETE, "/Backend/Rest/Roles/1", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &medius.get("/Backend/Rest/Roles/1").await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn faults_answer_in_medius_shape_and_reset_forgets_tokens() {
    let medius = Medius::start().await;
    let fault = |body: Value| {
        medius
            .http
            .post(format!("{}/_testbed/faults", medius.testbed.url))
            .json(&body)
            .send()
    };
    fault(json!({"status": 503, "count": 1})).await.unwrap();
    assert_error(
        &medius
            .post("/Backend/Rest/Users", json!({"UserName": "a"}))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
    );
    assert!(medius.testbed_users().await.is_empty());

    medius.create_user("a@contoso.com", None).await;
    medius
        .http
        .post(format!("{}/_testbed/reset", medius.testbed.url))
        .send()
        .await
        .unwrap();
    assert!(medius.testbed_users().await.is_empty());
    assert_error(
        &medius.get("/Backend/Rest/Users").await,
        StatusCode::UNAUTHORIZED,
    );
}
