//! Entra's provisioning sequences (shared/entra.md) through the gateway to the MediusFlow
//! testbed, asserting the testbed's native state after each step.

use crate::support::*;
use serde_json::{json, Value};

const MEDIUS: &str = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An Entra-shaped MediusFlow user: the seed's whole attribute table.
fn medius_user(user_name: &str, configuration: &str) -> Value {
    let local = user_name.split('@').next().unwrap();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", MEDIUS],
        "externalId": local,
        "userName": user_name,
        "active": true,
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada",
                 "displayName": "Ada L"},
        "emails": [{"primary": true, "type": "work", "value": format!("{local}@mail.contoso.com")}],
        "roles": [],
        MEDIUS: {
            "configurationFilter": configuration, "identityProvider": "AzureAD",
            "nameIdentifier": format!("{local}-oid"), "customFieldText1": "c1",
            "customFieldText2": "c2", "customFieldText3": "c3", "customFieldText4": "c4",
            "customFieldText5": "c5"
        }
    })
}

async fn native_user(medius: &Setup, user_name: &str) -> Value {
    medius
        .native("users", "UserName", user_name)
        .await
        .unwrap_or_else(|| panic!("no native user {user_name}"))
}

#[tokio::test]
async fn test_connection_answers_empty_lists() {
    let medius = mediusflow_setup().await;
    let (status, body) = medius
        .get("/Users?filter=userName+eq+%22e3b0c442-98fc-1c14-9afb-f4c8996fb924%22")
        .await;
    assert_eq!((status.as_u16(), &body["totalResults"]), (200, &json!(0)));
    let (status, body) = medius
        .get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22nobody%22")
        .await;
    assert_eq!((status.as_u16(), &body["totalResults"]), (200, &json!(0)));
    let (_, types) = medius.get("/ResourceTypes").await;
    let names: Vec<_> = types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("User"), json!("Group")]);
}

