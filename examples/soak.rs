//! The fault-and-concurrency soak (`scripts/soak`; a bounded run in `scripts/test`).
//!
//! It starts `scimitar demo` (every bundled target's testbed, a tenant for each), turns on
//! the testbeds' chaos — 503s, 429s, delays and dropped connections before random native
//! requests — and provisions as Entra does, in parallel: match then create users and
//! groups, PATCH attributes in Entra's dialect, disable and re-enable, add and remove
//! members, delete; each operation retried on 429/5xx like Entra retries. At the end it
//! compares what every SCIM answer claimed with the testbeds' native state:
//! - a 2xx whose effect is not in the target ("2xx without the effect"),
//! - two native objects for one userName or group name ("duplicates"),
//! - an attribute or membership that is not what the last 2xx set, nor a value a later
//!   failed operation might have set ("lost updates"),
//!
//! each of which must be zero; the process exits 1 otherwise.

use clap::Parser;
use rand::seq::SliceRandom;
use rand::Rng;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Clone)]
struct Args {
    /// The gateway binary.
    #[arg(long, default_value = "target/release/scimitar")]
    gateway: PathBuf,
    /// Users per tenant.
    #[arg(long, default_value_t = 30)]
    users: usize,
    /// Groups per tenant that has groups.
    #[arg(long, default_value_t = 6)]
    groups: usize,
    /// Operations after the creates (PATCHes and membership changes), over all tenants.
    #[arg(long, default_value_t = 3000)]
    operations: usize,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Probability that a native request meets a fault.
    #[arg(long, default_value_t = 0.1)]
    chaos: f64,
    /// Print the figures as one JSON line instead of a table.
    #[arg(long)]
    json: bool,
}

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Attempts of one operation, as Entra would retry it (far sooner, to keep the run short).
const ATTEMPTS: usize = 12;

/// One demo tenant, as `scimitar demo` describes it.
struct Tenant {
    name: String,
    target: String,
    scim: String,
    token: String,
    testbed: String,
    /// Whether the target keeps groups (Maptician and Rhombus have none).
    groups: bool,
    /// Whether `active: false` keeps the user (Rhombus deletes it).
    deactivates: bool,
}

/// What the run did and found.
#[derive(Default)]
struct Figures {
    seconds: f64,
    operations: u64,
    requests: u64,
    succeeded: u64,
    failed_after_retries: u64,
    conflicts: u64,
    faults_injected: u64,
    without_effect: Vec<String>,
    duplicates: Vec<String>,
    lost_updates: Vec<String>,
}

/// The last value a 2xx set, and the values later failed operations tried to set (which the
/// target may or may not have applied).
#[derive(Clone, Debug, Default)]
struct Expected {
    value: Value,
    uncertain: Vec<Value>,
}

impl Expected {
    fn known(value: Value) -> Self {
        Self {
            value,
            uncertain: Vec::new(),
        }
    }

    fn record(&mut self, value: Value, succeeded: bool) {
        if succeeded {
            *self = Expected::known(value);
        } else {
            self.uncertain.push(value);
        }
    }

    fn allows(&self, found: &Value) -> bool {
        &self.value == found || self.uncertain.contains(found)
    }
}

/// What one tenant's answers claimed.
#[derive(Default)]
struct Claims {
    /// userName → SCIM id, for every user a 2xx (or a 409 on a retried create) created.
    users: BTreeMap<String, String>,
    /// (userName, attribute) → expected value.
    attributes: BTreeMap<(String, String), Expected>,
    /// group name → SCIM id.
    groups: BTreeMap<String, String>,
    /// (group name, userName) → expected membership.
    members: BTreeMap<(String, String), Expected>,
    /// userNames a 2xx deleted.
    deleted: HashSet<String>,
}

struct Soak {
    client: Client,
    args: Args,
    figures: Mutex<Figures>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (mut demo, tenants) = start_demo(&args)?;
    let started = Instant::now();
    let outcome = runtime.block_on(run(args.clone(), tenants));
    let _ = demo.kill();
    let _ = demo.wait();
    let mut figures = outcome?;
    figures.seconds = started.elapsed().as_secs_f64();
    report(&args, &figures);
    let clean = figures.without_effect.is_empty()
        && figures.duplicates.is_empty()
        && figures.lost_updates.is_empty();
    std::process::exit(if clean { 0 } else { 1 });
}

