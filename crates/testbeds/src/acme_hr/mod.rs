//! Acme HR: a fictional application, the one the README's adapter walk-through fronts. It
//! has the habits of a typical legacy REST API that the bundled targets do not all have:
//! - an `X-Api-Key` header, and every answer but a refused key HTTP 200 with an envelope,
//!   `{"ok": true, "data": …}` or `{"ok": false, "error": {"code", "message"}}`, so a failed
//!   write looks like a success to anything that reads only the status;
//! - every string it answers HTML-escaped (`O&#39;Brien`), stored as it was sent;
//! - membership stored on the employee (`teams`: team ids), teams being names only;
//! - a password required on create (at least 12 characters), never answered;
//! - an employee's `status`, `"active"` or `"inactive"` (the default `"active"`), for what
//!   SCIM says with a boolean;
//! - writes by POST: `POST /api/employees` creates, `POST /api/employees/{id}` changes the
//!   fields it names (`null` clears one; `teams` is replaced whole).
//!
//! Routes: `GET /api/employees?email=&team=&offset=&limit=` (`{employees, total}`; `email`
//! matched ignoring case; `limit` 1…200, default 50), `GET|POST|DELETE /api/employees/{id}`,
//! `GET /api/teams?name=&offset=&limit=` (`{teams, total}`), `POST /api/teams`,
//! `GET|POST|DELETE /api/teams/{id}` (a deleted team leaves every employee's `teams`). Error
//! codes: `not_found`, `duplicate` (an e-mail or team name taken, ignoring case), `invalid`,
//! `unauthorized`. Injected 429s carry `Retry-After` (1 s unless the fault says otherwise).

mod api;
mod employees;
mod teams;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use self::api::ApiError;
use self::employees::Employee;
use self::teams::Team;
use crate::control::Application;
use crate::seed::Seed;
use crate::store::Collection;
use crate::{random, server, Testbed};

/// How an Acme HR testbed is configured.
#[derive(Clone, Debug)]
pub struct Options {
    /// The key clients send as `X-Api-Key`.
    pub api_key: String,
}

impl Default for Options {
    /// A fresh random key, so that no test relies on a well-known secret.
    fn default() -> Self {
        Options {
            api_key: random::alphanumeric(32),
        }
    }
}

/// Starts an Acme HR testbed on `bind` (`127.0.0.1:0` for a free port) on the current tokio
/// runtime. Its credentials are `{"api_key"}`.
pub async fn start(bind: SocketAddr, options: Options) -> std::io::Result<Testbed> {
    let credentials = json!({ "api_key": options.api_key });
    let acme = Arc::new(AcmeHr {
        options,
        db: Mutex::default(),
    });
    server::start("acme-hr", bind, router(acme.clone()), acme, credentials).await
}

fn router(acme: Arc<AcmeHr>) -> Router {
    Router::new()
        .route(
            "/api/employees",
            get(employees::list).post(employees::create),
        )
        .route(
            "/api/employees/{id}",
            get(employees::get)
                .post(employees::update)
                .delete(employees::delete),
        )
        .route("/api/teams", get(teams::list).post(teams::create))
        .route(
            "/api/teams/{id}",
            get(teams::get).post(teams::update).delete(teams::delete),
        )
        .route_layer(middleware::from_fn_with_state(
            acme.clone(),
            api::require_key,
        ))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(acme)
}

/// The testbed's configuration and data.
struct AcmeHr {
    options: Options,
    db: Mutex<Db>,
}

/// Everything `POST /_testbed/reset` forgets.
#[derive(Default)]
struct Db {
    employees: Collection<Employee>,
    teams: Collection<Team>,
    /// The number in the next id (`E1000`, `T1001`, …), shared by both kinds.
    next_id: u64,
    /// Users and groups seeded so far, so that a second seed numbers on.
    seeded_users: usize,
    seeded_groups: usize,
}

impl Db {
    fn new_id(&mut self, prefix: char) -> String {
        self.next_id += 1;
        format!("{prefix}{}", 1000 + self.next_id)
    }
}

impl AcmeHr {
    /// The data, locked. Handlers never hold it across an `.await`; a panic while holding it
    /// fails one test request, so a poisoned lock is still used.
    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Application for AcmeHr {
    fn snapshot(&self) -> Map<String, Value> {
        let db = self.db();
        let employees: Vec<_> = db.employees.values().map(Employee::snapshot).collect();
        let teams: Vec<_> = db.teams.values().collect();
        Map::from_iter([
            ("employees".to_owned(), json!(employees)),
            ("teams".to_owned(), json!(teams)),
        ])
    }

    fn reset(&self) {
        *self.db() = Db::default();
    }

    fn seed(&self, seed: &Seed) -> Map<String, Value> {
        let mut db = self.db();
        let first = db.seeded_users;
        let mut ids = Vec::with_capacity(seed.users);
        for i in first..first + seed.users {
            let account = Seed::user(i);
            let id = db.new_id('E');
            let employee = Employee::seeded(&id, &account);
            db.employees.insert(id.clone(), employee);
            ids.push(id);
        }
        let first_group = db.seeded_groups;
        for (name, members) in seed.groups(first_group) {
            let id = db.new_id('T');
            for position in members {
                if let Some(employee) = db.employees.get_mut(&ids[position]) {
                    employee.teams.push(id.clone());
                }
            }
            db.teams.insert(id.clone(), Team { id, name });
        }
        db.seeded_users = first + seed.users;
        db.seeded_groups = first_group + seed.groups;
        Map::from_iter([
            ("employees".to_owned(), json!(db.employees.len())),
            ("teams".to_owned(), json!(db.teams.len())),
        ])
    }

    fn fault_response(&self, status: StatusCode) -> Response {
        let reason = status.canonical_reason().unwrap_or("error");
        let mut response = (status, api::envelope_error("unavailable", reason)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The fault layer replaces this when the fault names its own Retry-After.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        response
    }
}