#[tokio::test]
async fn user_lifecycle_with_every_attribute_manager_and_configuration() {
    let medius = mediusflow_setup().await;
    let (_, body) = medius
        .get("/Users?filter=userName+eq+%22ada%40contoso.com%22")
        .await;
    assert_eq!(body["totalResults"], 0);

    // Create from the Approver configuration: every attribute reaches Medius.
    let (status, created) = medius
        .post("/Users", medius_user("ada@contoso.com", "Approver"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let native = native_user(&medius, "ada@contoso.com").await;
    assert_eq!(native["Id"].to_string(), id, "the SCIM id is the Medius Id");
    for (field, value) in [
        ("Email", "ada@mail.contoso.com"),
        ("FirstName", "Ada"),
        ("LastName", "Lovelace"),
        ("DisplayName", "Ada L"),
        ("FormattedName", "Ada Lovelace"),
        ("ExternalId", "ada"),
        ("ConfigurationName", "Approver"),
        ("IdentityProvider", "AzureAD"),
        ("NameIdentifier", "ada-oid"),
        ("CustomFieldText1", "c1"),
        ("CustomFieldText5", "c5"),
    ] {
        assert_eq!(native[field], value, "{field}: {native}");
    }
    assert_eq!(native["IsActive"], true);
    assert_eq!(native["Roles"], json!(["User", "Approver"]));
    assert_eq!(native["Companies"], json!(["Contoso AB"]));

    // ... and comes back on GET.
    let (status, user) = medius.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(user["emails"][0]["value"], "ada@mail.contoso.com");
    assert_eq!(
        user["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace", "displayName": "Ada L"})
    );
    assert_eq!(user["externalId"], "ada");
    assert_eq!(
        user[MEDIUS],
        json!({"configurationFilter": "Approver", "identityProvider": "AzureAD",
               "nameIdentifier": "ada-oid", "customFieldText1": "c1", "customFieldText2": "c2",
               "customFieldText3": "c3", "customFieldText4": "c4", "customFieldText5": "c5"})
    );
    assert!(user["schemas"].as_array().unwrap().contains(&json!(MEDIUS)));

    // Matching ignores case; a duplicate is a 409.
    let (_, body) = medius
        .get("/Users?filter=userName%20eq%20%22ADA%40contoso.com%22")
        .await;
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    let (status, body) = medius
        .post("/Users", medius_user("ada@contoso.com", "Default"))
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));

    // Entra's default dialect: filtered and URN paths.
    let (status, body) = medius
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "augusta@contoso.com"},
                {"op": "Replace", "path": format!("{MEDIUS}:customFieldText2"), "value": "two"},
                {"op": "Remove", "path": format!("{MEDIUS}:customFieldText4")}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = native_user(&medius, "ada@contoso.com").await;
    assert_eq!(
        (&native["FirstName"], &native["Email"]),
        (&json!("Augusta"), &json!("augusta@contoso.com"))
    );
    assert_eq!(
        (&native["CustomFieldText2"], &native["CustomFieldText4"]),
        (&json!("two"), &Value::Null)
    );
    assert_eq!(
        native["Roles"],
        json!(["User", "Approver"]),
        "a write keeps what the configuration gave"
    );

    // The compliance flag's dialect: one pathless op with dotted and URN-qualified keys.
    let (status, body) = medius
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {
                "name.familyName": "King", "name.displayName": "Countess",
                "name.formatted": "Augusta King",
                format!("{MEDIUS}:customFieldText3"): "three",
                format!("{MEDIUS}:nameIdentifier"): "oid-2"
            }}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = native_user(&medius, "ada@contoso.com").await;
    for (field, value) in [
        ("LastName", "King"),
        ("DisplayName", "Countess"),
        ("FormattedName", "Augusta King"),
        ("CustomFieldText3", "three"),
        ("NameIdentifier", "oid-2"),
    ] {
        assert_eq!(native[field], value, "{field}: {native}");
    }

    // Manager: set by a second PATCH with a bare id, cleared with "".
    let (_, boss) = medius
        .post("/Users", medius_user("boss@contoso.com", "Default"))
        .await;
    let boss_id = boss["id"].as_str().unwrap();
    let manager_path = format!("{ENTERPRISE}:manager");
    let (status, body) = medius
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Add", "path": manager_path, "value": boss_id}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = native_user(&medius, "ada@contoso.com").await;
    assert_eq!(native["ManagerId"].to_string(), boss_id);
    let (_, user) = medius.get(&format!("/Users/{id}")).await;
    assert_eq!(user[ENTERPRISE]["manager"]["value"], boss_id);
    let (status, body) = medius
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": manager_path, "value": ""}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        native_user(&medius, "ada@contoso.com").await["ManagerId"],
        Value::Null
    );

    // Disable with the string "False": the user stays, found by GET and filter.
    let (status, body) = medius
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!((status.as_u16(), &body["active"]), (200, &json!(false)));
    assert_eq!(
        native_user(&medius, "ada@contoso.com").await["IsActive"],
        false
    );
    let (_, body) = medius
        .get("/Users?filter=userName+eq+%22ada%40contoso.com%22")
        .await;
    assert_eq!(body["Resources"][0]["active"], false);

    // PUT writes the whole user, still keeping roles and companies.
    let mut replacement = medius_user("ada@contoso.com", "Approver");
    replacement["name"]["givenName"] = json!("Ada");
    let (status, body) = medius.put(&format!("/Users/{id}"), replacement).await;
    assert_eq!(status, 200, "{body}");
    let native = native_user(&medius, "ada@contoso.com").await;
    assert_eq!(
        (&native["FirstName"], &native["IsActive"], &native["Roles"]),
        (&json!("Ada"), &json!(true), &json!(["User", "Approver"]))
    );

    // Hard delete: 204, then 404 twice; the report loses its manager natively too.
    let (status, _) = medius.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204);
    assert!(medius
        .native("users", "UserName", "ada@contoso.com")
        .await
        .is_none());
    let (status, body) = medius.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = medius.delete(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn configuration_filter_chooses_and_an_unknown_one_is_400() {
    let medius = mediusflow_setup().await;
    let (status, body) = medius
        .post("/Users", medius_user("x@contoso.com", "Nonexistent"))
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(medius.state().await["users"].as_array().unwrap().is_empty());

    // Without a configurationFilter, the tenant's default configuration applies.
    let (status, body) = medius
        .post(
            "/Users",
            entra_user("plain@contoso.com", "Plain", "User", None),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let native = native_user(&medius, "plain@contoso.com").await;
    assert_eq!(
        (&native["ConfigurationName"], &native["Roles"]),
        (&json!("Default"), &json!(["User"]))
    );
    // A plain SCIM displayName maps too.
    assert_eq!(native["DisplayName"], "Plain User");

    // A manager id that is no Medius user is a 400, and nothing changes.
    let id = body["id"].as_str().unwrap();
    let (status, body) = medius
        .patch(
            &format!("/Users/{id}"),
            patch_op(
                json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "999"}]),
            ),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
}

