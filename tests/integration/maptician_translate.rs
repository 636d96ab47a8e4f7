//! Entra's provisioning sequences (shared/entra.md) through the gateway to the Maptician
//! testbed, asserting the testbed's native state after each step. Maptician has users only.

use crate::support::*;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An Entra-shaped Maptician user: the seed's whole attribute table.
fn occupant_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": user_name.split('@').next().unwrap(),
        "userName": user_name,
        "active": "True",
        "meta": {"resourceType": "User"},
        "title": "Engineer",
        "userType": "Employee",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "addresses": [{"type": "work", "locality": "London", "region": "Greater London"}],
        "phoneNumbers": [{"type": "work", "value": "+44 20 7946 0018"},
                         {"type": "mobile", "value": "+44 7700 900123"}],
        ENTERPRISE: {"employeeNumber": "1815", "organization": "Analytical Engines",
                     "department": "Research"}
    })
}

async fn occupant(maptician: &Setup, email: &str) -> Value {
    maptician
        .native("occupants", "email", email)
        .await
        .unwrap_or_else(|| panic!("no occupant {email}"))
}

#[tokio::test]
async fn test_connection_and_discovery_offer_users_only() {
    let maptician = maptician_setup().await;
    let (status, body) = maptician
        .get("/Users?filter=userName+eq+%22e3b0c442-98fc-1c14-9afb-f4c8996fb924%22")
        .await;
    assert_eq!((status.as_u16(), &body["totalResults"]), (200, &json!(0)));
    let (_, types) = maptician.get("/ResourceTypes").await;
    assert_eq!(types["totalResults"], 1);
    assert_eq!(types["Resources"][0]["name"], "User");
    let (_, schemas) = maptician.get("/Schemas").await;
    let ids: Vec<_> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert!(!ids.contains(&json!("urn:ietf:params:scim:schemas:core:2.0:Group")));
    let (status, body) = maptician.get("/Groups?filter=displayName+eq+%22x%22").await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn user_lifecycle_with_every_attribute_soft_delete_and_deactivation() {
    let maptician = maptician_setup().await;
    let (_, body) = maptician
        .get("/Users?filter=userName+eq+%22ada%40contoso.com%22")
        .await;
    assert_eq!(body["totalResults"], 0);

    let (status, created) = maptician
        .post("/Users", occupant_user("ada@contoso.com"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let native = occupant(&maptician, "ada@contoso.com").await;
    assert_eq!(
        native,
        json!({"userID": id, "email": "ada@contoso.com", "firstName": "Ada", "lastName": "Lovelace",
               "title": "Engineer", "userType": "Employee", "department": "Research",
               "organization": "Analytical Engines", "employeeID": "1815", "externalId": "ada",
               "city": "London", "state": "Greater London", "workPhone": "+44 20 7946 0018",
               "mobilePhone": "+44 7700 900123", "active": true, "deleted": false})
    );

    // Every attribute comes back on GET.
    let (status, user) = maptician.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200);
    let get = |path: &str| scim_value(&user, path);
    assert_eq!(
        get("emails"),
        json!([{"type": "work", "value": "ada@contoso.com"}])
    );
    assert_eq!(
        get("addresses"),
        json!([{"type": "work", "locality": "London", "region": "Greater London"}])
    );
    assert_eq!(
        get("phoneNumbers"),
        json!([{"type": "work", "value": "+44 20 7946 0018"},
               {"type": "mobile", "value": "+44 7700 900123"}])
    );
    assert_eq!(
        user[ENTERPRISE],
        json!({"employeeNumber": "1815", "organization": "Analytical Engines", "department": "Research"})
    );
    assert_eq!(
        (
            &user["title"],
            &user["userType"],
            &user["externalId"],
            &user["active"]
        ),
        (
            &json!("Engineer"),
            &json!("Employee"),
            &json!("ada"),
            &json!(true)
        )
    );

    // Matching ignores case; a duplicate's item error is a 409.
    let (_, body) = maptician
        .get("/Users?filter=userName%20eq%20%22ADA%40contoso.com%22")
        .await;
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    let (status, body) = maptician
        .post("/Users", occupant_user("ada@contoso.com"))
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));

    // Entra's default dialect: filtered and URN paths, a remove that clears.
    let (status, body) = maptician
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Replace", "path": "title", "value": "Countess"},
                {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Ockham"},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 7700 900456"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Maths"},
                {"op": "Remove", "path": "userType"}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = occupant(&maptician, "ada@contoso.com").await;
    assert_eq!(
        (&native["title"], &native["city"], &native["state"]),
        (
            &json!("Countess"),
            &json!("Ockham"),
            &json!("Greater London")
        )
    );
    assert_eq!(
        (
            &native["mobilePhone"],
            &native["department"],
            &native["userType"]
        ),
        (&json!("+44 7700 900456"), &json!("Maths"), &Value::Null)
    );

    // The compliance flag's dialect: one pathless op with dotted and URN-qualified keys.
    let (status, body) = maptician
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {
                "name.givenName": "Augusta", "name.familyName": "King",
                format!("{ENTERPRISE}:employeeNumber"): "1816",
                format!("{ENTERPRISE}:organization"): "Royal Society",
                "addresses[type eq \"work\"].region": "Surrey"
            }}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = occupant(&maptician, "ada@contoso.com").await;
    for (field, value) in [
        ("firstName", "Augusta"),
        ("lastName", "King"),
        ("employeeID", "1816"),
        ("organization", "Royal Society"),
        ("state", "Surrey"),
    ] {
        assert_eq!(native[field], value, "{field}: {native}");
    }

    // Deactivation keeps the occupant, with active false, found by GET and filter.
    let (status, body) = maptician
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!((status.as_u16(), &body["active"]), (200, &json!(false)));
    let native = occupant(&maptician, "ada@contoso.com").await;
    assert_eq!(
        (&native["active"], &native["deleted"]),
        (&json!(false), &json!(false))
    );
    let (_, body) = maptician
        .get("/Users?filter=userName+eq+%22ada%40contoso.com%22")
        .await;
    assert_eq!(body["Resources"][0]["active"], false);

    // PUT writes the whole user: what it leaves out is cleared.
    let mut replacement = occupant_user("ada@contoso.com");
    replacement.as_object_mut().unwrap().remove("title");
    let (status, body) = maptician.put(&format!("/Users/{id}"), replacement).await;
    assert_eq!(status, 200, "{body}");
    let native = occupant(&maptician, "ada@contoso.com").await;
    assert_eq!(
        (&native["title"], &native["active"], &native["city"]),
        (&Value::Null, &json!(true), &json!("London"))
    );

    // Delete is Maptician's soft delete; the user is gone for SCIM.
    let (status, _) = maptician.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204);
    assert_eq!(
        occupant(&maptician, "ada@contoso.com").await["deleted"],
        true
    );
    let (status, body) = maptician.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = maptician.delete(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (_, body) = maptician
        .get("/Users?filter=userName+eq+%22ada%40contoso.com%22")
        .await;
    assert_eq!(body["totalResults"], 0);
}

