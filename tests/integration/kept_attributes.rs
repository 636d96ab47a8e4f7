//! Attributes the gateway keeps for a target that cannot store them (`[tenants.keep]`),
//! through the real path: Meta Networks has no externalId, yet Entra's externalId is answered
//! on every read, matched by filters, changed by PATCH and PUT, forgotten on delete — and
//! never reaches the target.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

const KEEP: &str = "\n[tenants.keep]\nusers = [\"externalId\"]\ngroups = [\"externalId\"]\n";

async fn keeping() -> MetaSetup {
    meta_setup_full(KEEP, "", "").await
}

/// The ids `filter` finds among the tenant's users.
async fn found(meta: &MetaSetup, resource: &str, filter: &str) -> Vec<String> {
    let (status, body) = meta
        .get(&format!(
            "/{resource}?filter={}",
            percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn replace(path: &str, value: Value) -> Value {
    patch_op(json!([{ "op": "Replace", "path": path, "value": value }]))
}

#[tokio::test]
async fn a_users_external_id_is_kept_answered_matched_and_forgotten() {
    let meta = keeping().await;
    let (status, created) = meta
        .post("/Users", entra_user("ana@contoso.com", "Ana", "Ash", None))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["externalId"], "ana");
    let id = created["id"].as_str().unwrap().to_string();
    let native = meta
        .native_user("ana@contoso.com")
        .await
        .expect("created natively");
    assert!(
        !native.to_string().contains("\"ana\""),
        "the target never sees what the gateway keeps: {native}"
    );

    let (_, read) = meta.get(&format!("/Users/{id}")).await;
    assert_eq!(read["externalId"], "ana");
    assert_eq!(
        found(&meta, "Users", r#"externalId eq "ana""#).await,
        [id.as_str()]
    );
    // externalId is case-exact (RFC 7643): another case is another value.
    assert!(found(&meta, "Users", r#"externalId eq "ANA""#)
        .await
        .is_empty());
    assert!(found(&meta, "Users", r#"externalId eq "nobody""#)
        .await
        .is_empty());
    assert_eq!(
        found(
            &meta,
            "Users",
            r#"externalId eq "ana" and userName eq "ana@contoso.com""#
        )
        .await,
        [id.as_str()]
    );

    let (status, patched) = meta
        .patch(
            &format!("/Users/{id}"),
            replace("externalId", json!("ana-2")),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["externalId"], "ana-2");
    assert!(found(&meta, "Users", r#"externalId eq "ana""#)
        .await
        .is_empty());
    assert_eq!(
        found(&meta, "Users", r#"externalId eq "ana-2""#).await,
        [id.as_str()]
    );

    // A PATCH of other attributes keeps it.
    let (status, patched) = meta
        .patch(
            &format!("/Users/{id}"),
            replace("displayName", json!("Ana A. Ash")),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["externalId"], "ana-2");

    // A PUT without it clears it.
    let mut user = entra_user("ana@contoso.com", "Ana", "Ash", None);
    user.as_object_mut().unwrap().remove("externalId");
    let (status, replaced) = meta.put(&format!("/Users/{id}"), user).await;
    assert_eq!(status, 200, "{replaced}");
    assert!(replaced.get("externalId").is_none(), "{replaced}");
    assert!(found(&meta, "Users", r#"externalId eq "ana-2""#)
        .await
        .is_empty());

    let (status, _) = meta
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{ "op": "Add", "path": "externalId", "value": "ana-3" }])),
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = meta.get("/Users?startIndex=1&count=10").await;
    let listed: Vec<&Value> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == id.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{page}");
    assert_eq!(listed[0]["externalId"], "ana-3", "lists carry it too");

    let (status, _) = meta.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204);
    assert!(found(&meta, "Users", r#"externalId eq "ana-3""#)
        .await
        .is_empty());
    assert!(meta.native_user("ana@contoso.com").await.is_none());
}

#[tokio::test]
async fn a_groups_external_id_survives_a_rename_and_members() {
    let meta = keeping().await;
    let (_, user) = meta
        .post("/Users", entra_user("bo@contoso.com", "Bo", "Brink", None))
        .await;
    let user_id = user["id"].as_str().unwrap();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales", "externalId": "g-sales",
        "members": [{ "value": user_id }],
    });
    let (status, created) = meta.post("/Groups", group).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["externalId"], "g-sales");
    let id = created["id"].as_str().unwrap().to_string();
    let (status, _) = meta
        .patch(
            &format!("/Groups/{id}"),
            replace("displayName", json!("Sales EMEA")),
        )
        .await;
    assert_eq!(status, 204);
    let (_, read) = meta
        .get(&format!("/Groups/{id}?excludedAttributes=members"))
        .await;
    assert_eq!(read["externalId"], "g-sales");
    assert_eq!(read["displayName"], "Sales EMEA");
    assert_eq!(
        found(&meta, "Groups", r#"externalId eq "g-sales""#).await,
        [id.as_str()]
    );
    let native = meta
        .native_group("Sales EMEA")
        .await
        .expect("renamed natively");
    assert_eq!(native["users"], json!([user_id]), "{native}");
    assert!(!native.to_string().contains("g-sales"), "{native}");
}

/// Entra's parallel workers: creates of ten users at once each keep their own externalId,
/// and seven PATCHes of one user's externalId at once leave exactly the last one written,
/// which the filter finds (and no other).
#[tokio::test]
async fn parallel_writes_keep_every_value_they_claim() {
    let meta = keeping().await;
    let creates = (0..10)
        .map(|i| {
            let user = entra_user(
                &format!("p{i}@contoso.com"),
                "Par",
                &format!("Allel{i}"),
                None,
            );
            (Method::POST, "/Users".to_string(), Some(user))
        })
        .collect();
    let answers = meta.send_parallel(creates).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, 201, "{body}");
        let id = body["id"].as_str().unwrap();
        assert_eq!(
            found(&meta, "Users", &format!(r#"externalId eq "p{i}""#)).await,
            [id]
        );
    }
    let id = answers[0].1["id"].as_str().unwrap().to_string();
    let patches = (0..7)
        .map(|n| {
            let body = replace("externalId", json!(format!("v{n}")));
            (Method::PATCH, format!("/Users/{id}"), Some(body))
        })
        .collect();
    for (status, body) in meta.send_parallel(patches).await {
        assert_eq!(status, 200, "{body}");
    }
    let (_, read) = meta.get(&format!("/Users/{id}")).await;
    let last = read["externalId"].as_str().unwrap().to_string();
    for n in 0..7 {
        let value = format!("v{n}");
        let ids = found(&meta, "Users", &format!(r#"externalId eq "{value}""#)).await;
        if value == last {
            assert_eq!(ids, [id.as_str()]);
        } else {
            assert!(ids.is_empty(), "{value} is no longer the user's");
        }
    }
}
