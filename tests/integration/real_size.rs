//! Real-size directories: each bundled target seeded natively with 50,000 users and 2,000
//! groups (and one group of 50,000 members) before the gateway starts, as every customer's
//! directory exists before Entra. Then Entra's requests — Test Connection, matching on every
//! attribute the target's tutorial lists, GET by id, paging, membership changes — each cost a
//! number of native calls that does not grow with the directory: asserted per request, and
//! printed as a table (`cargo test --test real_size -- --nocapture`; `scripts/bench-size`
//! writes it to BENCHMARKS.md).

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;

const USERS: usize = 50_000;
const SEED: &str =
    r#"{"users": 50000, "groups": 2000, "members_per_group": 25, "large_group": 50000}"#;

/// The native calls a target has answered so far.
async fn native_calls(setup: &Setup) -> u64 {
    native_requests(&setup.testbed).await
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

    /// One table row per kind of request (repeated ones: the most native calls any took).
    fn print(&self) {
        println!();
        let mut seen: Vec<&str> = Vec::new();
        for row in &self.rows {
            if seen.contains(&row.request.as_str()) {
                continue;
            }
            seen.push(&row.request);
            let same: Vec<&Cost> = self
                .rows
                .iter()
                .filter(|r| r.request == row.request)
                .collect();
            let native = same.iter().map(|r| r.native).max().unwrap_or(0);
            let millis = same.iter().map(|r| r.millis).sum::<f64>() / same.len() as f64;
            let times = if same.len() > 1 {
                format!(" (×{})", same.len())
            } else {
                String::new()
            };
            println!(
                "| {} | {}{times} | {native} | {millis:.0} |",
                row.target, row.request
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
    // The first lookup on an attribute the target cannot filter on meets an index built
    // from nothing: a pass over the directory, paid once (then kept fresh in the background).
    for (attribute, _) in attributes {
        let before = native_calls(setup).await;
        let started = Instant::now();
        let (status, body) = setup
            .get(&filter(&format!(
                r#"{attribute} eq "nobody@nowhere.example""#
            )))
            .await;
        assert_eq!(
            (status.as_u16(), &body["totalResults"]),
            (200, &json!(0)),
            "{body}"
        );
        costs.rows.push(Cost {
            target: costs.target,
            request: format!("first lookup on {attribute} (where indexed: the first pass, once)"),
            native: native_calls(setup).await - before,
            millis: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
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
    // A target that cannot count (Meta) is counted by the gateway's index when first paged.
    let before = native_calls(setup).await;
    let (status, body) = setup.get("/Users?startIndex=1&count=1").await;
    assert_eq!(
        (status.as_u16(), &body["totalResults"]),
        (200, &json!(USERS)),
        "{body}"
    );
    costs.rows.push(Cost {
        target: costs.target,
        request: "first page (counts the directory where the target cannot, once)".into(),
        native: native_calls(setup).await - before,
        millis: 0.0,
    });
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
    // A page asked larger than discovery's filter.maxResults is never larger than it (it
    // may be smaller: a server answers fewer than asked, and says so in itemsPerPage).
    let (_, config) = setup.get("/ServiceProviderConfig").await;
    let most = config["filter"]["maxResults"].as_u64().unwrap();
    let (status, body) = setup
        .get(&format!("/Users?startIndex=1&count={}", most * 5))
        .await;
    assert_eq!(status, 200, "{body}");
    let returned = body["Resources"].as_array().unwrap().len() as u64;
    assert!(
        returned > 0 && returned <= most,
        "{returned} of at most {most}"
    );
    assert_eq!(body["itemsPerPage"], returned);
    id
}

/// Users made through the gateway, as Entra creates them; answers their ids.
async fn created_users(
    costs: &mut Costs,
    setup: &Setup,
    count: usize,
    body: fn(&str) -> Value,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let user = body(&format!("new{i}@contoso.com"));
        let created = costs
            .measure(
                setup,
                "create user",
                (reqwest::Method::POST, "/Users", Some(user)),
                201,
                3,
            )
            .await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids
}

fn members(op: &str, ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    patch_op(json!([{"op": op, "path": "members", "value": value}]))
}

/// Matching, reading and paging groups, and Entra's membership batches on the group of
/// 50,000 members. `large` is that group's id; `batch` bounds a batch's native calls.
async fn groups(costs: &mut Costs, setup: &Setup, large: &str, new_users: &[String], batch: u64) {
    let group = format!("/Groups/{large}");
    let body = costs
        .measure(
            setup,
            "GET a 50,000-member group, excludedAttributes=members",
            get(&format!("{group}?excludedAttributes=members")),
            200,
            2,
        )
        .await;
    assert!(body.get("members").is_none(), "{body}");
    let patch = |body: Value| (reqwest::Method::PATCH, group.as_str(), Some(body));
    costs
        .measure(
            setup,
            "add 10 members (one PATCH)",
            patch(members("Add", new_users)),
            204,
            batch,
        )
        .await;
    costs
        .measure(
            setup,
            "remove 5 members (value list)",
            patch(members("Remove", &new_users[..5])),
            204,
            batch,
        )
        .await;
    let by_filter = patch_op(
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", new_users[5])}]),
    );
    costs
        .measure(
            setup,
            "remove a member (filter path)",
            patch(by_filter),
            204,
            batch,
        )
        .await;
    let body = costs
        .measure(
            setup,
            "GET the group with its 50,004 members",
            get(&group),
            200,
            2,
        )
        .await;
    assert_eq!(body["members"].as_array().unwrap().len(), 50_004);
}

async fn seeded_groups(costs: &mut Costs, setup: &Setup) -> String {
    let found = costs
        .measure(
            setup,
            "match on displayName",
            get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Seed+Group+1999%22"),
            200,
            3,
        )
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let before = native_calls(setup).await;
    let (status, _) = setup
        .get("/Groups?startIndex=1&count=1&excludedAttributes=members")
        .await;
    assert_eq!(status, 200);
    costs.rows.push(Cost {
        target: costs.target,
        request: "first page of groups (counts them where the target cannot, once)".into(),
        native: native_calls(setup).await - before,
        millis: 0.0,
    });
    for (start, label) in [(1, "first"), (101, "next")] {
        let body = costs
            .measure(
                setup,
                &format!("page of 100 groups ({label})"),
                get(&format!(
                    "/Groups?startIndex={start}&count=100&excludedAttributes=members"
                )),
                200,
                3,
            )
            .await;
        assert_eq!(body["Resources"].as_array().unwrap().len(), 100);
        assert_eq!(body["totalResults"], 2_001, "{}", body["totalResults"]);
    }
    let large = costs
        .measure(
            setup,
            "match the 50,000-member group",
            get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Seed+Large+Group%22"),
            200,
            3,
        )
        .await;
    large["Resources"][0]["id"].as_str().unwrap().to_string()
}

fn entra(user_name: &str) -> Value {
    entra_user(user_name, "New", "User", None)
}

fn entra_with_role(user_name: &str) -> Value {
    let mut user = entra(user_name);
    user["roles"] =
        json!([{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Member"}]);
    user
}

#[tokio::test]
async fn meta_networks_at_fifty_thousand_users() {
    let meta = seeded(SEED, meta_setup()).await;
    let mut costs = Costs::new("Meta Networks");
    users(&mut costs, &meta, &[("userName", "seed49999@example.com")]).await;
    let new_users = created_users(&mut costs, &meta, 10, entra).await;
    let large = seeded_groups(&mut costs, &meta).await;
    groups(&mut costs, &meta, &large, &new_users, 2).await;
    costs.print();
}

#[tokio::test]
async fn mediusflow_at_fifty_thousand_users() {
    let medius = seeded(SEED, mediusflow_setup()).await;
    let mut costs = Costs::new("MediusFlow");
    users(
        &mut costs,
        &medius,
        &[
            ("userName", "seed49999@example.com"),
            ("externalId", "seed-49999"),
            ("emails[type eq \"work\"].value", "seed49999@example.com"),
        ],
    )
    .await;
    let new_users = created_users(&mut costs, &medius, 10, entra).await;
    let large = seeded_groups(&mut costs, &medius).await;
    groups(&mut costs, &medius, &large, &new_users, 2).await;
    costs.print();
}

#[tokio::test]
async fn rhombus_at_fifty_thousand_users() {
    let rhombus = seeded(
        SEED,
        rhombus_setup(scimitar_testbeds::rhombus::Options {
            rate_limit: None,
            ..Default::default()
        }),
    )
    .await;
    let mut costs = Costs::new("Rhombus");
    users(
        &mut costs,
        &rhombus,
        &[("userName", "seed49999@example.com")],
    )
    .await;
    created_users(&mut costs, &rhombus, 2, entra_with_role).await;
    costs.print();
}

#[tokio::test]
async fn mx3_at_fifty_thousand_users() {
    let mx3 = seeded(SEED, mx3_setup()).await;
    let mut costs = Costs::new("MX3");
    users(
        &mut costs,
        &mx3,
        &[
            ("userName", "seed49999@example.com"),
            ("externalId", "seed-49999"),
        ],
    )
    .await;
    let new_users = created_users(&mut costs, &mx3, 10, entra).await;
    // MX3 keeps groups as tags: the seeded ones exist for Entra once it creates them.
    let created = costs
        .measure(
            &mx3,
            "create the group over a 50,000-member tag",
            (
                reqwest::Method::POST,
                "/Groups",
                Some(json!({"displayName": "Seed Large Group"})),
            ),
            201,
            1,
        )
        .await;
    let large = created["id"].as_str().unwrap().to_string();
    // A batch reads each member it changes, then writes them at once.
    groups(&mut costs, &mx3, &large, &new_users, 12).await;
    costs.print();
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

/// Users created natively after the index's last pass (a directory changes behind the
/// gateway's back) are found once the index is stale, through one pass of pages, never a
/// scan per request; a fresh index answers "none" with no native call at all.
#[tokio::test]
async fn a_stale_index_is_completed_by_a_bounded_pass_before_it_answers() {
    let options = scimitar_testbeds::maptician::Options::default();
    let secrets = SecretFiles::new(&[("token", &options.api_token)]);
    let testbed = scimitar_testbeds::maptician::start(([127, 0, 0, 1], 0).into(), options)
        .await
        .unwrap();
    seed_testbed(&testbed, r#"{"users": 2000}"#).await;
    let index = "users = [\"userName\"]\nfresh_secs = 3\npage_size = 500";
    let spec = maptician_spec(&testbed, &secrets, "maptician", index);
    let setup = serve_tenant(testbed, spec, "/maptician", secrets, "").await;
    let pass = 2000 / 500 + 1;
    let found = |body: &Value| body["totalResults"].as_u64();

    let before = native_calls(&setup).await;
    let (status, body) = setup
        .get(&filter("userName eq \"seed1999@example.com\""))
        .await;
    assert_eq!((status.as_u16(), found(&body)), (200, Some(1)), "{body}");
    assert!(native_calls(&setup).await - before <= pass + 2);

    // Added natively, behind the gateway's back; the index is stale after 3 s.
    seed_testbed(&setup.testbed, r#"{"users": 1}"#).await;
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let before = native_calls(&setup).await;
    let (status, body) = setup
        .get(&filter("userName eq \"seed2000@example.com\""))
        .await;
    assert_eq!((status.as_u16(), found(&body)), (200, Some(1)), "{body}");
    let cost = native_calls(&setup).await - before;
    assert!(cost <= pass + 2, "{cost} native calls: more than one pass");

    // Fresh again: "nobody" is answered from the index alone.
    let before = native_calls(&setup).await;
    let (status, body) = setup
        .get(&filter("userName eq \"nobody@example.com\""))
        .await;
    assert_eq!((status.as_u16(), found(&body)), (200, Some(0)), "{body}");
    assert_eq!(native_calls(&setup).await - before, 0);
}

/// Replicas on one PostgreSQL store share the index: what one replica's pass recorded, the
/// other answers from without a pass of its own.
#[tokio::test]
async fn replicas_on_postgresql_share_the_index() {
    let store = test_postgres_url();
    let options = scimitar_testbeds::maptician::Options::default();
    let secrets = SecretFiles::new(&[("token", &options.api_token)]);
    let testbed = scimitar_testbeds::maptician::start(([127, 0, 0, 1], 0).into(), options)
        .await
        .unwrap();
    seed_testbed(&testbed, r#"{"users": 3000}"#).await;
    // A tenant name of this run's own, so that no earlier run's index is met.
    let name = format!(
        "maptician-replicas-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let spec = maptician_spec(
        &testbed,
        &secrets,
        &name,
        "users = [\"userName\"]\npage_size = 500",
    );
    let token = spec.token.clone();
    let tenants = tenants_toml(&[spec]);
    let a = start_gateway_on_store(&tenants, "", &store, "").await;
    let setup = Setup::from_parts(testbed, a, "/maptician", &token, secrets);
    let (status, body) = setup
        .get(&filter("userName eq \"seed2999@example.com\""))
        .await;
    assert_eq!(
        (status.as_u16(), body["totalResults"].as_u64()),
        (200, Some(1)),
        "{body}"
    );

    let b = start_gateway_on_store(&tenants, "", &store, "").await;
    let before = native_calls(&setup).await;
    let (status, body) = read(
        setup
            .client
            .get(format!(
                "{}/maptician{}",
                b.url,
                filter("userName eq \"seed1234@example.com\"")
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["totalResults"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    let cost = native_calls(&setup).await - before;
    assert!(
        cost <= 2,
        "the second replica made {cost} native calls: it did not use the shared index"
    );
}
