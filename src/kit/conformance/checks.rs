//! The checks, in the order Entra's provisioning service would send their requests: discovery
//! and test connection, then a user's life (match, create, duplicate, both PATCH dialects,
//! manager), a group's (create empty, add members, remove by value and by filter path,
//! rename, delete), disabling and enabling, paging, and deletion.

use super::client::{Answer, ScimClient};
use super::{ensure, Checked, Deactivation, Miss, Options, Report, Summary};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use scimitar_scim::urn::{
    ENTERPRISE_USER as ENTERPRISE, ERROR, GROUP as GROUP_SCHEMA, LIST_RESPONSE,
    MICROSOFT_ADSCIM_GROUP as ENTRA_GROUP_SCHEMA, PATCH_OP, USER as USER_SCHEMA,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;

/// What Entra's filters leave unencoded in a value (it encodes `@`, quotes and spaces).
const FILTER_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

/// How a filter's spaces travel: Entra sends both.
#[derive(Clone, Copy)]
enum Spaces {
    Plus,
    Percent20,
}

/// `?filter=<attribute> eq "<value>"`, encoded as Entra does.
fn eq_filter(attribute: &str, value: &str, spaces: Spaces) -> String {
    let space = match spaces {
        Spaces::Plus => "+",
        Spaces::Percent20 => "%20",
    };
    let value = utf8_percent_encode(value, FILTER_VALUE);
    format!("filter={attribute}{space}eq{space}%22{value}%22")
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// The names of a run's test objects: one random tag, so that they are easy to recognise in
/// the target and never collide with a real user or an earlier run's leftovers.
struct Names {
    tag: String,
}

impl Names {
    fn new() -> Self {
        Self {
            tag: format!("scimitar-test-{:08x}", rand::random::<u32>()),
        }
    }

    fn user(&self, role: &str) -> String {
        format!("{}-{role}@example.com", self.tag)
    }

    fn group(&self, role: &str) -> String {
        format!("{} {role}", self.tag)
    }
}

/// A user as Entra's default attribute mappings send it, with `role` as Entra sends an
/// assigned app role.
fn entra_user(user_name: &str, given: &str, family: &str, role: Option<&str>) -> Value {
    let roles: Vec<Value> = role
        .map(|role| json!({"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": role}))
        .into_iter()
        .collect();
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": user_name.split('@').next(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "name": {"formatted": format!("{given} {family}"), "givenName": given, "familyName": family},
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "roles": roles,
        ENTERPRISE: {"department": "Provisioning tests"},
    })
}

/// Whether `body`'s `schemas` lists `urn`.
fn has_schema(body: &Value, urn: &str) -> bool {
    body["schemas"]
        .as_array()
        .is_some_and(|schemas| schemas.iter().any(|s| s == urn))
}

/// The resources of a ListResponse, or why it is not one.
fn resources(answer: &Answer) -> Result<&Vec<Value>, Miss> {
    ensure(answer.status == 200, || answer.describe())?;
    let body = &answer.body;
    ensure(has_schema(body, LIST_RESPONSE), || {
        format!("not a ListResponse: {body}")
    })?;
    static NONE: Vec<Value> = Vec::new();
    let resources = match &body["Resources"] {
        Value::Null => &NONE,
        Value::Array(resources) => resources,
        other => return Err(Miss::Fail(format!("Resources is not an array: {other}"))),
    };
    ensure(body["totalResults"].is_u64(), || {
        format!("totalResults is missing or not a number: {body}")
    })?;
    Ok(resources)
}

