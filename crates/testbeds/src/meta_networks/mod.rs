//! The Meta Networks (Proofpoint Meta) testbed: OAuth2 client credentials, users and groups
//! under `/v1`, as described in `targets.md` §1.
//!
//! Choices where `targets.md` is silent:
//! - emails and group names are unique and filtered ignoring case (`?email=`, `?name=` are exact
//!   matches otherwise), because email addresses are case-insensitive in practice;
//! - writes ignore read-only fields (so a client may send back what it read) but reject unknown
//!   ones with 400 `unknown_field`; a field of the wrong JSON type is 400 `invalid_json`;
//! - PATCH requires `Content-Type: application/merge-patch+json` (415 `unsupported_media_type`);
//!   a `null` removes a field, and `enabled: null` puts it back to its default, true;
//! - DELETE answers the deleted object; deleting a user takes it out of every group;
//! - `page_size` outside 1..=500 and unknown `page_token`s are 400 `invalid_parameter`;
//! - `add_users`/`remove_users` with an unknown user id are 404 `not_found` and change nothing;
//!   removing a non-member is a no-op;
//! - a grant other than `client_credentials` is 400 `unsupported_grant_type`;
//! - injected status faults answer `unavailable` (503), `rate_limited` (429), or the status's
//!   reason in snake case (e.g. `bad_gateway`); the same body also carries a SCIM error
//!   (`schemas`, `status`, `detail`), since faults do not know which API a request was for and
//!   a client of either can then read it;
//! - users and groups created through the SCIM endpoint carry a read-only `idp_id`.
//!
//! Meta's own SCIM endpoint, `/v1/scim/{idp_id}/...`, is served over the same users and groups
//! (see `scim/mod.rs`); the IdP ids are kept in the options and reported in the state.

mod api;
mod auth;
mod groups;
mod model;
mod scim;
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
use self::model::{Group, User};
use crate::control::Application;
use crate::seed::Seed;
use crate::store::Collection;
use crate::{random, server, Testbed};

/// How a Meta Networks testbed is configured.
#[derive(Clone, Debug)]
pub struct Options {
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of an access token, reported as `expires_in` (whole seconds).
    pub token_ttl: Duration,
    /// The IdP ids (`idp-` + 10 base36 characters) of the SCIM integrations.
    pub idp_ids: Vec<String>,
}

impl Default for Options {
    /// Fresh random credentials and one IdP, so that no test can rely on well-known secrets.
    fn default() -> Self {
        Options {
            client_id: random::alphanumeric(20),
            client_secret: random::alphanumeric(40),
            token_ttl: Duration::from_secs(3600),
            idp_ids: vec![format!("idp-{}", random::base36(10))],
        }
    }
}

/// Starts a Meta Networks testbed on `bind` (`127.0.0.1:0` for a free port) on the current
/// tokio runtime. Its credentials are `{"client_id","client_secret","idp_ids"}` (the IdPs its
/// SCIM endpoint serves, `/v1/scim/{idp_id}`).
pub async fn start(bind: SocketAddr, options: Options) -> std::io::Result<Testbed> {
    let credentials = json!({
        "client_id": options.client_id,
        "client_secret": options.client_secret,
        "idp_ids": options.idp_ids,
    });
    let meta = Arc::new(Meta {
        options,
        org_id: format!("org-{}", random::base36(10)),
        db: Mutex::default(),
    });
    server::start(
        "meta-networks",
        bind,
        router(meta.clone()),
        meta,
        credentials,
    )
    .await
}

fn router(meta: Arc<Meta>) -> Router {
    let protected = Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route(
            "/v1/users/{id}",
            get(users::get).patch(users::patch).delete(users::delete),
        )
        .route("/v1/groups", get(groups::list).post(groups::create))
        .route(
            "/v1/groups/{id}",
            get(groups::get).patch(groups::patch).delete(groups::delete),
        )
        .route("/v1/groups/{id}/add_users", post(groups::add_users))
        .route("/v1/groups/{id}/remove_users", post(groups::remove_users))
        .route_layer(middleware::from_fn_with_state(
            meta.clone(),
            auth::require_bearer,
        ));
    Router::new()
        .route("/v1/oauth/token", post(auth::token))
        .merge(protected)
        .merge(scim::router(meta.clone()))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .with_state(meta)
}

