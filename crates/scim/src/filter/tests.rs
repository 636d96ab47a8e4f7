use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::urn::ENTERPRISE_USER;

fn cmp(attr: &str, op: CompareOp, value: Value) -> Filter {
    Filter::Compare {
        path: AttrPath::new(attr),
        op,
        value,
    }
}

fn user() -> Value {
    json!({
        "schemas": [crate::urn::USER, ENTERPRISE_USER],
        "id": "AbC-1",
        "externalId": "Ext-9",
        "userName": "BJensen@Example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": "True",
        "title": "",
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "meta": {"lastModified": "2024-05-01T10:00:00Z"},
        "loginCount": 42,
        ENTERPRISE_USER: {"department": "Tour Operations", "manager": {"value": "boss-1"}}
    })
}

fn matches(filter: &str) -> bool {
    parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&user())
}

#[test]
fn parses_entra_matching_queries() {
    assert_eq!(
        parse(r#"userName eq "x""#).unwrap(),
        cmp("userName", CompareOp::Eq, json!("x"))
    );
    let f = parse(r#"emails[type eq "work"].value eq "x""#).unwrap();
    assert_eq!(
        f,
        Filter::ValuePath {
            attr: AttrPath::new("emails"),
            filter: Box::new(Filter::And(
                Box::new(cmp("type", CompareOp::Eq, json!("work"))),
                Box::new(cmp("value", CompareOp::Eq, json!("x"))),
            )),
        }
    );
}

#[test]
fn keywords_and_operators_are_case_insensitive() {
    let f = parse(r#"NOT (active EQ TRUE) AND title PR Or userName Sw "a""#).unwrap();
    assert_eq!(
        f.to_string(),
        r#"not (active eq true) and title pr or userName sw "a""#
    );
    let spaced = parse("  not(a pr)   and   b pr  ").unwrap();
    assert_eq!(spaced.to_string(), "not (a pr) and b pr");
}

#[test]
fn and_binds_tighter_than_or() {
    let f = parse("a pr or b pr and c pr").unwrap();
    assert!(matches!(f, Filter::Or(_, ref right) if matches!(**right, Filter::And(..))));
    assert_eq!(
        parse("(a pr or b pr) and c pr").unwrap().to_string(),
        "(a pr or b pr) and c pr"
    );
}

#[test]
fn parses_sub_attributes_and_urn_qualified_paths() {
    let f = parse(&format!(r#"{ENTERPRISE_USER}:manager.value eq "boss-1""#)).unwrap();
    let (path, value) = f.simple_eq().unwrap();
    assert_eq!(path.urn.as_deref(), Some(ENTERPRISE_USER));
    assert_eq!(
        (path.attr.as_str(), path.sub_attr.as_deref()),
        ("manager", Some("value"))
    );
    assert_eq!(value, &json!("boss-1"));
    let misspelt =
        parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0User:department eq "x""#)
            .unwrap();
    assert_eq!(
        misspelt.to_string(),
        format!(r#"{ENTERPRISE_USER}:department eq "x""#)
    );
    assert_eq!(
        parse("name.givenName pr").unwrap().to_string(),
        "name.givenName pr"
    );
    assert_eq!(
        parse("members.$ref pr").unwrap().to_string(),
        "members.$ref pr"
    );
}

#[test]
fn parses_literals() {
    let f = parse(r#"a eq "q\"uo\\te\u00e9" or b gt -1.5e3 or c eq null or d ne FALSE"#).unwrap();
    assert_eq!(
        f.to_string(),
        r#"a eq "q\"uo\\teé" or b gt -1500.0 or c eq null or d ne false"#
    );
}

#[test]
fn rejects_malformed_filters_with_a_position() {
    for bad in [
        "",
        "userName",
        "userName eq",
        r#"userName xx "a""#,
        r#"userName eq "a"#,
        r#"userName eq bare"#,
        r#"(userName eq "a""#,
        r#"userName eq "a" and"#,
        r#"emails[type eq "work""#,
        r#"emails[a[b eq 1]]"#,
        r#"name.givenName[value eq 1]"#,
        r#"a.b.c pr"#,
        r#"userName eq "a" extra"#,
    ] {
        let err = parse(bad).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type.as_deref()),
            (400, Some("invalidFilter")),
            "{bad}"
        );
        assert!(err.detail.contains("at byte"), "{bad}: {}", err.detail);
    }
}

#[test]
fn hostile_nesting_is_a_clean_error() {
    for hostile in [
        "(".repeat(10_000),
        "not (".repeat(5_000),
        format!("{}a pr{}", "(".repeat(65), ")".repeat(65)),
    ] {
        let err = parse(&hostile).unwrap_err();
        assert_eq!(err.scim_type.as_deref(), Some("invalidFilter"));
    }
    let ok = format!("{}a pr{}", "(".repeat(64), ")".repeat(64));
    assert!(parse(&ok).is_ok());
}

#[test]
fn long_chains_do_not_overflow() {
    let chain = vec!["a pr"; 800].join(" and ");
    let f = parse(&chain).unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap()["filters"]
            .as_array()
            .unwrap()
            .len(),
        800
    );
    assert!(f.matches(&json!({"a": 1})));
    assert_eq!(f.to_string(), chain);
}

#[test]
fn evaluates_case_insensitive_names_and_values() {
    assert!(matches(r#"username eq "bjensen@example.com""#));
    assert!(matches(r#"NAME.GIVENNAME sw "bar""#));
    assert!(matches(
        r#"emails[type eq "work"].value eq "BJENSEN@example.com""#
    ));
    assert!(matches(r#"emails[TYPE eq "Work" and primary eq true]"#));
    assert!(!matches(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#
    ));
}

#[test]
fn case_exact_attributes_compare_exactly() {
    assert!(matches(r#"id eq "AbC-1""#));
    assert!(!matches(r#"id eq "abc-1""#));
    assert!(!matches(r#"externalId eq "ext-9""#));
    assert!(matches(r#"externalId eq "Ext-9""#));
}

#[test]
fn evaluates_multi_valued_without_brackets() {
    assert!(matches(r#"emails.value eq "babs@jensen.org""#));
    assert!(matches(r#"emails co "jensen.org""#));
    assert!(matches(r#"emails.type eq "home""#));
    assert!(!matches(r#"emails.value eq "nobody@x""#));
}

#[test]
fn evaluates_extensions_booleans_and_ordering() {
    assert!(matches(&format!(
        r#"{ENTERPRISE_USER}:department co "tour""#
    )));
    assert!(matches(&format!(
        r#"{ENTERPRISE_USER}:manager.value eq "boss-1""#
    )));
    assert!(matches(r#"active eq true"#));
    assert!(!matches(r#"active eq false"#));
    assert!(matches(r#"loginCount gt 41 and loginCount le 42"#));
    assert!(matches(r#"meta.lastModified gt "2024-01-01T00:00:00Z""#));
    assert!(!matches(r#"meta.lastModified lt "2024-01-01T00:00:00Z""#));
}

#[test]
fn evaluates_presence_negation_and_null() {
    assert!(matches("userName pr"));
    assert!(!matches("title pr"));
    assert!(!matches("nickName pr"));
    assert!(matches("nickName eq null"));
    assert!(matches(r#"nickName ne "x""#));
    assert!(matches(r#"not (userName eq "someone")"#));
    assert!(matches(r#"userName ew "COM" or nickName pr"#));
}

#[test]
fn serialises_for_adapters() {
    let f = parse(r#"userName eq "x" and (title pr or not (emails[type eq "work"]))"#).unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"op": "and", "filters": [
            {"op": "eq", "attribute": "userName", "value": "x"},
            {"op": "or", "filters": [
                {"op": "pr", "attribute": "title"},
                {"op": "not", "filter": {"op": "valuePath", "attribute": "emails",
                    "filter": {"op": "eq", "attribute": "type", "value": "work"}}}
            ]}
        ]})
    );
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        Just(None),
        Just(Some(ENTERPRISE_USER.to_owned())),
        Just(Some("urn:x:custom".to_owned()))
    ];
    let sub = proptest::option::of("[a-zA-Z][a-zA-Z0-9_-]{0,6}");
    (urn, "[a-zA-Z][a-zA-Z0-9_]{0,8}", sub).prop_map(|(urn, attr, sub_attr)| AttrPath {
        urn,
        attr,
        sub_attr,
    })
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Filter> {
    let op = proptest::sample::select(CompareOp::ALL.to_vec());
    prop_oneof![
        (arb_path(), op, arb_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
        arb_path().prop_map(|path| Filter::Present { path }),
    ]
}

/// Filters without value paths: the grammar allowed inside `[...]`.
fn arb_val_filter() -> impl Strategy<Value = Filter> {
    arb_leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let value_path = (arb_path(), arb_val_filter()).prop_map(|(mut attr, filter)| {
        attr.sub_attr = None;
        Filter::ValuePath {
            attr,
            filter: Box::new(filter),
        }
    });
    prop_oneof![arb_leaf(), value_path].prop_recursive(4, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #[test]
    fn print_then_parse_round_trips(f in arb_filter()) {
        let text = f.to_string();
        prop_assert_eq!(parse(&text), Ok(f), "{}", text);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }
}

#[test]
fn equalities_are_what_every_match_satisfies() {
    let text = |f: &str| -> Vec<(String, Value)> {
        parse(f)
            .unwrap()
            .equalities()
            .into_iter()
            .map(|(path, value)| (path.to_string(), value.clone()))
            .collect()
    };
    assert_eq!(
        text(r#"userName eq "a""#),
        [("userName".into(), json!("a"))]
    );
    assert_eq!(
        text(r#"emails[type eq "work"].value eq "a@b""#),
        [
            ("emails.type".into(), json!("work")),
            ("emails.value".into(), json!("a@b"))
        ]
    );
    assert_eq!(
        text(r#"externalId eq "x" and active eq true"#),
        [
            ("externalId".into(), json!("x")),
            ("active".into(), json!(true))
        ]
    );
    assert!(text(r#"userName eq "a" or userName eq "b""#).is_empty());
    assert!(text(r#"not (userName eq "a")"#).is_empty());
    assert!(text(r#"userName sw "a""#).is_empty());
}