#[tokio::test]
async fn group_lifecycle_as_medius_roles() {
    let medius = mediusflow_setup().await;
    let mut ids = Vec::new();
    for name in ["u1", "u2", "u3"] {
        let (status, body) = medius
            .post(
                "/Users",
                medius_user(&format!("{name}@contoso.com"), "Default"),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let numeric: Vec<u64> = ids.iter().map(|id| id.parse().unwrap()).collect();

    let (_, body) = medius
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22")
        .await;
    assert_eq!(body["totalResults"], 0);
    let (status, group) = medius
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                               "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "externalId": "8aa1a0c0", "displayName": "Sales", "meta": {"resourceType": "Group"}}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    let role = || medius.native("roles", "ExternalId", "8aa1a0c0");
    assert_eq!(role().await.unwrap()["Name"], "Sales");

    let members: Vec<_> = ids
        .iter()
        .map(|i| json!({"$ref": null, "value": i}))
        .collect();
    let (status, _) = medius
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Add", "path": "members", "value": members}])),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(role().await.unwrap()["UserIds"], json!(numeric));

    // Removing one member by value list leaves the others.
    let (status, _) = medius
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}])),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        role().await.unwrap()["UserIds"],
        json!([numeric[1], numeric[2]])
    );
    let (status, _) = medius
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]),
            ),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(role().await.unwrap()["UserIds"], json!([numeric[2]]));

    let (_, body) = medius
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(body.get("members").is_none(), "{body}");
    let (_, body) = medius.get(&format!("/Groups/{gid}")).await;
    assert_eq!(body["members"], json!([{"value": ids[2]}]));

    // Rename keeps the members.
    let (status, _) = medius
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}])),
        )
        .await;
    assert_eq!(status, 204);
    let native = role().await.unwrap();
    assert_eq!(
        (&native["Name"], &native["UserIds"]),
        (&json!("Sales EMEA"), &json!([numeric[2]]))
    );
    let (_, body) = medius
        .get("/Groups?filter=displayName+eq+%22sales+emea%22")
        .await;
    assert_eq!(body["totalResults"], 1);

    let (status, _) = medius.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(status, 204);
    assert!(role().await.is_none());
    let (status, body) = medius.get(&format!("/Groups/{gid}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn a_failing_target_is_503_and_nothing_is_reported_done() {
    let medius = mediusflow_setup().await;
    // Fetch the token first, so that the faults hit the API calls themselves.
    let (status, _) = medius.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);

    medius
        .inject_fault(json!({"status": 503, "count": 10}))
        .await;
    let (status, body) = medius
        .post("/Users", medius_user("gil@contoso.com", "Default"))
        .await;
    assert_scim_error(status, &body, 503, None);
    medius.clear_faults().await;
    assert!(medius.state().await["users"].as_array().unwrap().is_empty());

    // A slow target (5 s against the tenant's 3 s timeout) is a retryable error too.
    medius
        .inject_fault(json!({"delay_ms": 5000, "count": 1}))
        .await;
    let (status, body) = medius
        .post("/Users", medius_user("kim@contoso.com", "Default"))
        .await;
    assert_scim_error(status, &body, 503, None);

    // A dropped connection on every attempt of an update: 503, and the user is unchanged.
    let (status, created) = medius
        .post("/Users", medius_user("jon@contoso.com", "Default"))
        .await;
    assert_eq!(status, 201, "{created}");
    medius
        .inject_fault(json!({"drop": true, "count": 10}))
        .await;
    let (status, body) = medius
        .patch(
            &format!("/Users/{}", created["id"].as_str().unwrap()),
            patch_op(json!([{"op": "Replace", "path": "name.givenName", "value": "Changed"}])),
        )
        .await;
    assert_scim_error(status, &body, 503, None);
    medius.clear_faults().await;
    assert_eq!(
        native_user(&medius, "jon@contoso.com").await["FirstName"],
        "Ada"
    );
}