/// The testbed's configuration and data.
struct Meta {
    options: Options,
    /// One organisation per testbed instance; every user carries it.
    org_id: String,
    db: Mutex<Db>,
}

/// Everything `POST /_testbed/reset` forgets.
#[derive(Default)]
struct Db {
    users: Collection<User>,
    groups: Collection<Group>,
    tokens: crate::tokens::Tokens,
    /// Users and groups seeded so far, so that a second seed numbers on.
    seeded: (usize, usize),
}

impl Meta {
    /// The data, locked. Handlers never hold it across an `.await`; a panic while holding it
    /// fails one test request, so a poisoned lock is still used.
    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Application for Meta {
    fn snapshot(&self) -> Map<String, Value> {
        let db = self.db();
        let users: Vec<_> = db.users.values().collect();
        let groups: Vec<_> = db.groups.values().collect();
        Map::from_iter([
            ("org_id".to_owned(), json!(self.org_id)),
            ("idp_ids".to_owned(), json!(self.options.idp_ids)),
            ("users".to_owned(), json!(users)),
            ("groups".to_owned(), json!(groups)),
            ("tokens_issued".to_owned(), json!(db.tokens.issued)),
        ])
    }

    fn reset(&self) {
        *self.db() = Db::default();
    }

    fn seed(&self, seed: &Seed) -> Map<String, Value> {
        let mut db = self.db();
        let (first_user, first_group) = db.seeded;
        let at = model::now();
        let mut ids = Vec::with_capacity(seed.users);
        for i in first_user..first_user + seed.users {
            let account = Seed::user(i);
            let fields = Map::from_iter([
                ("email".to_owned(), json!(account.email)),
                ("enabled".to_owned(), json!(true)),
                ("given_name".to_owned(), json!(account.given)),
                ("family_name".to_owned(), json!(account.family)),
                (
                    "name".to_owned(),
                    json!(format!("{} {}", account.given, account.family)),
                ),
            ]);
            let user = User {
                id: model::new_id("usr-", &db.users),
                org_id: self.org_id.clone(),
                fields,
                roles: Vec::new(),
                tags: Vec::new(),
                idp_id: None,
                created_at: at.clone(),
                modified_at: at.clone(),
            };
            ids.push(user.id.clone());
            db.users.insert(user.id.clone(), user);
        }
        for (name, members) in seed.groups(first_group) {
            let group = Group {
                id: model::new_id("grp-", &db.groups),
                fields: Map::from_iter([("name".to_owned(), json!(name))]),
                users: members.into_iter().map(|m| ids[m].clone()).collect(),
                idp_id: None,
                created_at: at.clone(),
                modified_at: at.clone(),
            };
            db.groups.insert(group.id.clone(), group);
        }
        db.seeded = (first_user + seed.users, first_group + seed.groups);
        Map::from_iter([
            ("users".to_owned(), json!(db.users.len())),
            ("groups".to_owned(), json!(db.groups.len())),
        ])
    }

    fn fault_response(&self, status: StatusCode) -> Response {
        let code: std::borrow::Cow<'static, str> = match status {
            StatusCode::SERVICE_UNAVAILABLE => "unavailable".into(),
            StatusCode::TOO_MANY_REQUESTS => "rate_limited".into(),
            other => other
                .canonical_reason()
                .unwrap_or("error")
                .to_lowercase()
                .replace([' ', '-'], "_")
                .into(),
        };
        let mut body =
            scimitar_scim::ScimError::new(status.as_u16(), None, "injected fault").to_json();
        body["error"] = json!(code);
        body["message"] = json!("injected fault");
        (status, axum::Json(body)).into_response()
    }
}