/// Starts `scimitar demo` on free ports and reads its tenant lines.
fn start_demo(args: &Args) -> anyhow::Result<(Child, Vec<Tenant>)> {
    let data_dir = std::env::temp_dir().join(format!("scimitar-soak-{}", std::process::id()));
    let mut child = Command::new(&args.gateway)
        .args(["demo", "--port", "0", "--admin-port", "0", "--data-dir"])
        .arg(&data_dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut tenants = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line: Value = serde_json::from_str(&line?)?;
        let target = line["target"].as_str().unwrap_or_default().to_string();
        tenants.push(Tenant {
            name: line["tenant"].as_str().unwrap_or_default().to_string(),
            groups: !matches!(target.as_str(), "maptician" | "rhombus"),
            deactivates: target != "rhombus",
            target,
            scim: line["scim_url"].as_str().unwrap_or_default().to_string(),
            token: line["token"].as_str().unwrap_or_default().to_string(),
            testbed: line["testbed_url"].as_str().unwrap_or_default().to_string(),
        });
        if tenants.len() == 7 {
            break;
        }
    }
    anyhow::ensure!(
        tenants.len() == 7,
        "the demo described {} tenants, not 7",
        tenants.len()
    );
    Ok((child, tenants))
}

async fn run(args: Args, tenants: Vec<Tenant>) -> anyhow::Result<Figures> {
    let soak = Arc::new(Soak {
        client: Client::builder().timeout(Duration::from_secs(70)).build()?,
        args,
        figures: Mutex::new(Figures::default()),
    });
    let tenants: Vec<Arc<Tenant>> = tenants.into_iter().map(Arc::new).collect();
    for tenant in &tenants {
        soak.wait_until_serving(tenant).await?;
    }
    let testbeds: HashSet<String> = tenants.iter().map(|t| t.testbed.clone()).collect();
    for testbed in &testbeds {
        let chaos = json!({"chaos": {"probability": soak.args.chaos, "max_delay_ms": 300}});
        let response = soak
            .client
            .post(format!("{testbed}/_testbed/faults"))
            .json(&chaos)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "chaos refused by {testbed}");
    }
    let claims: Vec<Arc<Mutex<Claims>>> = tenants.iter().map(|_| Arc::default()).collect();

    // Users and groups, created as Entra does: match first, then create.
    let mut creates = Vec::new();
    for (t, tenant) in tenants.iter().enumerate() {
        for i in 0..soak.args.users {
            creates.push(Work::CreateUser(
                t,
                format!("soak{i}.{}@contoso.com", tenant.name),
            ));
        }
        for g in (0..soak.args.groups).filter(|_| tenant.groups) {
            creates.push(Work::CreateGroup(t, format!("soak-{}-g{g}", tenant.name)));
        }
    }
    soak.clone().in_parallel(&tenants, &claims, creates).await;

    // PATCHes and membership changes at random, never two at once on one attribute or one
    // membership (the expectation of each must stay well defined).
    let mut rng = rand::thread_rng();
    let mut work = Vec::new();
    for n in 0..soak.args.operations {
        let t = rng.gen_range(0..tenants.len());
        let tenant = &tenants[t];
        let claims = claims[t].lock().unwrap();
        let users: Vec<&String> = claims.users.keys().collect();
        let Some(user) = users.choose(&mut rng).map(|u| u.to_string()) else {
            continue;
        };
        let groups: Vec<&String> = claims.groups.keys().collect();
        let choice = rng.gen_range(0..10);
        work.push(match (choice, groups.choose(&mut rng)) {
            (0..=1, Some(group)) if tenant.groups => {
                Work::Member(t, group.to_string(), user, choice == 0 || n % 3 != 0)
            }
            (2, _) if tenant.deactivates => Work::Active(t, user, n % 2 == 0),
            (3..=5, _) => Work::Attribute(t, user, "name.givenName", format!("G{n}")),
            _ => Work::Attribute(t, user, "name.familyName", format!("F{n}")),
        });
    }
    soak.clone().in_parallel(&tenants, &claims, work).await;

    // A tenth of the users deleted.
    let mut deletes = Vec::new();
    for (t, claims) in claims.iter().enumerate() {
        let claims = claims.lock().unwrap();
        for user in claims.users.keys().step_by(10) {
            deletes.push(Work::Delete(t, user.clone()));
        }
    }
    soak.clone().in_parallel(&tenants, &claims, deletes).await;

    for testbed in &testbeds {
        soak.client
            .delete(format!("{testbed}/_testbed/faults"))
            .send()
            .await?;
    }
    for (tenant, claims) in tenants.iter().zip(&claims) {
        let state: Value = soak
            .client
            .get(format!("{}/_testbed/state", tenant.testbed))
            .send()
            .await?
            .json()
            .await?;
        soak.verify(tenant, &claims.lock().unwrap(), &state);
    }
    for testbed in &testbeds {
        let state: Value = soak
            .client
            .get(format!("{testbed}/_testbed/state"))
            .send()
            .await?
            .json()
            .await?;
        let injected = &state["chaos"]["injected"];
        let counted: u64 = ["status_503", "status_429", "delay", "drop"]
            .iter()
            .filter_map(|k| injected[k].as_u64())
            .sum();
        soak.figures.lock().unwrap().faults_injected += counted;
    }
    let soak = Arc::into_inner(soak).expect("no task left");
    Ok(soak.figures.into_inner().unwrap())
}

