//! Entra's side of the wire: SCIM requests as Entra sends them, and answers read back.

use super::*;

pub const SCIM_JSON: &str = "application/scim+json";

/// Sends `(base URL, (method, path, body))` requests all at once with `token`, answering in
/// the order given.
pub async fn send_all(
    client: &Client,
    token: &str,
    requests: Vec<(String, (Method, String, Option<Value>))>,
) -> Vec<(StatusCode, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (base, (method, path, body))) in requests.into_iter().enumerate() {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", SCIM_JSON)
                .body(body.to_string());
        }
        tasks.spawn(async move { (index, read(request.send().await.unwrap()).await) });
    }
    let mut answers: Vec<_> = tasks.join_all().await;
    answers.sort_by_key(|(index, _)| *index);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

/// A SCIM PatchOp body with `operations`.
pub fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text }))
    };
    (status, body)
}

/// Asserts a SCIM error body with the given status (and scimType when given).
pub fn assert_scim_error(status: StatusCode, body: &Value, expected: u16, scim_type: Option<&str>) {
    assert_eq!(status.as_u16(), expected, "unexpected status, body: {body}");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "body: {body}"
    );
    assert_eq!(body["status"], expected.to_string(), "body: {body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "body: {body}");
    }
}

/// An Entra-shaped user, as sent on create.
pub fn entra_user(user_name: &str, given: &str, family: &str, phone: Option<&str>) -> Value {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": user_name.split('@').next().unwrap(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "meta": { "resourceType": "User" },
        "name": { "formatted": format!("{given} {family}"), "familyName": family, "givenName": given },
        "roles": []
    });
    if let Some(phone) = phone {
        user["phoneNumbers"] = json!([{ "type": "work", "value": phone }]);
    }
    user
}
