//! Real-size directories: each bundled target seeded natively with 50,000 users and 2,000
//! groups (and one group of 50,000 members) before the gateway starts, as every customer's
//! directory exists before Entra. Then Entra's requests — Test Connection, matching on every
//! attribute the target's tutorial lists, GET by id, paging, membership changes — each cost a
//! number of native calls that does not grow with the directory: asserted per request, and
//! printed as a table (`cargo test --test real_size -- --nocapture`; `scripts/bench-size`
//! writes it to BENCHMARKS.md).

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;
use support::*;

const USERS: usize = 50_000;
const SEED: &str =
    r#"{"users": 50000, "groups": 2000, "members_per_group": 25, "large_group": 50000}"#;

/// The native calls a target has answered so far.
async fn native_calls(setup: &Setup) -> u64 {
    let counts: Value = setup
        .client
        .get(format!("{}/_testbed/requests", setup.testbed.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counts["total"].as_u64().unwrap()
}

/// What one SCIM request cost.
struct Cost {
    target: &'static str,
    request: String,
    native: u64,
    millis: f64,
}

struct Costs {
    target: &'static str,
    rows: Vec<Cost>,
}

impl Costs {
    fn new(target: &'static str) -> Self {
        Self {
            target,
            rows: Vec::new(),
        }
    }

    /// Sends one request, records its native calls, asserts the status and at most
    /// `bound` native calls, and answers the body.
    async fn measure(
        &mut self,
        setup: &Setup,
        request: &str,
        (method, path, body): (reqwest::Method, &str, Option<Value>),
        status: u16,
        bound: u64,
    ) -> Value {
        let before = native_calls(setup).await;
        let started = Instant::now();
        let (answered, answer) = setup.send(method, path, body).await;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let native = native_calls(setup).await - before;
        assert_eq!(
            answered,
            StatusCode::from_u16(status).unwrap(),
            "{request}: {answer}"
        );
        assert!(
            native <= bound,
            "{} {request}: {native} native calls, at most {bound} expected",
            self.target
        );
        self.rows.push(Cost {
            target: self.target,
            request: request.to_string(),
            native,
            millis,
        });
        answer
    }

    fn print(&self) {
        for row in &self.rows {
            println!(
                "| {} | {} | {} | {:.0} |",
                row.target, row.request, row.native, row.millis
            );
        }
    }
}

fn get(path: &str) -> (reqwest::Method, &str, Option<Value>) {
    (reqwest::Method::GET, path, None)
}

fn filter(expression: &str) -> String {
    format!(
        "/Users?filter={}",
        expression.replace(' ', "+").replace('"', "%22")
    )
}

/// Test Connection, matching, GET by id and paging of users; answers a seeded user's id.
async fn users(costs: &mut Costs, setup: &Setup, attributes: &[(&str, &str)]) -> String {
    // The first request meets an index (where the target needs one) built from nothing: a
    // pass over the directory, paid once (then kept fresh in the background).
    let before = native_calls(setup).await;
    let started = Instant::now();
    let (status, body) = setup
        .get(&filter(
            r#"userName eq "e3b0c442-98fc-1c14-9afb-f4c8996fb924""#,
        ))
        .await;
    assert_eq!(
        (status.as_u16(), &body["totalResults"]),
        (200, &json!(0)),
        "{body}"
    );
    costs.rows.push(Cost {
        target: costs.target,
        request: "first request (builds the index, once)".into(),
        native: native_calls(setup).await - before,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    });
    costs
        .measure(
            setup,
            "Test Connection (userName eq <guid>)",
            get(&filter(
                r#"userName eq "a6c1ed27-51a8-4d0e-b1b4-3b2f8d1f9a00""#,
            )),
            200,
            3,
        )
        .await;
    let mut id = String::new();
    for (attribute, value) in attributes {
        let body = costs
            .measure(
                setup,
                &format!("match on {attribute}"),
                get(&filter(&format!(r#"{attribute} eq "{value}""#))),
                200,
                4,
            )
            .await;
        assert_eq!(body["totalResults"], 1, "{attribute}: {body}");
        id = body["Resources"][0]["id"].as_str().unwrap().to_string();
    }
    costs
        .measure(
            setup,
            "GET /Users/{id}",
            get(&format!("/Users/{id}")),
            200,
            3,
        )
        .await;
    for (start, label) in [(1, "first"), (101, "next"), (40_001, "far")] {
        let path = format!("/Users?startIndex={start}&count=100");
        // A far page without a cursor walks the pages before it where the target pages
        // only by cursor (Meta): within 100 calls of 500, not per user.
        let bound = if label == "far" { 100 } else { 3 };
        let body = costs
            .measure(
                setup,
                &format!("page of 100 ({label})"),
                get(&path),
                200,
                bound,
            )
            .await;
        assert_eq!(
            body["totalResults"], USERS,
            "{label} page: {}",
            body["totalResults"]
        );
        assert_eq!(body["Resources"].as_array().unwrap().len(), 100);
    }
    id
}

#[tokio::test]
async fn maptician_at_fifty_thousand_users() {
    let maptician = seeded(SEED, maptician_setup()).await;
    let mut costs = Costs::new("Maptician");
    users(
        &mut costs,
        &maptician,
        &[
            ("userName", "seed49999@example.com"),
            ("externalId", "seed-49999"),
            ("emails[type eq \"work\"].value", "seed49999@example.com"),
        ],
    )
    .await;
    costs.print();
}
