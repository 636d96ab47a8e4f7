//! Protocol-core costs on Entra's hot paths: matching filters (one per provisioning decision),
//! evaluating a filter over a tenant's users in memory, and an Entra PATCH. Each is set beside
//! a serde_json baseline measured in the same run, since the gateway pays that parse anyway.
//! `scripts/bench-core` runs this and writes BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scimitar_scim::{apply_patch, filter, parse_patch, ResourceKind};
use serde_json::{json, Value};

/// The match Entra makes before every create.
const TYPICAL_FILTER: &str = r#"userName eq "alice@contoso.com""#;
/// The same filter in the JSON form adapters receive: the serde_json baseline for parsing.
const TYPICAL_FILTER_JSON: &str =
    r#"{"op":"eq","attribute":"userName","value":"alice@contoso.com"}"#;
/// Every construct at once: value filters, Entra's `].value`, URN paths, not, precedence.
const COMPLEX_FILTER: &str = concat!(
    r#"(emails[type eq "work" and value co "@contoso.com"] or userName sw "ali") "#,
    r#"and not (active eq false) and emails[type eq "work"].value ew ".com" "#,
    r#"and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales" "#,
    r#"and meta.lastModified gt "2026-01-01T00:00:00Z""#
);
const USERS: usize = 10_000;

/// Entra's PATCH with the aadOptscim062020 flag: simple attributes in one pathless replace
/// with dotted and URN-qualified keys, and an Add on a filtered path that creates the element.
const TYPICAL_PATCH: &str = r#"{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [
    {"op": "replace", "value": {
      "name.givenName": "Alicia", "name.familyName": "Jones", "active": true,
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"}},
    {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "alicia@contoso.com"}
  ]
}"#;

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": format!("usr-{i}"),
        "externalId": format!("user{i}"),
        "userName": format!("user{i}@contoso.com"),
        "active": !i.is_multiple_of(10),
        "name": {"givenName": "User", "familyName": format!("N{i}")},
        "emails": [{"type": "work", "value": format!("user{i}@contoso.com"), "primary": true}],
        "meta": {"resourceType": "User", "lastModified": "2026-03-01T12:00:00Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"department": if i.is_multiple_of(3) { "Sales" } else { "R&D" }}
    })
}

fn filters(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter");
    group.bench_function("parse typical", |b| {
        b.iter(|| filter::parse(black_box(TYPICAL_FILTER)).unwrap())
    });
    group.bench_function("baseline: serde_json parse of its JSON form", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(TYPICAL_FILTER_JSON)).unwrap())
    });
    group.bench_function("parse complex", |b| {
        b.iter(|| filter::parse(black_box(COMPLEX_FILTER)).unwrap())
    });
    let users: Vec<Value> = (0..USERS).map(user).collect();
    for (name, text) in [("typical", TYPICAL_FILTER), ("complex", COMPLEX_FILTER)] {
        let parsed = filter::parse(text).unwrap();
        group.bench_function(format!("evaluate {name} over {USERS} users"), |b| {
            b.iter(|| users.iter().filter(|u| parsed.matches(u)).count())
        });
    }
    group.finish();
}

fn patch(c: &mut Criterion) {
    let mut group = c.benchmark_group("patch");
    let body: Value = serde_json::from_str(TYPICAL_PATCH).unwrap();
    let target = user(1);
    group.bench_function("parse+apply typical Entra PATCH", |b| {
        b.iter_batched_ref(
            || target.clone(),
            |resource| {
                let ops = parse_patch(black_box(&body), ResourceKind::User).unwrap();
                apply_patch(resource, &ops).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("baseline: serde_json parse of its body", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(TYPICAL_PATCH)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, filters, patch);
criterion_main!(benches);