fn ids(resources: &[Value]) -> BTreeSet<String> {
    resources
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

/// The member ids of a group resource.
fn members(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A user or group the run created and has not deleted yet.
struct Created {
    endpoint: &'static str,
    id: String,
    name: String,
}

pub(super) struct Run<'a> {
    client: &'a ScimClient,
    options: &'a Options,
    report: Report<'a>,
    names: Names,
    created: Vec<Created>,
    /// The first test user and the second one (the first's manager, and a group member).
    user: Option<String>,
    manager: Option<String>,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        client: &'a ScimClient,
        options: &'a Options,
        out: &'a mut dyn Write,
    ) -> Self {
        Self {
            client,
            options,
            report: Report {
                out,
                summary: Summary::default(),
            },
            names: Names::new(),
            created: Vec::new(),
            user: None,
            manager: None,
        }
    }

    pub(super) async fn all(&mut self) {
        self.report.section("discovery");
        let outcome = self.service_provider_config().await;
        self.report.record(
            "GET /ServiceProviderConfig: PATCH and filter supported",
            outcome,
        );
        let offered = self.resource_types().await;
        let groups = matches!(&offered, Ok(types) if types.contains("Group"));
        self.report
            .record("GET /ResourceTypes: lists User", offered.map(|_| ()));
        let outcome = self.schemas().await;
        self.report
            .record("GET /Schemas: has the core User schema", outcome);

        self.report.section("test connection");
        // A random GUID, as Entra's test connection sends.
        let nobody = crate::adapter::uuid_v4();
        let outcome = self.no_match("/Users", "userName", &nobody, "").await;
        self.report.record(
            "GET /Users?filter=userName eq \"<random guid>\": an empty ListResponse",
            outcome,
        );
        if groups {
            let outcome = self.no_match("/Groups", "displayName", &nobody, "").await;
            self.report.record(
                "GET /Groups?filter=displayName eq \"<random guid>\": an empty ListResponse",
                outcome,
            );
        }
        if !self.options.write {
            return;
        }
        self.users().await;
        if groups {
            self.groups().await;
        }
        self.deactivation().await;
        self.report.section("paging");
        let outcome = self.paging().await;
        self.report.record(
            "GET /Users?startIndex=1&count=5, then startIndex=6: pages of at most 5, no id twice",
            outcome,
        );
        self.report.section("delete");
        let outcome = self.delete_user().await;
        self.report.record(
            "DELETE /Users/{id}: 204; then GET and a second DELETE are 404",
            outcome,
        );
    }

    /// Deletes what the checks left (whatever failed before) and prints the summary line.
    pub(super) async fn finish(mut self) -> Summary {
        if !self.created.is_empty() {
            self.report.section("cleanup");
            let outcome = self.clean_up().await;
            self.report
                .record("DELETE every test object the checks left", outcome);
        }
        let summary = self.report.summary;
        let mut line = format!(
            "{} passed, {} failed, {} skipped",
            summary.passed, summary.failed, summary.skipped
        );
        if self.client.throttled() > 0 {
            line.push_str(&format!(
                "; throttled {} time(s), each waited out as Entra would",
                self.client.throttled()
            ));
        }
        if !self.options.write {
            line.push_str(
                "; read-only checks only: pass --write to run those that create, change and \
                 delete test users and a test group in the target",
            );
        }
        let _ = writeln!(self.report.out, "{line}");
        summary
    }

    async fn clean_up(&mut self) -> Checked {
        let mut left = Vec::new();
        for object in std::mem::take(&mut self.created) {
            let path = format!("/{}/{}", object.endpoint, object.id);
            match self.client.delete(&path).await {
                Ok(answer) if answer.is_success() || answer.status == 404 => {}
                Ok(answer) => {
                    left.push(format!("{} ({}): {}", object.name, path, answer.describe()))
                }
                Err(error) => left.push(format!("{} ({}): {error:#}", object.name, path)),
            }
        }
        ensure(left.is_empty(), || {
            format!("still in the target, remove by hand: {}", left.join("; "))
        })
    }

    fn forget(&mut self, id: &str) {
        self.created.retain(|object| object.id != id);
    }

    async fn service_provider_config(&self) -> Checked {
        let answer = self.client.get("/ServiceProviderConfig").await?;
        ensure(answer.status == 200, || answer.describe())?;
        let config = &answer.body;
        ensure(config["patch"]["supported"] == true, || {
            format!("patch.supported is not true: {config}")
        })?;
        ensure(config["filter"]["supported"] == true, || {
            format!("filter.supported is not true: {config}")
        })
    }

    /// The names of the resource types the tenant offers; User must be one.
    async fn resource_types(&self) -> Result<BTreeSet<String>, Miss> {
        let answer = self.client.get("/ResourceTypes").await?;
        let types: BTreeSet<String> = resources(&answer)?
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect();
        ensure(types.contains("User"), || {
            format!("no User resource type among {types:?}")
        })?;
        Ok(types)
    }

    async fn schemas(&self) -> Checked {
        let answer = self.client.get("/Schemas").await?;
        let schemas = resources(&answer)?;
        ensure(schemas.iter().any(|s| s["id"] == USER_SCHEMA), || {
            format!("{USER_SCHEMA} is not among the schemas")
        })
    }

    /// `GET endpoint?{extra}filter=attribute eq "value"`, both encodings, finds nothing.
    async fn no_match(&self, endpoint: &str, attribute: &str, value: &str, extra: &str) -> Checked {
        for spaces in [Spaces::Plus, Spaces::Percent20] {
            let path = format!("{endpoint}?{extra}{}", eq_filter(attribute, value, spaces));
            let answer = self.client.get(&path).await?;
            let found = resources(&answer)?;
            ensure(found.is_empty() && answer.body["totalResults"] == 0, || {
                format!("{path}: expected no resource, got {}", answer.body)
            })?;
        }
        Ok(())
    }

    /// `GET endpoint?filter=…` (both encodings, and `extra` query parameters) finds exactly `id`.
    async fn one_match(
        &self,
        endpoint: &str,
        attribute: &str,
        value: &str,
        extra: &str,
        id: &str,
    ) -> Result<Value, Miss> {
        let mut found = Value::Null;
        for spaces in [Spaces::Plus, Spaces::Percent20] {
            let path = format!("{endpoint}?{extra}{}", eq_filter(attribute, value, spaces));
            let answer = self.client.get(&path).await?;
            let resources = resources(&answer)?;
            ensure(resources.len() == 1 && resources[0]["id"] == id, || {
                format!(
                    "{path}: expected exactly the resource {id}, got {}",
                    answer.body
                )
            })?;
            found = resources[0].clone();
        }
        Ok(found)
    }

    async fn read(&self, path: &str) -> Result<Value, Miss> {
        let answer = self.client.get(path).await?;
        ensure(answer.status == 200, || {
            format!("GET {path}: {}", answer.describe())
        })?;
        Ok(answer.body)
    }

    /// PATCHes `path` with `operations`, which must answer 200 or 204.
    async fn patch(&self, path: &str, operations: Value) -> Checked {
        let answer = self.client.patch(path, &patch(operations)).await?;
        ensure(answer.is_success(), || {
            format!("PATCH {path}: {}", answer.describe())
        })
    }

    /// POSTs `body` to `endpoint`, which must answer 201 with an id; the object is deleted at
    /// the end of the run unless a check deletes it first.
    async fn create(
        &mut self,
        endpoint: &'static str,
        name: &str,
        body: Value,
    ) -> Result<Value, Miss> {
        let answer = self.client.post(&format!("/{endpoint}"), &body).await?;
        ensure(answer.status == 201, || {
            format!("POST /{endpoint}: {}", answer.describe())
        })?;
        let Some(id) = answer.body["id"].as_str().filter(|id| !id.is_empty()) else {
            return Err(Miss::Fail(format!("no id in the answer: {}", answer.body)));
        };
        self.created.push(Created {
            endpoint,
            id: id.to_string(),
            name: name.to_string(),
        });
        Ok(answer.body)
    }

    async fn users(&mut self) {
        self.report.section("users");
        let user_name = self.names.user("user");
        let outcome = self.no_match("/Users", "userName", &user_name, "").await;
        self.report.record(
            "match before create: userName eq, spaces as + and as %20, finds nothing",
            outcome,
        );
        let outcome = self.create_user(&user_name).await;
        self.report.record(
            "POST /Users: 201 with an id, the userName and active true",
            outcome,
        );
        let Some(id) = self.user.clone() else {
            return self.skip_rest("every user check", "needs the user POST /Users creates");
        };
        let outcome = self.get_user(&id, &user_name).await;
        self.report.record("GET /Users/{id}: the user", outcome);
        let outcome = self
            .one_match("/Users", "userName", &user_name.to_uppercase(), "", &id)
            .await
            .map(|_| ());
        self.report.record(
            "match by userName in another case, + and %20: exactly the user",
            outcome,
        );
        let outcome = self.duplicate(&user_name).await;
        self.report.record(
            "POST /Users with the same userName again: 409 with a SCIM error",
            outcome,
        );
        let path = format!("/Users/{id}");
        let outcome = self.patch_with_path(&path).await;
        self.report.record(
            "PATCH replace name.givenName (a path): GET shows it",
            outcome,
        );
        let outcome = self.patch_without_path(&path).await;
        self.report.record(
            "PATCH replace without a path, dotted keys (aadOptscim062020): GET shows it",
            outcome,
        );
        let manager_name = self.names.user("manager");
        let outcome = self.create_manager(&manager_name).await;
        self.report
            .record("POST /Users: a second user, the manager", outcome);
        let Some(manager) = self.manager.clone() else {
            return self.skip_rest("manager", "needs the second user");
        };
        let outcome = self.set_manager(&path, &manager).await;
        self.report.record(
            "PATCH add the enterprise manager as a bare id: GET shows manager.value",
            outcome,
        );
        let outcome = self.clear_manager(&path).await;
        self.report.record(
            "PATCH replace the manager with \"\": GET shows no manager",
            outcome,
        );
    }

    fn user_body(&self, user_name: &str, given: &str, family: &str) -> Value {
        entra_user(user_name, given, family, self.options.role.as_deref())
    }

    fn skip_rest(&mut self, what: &str, why: &str) {
        self.report.record(what, Err(Miss::Skip(why.to_string())));
    }

    async fn create_user(&mut self, user_name: &str) -> Checked {
        let created = self
            .create(
                "Users",
                user_name,
                self.user_body(user_name, "Grace", "Hopper"),
            )
            .await?;
        self.user = created["id"].as_str().map(str::to_string);
        ensure(
            created["userName"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(user_name)),
            || format!("userName is not {user_name}: {created}"),
        )?;
        ensure(created["active"] != false, || {
            format!("a new user is not active: {created}")
        })
    }

    async fn create_manager(&mut self, user_name: &str) -> Checked {
        let created = self
            .create(
                "Users",
                user_name,
                self.user_body(user_name, "Mary", "Jackson"),
            )
            .await?;
        self.manager = created["id"].as_str().map(str::to_string);
        Ok(())
    }

    async fn get_user(&self, id: &str, user_name: &str) -> Checked {
        let user = self.read(&format!("/Users/{id}")).await?;
        ensure(user["id"] == id, || format!("another id: {user}"))?;
        ensure(
            user["userName"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(user_name)),
            || format!("userName is not {user_name}: {user}"),
        )?;
        ensure(has_schema(&user, USER_SCHEMA), || {
            format!("schemas lacks {USER_SCHEMA}: {user}")
        })
    }

    async fn duplicate(&self, user_name: &str) -> Checked {
        let answer = self
            .client
            .post("/Users", &self.user_body(user_name, "Grace", "Hopper"))
            .await?;
        ensure(answer.status == 409, || {
            format!("expected 409, got {}", answer.describe())
        })?;
        ensure(has_schema(&answer.body, ERROR), || {
            format!("not a SCIM error: {}", answer.body)
        })
    }

    /// `name.givenName` replaced with a path, then read back.
    async fn patch_with_path(&self, path: &str) -> Checked {
        let operations = json!([{"op": "Replace", "path": "name.givenName", "value": "Ada"}]);
        self.patch_name_part(path, "givenName", operations, "Ada")
            .await
    }

    /// `name.familyName` replaced without a path (Entra's dotted keys), then read back.
    async fn patch_without_path(&self, path: &str) -> Checked {
        let operations = json!([{"op": "replace", "value": {"name.familyName": "Lovelace"}}]);
        self.patch_name_part(path, "familyName", operations, "Lovelace")
            .await
    }

    /// PATCHes `operations`, which set `name.<part>` to `value`, and reads it back; a target
    /// that keeps no such name part at all cannot show it (a skip: Entra does not read it
    /// back either).
    async fn patch_name_part(
        &self,
        path: &str,
        part: &str,
        operations: Value,
        value: &str,
    ) -> Checked {
        let before = self.read(path).await?;
        if before["name"][part].is_null() {
            return Err(Miss::Skip(format!("the target keeps no name.{part}")));
        }
        self.patch(path, operations).await?;
        let after = self.read(path).await?;
        ensure(after["name"][part] == value, || {
            format!("name.{part} is not {value:?}: {after}")
        })
    }

    /// Entra disables a user when it is unassigned or soft-deleted, and enables it again
    /// when it is assigned back.
    async fn deactivation(&mut self) {
        self.report.section("deactivation");
        let Some(id) = self.user.clone() else {
            return self.skip_rest("disable and enable", "needs the user POST /Users creates");
        };
        let user_name = self.names.user("user");
        match self.options.deactivation {
            Deactivation::Keep => {
                let outcome = self.disable(&id, &user_name).await;
                self.report.record(
                    "PATCH active \"False\" (a string): GET and the filter return the user, active false",
                    outcome,
                );
                let outcome = self.enable(&format!("/Users/{id}")).await;
                self.report
                    .record("PATCH active true: GET shows active true", outcome);
            }
            Deactivation::Delete => {
                let outcome = self.disable_deletes(&id, &user_name).await;
                self.report.record(
                    "PATCH active \"False\" (a string): the user is deleted (--deactivation delete)",
                    outcome,
                );
            }
        }
    }

    async fn disable_deletes(&mut self, id: &str, user_name: &str) -> Checked {
        let path = format!("/Users/{id}");
        self.disable_patch(&path).await?;
        let answer = self.client.get(&path).await?;
        ensure(answer.status == 404, || {
            format!(
                "GET after disabling: expected 404, got {}",
                answer.describe()
            )
        })?;
        self.forget(id);
        self.user = None;
        self.no_match("/Users", "userName", user_name, "").await
    }

    async fn disable_patch(&self, path: &str) -> Checked {
        self.patch(
            path,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await
    }

    async fn disable(&self, id: &str, user_name: &str) -> Checked {
        let path = format!("/Users/{id}");
        self.disable_patch(&path).await?;
        let user = self.read(&path).await?;
        ensure(user["active"] == false, || {
            format!("GET: active is not false: {user}")
        })?;
        let found = self
            .one_match("/Users", "userName", user_name, "", id)
            .await?;
        ensure(found["active"] == false, || {
            format!("the filter: active is not false: {found}")
        })
    }

    async fn enable(&self, path: &str) -> Checked {
        self.patch(
            path,
            json!([{"op": "Replace", "path": "active", "value": true}]),
        )
        .await?;
        let user = self.read(path).await?;
        ensure(user["active"] == true, || {
            format!("active is not true: {user}")
        })
    }

    async fn set_manager(&self, path: &str, manager: &str) -> Checked {
        self.patch(
            path,
            json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager}]),
        )
        .await?;
        let user = self.read(path).await?;
        match &user[ENTERPRISE]["manager"]["value"] {
            Value::Null => Err(Miss::Skip(
                "the PATCH succeeded but GET shows no manager: the target does not keep it".into(),
            )),
            value => ensure(value == manager, || {
                format!("manager.value is not {manager}: {user}")
            }),
        }
    }

    async fn clear_manager(&self, path: &str) -> Checked {
        let before = self.read(path).await?;
        if before[ENTERPRISE]["manager"].is_null() {
            return Err(Miss::Skip("the target keeps no manager".into()));
        }
        self.patch(
            path,
            json!([{"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": ""}]),
        )
        .await?;
        let user = self.read(path).await?;
        let manager = &user[ENTERPRISE]["manager"];
        ensure(
            manager.is_null() || manager["value"].is_null() || manager["value"] == "",
            || format!("the manager is still there: {user}"),
        )
    }

    async fn groups(&mut self) {
        self.report.section("groups");
        let name = self.names.group("group");
        let outcome = self
            .no_match(
                "/Groups",
                "displayName",
                &name,
                "excludedAttributes=members&",
            )
            .await;
        self.report.record(
            "match before create: displayName eq, excludedAttributes=members, finds nothing",
            outcome,
        );
        let body = json!({
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
            "externalId": self.names.tag,
            "displayName": name,
            "members": [],
        });
        let created = self.create("Groups", &name, body).await;
        let id = created
            .as_ref()
            .ok()
            .and_then(|group| group["id"].as_str().map(str::to_string));
        self.report.record(
            "POST /Groups without members: 201 with an id",
            created.map(|_| ()),
        );
        let Some(id) = id else {
            return self.skip_rest("every group check", "needs the group POST /Groups creates");
        };
        let outcome = self
            .one_match(
                "/Groups",
                "displayName",
                &name.to_uppercase(),
                "excludedAttributes=members&",
                &id,
            )
            .await
            .and_then(|group| {
                ensure(members(&group).is_empty(), || {
                    format!("members listed although excluded: {group}")
                })
            });
        self.report.record(
            "match by displayName in another case, excludedAttributes=members: exactly the group",
            outcome,
        );
        let path = format!("/Groups/{id}");
        let (Some(user), Some(manager)) = (self.user.clone(), self.manager.clone()) else {
            self.skip_rest("group members", "needs the two test users");
            return self.rename_and_delete(&id, &name).await;
        };
        let outcome = self.add_members(&path, &[&user, &manager]).await;
        self.report
            .record("PATCH add members (two users): GET lists both", outcome);
        let outcome = self.members_excluded(&path).await;
        self.report.record(
            "GET /Groups/{id}?excludedAttributes=members: no members",
            outcome,
        );
        let outcome = self
            .remove_members(
                &path,
                json!([{"op": "Remove", "path": "members", "value": [{"value": user}]}]),
                &manager,
            )
            .await;
        self.report.record(
            "PATCH remove members by value: only that member goes",
            outcome,
        );
        let outcome = self
            .remove_members(
                &path,
                json!([{"op": "remove", "path": format!("members[value eq \"{manager}\"]")}]),
                "",
            )
            .await;
        self.report.record(
            "PATCH remove members[value eq \"id\"]: that member goes",
            outcome,
        );
        self.rename_and_delete(&id, &name).await;
    }

    async fn add_members(&self, path: &str, users: &[&str]) -> Checked {
        let value: Vec<Value> = users
            .iter()
            .map(|id| json!({"$ref": null, "value": id}))
            .collect();
        self.patch(
            path,
            json!([{"op": "Add", "path": "members", "value": value}]),
        )
        .await?;
        self.expect_members(path, users).await
    }

    /// GET `path` lists exactly `expected` as members.
    async fn expect_members(&self, path: &str, expected: &[&str]) -> Checked {
        let group = self.read(path).await?;
        let expected: BTreeSet<String> = expected.iter().map(|id| id.to_string()).collect();
        ensure(members(&group) == expected, || {
            format!("members are not {expected:?}: {group}")
        })
    }

    async fn members_excluded(&self, path: &str) -> Checked {
        let group = self
            .read(&format!("{path}?excludedAttributes=members"))
            .await?;
        ensure(members(&group).is_empty(), || {
            format!("members listed although excluded: {group}")
        })
    }

    /// Removes members with `operations`; `left` is the one member that must remain ("" for none).
    async fn remove_members(&self, path: &str, operations: Value, left: &str) -> Checked {
        self.patch(path, operations).await?;
        let left: Vec<&str> = [left].into_iter().filter(|id| !id.is_empty()).collect();
        self.expect_members(path, &left).await
    }

    async fn rename_and_delete(&mut self, id: &str, name: &str) {
        let path = format!("/Groups/{id}");
        let renamed = format!("{name} renamed");
        let outcome = self.rename(&path, id, &renamed).await;
        self.report.record(
            "PATCH replace displayName: GET and the filter find the new name",
            outcome,
        );
        let outcome = self.delete(&path, id).await;
        self.report.record(
            "DELETE /Groups/{id}: 204; then GET and a second DELETE are 404",
            outcome,
        );
    }

    async fn rename(&self, path: &str, id: &str, renamed: &str) -> Checked {
        self.patch(
            path,
            json!([{"op": "Replace", "path": "displayName", "value": renamed}]),
        )
        .await?;
        let group = self.read(path).await?;
        ensure(group["displayName"] == renamed, || {
            format!("displayName is not {renamed:?}: {group}")
        })?;
        self.one_match(
            "/Groups",
            "displayName",
            renamed,
            "excludedAttributes=members&",
            id,
        )
        .await
        .map(|_| ())
    }

    /// DELETE answers 204, and the object is gone: GET and a second DELETE are 404.
    async fn delete(&mut self, path: &str, id: &str) -> Checked {
        let answer = self.client.delete(path).await?;
        ensure(answer.status == 204, || {
            format!("DELETE {path}: expected 204, got {}", answer.describe())
        })?;
        self.forget(id);
        let answer = self.client.get(path).await?;
        ensure(answer.status == 404, || {
            format!("GET after DELETE: expected 404, got {}", answer.describe())
        })?;
        let answer = self.client.delete(path).await?;
        ensure(answer.status == 404, || {
            format!("a second DELETE: expected 404, got {}", answer.describe())
        })
    }

    /// Deletes the first test user, or the second where disabling deleted the first.
    async fn delete_user(&mut self) -> Checked {
        let Some(id) = self.user.clone().or_else(|| self.manager.clone()) else {
            return Err(Miss::Skip("needs a user POST /Users creates".into()));
        };
        self.delete(&format!("/Users/{id}"), &id).await
    }

    /// Two pages of five, as the validator asks for them.
    async fn paging(&self) -> Checked {
        let first = self.client.get("/Users?startIndex=1&count=5").await?;
        let page_one = resources(&first)?;
        check_page(&first.body, page_one, 1)?;
        let second = self.client.get("/Users?startIndex=6&count=5").await?;
        let page_two = resources(&second)?;
        check_page(&second.body, page_two, 6)?;
        let total = first.body["totalResults"].as_u64().unwrap_or_default();
        let test_users = self
            .created
            .iter()
            .filter(|object| object.endpoint == "Users")
            .count() as u64;
        ensure(total >= test_users, || {
            format!("totalResults {total} counts fewer users than the {test_users} test users")
        })?;
        ensure(total <= 5 || !page_two.is_empty(), || {
            format!("totalResults is {total}, yet the second page is empty")
        })?;
        let (one, two) = (ids(page_one), ids(page_two));
        ensure(one.is_disjoint(&two), || {
            format!(
                "on both pages: {:?}",
                one.intersection(&two).collect::<Vec<_>>()
            )
        })
    }
}

/// A page asked for with `count=5` from `start`.
fn check_page(body: &Value, page: &[Value], start: u64) -> Checked {
    ensure(page.len() <= 5, || {
        format!(
            "startIndex={start}&count=5 answered {} resources",
            page.len()
        )
    })?;
    ensure(
        body["startIndex"].is_null() || body["startIndex"] == start,
        || format!("startIndex is not {start}: {}", body["startIndex"]),
    )?;
    ensure(
        body["itemsPerPage"].is_null() || body["itemsPerPage"] == page.len(),
        || {
            format!(
                "itemsPerPage {} for {} resources",
                body["itemsPerPage"],
                page.len()
            )
        },
    )
}
