//! The MediusFlow testbed: a tenant under `/<tenant>/`, OAuth2 client credentials, users,
//! user configurations and roles under `Backend/Rest`, as described in `targets.md` §4.
//!
//! Choices where `targets.md` is silent:
//! - ids are sequential integers from 1 (users and roles counted apart), as a SQL identity
//!   column hands them out;
//! - POST answers 201 with the object, PUT 200 with it, DELETE 204; the membership routes
//!   answer 200 with the role;
//! - a field left out of a POST or PUT takes its default (null, `IsActive` true, no roles or
//!   companies); unknown fields are a 400, a sent `Id` is ignored;
//! - `UserName` is required and unique ignoring case (409), so is a role's `Name`; `?userName=`
//!   and `?name=` match exactly, ignoring case;
//! - a configuration's roles and companies are added (ahead of any sent) on create only; a
//!   PUT checks and stores `ConfigurationName` but writes `Roles` and `Companies` as sent;
//!   configuration names match ignoring case;
//! - a `ManagerId` or `UserIds` entry naming no user is a 400 and changes nothing; a user
//!   cannot be its own manager; deleting a user clears it from its reports' `ManagerId` and
//!   from every role;
//! - user `Roles` (names from the configuration) and role objects are independent: membership
//!   of a role is its `UserIds` only;
//! - `take` defaults to 100 and must be 1 to 500; a non-integer id in a path is a 404;
//! - the token endpoint wants `scope=Integration` (another or none is a 400) and a form body;
//! - injected status faults answer `{"Message":"<reason phrase>"}`.

mod api;
mod auth;
mod model;
mod roles;
mod users;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use self::api::ApiError;
use self::model::{Role, RoleFields, User, UserFields, CONFIGURATIONS};
use crate::control::Application;
use crate::seed::Seed;
use crate::store::Collection;
use crate::tokens::Tokens;
use crate::{random, server, Testbed};

/// How a MediusFlow testbed is configured.
#[derive(Clone, Debug)]
pub struct Options {
    /// The tenant's name, the first segment of every path.
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of an access token, reported as `expires_in` (whole seconds).
    pub token_ttl: Duration,
}

impl Default for Options {
    /// A random tenant and fresh random credentials, so that no test relies on known secrets.
    fn default() -> Self {
        Options {
            tenant: format!("tenant{}", random::base36(6)),
            client_id: random::alphanumeric(20),
            client_secret: random::alphanumeric(40),
            token_ttl: Duration::from_secs(3600),
        }
    }
}

/// Starts a MediusFlow testbed on `bind` (`127.0.0.1:0` for a free port) on the current
/// tokio runtime. Its credentials are `{"tenant","client_id","client_secret"}`.
pub async fn start(bind: SocketAddr, options: Options) -> std::io::Result<Testbed> {
    let credentials = json!({
        "tenant": options.tenant,
        "client_id": options.client_id,
        "client_secret": options.client_secret,
    });
    let medius = Arc::new(Medius {
        options,
        db: Mutex::default(),
    });
    server::start(
        "mediusflow",
        bind,
        router(medius.clone()),
        medius,
        credentials,
    )
    .await
}

fn router(medius: Arc<Medius>) -> Router {
    let api = Router::new()
        .route(
            "/{tenant}/Backend/Rest/Users",
            get(users::list).post(users::create),
        )
        .route(
            "/{tenant}/Backend/Rest/Users/{id}",
            get(users::get).put(users::replace).delete(users::delete),
        )
        .route(
            "/{tenant}/Backend/Rest/UserConfigurations",
            get(users::configurations),
        )
        .route(
            "/{tenant}/Backend/Rest/Roles",
            get(roles::list).post(roles::create),
        )
        .route(
            "/{tenant}/Backend/Rest/Roles/{id}",
            get(roles::get).put(roles::replace).delete(roles::delete),
        )
        .route(
            "/{tenant}/Backend/Rest/Roles/{id}/Users",
            post(roles::add_users).delete(roles::remove_users),
        )
        .route_layer(middleware::from_fn_with_state(
            medius.clone(),
            auth::require_bearer,
        ));
    Router::new()
        .route("/{tenant}/api/connect/token", post(auth::token))
        .merge(api)
        // Outermost, so that another tenant's path is a 404 before any token check.
        .route_layer(middleware::from_fn_with_state(
            medius.clone(),
            auth::require_tenant,
        ))
        .fallback(|| async {
            ApiError::not_found("No HTTP resource was found that matches the request URI.")
        })
        .with_state(medius)
}

