//! Entra's initial provisioning cycle through one tenant, as Entra sends it: for every user a
//! match filter then a create, for every group a match filter then a create with no members,
//! then one PATCH per membership. Paced at `--rate` requests a second (Entra's gallery
//! minimum is 25) or flat out (`--rate 0`), `--concurrency` in flight. Reads the CPU time of
//! the processes named by `--pid` before and after, and prints one JSON line: time, requests,
//! errors (any answer that is not the one Entra expects), and each process's CPU share.
//! `scripts/bench` runs it against the gateway in front of the Meta Networks testbed.
//! Usage: initial_cycle --scim URL --token T [--users N --groups N --members-per-group N
//!        --rate R --limit-secs S] [--pid name=PID ...]

use clap::Parser;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Parser)]
struct Args {
    /// The tenant's SCIM base URL (Entra's Tenant URL).
    #[arg(long)]
    scim: String,
    #[arg(long)]
    token: String,
    #[arg(long, default_value_t = 20_000)]
    users: usize,
    #[arg(long, default_value_t = 200)]
    groups: usize,
    #[arg(long, default_value_t = 100)]
    members_per_group: usize,
    /// Requests a second; 0 sends as fast as the answers come.
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Stop after this many seconds (a sample of a long paced cycle); 0: the whole cycle.
    #[arg(long, default_value_t = 0)]
    limit_secs: u64,
    /// Prefix of every userName and group name, so that runs do not collide.
    #[arg(long, default_value = "cycle")]
    prefix: String,
    /// Processes whose CPU time is measured, as `name=pid`.
    #[arg(long)]
    pid: Vec<String>,
}

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Run {
    client: Client,
    scim: String,
    token: String,
    slots: Arc<Semaphore>,
    pace: Option<tokio::sync::Mutex<tokio::time::Interval>>,
    until: Option<Instant>,
    requests: AtomicU64,
    errors: AtomicU64,
}

impl Run {
    fn over(&self) -> bool {
        self.until.is_some_and(|until| Instant::now() >= until)
    }

    /// One request, counted; answers the JSON body when the status is the expected one.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Option<Value> {
        if let Some(pace) = &self.pace {
            pace.lock().await.tick().await;
        }
        let _slot = self.slots.acquire().await.ok()?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.scim))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let answer = match request.send().await {
            Ok(answer) if answer.status().as_u16() == expect => answer,
            Ok(answer) => {
                self.fail(format!(
                    "{path}: {} {}",
                    answer.status(),
                    answer.text().await.unwrap_or_default()
                ));
                return None;
            }
            Err(error) => {
                self.fail(format!("{path}: {error}"));
                return None;
            }
        };
        let text = answer.text().await.ok()?;
        Some(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn fail(&self, what: String) {
        if self.errors.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("initial_cycle: {what}");
        }
    }

    /// Entra's match, then the create when nothing matched; answers the new id.
    async fn match_then_create(
        &self,
        endpoint: &str,
        filter: String,
        body: Value,
    ) -> Option<String> {
        let found = self
            .send(
                Method::GET,
                &format!("/{endpoint}?filter={filter}"),
                None,
                200,
            )
            .await?;
        if found["totalResults"] != 0 {
            self.fail(format!("{endpoint}: {filter} matched before the create"));
            return None;
        }
        let created = self
            .send(Method::POST, &format!("/{endpoint}"), Some(body), 201)
            .await?;
        created["id"].as_str().map(str::to_string)
    }
}

fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, f)| f)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, fields 14 and 15 of stat(5); fields[0] here is field 3.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pids: Vec<(String, String)> = args
        .pid
        .iter()
        .filter_map(|p| {
            p.split_once('=')
                .map(|(n, p)| (n.to_string(), p.to_string()))
        })
        .collect();
    let run = Arc::new(Run {
        client: Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .build()?,
        scim: args.scim.trim_end_matches('/').to_string(),
        token: args.token.clone(),
        slots: Arc::new(Semaphore::new(args.concurrency.max(1))),
        pace: (args.rate > 0).then(|| {
            let mut every =
                tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::sync::Mutex::new(every)
        }),
        until: (args.limit_secs > 0).then(|| Instant::now() + Duration::from_secs(args.limit_secs)),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let cpu_before: Vec<f64> = pids.iter().map(|(_, pid)| cpu_seconds(pid)).collect();
    let started = Instant::now();

    // Users, then groups, then memberships, each phase in parallel as Entra's workers send it.
    let users = each(&run, args.users, {
        let prefix = args.prefix.clone();
        move |run, i| {
            let name = format!("{prefix}-user{i}@contoso.com");
            async move {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name, "active": true, "externalId": format!("ext-{i}"),
                    "name": {"givenName": "Cycle", "familyName": format!("User{i}")},
                    "emails": [{"type": "work", "primary": true, "value": name}],
                });
                let filter = format!("userName+eq+%22{}%22", name.replace('@', "%40"));
                run.match_then_create("Users", filter, body).await
            }
        }
    })
    .await;
    let groups = each(&run, args.groups, {
        let prefix = args.prefix.clone();
        move |run, i| {
            let name = format!("{prefix} group {i}");
            async move {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                    "displayName": name, "members": [],
                });
                let filter = format!("displayName+eq+%22{}%22&excludedAttributes=members", name.replace(' ', "+"));
                run.match_then_create("Groups", filter, body).await
            }
        }
    })
    .await;
    let users: Arc<Vec<String>> = Arc::new(users.into_iter().flatten().collect());
    let groups: Arc<Vec<String>> = Arc::new(groups.into_iter().flatten().collect());
    let memberships = if users.is_empty() {
        0
    } else {
        groups.len() * args.members_per_group
    };
    each(&run, memberships, {
        let (users, groups, per_group) = (users.clone(), groups.clone(), args.members_per_group);
        move |run, i| {
            let group = groups[i / per_group].clone();
            let member = users[i % users.len()].clone();
            async move {
                let patch = json!({"schemas": [PATCH_OP], "Operations": [
                    {"op": "Add", "path": "members", "value": [{"$ref": null, "value": member}]}]});
                run.send(Method::PATCH, &format!("/Groups/{group}"), Some(patch), 204)
                    .await
            }
        }
    })
    .await;

    let seconds = started.elapsed().as_secs_f64();
    let requests = run.requests.load(Ordering::Relaxed);
    let cpu: serde_json::Map<String, Value> = pids
        .iter()
        .zip(cpu_before)
        .map(|((name, pid), before)| {
            let used = cpu_seconds(pid) - before;
            (
                name.clone(),
                json!({"cpu_seconds": used, "cpu_share_of_one_core": used / seconds,
                                  "cpu_us_per_request": used / requests.max(1) as f64 * 1e6}),
            )
        })
        .collect();
    println!(
        "{}",
        json!({
            "users": users.len(), "groups": groups.len(), "memberships": memberships,
            "rate": args.rate, "concurrency": args.concurrency, "complete": !run.over(),
            "seconds": seconds, "requests": requests, "errors": run.errors.load(Ordering::Relaxed),
            "requests_per_sec": requests as f64 / seconds, "processes": cpu,
        })
    );
    Ok(())
}

/// Runs `one(run, i)` for `0..count`, at most the run's concurrency at once (and no new one
/// once the run's time is up); answers the results in order.
async fn each<T, F, Fut>(run: &Arc<Run>, count: usize, one: F) -> Vec<Option<T>>
where
    T: Send + 'static,
    F: Fn(Arc<Run>, usize) -> Fut,
    Fut: std::future::Future<Output = Option<T>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut results: Vec<(usize, Option<T>)> = Vec::new();
    for i in 0..count {
        if run.over() {
            break;
        }
        // A bounded number of tasks waits for a slot beyond those in flight.
        if tasks.len() >= 256 {
            results.extend(tasks.join_next().await.and_then(Result::ok));
        }
        let future = one(run.clone(), i);
        tasks.spawn(async move { (i, future.await) });
    }
    while let Some(done) = tasks.join_next().await {
        results.extend(done.ok());
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