/// The elements of a multi-valued attribute without `primary` (which the gateway may add).
fn scim_value(user: &Value, attribute: &str) -> Value {
    let mut value = user[attribute].clone();
    for element in value.as_array_mut().into_iter().flatten() {
        element.as_object_mut().unwrap().remove("primary");
    }
    value
}

#[tokio::test]
async fn an_item_error_is_the_requests_scim_error() {
    let maptician = maptician_setup().await;
    let (_, grace) = maptician
        .post("/Users", occupant_user("grace@contoso.com"))
        .await;
    let (_, ada) = maptician
        .post("/Users", occupant_user("ada@contoso.com"))
        .await;
    let ada_id = ada["id"].as_str().unwrap();
    // Renaming Ada to Grace's address: Maptician's per-item error, answered as a 409.
    let (status, body) = maptician
        .patch(
            &format!("/Users/{ada_id}"),
            patch_op(json!([{"op": "Replace", "path": "userName", "value": "GRACE@contoso.com"}])),
        )
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    assert_eq!(
        occupant(&maptician, "ada@contoso.com").await["userID"],
        ada_id
    );
    assert!(grace["id"].is_string());
    // Listing pages through every occupant.
    let (_, body) = maptician.get("/Users?startIndex=1&count=1").await;
    assert_eq!(
        (body["totalResults"].as_u64(), body["itemsPerPage"].as_u64()),
        (Some(2), Some(1))
    );
}

#[tokio::test]
async fn a_failing_target_is_a_retryable_error_and_nothing_is_reported_done() {
    let maptician = maptician_setup().await;
    maptician
        .inject_fault(json!({"status": 503, "count": 10}))
        .await;
    let (status, body) = maptician
        .post("/Users", occupant_user("gil@contoso.com"))
        .await;
    assert_scim_error(status, &body, 503, None);
    maptician.clear_faults().await;
    assert!(maptician.state().await["occupants"]
        .as_array()
        .unwrap()
        .is_empty());

    maptician
        .inject_fault(json!({"status": 429, "retry_after": 120, "count": 10}))
        .await;
    let response = maptician
        .client
        .post(format!("{}/Users", maptician.scim))
        .bearer_auth(&maptician.token)
        .header("content-type", SCIM_JSON)
        .body(occupant_user("ivy@contoso.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "120");
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 429, None);
    maptician.clear_faults().await;

    // A slow target (5 s against the tenant's 3 s timeout).
    maptician
        .inject_fault(json!({"delay_ms": 5000, "count": 1}))
        .await;
    let (status, body) = maptician
        .post("/Users", occupant_user("kim@contoso.com"))
        .await;
    assert_scim_error(status, &body, 503, None);

    // A dropped connection on the bulk write of an update: 503, the occupant unchanged.
    let (status, created) = maptician
        .post("/Users", occupant_user("jon@contoso.com"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, _) = maptician.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200);
    // The update reads first (one request), then writes: drop the write.
    maptician
        .inject_fault(json!({"delay_ms": 0, "count": 1}))
        .await;
    maptician
        .inject_fault(json!({"drop": true, "count": 5}))
        .await;
    let (status, body) = maptician
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "title", "value": "Changed"}])),
        )
        .await;
    assert_scim_error(status, &body, 503, None);
    maptician.clear_faults().await;
    assert_eq!(
        occupant(&maptician, "jon@contoso.com").await["title"],
        "Engineer"
    );
}