/// The testbed's configuration and data.
struct Medius {
    options: Options,
    db: Mutex<Db>,
}

/// Everything `POST /_testbed/reset` forgets.
#[derive(Default)]
struct Db {
    /// Keyed by the decimal `Id`.
    users: Collection<User>,
    roles: Collection<Role>,
    last_user_id: u64,
    last_role_id: u64,
    tokens: Tokens,
    /// Users and roles seeded so far, so that a second seed numbers on.
    seeded: (usize, usize),
}

impl Medius {
    /// The data, locked. Handlers never hold it across an `.await`; a panic while holding it
    /// fails one test request, so a poisoned lock is still used.
    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Db {
    fn user(&self, id: u64) -> Result<&User, ApiError> {
        self.users
            .get(&id.to_string())
            .ok_or_else(|| ApiError::not_found(format!("User {id} was not found")))
    }

    fn role(&self, id: u64) -> Result<&Role, ApiError> {
        self.roles
            .get(&id.to_string())
            .ok_or_else(|| ApiError::not_found(format!("Role {id} was not found")))
    }

    /// 400 when one of `ids` names no user (a reference in a body, not the resource asked for).
    fn check_users_exist(&self, ids: &[u64]) -> Result<(), ApiError> {
        match ids.iter().find(|id| !self.users.contains(&id.to_string())) {
            Some(id) => Err(ApiError::bad_request(format!("User {id} does not exist"))),
            None => Ok(()),
        }
    }
}

impl Application for Medius {
    fn snapshot(&self) -> Map<String, Value> {
        let db = self.db();
        let users: Vec<_> = db.users.values().collect();
        let roles: Vec<_> = db.roles.values().collect();
        Map::from_iter([
            ("tenant".to_owned(), json!(self.options.tenant)),
            ("users".to_owned(), json!(users)),
            ("roles".to_owned(), json!(roles)),
            ("configurations".to_owned(), json!(CONFIGURATIONS)),
            ("tokens_issued".to_owned(), json!(db.tokens.issued)),
        ])
    }

    fn reset(&self) {
        *self.db() = Db::default();
    }

    fn seed(&self, seed: &Seed) -> Map<String, Value> {
        let mut db = self.db();
        let (first_user, first_role) = db.seeded;
        let mut ids = Vec::with_capacity(seed.users);
        for i in first_user..first_user + seed.users {
            let account = Seed::user(i);
            db.last_user_id += 1;
            let fields = UserFields {
                user_name: Some(account.email.clone()),
                first_name: Some(account.given.to_owned()),
                last_name: Some(account.family.clone()),
                display_name: Some(format!("{} {}", account.given, account.family)),
                email: Some(account.email),
                external_id: Some(account.external_id),
                configuration_name: Some("Default".to_owned()),
                roles: vec!["User".to_owned()],
                companies: vec!["Contoso AB".to_owned()],
                ..UserFields::empty()
            };
            let user = User {
                id: db.last_user_id,
                fields,
            };
            ids.push(user.id);
            db.users.insert(user.id.to_string(), user);
        }
        for (name, members) in seed.groups(first_role) {
            db.last_role_id += 1;
            let role = Role {
                id: db.last_role_id,
                fields: RoleFields {
                    name: Some(name),
                    external_id: None,
                    user_ids: members.into_iter().map(|m| ids[m]).collect(),
                },
            };
            db.roles.insert(role.id.to_string(), role);
        }
        db.seeded = (first_user + seed.users, first_role + seed.groups);
        Map::from_iter([
            ("users".to_owned(), json!(db.users.len())),
            ("roles".to_owned(), json!(db.roles.len())),
        ])
    }

    fn fault_response(&self, status: StatusCode) -> Response {
        ApiError::new(status, status.canonical_reason().unwrap_or("Error")).into_response()
    }
}