/// One Entra-shaped operation of one tenant (by index).
#[derive(Clone)]
enum Work {
    CreateUser(usize, String),
    CreateGroup(usize, String),
    /// (user, attribute, new value)
    Attribute(usize, String, &'static str, String),
    Active(usize, String, bool),
    /// (group, user, add)
    Member(usize, String, String, bool),
    Delete(usize, String),
}

impl Work {
    fn tenant(&self) -> usize {
        match self {
            Work::CreateUser(t, _)
            | Work::CreateGroup(t, _)
            | Work::Attribute(t, ..)
            | Work::Active(t, ..)
            | Work::Member(t, ..)
            | Work::Delete(t, _) => *t,
        }
    }

    /// What the operation's expectation is about: two operations with one key never run
    /// at once.
    fn key(&self) -> String {
        match self {
            Work::CreateUser(t, u) | Work::Delete(t, u) => format!("{t}/user/{u}"),
            Work::CreateGroup(t, g) => format!("{t}/group/{g}"),
            Work::Attribute(t, u, a, _) => format!("{t}/user/{u}/{a}"),
            Work::Active(t, u, _) => format!("{t}/user/{u}/active"),
            Work::Member(t, g, u, _) => format!("{t}/member/{g}/{u}"),
        }
    }
}

impl Soak {
    async fn wait_until_serving(&self, tenant: &Tenant) -> anyhow::Result<()> {
        for _ in 0..300 {
            let probe = self
                .client
                .get(format!(
                    "{}/Users?filter=userName+eq+%22probe%22",
                    tenant.scim
                ))
                .bearer_auth(&tenant.token)
                .send()
                .await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("tenant {} did not answer within 30 s", tenant.name)
    }

    /// Runs `work` with `concurrency` operations in flight, none two with one key at once.
    async fn in_parallel(
        self: Arc<Self>,
        tenants: &[Arc<Tenant>],
        claims: &[Arc<Mutex<Claims>>],
        mut work: Vec<Work>,
    ) {
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut running = tokio::task::JoinSet::new();
        work.reverse();
        while !work.is_empty() || !running.is_empty() {
            while running.len() < self.args.concurrency {
                let free = {
                    let busy = busy.lock().unwrap();
                    work.iter().rposition(|w| !busy.contains(&w.key()))
                };
                let Some(at) = free else { break };
                let item = work.remove(at);
                busy.lock().unwrap().insert(item.key());
                let t = item.tenant();
                let (soak, tenant, claims, busy) = (
                    self.clone(),
                    tenants[t].clone(),
                    claims[t].clone(),
                    busy.clone(),
                );
                running.spawn(async move {
                    let key = item.key();
                    soak.perform(&tenant, &claims, item).await;
                    busy.lock().unwrap().remove(&key);
                });
            }
            if running.join_next().await.is_none() {
                // Everything left waits for a key that nothing in flight will free.
                break;
            }
        }
    }

    async fn perform(&self, tenant: &Tenant, claims: &Mutex<Claims>, work: Work) {
        self.figures.lock().unwrap().operations += 1;
        match work {
            Work::CreateUser(_, user) => {
                let filter = format!("/Users?filter=userName+eq+%22{}%22", encode(&user));
                let mut body = json!({
                    "schemas": [USER_SCHEMA],
                    "userName": user,
                    "externalId": user.split('@').next(),
                    "active": true,
                    "displayName": "G0 F0",
                    "name": {"givenName": "G0", "familyName": "F0"},
                });
                if tenant.target == "rhombus" {
                    // Rhombus makes a permission group (an Entra role) required.
                    body["roles"] = json!([{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Member"}]);
                }
                if let Some(id) = self.match_or_create(tenant, &filter, "/Users", body).await {
                    let mut claims = claims.lock().unwrap();
                    claims.users.insert(user.clone(), id);
                    for (attribute, value) in [
                        ("name.givenName", json!("G0")),
                        ("name.familyName", json!("F0")),
                        ("active", json!(true)),
                    ] {
                        claims
                            .attributes
                            .insert((user.clone(), attribute.into()), Expected::known(value));
                    }
                }
            }
            Work::CreateGroup(_, group) => {
                let filter = format!(
                    "/Groups?excludedAttributes=members&filter=displayName+eq+%22{}%22",
                    encode(&group)
                );
                let body = json!({"displayName": group, "externalId": group, "members": []});
                if let Some(id) = self.match_or_create(tenant, &filter, "/Groups", body).await {
                    claims.lock().unwrap().groups.insert(group, id);
                }
            }
            Work::Attribute(_, user, attribute, value) => {
                let id = claims.lock().unwrap().users[&user].clone();
                let op = json!({"op": "Replace", "path": attribute, "value": value});
                let ok = self.patch(tenant, &format!("/Users/{id}"), op).await;
                claims
                    .lock()
                    .unwrap()
                    .attributes
                    .entry((user, attribute.into()))
                    .or_default()
                    .record(json!(value), ok);
            }
            Work::Active(_, user, active) => {
                let id = claims.lock().unwrap().users[&user].clone();
                // Entra's default dialect: the boolean as a string.
                let value = if active { "True" } else { "False" };
                let op = json!({"op": "Replace", "path": "active", "value": value});
                let ok = self.patch(tenant, &format!("/Users/{id}"), op).await;
                claims
                    .lock()
                    .unwrap()
                    .attributes
                    .entry((user, "active".into()))
                    .or_default()
                    .record(json!(active), ok);
            }
            Work::Member(_, group, user, add) => {
                let (group_id, user_id) = {
                    let claims = claims.lock().unwrap();
                    (claims.groups[&group].clone(), claims.users[&user].clone())
                };
                let op = if add {
                    json!({"op": "Add", "path": "members", "value": [{"$ref": null, "value": user_id}]})
                } else {
                    json!({"op": "Remove", "path": "members", "value": [{"value": user_id}]})
                };
                let ok = self.patch(tenant, &format!("/Groups/{group_id}"), op).await;
                claims
                    .lock()
                    .unwrap()
                    .members
                    .entry((group, user))
                    .or_insert_with(|| Expected::known(json!(false)))
                    .record(json!(add), ok);
            }
            Work::Delete(_, user) => {
                let id = claims.lock().unwrap().users[&user].clone();
                let (status, _) = self
                    .send(tenant, Method::DELETE, &format!("/Users/{id}"), None)
                    .await;
                if status == 204 {
                    claims.lock().unwrap().deleted.insert(user);
                }
            }
        }
    }

    /// Entra's match before create: the id of the resource the filter finds, or of the one
    /// created. `None` when neither worked out.
    async fn match_or_create(
        &self,
        tenant: &Tenant,
        filter: &str,
        collection: &str,
        body: Value,
    ) -> Option<String> {
        let (status, found) = self.send(tenant, Method::GET, filter, None).await;
        if status == 200 {
            if let Some(id) = found["Resources"][0]["id"].as_str() {
                return Some(id.to_string());
            }
        }
        let (status, created) = self
            .send(tenant, Method::POST, collection, Some(body))
            .await;
        match status {
            201 => created["id"].as_str().map(str::to_string),
            409 => {
                // An earlier attempt did create it: Entra finds it by the filter next time.
                self.figures.lock().unwrap().conflicts += 1;
                let (_, found) = self.send(tenant, Method::GET, filter, None).await;
                found["Resources"][0]["id"].as_str().map(str::to_string)
            }
            _ => None,
        }
    }

    async fn patch(&self, tenant: &Tenant, path: &str, op: Value) -> bool {
        let body = json!({"schemas": [PATCH_OP], "Operations": [op]});
        let (status, _) = self.send(tenant, Method::PATCH, path, Some(body)).await;
        (200..300).contains(&status)
    }

    /// One SCIM call, retried on 429, 5xx and lost connections as Entra retries (sooner).
    async fn send(
        &self,
        tenant: &Tenant,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut last = (0, Value::Null);
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let pause = rand::thread_rng().gen_range(20..120);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            self.figures.lock().unwrap().requests += 1;
            let mut request = self
                .client
                .request(method.clone(), format!("{}{path}", tenant.scim))
                .bearer_auth(&tenant.token);
            if let Some(body) = &body {
                request = request
                    .header("content-type", "application/scim+json")
                    .body(body.to_string());
            }
            last = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
                }
                Err(_) => (0, Value::Null),
            };
            if !(last.0 == 0 || last.0 == 429 || last.0 >= 500) {
                break;
            }
        }
        let mut figures = self.figures.lock().unwrap();
        if (200..300).contains(&last.0) {
            figures.succeeded += 1;
        } else if last.0 == 0 || last.0 == 429 || last.0 >= 500 {
            figures.failed_after_retries += 1;
        }
        last
    }

    /// Compares what the tenant's answers claimed with the testbed's native state.
    fn verify(&self, tenant: &Tenant, claims: &Claims, state: &Value) {
        let native = Native::read(tenant, state);
        let mut figures = self.figures.lock().unwrap();
        let who = &tenant.name;
        for (name, count) in &native.user_count {
            if *count > 1 {
                figures
                    .duplicates
                    .push(format!("{who}: {count} users named {name}"));
            }
        }
        for (name, count) in &native.group_count {
            if *count > 1 {
                figures
                    .duplicates
                    .push(format!("{who}: {count} groups named {name}"));
            }
        }
        for user in claims.users.keys() {
            let deleted = claims.deleted.contains(user);
            match (native.users.get(user), deleted) {
                (None, false) => figures.without_effect.push(format!(
                    "{who}: user {user} was created, the target has none"
                )),
                (Some(_), true) => figures.without_effect.push(format!(
                    "{who}: user {user} was deleted, the target still has it"
                )),
                _ => {}
            }
        }
        // MX3 keeps no groups (its tags are memberships): a group with no member yet
        // exists only in the gateway's store, so only memberships are compared there.
        for group in claims.groups.keys().filter(|_| tenant.target != "mx3") {
            if !native.groups.contains_key(group) {
                figures.without_effect.push(format!(
                    "{who}: group {group} was created, the target has none"
                ));
            }
        }
        for ((user, attribute), expected) in &claims.attributes {
            let Some(found) = native.users.get(user).and_then(|u| u.get(attribute)) else {
                continue;
            };
            if !claims.deleted.contains(user) && !expected.allows(found) {
                figures.lost_updates.push(format!(
                    "{who}: {user} {attribute} is {found}, the last 2xx set {}",
                    expected.value
                ));
            }
        }
        for ((group, user), expected) in &claims.members {
            if claims.deleted.contains(user) {
                continue;
            }
            let found = json!(native
                .groups
                .get(group)
                .is_some_and(|members| members.contains(user)));
            if !expected.allows(&found) {
                figures.lost_updates.push(format!(
                    "{who}: {user} in {group} is {found}, the last 2xx set {}",
                    expected.value
                ));
            }
        }
    }
}

/// A tenant's users and groups as its testbed stores them, by the names the soak gave.
#[derive(Default)]
struct Native {
    /// userName → attribute → value, for the attributes the soak changes.
    users: HashMap<String, HashMap<String, Value>>,
    user_count: HashMap<String, usize>,
    /// group name → member userNames.
    groups: HashMap<String, HashSet<String>>,
    group_count: HashMap<String, usize>,
}

impl Native {
    fn read(tenant: &Tenant, state: &Value) -> Native {
        let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
        let mut native = Native::default();
        // (user list, id field, name field, given, family, active)
        let (users, id, name, given, family, active) = match tenant.target.as_str() {
            "meta-networks" => (
                list(&state["users"]),
                "id",
                "email",
                "given_name",
                "family_name",
                Some("enabled"),
            ),
            "mediusflow" => (
                list(&state["users"]),
                "Id",
                "UserName",
                "FirstName",
                "LastName",
                Some("IsActive"),
            ),
            "maptician" => (
                list(&state["occupants"])
                    .into_iter()
                    .filter(|o| o["deleted"] != true)
                    .collect(),
                "userID",
                "email",
                "firstName",
                "lastName",
                Some("active"),
            ),
            "rhombus" => (
                list(&state["users"]),
                "uuid",
                "email",
                "firstName",
                "lastName",
                None,
            ),
            _ => {
                let org = tenant.name.trim_start_matches("mx3-");
                let users = list(&state["organisations"])
                    .into_iter()
                    .find(|o| o["name"] == org)
                    .map(|o| list(&o["users"]))
                    .unwrap_or_default();
                (
                    users,
                    "user_id",
                    "email",
                    "name_first",
                    "name_last",
                    Some("active"),
                )
            }
        };
        let suffix = format!(".{}@contoso.com", tenant.name);
        let mine = |name: &str| name.starts_with("soak") && name.ends_with(&suffix);
        let mut names_by_id = HashMap::new();
        for user in &users {
            let Some(user_name) = user[name].as_str().filter(|n| mine(n)) else {
                continue;
            };
            *native.user_count.entry(user_name.to_string()).or_default() += 1;
            names_by_id.insert(id_text(&user[id]), user_name.to_string());
            let mut attributes = HashMap::from([
                ("name.givenName".to_string(), user[given].clone()),
                ("name.familyName".to_string(), user[family].clone()),
            ]);
            if let Some(active) = active {
                attributes.insert("active".into(), user[active].clone());
            }
            native.users.insert(user_name.to_string(), attributes);
            if tenant.target == "mx3" {
                for tag in list(&user["tags"]) {
                    native
                        .groups
                        .entry(tag.as_str().unwrap_or_default().to_string())
                        .or_default()
                        .insert(user_name.to_string());
                }
            }
        }
        let prefix = format!("soak-{}-g", tenant.name);
        let (groups, group_name, members) = match tenant.target.as_str() {
            "meta-networks" => (list(&state["groups"]), "name", "users"),
            "mediusflow" => (list(&state["roles"]), "Name", "UserIds"),
            _ => (Vec::new(), "", ""),
        };
        for group in groups {
            let Some(name) = group[group_name]
                .as_str()
                .filter(|n| n.starts_with(&prefix))
            else {
                continue;
            };
            *native.group_count.entry(name.to_string()).or_default() += 1;
            let ids = list(&group[members]);
            let member_names = ids
                .iter()
                .filter_map(|m| names_by_id.get(&id_text(m)).cloned())
                .collect();
            native.groups.insert(name.to_string(), member_names);
        }
        native
    }
}

fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn encode(text: &str) -> String {
    text.replace('@', "%40")
}

fn report(args: &Args, f: &Figures) {
    let figures = json!({
        "seconds": (f.seconds * 10.0).round() / 10.0,
        "tenants": 7,
        "users_per_tenant": args.users,
        "operations": f.operations,
        "requests": f.requests,
        "answered_2xx": f.succeeded,
        "failed_after_retries": f.failed_after_retries,
        "conflicts_on_retried_creates": f.conflicts,
        "faults_injected": f.faults_injected,
        "chaos_probability": args.chaos,
        "concurrency": args.concurrency,
        "two_xx_without_effect": f.without_effect.len(),
        "duplicates": f.duplicates.len(),
        "lost_updates": f.lost_updates.len(),
    });
    if args.json {
        println!("{figures}");
    } else {
        for (key, value) in figures.as_object().into_iter().flatten() {
            println!("{key:<30} {value}");
        }
    }
    for line in f
        .without_effect
        .iter()
        .chain(&f.duplicates)
        .chain(&f.lost_updates)
        .take(50)
    {
        eprintln!("soak: {line}");
    }
}
