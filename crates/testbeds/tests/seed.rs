//! `POST /_testbed/seed` on every testbed: a directory of real size, made at once, in each
//! application's own shape.

use scimitar_testbeds::{maptician, mediusflow, meta_networks, mx3, rhombus, Testbed};
use serde_json::{json, Value};

const SEED: &str =
    r#"{"users": 50000, "groups": 2000, "members_per_group": 25, "large_group": 50000}"#;

async fn seed(testbed: &Testbed, body: &str) -> (Value, Value) {
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/_testbed/seed", testbed.url))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let counts: Value = answer.json().await.unwrap();
    let state = http
        .get(format!("{}/_testbed/state", testbed.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (counts, state)
}

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
async fn every_testbed_takes_fifty_thousand_existing_accounts() {
    let meta = meta_networks::start(local(), Default::default())
        .await
        .unwrap();
    let (counts, state) = seed(&meta, SEED).await;
    assert_eq!(counts, json!({"users": 50000, "groups": 2001}));
    let large = state["groups"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(large["name"], "Seed Large Group");
    assert_eq!(large["users"].as_array().unwrap().len(), 50000);
    assert_eq!(state["users"][49999]["email"], "seed49999@example.com");

    let medius = mediusflow::start(local(), Default::default())
        .await
        .unwrap();
    let (counts, state) = seed(&medius, SEED).await;
    assert_eq!(counts, json!({"users": 50000, "roles": 2001}));
    assert_eq!(state["users"][7]["ExternalId"], "seed-7");
    assert_eq!(state["roles"][3]["UserIds"].as_array().unwrap().len(), 25);

    let maptician = maptician::start(local(), Default::default()).await.unwrap();
    let (counts, _) = seed(&maptician, SEED).await;
    assert_eq!(counts, json!({"occupants": 50000}));

    let rhombus = rhombus::start(local(), Default::default()).await.unwrap();
    let (counts, state) = seed(&rhombus, SEED).await;
    assert_eq!(counts, json!({"users": 50000}));
    assert_eq!(state["users"][0]["status"], "JOINED");

    let mx3 = mx3::start(local(), Default::default()).await.unwrap();
    let (counts, state) = seed(&mx3, SEED).await;
    assert_eq!(counts, json!({"users": 50000}));
    let first = &state["organisations"][0]["users"][0];
    assert_eq!(first["tags"], json!(["Seed Group 0", "Seed Large Group"]));
    assert_eq!(
        state["organisations"][1]["users"],
        json!([]),
        "the first organisation only"
    );

    // A second seed numbers on.
    let (counts, state) = seed(&maptician, r#"{"users": 2}"#).await;
    assert_eq!(counts, json!({"occupants": 50002}));
    assert_eq!(state["occupants"][50001]["email"], "seed50001@example.com");
}
