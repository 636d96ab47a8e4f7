//! The Maptician testbed, driven over HTTP as the gateway drives it.

use reqwest::StatusCode;
use scimitar_testbeds::maptician::{self, Options};
use scimitar_testbeds::Testbed;
use serde_json::{json, Value};

struct Maptician {
    testbed: Testbed,
    http: reqwest::Client,
    token: String,
}

impl Maptician {
    async fn start() -> Maptician {
        let testbed = maptician::start("127.0.0.1:0".parse().unwrap(), Options::default())
            .await
            .unwrap();
        let token = testbed.credentials["api_token"]
            .as_str()
            .unwrap()
            .to_owned();
        Maptician {
            testbed,
            http: reqwest::Client::new(),
            token,
        }
    }

    async fn bulk(&self, items: Value) -> Vec<Value> {
        let (status, body) = answer(
            self.http
                .post(format!("{}/json/occupants/", self.testbed.url))
                .bearer_auth(&self.token)
                .json(&items)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"].as_array().unwrap().clone()
    }

    /// The `userID` of a created occupant.
    async fn create(&self, email: &str) -> String {
        let results = self
            .bulk(json!([{"action": "create", "email": email, "firstName": "F"}]))
            .await;
        assert_eq!(results[0]["status"], "ok", "{results:?}");
        results[0]["userID"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(
            self.http
                .get(format!("{}{path}", self.testbed.url))
                .bearer_auth(&self.token)
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
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `(status, error)` of each result.
fn outcomes(results: &[Value]) -> Vec<(String, Value)> {
    results
        .iter()
        .map(|r| (r["status"].as_str().unwrap().to_owned(), r["error"].clone()))
        .collect()
}

#[tokio::test]
async fn a_wrong_token_is_401_invalid_token() {
    let maptician = Maptician::start().await;
    for auth in [None, Some("Bearer nope"), Some("Token x")] {
        let mut request = maptician.http.get(format!(
            "{}/ext/v1/occupants/global/",
            maptician.testbed.url
        ));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let (status, body) = answer(request.send().await.unwrap()).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid token"}))
        );
    }
}

#[tokio::test]
async fn bulk_items_succeed_or_fail_one_by_one() {
    let maptician = Maptician::start().await;
    let ada = maptician.create("ada@contoso.com").await;
    assert_eq!(ada.len(), 36, "a UUID: {ada}");
    let results = maptician
        .bulk(json!([
            {"action": "create", "email": "ADA@contoso.com"},
            {"email": "grace@contoso.com", "title": "Admiral", "userID": null},
            {"action": "update", "email": "nobody@contoso.com", "title": "x"},
            {"action": "update", "userID": ada, "title": "Countess", "mobilePhone": "+1 555"},
            {"action": "upsert", "email": "ada@contoso.com", "department": "Maths"},
            {"action": "create", "email": "x@contoso.com", "userID": "00000000-0000-4000-8000-000000000001"},
            {"action": "create", "email": "y@contoso.com", "badge": 1},
            {"action": "create", "firstName": "no email"},
            {"action": "rename", "email": "z@contoso.com"},
            {"action": "update", "userID": ada, "email": "grace@contoso.com"},
            {"action": "upsert", "userID": "00000000-0000-4000-8000-000000000000", "email": "q@contoso.com"},
        ]))
        .await;
    let errors = outcomes(&results);
    let ok = |i: usize| assert_eq!(errors[i], ("ok".to_owned(), Value::Null), "item {i}");
    let error = |i: usize, message: &str| {
        assert_eq!(errors[i], ("error".to_owned(), json!(message)), "item {i}")
    };
    error(0, "occupant already exists");
    ok(1);
    error(2, "occupant not found");
    ok(3);
    ok(4);
    error(5, "userID is assigned by Maptician");
    error(6, "unknown field 'badge'");
    error(7, "email is required");
    error(8, "unknown action 'rename'");
    error(9, "email already in use");
    error(10, "occupant not found");
    assert_eq!(
        results
            .iter()
            .map(|r| r["index"].clone())
            .collect::<Vec<_>>(),
        (0..11).map(|i| json!(i)).collect::<Vec<_>>()
    );
    assert_eq!(
        (&results[1]["action"], &results[3]["userID"]),
        (&json!("upsert"), &json!(ada))
    );
    assert_eq!(
        results[9]["userID"],
        json!(ada),
        "a failed item names its occupant"
    );

    let (status, occupant) = maptician.get(&format!("/ext/v1/occupants/{ada}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        occupant,
        json!({"userID": ada, "email": "ada@contoso.com", "firstName": "F", "lastName": null,
               "title": "Countess", "userType": null, "department": "Maths", "organization": null,
               "employeeID": null, "externalId": null, "city": null, "state": null,
               "workPhone": null, "mobilePhone": "+1 555", "active": true, "deleted": false})
    );

    // An explicit null clears; what is left out stays.
    let results = maptician
        .bulk(json!([{"action": "update", "userID": ada, "title": null, "active": false}]))
        .await;
    assert_eq!(results[0]["status"], "ok");
    let (_, occupant) = maptician.get(&format!("/ext/v1/occupants/{ada}/")).await;
    assert_eq!(
        (
            &occupant["title"],
            &occupant["department"],
            &occupant["active"]
        ),
        (&Value::Null, &json!("Maths"), &json!(false))
    );
}

#[tokio::test]
async fn delete_is_soft_and_frees_the_email() {
    let maptician = Maptician::start().await;
    let ada = maptician.create("ada@contoso.com").await;
    let results = maptician
        .bulk(json!([{"action": "delete", "userID": ada}]))
        .await;
    assert_eq!(outcomes(&results)[0].0, "ok");
    let results = maptician
        .bulk(json!([{"action": "delete", "userID": ada}]))
        .await;
    assert_eq!(outcomes(&results)[0].1, json!("occupant not found"));

    let (status, body) = maptician.get(&format!("/ext/v1/occupants/{ada}/")).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
    let (status, body) = maptician
        .get(&format!("/ext/v1/occupants/{ada}/?includeDeleted=true"))
        .await;
    assert_eq!((status, &body["deleted"]), (StatusCode::OK, &json!(true)));
    let (_, list) = maptician.get("/ext/v1/occupants/global/").await;
    assert_eq!(list, json!({"occupants": [], "total": 0}));
    let (_, list) = maptician
        .get("/ext/v1/occupants/global/?includeDeleted=true")
        .await;
    assert_eq!(list["total"], 1);

    let again = maptician.create("ada@contoso.com").await;
    assert_ne!(again, ada, "a deleted occupant's email can be used again");
}

#[tokio::test]
async fn occupants_list_in_pages() {
    let maptician = Maptician::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(maptician.create(&format!("u{i}@contoso.com")).await);
    }
    let (status, page) = maptician
        .get("/ext/v1/occupants/global/?page=2&pageSize=2")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 5);
    let listed: Vec<_> = page["occupants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["userID"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ids[2..4]);
    for bad in ["page=0", "pageSize=501", "pageSize=x", "includeDeleted=yes"] {
        let (status, body) = maptician
            .get(&format!("/ext/v1/occupants/global/?{bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["detail"].is_string());
    }
    let (status, _) = maptician
        .get("/ext/v1/occupants/global/?page=9&pageSize=2")
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a page past the end is empty, not an error"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_list_is_400_and_faults_use_maptician_shape() {
    let maptician = Maptician::start().await;
    let (status, body) = answer(
        maptician
            .http
            .post(format!("{}/json/occupants/", maptician.testbed.url))
            .bearer_auth(&maptician.token)
            .json(&json!({"email": "a@contoso.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].is_string());

    maptician
        .http
        .post(format!("{}/_testbed/faults", maptician.testbed.url))
        .json(&json!({"status": 429, "count": 1}))
        .send()
        .await
        .unwrap();
    let response = maptician
        .http
        .get(format!(
            "{}/ext/v1/occupants/global/",
            maptician.testbed.url
        ))
        .bearer_auth(&maptician.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["detail"].is_string());
}
